"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for audit records.

Every record is hashed in its canonical form, so the same logical record always gives the same
bytes. ``rfc8785`` is the reference encoder; it is pure Python (~25 us a record here), so the
hot path uses msgspec's C encoder with sorted keys when its output is provably identical.
Three tiers, each exact, the first that applies wins:

1. **Plain records** (:func:`_plain`, the shape every record warden writes has): a dict whose
   keys are all ``str`` and whose values are, recursively, exactly ``str``, ``bool``, ``None``,
   ``int`` in RFC 8785's range (|i| < 2**53), ``dict`` or ``list`` of the same, or ``float``
   that is finite, not integral and in [1e-4, 1e16). Exact types, no subclasses: msgspec and
   ``rfc8785`` then see the same JSON value. The output must also be ASCII. Then msgspec's bytes
   are RFC 8785's:

   * ASCII means sorting keys by code point equals sorting by UTF-16 code unit (§3.2.3) and no
     lone surrogate hides in a string;
   * strings are escaped the same way by both (§3.2.2.2: ``\\b \\t \\n \\f \\r``, other control
     characters as ``\\u00xx``, nothing else), which a property test pins;
   * such a float is written by ``rfc8785`` as ``str(f)`` verbatim (Python's shortest
     round-trip repr: no exponent in that range, and not integral so no ``.0`` to strip), and
     msgspec's text for it is checked to be exactly ``repr(f)`` (msgspec formats a float the
     same wherever it stands). This check is most of the tier's cost (``repr`` of a 17-digit
     timestamp is ~7k instructions); msgspec's Ryu algorithm should agree with ``repr`` by
     construction, but the check makes it a fact rather than a belief.

   This replaced a decode round trip of msgspec's output (decode with a Python ``float_hook``
   that re-parsed and re-printed every float, a deep compare, and a scan for 16-digit runs):
   38.0k -> 31.0k instructions a bench record (callgrind, docs/audit.md §9).
2. **Other mappings msgspec can write** (:func:`_fast`, the previous fast path, kept for what
   tier 1 refuses, e.g. ``str``/``int`` subclasses such as enums): msgspec's output decoded
   back must equal the input, floats must be in ECMAScript form, no 16-digit integer.
3. Everything else: ``rfc8785`` itself (and its errors become :class:`FormatError`).

So the fast tiers can only be slower than the reference, never different.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import rfc8785

from warden.errors import FormatError

__all__ = ["canonical_json", "parse_json_object"]

_encode = msgspec.json.Encoder(order="sorted").encode
#: The optional C extension (``_native.c``): :func:`_plain` without the interpreter (the same
#: checks, the float's text compared with ``_encode``'s; a property test compares the two).
#: None when it was not built.
_native_plain: Callable[[dict[Any, Any], Callable[[Any], bytes]], bool] | None
try:
    from warden.record._native import plain as _native_plain
except ImportError:  # pragma: no cover - depends on the build
    _native_plain = None
#: Digits become ``0`` and every other byte a space, so a run of 16 digits (an integer outside
#: the IEEE-754 exact range, RFC 8785 §3.2.2.3) is a plain substring search: ~10x cheaper than a
#: regular expression on a typical record. Runs inside strings are false positives: they only
#: cost the slow path. The search is ``bytes.find``, not ``in``: ``bytes.__contains__`` first
#: tries its operand as an integer and raises (then clears) a ``TypeError`` for ``bytes``, which
#: cost more than the search itself.
_DIGIT_MAP = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_BIG_INT = b"0" * 16
#: ``rfc8785`` accepts integers in [-(2**53 - 1), 2**53 - 1] (RFC 8785 §3.2.2.3).
_INT_LIMIT = 2**53


def _plain_float(v: float) -> bool:
    """Finite (NaN fails the first comparison), in decimal notation both in ``repr`` and in
    ECMAScript, not integral; and msgspec writes exactly ``repr``'s text for it."""
    return 1e-4 <= abs(v) < 1e16 and not v.is_integer() and _encode(v) == repr(v).encode()


def _plain(obj: dict[Any, Any]) -> bool:
    """Whether ``obj`` is a plain record (tier 1 of the module docstring), floats checked.

    Python code, so shaped for records (measured with callgrind: one ``items()`` loop beats a
    key pass plus a value pass, and ``str`` values, the commonest, are tested first). Deep
    nesting raises ``RecursionError`` (the caller falls back).
    """
    for k, v in obj.items():
        if type(k) is not str:
            return False
        t = type(v)
        if t is str:
            continue
        if t is dict:
            if not _plain(v):
                return False
        elif t is float:
            if not (
                1e-4 <= abs(v) < 1e16 and not v.is_integer() and _encode(v) == repr(v).encode()
            ):  # _plain_float, inlined
                return False
        elif t is bool or v is None:
            continue
        elif t is int:
            if not -_INT_LIMIT < v < _INT_LIMIT:
                return False
        elif t is list:
            if not _plain_list(v):
                return False
        else:
            return False
    return True


def _plain_list(items: list[Any]) -> bool:
    """:func:`_plain` for a list's items."""
    for v in items:
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is dict:
            if not _plain(v):
                return False
        elif t is float:
            if not _plain_float(v):
                return False
        elif t is int:
            if not -_INT_LIMIT < v < _INT_LIMIT:
                return False
        elif t is list:
            if not _plain_list(v):
                return False
        else:
            return False
    return True


class _HasFloat(Exception):
    pass


def _es_float(text: str) -> float:
    """The float ``text`` stands for, if it is already RFC 8785's form of it; else the slow path.

    Decimal notation only: Python's repr switches to an exponent outside [1e-4, 1e16), inside
    ECMAScript's decimal range [1e-6, 1e21), so any exponent is refused (msgspec's switch
    points differ: it writes ``9.999e-05`` as ``0.00009999``, which then differs from repr and
    is refused as well; such values take the reference path).
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
    data: bytes | None = None
    if type(value) is dict:
        try:
            if _plain(value) if _native_plain is None else _native_plain(value, _encode):
                data = _encode(value)
                if data.isascii():
                    return data
                data = None  # non-ASCII: tier 2 would refuse it as well
            else:
                data = _fast(value)
        except (TypeError, ValueError, msgspec.MsgspecError, RecursionError):
            pass  # e.g. a lone surrogate msgspec cannot encode: the reference decides
    elif isinstance(value, Mapping):  # the ABC check costs more than the dict check
        data = _fast(value)
    else:
        raise FormatError(f"a record must be a JSON object, not {type(value).__name__}")
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
