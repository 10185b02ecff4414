"""The audit store interface: what a backend (SQLite now, PostgreSQL later) must provide.

A store keeps four things, and must write the first three of a batch in ONE durable transaction:

* ``entries``: index -> leaf bytes, and the *node blob* of that leaf: its leaf hash followed by
  the hash of every complete subtree that this leaf completes (level 1, 2, ... while the carry
  lasts). Node ``(level, i)`` is therefore at offset ``32 * level`` in the blob of leaf
  ``(i + 1) * 2**level - 1``; any proof needs O(log n) reads and no extra rows are written.
* ``checkpoints``: tree size -> the log-signed checkpoint note committed with that batch (the
  writer thins older ones, see :data:`warden.record.writer.CHECKPOINT_EVERY`);
* ``payloads``: index -> salt and payload bytes (outside the tree; may be purged);
* ``cosignatures``: witness cosignature lines for a checkpoint (added after it is durable).

Stores hold no keys and make no trust decisions; :mod:`warden.record.verify` does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence

from warden.errors import StoreError
from warden.record.entry import Payload
from warden.record.merkle import HASH_SIZE, NodeId

__all__ = ["AuditStore", "StoreConflict", "node_location"]


class StoreConflict(StoreError):
    """Another writer appended first: the caller must reload its tree edge and retry."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(f"store has {actual} entries, writer expected {expected}")


def node_location(node: NodeId) -> tuple[int, int]:
    """(entry index, byte offset) of a complete subtree's hash in the node blobs."""
    return ((node.index + 1) << node.level) - 1, HASH_SIZE * node.level


def _node_at(row: int, off: int) -> NodeId:
    """The inverse of :func:`node_location`."""
    level = off // HASH_SIZE
    return NodeId(level, ((row + 1) >> level) - 1)


class AuditStore(ABC):
    """A durable, append-only home for entries, tree nodes and checkpoints."""

    @abstractmethod
    def size(self) -> int:
        """Number of entries (the highest index plus one, as stored)."""

    @abstractmethod
    def append(
        self,
        start: int,
        datas: Sequence[bytes],
        blobs: Sequence[bytes],
        payloads: Sequence[tuple[int, Payload]],
        checkpoint: str,
        *,
        drop: int | None = None,
    ) -> None:
        """Durably write entries ``start..`` (leaf bytes ``datas[k]`` and node blob ``blobs[k]``
        at index ``start + k``), their payloads and the checkpoint, atomically.

        ``drop`` names an older checkpoint size to delete in the same transaction unless a
        witness cosigned it (thinning: the new checkpoint supersedes it).

        Raises :class:`StoreConflict` (and writes nothing) unless the store has ``start``
        entries.
        """

    @abstractmethod
    def nodes(self, ids: Collection[NodeId]) -> dict[NodeId, bytes]:
        """Hashes of complete subtrees; missing ones are absent from the result."""

    def node_hashes(self, locations: Sequence[tuple[int, int]]) -> list[bytes | None]:
        """The hashes at ``(entry index, byte offset)`` locations (see :func:`node_location`),
        in order; ``None`` where the store has none. The proof path's lookup: no
        :class:`~warden.record.merkle.NodeId` objects. This default goes through :meth:`nodes`.
        """
        ids = [_node_at(row, off) for row, off in locations]
        got = self.nodes(set(ids))
        return [got.get(node) for node in ids]

    @abstractmethod
    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
        """``(index, leaf bytes, node blob)`` in index order, streamed."""

    @abstractmethod
    def leaf_rows(self, start: int, end: int) -> list[tuple[bytes, bytes]]:
        """``(0x00 || leaf bytes, node blob)`` of ``[start, end)`` in index order, all at once.

        The leaf-hash input (RFC 9162 §2.1.1) rather than the leaf bytes, so that a bulk
        re-hash hashes each row as it comes; any stored type is returned as its bytes.
        """

    @abstractmethod
    def bounds(self) -> tuple[int | None, int | None]:
        """``(lowest index, highest index)`` as stored (None, None when empty); O(log n).

        No row count: a full re-hash checks that every chunk of ``[0, highest]`` has all its
        rows, which with ``lowest >= 0`` is the same check, without a scan of the table.
        """

    @abstractmethod
    def payloads(self, start: int = 0, end: int | None = None) -> dict[int, Payload]:
        """Payloads still stored in ``[start, end)``."""

    @abstractmethod
    def purge_payloads(self, before: int) -> int:
        """Delete payloads of entries below ``before``; return how many were deleted."""

    @abstractmethod
    def checkpoints(self) -> list[tuple[int, str]]:
        """Every ``(size, signed note)`` stored, by size."""

    @abstractmethod
    def latest_checkpoint(self) -> str | None:
        """The note of the largest checkpoint, or None for an empty log."""

    @abstractmethod
    def add_cosignatures(
        self, checkpoint: str, size: int, witness: str, lines: Sequence[str]
    ) -> None:
        """Keep witness cosignature lines for ``checkpoint`` (of ``size``), keeping the
        checkpoint itself too (it may have been thinned meanwhile)."""

    @abstractmethod
    def cosignatures(self) -> dict[int, list[str]]:
        """All stored cosignature lines, by checkpoint size."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abstractmethod
    def close(self) -> None: ...
