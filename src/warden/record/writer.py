"""The single writer thread: group commit of queued entries with their signed checkpoint.

Producers add encoded entries to the open batch at the tail of a queue and get a
:class:`Receipt`. The writer takes the oldest batch, extends the tree, signs a checkpoint for
the new size and writes all of it in one durable transaction; then every receipt of the batch
resolves. A batch holds whatever arrived while the previous commit was being made durable,
capped at :data:`MAX_BATCH` entries; when producers are waiting for their acknowledgements the
writer also lets the ones it has just woken come back (at most :data:`GATHER_SECONDS`), so that
they share one commit instead of straggling into many small ones.

Hot-path choices (measured, see docs/audit.md §9): a batch keeps its entries in a plain list
and its few payloads apart; a producer that waits parks on its own pre-locked lock, released by
the writer after ``COMMIT`` returned, so a commit wakes exactly its waiters and nobody else
(no shared condition variable for a herd of threads to re-take).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from warden.errors import AuditError, StoreError
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.entry import Payload
from warden.record.merkle import CompactRange
from warden.record.note import NoteSigner
from warden.record.proofs import compact_range
from warden.record.store.base import AuditStore, StoreConflict

if TYPE_CHECKING:
    from _thread import LockType

__all__ = ["GATHER_SECONDS", "MAX_BATCH", "MAX_PENDING", "Receipt", "Writer"]

log = logging.getLogger(__name__)

#: Entries per transaction: large enough to amortise the fsync, small enough to keep a commit
#: (and so the latency of the first entry in it) within a few milliseconds.
MAX_BATCH = 4096
#: Entries queued but not yet durable before producers block (bounded memory, backpressure).
MAX_PENDING = 65536
#: Longest the writer waits for the producers it has just acknowledged to queue their next
#: entries before committing what it has. It only waits while fewer entries are queued than
#: producers were woken, so a lone producer never waits, and the bound keeps a producer that
#: went away from costing more than this per commit. One fsync here takes ~0.3 ms.
GATHER_SECONDS = 0.001
#: Checkpoint thinning: a new checkpoint replaces the previous one unless a multiple of this
#: size lies between them (or a witness cosigned it). One checkpoint per batch is signed and
#: committed, but ~n/CHECKPOINT_EVERY are kept, so verification (which checks every stored
#: signature) stays fast when the engine appends one entry at a time; a rewrite without the key
#: is then localised to within this many entries (edits, deletions and moves stay exact).
CHECKPOINT_EVERY = 256
#: Attempts when another process appended first (each reloads the tree edge).
MAX_CONFLICT_RETRIES = 8

_sha256 = hashlib.sha256
_new_lock = threading.Lock
_monotonic = time.monotonic


class _Batch:
    """Entries committed together; ``done`` flips (under ``lock``) after COMMIT returned."""

    __slots__ = ("datas", "done", "error", "lock", "payloads", "start", "waiters")

    def __init__(self, lock: LockType) -> None:
        self.datas: list[bytes] = []  # leaf bytes after the index prefix, in queue order
        self.payloads: list[tuple[int, Payload]] = []  # (position in this batch, payload)
        self.waiters: list[LockType] = []
        self.lock = lock  # the writer's lock: guards done/waiters
        self.done = False
        self.start = -1
        self.error: BaseException | None = None

    def wait(self, timeout: float | None) -> bool:
        """Block until the batch is done (or ``timeout`` s passed); True once done."""
        waiter = _new_lock()
        waiter.acquire()
        with self.lock:
            if self.done:
                return True
            self.waiters.append(waiter)
        if timeout is None:
            waiter.acquire()
            return True
        return waiter.acquire(True, max(timeout, 0.0)) or self.done


class Receipt:
    """The future index of an appended entry; :meth:`result` waits until it is durable."""

    __slots__ = ("_batch", "_pos")

    def __init__(self, batch: _Batch, pos: int) -> None:
        self._batch, self._pos = batch, pos

    def done(self) -> bool:
        return self._batch.done

    def result(self, timeout: float | None = None) -> int:
        """The entry's index once durable; raises the store's error if the batch failed."""
        batch = self._batch
        if not batch.done and not batch.wait(timeout):
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
        #: While gathering: wake the writer when the open batch reaches this many entries.
        self._want = 0
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
            if not queue or len(queue[-1].datas) >= MAX_BATCH:
                queue.append(_Batch(self._lock))
                self._has_work.notify()
            batch = queue[-1]
            datas = batch.datas
            pos = len(datas)
            datas.append(data)
            if payload is not None:
                batch.payloads.append((pos, payload))
            self._pending += 1
            if pos + 1 == self._want:
                self._has_work.notify()
            return Receipt(batch, pos)

    def close(self) -> None:
        """Commit everything queued, then stop the thread."""
        with self._lock:
            self._closing = True
            self._has_work.notify_all()
            self._has_space.notify_all()
        self._thread.join()

    def _next_batch(self, woken: int) -> _Batch | None:
        """The oldest batch, after letting up to ``woken`` producers join it (lock held)."""
        queue = self._queue
        while not queue and not self._closing:
            self._has_work.wait()
        if not queue:
            return None
        if woken > 1 and len(queue) == 1 and len(queue[0].datas) < woken:
            deadline = _monotonic() + GATHER_SECONDS
            self._want = woken
            while len(queue) == 1 and len(queue[0].datas) < woken and not self._closing:
                left = deadline - _monotonic()
                if left <= 0:
                    break
                self._has_work.wait(left)
            self._want = 0
        return queue.popleft()

    def _run(self) -> None:
        woken = 0
        while True:
            with self._lock:
                batch = self._next_batch(woken)
            if batch is None:
                return
            try:
                checkpoint: SignedCheckpoint | None = self._commit(batch)
            except BaseException as exc:  # every receipt of the batch must learn of it
                log.error("audit batch of %d entries failed: %s", len(batch.datas), exc)
                batch.error = exc
                checkpoint = None
            with self._lock:
                batch.done = True
                waiters, batch.waiters = batch.waiters, []
                self._pending -= len(batch.datas)
                self._has_space.notify_all()
            woken = len(waiters)
            for waiter in waiters:
                waiter.release()
            if checkpoint is not None and self._on_commit is not None:
                try:
                    self._on_commit(checkpoint)
                except Exception:  # a witness hook never stops the log
                    log.exception("audit commit hook failed")

    def _commit(self, batch: _Batch) -> SignedCheckpoint:
        tails = batch.datas
        for _ in range(MAX_CONFLICT_RETRIES):
            tree = self._tree.copy()
            start = tree.size
            # entry.entry_bytes, inlined on the hot path
            datas = [b'{"i":%d,' % i + tail for i, tail in enumerate(tails, start)]
            blobs = tree.append_many([_sha256(b"\x00" + d).digest() for d in datas])
            payloads = [(start + k, p) for k, p in batch.payloads]
            signed = Checkpoint(self._signer.name, tree.size, tree.root()).sign(self._signer)
            every = CHECKPOINT_EVERY
            drop = start if start and start // every == tree.size // every else None
            try:
                self._store.append(start, datas, blobs, payloads, signed.text(), drop=drop)
            except StoreConflict as exc:  # another process appended: reload the edge, retry
                self._tree = compact_range(self._store, exc.actual)
                continue
            self._tree = tree
            batch.start = start
            return signed
        raise StoreError("audit store kept changing under the writer (too many writers?)")
