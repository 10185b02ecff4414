"""The canonical encoder's fast tiers write exactly what ``rfc8785`` writes, on every input.

``warden.record.canonical`` answers most records from msgspec's C encoder after a type walk
(tier 1) or a decode round trip (tier 2); both must agree byte for byte with the reference
encoder, and refuse (``FormatError``) whatever it refuses. Strategies aim at the boundaries
where the two could differ: float formatting (ECMAScript switches notation at 1e-6 and 1e21,
Python's repr at 1e-4 and 1e16; integral floats; -0.0; subnormals and the largest doubles),
integers at +-2**53, strings with control characters, non-BMP characters and lone surrogates,
and keys whose UTF-16 code-unit order differs from their code-point order.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from warden.errors import FormatError
from warden.record import canonical
from warden.record.canonical import canonical_json

SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Doubles at and next to every place where a formatter changes notation or rounding.
_EDGES = [
    1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.1, 0.5, 1.0, 1.5, 2.5, 10.0, 1e15, 1e16, 1e17, 1e20, 1e21,
    1e22, 2.0**52, 2.0**53, 2.0**52 + 0.5, 2.0**51 + 0.5, 9007199254740993.0,
    5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 2 / 3,
    1795248600.123456, 1795248600.1234567, 123456789012345678.0,
]
boundary_floats = st.sampled_from(
    [s * f for f in _EDGES for f in (math.nextafter(f, 0), f, math.nextafter(f, math.inf))
     for s in (1.0, -1.0)] + [0.0, -0.0]
)  # fmt: skip
floats = st.floats(allow_nan=False, allow_infinity=False) | boundary_floats
#: Timestamps as records carry them (``round(time.time(), 6)``), and arbitrary decimals.
timestamps = st.floats(1e9, 4e9).map(lambda t: round(t, 6))
decimals = st.decimals(
    min_value=-(10**17), max_value=10**17, allow_nan=False, allow_infinity=False, places=8
).map(float)
ints = st.integers(-(2**53) + 1, 2**53 - 1) | st.sampled_from(
    [2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 10**15, 10**16 - 1, 10**16, 2**63, -(2**63)]
)
#: Every code point, surrogates included (``st.text()`` leaves category Cs out).
any_char = st.characters(blacklist_categories=())
tricky_chars = st.sampled_from(
    ["\x00", "\x01", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", " ", '"', "\\", "/",
     "\x7f", "\x80", "\u2028", "\ud800", "\udfff", "\ue000", "\ufb01", "\uffff",
     "\U00010000", "\U0001f600", "\U0010ffff", "a", "Z", "0"]
)  # fmt: skip
strings = st.text(any_char | tricky_chars, max_size=12) | st.text(max_size=12)
keys = st.text(tricky_chars | st.sampled_from("abcxyz_"), max_size=4) | st.text(max_size=6)
scalars = (
    st.none() | st.booleans() | ints | floats | timestamps | decimals | strings
)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=5),
    max_leaves=20,
)
objects = st.dictionaries(keys, values, max_size=6)


def _same_as_reference(obj: Any) -> None:
    try:
        want = rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError):
        with pytest.raises(FormatError):
            canonical_json(obj)
        return
    assert canonical_json(obj) == want


@SETTINGS
@given(objects)
@example({"\U0001f600": 1, "\ufb01": 2, "\ue000": 3})  # UTF-16 order: U+E000, U+FB01, U+1F600
@example({"t": 1e21, "u": 1e-7, "v": -0.0, "w": 5.0, "x": 1e16, "y": 9.999999999999999e-05})
@example({"s": "\ud800"})
@example({"n": 2**53, "m": -(2**53) + 1})
def test_fast_tiers_equal_rfc8785(obj: dict[str, Any]) -> None:
    _same_as_reference(obj)


@SETTINGS
@given(floats | timestamps | decimals, st.booleans())
def test_every_float_equals_rfc8785(x: float, nested: bool) -> None:
    _same_as_reference({"a": [x, {"b": x}]} if nested else {"time": x})


@settings(max_examples=300, deadline=None)
@given(timestamps, st.text(max_size=40), st.integers(0, 10**6))
def test_record_shaped_values_take_tier_1(t: float, command: str, n: int) -> None:
    """The shape warden writes is answered by tier 1 when it is plain ASCII with a
    non-integral float in range (so the fast path cannot silently stop being used)."""
    rec: dict[str, Any] = {
        "type": "decision", "time": t, "session": "s-1", "n": n,
        "action": {"kind": "shell", "command": command, "argv": ["ls", command]},
        "decision": {"verdict": "allow", "rules": [], "reason": None, "final": True},
    }  # fmt: skip
    assert canonical_json(rec) == rfc8785.dumps(rec)
    if not t.is_integer() and command.isascii() and "\ud800" not in command:
        assert canonical._plain(rec)


class _Verdict(StrEnum):
    ALLOW = "allow"


@pytest.mark.parametrize(
    "obj",
    [
        {"v": _Verdict.ALLOW},  # a str subclass: tier 2 or the reference
        {"v": (1, 2)},  # a tuple: rfc8785 writes a list
        {1: "int key"},
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": -math.inf},
        {"x": 2**53},
        {"x": {"y": [1, {"z": 1e400}]}},
        {"x": b"bytes"},
        {"x": {1, 2}},
    ],
)
def test_values_tier_1_refuses(obj: dict[Any, Any]) -> None:
    assert not canonical._plain(obj)
    _same_as_reference(obj)


def test_deep_nesting_falls_back() -> None:
    obj: dict[str, Any] = {}
    cur = obj
    for _ in range(5000):
        cur["a"] = {}
        cur = cur["a"]
    with pytest.raises(FormatError):  # rfc8785 recurses too deep: refused, never a crash
        canonical_json(obj)


def test_a_wrong_float_text_from_msgspec_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """If msgspec ever wrote a float other than ``repr`` does, the fast tiers must not use it:
    simulate that by corrupting its float output (a trailing zero, still the same value)."""
    real = canonical._encode

    def wrong(value: Any) -> bytes:
        return real(value).replace(b"1795248600.123456", b"1795248600.1234560")

    monkeypatch.setattr(canonical, "_encode", wrong)
    rec: dict[str, Any] = {"time": 1795248600.123456, "a": {"b": [1795248600.123456]}}
    assert not canonical._plain(rec)
    assert canonical_json(rec) == rfc8785.dumps(rec)
    assert b"1795248600.1234560" not in canonical_json(rec)


def _plain_or_error(check: Any, obj: Any) -> object:
    try:
        return bool(check(obj))
    except Exception as exc:  # the same exception type either way (e.g. RecursionError)
        return type(exc)


try:
    from warden.record import _native as _native_mod
except ImportError:  # the extension was not built: canonical_json runs the Python walk
    _native_mod = None  # type: ignore[assignment]
needs_native = pytest.mark.skipif(_native_mod is None, reason="C extension not built")


@needs_native
@SETTINGS
@given(objects | st.builds(lambda t, c: {"time": t, "a": {"c": [c, t, 1]}}, timestamps, strings))
@example({"x": True, "y": None, "z": [False, 1.5, [2**53 - 1, -(2**53) + 1]]})
@example({"x": 2**53})
@example({"x": [{"y": 1e16}]})
def test_native_walk_is_the_python_walk(obj: dict[Any, Any]) -> None:
    """The C type walk (``_native.plain``) answers exactly as ``canonical._plain``."""
    assert _native_mod is not None
    want = _plain_or_error(canonical._plain, obj)
    assert _plain_or_error(lambda o: _native_mod.plain(o, canonical._encode), obj) == want


@needs_native
@pytest.mark.parametrize(
    "obj",
    [
        {"v": _Verdict.ALLOW}, {"v": (1, 2)}, {1: "int key"}, {"x": float("nan")},
        {"x": float("inf")}, {"x": 2**53}, {"x": -(2**53)}, {"x": {"y": [1, {"z": 1e400}]}},
        {"x": b"bytes"}, {"x": {1, 2}}, {"x": 5.0}, {"x": 1e-5}, {"x": [True, 3 + 0j]},
        {"x": [_Verdict.ALLOW]}, {"x": {"y": {"z": [1, [2, [{"w": object()}]]]}}},
    ],
)  # fmt: skip
def test_native_walk_refuses(obj: dict[Any, Any]) -> None:
    assert _native_mod is not None
    assert not _native_mod.plain(obj, canonical._encode)
    assert not canonical._plain(obj)


@needs_native
def test_native_walk_deep_nesting_raises_like_python() -> None:
    obj: dict[str, Any] = {}
    cur = obj
    for _ in range(5000):
        cur["a"] = [{}]
        cur = cur["a"][0]
    assert _native_mod is not None
    with pytest.raises(RecursionError):
        _native_mod.plain(obj, canonical._encode)
    with pytest.raises(FormatError):
        canonical_json(obj)
