"""Layer 4, record: a tamper-evident audit log (RFC 9162 Merkle tree, C2SP checkpoints).

Every record is appended as canonical JSON to a Merkle tree whose signed checkpoints are
cosigned by witnesses in another trust domain, so deleting, editing, reordering, truncating,
rolling back or forking the log is detected by :func:`verify_log`. See ``docs/audit.md``.

Names load on first use: a hook process that only appends imports neither verification,
bundles nor the witness clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warden._lazy import lazy_exports

if TYPE_CHECKING:
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

#: name -> module: each loads on first use (PEP 562), so appending to the log never
#: imports what only verification, export or the HTTP witness need
_LAZY = {
    "BundleReport": "warden.record.bundle",
    "export_bundle": "warden.record.bundle",
    "verify_bundle": "warden.record.bundle",
    "canonical_json": "warden.record.canonical",
    "Checkpoint": "warden.record.checkpoint",
    "SignedCheckpoint": "warden.record.checkpoint",
    "Entry": "warden.record.entry",
    "create_key": "warden.record.keys",
    "load_signer": "warden.record.keys",
    "load_verifier": "warden.record.keys",
    "AuditLog": "warden.record.log",
    "LogReader": "warden.record.log",
    "default_db_path": "warden.record.log",
    "default_key_path": "warden.record.log",
    "NoteSigner": "warden.record.note",
    "NoteVerifier": "warden.record.note",
    "SignedNote": "warden.record.note",
    "VerifyReport": "warden.record.verify",
    "WitnessStatus": "warden.record.verify",
    "verify_log": "warden.record.verify",
    "Receipt": "warden.record.writer",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
