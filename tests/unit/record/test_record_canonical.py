"""The canonical encoder equals RFC 8785 (rfc8785) on every input; entries and payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.errors import FormatError
from warden.record.canonical import canonical_json
from warden.record.entry import Entry, Payload, encode_entry, entry_bytes, payload_digest

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(max_size=10), values, max_size=8))
def test_matches_rfc8785(obj: dict[str, Any]) -> None:
    try:
        want = rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError:
        with pytest.raises(FormatError):
            canonical_json(obj)
        return
    assert canonical_json(obj) == want


@pytest.mark.parametrize(
    "obj",
    [
        {"a": 1.0, "b": 1e21, "c": 1e-7, "d": -0.0, "e": 123456789012345678.0},
        {"\U0001f600": 1, "\ufb01": 2, "z": "x"},  # UTF-16 order differs from code point order
        {"s": 'ctl\x01\x1f\n\t"\\/\u2028'},
        {"n": 2**53 - 1, "m": -(2**53) + 1},
        {"time": "12:30.5", "v": [1, 2, 3]},  # float-looking text inside a string
    ],
)
def test_tricky_cases(obj: dict[str, Any]) -> None:
    assert canonical_json(obj) == rfc8785.dumps(obj)


@pytest.mark.parametrize(
    "obj", [{"x": float("nan")}, {"x": 2**60}, {"x": object()}, {"x": "\ud800"}, [1, 2]]
)
def test_unrepresentable(obj: Any) -> None:
    with pytest.raises(FormatError):
        canonical_json(obj)


def test_entry_without_payload() -> None:
    data, pay = encode_entry({"type": "decision", "b": [1, "x"]})
    assert pay is None
    data = entry_bytes(3, data)
    assert data == b'{"i":3,"record":{"b":[1,"x"],"type":"decision"},"v":1}'
    assert data == rfc8785.dumps(json.loads(data))
    assert Entry.decode(3, data).record == {"type": "decision", "b": [1, "x"]}


def test_entry_with_salted_payload() -> None:
    tail1, p1 = encode_entry({"t": 1}, {"secret": "hunter2"})
    tail2, p2 = encode_entry({"t": 1}, {"secret": "hunter2"})
    data1, data2 = entry_bytes(0, tail1), entry_bytes(0, tail2)
    assert p1 is not None and p2 is not None
    assert data1 != data2, "a fresh salt per entry: equal payloads must not be linkable"
    assert len(p1.salt) == 16 and p1.body == b'{"secret":"hunter2"}'
    assert data1 == rfc8785.dumps(json.loads(data1))
    e = Entry.decode(0, data1, p1)
    assert e.payload == {"secret": "hunter2"}
    assert e.payload_hash == payload_digest(p1.salt, p1.body)
    with pytest.raises(FormatError):
        Entry.decode(0, data1, Payload(p1.salt, b'{"secret":"other"}'))
    with pytest.raises(FormatError):
        Entry.decode(0, data1, p2)  # right body, wrong salt
    with pytest.raises(FormatError):
        Entry.decode(1, data1, p1)  # an entry moved to another index


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1]",
        b'{"i":0,"v":2,"record":{}}',
        b'{"i":0,"v":1,"record":{},"x":1}',
        b'{"i":0,"v":1}',
        b'{"v":1,"record":{}}',
        b'{"i":true,"v":1,"record":{}}',
    ],
)
def test_bad_entries(data: bytes) -> None:
    with pytest.raises(FormatError):
        Entry.decode(0, data)


def test_random_doubles_of_every_magnitude_match_rfc8785() -> None:
    """The fast path lets floats through only in ECMAScript's exact form (fixed seed)."""
    import random
    import struct

    rng = random.Random(20261121)
    for _ in range(20000):
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if x != x or abs(x) == float("inf"):
            continue
        for v in (x, round(x, rng.randrange(8)), rng.uniform(-1e6, 1e6), rng.random()):
            assert canonical_json({"t": v}) == rfc8785.dumps({"t": v}), v


def test_a_real_decision_record_takes_the_fast_path() -> None:
    """Records carry a float timestamp: they must not all fall back to the ~10x slower
    reference encoder (they did until the fast path learned ECMAScript's float form)."""
    from warden.record import canonical

    record = {"type": "decision", "v": 1, "time": 1795248905.271234, "session": "s",
              "verdict": "allow", "rules": [], "error": None}  # fmt: skip
    assert canonical._fast(record) == rfc8785.dumps(record)
