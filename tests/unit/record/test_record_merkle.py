"""RFC 9162 tree: published CT vectors, a naive recursive MTH, and hypothesis properties."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.errors import VerificationError
from warden.record import merkle as m

ASSETS = Path(__file__).parents[2] / "assets" / "record"
V = json.loads((ASSETS / "rfc6962_vectors.json").read_text())
LEAVES = [bytes.fromhex(x) for x in V["leaves"]]
ROOTS = [bytes.fromhex(x) for x in V["roots"]]
SOME = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


# -- independent naive implementation: the recursive definitions, written from the RFC text --
def naive_mth(data: list[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:])).digest()


def naive_path(i: int, data: list[bytes]) -> list[bytes]:
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if i < k:
        return [*naive_path(i, data[:k]), naive_mth(data[k:])]
    return [*naive_path(i - k, data[k:]), naive_mth(data[:k])]


def naive_subproof(mm: int, data: list[bytes], b: bool) -> list[bytes]:
    n = len(data)
    if mm == n:
        return [] if b else [naive_mth(data)]
    k = 1
    while k * 2 < n:
        k *= 2
    if mm <= k:
        return [*naive_subproof(mm, data[:k], b), naive_mth(data[k:])]
    return [*naive_subproof(mm - k, data[k:], False), naive_mth(data[:k])]


def hashes_for(ranges: list[tuple[int, int]], data: list[bytes]) -> list[bytes]:
    return [naive_mth(data[a:b]) for a, b in ranges]


def gen(n: int) -> list[bytes]:
    return [f"data:{i}".encode() for i in range(n)]


# -- published vectors ---------------------------------------------------------------------
def test_empty_root() -> None:
    assert m.EMPTY_ROOT.hex() == V["empty_root"]
    assert m.mth([]) == m.EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    hashes = [m.leaf_hash(x) for x in LEAVES[:size]]
    assert m.mth(hashes) == ROOTS[size - 1]
    assert naive_mth(LEAVES[:size]) == ROOTS[size - 1]


def test_reference_leaf_hashes() -> None:
    assert [m.leaf_hash(x).hex() for x in LEAVES] == V["leaf_hashes"]


@pytest.mark.parametrize("vec", V["inclusion"], ids=lambda v: f"{v['leaf']}-{v['size']}")
def test_reference_inclusion(vec: dict[str, object]) -> None:
    idx, size = int(vec["leaf"]) - 1, int(vec["size"])  # type: ignore[call-overload]
    proof = [bytes.fromhex(h) for h in vec["proof"]]  # type: ignore[attr-defined]
    assert hashes_for(m.inclusion_ranges(idx, size), LEAVES[:size]) == proof
    m.verify_inclusion(idx, size, m.leaf_hash(LEAVES[idx]), proof, ROOTS[size - 1])


@pytest.mark.parametrize("vec", V["consistency"], ids=lambda v: f"{v['old']}-{v['new']}")
def test_reference_consistency(vec: dict[str, object]) -> None:
    old, new = int(vec["old"]), int(vec["new"])  # type: ignore[call-overload]
    proof = [bytes.fromhex(h) for h in vec["proof"]]  # type: ignore[attr-defined]
    assert hashes_for(m.consistency_ranges(old, new), LEAVES[:new]) == proof
    m.verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


# -- corrupted proofs must fail (probes after the Go verifier tests) -----------------------
def inclusion_probes(idx: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):  # type: ignore[no-untyped-def]
    yield idx - 1, size, proof, root, leaf
    yield idx + 1, size, proof, root, leaf
    yield idx ^ 2, size, proof, root, leaf
    yield idx, size * 2, proof, root, leaf
    yield idx, size // 2, proof, root, leaf
    yield idx, size, proof, root, hashlib.sha256(b"WrongLeaf").digest()
    yield idx, size, proof, m.EMPTY_ROOT, leaf
    yield idx, size, proof, SOME, leaf
    yield idx, size, [*proof, b""], root, leaf
    yield idx, size, [*proof, root], root, leaf
    yield idx, size, [root, *proof], root, leaf
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield idx, size, bad, root, leaf
    if proof:
        yield idx, size, proof[:-1], root, leaf


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 32, 33])
def test_corrupted_inclusion_fails(size: int) -> None:
    data = gen(size)
    root = naive_mth(data)
    for idx in range(size):
        leaf = m.leaf_hash(data[idx])
        proof = naive_path(idx, data)
        m.verify_inclusion(idx, size, leaf, proof, root)
        for probe in inclusion_probes(idx, size, proof, root, leaf):
            if probe == (idx, size, proof, root, leaf):
                continue
            p_idx, p_size, p_proof, p_root, p_leaf = probe
            with pytest.raises(VerificationError):
                m.verify_inclusion(p_idx, p_size, p_leaf, p_proof, p_root)


@pytest.mark.parametrize(("old", "new"), [(1, 2), (2, 5), (3, 7), (4, 8), (6, 8), (5, 13), (7, 33)])
def test_corrupted_consistency_fails(old: int, new: int) -> None:
    data = gen(new)
    r1, r2 = naive_mth(data[:old]), naive_mth(data[:new])
    proof = naive_subproof(old, data, True)
    m.verify_consistency(old, new, r1, r2, proof)
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, SOME, r2, proof),
        (old, new, r1, SOME, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((old, new, r1, r2, bad))
    for p in probes:
        if p[0] == old and p[1] == new and p[2:] == (r1, r2, proof):
            continue
        with pytest.raises(VerificationError):
            m.verify_consistency(*p)


def test_trivial_consistency() -> None:
    m.verify_consistency(0, 0, SOME, SOME, [])
    m.verify_consistency(0, 5, SOME, m.EMPTY_ROOT, [])
    m.verify_consistency(3, 3, SOME, SOME, [])
    with pytest.raises(VerificationError):
        m.verify_consistency(3, 3, SOME, m.EMPTY_ROOT, [])
    with pytest.raises(VerificationError):
        m.verify_consistency(0, 3, SOME, SOME, [SOME])
    with pytest.raises(VerificationError):
        m.verify_consistency(4, 3, SOME, SOME, [])


def test_bad_shapes() -> None:
    with pytest.raises(VerificationError):
        m.verify_inclusion(0, 0, SOME, [], SOME)
    with pytest.raises(VerificationError):
        m.verify_inclusion(0, 1, SOME, [b"short"], SOME)
    with pytest.raises(VerificationError):
        m.verify_inclusion(0, 1 << 70, SOME, [SOME] * 64, SOME)
    with pytest.raises(ValueError):
        m.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        m.consistency_ranges(4, 3)


# -- exhaustive small sizes and hypothesis properties against the naive definitions --------
def test_exhaustive_small_trees() -> None:
    data = gen(40)
    for n in range(1, 41):
        root = naive_mth(data[:n])
        assert m.mth([m.leaf_hash(x) for x in data[:n]]) == root
        for i in range(n):
            proof = hashes_for(m.inclusion_ranges(i, n), data[:n])
            assert proof == naive_path(i, data[:n])
            assert m.root_from_inclusion(i, n, m.leaf_hash(data[i]), proof) == root
        for old in range(1, n + 1):
            proof = hashes_for(m.consistency_ranges(old, n), data[:n])
            assert proof == naive_subproof(old, data[:n], True)
            m.verify_consistency(old, n, naive_mth(data[:old]), root, proof)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_property_proofs(n: int, draw: st.DataObject) -> None:
    leaves = [m.leaf_hash(b"%d" % i) for i in range(n)]
    levels = [leaves]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([m.node_hash(prev[j], prev[j + 1]) for j in range(0, len(prev) - 1, 2)])

    def get(node: m.NodeId) -> bytes:
        return levels[node.level][node.index]

    hash_range = m.subtree_hash_fn(get)
    root = m.mth(leaves)
    assert hash_range(0, n) == root
    i = draw.draw(st.integers(0, n - 1))
    proof = [hash_range(a, b) for a, b in m.inclusion_ranges(i, n)]
    m.verify_inclusion(i, n, leaves[i], proof, root)
    old = draw.draw(st.integers(0, n))
    cproof = [hash_range(a, b) for a, b in m.consistency_ranges(old, n)]
    m.verify_consistency(old, n, m.mth(leaves[:old]), root, cproof)
    if 0 < old < n:
        with pytest.raises(VerificationError):
            m.verify_consistency(old, n, m.mth([*leaves[: old - 1], SOME]), root, cproof)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=80))
def test_property_compact_range(items: list[bytes]) -> None:
    cr = m.CompactRange()
    completed = {}
    for i, x in enumerate(items):
        done = cr.append(m.leaf_hash(x))
        for level, h in enumerate(done):
            completed[m.NodeId(level, ((i + 1) >> level) - 1)] = h
        assert cr.root() == naive_mth(items[: i + 1])
    for node, h in completed.items():
        lo = node.index << node.level
        assert h == naive_mth(items[lo : lo + (1 << node.level)])
    nodes = m.CompactRange.nodes_for(len(items))
    again = m.CompactRange(len(items), [completed[n] for n in nodes])
    assert again.root() == cr.root()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 600), st.lists(st.integers(1, 300), max_size=5))
def test_property_append_many_is_append_leaf_by_leaf(before: int, batches: list[int]) -> None:
    """The level-by-level batch append gives every leaf the blob, and the edge the hashes,
    that appending one leaf at a time gives (any start size, any batch sizes)."""
    leaves = [m.leaf_hash(b"%d" % i) for i in range(before + sum(batches))]
    one, many = m.CompactRange(), m.CompactRange()
    for h in leaves[:before]:
        one.append(h)
    many.append_many(leaves[:before])
    assert many.hashes() == one.hashes()
    start = before
    for n in batches:
        blobs = many.append_many(leaves[start : start + n])
        assert blobs == [b"".join(one.append(h)) for h in leaves[start : start + n]]
        assert (many.size, many.hashes()) == (one.size, one.hashes())
        start += n
    assert many.root() == one.root() == m.mth(leaves)
