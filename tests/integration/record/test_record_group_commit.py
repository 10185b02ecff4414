"""Leader/follower group commit (warden.record.writer): who commits, and what a failed or
interrupted committer leaves behind. Real SQLite files, real threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from warden.errors import AuditError
from warden.record import AuditLog, verify_log, writer


def rec(i: int, k: int = 0) -> dict[str, object]:
    return {"type": "t", "k": k, "i": i}


def _spy_commits(log: AuditLog) -> list[tuple[int, int]]:
    """Record ``(thread id, entries)`` of every store append (the commit itself)."""
    seen: list[tuple[int, int]] = []
    real = log.store.append

    def append(start: int, datas: Any, *args: Any, **kwargs: Any) -> None:
        seen.append((threading.get_ident(), len(datas)))
        real(start, datas, *args, **kwargs)

    log.store.append = append  # type: ignore[method-assign]
    return seen


def test_lone_append_commits_on_the_callers_thread(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        seen = _spy_commits(log)
        got: list[int] = []
        tid: list[int] = []

        def worker() -> None:
            tid.append(threading.get_ident())
            got.extend(log.append(rec(i)) for i in range(5))

        t = threading.Thread(target=worker)
        t.start()
        t.join(30)
        assert got == list(range(5))
        assert seen == [(tid[0], 1)] * 5


def test_the_main_thread_never_commits(tmp_path: Path) -> None:
    """Signal handlers run on the main thread between any two bytecodes: an interrupt inside
    a commit, or while the committer role is given up, could leave that role taken forever.
    So the main thread's appends are committed by the writer thread."""
    with AuditLog.open(tmp_path / "a.db") as log:
        seen = _spy_commits(log)
        assert [log.append(rec(i)) for i in range(5)] == list(range(5))
        assert log.append_nowait(rec(5)).result() == 5
        assert len(seen) >= 1
        assert threading.get_ident() not in {t for t, _ in seen}


