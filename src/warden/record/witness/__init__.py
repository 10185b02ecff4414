"""Witnesses: another trust domain that holds the latest checkpoint and refuses rollbacks.

Names load on first use (the HTTP client and server pull in ``http`` and ``urllib``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden._lazy import lazy_exports

if TYPE_CHECKING:
    from warden.record.witness.base import WitnessClient, WitnessRejected
    from warden.record.witness.config import load_witness_file, parse_witness_spec
    from warden.record.witness.core import Witness, init_witness_dir
    from warden.record.witness.http import HttpWitness, make_server
    from warden.record.witness.local import DirWitness
    from warden.record.witness.push import WitnessResult, push_checkpoint

__all__ = [
    "DirWitness",
    "HttpWitness",
    "Witness",
    "WitnessClient",
    "WitnessRejected",
    "WitnessResult",
    "init_witness_dir",
    "load_witness_file",
    "make_server",
    "parse_witness_spec",
    "push_checkpoint",
]

#: name -> module: each loads on first use (PEP 562), so appending to the log never
#: imports what only verification, export or the HTTP witness need
_LAZY = {
    "WitnessClient": "warden.record.witness.base",
    "WitnessRejected": "warden.record.witness.base",
    "load_witness_file": "warden.record.witness.config",
    "parse_witness_spec": "warden.record.witness.config",
    "Witness": "warden.record.witness.core",
    "init_witness_dir": "warden.record.witness.core",
    "HttpWitness": "warden.record.witness.http",
    "make_server": "warden.record.witness.http",
    "DirWitness": "warden.record.witness.local",
    "WitnessResult": "warden.record.witness.push",
    "push_checkpoint": "warden.record.witness.push",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
