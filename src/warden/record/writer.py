"""The single writer: group commit of queued entries with their signed checkpoint.

Producers add encoded entries to the open batch at the tail of a queue and get a
:class:`Receipt`. One committer at a time takes the oldest batch, extends the tree, signs a
checkpoint for the new size and writes all of it in one durable transaction; then every receipt
of the batch resolves. A batch holds whatever arrived while the previous commit was being made
durable, capped at :data:`MAX_BATCH` entries; when producers are waiting for their
acknowledgements the committer also lets the ones it has just acknowledged come back (at most
:data:`GATHER_SECONDS`), so that they share one commit instead of straggling into many small
ones.

Who commits (leader/follower group commit, as in LevelDB's write queue): a producer that waits
for its receipt while nobody is committing becomes the committer itself (the *leader*) and
commits batches, oldest first, up to and including its own; producers that arrive meanwhile
park (the *followers*) and are released when their batch is durable. The writer thread commits
only what nobody waits on (``append_nowait``), and what a leader left queued when it returned.
So a lone ``append`` on a thread other than the main one runs on that thread end to end, with
no hand-off, and 16 waiting producers hand the committer role among themselves without waking
the writer thread. The "one writer" rule holds: ``_busy`` (under ``_lock``) admits one
committer at a time, and only the committer touches the tree edge and the store's write connection.
Measured (1 producer, 2026-11-21): ~10 futex calls and 7-9 context switches per acked append
with a writer-thread hand-off, ~0 and 2.3-2.7 now; median latency -5 to -15 %, p99 about
halved. What is left is the fsync of ``COMMIT`` (~60 %) and the Ed25519 signature (~50 us).

A producer that is about to wait on another thread may queue with ``wake=False``
(:meth:`Writer.submit`): the writer thread is left asleep, so that the waiting thread leads
(the MCP proxy queues a call's decision, forwards the call, then commits; a woken writer
thread took the GIL from the forwarding thread for the commit's Python work). A wait that
cannot lead (the main thread, a timed wait) wakes the writer thread itself, so such an entry
is never left for :data:`PARK_SECONDS`.

The main thread never leads (:func:`_may_lead`): signal handlers run there, between any two
bytecodes, and an interrupt inside a commit or while the committer role is given up could
leave that role taken forever; its appends are committed by the writer thread. Should an
exception still end a commit midway, the batch fails (its receipts raise, fail closed).
A follower re-checks every :data:`PARK_SECONDS`, and a batch that a leader took
but never finished is failed rather than left to hang (:meth:`Writer._drain`).

Coroutines (``AuditLog.append_async``, :meth:`Writer.submit_async`): an event loop's thread
never commits (an fsync there would stall every coroutine of the loop) and never parks. It
queues the entry with an ``asyncio`` future attached to the batch (grouped by loop) and, once
per loop iteration, asks the writer thread to commit (:meth:`Writer._kick`, scheduled with
``call_soon``: it runs after every coroutine resumed in that iteration has queued its next
entry, so the coroutines one commit acknowledged share the next one, with one wake-up of the
writer thread and no gather wait). After ``COMMIT`` returned, the committer (the writer thread,
or a producer thread leading) resolves all of one loop's futures of the batch with ONE
``loop.call_soon_threadsafe``; the coroutines then resume one after another on the loop's
thread, with no thread wake-up or GIL hand-over each (16 threads need ~16 of both per commit).
A failed commit sets an exception on every future of the batch; a cancelled future is skipped
(its entry is written all the same); a closed loop is skipped (``RuntimeError`` from
``call_soon_threadsafe``), and since a scheduled wake-up may never run (its loop closed
first), the writer thread of a log that coroutines append to re-checks its queue every
:data:`PARK_SECONDS` (one idle wake-up a second; a log only threads use keeps untimed waits).
When :data:`MAX_PENDING` entries are pending a coroutine awaits a future of its loop (woken,
per loop, when a batch resolves) instead of blocking the loop. Measured (docs/audit.md §9):
0.1-0.6 context switches per acknowledged record against 3.7-5.2 for producer threads.

Hot-path choices (measured, see docs/audit.md §9): a batch keeps its entries in a plain list
and its few payloads apart; a follower parks on its own pre-locked lock, released after
``COMMIT`` returned, so a commit wakes exactly its waiters and nobody else (no shared condition
variable for a herd of threads to re-take).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from warden.errors import AuditError, StoreError
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.entry import Payload
from warden.record.merkle import CompactRange
from warden.record.note import NoteSigner
from warden.record.proofs import compact_range
from warden.record.store.base import AuditStore, StoreConflict

if TYPE_CHECKING:
    import asyncio
    from _thread import LockType

    #: The futures of one event loop waiting on one batch: (future, position in the batch).
    _LoopWaiters = list[tuple[asyncio.Future[int], int]]

__all__ = ["GATHER_SECONDS", "MAX_BATCH", "MAX_PENDING", "Receipt", "Writer"]

log = logging.getLogger(__name__)

#: Entries per transaction: large enough to amortise the fsync, small enough to keep a commit
#: (and so the latency of the first entry in it) within a few milliseconds.
MAX_BATCH = 4096
#: Entries queued but not yet durable before producers block (bounded memory, backpressure).
MAX_PENDING = 65536
#: Longest the committer waits for the producers the previous commit acknowledged to queue
#: their next entries before committing what it has. It only waits while fewer entries are
#: queued than producers were acknowledged, so a lone producer never waits, and the bound keeps
#: a producer that went away from costing more than this per commit. One fsync takes ~0.3 ms.
GATHER_SECONDS = 0.001
#: Checkpoint thinning: a new checkpoint replaces the previous one unless a multiple of this
#: size lies between them (or a witness cosigned it). One checkpoint per batch is signed and
#: committed, but ~n/CHECKPOINT_EVERY are kept, so verification (which checks every stored
#: signature) stays fast when the engine appends one entry at a time; a rewrite without the key
#: is then localised to within this many entries (edits, deletions and moves stay exact).
CHECKPOINT_EVERY = 256
#: A parked follower re-checks its batch this often even if nobody woke it (a leader
#: interrupted by a signal at the wrong moment must not leave it parked forever); if nobody is
#: committing then, it commits its batch itself.
PARK_SECONDS = 1.0
#: Attempts when another process appended first (each reloads the tree edge).
MAX_CONFLICT_RETRIES = 8

_sha256 = hashlib.sha256
#: The optional C extension (``_native.c``): the batch's entry bytes and leaf hashes, hashed
#: with the GIL released (the producer thread runs meanwhile). None when it was not built:
#: :func:`_entries_and_leaves` computes the same in Python.
_native_leaves: Callable[[int, list[bytes]], tuple[list[bytes], list[bytes]]] | None
try:
    from warden.record._native import leaves as _native_leaves
except ImportError:  # pragma: no cover - depends on the build
    _native_leaves = None
_new_lock = threading.Lock
_monotonic = time.monotonic


class _Batch:
    """Entries committed together; ``done`` flips (under the writer's lock) once durable."""

    __slots__ = ("datas", "done", "error", "loops", "payloads", "start", "waiters")

    def __init__(self) -> None:
        self.datas: list[bytes] = []  # leaf bytes after the index prefix, in queue order
        self.payloads: list[tuple[int, Payload]] = []  # (position in this batch, payload)
        self.waiters: list[LockType] = []  # parked followers, released once done
        #: awaiting coroutines, by event loop (None until the first one): one hand-off per loop
        self.loops: dict[asyncio.AbstractEventLoop, _LoopWaiters] | None = None
        self.done = False
        self.start = -1
        self.error: BaseException | None = None


class Receipt:
    """The future index of an appended entry; :meth:`result` waits until it is durable."""

    __slots__ = ("_batch", "_pos", "_writer")

    def __init__(self, writer: Writer, batch: _Batch, pos: int) -> None:
        self._writer, self._batch, self._pos = writer, batch, pos

    def done(self) -> bool:
        return self._batch.done

    def result(self, timeout: float | None = None) -> int:
        """The entry's index once durable; raises the store's error if the batch failed.

        Without a ``timeout`` the caller may commit the batch itself (see the module
        docstring); with one it only waits, so that it can give up on a stuck store.
        """
        batch = self._batch
        if not batch.done and not self._writer.wait(batch, timeout):
            raise AuditError(f"audit append not durable after {timeout} s")
        return _index(batch, self._pos)


def _may_lead() -> bool:
    """Whether this thread may become the committer: any but the main thread.

    Python runs signal handlers on the main thread only, between any two bytecodes: SIGINT's
    KeyboardInterrupt, or ``warden run``'s SIGTERM handler raising, could land inside a commit
    after the batch left the queue, or while the committer role is being given up, and leave
    that role taken forever (every later append would park, ``close`` would never return).
    Other threads get no asynchronous exceptions, so the main thread hands its entries to the
    writer thread and waits (a process whose only appender is its main thread, a ``warden
    hook`` process, pays one thread hand-off per append)."""
    return threading.current_thread() is not threading.main_thread()


def _index(batch: _Batch, pos: int) -> int:
    """The index of entry ``pos`` of a done batch, or the error that failed the batch."""
    if batch.error is not None:
        if isinstance(batch.error, AuditError):
            raise batch.error
        raise AuditError(f"audit append failed: {batch.error}") from batch.error
    return batch.start + pos


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
        #: The writer thread waits here for batches that no committer will take.
        self._has_work = threading.Condition(self._lock)
        #: The committer waits here, while gathering, for the open batch to fill.
        self._gathered = threading.Condition(self._lock)
        self._has_space = threading.Condition(self._lock)
        self._queue: deque[_Batch] = deque()
        self._pending = 0
        self._closing = False
        #: A committer (a leader or the writer thread) is active: nobody else may commit.
        self._busy = False
        #: The writer thread waits for work and nobody has woken it yet.
        self._sleeping = False
        #: Producers the last commit acknowledged (who may come straight back with more).
        self._woken = 0
        #: While gathering: wake the committer when the open batch reaches this many entries.
        self._want = 0
        #: Coroutines waiting for room (``MAX_PENDING``): woken, per loop, when a batch resolves.
        self._space_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        #: Loops with a wake-up of the writer thread scheduled (:meth:`_kick`).
        self._kicks: set[asyncio.AbstractEventLoop] = set()
        #: A coroutine has appended: the writer thread's waits for work are timed from now on.
        self._coroutines = False
        self._thread = threading.Thread(target=self._run, name="warden-audit-writer", daemon=True)
        self._thread.start()

    def submit(self, data: bytes, payload: Payload | None, *, wake: bool = True) -> Receipt:
        """Queue one entry (leaf bytes after the index prefix) without waiting for it.

        ``wake=False`` leaves the writer thread asleep: the caller will soon wait for the
        receipt on a thread that may lead (then that thread commits it, with no hand-off and
        no GIL contest with the writer thread meanwhile); any later commit takes it too."""
        with self._lock:
            batch, pos = self._enqueue(data, payload)
            if wake and self._sleeping and not self._busy:
                self._sleeping = False
                self._has_work.notify()
            return Receipt(self, batch, pos)

    def append(self, data: bytes, payload: Payload | None) -> int:
        """Queue one entry and return its index once durable (``submit`` then ``wait`` under
        one lock): the caller commits it itself unless a committer is already at work, or it
        is the main thread (see :func:`_may_lead`)."""
        if not _may_lead():
            receipt = self.submit(data, payload)
            return receipt.result()
        with self._lock:  # queued without waking the writer thread: this caller may commit
            batch, pos = self._enqueue(data, payload)
            waiter = self._lead_or_queue(batch, may_lead=True)
        if waiter is None:
            self._drain(batch)
        else:
            self._park(batch, waiter)
        return _index(batch, pos)

    async def submit_async(self, data: bytes, payload: Payload | None) -> asyncio.Future[int]:
        """Queue one entry from a coroutine: a future of the running loop that resolves to its
        index once ``COMMIT`` returned (or fails with the batch's error).

        The loop's thread never commits (an fsync would stall every coroutine of the loop):
        the writer thread does, or a waiting producer thread that leads. After the commit, all
        the futures of one loop in the batch are resolved by one ``call_soon_threadsafe``. When
        ``MAX_PENDING`` entries are pending the coroutine awaits room instead of blocking the
        loop; cancelled there, its entry was never queued. Once queued, an entry is committed
        whatever becomes of the future (cancelled, or its loop closed)."""
        import asyncio  # loaded already when a coroutine calls: keeps it off the hook path

        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        while True:
            with self._lock:
                if self._closing:
                    raise AuditError("the audit log is closed")
                if self._pending < MAX_PENDING:  # _enqueue will not block the loop's thread
                    batch, pos = self._enqueue(data, payload)
                    loops = batch.loops
                    if loops is None:
                        batch.loops = {loop: [(fut, pos)]}
                    else:
                        mine = loops.get(loop)
                        if mine is None:
                            loops[loop] = [(fut, pos)]
                        else:
                            mine.append((fut, pos))
                    if not self._coroutines:  # first time: make the writer's waits timed
                        self._coroutines = True
                        self._has_work.notify()
                    if loop not in self._kicks:  # wake the writer once this loop is idle
                        self._kicks.add(loop)
                        loop.call_soon(self._kick, loop)
                    return fut
                space: asyncio.Future[None] = loop.create_future()
                self._space_waiters.append((loop, space))
            await space

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        """(On the loop's thread, after the callbacks that were ready with the first entry.)
        Wake the writer thread for what this loop queued: the coroutines resumed together
        (one batch's acknowledgements) have all queued their next entries by now, so one
        wake-up commits them all, and the writer does not compete for the GIL meanwhile."""
        with self._lock:
            self._kicks.discard(loop)
            if self._sleeping and not self._busy and self._queue:
                self._sleeping = False
                self._has_work.notify()

    def _lead_or_queue(self, batch: _Batch, *, may_lead: bool) -> LockType | None:
        """(Lock held.) Take the committer role (None), or a pre-locked waiter that is released
        when ``batch`` is done."""
        if may_lead and not self._busy:
            self._busy = True
            return None
        waiter = _new_lock()
        waiter.acquire()
        batch.waiters.append(waiter)
        return waiter

    def _enqueue(self, data: bytes, payload: Payload | None) -> tuple[_Batch, int]:
        """Add an entry to the open batch (lock held): its batch and position in it."""
        if self._closing:
            raise AuditError("the audit log is closed")
        while self._pending >= MAX_PENDING:
            self._has_space.wait()
            if self._closing:
                raise AuditError("the audit log is closed")
        queue = self._queue
        if not queue or len(queue[-1].datas) >= MAX_BATCH:
            queue.append(_Batch())
        batch = queue[-1]
        datas = batch.datas
        pos = len(datas)
        datas.append(data)
        if payload is not None:
            batch.payloads.append((pos, payload))
        self._pending += 1
        if pos + 1 == self._want:
            self._gathered.notify()
        return batch, pos

    def wait(self, batch: _Batch, timeout: float | None) -> bool:
        """Block until ``batch`` is durable (committing it if nobody is); True once done."""
        with self._lock:
            if batch.done:
                return True
            waiter = self._lead_or_queue(batch, may_lead=timeout is None and _may_lead())
            if waiter is not None and self._sleeping and not self._busy:
                self._sleeping = False  # queued with wake=False, and this waiter cannot lead
                self._has_work.notify()
        if waiter is None:
            self._drain(batch)
            return True
        if timeout is None:
            self._park(batch, waiter)
            return True
        return waiter.acquire(True, max(timeout, 0.0)) or batch.done

    def _park(self, batch: _Batch, waiter: LockType) -> None:
        """Wait on ``waiter`` until ``batch`` is done; commit it if it is left behind."""
        while not waiter.acquire(True, PARK_SECONDS):
            with self._lock:
                if batch.done:
                    return
                if self._busy:
                    continue
                if not _may_lead():  # the writer thread commits for the main thread
                    self._has_work.notify()
                    continue
                self._busy = True
            self._drain(batch)
            return

    def close(self) -> None:
        """Commit everything queued, then stop the thread."""
        with self._lock:
            self._closing = True
            self._has_work.notify_all()
            self._gathered.notify_all()
            self._has_space.notify_all()
            spaces, self._space_waiters = self._space_waiters, []
        _wake_space(spaces)
        self._thread.join()

    def _run(self) -> None:
        lock, has_work, queue = self._lock, self._has_work, self._queue
        while True:
            with lock:
                while self._busy or (not queue and not self._closing):
                    self._sleeping = True
                    if self._kicks:
                        self._forget_closed_loops()
                    # once coroutines append, a loop's wake-up of this thread may never run
                    # (the loop closed first): re-check the queue every PARK_SECONDS
                    has_work.wait(PARK_SECONDS if self._coroutines else None)
                self._sleeping = False
                if not queue:
                    return
                self._busy = True
            self._drain(None)

    def _forget_closed_loops(self) -> None:
        """(Lock held.) A loop closed before its :meth:`_kick` ran leaves its entries queued
        with nobody to wake this thread (which therefore re-checks every ``PARK_SECONDS`` once
        coroutines append); drop closed loops from the set, so they are not kept alive."""
        self._kicks = {loop for loop in self._kicks if not loop.is_closed()}

    def _next_batch(self) -> _Batch | None:
        """The oldest batch, after letting the producers just acknowledged join it (lock held)."""
        queue = self._queue
        if not queue:
            return None
        woken = self._woken
        if woken > 1 and len(queue) == 1 and len(queue[0].datas) < woken:
            deadline = _monotonic() + GATHER_SECONDS
            self._want = woken
            try:
                while len(queue) == 1 and len(queue[0].datas) < woken and not self._closing:
                    left = deadline - _monotonic()
                    if left <= 0:
                        break
                    self._gathered.wait(left)
            finally:
                self._want = 0
        return queue.popleft()

    def _drain(self, own: _Batch | None) -> None:
        """Commit batches, oldest first, until ``own`` is done (or, for the writer thread,
        until the queue is empty); the caller has set ``_busy``, this clears it."""
        batch = None
        try:
            while True:
                with self._lock:
                    batch = self._next_batch()
                if batch is None:
                    if own is not None and not own.done:  # taken by a leader that was killed
                        own.error = AuditError("audit commit was interrupted")
                        self._resolve(own, own)
                    return
                self._finish(batch, own)
                if batch is own:
                    return
        finally:
            if batch is not None and not batch.done:  # a signal between popleft and done
                batch.error = batch.error or AuditError("audit commit was interrupted")
                self._resolve(batch, own)
            self._idle()

    def _idle(self) -> None:
        """Give up the committer role; the writer thread takes over what is left queued."""
        with self._lock:
            self._busy = False
            if self._queue or self._closing:
                self._has_work.notify()

    def _finish(self, batch: _Batch, own: _Batch | None) -> None:
        """Commit one batch, resolve its receipts, then tell the witness hook."""
        interrupt: BaseException | None = None
        try:
            checkpoint: SignedCheckpoint | None = self._commit(batch)
        except BaseException as exc:  # every receipt of the batch must learn of it
            log.error("audit batch of %d entries failed: %s", len(batch.datas), exc)
            batch.error = exc
            checkpoint = None
            if own is not None and not isinstance(exc, Exception):
                interrupt = exc  # a leader's KeyboardInterrupt goes back to its caller
        self._resolve(batch, own)
        if interrupt is not None:
            raise interrupt
        if checkpoint is not None and self._on_commit is not None:
            try:
                self._on_commit(checkpoint)
            except Exception:  # a witness hook never stops the log
                log.exception("audit commit hook failed")

    def _resolve(self, batch: _Batch, own: _Batch | None) -> None:
        """Mark ``batch`` done and release its parked followers."""
        with self._lock:
            batch.done = True
            waiters, batch.waiters = batch.waiters, []
            loops, batch.loops = batch.loops, None
            self._pending -= len(batch.datas)
            self._has_space.notify_all()
            spaces = self._space_waiters
            if spaces:
                self._space_waiters = []
            self._woken = len(waiters) + (batch is own)
        for waiter in waiters:
            waiter.release()
        if loops is not None:
            for loop, items in loops.items():
                _call_soon(loop, _settle, items, batch.start, batch.error)
        if spaces:
            _wake_space(spaces)

    def _commit(self, batch: _Batch) -> SignedCheckpoint:
        tails = batch.datas
        for _ in range(MAX_CONFLICT_RETRIES):
            tree = self._tree.copy()
            start = tree.size
            datas, leaves = _entries_and_leaves(start, tails)
            blobs = tree.append_many(leaves)
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


def _entries_and_leaves(start: int, tails: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """The complete entry bytes of a batch starting at index ``start`` and their leaf hashes
    (``entry.entry_bytes`` and ``merkle.leaf_hash``, inlined on the hot path)."""
    if _native_leaves is not None:
        return _native_leaves(start, tails)
    datas = [b'{"i":%d,' % i + tail for i, tail in enumerate(tails, start)]
    return datas, [_sha256(b"\x00" + d).digest() for d in datas]


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    """Hand ``fn(*args)`` to ``loop``'s thread; a closed loop has nobody left to tell."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # "Event loop is closed": the entries are written all the same
        log.debug("audit acknowledgement dropped: its event loop is closed")


def _settle(items: _LoopWaiters, start: int, error: BaseException | None) -> None:
    """(On the loop's thread.) Resolve one loop's futures of a done batch; a cancelled one is
    skipped (its entry is durable, nobody waits for the index)."""
    for fut, pos in items:
        if fut.done():
            continue
        if error is None:
            fut.set_result(start + pos)
        else:  # each coroutine gets its own exception object, the store's error as the cause
            exc = AuditError(str(error) if isinstance(error, AuditError)
                             else f"audit append failed: {error}")  # fmt: skip
            exc.__cause__ = error
            fut.set_exception(exc)


def _wake_space(spaces: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    """Tell coroutines waiting for room to try again: one hand-off per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, fut in spaces:
        by_loop.setdefault(loop, []).append(fut)
    for loop, futs in by_loop.items():
        _call_soon(loop, _release_space, futs)


def _release_space(futs: list[asyncio.Future[None]]) -> None:
    for fut in futs:
        if not fut.done():
            fut.set_result(None)
