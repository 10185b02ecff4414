"""Fast full re-hash of a stored log: whole chunks at a time, list comprehensions, no per-row
Python logic beyond one SHA-256 per leaf and per interior node (the floor in CPython).

Chunks are ``2**CHUNK_LEVEL`` entries aligned on that size, so each chunk is a forest of
complete subtrees computed level by level; the edge of the tree above the chunks is a
:class:`~warden.record.merkle.CompactRange` of chunk roots. For every chunk it checks, in bulk:
row count (deletions), stored leaf hashes and node blobs (edits, moves), payload digests, and the
root at every checkpoint size inside the chunk.

It only says *whether* the log is intact; :mod:`warden.record.verify` re-runs its row-by-row
pass to say *where* and *what* when this one reports a problem.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Collection
from dataclasses import dataclass
from operator import itemgetter

from warden.record.entry import Payload, payload_digest
from warden.record.merkle import EMPTY_ROOT, HASH_SIZE, CompactRange, fold_nodes
from warden.record.store.base import AuditStore

__all__ = ["CHUNK_LEVEL", "RehashResult", "rehash"]

#: 65,536 entries a chunk: ~20 MB of rows in memory, and few enough Python-level iterations.
CHUNK_LEVEL = 16
_sha256 = hashlib.sha256
_first, _second = itemgetter(0), itemgetter(1)


def _blob_lengths(chunk: int) -> list[int]:
    """Node blob length of the j-th entry of an aligned chunk (its last entry aside)."""
    return [HASH_SIZE * ((j + 1) & -(j + 1)).bit_length() for j in range(chunk)]


_LENS = _blob_lengths(1 << CHUNK_LEVEL)


@dataclass(frozen=True, slots=True)
class RehashResult:
    ok: bool
    size: int
    roots: dict[int, bytes]
    problem: str = ""


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    levels = [leaves]
    cur = leaves
    while len(cur) > 1:
        it = iter(cur)
        cur = [_sha256(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=False)]
        levels.append(cur)
    return levels


def _root_in(outer: list[bytes], levels: list[list[bytes]], k: int) -> bytes:
    """Root of the tree made of the outer edge plus the first ``k`` leaves of the chunk."""
    hashes = list(outer)
    off = 0
    for level in range(k.bit_length() - 1, -1, -1):
        if k >> level & 1:
            hashes.append(levels[level][off >> level])
            off += 1 << level
    return fold_nodes(hashes) if hashes else EMPTY_ROOT


def rehash(
    store: AuditStore,
    size: int,
    sizes: Collection[int],
    payloads: dict[int, Payload],
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk_level: int = CHUNK_LEVEL,
) -> RehashResult:
    """Recompute every hash of the first ``size`` entries; roots at ``sizes`` come back."""
    chunk = 1 << chunk_level
    lens = _LENS if chunk_level == CHUNK_LEVEL else _blob_lengths(chunk)
    wanted = sorted(s for s in sizes if 0 < s <= size)
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    outer = CompactRange()
    for c in range(0, size, chunk):
        m = min(chunk, size - c)
        rows = store.entries_bulk(c, c + m)
        bad = _check_chunk(rows, c, m, chunk, chunk_level, lens, payloads, outer, wanted, roots)
        if bad:
            return RehashResult(False, size, roots, bad)
        if progress is not None:
            progress(c + m, size)
    return RehashResult(True, size, roots)


def _check_chunk(
    rows: list[tuple[bytes, bytes]],
    c: int,
    m: int,
    chunk: int,
    chunk_level: int,
    lens: list[int],
    payloads: dict[int, Payload],
    outer: CompactRange,
    wanted: list[int],
    roots: dict[int, bytes],
) -> str:
    """Check one chunk and extend ``outer`` and ``roots``; return a problem or ``""``."""
    if len(rows) != m:
        return f"rows missing in {c}..{c + m - 1}"
    datas, blobs = rows_split(rows)
    leaves = [_sha256(b"\x00" + d).digest() for d in datas]
    if [b[:HASH_SIZE] for b in blobs] != leaves:
        return "a leaf hash differs"
    levels = _levels(leaves)
    full = m == chunk
    last = m - 1 if full else m
    if list(map(len, blobs[:last])) != lens[:last]:
        return "a node blob has the wrong shape"
    for lvl in range(1, len(levels)):
        step = 1 << lvl
        off = HASH_SIZE * lvl
        stored = [b[off : off + HASH_SIZE] for b in blobs[step - 1 : last : step]]
        if stored != levels[lvl][: len(stored)]:
            return f"a level-{lvl} node differs"
    for i, pay in payloads.items():
        if c <= i < c + m:
            d = datas[i - c]
            p = d.find(b'"payload":"')
            if p < 0 or d[p + 11 : p + 75] != payload_digest(pay.salt, pay.body).encode():
                return f"payload {i} differs"
    base = outer.hashes()
    for s in wanted[bisect_right(wanted, c) : bisect_right(wanted, c + m)]:
        roots[s] = _root_in(base, levels, s - c)
    if full:
        higher = outer.append_subtree(levels[chunk_level][0], chunk_level)
        expect = b"".join([leaves[-1], *(lv[-1] for lv in levels[1:]), *higher])
        if blobs[-1] != expect:
            return "the last node blob of a chunk differs"
    return ""


def rows_split(rows: list[tuple[bytes, bytes]]) -> tuple[list[bytes], list[bytes]]:
    return list(map(_first, rows)), list(map(_second, rows))