def test_nowait_and_timeout_waits_are_committed_by_the_writer_thread(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        seen = _spy_commits(log)
        assert log.append_nowait(rec(0)).result(timeout=30) == 0
        assert log.append(rec(1), timeout=30) == 1
        receipts = [log.append_nowait(rec(i)) for i in range(2, 50)]
        receipts[-1].result(timeout=30)
        assert [r.result(0) for r in receipts] == list(range(2, 50))
        assert threading.get_ident() not in {tid for tid, _ in seen}


def test_an_unwoken_entry_is_committed_by_whoever_waits_for_it(tmp_path: Path) -> None:
    """``append_nowait(wake=False)`` leaves the writer thread asleep: a worker thread that
    then waits commits the entry itself; a wait that cannot lead (the main thread, a timed
    wait) wakes the writer thread at once rather than parking for ``PARK_SECONDS``."""
    import time

    with AuditLog.open(tmp_path / "a.db") as log:
        seen = _spy_commits(log)
        tid: list[int] = []
        receipt = log.append_nowait(rec(0), wake=False)
        time.sleep(0.05)
        assert not receipt.done() and not seen  # nobody was woken

        def worker() -> None:
            tid.append(threading.get_ident())
            receipt.result()

        t = threading.Thread(target=worker)
        t.start()
        t.join(30)
        assert receipt.result(0) == 0 and seen == [(tid[0], 1)]
        for wait in (lambda r: r.result(), lambda r: r.result(timeout=30)):
            receipt = log.append_nowait(rec(1), wake=False)
            started = time.monotonic()
            wait(receipt)
            assert time.monotonic() - started < writer.PARK_SECONDS / 2
        assert threading.get_ident() not in {t for t, _ in seen}


def test_waiting_and_nowait_producers_mixed(tmp_path: Path) -> None:
    """Leaders, followers and the writer thread take turns; every index is handed out once."""
    got: dict[int, tuple[int, int]] = {}
    lock = threading.Lock()
    with AuditLog.open(tmp_path / "a.db") as log:

        def producer(k: int) -> None:
            for i in range(30):
                if k % 3 == 0:
                    idx = log.append_nowait(rec(i, k)).result()
                elif k % 3 == 1:
                    idx = log.append(rec(i, k))
                else:
                    idx = log.append_nowait(rec(i, k)).result(timeout=30)
                with lock:
                    assert idx not in got
                    got[idx] = (k, i)

        threads = [threading.Thread(target=producer, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == list(range(12 * 30))
        for idx, (k, i) in got.items():
            assert log.entry(idx).record == rec(i, k)
        assert verify_log(log.store, log.signer.verifier).size == 360  # raises if not


def _fail_next(log: AuditLog, exc: BaseException, gate: threading.Event) -> Callable[[], None]:
    """Make the next store append wait for ``gate``, then raise ``exc`` (once)."""
    real = log.store.append
    armed = [True]

    def append(*args: Any, **kwargs: Any) -> None:
        if armed[0]:
            armed[0] = False
            gate.wait(30)
            raise exc
        real(*args, **kwargs)

    log.store.append = append  # type: ignore[method-assign]
    return lambda: setattr(log.store, "append", real)


@pytest.mark.parametrize("exc", [OSError("disk gone"), KeyboardInterrupt()])
def test_failed_leader_fails_its_batch_and_the_log_goes_on(
    tmp_path: Path, exc: BaseException
) -> None:
    gate = threading.Event()
    errors: list[BaseException] = []
    with AuditLog.open(tmp_path / "a.db") as log:
        log.append(rec(0))
        _fail_next(log, exc, gate)
        raised: list[BaseException] = []

        def leader() -> None:
            try:
                log.append(rec(1))
            except BaseException as e:
                raised.append(e)

        t = threading.Thread(target=leader)
        t.start()
        while not log._writer._busy:  # the leader holds the committer role, stuck in the store
            threading.Event().wait(0.001)

        def follower() -> None:
            try:
                log.append(rec(2))
            except AuditError as e:
                errors.append(e)

        f = threading.Thread(target=follower)
        f.start()
        threading.Event().wait(0.05)  # the follower parks behind the leader
        gate.set()
        t.join(30)
        f.join(30)
        assert not t.is_alive() and not f.is_alive()
        if isinstance(exc, KeyboardInterrupt):
            assert raised == [exc]  # the leader's own interrupt comes back to it
        else:
            assert len(raised) == 1 and isinstance(raised[0], AuditError)
        # the follower's entry went in the failed batch, or in the next one
        assert len(errors) <= 1
        after = log.append(rec(3))
        assert after == log.size() - 1
        assert log.checkpoint(log.signer.verifier).size == log.size()


def test_interrupt_between_pop_and_commit_fails_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal that lands after a leader took a batch and before it resolved it must not leave
    the batch's followers parked forever."""
    monkeypatch.setattr(writer, "PARK_SECONDS", 0.05)
    real_finish = writer.Writer._finish
    armed = [True]
    gate = threading.Event()

    def finish(self: writer.Writer, batch: Any, own: Any) -> None:
        if armed[0] and own is not None:
            armed[0] = False
            gate.wait(30)
            raise KeyboardInterrupt
        real_finish(self, batch, own)

    monkeypatch.setattr(writer.Writer, "_finish", finish)
    with AuditLog.open(tmp_path / "a.db") as log:
        raised: list[BaseException] = []
        errors: list[BaseException] = []

        def leader() -> None:
            try:
                log.append(rec(0))
            except BaseException as e:
                raised.append(e)

        t = threading.Thread(target=leader)
        t.start()
        while not log._writer._busy:
            threading.Event().wait(0.001)
        receipt = log.append_nowait(rec(1))  # queued behind the leader's batch
        gate.set()
        t.join(30)
        assert [type(e) for e in raised] == [KeyboardInterrupt]
        try:
            receipt.result(timeout=30)
        except AuditError as e:
            errors.append(e)
        assert log.append(rec(2)) == log.size() - 1
        assert log.checkpoint(log.signer.verifier).size == log.size()


@pytest.mark.parametrize("parked", [False, True])
def test_a_batch_taken_and_never_finished_fails_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parked: bool
) -> None:
    """The state a leader leaves if a signal lands between taking a batch and resolving it
    (simulated: the batch is taken off the queue by hand): its waiters get an error, whether
    they were parked then or come to wait later."""
    monkeypatch.setattr(writer, "PARK_SECONDS", 0.05)
    with AuditLog.open(tmp_path / "a.db") as log:
        w = log._writer
        with w._lock:
            w._busy = True  # the "leader": keeps the writer thread and everyone else off
        receipt = log.append_nowait(rec(0))
        out: list[BaseException] = []

        def wait() -> None:
            try:
                receipt.result()
            except AuditError as e:
                out.append(e)

        t = threading.Thread(target=wait)
        if parked:
            t.start()
            threading.Event().wait(0.05)  # parked behind the busy "leader"
        with w._lock:
            w._queue.clear()  # it took the batch ...
            w._busy = False  # ... and died
        if not parked:
            t.start()
        t.join(30)
        assert not t.is_alive()
        assert len(out) == 1 and "interrupted" in str(out[0])
        assert receipt.done()
        assert log.append(rec(1)) == 0  # nothing of the lost batch was written
