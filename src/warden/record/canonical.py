"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for audit records.

Every record is hashed in its canonical form, so the same logical record always gives the same
bytes. ``rfc8785`` is the reference encoder; it is pure Python and costs ~25 us a record, so the
hot path uses the C ``json`` encoder when its output is provably identical to RFC 8785:

* keys sorted by code point equal keys sorted by UTF-16 code unit (§3.2.3) when they are ASCII;
* strings are escaped the same way (§3.2.2.2: ``\\b \\t \\n \\f \\r``, ``\\u00xx`` lowercase,
  nothing else) by both encoders;
* integers print the same when they have at most 15 digits (inside the IEEE-754 exact range);
* floats print differently (``1.0`` vs ``1``, ``1e-07`` vs ``1e-7``) so any output that *might*
  hold a float, by a conservative pattern, goes to the reference encoder.

Anything non-ASCII or matching the pattern falls back to ``rfc8785``, so the fast path can only
ever be slower, never different; a property test pins the equivalence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import rfc8785

from warden.errors import FormatError

__all__ = ["canonical_json", "parse_json_object"]

_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode

# a number token that may be a float or an integer with 16+ digits; matches anywhere a number
# may start ('[', ':' or ',' then the token), plus false positives inside strings (harmless)
_SLOW = re.compile(r"[\[:,]-?(?:\d+[.eE]|\d{16})")


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of a JSON object; :class:`FormatError` if it is not representable."""
    if not isinstance(value, Mapping):
        raise FormatError(f"a record must be a JSON object, not {type(value).__name__}")
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise FormatError(f"record is not JSON-serialisable: {exc}") from exc
    if text.isascii() and _SLOW.search(text) is None:
        return text.encode("ascii")
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise FormatError(f"record cannot be canonicalised (RFC 8785): {exc}") from exc


def parse_json_object(data: bytes | str, what: str = "record") -> dict[str, Any]:
    """Parse stored JSON back into a dict (for display and verification)."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise FormatError(f"{what} is not a JSON object")
    return value
