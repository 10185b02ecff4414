"""AuditLog end to end on a real SQLite file: append, batch, reopen, prove, keys, purge."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from warden.errors import AuditError, FormatError, KeyError_, VerificationError
from warden.record import AuditLog, LogReader, NoteSigner, default_db_path, verify_log
from warden.record.merkle import leaf_hash, verify_consistency, verify_inclusion


def rec(i: int) -> dict[str, object]:
    return {
        "type": "decision",
        "time": f"t{i}",
        "session": "s1",
        "action": {"n": i},
        "decision": {"verdict": "allow"},
    }


def test_append_returns_indexes_and_checkpoints(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "audit.db") as log:
        assert [log.append(rec(i)) for i in range(5)] == [0, 1, 2, 3, 4]
        cp = log.checkpoint(log.signer.verifier)
        assert cp.size == 5
        assert cp.checkpoint.origin == log.signer.name
        assert log.entry(3).record == rec(3)


def test_default_location_and_key_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "warden" / "audit.db"
    with AuditLog.open() as log:
        log.append(rec(0))
    key = tmp_path / "xdg" / "warden" / "audit.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((key.parent / "audit.db").stat().st_mode) & 0o077 == 0
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local" / "share" / "warden" / "audit.db"


def test_nowait_batches_from_many_threads(tmp_path: Path) -> None:
    got: list[int] = []
    lock = threading.Lock()
    with AuditLog.open(tmp_path / "a.db") as log:

        def producer(k: int) -> None:
            receipts = [log.append_nowait(rec(k * 1000 + i)) for i in range(300)]
            idx = [r.result(timeout=30) for r in receipts]
            with lock:
                got.extend(idx)

        threads = [threading.Thread(target=producer, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == list(range(1800))
        report = verify_log(log.store, log.signer.verifier)
        assert report.size == 1800
        assert report.checkpoints < 1800  # batched: fewer checkpoints than entries


def test_reopen_continues_tree(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        for i in range(7):
            log.append(rec(i))
        root7 = log.checkpoint(log.signer.verifier).root
    with AuditLog.open(db) as log:
        for i in range(7, 20):
            log.append(rec(i))
        v = log.signer.verifier
        cp = log.checkpoint(v)
        verify_consistency(7, 20, root7, cp.root, log.consistency_proof(7, 20))
        for i in range(20):
            verify_inclusion(i, 20, leaf_hash(log.leaf(i)), log.inclusion_proof(i, 20), cp.root)
        assert verify_log(log.store, v).size == 20


def test_two_processes_worth_of_writers(tmp_path: Path) -> None:
    """Two AuditLog objects on one file (as two processes would) interleave correctly."""
    db = tmp_path / "a.db"
    with AuditLog.open(db) as first:
        first.append(rec(0))
        signer = first.signer
        with AuditLog.open(db, key=signer) as second:
            for i in range(1, 30):
                (first if i % 2 else second).append(rec(i))
            assert verify_log(second.store, signer.verifier).size == 30


def test_payloads_are_purgeable(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        for i in range(10):
            log.append(rec(i), payload={"stdout": f"secret-{i}"})
        assert log.entry(4).payload == {"stdout": "secret-4"}
        assert log.purge_payloads(before=6) == 6
        assert log.entry(4).payload is None and log.entry(4).payload_hash
        assert log.entry(8).payload == {"stdout": "secret-8"}
        report = verify_log(log.store, log.signer.verifier)
        assert report.size == 10 and report.payloads == 4


def test_wrong_key_refused(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        log.append(rec(0))
    with pytest.raises(KeyError_):
        AuditLog.open(db, key=NoteSigner.generate("someone.else/log"))
    os.remove(tmp_path / "a.key")
    with pytest.raises(KeyError_):  # an existing log never gets a fresh key silently
        AuditLog.open(db)


@pytest.mark.parametrize(
    "content", [b"", b"garbage\n", b"PRIVATE+KEY+x+00000000+AAAA\n", b"\xff\xfe", b"A" * 5000]
)
def test_corrupt_key_files(tmp_path: Path, content: bytes) -> None:
    key = tmp_path / "bad.key"
    key.write_bytes(content)
    key.chmod(0o600)
    with pytest.raises(KeyError_):
        AuditLog.open(tmp_path / "a.db", key=key)


def test_world_readable_key_refused(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        log.append(rec(0))
    (tmp_path / "a.key").chmod(0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        AuditLog.open(tmp_path / "a.db")


def test_unserialisable_record_fails_in_caller(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        with pytest.raises(FormatError):
            log.append({"x": object()})
        with pytest.raises(FormatError):
            log.append({"x": float("nan")})
        assert log.append(rec(0)) == 0


def test_closed_log_refuses(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "a.db")
    log.close()
    with pytest.raises(AuditError):
        log.append(rec(0))


def test_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditError):
        AuditLog.open(db)
    with pytest.raises(AuditError):
        LogReader.open(tmp_path / "missing.db")


def test_refuses_to_extend_damaged_log(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        for i in range(4):
            log.append(rec(i))
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM entries WHERE idx = 3")
    with pytest.raises(VerificationError):
        AuditLog.open(db)
