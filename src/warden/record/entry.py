"""The bytes that become a leaf: a record, and the salted hash of its purgeable payload.

A leaf is the RFC 8785 canonical form of
``{"i": <index>, "payload": <hex>?, "record": <record>, "v": 1}``:

* ``i`` is the entry's own index, so a row moved, swapped or inserted elsewhere is caught at
  its new position even before any tree hash is compared;
* ``record`` is what warden saw or decided (type, time, session, the redacted action, ...);
* ``payload`` is present when a payload was given, and is
  ``hex(SHA-256(salt || canonical(payload)))`` with a fresh 16-byte random ``salt`` per entry.

The payload bytes and the salt are stored *outside* the tree (a purgeable table), so payloads
can be deleted without breaking any hash, and a purged low-entropy payload (a short secret)
cannot be recovered by guessing, because its salt went with it.

The keys are already in RFC 8785 order, so the wrapper is concatenated, not re-encoded: the
caller's thread encodes the tail (everything after ``"i":N,``) and the writer, which alone
knows the index, prefixes it (:func:`entry_bytes`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warden.errors import FormatError
from warden.record.canonical import canonical_json, parse_json_object

__all__ = [
    "ENTRY_VERSION",
    "SALT_SIZE",
    "Entry",
    "Payload",
    "encode_entry",
    "entry_bytes",
    "index_prefix",
    "payload_digest",
]

ENTRY_VERSION = 1
#: 128 bits: enough that a purged payload's hash cannot be brute-forced with a salt table.
SALT_SIZE = 16


@dataclass(frozen=True, slots=True)
class Payload:
    """A purgeable payload: its canonical bytes and the salt that went into the leaf."""

    salt: bytes
    body: bytes


def payload_digest(salt: bytes, body: bytes) -> str:
    """``hex(SHA-256(salt || body))``, the value committed in the leaf."""
    return hashlib.sha256(salt + body).hexdigest()


def encode_entry(
    record: Mapping[str, Any], payload: Mapping[str, Any] | None = None
) -> tuple[bytes, Payload | None]:
    """The leaf bytes after the index, and the payload to store beside it (if any)."""
    rec = canonical_json(record)
    if payload is None:
        return b'"record":' + rec + b',"v":1}', None
    body = canonical_json(payload)
    salt = secrets.token_bytes(SALT_SIZE)
    digest = payload_digest(salt, body).encode("ascii")
    return b'"payload":"' + digest + b'","record":' + rec + b',"v":1}', Payload(salt, body)


def index_prefix(index: int) -> bytes:
    return b'{"i":%d,' % index


def entry_bytes(index: int, tail: bytes) -> bytes:
    """The complete canonical leaf of entry ``index``."""
    return b'{"i":%d,' % index + tail


@dataclass(frozen=True, slots=True)
class Entry:
    """One decoded log entry, as ``show``/``tail``/``export`` present it."""

    index: int
    record: dict[str, Any]
    payload_hash: str | None
    payload: dict[str, Any] | None

    @classmethod
    def decode(cls, index: int, data: bytes, payload: Payload | None = None) -> Entry:
        """Parse leaf bytes (and check the payload against its committed hash)."""
        obj = parse_json_object(data, f"entry {index}")
        if obj.get("v") != ENTRY_VERSION or not isinstance(obj.get("record"), dict):
            raise FormatError(f"entry {index} is not a version-{ENTRY_VERSION} audit entry")
        if obj.get("i") != index or type(obj.get("i")) is not int:
            raise FormatError(f"entry {index} claims to be entry {obj.get('i')!r}")
        extra = set(obj) - {"i", "v", "record", "payload"}
        if extra:
            raise FormatError(f"entry {index} has unknown fields {sorted(extra)}")
        phash = obj.get("payload")
        if phash is not None and not isinstance(phash, str):
            raise FormatError(f"entry {index} has a malformed payload hash")
        body: dict[str, Any] | None = None
        if payload is not None:
            if phash is None or not hmac.compare_digest(
                payload_digest(payload.salt, payload.body), phash
            ):
                raise FormatError(f"entry {index}: stored payload does not match its hash")
            body = parse_json_object(payload.body, f"payload {index}")
        return cls(index, obj["record"], phash, body)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "record": self.record}
        if self.payload_hash is not None:
            out["payload_sha256"] = self.payload_hash
            out["payload"] = self.payload
        return out
