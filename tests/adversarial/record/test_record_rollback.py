"""Attacks only a witness can catch: truncation, rollback to an older copy of the database,
and a rewrite re-signed with the real key. Directory witness here; HTTP in integration."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from warden.errors import VerificationError
from warden.record import AuditLog, NoteSigner, verify_log, writer
from warden.record.store.sqlite import SQLiteStore
from warden.record.witness import DirWitness, init_witness_dir

from .helpers import build_log, record, rewrite


@pytest.fixture(autouse=True)
def every_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every checkpoint, so that a cut-back log is internally consistent: these attacks
    must be caught by the witness alone (see test_thinned_cut_is_caught_without_witness)."""
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 1)


def copy_db(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(str(src) + suffix).exists():
            shutil.copy2(str(src) + suffix, str(dst) + suffix)


def witnessed_log(tmp_path: Path, n: int) -> tuple[Path, NoteSigner, DirWitness]:
    db = tmp_path / "log" / "audit.db"
    signer = build_log(db, n)
    wdir = tmp_path / "other-disk" / "witness"
    init_witness_dir(wdir, "witness.local/w1", [signer.verifier.vkey])
    w = DirWitness(wdir)
    with AuditLog.open(db, witnesses=[w]) as log:
        assert log.witness() == []
    return db, signer, w


def verify(db: Path, signer: NoteSigner, witnesses: list[DirWitness]):  # type: ignore[no-untyped-def]
    store = SQLiteStore(db)
    try:
        return verify_log(store, signer.verifier, witnesses=witnesses)
    finally:
        store.close()


def test_witnessed_log_verifies_and_counts_unwitnessed(tmp_path: Path) -> None:
    db, signer, w = witnessed_log(tmp_path, 12)
    rep = verify(db, signer, [w])
    assert rep.size == 12 and rep.unwitnessed == 0
    with AuditLog.open(db) as log:  # no witness configured: three entries stay unwitnessed
        for i in range(3):
            log.append(record(100 + i))
    rep = verify(db, signer, [w])
    assert rep.witnesses[0].witnessed_size == 12 and rep.unwitnessed == 3


@pytest.mark.parametrize("keep", [0, 1, 5, 11])
def test_truncation_caught_by_witness(tmp_path: Path, keep: int) -> None:
    db, signer, w = witnessed_log(tmp_path, 12)
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM entries WHERE idx >= ?", (keep,))
        c.execute("DELETE FROM checkpoints WHERE size > ?", (keep,))
        c.execute("DELETE FROM cosignatures WHERE size > ?", (keep,))
    c.close()
    verify(db, signer, [])  # internally consistent: only the witness knows
    with pytest.raises(VerificationError, match="rolled back") as info:
        verify(db, signer, [w])
    assert info.value.index == keep


def test_rollback_to_older_copy(tmp_path: Path) -> None:
    db, signer, w = witnessed_log(tmp_path, 10)
    old = tmp_path / "old.db"
    copy_db(db, old)
    with AuditLog.open(db, witnesses=[w]) as log:
        for i in range(10, 25):
            log.append(record(i))
        assert log.witness() == []
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    copy_db(old, db)  # the agent restores yesterday's file
    verify(db, signer, [])
    with pytest.raises(VerificationError, match="rolled back") as info:
        verify(db, signer, [w])
    assert info.value.index == 10


def test_resigned_rewrite_needs_a_witness(tmp_path: Path) -> None:
    """An attacker holding the signing key rewrites entry 4 and re-signs every checkpoint."""
    db, signer, w = witnessed_log(tmp_path, 12)

    def edit(datas: list[bytes]) -> list[bytes]:
        datas[4] = datas[4].replace(b"ls /tmp", b"rm -rf")
        return datas

    rewrite(db, signer, edit)
    rep = verify(db, signer, [])  # without a witness this is undetectable, by design
    assert rep.size == 12
    with pytest.raises(VerificationError, match=r"different root|fork"):
        verify(db, signer, [w])


def test_witness_refuses_fork_and_keeps_evidence(tmp_path: Path) -> None:
    db, signer, w = witnessed_log(tmp_path, 12)

    def edit(datas: list[bytes]) -> list[bytes]:
        datas[6] = datas[6].replace(b"deny", b"allow")
        return datas

    rewrite(db, signer, edit)
    with AuditLog.open(db, key=signer, witnesses=[w]) as log:
        log.append(record(99))  # the rewritten log grows and asks the witness to cosign
        problems = log.witness()
    assert problems and "fork" in problems[0]
    assert list((w.witness.dir / "evidence").iterdir())


def test_witness_state_is_durable_and_refuses_smaller(tmp_path: Path) -> None:
    db, signer, w = witnessed_log(tmp_path, 8)
    again = DirWitness(w.witness.dir)  # a restart reads the persisted state
    latest = again.latest(signer.name)
    assert latest is not None and latest.size == 8
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM entries WHERE idx >= 5")
        c.execute("DELETE FROM checkpoints WHERE size > 5")
    c.close()
    with AuditLog.open(db, key=signer, witnesses=[again]) as log:
        problems = log.witness()
    assert problems and "rolled back" in problems[0]


def test_thinned_cut_is_caught_without_witness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With default thinning, cutting the log anywhere but at a kept checkpoint is caught even
    without a witness: no signed checkpoint covers the remaining tail."""
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 8)
    db = tmp_path / "audit.db"
    signer = build_log(db, 30)
    kept = sorted(s for (s,) in sqlite3.connect(db).execute("SELECT size FROM checkpoints"))
    assert kept[-1] == 30 and len(kept) < 30
    cut = next(k for k in range(kept[0] + 1, 30) if k not in kept)
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM entries WHERE idx >= ?", (cut,))
        c.execute("DELETE FROM checkpoints WHERE size > ?", (cut,))
    c.close()
    with pytest.raises(VerificationError, match="not covered by a signed checkpoint") as info:
        verify(db, signer, [])
    assert info.value.index == max(k for k in kept if k < cut)
