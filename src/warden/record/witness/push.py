"""Getting checkpoints cosigned: submit with a consistency proof, learn the witness's size.

A witness that has seen a larger tree than the log holds, or refuses the consistency proof,
is evidence of a rollback or a fork, and is reported as a :class:`VerificationError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from warden.errors import AuditError, VerificationError
from warden.record.checkpoint import SignedCheckpoint
from warden.record.store.base import AuditStore
from warden.record.witness.base import WitnessClient, WitnessRejected

__all__ = ["WitnessPusher", "WitnessResult", "push_checkpoint"]

log = logging.getLogger(__name__)

#: Seconds between pushes while appends keep coming (witnesses are shared infrastructure).
PUSH_INTERVAL_S = 1.0


class ProofSource(Protocol):
    """What pushing needs from a log: its store and consistency proofs."""

    @property
    def store(self) -> AuditStore: ...

    def consistency_proof(self, old: int, new: int) -> list[bytes]: ...

    def latest_checkpoint(self) -> SignedCheckpoint | None: ...


@dataclass(frozen=True, slots=True)
class WitnessResult:
    witness: str
    size: int
    cosignatures: tuple[str, ...]


def push_checkpoint(
    reader: ProofSource, client: WitnessClient, checkpoint: SignedCheckpoint
) -> WitnessResult:
    """Have ``client`` cosign ``checkpoint``; store and return its cosignatures."""
    meta_key = f"witness-size:{client.name}"
    hint = reader.store.get_meta(meta_key)
    old = int(hint) if hint and hint.isdigit() and int(hint) <= checkpoint.size else 0
    bare = SignedCheckpoint(checkpoint.checkpoint, checkpoint.note)
    for _ in range(3):
        proof = reader.consistency_proof(old, checkpoint.size)
        try:
            sigs = client.add_checkpoint(old, proof, bare)
            break
        except WitnessRejected as exc:
            if exc.status == 409 and exc.known_size is not None and exc.known_size != old:
                if exc.known_size > checkpoint.size:
                    raise VerificationError(
                        f"witness {client.name} has seen {exc.known_size} entries but the log"
                        f" has {checkpoint.size}: the log was truncated or rolled back",
                        index=checkpoint.size,
                    ) from exc
                old = exc.known_size
                continue
            if exc.status in (409, 422):
                raise VerificationError(
                    f"witness {client.name} refuses the log as inconsistent with what it saw"
                    f" ({exc}): the log was rewritten (fork)"
                ) from exc
            raise
    else:
        raise AuditError(f"witness {client.name} keeps changing its size")
    lines = tuple(s.line().rstrip("\n") for s in sigs)
    reader.store.add_cosignatures(bare.text(), checkpoint.size, client.name, lines)
    reader.store.set_meta(meta_key, str(checkpoint.size))
    return WitnessResult(client.name, checkpoint.size, lines)


class WitnessPusher:
    """Pushes the latest durable checkpoint to witnesses in the background."""

    def __init__(self, reader: ProofSource, witnesses: Sequence[WitnessClient]) -> None:
        self.reader = reader
        self.witnesses = list(witnesses)
        self._latest: SignedCheckpoint | None = None
        self._cv = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="warden-audit-witness", daemon=True)
        self._thread.start()

    def notify(self, checkpoint: SignedCheckpoint) -> None:
        """Called by the writer after a checkpoint is durable (never before)."""
        with self._cv:
            self._latest = checkpoint
            self._cv.notify()

    def push_now(self) -> list[str]:
        cp = self.reader.latest_checkpoint()
        return self._push(cp) if cp is not None else []

    def _push(self, cp: SignedCheckpoint) -> list[str]:
        problems = []
        for w in self.witnesses:
            try:
                push_checkpoint(self.reader, w, cp)
            except AuditError as exc:
                log.warning("witness %s: %s", w.name, exc)
                problems.append(f"{w.name}: {exc}")
            except Exception as exc:  # a witness bug must not stop the pusher (or the log)
                log.exception("witness %s failed", w.name)
                problems.append(f"{w.name}: internal error: {exc}")
        return problems

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._latest is None and not self._closing:
                    self._cv.wait()
                cp, self._latest = self._latest, None
            if cp is not None:  # including a last push of what was committed before close
                self._push(cp)
            if self._closing:
                return
            with self._cv:
                self._cv.wait_for(lambda: self._closing, timeout=PUSH_INTERVAL_S)

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join()
