"""The Merkle tree of RFC 9162 (Certificate Transparency v2; same hashing as RFC 6962).

Small pure functions, each citing the section it implements. Hashes are SHA-256 with the
domain-separation prefixes of RFC 9162 §2.1.1: ``0x00`` for leaves, ``0x01`` for interior nodes.

Proof *generation* is split in two so that a store can answer it with one query: the
``*_ranges`` functions name the leaf ranges ``[start, end)`` whose Merkle Tree Hash (MTH) forms the
proof, :func:`range_nodes` decomposes a range into complete subtrees (the only hashes a store
keeps), and :func:`fold_nodes` folds those back into the range's MTH.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from warden.errors import VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_PROOF_LENGTH",
    "CompactRange",
    "NodeId",
    "consistency_ranges",
    "fold_nodes",
    "inclusion_ranges",
    "leaf_hash",
    "mth",
    "node_hash",
    "range_nodes",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: A tree of at most 2**63 leaves has proofs of at most 63 hashes (c2sp.org/tlog-witness also
#: caps consistency proofs at 63 lines); anything longer is malformed, not just wrong.
MAX_PROOF_LENGTH = 63
#: RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256

#: The optional C extension (``_native.c``, built by setup.py): the same tree folding with the
#: GIL released, for the audit writer's batches. None when it was not built: the Python below
#: computes the same blobs (a property test compares the two).
_native_fold: Callable[[int, list[bytes], list[bytes]], list[bytes]] | None
try:
    from warden.record._native import fold as _native_fold
except ImportError:  # pragma: no cover - depends on the build
    _native_fold = None


@dataclass(frozen=True, slots=True)
class NodeId:
    """A complete subtree: ``2**level`` leaves starting at leaf ``index * 2**level``."""

    level: int
    index: int


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH({d0}) = SHA-256(0x00 || d0)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SHA-256(0x01 || MTH(left) || MTH(right))``."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``), the ``k`` of RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 Merkle Tree Hash of a list of *leaf hashes*, iteratively (level by level).

    Pairing left to right and promoting an odd last node unchanged yields exactly the
    recursive definition, because the left subtree of every split is a complete power of two.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        it = iter(level)
        nxt = [_sha256(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 ``PATH(m, D[n])`` as the leaf ranges whose MTH make the audit path.

    Ordered from the leaf upwards, as the proof is sent.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    out: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m = start + k, m - k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 ``PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`` as leaf ranges.

    Empty when ``old == new`` or ``old == 0`` (nothing to prove; c2sp.org/tlog-witness requires
    the proof from size 0 to be empty).
    """
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    out: list[tuple[int, int]] = []
    start, end, m, whole = 0, new, old, True
    while True:
        n = end - start
        if m == n:  # SUBPROOF(m, D[m], b): {} if b, else {MTH(D[m])}
            if not whole:
                out.append((start, end))
            break
        k = _split(n)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            out.append((start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            out.append((start, start + k))
            start, m, whole = start + k, m - k, False
    out.reverse()
    return out


def range_nodes(start: int, end: int) -> list[NodeId]:
    """Decompose the leaf range ``[start, end)`` into complete subtrees, left to right.

    Every range produced by the RFC 9162 recursion starts at a multiple of the largest power of
    two not above its length, so the greedy split yields aligned complete subtrees.
    """
    out: list[NodeId] = []
    while start < end:
        size = 1 << ((end - start).bit_length() - 1)
        while start % size:
            size >>= 1
        level = size.bit_length() - 1
        out.append(NodeId(level, start >> level))
        start += size
    return out


def fold_nodes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its complete subtrees (as :func:`range_nodes` lists them).

    The recursion of RFC 9162 §2.1.1 always splits off the largest complete left subtree, so the
    range hash is the right fold ``node(h0, node(h1, ... node(h_{k-2}, h_{k-1})))``.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = _sha256(b"\x01" + h + acc).digest()
    return acc


def _check_hashes(proof: Sequence[bytes], *hashes: bytes) -> None:
    if len(proof) > MAX_PROOF_LENGTH:
        raise VerificationError(f"proof has {len(proof)} hashes (more than {MAX_PROOF_LENGTH})")
    if not (_HASH_LEN.issuperset(map(len, proof)) and _HASH_LEN.issuperset(map(len, hashes))):
        bad = next(len(h) for h in (*proof, *hashes) if len(h) != HASH_SIZE)
        raise VerificationError(f"hash of {bad} bytes in proof (expected {HASH_SIZE})")


_HASH_LEN = frozenset((HASH_SIZE,))  # a C-level length check, not a Python loop per hash
#: SHA-256 having absorbed the node prefix 0x01 (RFC 9162 §2.1.1). The proof verifiers copy it
#: per node instead of building ``0x01 || left || right`` and a new hash object: copying a
#: started state skips OpenSSL's digest set-up and two concatenations (~10 % of a verification).
_NODE_PREFIX = _sha256(b"\x01")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1-4: the root an inclusion proof leads to (fails on bad shape)."""
    _check_hashes(proof, leaf)
    if not 0 <= index < size:  # step 1
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf  # steps 2-3
    node = _NODE_PREFIX.copy  # see _NODE_PREFIX
    for p in proof:  # step 4
        if sn == 0:  # 4a
            raise VerificationError("inclusion proof is too long")
        h = node()
        if fn & 1 or fn == sn:  # 4b
            h.update(p)
            h.update(r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            h.update(r)
            h.update(p)
        r = h.digest()
        fn >>= 1  # 4c
        sn >>= 1
    if sn != 0:  # step 5, first half
        raise VerificationError("inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise :class:`VerificationError` unless ``leaf`` is at ``index``."""
    if len(root) != HASH_SIZE:
        raise VerificationError("root hash has the wrong length")
    if root_from_inclusion(index, size, leaf, proof) != root:  # step 5, second half
        raise VerificationError(f"inclusion proof of leaf {index} does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`VerificationError` unless ``old`` is a prefix of ``new``.

    The trivial cases follow RFC 9162 §2.1.4.1: from size 0 or to the same size the proof is
    empty (and equal sizes need equal roots).

    Hashing is the cost (~28 nodes at 1M entries): step 6b absorbs ``0x01 || c`` once and
    copies that state for its two hashes (see :data:`_NODE_PREFIX`).
    """
    _check_hashes(proof, old_root, new_root)
    if not 0 <= old <= new:
        raise VerificationError(f"tree shrank from size {old} to size {new}")
    if old == 0 or old == new:
        if proof:
            raise VerificationError("consistency proof must be empty")
        if old == new and old_root != new_root:
            raise VerificationError(f"two different roots for tree size {new}")
        return
    if not proof:  # step 1
        raise VerificationError("consistency proof is empty")
    # step 2: an exact power of two as old size starts the path with its root
    path = [old_root, *proof] if old & (old - 1) == 0 else list(proof)
    fn, sn = old - 1, new - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    node = _NODE_PREFIX.copy
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            raise VerificationError("consistency proof is too long")
        h = node()
        if fn & 1 or fn == sn:  # 6b
            h.update(c)
            g = h.copy()
            g.update(fr)
            fr = g.digest()
            h.update(sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            h.update(sr)
            h.update(c)
        sr = h.digest()
        fn >>= 1  # 6c
        sn >>= 1
    if sn != 0:  # step 7
        raise VerificationError("consistency proof is too short")
    if fr != old_root:
        raise VerificationError(f"consistency proof does not match the root of size {old}")
    if sr != new_root:
        raise VerificationError(f"consistency proof does not match the root of size {new}")

#: Batches this large or larger take :meth:`CompactRange.append_many`'s level-by-level path;
#: smaller ones go leaf by leaf (measured: 1 leaf 1.3 vs 5.5 us, 64 leaves ~1.0 us a leaf
#: either way, 512 leaves 0.96 vs 0.70 us a leaf).
LEVELWISE_MIN = 64

class CompactRange:
    """The right edge of a growing tree: the complete subtrees covering leaves ``[0, size)``.

    Appending a leaf merges equal-sized subtrees (the binary carry of ``size + 1``) and reports
    the subtrees it completed, which a store keeps so that any proof needs only O(log n) reads.
    """

    __slots__ = ("_stack", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError("a compact range has one hash per set bit of its size")
        self.size = size
        self._stack = list(hashes)

    @staticmethod
    def nodes_for(size: int) -> list[NodeId]:
        """The complete subtrees whose hashes make the compact range of ``size`` leaves."""
        return range_nodes(0, size)

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; return ``[leaf, level-1 parent, ...]`` for every completed subtree."""
        done = [leaf]
        stack = self._stack
        h = leaf
        n = self.size
        while n & 1:
            h = _sha256(b"\x01" + stack.pop() + h).digest()
            done.append(h)
            n >>= 1
        stack.append(h)
        self.size += 1
        return done

    def append_many(self, leaves: Sequence[bytes]) -> list[bytes]:
        """:meth:`append` for a batch; returns each leaf's node blob (its hashes, joined).

        Computed level by level, as :func:`mth` does: each level's new nodes are one list
        comprehension over pairs (the first paired with the edge's subtree of that level when
        the level starts at an odd node), and each node is appended to the blob of the leaf
        that completes it, ``2**(level+1)`` leaves apart (a slice of the blob list). The
        result is :meth:`append` leaf by leaf (a property test checks it), with one Python
        loop per level instead of one per leaf: the writer's tree work per entry fell by
        ~1/5 (docs/audit.md section 9). Each level costs ~1 us of fixed overhead, so a
        batch under :data:`LEVELWISE_MIN` leaves (a lone acknowledged append commits one)
        is appended leaf by leaf instead. With the C extension built, the whole batch is
        folded in C, leaf by leaf, with the GIL released from 32 leaves on (docs/audit.md §5).
        """
        if _native_fold is not None:
            blobs = _native_fold(self.size, self._stack, list(leaves))
            self.size += len(leaves)
            return blobs
        if len(leaves) < LEVELWISE_MIN:
            return [b"".join(self.append(h)) for h in leaves]
        stack = self._stack
        first = self.size
        blobs = list(leaves)
        cur: Sequence[bytes] = leaves
        level = 0
        rest: list[bytes] = []  # an unpaired last node of a level joins the edge (low first)
        while cur:
            start = first >> level  # node index of cur[0] at this level
            if start & 1:  # its left sibling is the edge's subtree of this level
                cur = [stack.pop(), *cur]
                start -= 1
            it = iter(cur)
            up = [_sha256(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=False)]
            if len(cur) & 1:
                rest.append(cur[-1])
            if up:  # parent k completes at leaf ((start / 2 + k + 1) << (level + 1)) - 1
                step = 2 << level
                j = ((start >> 1) + 1) * step - 1 - first
                blobs[j::step] = [b + h for b, h in zip(blobs[j::step], up, strict=True)]
            cur = up
            level += 1
        rest.reverse()
        stack += rest
        self.size = first + len(leaves)
        return blobs

    def append_subtree(self, h: bytes, level: int) -> list[bytes]:
        """Add a complete subtree of ``2**level`` leaves (``size`` must be a multiple of it).

        Returns the hashes of the higher subtrees it completed (levels ``level + 1``, ...).
        """
        if self.size % (1 << level):
            raise ValueError("subtree is not aligned with the tree edge")
        done = []
        n = self.size >> level
        while n & 1:
            h = _sha256(b"\x01" + self._stack.pop() + h).digest()
            done.append(h)
            n >>= 1
        self._stack.append(h)
        self.size += 1 << level
        return done

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves so far (RFC 9162 §2.1.1)."""
        return fold_nodes(self._stack)

    def hashes(self) -> list[bytes]:
        return list(self._stack)

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._stack)


def subtree_hash_fn(get: Callable[[NodeId], bytes]) -> Callable[[int, int], bytes]:
    """Adapt a complete-subtree lookup to an MTH-of-any-range function (for tests and tools)."""

    def hash_range(start: int, end: int) -> bytes:
        return fold_nodes([get(n) for n in range_nodes(start, end)])

    return hash_range
