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
