"""``await AuditLog.append_async``: durable acknowledgements delivered to coroutines.

Real asyncio event loops, real SQLite files, real threads: every coroutine gets its own index,
the entries are durable (reopened and verified), the loop's thread never commits, a failed
commit reaches every coroutine of the batch, cancellation and closed loops do not break the
writer, and a full queue makes coroutines await (the loop keeps running) instead of blocking.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from warden.errors import AuditError, FormatError
from warden.record import AuditLog, LogReader, verify_log, writer


def rec(i: int, k: int = 0) -> dict[str, object]:
    return {"type": "t", "k": k, "i": i, "time": 1795248600.25 + i}


def _spy_commits(log: AuditLog) -> list[tuple[int, int]]:
    """Record ``(thread id, entries)`` of every store append (the commit itself)."""
    seen: list[tuple[int, int]] = []
    real = log.store.append

    def append(start: int, datas: Any, *args: Any, **kwargs: Any) -> None:
        seen.append((threading.get_ident(), len(datas)))
        real(start, datas, *args, **kwargs)

    log.store.append = append  # type: ignore[method-assign]
    return seen


def _gate_store(log: AuditLog, fail: BaseException | None = None) -> threading.Event:
    """Make every store append wait for the returned event (then raise ``fail`` if given)."""
    gate = threading.Event()
    real = log.store.append

    def append(*args: Any, **kwargs: Any) -> None:
        gate.wait(30)
        if fail is not None:
            raise fail
        real(*args, **kwargs)

    log.store.append = append  # type: ignore[method-assign]
    return gate


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a new (non-main) thread and return its result: a loop there could lead a
    group commit if the writer let it, which the main thread never may."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join(60)
    assert not t.is_alive()
    if errors:
        raise errors[0]
    return out[0]


@pytest.mark.parametrize("where", ["main thread", "worker thread"])
def test_many_coroutines_each_get_their_index_durably(tmp_path: Path, where: str) -> None:
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        log.append(rec(-1))
        seen = _spy_commits(log)

        async def main() -> tuple[int, list[int]]:
            async def producer(k: int) -> list[int]:
                return [await log.append_async(rec(i, k), payload={"k": k}) for i in range(25)]

            got = await asyncio.gather(*(producer(k) for k in range(40)))
            return threading.get_ident(), [x for xs in got for x in xs]

        loop_thread, got = (
            asyncio.run(main())
            if where == "main thread"
            else _in_thread(lambda: asyncio.run(main()))
        )
        assert sorted(got) == list(range(1, 1001))
        assert loop_thread not in {tid for tid, _ in seen}, "the loop's thread committed"
        assert max(n for _, n in seen) > 1, "coroutines shared commits"
    with LogReader.open(db) as reader:  # reopened: everything acknowledged is there
        entries = {e.index: e for e in reader.entries()}
        assert len(entries) == 1001
        for k in range(40):
            mine = [e for e in entries.values() if e.record.get("k") == k and e.index > 0]
            assert [e.record["i"] for e in sorted(mine, key=lambda e: e.index)] == list(range(25))
            assert all(e.payload == {"k": k} for e in mine)
    with AuditLog.open(db) as log:
        assert verify_log(log.store, log.signer.verifier).size == 1001


def test_one_loop_hand_off_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """32 coroutines queued while a commit is in progress land in one batch, and their
    acknowledgements come back to the loop in one ``call_soon_threadsafe``."""
    calls: list[int] = []
    real = writer._call_soon

    def call_soon(loop: Any, fn: Any, *args: Any) -> None:
        if fn is writer._settle:
            calls.append(len(args[0]))
        real(loop, fn, *args)

    monkeypatch.setattr(writer, "_call_soon", call_soon)
    with AuditLog.open(tmp_path / "a.db") as log:
        seen = _spy_commits(log)
        real_append = log.store.append
        gate = threading.Event()

        def slow_first(*args: Any, **kwargs: Any) -> None:
            gate.wait(30)
            real_append(*args, **kwargs)

        log.store.append = slow_first  # type: ignore[method-assign]
        blocker = log.append_nowait(rec(-1))  # the writer thread is stuck committing this

        async def main() -> list[int]:
            while not log._writer._busy:
                await asyncio.sleep(0.001)
            tasks = [asyncio.ensure_future(log.append_async(rec(i))) for i in range(32)]
            await asyncio.sleep(0.05)  # all 32 queued behind the stuck commit
            gate.set()
            return await asyncio.gather(*tasks)

        assert asyncio.run(main()) == list(range(1, 33))
        assert blocker.result(0) == 0
        assert [n for _, n in seen] == [1, 32]
        assert calls == [32]


def test_failed_commit_reaches_every_coroutine_of_the_batch(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        log.append(rec(0))
        real = log.store.append
        gate = _gate_store(log, OSError("disk gone"))

        async def main() -> list[Any]:
            tasks = [asyncio.ensure_future(log.append_async(rec(i))) for i in range(1, 21)]
            await asyncio.sleep(0.05)
            gate.set()
            return await asyncio.gather(*tasks, return_exceptions=True)

        results = asyncio.run(main())
        assert len(results) == 20
        for r in results:
            assert isinstance(r, AuditError) and "disk gone" in str(r)
            assert isinstance(r.__cause__, OSError)
        assert len({id(r) for r in results}) == 20  # each coroutine has its own exception
        log.store.append = real  # type: ignore[method-assign]

        async def after() -> int:
            return await log.append_async(rec(99))

        assert asyncio.run(after()) == 1  # nothing of the failed batch was written
        assert verify_log(log.store, log.signer.verifier).size == 2


def test_a_bad_record_raises_before_anything_is_queued(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:

        async def main() -> int:
            with pytest.raises(FormatError):
                await log.append_async({"type": "t", "x": float("nan")})
            return await log.append_async(rec(0))

        assert asyncio.run(main()) == 0


def test_a_cancelled_coroutine_does_not_stop_its_entry(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "a.db") as log:
        real = log.store.append
        gate = _gate_store(log)

        async def main() -> int:
            task = asyncio.ensure_future(log.append_async(rec(0)))
            other = asyncio.ensure_future(log.append_async(rec(1)))
            await asyncio.sleep(0.05)  # both queued, the commit is stuck at the gate
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            gate.set()
            return await other

        assert asyncio.run(main()) == 1
        log.store.append = real  # type: ignore[method-assign]
        assert log.entry(0).record == rec(0)  # written although nobody waited for it
        assert log.append(rec(2)) == 2  # the writer goes on


def test_a_closed_loop_does_not_break_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "PARK_SECONDS", 0.05)
    with AuditLog.open(tmp_path / "a.db") as log:
        real = log.store.append
        gate = _gate_store(log)
        loop = asyncio.new_event_loop()

        async def submit() -> None:
            await log._writer.submit_async(b'"record":{"type":"t"},"v":1}', None)
            await asyncio.sleep(0.05)  # the writer thread is now stuck in the commit

        loop.run_until_complete(submit())
        loop.close()  # the acknowledgement has no loop to go to
        gate.set()
        log.store.append = real  # type: ignore[method-assign]
        assert log.append(rec(1)) == 1  # the writer survived the closed loop
        assert log.leaf(0) == b'{"i":0,"record":{"type":"t"},"v":1}'

        # closed before its wake-up of the writer thread ran: committed all the same
        async def submit_and_stop() -> None:
            asyncio.get_running_loop().stop()  # this iteration is the loop's last
            await log._writer.submit_async(b'"record":{"type":"u"},"v":1}', None)

        loop = asyncio.new_event_loop()
        task = loop.create_task(submit_and_stop())
        loop.run_forever()
        assert task.done()
        assert log._writer._kicks == {loop}  # the wake-up never ran
        loop.close()
        deadline = time.monotonic() + 30
        while log.size() < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert log.size() == 3
        assert not log._writer._kicks  # the closed loop is not kept alive


def test_full_queue_makes_coroutines_await_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "MAX_PENDING", 4)
    with AuditLog.open(tmp_path / "a.db") as log:
        real = log.store.append
        gate = _gate_store(log)

        async def main() -> tuple[list[int], int]:
            ticks = 0
            tasks = [asyncio.ensure_future(log.append_async(rec(i))) for i in range(20)]
            for _ in range(20):  # the loop keeps running while 16 producers wait for room
                await asyncio.sleep(0.005)
                ticks += 1
            assert log._writer._pending == 4
            assert len(log._writer._space_waiters) == 16
            gate.set()
            return await asyncio.gather(*tasks), ticks

        got, ticks = asyncio.run(main())
        assert ticks == 20
        assert sorted(got) == list(range(20))
        log.store.append = real  # type: ignore[method-assign]
        assert verify_log(log.store, log.signer.verifier).size == 20


def test_threads_and_coroutines_together(tmp_path: Path) -> None:
    """Leaders, followers, the writer thread and two event loops share the commits; every
    index is handed out once and the log verifies."""
    got: dict[int, tuple[int, int]] = {}
    lock = threading.Lock()
    with AuditLog.open(tmp_path / "a.db") as log:

        def thread_producer(k: int) -> None:
            for i in range(30):
                idx = log.append(rec(i, k))
                with lock:
                    assert idx not in got
                    got[idx] = (k, i)

        def loop_producer(base: int) -> None:
            async def one(k: int) -> None:
                for i in range(30):
                    idx = await log.append_async(rec(i, k))
                    with lock:
                        assert idx not in got
                        got[idx] = (k, i)

            async def main() -> None:
                await asyncio.gather(*(one(base + j) for j in range(8)))

            asyncio.run(main())

        threads = [threading.Thread(target=thread_producer, args=(k,)) for k in range(6)]
        threads += [threading.Thread(target=loop_producer, args=(b,)) for b in (100, 200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(got) == list(range((6 + 16) * 30))
        for idx, (k, i) in got.items():
            assert log.entry(idx).record == rec(i, k)
        assert verify_log(log.store, log.signer.verifier).size == (6 + 16) * 30


def test_timeout_and_closed_log(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "a.db")
    real = log.store.append
    gate = _gate_store(log)

    async def slow() -> None:
        with pytest.raises(AuditError, match="not durable after"):
            await log.append_async(rec(0), timeout=0.05)

    asyncio.run(slow())
    gate.set()
    log.store.append = real  # type: ignore[method-assign]
    log.close()
    assert LogReader.open(tmp_path / "a.db").size() == 1  # committed after the timeout

    async def closed() -> None:
        with pytest.raises(AuditError, match="closed"):
            await log.append_async(rec(1))

    asyncio.run(closed())
