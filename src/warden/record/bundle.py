"""Export bundles: entries with inclusion proofs and the checkpoint, verifiable offline.

A bundle is one JSON document (``warden-audit-bundle/v1``)::

    {"format": "warden-audit-bundle/v1",
     "checkpoint": "<signed checkpoint note, with cosignatures>",
     "entries": [{"index": 0, "leaf": "<the exact canonical leaf text>",
                  "proof": ["<base64 hash>", ...]}, ...]}

Verification needs only the log's verifier key (and, optionally, witness keys): the checkpoint
signature, then for every entry ``RFC 9162 §2.1.3.2(index, size, SHA-256(0x00 || leaf), proof)``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warden.errors import FormatError, VerificationError
from warden.record.checkpoint import SignedCheckpoint
from warden.record.entry import Entry
from warden.record.log import LogReader
from warden.record.merkle import leaf_hash, verify_inclusion
from warden.record.note import NoteVerifier, b64decode_strict

__all__ = ["BUNDLE_FORMAT", "BundleReport", "export_bundle", "verify_bundle"]

BUNDLE_FORMAT = "warden-audit-bundle/v1"
#: A bundle is read whole into memory; refuse absurd inputs before parsing them.
MAX_BUNDLE_SIZE = 1 << 30


def export_bundle(
    reader: LogReader, log_key: NoteVerifier, start: int = 0, end: int | None = None
) -> dict[str, Any]:
    """Build a bundle for entries ``[start, end)`` against the latest checkpoint."""
    cp = reader.checkpoint(log_key)
    stop = cp.size if end is None else min(end, cp.size)
    entries = []
    for idx, data, _ in reader.store.entries(start, stop):
        proof = reader.inclusion_proof(idx, cp.size)
        entries.append(
            {
                "index": idx,
                "leaf": data.decode("utf-8"),
                "proof": [base64.b64encode(h).decode() for h in proof],
            }
        )
    return {"format": BUNDLE_FORMAT, "checkpoint": cp.text(), "entries": entries}


@dataclass(frozen=True, slots=True)
class BundleReport:
    size: int
    entries: tuple[Entry, ...]
    cosigned_by: tuple[str, ...]


def _field(obj: dict[str, Any], key: str, typ: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, typ) or isinstance(value, bool):
        raise FormatError(f"{where}: '{key}' must be a {typ.__name__}")
    return value


def verify_bundle(
    data: bytes, log_key: NoteVerifier, *, witnesses: Sequence[NoteVerifier] = ()
) -> BundleReport:
    """Check a bundle offline; every witness in ``witnesses`` must have cosigned it."""
    if len(data) > MAX_BUNDLE_SIZE:
        raise FormatError("bundle too large")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"bundle is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise FormatError(f"not a {BUNDLE_FORMAT} bundle")
    if set(doc) != {"format", "checkpoint", "entries"}:
        raise FormatError(
            f"bundle has unexpected fields {sorted(set(doc) ^ {'format', 'checkpoint', 'entries'})}"
        )
    cp = SignedCheckpoint.open(_field(doc, "checkpoint", str, "bundle"), log_key)
    for w in witnesses:
        cp.cosigned_by(w)
    out = []
    for n, item in enumerate(_field(doc, "entries", list, "bundle")):
        where = f"bundle entry #{n}"
        if not isinstance(item, dict) or set(item) != {"index", "leaf", "proof"}:
            raise FormatError(f"{where} must have exactly index, leaf and proof")
        idx = _field(item, "index", int, where)
        leaf = _field(item, "leaf", str, where).encode("utf-8")
        proof = [
            b64decode_strict(h, f"{where} proof") if isinstance(h, str) else b""
            for h in _field(item, "proof", list, where)
        ]
        try:
            verify_inclusion(idx, cp.size, leaf_hash(leaf), proof, cp.root)
        except VerificationError as exc:
            raise VerificationError(f"not in the signed log: {exc}", index=idx) from exc
        out.append(Entry.decode(idx, leaf))
    return BundleReport(cp.size, tuple(out), tuple(w.name for w in witnesses))
