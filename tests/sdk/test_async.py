"""The SDK's async twins with a real engine, a real audit log and real event loops: decided on
the loop, recorded through ``AuditLog.append_async`` (committed by the audit writer thread,
never the loop's), failing closed exactly as the blocking calls do."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from warden.action import Action
from warden.decision import Decision, Verdict
from warden.record import verify_log
from warden.sdk import Guard, ToolDenied, ToolMap
from warden.sdk._guard import INLINE_CHARS, _weight
from warden.sdk._outcome import OUTCOME_RECORD

from .conftest import records

SHELL = ToolMap("shell", command="cmd")
WRITE = ToolMap("file_write", path="path", content="content")
SSH_KEY_READ = "cat ~/.ssh/id_rsa"


def _commit_threads(guard: Guard) -> set[int]:
    """The threads that make the audit log's commits from now on."""
    assert guard.log is not None
    seen: set[int] = set()
    real = guard.log.store.append

    def append(*args: Any, **kwargs: Any) -> None:
        seen.add(threading.get_ident())
        real(*args, **kwargs)

    guard.log.store.append = append  # type: ignore[method-assign]
    return seen


def _break_store(guard: Guard) -> None:
    assert guard.log is not None

    def append(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    guard.log.store.append = append  # type: ignore[method-assign]


def _judging_threads(guard: Guard) -> list[int]:
    seen: list[int] = []
    real = guard.engine.check

    def check(action: Action, context: Any = None) -> Decision:
        seen.append(threading.get_ident())
        return real(action, context)

    guard.engine.check = check  # type: ignore[method-assign]
    return seen


def test_many_coroutines_decide_and_record_on_one_loop(guard: Guard) -> None:
    commits = _commit_threads(guard)
    judged = _judging_threads(guard)

    async def one(k: int) -> tuple[int | None, int | None]:
        ticket = await guard.aauthorize("run_shell", {"cmd": f"ls -la /tmp/{k}"}, SHELL)
        outcome = await guard.arecord(ticket, f"listing {k}")
        return ticket.audit_index, outcome.audit_index

    async def main() -> tuple[int, list[tuple[int | None, int | None]]]:
        return threading.get_ident(), await asyncio.gather(*(one(k) for k in range(24)))

    loop_thread, got = asyncio.run(main())
    assert loop_thread not in commits, "the event loop's thread committed"
    assert set(judged) == {loop_thread}  # small actions are judged on the loop
    rows = {index: (record, payload) for index, record, payload in records(guard)}
    assert len(rows) == 48
    for decided, recorded in got:
        assert decided is not None and recorded is not None
        assert rows[decided][0]["verdict"] == "allow"
        assert rows[recorded][0]["type"] == OUTCOME_RECORD
        assert rows[recorded][0]["decision"] == decided
    assert guard.log is not None
    assert verify_log(guard.log.store, guard.log.signer.verifier).size == 48


def test_async_records_match_the_blocking_ones(guard: Guard) -> None:
    sync = guard.decide_call("run_shell", {"cmd": SSH_KEY_READ}, SHELL, tool_use_id="t1")
    ticket = asyncio.run(
        guard.adecide_call("run_shell", {"cmd": SSH_KEY_READ}, SHELL, tool_use_id="t1")
    )
    assert ticket.decision == sync.decision
    assert ticket.decision.verdict >= Verdict.DENY
    (_, a, pa), (_, b, pb) = records(guard)
    assert {**a, "time": 0} == {**b, "time": 0}
    assert pa == pb


def test_a_decision_that_cannot_be_recorded_is_a_deny(guard: Guard) -> None:
    _break_store(guard)
    ticket = asyncio.run(guard.adecide_call("run_shell", {"cmd": "ls"}, SHELL))
    assert ticket.decision.verdict is Verdict.DENY and ticket.audit_index is None
    assert "disk full" in (ticket.decision.error or "")
    with pytest.raises(ToolDenied):
        asyncio.run(guard.aauthorize("run_shell", {"cmd": "ls"}, SHELL))


def test_a_result_that_cannot_be_recorded_is_withheld(guard: Guard) -> None:
    ticket = asyncio.run(guard.aauthorize("run_shell", {"cmd": "ls"}, SHELL))
    assert ticket.allowed and ticket.audit_index == 0
    _break_store(guard)
    with pytest.raises(ToolDenied, match="withheld"):
        asyncio.run(guard.arecord(ticket, "the output"))


def test_invalid_arguments_are_refused_and_recorded(guard: Guard) -> None:
    ticket = asyncio.run(guard.adecide_call("run_shell", {"other": 1}, SHELL))
    assert ticket.decision.verdict is Verdict.DENY and ticket.audit_index == 0
    ((_, record, _),) = records(guard)
    assert record["verdict"] == "deny" and record["tool"] == "run_shell"


def test_an_ask_is_settled_off_the_loop_and_recorded(ask_guard: Guard) -> None:
    answered: list[int] = []

    def approver(action: Action, decision: Decision) -> bool:
        answered.append(threading.get_ident())  # a person may take minutes: not on the loop
        return True

    async def main() -> tuple[int, Any]:
        ticket = await ask_guard.aauthorize("sh", {"cmd": "rm -rf build"}, SHELL,
                                            approve=approver)  # fmt: skip
        return threading.get_ident(), ticket

    loop_thread, ticket = asyncio.run(main())
    assert ticket.allowed and answered and answered[0] != loop_thread
    kinds = [record["type"] for _, record, _ in records(ask_guard)]
    assert kinds == ["decision", "approval"]
    with pytest.raises(ToolDenied, match="no approver"):
        asyncio.run(ask_guard.aauthorize("sh", {"cmd": "rm -rf build"}, SHELL))


def test_large_actions_and_results_are_handled_off_the_loop(guard: Guard, workspace: Path) -> None:
    judged = _judging_threads(guard)
    big = "hello world\n" * (INLINE_CHARS // 12 + 10)

    async def main() -> tuple[int, int | None]:
        ticket = await guard.aauthorize(
            "write", {"path": str(workspace / "notes.txt"), "content": big}, WRITE
        )
        outcome = await guard.arecord(ticket, big)
        return threading.get_ident(), outcome.audit_index

    loop_thread, index = asyncio.run(main())
    assert judged and judged[0] != loop_thread
    assert index == 1
    rows = records(guard)
    assert rows[1][1]["type"] == OUTCOME_RECORD and rows[1][1]["output_chars"] >= len(big)


def test_weight_counts_text_and_stops_early() -> None:
    assert _weight(None) == 0
    assert _weight("abc") == 3
    assert _weight({"a": ["xy", b"z"], "n": 5}) == 2 + 1 + 1 + 2 + 2 + 1  # keys count too
    assert _weight(Path("/tmp/x")) == len("/tmp/x")
    nested: list[Any] = ["x" * 10] * 100_000
    assert INLINE_CHARS < _weight(nested) < 2 * INLINE_CHARS  # stopped once past the limit
