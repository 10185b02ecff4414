"""warden._signals: a stop signal's callback runs on a thread, never inside the handler."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

from warden._signals import on_signals, wait_exit, wake_on_signals


def test_the_callback_runs_on_another_thread_with_the_signal_number() -> None:
    seen: list[tuple[int, str]] = []
    done = threading.Event()

    def callback(signum: int) -> None:
        seen.append((signum, threading.current_thread().name))
        done.set()

    restore = on_signals((signal.SIGUSR1,), callback)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert done.wait(5)
    finally:
        restore()
    assert seen == [(signal.SIGUSR1, "warden-signals")]


def test_a_lock_held_by_the_main_thread_does_not_stop_the_signal() -> None:
    """The bug this module exists for: a handler that takes a lock the interrupted main thread
    holds (an Event's, while it waits on it) blocks forever. Here the main thread holds the
    callback's lock when the signal arrives and keeps running bytecodes: the callback waits
    for the lock on its own thread and gets it once the main thread lets go. (Run inside the
    handler, it would give up after 2 s without the lock.)"""
    lock = threading.Lock()
    results: list[bool] = []
    ran = threading.Event()

    def callback(signum: int) -> None:
        got = lock.acquire(timeout=2)
        if got:
            lock.release()
        results.append(got)
        ran.set()

    restore = on_signals((signal.SIGUSR1,), callback)
    try:
        with lock:
            os.kill(os.getpid(), signal.SIGUSR1)
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline:  # bytecodes: the handler has run by now
                pass
            assert not ran.is_set()
        assert ran.wait(5)
    finally:
        restore()
    assert results == [True]


def test_a_signal_another_thread_receives_still_runs_the_callback_at_once() -> None:
    """The bug seen in ``warden serve``: the kernel gives a process's signal to any thread;
    CPython's C handler then only flags it for the main thread, which, asleep in a lock, does
    not run the Python handler until it wakes. Here the main thread blocks the signal (so
    another thread must take it) and sleeps in ``Event.wait``: the callback must still run,
    and wake it, without waiting for the main thread."""
    done = threading.Event()
    restore = on_signals((signal.SIGUSR1,), lambda _: done.set())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            start = time.monotonic()
            os.kill(os.getpid(), signal.SIGUSR1)
            assert done.wait(10)
            elapsed = time.monotonic() - start
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    finally:
        restore()
    assert elapsed < 5, f"the callback waited {elapsed:.1f} s for the main thread"


def test_restore_puts_the_previous_handler_back_and_ends_the_thread() -> None:
    calls: list[int] = []

    def previous(signum: int, frame: object) -> None:
        calls.append(signum)

    old = signal.signal(signal.SIGUSR2, previous)
    try:
        before = {t.ident for t in threading.enumerate()}
        restore = on_signals((signal.SIGUSR2,), lambda _: None)
        assert signal.getsignal(signal.SIGUSR2) is not previous
        restore()
        assert signal.getsignal(signal.SIGUSR2) is previous
        assert signal.set_wakeup_fd(-1) == -1  # and the wake-up fd (there was none)
        assert {t.ident for t in threading.enumerate()} == before
        os.kill(os.getpid(), signal.SIGUSR2)
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.001)
        assert calls == [signal.SIGUSR2]
    finally:
        signal.signal(signal.SIGUSR2, old)


def test_a_failing_callback_does_not_end_the_handling() -> None:
    got = threading.Event()
    count = 0

    def callback(signum: int) -> None:
        nonlocal count
        count += 1
        if count == 1:
            raise RuntimeError("first one fails")
        got.set()

    restore = on_signals((signal.SIGUSR1,), callback)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while count < 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGUSR1)
        assert got.wait(5)
    finally:
        restore()


def test_only_the_main_thread_may_install() -> None:
    errors: list[BaseException] = []

    def other() -> None:
        try:
            on_signals((signal.SIGUSR1,), lambda _: None)
        except ValueError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1
    assert "main thread" in str(errors[0])


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


def test_wait_exit_returns_the_status_of_the_child() -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(7)
    wake, unwake = wake_on_signals()
    try:
        assert os.waitstatus_to_exitcode(wait_exit(pid, wake)) == 7
    finally:
        unwake()


def test_wait_exit_wakes_for_a_signal_another_thread_took() -> None:
    """``warden run``'s supervisor waits for init like this; its SIGTERM handler raises. The
    signal is blocked in the main thread here, so the kernel gives it to another thread and
    never interrupts the main thread's wait: only the wake-up fd can end it, at once, not when
    the child exits (8 s later)."""
    sleeper = threading.Thread(target=time.sleep, args=(3,), daemon=True)  # takes the signal
    sleeper.start()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        time.sleep(8)
        os._exit(0)
    old = signal.signal(signal.SIGUSR1, _raise_stop)
    wake, unwake = wake_on_signals()
    start = time.monotonic()
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        try:
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1)).start()
            with contextlib.suppress(_Stop):
                wait_exit(pid, wake)
                raise AssertionError("wait_exit returned: the child exited first")
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        elapsed = time.monotonic() - start
    finally:
        unwake()
        signal.signal(signal.SIGUSR1, old)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert elapsed < 4, f"the handler ran {elapsed:.1f} s after the signal"
