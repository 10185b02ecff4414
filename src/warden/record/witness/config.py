"""Which witnesses a log uses: ``SPEC`` strings from the command line or a file.

``SPEC`` is ``<url or directory>[=<witness vkey or vkey file>]``:

* ``https://witness.example/prefix=witness.example/w1+1a2b3c4d+BB...`` - an HTTP witness
  (the vkey is mandatory: it is the only thing that identifies the witness);
* ``/mnt/other-disk/warden-witness`` - a directory witness (its vkey is read from the
  directory unless given after ``=``; pinning it is better).

A witnesses file holds one SPEC a line; ``#`` starts a comment.
"""

from __future__ import annotations

from pathlib import Path

from warden.errors import FormatError
from warden.record.keys import load_verifier
from warden.record.witness.base import WitnessClient
from warden.record.witness.http import HttpWitness
from warden.record.witness.local import DirWitness

__all__ = ["load_witness_file", "parse_witness_spec"]


def parse_witness_spec(spec: str) -> WitnessClient:
    target, sep, vkey = spec.strip().partition("=")
    if target.startswith(("http://", "https://")):
        if not sep:
            raise FormatError(f"HTTP witness {target} needs '=<vkey>' (its cosigner key)")
        return HttpWitness(target, load_verifier(vkey))
    return DirWitness(Path(target), vkey=load_verifier(vkey) if sep else None)


def load_witness_file(path: Path) -> list[WitnessClient]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise FormatError(f"cannot read witnesses file {path}: {exc.strerror}") from exc
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                out.append(parse_witness_spec(line))
            except FormatError as exc:
                raise FormatError(f"{path}:{n}: {exc}") from exc
    return out
