"""Proofs and roots read from a store: O(log n) node reads, one query per proof.

A proof is a list of leaf ranges (:func:`~warden.record.merkle.inclusion_ranges`,
:func:`~warden.record.merkle.consistency_ranges`); each range is a few complete subtrees, and a
complete subtree's hash sits at a known ``(entry index, byte offset)`` of the store
(:func:`~warden.record.store.base.node_location`). The plan is computed with plain integers
(no :class:`~warden.record.merkle.NodeId` objects: they cost ~40 us of a proof's ~300 us at 1M
entries) and the hashes are read with one statement (:meth:`AuditStore.node_hashes`).

:class:`NodeCache` keeps the hashes of the *upper* complete subtrees a reader has already read.
A complete subtree never changes once written (the store is append-only and a node covers only
leaves that exist), so a cached hash is the very hash the store would return; with it a proof at
1M entries reads ~9-12 rows instead of ~24 (each ~3 us of SQLite's b-tree descent). The cache is
bounded (:data:`CACHE_NODES`), exact, per reader, and used only for *serving* proofs: full
verification (:mod:`warden.record.verify`) never reads through it, so tampering with a stored
node is still found there. If the store shrinks under a reader (a rollback) the cache is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from warden.errors import StoreError
from warden.record.merkle import (
    HASH_SIZE,
    CompactRange,
    NodeId,
    consistency_ranges,
    fold_nodes,
    inclusion_ranges,
)
from warden.record.store.base import AuditStore

__all__ = [
    "CACHE_MIN_LEVEL",
    "CACHE_NODES",
    "NodeCache",
    "compact_range",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash_at",
    "root_at",
]

#: Lowest level a :class:`NodeCache` keeps: subtrees of 256 leaves and up, ~2 nodes per 256
#: entries (~8k hashes at 1M entries, ~1 MB), so a few thousand proofs warm it.
CACHE_MIN_LEVEL = 8
#: Most hashes a :class:`NodeCache` holds (~120 bytes each with the dict slot and key): it is
#: cleared when full, which keeps it exact and bounded (a tree of 2**23 entries has 2**16 nodes
#: at levels >= 8).
CACHE_NODES = 1 << 16


class NodeCache:
    """Hashes of complete subtrees at level >= ``min_level`` read so far (see the module doc)."""

    __slots__ = ("_hashes", "_size", "limit", "min_level")

    def __init__(self, min_level: int = CACHE_MIN_LEVEL, limit: int = CACHE_NODES) -> None:
        self.min_level = min_level
        self.limit = limit
        self._hashes: dict[int, bytes] = {}
        self._size = 0

    def __len__(self) -> int:
        return len(self._hashes)

    def observe_size(self, size: int) -> None:
        """Tell the cache the store's current size: a store that shrank drops it."""
        if size < self._size:
            self._hashes.clear()
        self._size = size

    def clear(self) -> None:
        self._hashes.clear()


def _plan(ranges: Sequence[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """The complete subtrees covering each range, as keys ``row << 6 | level``, all in one list,
    and each range's slice of that list.

    :func:`~warden.record.merkle.range_nodes` in integers: the subtree at ``start`` is the
    largest power of two that fits the range and divides ``start``; its hash is at offset
    ``32 * level`` of the node blob of its last leaf, ``row`` (levels are below 64).
    """
    keys: list[int] = []
    spans = []
    for start, end in ranges:
        first = len(keys)
        while start < end:
            size = 1 << ((end - start).bit_length() - 1)
            low = start & -start
            if low and low < size:
                size = low
            start += size
            keys.append((start - 1) << 6 | (size.bit_length() - 1))
        spans.append((first, len(keys)))
    return keys, spans


_NO_CACHE: dict[int, bytes] = {}


def _range_hashes(
    store: AuditStore, ranges: Sequence[tuple[int, int]], cache: NodeCache | None = None
) -> list[bytes]:
    keys, spans = _plan(ranges)
    cached = cache._hashes if cache is not None else _NO_CACHE
    hashes = list(map(cached.get, keys))  # levels below min_level are never in it
    need = [k for k, h in zip(keys, hashes, strict=True) if h is None]
    if need:
        got = store.node_hashes([(k >> 6, (k & 63) * HASH_SIZE) for k in need])
        if None in got:
            k = need[got.index(None)]
            row, level = k >> 6, k & 63
            first = NodeId(level, ((row + 1) >> level) - 1)
            raise StoreError(f"tree node {first} is missing from the store (damaged or truncated)")
        fresh = dict(zip(need, got, strict=True))
        hashes = [fresh[k] if h is None else h for k, h in zip(keys, hashes, strict=True)]
        if cache is not None:
            if len(cached) + len(need) > cache.limit:
                cached.clear()
            min_level = cache.min_level
            for k, h in fresh.items():
                if k & 63 >= min_level:
                    cached[k] = h  # type: ignore[assignment]
    return [
        hashes[a] if b - a == 1 else fold_nodes(hashes[a:b])  # type: ignore[misc,arg-type]
        for a, b in spans
    ]


def inclusion_proof(
    store: AuditStore, index: int, size: int, cache: NodeCache | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.3.1 audit path of leaf ``index`` in the tree of ``size`` leaves."""
    return _range_hashes(store, inclusion_ranges(index, size), cache)


def consistency_proof(
    store: AuditStore, old: int, new: int, cache: NodeCache | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof from ``old`` to ``new`` leaves."""
    return _range_hashes(store, consistency_ranges(old, new), cache)


def root_at(store: AuditStore, size: int, cache: NodeCache | None = None) -> bytes:
    """The Merkle Tree Hash of the first ``size`` leaves, from stored subtrees."""
    return _range_hashes(store, [(0, size)], cache)[0]


def leaf_hash_at(store: AuditStore, index: int) -> bytes:
    return _range_hashes(store, [(index, index + 1)])[0]


def compact_range(store: AuditStore, size: int) -> CompactRange:
    """The right edge of the stored tree of ``size`` leaves, to continue appending."""
    nodes: list[NodeId] = CompactRange.nodes_for(size)
    got = store.nodes(nodes)
    if len(got) != len(nodes):
        raise StoreError("tree nodes are missing from the store (damaged or truncated)")
    return CompactRange(size, [got[n] for n in nodes])
