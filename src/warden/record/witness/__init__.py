"""Witnesses: another trust domain that holds the latest checkpoint and refuses rollbacks."""

from __future__ import annotations

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
