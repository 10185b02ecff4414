"""A pool of reusable threads for the proxy's connections and tunnel directions.

Starting a thread costs ~50-100 us of CPU; a proxy serving ``curl`` and ``pip`` sees a new
connection per request, so threads are kept after their job and reused. The pool never queues a
job behind a busy thread: a job either gets an idle thread at once or a new one (the proxy bounds
how many connections it admits, so the pool is bounded by that). Idle threads exit after
:data:`IDLE_SECONDS`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

__all__ = ["IDLE_SECONDS", "Workers"]

#: How long a thread waits for another job before it exits: long enough to cover bursts of
#: requests, short enough that a quiet proxy holds no threads.
IDLE_SECONDS = 30.0

_log = logging.getLogger(__name__)

Job = Callable[[], None]


class Workers:
    """Run each submitted job on an idle thread, or on a new one if none is idle."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._idle = 0
        self._threads: set[threading.Thread] = set()
        self._closed = False

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool closed")
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)  # under the lock: an idle thread that times out sees it
                return
            thread = threading.Thread(target=self._run, args=(job,), name=self._name, daemon=True)
            self._threads.add(thread)
        thread.start()

    def _run(self, job: Job | None) -> None:
        while job is not None:
            try:
                job()
            except Exception:  # jobs handle their own errors; this keeps the thread alive
                _log.exception("worker job failed")
            with self._lock:
                if self._closed:
                    break
                self._idle += 1
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    try:
                        job = self._jobs.get_nowait()  # a job reserved us just as we timed out
                    except queue.Empty:
                        self._idle -= 1
                        job = None
        with self._lock:
            self._threads.discard(threading.current_thread())

    def close(self, timeout: float = 10.0) -> None:
        """Stop idle threads and wait for busy ones (their jobs must be ending)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            for _ in range(self._idle):
                self._jobs.put(None)
            self._idle = 0
        for thread in threads:
            thread.join(timeout)
