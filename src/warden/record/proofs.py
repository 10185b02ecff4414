"""Proofs and roots read from a store: O(log n) node reads, one query per proof."""

from __future__ import annotations

from collections.abc import Sequence

from warden.errors import StoreError
from warden.record.merkle import (
    CompactRange,
    NodeId,
    consistency_ranges,
    fold_nodes,
    inclusion_ranges,
    range_nodes,
)
from warden.record.store.base import AuditStore

__all__ = ["compact_range", "consistency_proof", "inclusion_proof", "leaf_hash_at", "root_at"]


def _range_hashes(store: AuditStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    plans = [range_nodes(a, b) for a, b in ranges]
    wanted = {node for plan in plans for node in plan}
    got = store.nodes(wanted)
    missing = wanted - got.keys()
    if missing:
        first = min(missing, key=lambda n: n.index << n.level)
        raise StoreError(f"tree node {first} is missing from the store (damaged or truncated)")
    return [fold_nodes([got[n] for n in plan]) for plan in plans]


def inclusion_proof(store: AuditStore, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 audit path of leaf ``index`` in the tree of ``size`` leaves."""
    return _range_hashes(store, inclusion_ranges(index, size))


def consistency_proof(store: AuditStore, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof from ``old`` to ``new`` leaves."""
    return _range_hashes(store, consistency_ranges(old, new))


def root_at(store: AuditStore, size: int) -> bytes:
    """The Merkle Tree Hash of the first ``size`` leaves, from stored subtrees."""
    return _range_hashes(store, [(0, size)])[0]


def leaf_hash_at(store: AuditStore, index: int) -> bytes:
    return _range_hashes(store, [(index, index + 1)])[0]


def compact_range(store: AuditStore, size: int) -> CompactRange:
    """The right edge of the stored tree of ``size`` leaves, to continue appending."""
    nodes: list[NodeId] = CompactRange.nodes_for(size)
    got = store.nodes(nodes)
    if len(got) != len(nodes):
        raise StoreError("tree nodes are missing from the store (damaged or truncated)")
    return CompactRange(size, [got[n] for n in nodes])
