"""Checkpoints (c2sp.org/tlog-checkpoint): a signed statement of the tree size and root.

The note text is ``<origin>\\n<size>\\n<base64 root>\\n`` plus optional non-empty extension
lines; the log signs it with its Ed25519 note key (c2sp.org/signed-note, type 0x01), whose name
is the origin. Witnesses add timestamped cosignatures (c2sp.org/tlog-cosignature, type 0x04).

Example (size 3)::

    warden.local/audit-5c1f0a2e
    3
    rLfTQ7j4zDx2e2Hq8NQhKtnl3HJ1pRn4yQ0MZr8yR9U=

    — warden.local/audit-5c1f0a2e 9nV0aq2bV5c...==
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from warden.errors import FormatError, VerificationError
from warden.record.merkle import HASH_SIZE
from warden.record.note import NoteSignature, NoteSigner, NoteVerifier, SignedNote, b64decode_strict

__all__ = ["Checkpoint", "SignedCheckpoint", "parse_size"]

#: 2**63 - 1: sizes are signed 64-bit in every implementation we interoperate with.
MAX_TREE_SIZE = (1 << 63) - 1


def parse_size(text: str, what: str = "tree size") -> int:
    """ASCII decimal without leading zeroes (``0`` for zero), as the C2SP specs require."""
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise FormatError(f"{what} {text!r} is not a decimal without leading zeroes")
    value = int(text)
    if value > MAX_TREE_SIZE:
        raise FormatError(f"{what} {value} is too large")
    return value


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The note text of a checkpoint: origin, size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise FormatError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise FormatError("checkpoint size out of range")
        if len(self.root) != HASH_SIZE:
            raise FormatError("checkpoint root must be a SHA-256 hash")
        if any(not e or "\n" in e for e in self.extensions):
            raise FormatError("checkpoint extension lines must be non-empty single lines")

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise FormatError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError("checkpoint needs origin, size and root hash lines")
        root = b64decode_strict(lines[2], "checkpoint root hash")
        return cls(lines[0], parse_size(lines[1]), root, tuple(lines[3:]))

    def sign(self, signer: NoteSigner) -> SignedCheckpoint:
        text = self.text()
        note = SignedNote(text, (signer.sign(text.encode()),))
        return SignedCheckpoint(self, note)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and its note (log signature first, then any cosignatures)."""

    checkpoint: Checkpoint
    note: SignedNote

    @classmethod
    def parse(cls, data: bytes | str) -> SignedCheckpoint:
        note = SignedNote.parse(data)
        return cls(Checkpoint.from_text(note.text), note)

    @classmethod
    def open(cls, data: bytes | str, log: NoteVerifier) -> SignedCheckpoint:
        """Parse and check the log's signature; the origin must be the log key's name."""
        cp = cls.parse(data)
        cp.verify(log)
        return cp

    def verify(self, log: NoteVerifier) -> None:
        if self.checkpoint.origin != log.name:
            raise VerificationError(
                f"checkpoint origin {self.checkpoint.origin!r} is not the log {log.name!r}"
            )
        self.note.verify(log)

    def cosigned_by(self, witness: NoteVerifier) -> int:
        """Check a witness cosignature; return its timestamp."""
        ts = self.note.verify(witness)
        if ts is None:
            raise VerificationError(f"{witness.name} is not a cosigner key (type 0x04)")
        return ts

    def add(self, *sigs: NoteSignature) -> SignedCheckpoint:
        return SignedCheckpoint(self.checkpoint, self.note.with_signatures(*sigs))

    def text(self) -> str:
        return self.note.format()

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root
