"""Layer 4, record: a tamper-evident audit log (RFC 9162 Merkle tree, C2SP checkpoints).

Every record is appended as canonical JSON to a Merkle tree whose signed checkpoints are
cosigned by witnesses in another trust domain, so deleting, editing, reordering, truncating,
rolling back or forking the log is detected by :func:`verify_log`. See ``docs/audit.md``.
"""

from __future__ import annotations

from warden.record.bundle import BundleReport, export_bundle, verify_bundle
from warden.record.canonical import canonical_json
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.entry import Entry
from warden.record.keys import create_key, load_signer, load_verifier
from warden.record.log import AuditLog, LogReader, default_db_path, default_key_path
from warden.record.note import NoteSigner, NoteVerifier, SignedNote
from warden.record.verify import VerifyReport, WitnessStatus, verify_log
from warden.record.writer import Receipt

__all__ = [
    "AuditLog",
    "BundleReport",
    "Checkpoint",
    "Entry",
    "LogReader",
    "NoteSigner",
    "NoteVerifier",
    "Receipt",
    "SignedCheckpoint",
    "SignedNote",
    "VerifyReport",
    "WitnessStatus",
    "canonical_json",
    "create_key",
    "default_db_path",
    "default_key_path",
    "export_bundle",
    "load_signer",
    "load_verifier",
    "verify_bundle",
    "verify_log",
]
