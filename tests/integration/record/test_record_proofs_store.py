"""Proofs served from a real SQLite store (with and without the node cache) against the RFC 9162
reference computed from the leaves alone; a store that loses nodes or shrinks."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.errors import StoreError
from warden.record import AuditLog, LogReader
from warden.record.merkle import NodeId, verify_consistency, verify_inclusion
from warden.record.proofs import (
    NodeCache,
    consistency_proof,
    inclusion_proof,
    leaf_hash_at,
    root_at,
)
from warden.record.store.base import node_location
from warden.record.store.sqlite import SQLiteStore

N = 300


# -- the recursive definitions of RFC 9162 §2.1, over leaf hashes ---------------------------
def ref_mth(h: list[bytes]) -> bytes:
    if not h:
        return hashlib.sha256(b"").digest()
    if len(h) == 1:
        return h[0]
    k = 1 << ((len(h) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + ref_mth(h[:k]) + ref_mth(h[k:])).digest()


def ref_path(i: int, h: list[bytes]) -> list[bytes]:
    if len(h) == 1:
        return []
    k = 1 << ((len(h) - 1).bit_length() - 1)
    if i < k:
        return [*ref_path(i, h[:k]), ref_mth(h[k:])]
    return [*ref_path(i - k, h[k:]), ref_mth(h[:k])]


def ref_subproof(m: int, h: list[bytes], whole: bool) -> list[bytes]:
    if m == len(h):
        return [] if whole else [ref_mth(h)]
    k = 1 << ((len(h) - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, h[:k], whole), ref_mth(h[k:])]
    return [*ref_subproof(m - k, h[k:], False), ref_mth(h[:k])]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LogReader, list[bytes]]]:
    db = tmp_path_factory.mktemp("proofs") / "audit.db"
    with AuditLog.open(db) as log:
        for i in range(0, N, 37):  # several commits: node blobs written across batches
            for j in range(i, min(i + 37, N)):
                log.append_nowait({"type": "t", "n": j})
            log.append({"type": "t", "n": -i})
    reader = LogReader.open(db)
    leaves = [hashlib.sha256(b"\x00" + reader.leaf(i)).digest() for i in range(reader.size())]
    yield reader, leaves
    reader.close()


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(0, 8), st.sampled_from([0, 3, 40, 1 << 16]))
def test_store_proofs_match_reference(
    tree: tuple[LogReader, list[bytes]], draw: st.DataObject, min_level: int, limit: int
) -> None:
    reader, leaves = tree
    cache = NodeCache(min_level, limit)
    for _ in range(3):  # the same cache across proofs: hits, misses and clears
        size = draw.draw(st.integers(1, len(leaves)))
        i = draw.draw(st.integers(0, size - 1))
        old = draw.draw(st.integers(0, size))
        root = ref_mth(leaves[:size])
        for c in (None, cache):
            proof = inclusion_proof(reader.store, i, size, c)
            assert proof == ref_path(i, leaves[:size])
            verify_inclusion(i, size, leaves[i], proof, root)
            cproof = consistency_proof(reader.store, old, size, c)
            assert cproof == (ref_subproof(old, leaves[:size], True) if 0 < old < size else [])
            verify_consistency(old, size, ref_mth(leaves[:old]), root, cproof)
            assert root_at(reader.store, size, c) == root
        assert leaf_hash_at(reader.store, i) == leaves[i]
        assert len(cache) <= max(limit, 64)  # cleared before it would pass the limit


def test_reader_proofs_use_the_cache(tree: tuple[LogReader, list[bytes]]) -> None:
    reader, leaves = tree
    n = len(leaves)
    fresh = LogReader(reader.store)
    for i in range(n):
        assert fresh.inclusion_proof(i, n) == ref_path(i, leaves)
    assert len(fresh.node_cache) > 0  # levels >= 8 exist in a tree of 301 leaves
    for i in range(n):  # served again, partly from the cache: same bytes
        assert fresh.inclusion_proof(i, n) == ref_path(i, leaves)
        assert fresh.consistency_proof(i, n) == (ref_subproof(i, leaves, True) if i else [])


def test_cache_dropped_when_the_store_shrinks() -> None:
    cache = NodeCache(0)
    cache._hashes[1] = b"x" * 32
    cache.observe_size(10)
    cache.observe_size(10)
    assert len(cache) == 1
    cache.observe_size(9)
    assert len(cache) == 0


def test_missing_node_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    with AuditLog.open(db) as log:
        for j in range(20):
            log.append_nowait({"n": j})
        log.append_nowait({"n": 20}).result()
    row, _ = node_location(NodeId(2, 1))  # leaves 4..7: entry 7 holds it
    conn = sqlite3.connect(db)
    conn.execute("UPDATE entries SET nodes = substr(nodes, 1, 32) WHERE idx = ?", (row,))
    conn.commit()
    conn.close()
    store = SQLiteStore(db)
    try:
        assert store.node_hashes([(row, 64), (row, 0)])[0] is None
        with pytest.raises(StoreError, match=r"NodeId\(level=2, index=1\) is missing"):
            inclusion_proof(store, 0, 16, NodeCache(0))
    finally:
        store.close()
