"""The single writer thread: group commit of queued entries with their signed checkpoint.

Producers add encoded entries to the open batch at the tail of a queue and get a
:class:`Receipt`. The writer takes the oldest batch, extends the tree, signs a checkpoint for
the new size and writes all of it in one durable transaction; then every receipt of the batch
resolves. No artificial delay is added: a batch holds whatever arrived while the previous
commit was being made durable (a few milliseconds at most), capped at :data:`MAX_BATCH`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from collections.abc import Callable

from warden.errors import AuditError, StoreError
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.entry import Payload
from warden.record.merkle import CompactRange
from warden.record.note import NoteSigner
from warden.record.proofs import compact_range
from warden.record.store.base import AuditStore, NewEntry, StoreConflict

__all__ = ["MAX_BATCH", "MAX_PENDING", "Receipt", "Writer"]

log = logging.getLogger(__name__)

#: Entries per transaction: large enough to amortise the fsync, small enough to keep a commit
#: (and so the latency of the first entry in it) within a few milliseconds.
MAX_BATCH = 4096
#: Entries queued but not yet durable before producers block (bounded memory, backpressure).
MAX_PENDING = 65536
#: Checkpoint thinning: a new checkpoint replaces the previous one unless a multiple of this
#: size lies between them (or a witness cosigned it). One checkpoint per batch is signed and
#: committed, but ~n/CHECKPOINT_EVERY are kept, so verification (which checks every stored
#: signature) stays fast when the engine appends one entry at a time; a rewrite without the key
#: is then localised to within this many entries (edits, deletions and moves stay exact).
CHECKPOINT_EVERY = 256
#: Attempts when another process appended first (each reloads the tree edge).
MAX_CONFLICT_RETRIES = 8

_sha256 = hashlib.sha256


class _Batch:
    __slots__ = ("done", "error", "items", "start")

    def __init__(self) -> None:
        self.items: list[tuple[bytes, Payload | None]] = []
        self.done = threading.Event()
        self.start = -1
        self.error: BaseException | None = None


class Receipt:
    """The future index of an appended entry; :meth:`result` waits until it is durable."""

    __slots__ = ("_batch", "_pos")

    def __init__(self, batch: _Batch, pos: int) -> None:
        self._batch, self._pos = batch, pos

    def done(self) -> bool:
        return self._batch.done.is_set()

    def result(self, timeout: float | None = None) -> int:
        """The entry's index once durable; raises the store's error if the batch failed."""
        batch = self._batch
        if not batch.done.wait(timeout):
            raise AuditError(f"audit append not durable after {timeout} s")
        if batch.error is not None:
            if isinstance(batch.error, AuditError):
                raise batch.error
            raise AuditError(f"audit append failed: {batch.error}") from batch.error
        return batch.start + self._pos


class Writer:
    """Owns the tree edge and is the only code that appends to the store (in this process)."""

    def __init__(
        self,
        store: AuditStore,
        signer: NoteSigner,
        *,
        on_commit: Callable[[SignedCheckpoint], None] | None = None,
    ) -> None:
        self._store = store
        self._signer = signer
        self._on_commit = on_commit
        self._tree: CompactRange = compact_range(store, store.size())
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._has_space = threading.Condition(self._lock)
        self._queue: deque[_Batch] = deque()
        self._pending = 0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="warden-audit-writer", daemon=True)
        self._thread.start()

    def submit(self, data: bytes, payload: Payload | None) -> Receipt:
        with self._lock:
            if self._closing:
                raise AuditError("the audit log is closed")
            while self._pending >= MAX_PENDING:
                self._has_space.wait()
                if self._closing:
                    raise AuditError("the audit log is closed")
            queue = self._queue
            if not queue or len(queue[-1].items) >= MAX_BATCH:
                queue.append(_Batch())
                self._has_work.notify()
            batch = queue[-1]
            batch.items.append((data, payload))
            self._pending += 1
            return Receipt(batch, len(batch.items) - 1)

    def close(self) -> None:
        """Commit everything queued, then stop the thread."""
        with self._lock:
            self._closing = True
            self._has_work.notify_all()
            self._has_space.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._has_work.wait()
                if not self._queue:
                    return
                batch = self._queue.popleft()
            try:
                checkpoint = self._commit(batch)
            except BaseException as exc:  # every receipt of the batch must learn of it
                log.error("audit batch of %d entries failed: %s", len(batch.items), exc)
                batch.error = exc
                checkpoint = None
            with self._lock:
                self._pending -= len(batch.items)
                self._has_space.notify_all()
            batch.done.set()
            if checkpoint is not None and self._on_commit is not None:
                try:
                    self._on_commit(checkpoint)
                except Exception:  # a witness hook never stops the log
                    log.exception("audit commit hook failed")

    def _commit(self, batch: _Batch) -> SignedCheckpoint:
        for _ in range(MAX_CONFLICT_RETRIES):
            tree = self._tree.copy()
            start = tree.size
            items = batch.items
            # entry.entry_bytes, inlined on the hot path
            datas = [b'{"i":%d,' % i + tail for i, (tail, _) in enumerate(items, start)]
            blobs = tree.append_many([_sha256(b"\x00" + d).digest() for d in datas])
            entries = list(map(NewEntry, range(start, tree.size), datas, blobs))
            payloads = [(start + k, p) for k, (_, p) in enumerate(items) if p is not None]
            signed = Checkpoint(self._signer.name, tree.size, tree.root()).sign(self._signer)
            every = CHECKPOINT_EVERY
            drop = start if start and start // every == tree.size // every else None
            try:
                self._store.append(start, entries, payloads, signed.text(), drop=drop)
            except StoreConflict as exc:  # another process appended: reload the edge, retry
                self._tree = compact_range(self._store, exc.actual)
                continue
            self._tree = tree
            batch.start = start
            return signed
        raise StoreError("audit store kept changing under the writer (too many writers?)")
