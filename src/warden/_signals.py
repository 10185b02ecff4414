"""Stop signals handled by a thread that does not depend on the main thread.

A Python signal handler runs in the main thread, at the next bytecode it executes. Two ways
this lost a SIGTERM, the first seen in the tests (``warden serve`` hung with every thread idle):

* the kernel delivers a process-wide signal to any thread; CPython's C handler only sets a flag,
  and a main thread that was about to block in a lock (``Event.wait``, say: between releasing
  the GIL and ``sem_wait``) sleeps on without running the Python handler, for as long as it
  waits; a server waiting for ``shutdown()`` waits forever;
* a handler that takes a lock the interrupted main thread holds (an ``Event``'s, between
  ``wait``'s acquire and release) blocks on itself. ``warden mcp`` set its relay's event from
  the handler.

So the signal is read from :func:`signal.set_wakeup_fd`'s pipe, which CPython's C handler
writes to in whichever thread the signal interrupts, and a daemon thread started beforehand
runs the callback, where taking locks and waiting are safe. The Python-level handler does
nothing. Used by ``warden serve`` and ``warden mcp`` (stdio and HTTP).

``warden run``'s supervisor keeps a handler that raises in its main thread (the run must
unwind there); its long wait for the sandbox's init is :func:`wait_exit`, which also wakes on
the wake-up fd, so the handler runs at once whenever the signal lands.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

__all__ = ["on_signals", "wait_exit", "wake_on_signals"]

#: How long :func:`on_signals`' restore waits for a callback still running.
RESTORE_WAIT = 5.0


def on_signals(signals: Iterable[int], callback: Callable[[int], Any],
               *, name: str = "warden-signals") -> Callable[[], None]:  # fmt: skip
    """Run ``callback(signum)`` on a thread of its own each time one of ``signals`` arrives.

    Returns a function that puts the previous handlers back and ends the thread. Must be called
    from the main thread (only it may install handlers: :class:`ValueError` otherwise).
    """
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("signal handlers can only be installed from the main thread")
    wanted = frozenset(signals)
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(wfd, False)  # the wake-up fd must not block; a full pipe drops a byte

    def relay() -> None:
        while data := os.read(rfd, 64):  # b"" once restore() closed the write end
            if previous_fd >= 0:  # an event loop's own wake-up fd still hears of every signal
                with contextlib.suppress(OSError):
                    os.write(previous_fd, data)
            for signum in data:  # one byte per signal (any with a Python handler)
                if signum not in wanted:
                    continue
                try:
                    callback(signum)
                except Exception:  # the next signal must still be handled
                    import logging

                    logging.getLogger(__name__).exception("handling signal %d failed", signum)

    previous = {sig: signal.signal(sig, _ignore) for sig in wanted}
    previous_fd = signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
    thread = threading.Thread(target=relay, name=name, daemon=True)
    try:
        thread.start()  # a signal before it runs waits in the pipe
    except BaseException:  # no thread: the signals must not be swallowed by _ignore
        signal.set_wakeup_fd(previous_fd)
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(wfd)
        os.close(rfd)
        raise

    def restore() -> None:
        signal.set_wakeup_fd(previous_fd)
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(wfd)
        if thread is not threading.current_thread():
            thread.join(RESTORE_WAIT)
        if not thread.is_alive():  # a callback still running keeps its pipe (freed at exit)
            os.close(rfd)

    return restore


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: the wake-up fd already told the relay thread."""


def wake_on_signals() -> tuple[int, Callable[[], None]]:
    """A pipe CPython's C handler writes a byte to for every signal with a Python handler:
    its non-blocking read end, and a function that puts the previous wake-up fd back and
    closes the pipe. Main thread only (:class:`ValueError` otherwise)."""
    rfd, wfd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        previous = signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
    except BaseException:
        os.close(rfd)
        os.close(wfd)
        raise

    def restore() -> None:
        signal.set_wakeup_fd(previous)
        os.close(wfd)
        os.close(rfd)

    return rfd, restore


def wait_exit(pid: int, wake: int | None) -> int:
    """``os.waitpid(pid, 0)``'s status, waking whenever ``wake`` (from :func:`wake_on_signals`)
    is readable so that a pending Python handler runs: a signal that arrives just before the
    ``waitpid`` system call does not interrupt it, and the handler would then wait for the
    child's exit."""
    try:
        pidfd = -1 if wake is None else os.pidfd_open(pid)
    except OSError:  # no pidfd (EMFILE, a kernel before 5.3): the plain wait
        pidfd = -1
    if pidfd < 0:
        return os.waitpid(pid, 0)[1]
    assert wake is not None
    try:
        while True:
            ready, _, _ = select.select([pidfd, wake], [], [])
            if wake in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake, 64)  # the handlers run at the next bytecode
            if pidfd in ready:
                break
    finally:
        os.close(pidfd)
    return os.waitpid(pid, 0)[1]
