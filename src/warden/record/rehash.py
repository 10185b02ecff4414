"""Fast full re-hash of a stored log: whole chunks at a time, on both cores.

Chunks are ``2**CHUNK_LEVEL`` entries aligned on that size, so each chunk is a forest of
complete subtrees computed level by level (:func:`~warden.record.rehash_chunk.check_chunk`);
the edge of the tree above the chunks is a :class:`~warden.record.merkle.CompactRange` of chunk
roots. For every chunk it checks, in bulk: row count (deletions), stored leaf hashes, node blob
shapes and contents (edits, moves), payload digests, and the root at every wanted size inside
the chunk.

Two workers share the chunks: this thread takes them from the low end, a helper process (a
second interpreter, its own read-only SQLite connection) from the high end, until they meet.
The helper always has its next request queued (:data:`HELPER_QUEUE`), so it never idles while
this process's reader thread waits for the GIL. When this thread runs out of chunks it takes
over the helper's queued chunk and gives the one in flight a bounded grace
(:data:`HELPER_GRACE_CHUNKS`) before killing the helper and re-hashing that chunk itself.
The helper only makes it faster: a chunk it did not answer is re-hashed here, so a helper that
cannot start, dies or answers nonsense can never make a log pass. Every chunk's result is then
assembled in index order here, including the hashes above each chunk.

It only says *whether* the log is intact; :mod:`warden.record.verify` re-runs its row-by-row
pass to say *where* and *what* when this one reports a problem.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from warden.record import rehash_chunk
from warden.record.entry import Payload
from warden.record.merkle import EMPTY_ROOT, HASH_SIZE, CompactRange, fold_nodes
from warden.record.rehash_chunk import ChunkSummary, check_chunk, decode_result
from warden.record.store.base import AuditStore
from warden.record.store.sqlite import SQLiteStore

__all__ = ["CHUNK_LEVEL", "PARALLEL_MIN_CHUNKS", "RehashResult", "rehash"]

log = logging.getLogger(__name__)

#: 32,768 entries a chunk: ~10 MB of rows in memory, few Python-level iterations per chunk,
#: and 31 chunks at 1M entries, so the two workers finish within ~0.1 s of each other.
CHUNK_LEVEL = 15
#: Fewer chunks than this and the log is re-hashed in this process alone: starting the helper
#: (~30 ms) would cost more than it saves.
PARALLEL_MIN_CHUNKS = 3
#: Longest to wait for the helper process to exit once its work is done (it is killed after).
HELPER_EXIT_SECONDS = 5.0
#: Once this process is out of chunks, the helper's chunk in flight is awaited until it has run
#: this many times as long as a chunk takes here (then the helper is killed and the chunk
#: re-hashed here): a helper that is on time has at most one chunk's time left, and waiting
#: for it beats re-hashing the whole chunk; a descheduled one costs a bounded wait.
HELPER_GRACE_CHUNKS = 1.5
#: Requests the helper has queued at once: its next chunk is already on its stdin when it
#: answers one, so it never idles waiting for this process's reader thread to get the GIL
#: (up to the 5 ms switch interval while this thread hashes or checks signatures).
HELPER_QUEUE = 2


@dataclass(frozen=True, slots=True)
class RehashResult:
    ok: bool
    size: int
    roots: dict[int, bytes]
    problem: str = ""


class _Schedule:
    """Chunk numbers handed out from both ends: the low ones here, the high ones to the helper."""

    def __init__(self, chunks: int) -> None:
        self.lock = threading.Lock()
        self.lo, self.hi = 0, chunks
        self.done = 0  # entries checked so far, by either worker

    def take_low(self) -> int | None:
        with self.lock:
            if self.lo >= self.hi:
                return None
            self.lo += 1
            return self.lo - 1

    def take_high(self) -> int | None:
        with self.lock:
            if self.lo >= self.hi:
                return None
            self.hi -= 1
            return self.hi

    def stop(self) -> None:
        with self.lock:
            self.hi = self.lo

    def add_done(self, entries: int) -> int:
        with self.lock:
            self.done += entries
            return self.done


class _Job:
    """One re-hash: the chunk geometry, what each chunk must report, and the results."""

    def __init__(
        self, size: int, level: int, sizes: Collection[int], payloads: dict[int, Payload]
    ) -> None:
        self.size, self.level = size, level
        chunks = -(-size // (1 << level))
        self.wanted: list[list[int]] = [[] for _ in range(chunks)]
        for s in sorted(s for s in sizes if 0 < s <= size):
            self.wanted[(s - 1) >> level].append(s)
        self.payloads: list[list[tuple[int, bytes, bytes]]] = [[] for _ in range(chunks)]
        for i, pay in sorted(payloads.items()):
            if 0 <= i < size:
                self.payloads[i >> level].append((i, pay.salt, pay.body))
        self.results: list[ChunkSummary | str | None] = [None] * chunks
        self.schedule = _Schedule(chunks)

    def bounds(self, c: int) -> tuple[int, int]:
        start = c << self.level
        return start, min(1 << self.level, self.size - start)

    def request(self, c: int) -> bytes:
        start, m = self.bounds(c)
        return " ".join(map(str, [start, m, self.level, *self.wanted[c]])).encode() + b"\n"


def rehash(
    store: AuditStore,
    size: int,
    sizes: Collection[int],
    payloads: dict[int, Payload],
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk_level: int | None = None,
    parallel: bool = True,
    meanwhile: Callable[[], None] | None = None,
) -> RehashResult:
    """Recompute every hash of the first ``size`` entries; roots at ``sizes`` come back.

    ``payloads`` are the stored payloads (checked in this process's chunks; the helper reads
    its own). ``progress(done, size)`` is called from this thread after each chunk.
    ``chunk_level`` defaults to :data:`CHUNK_LEVEL` as it is at the call.
    ``meanwhile`` is run on this thread once the helper has been started, before this thread
    takes its first chunk: work of the caller's that does not need the re-hash (verification
    checks every checkpoint's signature there) overlaps the helper's chunks, which then simply
    takes more of them. If it raises, the helper is stopped and the exception propagates.
    """
    job = _Job(size, CHUNK_LEVEL if chunk_level is None else chunk_level, sizes, payloads)
    helper = None
    if parallel and len(job.results) >= PARALLEL_MIN_CHUNKS and isinstance(store, SQLiteStore):
        helper = _Helper.start(store, job)
    grace = 0.0  # how long the helper's last chunk is awaited: none after a problem or error
    try:
        if meanwhile is not None:
            meanwhile()
        took, t0 = [], time.perf_counter()
        while (c := job.schedule.take_low()) is not None:
            if not _local(store, job, c):
                break
            t1 = time.perf_counter()
            took.append(t1 - t0)
            t0 = t1
            if progress is not None:
                progress(job.schedule.add_done(job.bounds(c)[1]), size)
        else:
            # the helper's queued chunks that it has not started: done here meanwhile
            for c in helper.take_over() if helper is not None else ():
                if not _local(store, job, c):
                    break
                if progress is not None:
                    progress(job.schedule.add_done(job.bounds(c)[1]), size)
            else:
                grace = HELPER_GRACE_CHUNKS * (sum(took) / len(took) if took else 0.0)
    finally:
        # Out of chunks here: give the helper's chunk in flight a bounded time (it may still be
        # starting, or be descheduled on a busy machine), then stop it; a chunk it did not
        # answer is re-hashed below, so the wait is bounded by this process's own speed.
        if helper is not None:
            helper.finish(grace=grace)
    for c, res in enumerate(job.results):  # what the helper did not deliver, and early stops
        if isinstance(res, str):
            break
        if res is None:
            if not _local(store, job, c):
                break
            if progress is not None:
                progress(job.schedule.add_done(job.bounds(c)[1]), size)
    return _assemble(job)


def _local(store: AuditStore, job: _Job, c: int) -> bool:
    start, m = job.bounds(c)
    rows = store.leaf_rows(start, start + m)
    res = check_chunk(rows, start, m, job.level, job.wanted[c], job.payloads[c])
    job.results[c] = res
    if isinstance(res, str):
        job.schedule.stop()
        return False
    return True


def _assemble(job: _Job) -> RehashResult:
    """Chunk results in index order: roots at the wanted sizes, hashes above each chunk."""
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    outer = CompactRange()
    for c, res in enumerate(job.results):
        if not isinstance(res, ChunkSummary):
            return RehashResult(False, job.size, roots, res or "a chunk was not checked")
        full = job.bounds(c)[1] == 1 << job.level
        if set(res.inner) != set(job.wanted[c]) or bool(res.top) != full:
            return RehashResult(False, job.size, roots, f"chunk {c} was answered for another job")
        base = outer.hashes()
        for s, inner in res.inner.items():  # a right fold: the chunk's part is one hash
            if len(inner) != HASH_SIZE:
                return RehashResult(False, job.size, roots, f"chunk {c} answered a bad hash")
            roots[s] = fold_nodes([*base, inner])
        if res.top:
            higher = outer.append_subtree(res.top, job.level)
            if res.last_blob != res.last_inner + b"".join(higher):
                return RehashResult(False, job.size, roots, "the last node blob of a chunk differs")
    return RehashResult(True, job.size, roots)


class _Helper:
    """The second worker: a child interpreter running :func:`rehash_chunk.serve`."""

    def __init__(self, proc: subprocess.Popen[bytes], job: _Job) -> None:
        self._proc, self._job = proc, job
        self._stopping = False
        self._lock = threading.Lock()
        #: Chunks asked for and not answered yet, oldest (the one in flight) first.
        self._pending: deque[int] = deque()
        #: Queued chunks this process took over (:meth:`take_over`): not to be waited for.
        self._taken: set[int] = set()
        self._started = time.perf_counter()  # when the chunk in flight was begun
        self._thread = threading.Thread(target=self._run, name="warden-rehash", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, store: SQLiteStore, job: _Job) -> _Helper | None:
        script = Path(rehash_chunk.__file__)
        if not sys.executable or getattr(sys, "frozen", False) or not script.is_file():
            return None  # no interpreter to run it with (embedded or frozen): one process
        # -I: no user site, no environment, not even the script's directory on sys.path
        cmd = [sys.executable, "-I", str(script), str(store.path.resolve())]
        try:
            proc = subprocess.Popen(  # our interpreter and our module, no shell
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            log.info("re-hashing in one process: cannot start the helper: %s", exc)
            return None
        return cls(proc, job)

    def _run(self) -> None:
        job, proc = self._job, self._proc
        assert proc.stdin is not None and proc.stdout is not None
        pending = self._pending
        try:
            while True:
                asked = False
                while len(pending) < HELPER_QUEUE and (c := job.schedule.take_high()) is not None:
                    proc.stdin.write(job.request(c))
                    with self._lock:
                        if not pending:
                            self._started = time.perf_counter()
                        pending.append(c)
                    asked = True
                if asked:
                    proc.stdin.flush()
                if not pending:
                    return
                res = decode_result(proc.stdout)
                with self._lock:
                    c = pending.popleft()
                    self._started = time.perf_counter()
                    rest_taken = self._taken.issuperset(pending)
                job.results[c] = res
                if isinstance(res, str):
                    job.schedule.stop()
                    return
                job.schedule.add_done(job.bounds(c)[1])
                if pending and rest_taken:  # the rest is being re-hashed in this process
                    return
        except (OSError, ValueError) as exc:  # its chunk stays None: re-hashed in this process
            if not self._stopping:
                log.info("rehash helper failed, finishing in one process: %s", exc)

    def take_over(self) -> list[int]:
        """The chunks asked for that the helper has not begun (behind the one in flight):
        this process re-hashes them instead, and the helper's answers to them are not awaited."""
        with self._lock:
            rest = list(self._pending)[1:]
            self._taken.update(rest)
        return rest

    def finish(self, *, grace: float = 0.0) -> None:
        """Wait for the chunk in flight until it has run ``grace`` seconds, kill the helper if
        it is still on it (or on a chunk taken over), and reap the helper."""
        proc = self._proc
        self._thread.join(max(0.0, self._started + grace - time.perf_counter()))
        if self._thread.is_alive() or self._pending:
            self._stopping = True
            proc.kill()
            self._thread.join()
        try:
            assert proc.stdin is not None
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(HELPER_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
