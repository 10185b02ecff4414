"""Checkpoint thinning keeps verification cheap for one-at-a-time appends, never loses a
cosigned checkpoint, and survives the race with the witness pusher."""

from __future__ import annotations

from pathlib import Path

from warden.record import AuditLog, verify_log, writer
from warden.record.witness import DirWitness, init_witness_dir


def test_one_at_a_time_appends_keep_few_checkpoints(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        for i in range(600):
            log.append({"type": "x", "i": i})
        sizes = [s for s, _ in log.store.checkpoints()]
        assert sizes[-1] == 600
        assert len(sizes) <= 600 // writer.CHECKPOINT_EVERY + 2
        assert verify_log(log.store, log.signer.verifier).checkpoints == len(sizes)


def test_cosigned_checkpoints_survive_thinning(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        log.append({"type": "x"})
        vkey = log.signer.verifier
    init_witness_dir(tmp_path / "w", "w.test/1", [vkey.vkey])
    w = DirWitness(tmp_path / "w")
    with AuditLog.open(db, witnesses=[w]) as log:
        for i in range(5):
            log.append({"type": "x", "i": i})
            assert log.witness() == []  # cosign size 2..6 one by one
        for i in range(5):
            log.append({"type": "y", "i": i})  # later appends must not drop cosigned ones
        sizes = {s for s, _ in log.store.checkpoints()}
        assert set(log.store.cosignatures()) <= sizes
        report = verify_log(log.store, vkey, witnesses=[w])
        assert report.size == 11 and report.unwitnessed == 5


def test_cosignature_for_a_thinned_checkpoint_restores_it(tmp_path: Path) -> None:
    """The pusher may store cosignatures after the writer dropped that checkpoint."""
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        log.append({"type": "x"})
        cp1 = log.latest_checkpoint()
        log.append({"type": "x"})
        assert cp1 is not None and 1 not in {s for s, _ in log.store.checkpoints()}
        vkey = log.signer.verifier
    init_witness_dir(tmp_path / "w", "w.test/1", [vkey.vkey])
    w = DirWitness(tmp_path / "w")
    with AuditLog.open(db) as log:
        from warden.record.witness import push_checkpoint

        push_checkpoint(log, w, cp1)  # cosign the old size-1 checkpoint now
        assert 1 in {s for s, _ in log.store.checkpoints()}
        verify_log(log.store, vkey, witnesses=[w])
