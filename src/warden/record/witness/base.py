"""Witness interface: the add-checkpoint exchange of c2sp.org/tlog-witness, whatever carries it.

Request body (tlog-witness §add-checkpoint)::

    old <size>\\n            decimal, no leading zeroes
    <base64 hash>\\n         zero to 63 consistency proof lines (RFC 6962 §2.1.2 / RFC 9162)
    \\n
    <checkpoint note>        log-signed, may carry other signatures

Response: cosignature lines (c2sp.org/tlog-cosignature). Refusals carry the HTTP status the
spec assigns: 400 malformed, 403 no trusted signature, 404 unknown origin, 409 old size is not
the witness's latest (body: that size) or same size with a different root, 422 bad proof.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Sequence

from warden.errors import FormatError, VerificationError
from warden.record.checkpoint import SignedCheckpoint, parse_size
from warden.record.merkle import HASH_SIZE, MAX_PROOF_LENGTH
from warden.record.note import NoteSignature, NoteVerifier, b64decode_strict

__all__ = [
    "MAX_REQUEST_SIZE",
    "WitnessClient",
    "WitnessRejected",
    "format_request",
    "parse_request",
]

#: A checkpoint note is capped at 64 KiB (note.MAX_NOTE_SIZE); 63 proof lines add ~3 KiB.
MAX_REQUEST_SIZE = 68 * 1024


class WitnessRejected(VerificationError):
    """A witness refused a checkpoint; ``status`` is the tlog-witness HTTP status."""

    def __init__(self, status: int, message: str, *, known_size: int | None = None) -> None:
        self.status = status
        self.known_size = known_size
        super().__init__(f"witness refused ({status}): {message}")


def format_request(old: int, proof: Sequence[bytes], checkpoint: str) -> bytes:
    lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + checkpoint).encode()


def parse_request(body: bytes) -> tuple[int, list[bytes], bytes]:
    """Split an add-checkpoint body; :class:`FormatError` if it is malformed (HTTP 400)."""
    if len(body) > MAX_REQUEST_SIZE:
        raise FormatError("request body too large")
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise FormatError("request has no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise FormatError("request header is not ASCII") from exc
    if not lines[0].startswith("old "):
        raise FormatError("request must start with 'old <size>'")
    old = parse_size(lines[0][4:], "old size")
    if len(lines) - 1 > MAX_PROOF_LENGTH:
        raise FormatError(f"more than {MAX_PROOF_LENGTH} consistency proof lines")
    proof = [b64decode_strict(x, "proof line") for x in lines[1:]]
    if any(len(h) != HASH_SIZE for h in proof):
        raise FormatError("consistency proof line is not a SHA-256 hash")
    return old, proof, note


class WitnessClient(ABC):
    """A witness the log can submit checkpoints to (HTTP, or a directory on another disk)."""

    def __init__(self, verifier: NoteVerifier) -> None:
        self.verifier = verifier

    @property
    def name(self) -> str:
        return self.verifier.name

    @abstractmethod
    def submit(self, body: bytes) -> bytes:
        """Send an add-checkpoint body; return the response body or raise WitnessRejected."""

    def latest(self, origin: str) -> SignedCheckpoint | None:
        """The latest checkpoint the witness holds for ``origin``, if it can be read directly."""
        return None

    def add_checkpoint(
        self, old: int, proof: Sequence[bytes], checkpoint: SignedCheckpoint
    ) -> list[NoteSignature]:
        """Submit; return this witness's verified cosignatures on ``checkpoint``."""
        response = self.submit(format_request(old, proof, checkpoint.text()))
        try:
            text = response.decode("utf-8")
            sigs = [NoteSignature.parse_line(x) for x in text.split("\n") if x]
        except (UnicodeDecodeError, FormatError) as exc:
            raise FormatError(f"witness {self.name} sent a malformed response: {exc}") from exc
        mine = [s for s in sigs if self.verifier.matches(s)]  # others are ignored (spec)
        if not mine:
            raise VerificationError(f"witness {self.name} returned no cosignature from its key")
        checkpoint.add(*mine).cosigned_by(self.verifier)
        return mine
