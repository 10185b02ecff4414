"""The SQLite store's WAL across checkpoints (warden.record.store.sqlite): once it has wrapped,
commits rewrite the file's existing blocks, so a reset must not shrink it (a commit that grows
the WAL pays more for its fdatasync). Real SQLite files; a small checkpoint cycle so that the
WAL wraps many times in a short test."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pytest

from warden.record import AuditLog, verify_log
from warden.record.store import sqlite as sqlite_store

#: A checkpoint every 8 pages of 16 KiB: a one-entry commit writes 2-5 frames, so the WAL
#: resets every few commits.
CYCLE_BYTES = 8 * sqlite_store.PAGE_SIZE
#: Above the largest commit of this test (5 frames), far below the production headroom.
HEADROOM = 6 * (sqlite_store.PAGE_SIZE + 24)


def _wal_state(db: Path) -> tuple[int, int]:
    """(size of the -wal file, its checkpoint sequence number: +1 at every reset)."""
    wal = db.with_name(db.name + "-wal")
    data = wal.read_bytes()[:32]
    (seq,) = struct.unpack(">I", data[12:16])
    return wal.stat().st_size, seq


@pytest.fixture
def small_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "WAL_AUTOCHECKPOINT_BYTES", CYCLE_BYTES)
    monkeypatch.setattr(sqlite_store, "WAL_HEADROOM_BYTES", HEADROOM)


@pytest.mark.usefixtures("small_cycle")
def test_wal_keeps_its_size_across_resets(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    limit = sqlite_store._journal_size_limit(sqlite_store.PAGE_SIZE)
    assert limit > 32 + 8 * (sqlite_store.PAGE_SIZE + 24)  # above a full cycle's WAL
    with AuditLog.open(db) as log:
        log.append({"type": "t", "i": -1})
        sizes: list[int] = []
        seqs: list[int] = []
        for i in range(120):
            log.append({"type": "t", "i": i, "pad": "x" * 600})
            size, seq = _wal_state(db)
            sizes.append(size)
            seqs.append(seq)
        vkey = log.signer.verifier
        assert seqs[-1] - seqs[0] >= 10, "the WAL never wrapped: the test proves nothing"
        shrunk = [(a, b) for a, b in itertools.pairwise(sizes) if b < a]
        assert not shrunk, f"a checkpoint reset shrank the WAL: {shrunk[:3]}"
        assert max(sizes) <= limit  # and it stays bounded
        assert verify_log(log.store, vkey).size == 121  # raises if anything is wrong


def test_journal_size_limit_covers_the_production_cycle() -> None:
    """With the real settings: above a full cycle plus a maximal (4,096-entry) batch."""
    for page in (4096, sqlite_store.PAGE_SIZE):
        frames = sqlite_store.WAL_AUTOCHECKPOINT_BYTES // page
        cycle = 32 + frames * (page + 24)
        assert sqlite_store._journal_size_limit(page) >= cycle + (3 << 20)


# --- resident stores: a WAL made at its full size before SQLite opens the log -----------------


def _wal(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def test_resident_log_never_grows_its_wal(tmp_path: Path) -> None:
    """The production settings: the WAL is there, full size, from the first commit, and
    commits across several checkpoint cycles rewrite it without ever growing it."""
    db = tmp_path / "a.db"
    full = sqlite_store._journal_size_limit(sqlite_store.PAGE_SIZE,
                                            sqlite_store.RESIDENT_WAL_CYCLE_BYTES)  # fmt: skip
    with AuditLog.open(db, resident=True) as log:
        assert _wal(db).stat().st_size == full
        blocks = _wal(db).stat().st_blocks
        _, first_seq = _wal_state(db)
        for i in range(300):  # ~46 KB of frames a commit: a 4 MiB cycle wraps every ~90
            log.append({"type": "t", "i": i, "pad": "x" * 600})
            assert _wal(db).stat().st_size == full, f"the WAL grew at commit {i}"
        _, seq = _wal_state(db)
        assert seq - first_seq >= 2, "the WAL never wrapped: the test proves nothing"
        assert _wal(db).stat().st_blocks == blocks  # not a block added either
        vkey = log.signer.verifier
        assert verify_log(log.store, vkey).size == 300
    assert not _wal(db).exists()  # the last connection checkpointed and removed it
    with AuditLog.open(db, resident=True) as log:  # an existing log: prefilled again
        assert _wal(db).stat().st_size == full
        log.append({"type": "t", "i": 300})
        assert verify_log(log.store, vkey).size == 301


def test_prefill_leaves_a_live_wal_alone(tmp_path: Path) -> None:
    """Another process's connection has a WAL with frames not yet checkpointed: a resident
    open must not touch it (the zeros would erase committed records)."""
    db = tmp_path / "a.db"
    with AuditLog.open(db) as other:
        for i in range(3):
            other.append({"type": "t", "i": i})
        before = _wal(db).read_bytes()
        assert before[:4] in (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")  # a live WAL header
        assert not sqlite_store._prefill_wal(db, 1 << 20)
        assert _wal(db).read_bytes() == before
        with AuditLog.open(db, resident=True) as resident:
            assert _wal(db).read_bytes()[:32] == before[:32]
            assert resident.size() == 3
            resident.append({"type": "t", "i": 3})
        other.append({"type": "t", "i": 4})
        assert verify_log(other.store, other.signer.verifier).size == 5


def test_prefill_loses_a_race_without_harm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A WAL that appears between the check and the link wins: linkat refuses to replace it."""
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        log.append({"type": "t"})
        before = _wal(db).read_bytes()
        real_exists = Path.exists
        monkeypatch.setattr(Path, "exists",
                            lambda self: False if self == _wal(db) else real_exists(self))
        assert not sqlite_store._prefill_wal(db, 1 << 20)
        monkeypatch.undo()
        assert _wal(db).read_bytes() == before
        # and nothing left behind (the zeros were an unnamed O_TMPFILE)
        names = {p.name for p in tmp_path.iterdir()}
        assert names == {"a.db", "a.db-shm", "a.db-wal", "a.key", "a.vkey"}


def test_resident_open_without_a_prefill_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prefill is only a speed-up: a file system that refuses it (no O_TMPFILE, a full
    disk) leaves SQLite to grow its own WAL."""

    def refuse(path: Path, size: int) -> bool:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(sqlite_store, "_prefill_wal", refuse)
    db = tmp_path / "a.db"
    with AuditLog.open(db, resident=True) as log:
        log.append({"type": "t"})
        assert verify_log(log.store, log.signer.verifier).size == 1


def test_prefill_never_follows_a_planted_wal_symlink(tmp_path: Path) -> None:
    """A ``-wal`` name planted as a dangling symlink (pointing where the zeros would do harm,
    or create a file) is left as it is: linkat(2) refuses an existing name, links or not."""
    db = tmp_path / "a.db"
    with AuditLog.open(db):
        pass
    target = tmp_path / "elsewhere" / "victim"
    target.parent.mkdir()
    _wal(db).symlink_to(target)
    assert not sqlite_store._prefill_wal(db, 1 << 20)
    assert _wal(db).is_symlink() and not target.exists()
