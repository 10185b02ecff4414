"""The optional C extension (``warden.record._native``) computes what the Python it replaces
computes, on every input, and refuses what it cannot handle instead of guessing.

* ``leaves``: the entry bytes (``entry_bytes``) and RFC 9162 leaf hashes of a batch, below and
  above the size from which it hashes without the GIL;
* ``fold``: ``CompactRange.append_many`` in pure Python (blobs and the edge), any start size;
* a log written with the extension holds byte-for-byte the rows one written without it holds,
  and verifies.

``plain`` (tier 1 of the canonical encoding) is compared with ``canonical._plain`` in
``tests/property/test_canonical_properties.py``. Skipped where the extension was not built:
warden then runs the Python these tests compare against.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.record import AuditLog, NoteSigner, verify_log
from warden.record import merkle as merkle_mod
from warden.record import writer as writer_mod
from warden.record.entry import entry_bytes
from warden.record.merkle import CompactRange, leaf_hash, mth

native = pytest.importorskip("warden.record._native")


def python_fold(size: int, stack: list[bytes], leaves: list[bytes]) -> list[bytes]:
    """``CompactRange.append_many`` with the extension switched off."""
    saved = merkle_mod._native_fold
    merkle_mod._native_fold = None
    try:
        cr = CompactRange(size, stack)
        blobs = cr.append_many(leaves)
        stack[:] = cr.hashes()
        return blobs
    finally:
        merkle_mod._native_fold = saved


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**53) | st.sampled_from([0, 9, 10, 99, 2**31, 2**53 - 1]),
    st.lists(st.binary(max_size=60), max_size=80),
)
def test_leaves_are_entry_bytes_and_leaf_hashes(start: int, tails: list[bytes]) -> None:
    datas, hashes = native.leaves(start, tails)
    assert datas == [entry_bytes(start + k, t) for k, t in enumerate(tails)]
    assert hashes == [leaf_hash(d) for d in datas]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 700), st.lists(st.integers(0, 300), max_size=5))
def test_fold_is_append_many_in_python(before: int, batches: list[int]) -> None:
    leaves = [leaf_hash(b"%d" % i) for i in range(before + sum(batches))]
    stack: list[bytes] = []
    assert native.fold(0, stack, leaves[:before]) == python_fold(0, [], leaves[:before])
    size = before
    for n in batches:
        batch = leaves[size : size + n]
        want_stack = list(stack)
        want = python_fold(size, want_stack, batch)
        assert native.fold(size, stack, batch) == want
        assert stack == want_stack
        size += n
    assert CompactRange(size, stack).root() == mth(leaves)


def test_fold_at_large_sizes_matches_python() -> None:
    """Sizes whose edge has many subtrees (high carries; a size near 2**62)."""
    h = leaf_hash(b"x")
    for size in (2**40 - 1, 2**62 - 10, (1 << 61) + (1 << 33) - 1):
        stack = [leaf_hash(b"%d" % j) for j in range(size.bit_count())]
        want_stack = list(stack)
        assert native.fold(size, stack, [h] * 9) == python_fold(size, want_stack, [h] * 9)
        assert stack == want_stack


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: native.leaves(0, [b"a", "b"]), TypeError),
        (lambda: native.leaves(0, [b"a", bytearray(b"b")]), TypeError),
        (lambda: native.leaves(-1, [b"a"]), ValueError),
        (lambda: native.leaves(0, (b"a",)), TypeError),
        (lambda: native.fold(3, [leaf_hash(b"a")], []), ValueError),  # 2 set bits, 1 hash
        (lambda: native.fold(1, [b"short"], []), ValueError),
        (lambda: native.fold(0, [], [b"\x00" * 31]), ValueError),
        (lambda: native.fold(0, [], [bytearray(32)]), ValueError),
        (lambda: native.fold(-1, [], []), OverflowError),
        (lambda: native.fold(2**62 + 1, [b"\x00" * 32] * 2, []), OverflowError),
    ],
)
def test_bad_input_is_refused(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]


def test_a_refused_fold_leaves_the_edge_alone() -> None:
    stack = [leaf_hash(b"a")]
    with pytest.raises(ValueError):
        native.fold(1, stack, [leaf_hash(b"b"), b"bad"])
    assert stack == [leaf_hash(b"a")]


@pytest.fixture
def without_native() -> Iterator[None]:
    saved = writer_mod._native_leaves, merkle_mod._native_fold
    writer_mod._native_leaves = merkle_mod._native_fold = None
    try:
        yield
    finally:
        writer_mod._native_leaves, merkle_mod._native_fold = saved


def write(db: Path, signer: NoteSigner) -> list[tuple[int, bytes, bytes]]:
    """Batches of awkward sizes (1, 31, 32, 33, 500, ...), one lone append between them."""
    with AuditLog.open(db, key=signer) as log:
        i = 0
        for n in (1, 31, 32, 33, 500, 2, 64, 1000):
            receipts = [log.append_nowait({"n": i + k, "t": 0.5 + i + k}) for k in range(n)]
            for r in receipts:
                r.result(30)
            i += n
            assert log.append({"lone": i}) == i
            i += 1
        assert verify_log(log.store, signer.verifier).size == i
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT idx, data, nodes FROM entries ORDER BY idx").fetchall()


def test_a_log_written_with_it_is_the_log_written_without(tmp_path: Path) -> None:
    signer = NoteSigner.generate("example.com/native")
    with_it = write(tmp_path / "c.db", signer)
    saved = writer_mod._native_leaves, merkle_mod._native_fold
    writer_mod._native_leaves = merkle_mod._native_fold = None
    try:
        without = write(tmp_path / "py.db", signer)
    finally:
        writer_mod._native_leaves, merkle_mod._native_fold = saved
    assert len(with_it) == 1671
    assert with_it[1000][1].startswith(b'{"i":1000,')
    assert with_it == without


def test_the_python_fallback_writes_a_log_that_verifies(
    tmp_path: Path, without_native: None
) -> None:
    assert writer_mod._native_leaves is None
    assert len(write(tmp_path / "py.db", NoteSigner.generate("example.com/py"))) == 1671
