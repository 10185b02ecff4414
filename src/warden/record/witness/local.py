"""A witness on a directory (another disk or mount) driven in-process."""

from __future__ import annotations

from pathlib import Path

from warden.record.checkpoint import SignedCheckpoint
from warden.record.keys import load_verifier
from warden.record.note import NoteVerifier
from warden.record.witness.base import WitnessClient
from warden.record.witness.core import KEY_FILE, Witness

__all__ = ["DirWitness"]


class DirWitness(WitnessClient):
    """Submit to a :class:`Witness` whose state lives in ``directory``.

    Its cosigner key is read from the directory (``witness.vkey`` must match ``witness.key``)
    unless ``vkey`` pins it, which verifiers should do.
    """

    def __init__(self, directory: Path, *, vkey: NoteVerifier | None = None) -> None:
        self.witness = Witness(directory)
        actual = self.witness.signer.verifier
        if vkey is None:
            vkey = load_verifier(directory / KEY_FILE.replace(".key", ".vkey"))
        if vkey != actual:
            from warden.errors import KeyError_

            raise KeyError_(f"witness at {directory} does not hold the key {vkey.vkey}")
        super().__init__(vkey)

    def submit(self, body: bytes) -> bytes:
        return self.witness.add_checkpoint(body)

    def latest(self, origin: str) -> SignedCheckpoint | None:
        return self.witness.latest(origin)
