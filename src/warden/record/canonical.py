"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for audit records.

Every record is hashed in its canonical form, so the same logical record always gives the same
bytes. ``rfc8785`` is the reference encoder; it is pure Python (~25 us a record here), so the
hot path uses msgspec's C encoder with sorted keys when its output is provably identical:

* the output is ASCII, so sorting keys by code point equals sorting by UTF-16 code unit
  (RFC 8785 §3.2.3) and no lone surrogate can hide in a string;
* strings are escaped the same way by both (§3.2.2.2: ``\\b \\t \\n \\f \\r``, other control
  characters as ``\\u00xx``, nothing else), which a property test pins;
* decoding the output gives back a value equal to the input (catches NaN/inf, which msgspec
  writes as ``null``, tuples, and anything else JSON cannot hold);
* every float is written as ECMAScript writes it (RFC 8785 §3.2.2.3): plain decimal notation,
  shortest round-trip digits, not integral. Floats print differently elsewhere (``1.0`` vs
  ``1``, ``1e-07`` vs ``1e-7``) and those take the reference path. Audit records carry a float
  timestamp, so without this every real record took the reference path (~33 us instead of ~4);
* no integer has 16 or more digits (outside the IEEE-754 exact range, RFC 8785 §3.2.2.3).

Anything else falls back to ``rfc8785``, so the fast path can only be slower, never different.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import msgspec
import rfc8785

from warden.errors import FormatError

__all__ = ["canonical_json", "parse_json_object"]

_encode = msgspec.json.Encoder(order="sorted").encode
#: Digits become ``0`` and every other byte a space, so a run of 16 digits (an integer outside
#: the IEEE-754 exact range, RFC 8785 §3.2.2.3) is a plain substring search: ~10x cheaper than a
#: regular expression on a typical record. Runs inside strings are false positives: they only
#: cost the slow path. The search is ``bytes.find``, not ``in``: ``bytes.__contains__`` first
#: tries its operand as an integer and raises (then clears) a ``TypeError`` for ``bytes``, which
#: cost more than the search itself.
_DIGIT_MAP = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_BIG_INT = b"0" * 16


class _HasFloat(Exception):
    pass


def _es_float(text: str) -> float:
    """The float ``text`` stands for, if it is already RFC 8785's form of it; else the slow path.

    Decimal notation only: msgspec (like Python's repr) switches to an exponent outside
    [1e-4, 1e16), inside ECMAScript's decimal range [1e-6, 1e21), so any exponent is refused.
    An integral value is refused (ECMAScript writes ``5``, msgspec ``5.0``). Both write the
    shortest digits that round-trip, choosing the closest, so the text must equal ``repr``.
    """
    value = float(text)
    # repr never writes "E", so text == repr(value) rules out the upper-case form as well
    if repr(value) != text or "e" in text or text[-2:] == ".0":
        raise _HasFloat
    return value


_decode = msgspec.json.Decoder(float_hook=_es_float).decode


def _fast(value: Mapping[str, Any]) -> bytes | None:
    try:
        data = _encode(value)
        if not data.isascii() or data.translate(_DIGIT_MAP).find(_BIG_INT) >= 0:
            return None
        if _decode(data) != value:
            return None
    except (_HasFloat, TypeError, ValueError, msgspec.MsgspecError, RecursionError):
        return None
    return data


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of a JSON object; :class:`FormatError` if it is not representable."""
    if type(value) is not dict and not isinstance(value, Mapping):  # the ABC check costs more
        raise FormatError(f"a record must be a JSON object, not {type(value).__name__}")
    data = _fast(value)
    if data is not None:
        return data
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
