"""A witness's own logic: check a submitted checkpoint, persist it, cosign it.

Used in-process for a directory witness (another disk, another mount) and behind
``warden witness serve`` for HTTP. State is one file per log origin holding the latest cosigned
checkpoint; the check-and-update is atomic under a thread lock and an ``flock`` on the
directory, and the new state is fsynced before the cosignature is returned (tlog-witness
requires both). Requests that carry a valid log signature but are refused (409/422) are kept
under ``evidence/`` as possible proof of log misbehaviour.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from warden.errors import FormatError, StoreError, VerificationError
from warden.record.checkpoint import SignedCheckpoint
from warden.record.fsutil import fsync_dir
from warden.record.keys import create_key, load_signer, load_verifier
from warden.record.merkle import EMPTY_ROOT, verify_consistency
from warden.record.note import NoteSigner, NoteVerifier
from warden.record.witness.base import WitnessRejected, parse_request

__all__ = ["Witness", "init_witness_dir"]

KEY_FILE = "witness.key"
LOGS_FILE = "logs.vkeys"


def init_witness_dir(directory: Path, name: str, log_vkeys: Iterable[str]) -> NoteSigner:
    """Create a witness directory: a cosigner key (type 0x04) and the trusted log keys."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    signer = create_key(directory / KEY_FILE, name, witness=True)
    keys = [load_verifier(v).vkey for v in log_vkeys]
    (directory / LOGS_FILE).write_text("".join(k + "\n" for k in keys))
    return signer


class Witness:
    """Keeps the latest checkpoint of each trusted log; cosigns only consistent growth."""

    def __init__(
        self,
        directory: Path,
        *,
        signer: NoteSigner | None = None,
        logs: Iterable[NoteVerifier] | None = None,
    ) -> None:
        self.dir = directory
        self.signer = signer or load_signer(directory / KEY_FILE)
        if logs is None:
            path = directory / LOGS_FILE
            try:
                lines = path.read_text().split()
            except OSError as exc:
                raise VerificationError(f"witness has no trusted log keys ({path})") from exc
            logs = [load_verifier(x) for x in lines]
        self.logs = {v.name: v for v in logs}
        if not self.logs:
            raise VerificationError("a witness needs at least one trusted log key")
        try:
            (directory / "logs").mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"witness directory {directory}: {exc.strerror}") from exc
        self._lock = threading.Lock()

    def _state_path(self, origin: str) -> Path:
        return (
            self.dir / "logs" / (hashlib.sha256(origin.encode()).hexdigest()[:32] + ".checkpoint")
        )

    def latest(self, origin: str) -> SignedCheckpoint | None:
        path = self._state_path(origin)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"witness state {path}: {exc.strerror}") from exc
        return SignedCheckpoint.parse(data)

    def add_checkpoint(self, body: bytes) -> bytes:
        """Handle one add-checkpoint request body; raise :class:`WitnessRejected` to refuse."""
        try:
            old, proof, note = parse_request(body)
            cp = SignedCheckpoint.parse(note)
        except FormatError as exc:
            raise WitnessRejected(400, str(exc)) from exc
        log_key = self.logs.get(cp.checkpoint.origin)
        if log_key is None:
            raise WitnessRejected(404, f"unknown log origin {cp.checkpoint.origin!r}")
        try:
            cp.verify(log_key)
        except VerificationError as exc:
            raise WitnessRejected(403, f"no valid signature from the log key: {exc}") from exc
        if old > cp.size:
            raise WitnessRejected(400, f"old size {old} is larger than the checkpoint size")
        with self._lock, self._flock():
            latest = self.latest(cp.checkpoint.origin)
            known = latest.size if latest else 0
            if old != known:
                raise WitnessRejected(409, f"witness is at size {known}", known_size=known)
            known_root = latest.root if latest else EMPTY_ROOT
            if old == cp.size and cp.size and cp.root != known_root:
                self._evidence(body)
                raise WitnessRejected(409, f"a different root for size {old}", known_size=known)
            try:
                verify_consistency(old, cp.size, known_root, cp.root, proof)
            except VerificationError as exc:
                self._evidence(body)
                raise WitnessRejected(422, f"consistency proof does not verify: {exc}") from exc
            sig = self.signer.sign(cp.checkpoint.text().encode(), timestamp=int(time.time()))
            try:  # persisted (fsynced) before the cosignature leaves, as the spec requires
                self._persist(cp.checkpoint.origin, cp.add(sig))
            except OSError as exc:
                raise StoreError(f"witness cannot persist its state: {exc.strerror}") from exc
        return sig.line().encode()

    def _flock(self) -> _FileLock:
        return _FileLock(self.dir / "lock")  # across processes sharing the directory

    def _persist(self, origin: str, cp: SignedCheckpoint) -> None:
        path = self._state_path(origin)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, cp.text().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
        fsync_dir(path.parent)

    def _evidence(self, body: bytes) -> None:
        ev = self.dir / "evidence"
        name = f"{time.time_ns()}-{hashlib.sha256(body).hexdigest()[:12]}.req"
        try:
            ev.mkdir(mode=0o700, exist_ok=True)
            (ev / name).write_bytes(body)
        except OSError:  # evidence is best effort; the refusal itself stands
            pass


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise StoreError(f"cannot lock witness state {self.path}: {exc.strerror}") from exc

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
