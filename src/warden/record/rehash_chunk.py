"""Re-hash one aligned chunk of a stored log, and the helper process that does it in parallel.

This module imports nothing but the standard library, so that :mod:`warden.record.rehash` can
run it as a second process (``python -I rehash_chunk.py DB``) that starts in ~30 ms instead of
the ~200 ms importing :mod:`warden.record` takes: full verification is bound by CPython's
per-call cost of SHA-256 (~0.55 µs a hash, two hashes an entry) and reading rows, so on two
cores the only way to go faster is to hash two chunks at once.

A chunk is ``2**level`` entries starting at a multiple of that size, so its entries form a
forest of complete subtrees that needs nothing from outside the chunk: it is computed level by
level, and every stored node blob is compared in one ``bytes`` comparison against the expected
blobs joined in a precomputed order. Only the last blob of a full chunk holds hashes above the
chunk (which depend on the chunks before it); it is returned for the caller to check.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote

__all__ = [
    "LEAF_ROWS_SQL",
    "ChunkSummary",
    "check_chunk",
    "decode_result",
    "encode_result",
    "serve",
]

HASH_SIZE = 32
#: Leaf hash inputs (``0x00 || leaf bytes``, concatenated by SQLite, saving a Python-level
#: concatenation per entry) and node blobs of ``[?, ?)``, in index order. ``CAST`` turns any
#: stored type (an edit may store TEXT, INTEGER or NULL) into the bytes that get hashed.
LEAF_ROWS_SQL = (
    "SELECT CAST(x'00' || data AS BLOB), CAST(nodes AS BLOB) FROM entries"
    " WHERE idx >= ? AND idx < ? ORDER BY idx"
)
PAYLOADS_SQL = (
    "SELECT idx, CAST(salt AS BLOB), CAST(body AS BLOB) FROM payloads WHERE idx >= ? AND idx < ?"
)
_PAYLOAD_KEY = b'"payload":"'
_sha256 = hashlib.sha256
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class ChunkSummary:
    """What the rest of the tree needs from a chunk that checked out.

    ``inner[s]``: for a wanted size ``s`` inside the chunk, the hash of the chunk's entries
    below ``s`` (RFC 9162's hash of that range: the right fold of its complete subtrees), so
    the root at ``s`` is the fold of the hashes before the chunk with this one hash. For a
    full chunk, ``top`` is its root, ``last_blob`` the stored blob of its last entry and
    ``last_inner`` what that blob must start with (the hashes above the chunk follow it).
    """

    inner: dict[int, bytes]
    top: bytes = b""
    last_blob: bytes = b""
    last_inner: bytes = b""


def _expected_blobs(levels: Sequence[Sequence[bytes]], m: int) -> list[bytes]:
    """The node blob every entry of an ``m``-entry chunk must hold, from its hashes by level.

    Entry ``j`` completes the subtrees at levels ``1..d``, ``d`` the trailing one-bits of ``j``
    (``j + 1 = 2**d * odd``): its blob is its leaf hash followed by those nodes. The entries of
    one ``d`` are every ``2**(d+1)``-th from ``2**d - 1``, and their level-``k`` nodes every
    ``2**(d-k+1)``-th from ``2**(d-k) - 1``, so each group is built by zipping strided slices
    (C loops; no per-hash index list): half the entries (``d = 0``) are their leaf hash as is.
    """
    leaves = levels[0]
    out = list(leaves)
    for d in range(1, m.bit_length()):
        first, step = (1 << d) - 1, 1 << (d + 1)
        parts = [leaves[first::step]]
        parts += [levels[k][(1 << (d - k)) - 1 :: 1 << (d - k + 1)] for k in range(1, d + 1)]
        out[first::step] = map(b"".join, zip(*parts, strict=True))
    return out


def _payload_problem(
    pdatas: Sequence[bytes], c: int, payloads: Iterable[tuple[int, bytes, bytes]]
) -> str:
    for i, salt, body in payloads:
        d = pdatas[i - c]
        p = d.find(_PAYLOAD_KEY)
        digest = _sha256(salt + body).hexdigest().encode()  # entry.payload_digest
        if p < 0 or d[p + 11 : p + 75] != digest:
            return f"payload {i} differs"
    return ""


def check_chunk(
    rows: Sequence[tuple[bytes, bytes]],
    c: int,
    m: int,
    level: int,
    wanted: Sequence[int],
    payloads: Iterable[tuple[int, bytes, bytes]],
) -> ChunkSummary | str:
    """Check entries ``[c, c + m)`` of a chunk of ``2**level``; a summary, or the problem.

    ``rows`` are :data:`LEAF_ROWS_SQL` rows; ``wanted`` the sizes in ``(c, c + m]`` whose root
    is needed; ``payloads`` ``(index, salt, body)`` of stored payloads in the chunk.
    """
    if len(rows) != m:
        return f"rows missing in {c}..{c + m - 1}"
    pdatas = [r[0] for r in rows]
    blobs = [r[1] for r in rows]
    try:
        leaves = [_sha256(d).digest() for d in pdatas]
    except TypeError:
        return "an entry is not stored as bytes"
    levels = [leaves]
    cur = leaves
    while len(cur) > 1:
        it = iter(cur)
        cur = [_sha256(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=False)]
        levels.append(cur)
    full = m == 1 << level
    expected = _expected_blobs(levels, m)
    # a full chunk's last blob also holds hashes above the chunk: the caller checks it
    checked = m - 1 if full else m
    if blobs[:checked] != expected[:checked]:  # lengths too: a blob cut short or padded
        return "a stored leaf hash or tree node differs"
    problem = _payload_problem(pdatas, c, payloads)
    if problem:
        return problem
    inner = {}
    for s in wanted:
        k, off, parts = s - c, 0, []
        for lvl in range(k.bit_length() - 1, -1, -1):
            if k >> lvl & 1:
                parts.append(levels[lvl][off >> lvl])
                off += 1 << lvl
        acc = parts[-1]  # the right fold of merkle.fold_nodes (this module imports no warden)
        for h in reversed(parts[:-1]):
            acc = _sha256(b"\x01" + h + acc).digest()
        inner[s] = acc
    if not full:
        return ChunkSummary(inner)
    return ChunkSummary(inner, levels[level][0], blobs[-1], expected[-1])


# -- the helper process ---------------------------------------------------------------------
# Requests on stdin, one line each: "<start> <count> <level> <wanted sizes...>"; an empty line
# ends. Each answer on stdout: u32 item count, then each item as u32 length + bytes:
# [problem] on failure, else [b"", top, last_blob, last_inner, size, inner, size, inner, ...].


def encode_result(res: ChunkSummary | str) -> bytes:
    if isinstance(res, str):
        items = [res.encode() or b"?"]
    else:
        items = [b"", res.top, res.last_blob, res.last_inner]
        for s, h in res.inner.items():
            items += [str(s).encode(), h]
    out = [_U32.pack(len(items))]
    for item in items:
        out += [_U32.pack(len(item)), item]
    return b"".join(out)


def decode_result(stream: IO[bytes]) -> ChunkSummary | str:
    """Read one answer from ``stream``; raise ValueError if it is cut short or malformed."""

    def take(n: int) -> bytes:
        data = stream.read(n)
        if len(data) != n:
            raise ValueError("rehash helper ended early")
        return data

    (count,) = _U32.unpack(take(4))
    items = [take(_U32.unpack(take(4))[0]) for _ in range(count)]
    if not items or (items[0] and count != 1) or (not items[0] and (count < 4 or count % 2)):
        raise ValueError("malformed rehash helper answer")
    if items[0]:
        return items[0].decode("utf-8", "replace")
    inner = {int(items[k]): items[k + 1] for k in range(4, count, 2)}
    return ChunkSummary(inner, items[1], items[2], items[3])


def serve(db: str) -> None:
    """Answer chunk requests for the database at ``db`` until stdin ends."""
    conn = sqlite3.connect(f"file:{quote(db)}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA query_only=1")
    conn.execute(f"PRAGMA mmap_size={1 << 30}")
    out = sys.stdout.buffer
    for line in sys.stdin:
        if not line.strip():
            break
        start, count, level, *wanted = map(int, line.split())
        rows = conn.execute(LEAF_ROWS_SQL, (start, start + count)).fetchall()
        pays = conn.execute(PAYLOADS_SQL, (start, start + count)).fetchall()
        out.write(encode_result(check_chunk(rows, start, count, level, wanted, pays)))
        out.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
