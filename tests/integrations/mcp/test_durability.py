"""An allowed call is forwarded while its decision is made durable; its answer waits for that.

Real ``warden mcp`` processes (stdio and HTTP) whose audit log is slowed or broken on demand
(``slowlog/sitecustomize.py`` on their ``PYTHONPATH``), in front of the scripted fake servers,
which log every message they receive: so "the server had the call while the answer was still
withheld" and "the server never saw it" are observed, not assumed. Plus in-process checks of
the session's gate (server batches, record order, refusals, close).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integrations.mcp.proxyproc import Proxy, text_of
from tests.integrations.mcp.test_proxy_http import Http

from warden.integrations.mcp.open import open_session
from warden.integrations.mcp.session import McpConfig, McpSession
from warden.record import LogReader

pytestmark = pytest.mark.timeout(120)

SLOWLOG = Path(__file__).resolve().parent / "slowlog"
#: Seconds each commit holding a decision record is held back in the slowed log.
DELAY = 2.0


def _slow_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(SLOWLOG), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, **extra}


def _records(db: Path) -> list[dict[str, Any]]:
    with LogReader.open(db) as reader:
        return [e.record for e in reader.entries()]


def _calls_seen(p: Proxy) -> list[str]:
    return [m["params"]["name"] for m in p.server_received() if m.get("method") == "tools/call"]


def _wait_for(predicate: Any, timeout: float) -> float | None:
    """Seconds until ``predicate()`` held (polled), or None if it never did."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.01)
    return None


# --- stdio, real processes -----------------------------------------------------------------


def test_answer_is_withheld_until_the_decision_is_durable(tmp_path: Path) -> None:
    proxy = Proxy(tmp_path, env=_slow_env(WARDEN_TEST_COMMIT_DELAY=str(DELAY)))
    try:
        proxy.initialize()
        sent = time.monotonic()
        proxy.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "hello"}}})  # fmt: skip
        # the server gets the call at once, while the decision's commit is held back...
        seen = _wait_for(lambda: _calls_seen(proxy) == ["echo"], DELAY * 0.75)
        assert seen is not None, "the call was not forwarded before its decision was durable"
        assert proxy.lines.empty(), "the answer went out before the decision was durable"
        answer = proxy.recv()
        waited = time.monotonic() - sent
        # ...and its answer reaches the client only once the commit is done
        assert text_of(answer) == "hello"
        assert waited >= DELAY * 0.95, waited
        assert proxy.close() == 0
        records = _records(proxy.db)
        kinds = [(r["type"], r.get("kind"), r.get("tool")) for r in records]
        decision = kinds.index(("decision", "mcp", "mcp__fake__echo"))
        result = kinds.index(("mcp", "tool_result", "echo"))
        assert decision < result  # the log keeps the order of events
        assert records[decision]["verdict"] == "allow"
    finally:
        proxy.close()


def test_write_ahead_forwards_only_once_the_decision_is_durable(tmp_path: Path) -> None:
    proxy = Proxy(tmp_path, "--write-ahead", env=_slow_env(WARDEN_TEST_COMMIT_DELAY=str(DELAY)))
    try:
        proxy.initialize()
        sent = time.monotonic()
        proxy.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "hello"}}})  # fmt: skip
        assert _wait_for(lambda: bool(_calls_seen(proxy)), DELAY * 0.75) is None
        assert text_of(proxy.recv()) == "hello"
        assert time.monotonic() - sent >= DELAY * 0.95
        assert _calls_seen(proxy) == ["echo"]
    finally:
        proxy.close()


def test_denied_call_is_durable_before_it_is_answered(tmp_path: Path) -> None:
    proxy = Proxy(tmp_path, env=_slow_env(WARDEN_TEST_COMMIT_DELAY=str(DELAY)))
    try:
        proxy.initialize()
        sent = time.monotonic()
        answer = proxy.call(1, "run_command", {"command": "cat ~/.ssh/id_rsa"})
        assert time.monotonic() - sent >= DELAY * 0.95  # today's order: record, then refusal
        assert answer["result"]["_meta"]["warden/verdict"] in ("deny", "kill")
        assert _calls_seen(proxy) == []
    finally:
        proxy.close()


def test_a_failed_record_withholds_the_answer_and_later_calls_are_refused(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "disk-is-broken"
    proxy = Proxy(tmp_path, env=_slow_env(WARDEN_TEST_COMMIT_FAIL=str(broken)))
    try:
        proxy.initialize()
        broken.touch()
        proxy.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "the-secret-output"}}})
        raw = proxy.recv_raw()
        answer = json.loads(raw)
        # the call ran (forwarded while its record was being written), but the agent never
        # sees a result whose decision is not durable: an error in its place
        assert _calls_seen(proxy) == ["echo"]
        assert b"the-secret-output" not in raw
        assert answer["id"] == 1 and "result" not in answer
        assert "withheld the server's answer" in answer["error"]["message"]
        # the log is still broken: the next call is refused before it runs
        later = proxy.call(2, "echo", {"text": "again"})
        assert later["result"]["isError"] is True
        assert "audit log is unavailable" in text_of(later)
        assert _calls_seen(proxy) == ["echo"]
        # once the log works again, calls run (recorded before they are forwarded from now on)
        broken.unlink()
        assert text_of(proxy.call(3, "echo", {"text": "back"})) == "back"
        assert _calls_seen(proxy) == ["echo", "echo"]
        proxy.close()
        assert b"audit record of a forwarded call failed" in proxy.stderr
        verdicts = [(r["tool"], r["verdict"]) for r in _records(proxy.db)
                    if r["type"] == "decision"]  # fmt: skip
        assert verdicts == [("mcp__fake__echo", "allow")]  # only call 3's record was written
    finally:
        proxy.close()


def test_a_server_that_dies_while_the_record_is_written(tmp_path: Path) -> None:
    proxy = Proxy(tmp_path, env=_slow_env(WARDEN_TEST_COMMIT_DELAY=str(DELAY)))
    try:
        proxy.initialize()
        answer = proxy.call(1, "crash")
        assert "the MCP server exited" in answer["error"]["message"]
        proxy.close()
        # the proxy waited for the record of the call before it exited
        decisions = [r["tool"] for r in _records(proxy.db) if r["type"] == "decision"]
        assert decisions == ["mcp__fake__crash"]
    finally:
        proxy.close()


# --- HTTP, real processes ------------------------------------------------------------------


@pytest.fixture
def slow_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Http]:
    for key, value in _slow_env(WARDEN_TEST_COMMIT_DELAY=str(DELAY)).items():
        monkeypatch.setenv(key, value)
    h = Http(tmp_path)
    yield h
    h.close()


def _timed_call(h: Http, req_id: int, tool: str, args: dict[str, Any]) -> tuple[Any, float, bool]:
    """The answer, the seconds it took, and whether the server had the call long before the
    answer came (within 3/4 of the commit's delay)."""
    seen: list[float] = []
    done = threading.Event()
    sent = time.monotonic()

    def watch() -> None:
        while not done.is_set():
            if tool in h.calls_seen():
                seen.append(time.monotonic() - sent)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    answer = h.call(req_id, tool, args)
    took = time.monotonic() - sent
    done.set()
    watcher.join()
    return answer, took, bool(seen) and seen[0] < DELAY * 0.75


def test_http_json_answer_waits_for_the_durable_decision(slow_http: Http) -> None:
    slow_http.initialize()
    answer, took, early = _timed_call(slow_http, 1, "echo", {"text": "hello"})
    assert answer["result"]["content"][0]["text"] == "hello"
    assert early, "the call was not forwarded before its decision was durable"
    assert took >= DELAY * 0.95


def test_http_sse_answer_waits_for_the_durable_decision(slow_http: Http) -> None:
    slow_http.initialize()
    events, took, early = _timed_call(slow_http, 1, "stream", {"text": "streamed"})
    assert events[-1]["result"]["content"][0]["text"] == "streamed: streamed"
    assert early
    assert took >= DELAY * 0.95


def test_http_failed_record_withholds_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "disk-is-broken"
    for key, value in _slow_env(WARDEN_TEST_COMMIT_FAIL=str(broken)).items():
        monkeypatch.setenv(key, value)
    h = Http(tmp_path)
    try:
        h.initialize()
        broken.touch()
        answer = h.call(1, "echo", {"text": "the-secret-output"})
        assert "withheld the server's answer" in answer["error"]["message"]
        assert h.calls_seen() == ["echo"]
        later = h.call(2, "echo", {"text": "again"})
        assert later["result"]["isError"] is True
        assert h.calls_seen() == ["echo"]
    finally:
        h.close()


# --- the session's gate, in process --------------------------------------------------------


@pytest.fixture
def slowed(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Commits holding a decision wait until the returned event is set."""
    from warden.record.store.sqlite import SQLiteStore

    release = threading.Event()
    original = SQLiteStore.append

    def append(self: SQLiteStore, start: int, datas: Any, *args: Any, **kwargs: Any) -> None:
        if any(b'"type":"decision"' in d for d in datas):
            release.wait(30)
        original(self, start, datas, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "append", append)
    return release


def _session(tmp_path: Path, **config: Any) -> McpSession:
    return open_session(McpConfig(server_name="fs", cwd=str(tmp_path), **config),
                        audit=tmp_path / "a.db")  # fmt: skip


def _call(i: int, path: str = "a.txt") -> bytes:
    return (b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"read_text_file",'
            b'"arguments":{"path":"%s"}}}\n' % (i, path.encode()))  # fmt: skip


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    thread.start()
    return thread, box


def test_a_server_batch_waits_for_the_decision(tmp_path: Path, slowed: threading.Event) -> None:
    session = _session(tmp_path)
    try:
        out = session.from_client(_call(1))
        assert out.to_server and out.gate is not None  # forwarded before durable
        batch = [{"jsonrpc": "2.0", "method": "notifications/progress",
                  "params": {"progressToken": "p", "progress": 1}},
                 {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text",
                                                                     "text": "hi"}]}}]
        thread, box = _in_thread(session.from_server, json.dumps(batch).encode() + b"\n")
        thread.join(0.5)
        assert thread.is_alive() and not box  # the server's answer arrived first: held back
        slowed.set()
        thread.join(30)
        lines = [json.loads(line) for line in box[0].to_client]
        assert [m.get("id") for m in lines] == [None, 1]
        assert lines[1]["result"]["content"][0]["text"] == "hi"
        # (the result's own record is routine: written 50 ms after it, racing this read)
        records = _records(tmp_path / "a.db")
        assert [r["verdict"] for r in records if r["type"] == "decision"] == ["allow"]
    finally:
        slowed.set()
        session.close()


def test_held_answers_are_written_by_the_thread_that_commits(
    tmp_path: Path, slowed: threading.Event
) -> None:
    """``hold_answers`` (the stdio transport): the server's thread does not wait for a commit
    another thread is making; what the server sent is delivered in its order, once durable,
    by the thread whose commit made it so; what comes after that commit is delivered at once."""
    session = _session(tmp_path)
    delivered: list[tuple[int, bytes]] = []
    session.hold_answers(lambda out: delivered.extend(
        (threading.get_ident(), line) for line in out.to_client))
    try:
        out = session.from_client(_call(1))
        assert out.gate is not None
        committer, _ = _in_thread(session.commit, out.gate)  # forwarded: now committing
        deadline = time.monotonic() + 10
        while not out.gate._claimed.locked() and time.monotonic() < deadline:
            time.sleep(0.005)
        note = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1}}\n'
        answer = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}\n'
        for line in (note, answer):
            assert session.from_server(line).to_client == ()  # held, returned at once
        committer.join(0.3)
        assert committer.is_alive() and delivered == []  # not durable yet: nothing went out
        slowed.set()
        committer.join(30)
        assert [line for _, line in delivered] == [note, answer]
        assert {tid for tid, _ in delivered} == {committer.ident}
        later = b'{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n'
        session.from_server(later)
        assert delivered[-1] == (threading.get_ident(), later)
    finally:
        slowed.set()
        session.close()


def test_an_answer_that_comes_first_is_committed_and_written_by_the_servers_thread(
    tmp_path: Path,
) -> None:
    """The answer arrived before the client's thread started the commit: the server's thread
    commits the records itself and delivers at once; a record that failed withholds it."""
    for fail in (False, True):
        session = _session(tmp_path)
        delivered: list[tuple[int, bytes]] = []
        session.hold_answers(lambda out, d=delivered: d.extend(
            (threading.get_ident(), line) for line in out.to_client))
        try:
            out = session.from_client(_call(1))
            assert out.gate is not None
            if fail:
                assert session.guard is not None and session.guard.log is not None
                session.guard.log.store.append = _refuse  # type: ignore[method-assign]
            answer = b'{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n'
            relay, _ = _in_thread(session.from_server, answer)  # not the main thread: it leads
            relay.join(30)
            assert [tid for tid, _ in delivered] == [relay.ident]
            if fail:
                error = json.loads(delivered[0][1])["error"]
                assert "withheld the server's answer" in error["message"]
            else:
                assert delivered[0][1] == answer
            session.commit(out.gate)  # the transport's call, late: nothing more to do
            assert len(delivered) == 1
        finally:
            session.close()


def _refuse(*args: Any, **kwargs: Any) -> None:
    from warden.errors import StoreError

    raise StoreError("test: the store refuses this commit")


def test_the_transport_commit_settles_the_gate_once(tmp_path: Path,
                                                    slowed: threading.Event) -> None:  # fmt: skip
    session = _session(tmp_path)
    try:
        out = session.from_client(_call(1))
        assert out.gate is not None
        committer, _ = _in_thread(session.commit, out.gate)
        answer = b'{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n'
        relay, box = _in_thread(session.from_server, answer)
        relay.join(0.3)
        assert relay.is_alive() and committer.is_alive()
        slowed.set()
        committer.join(30)
        relay.join(30)
        assert box[0].to_client == (answer,)
    finally:
        slowed.set()
        session.close()


def test_refusals_and_write_ahead_are_durable_on_return(tmp_path: Path) -> None:
    for config, line in (({}, _call(1, "~/.ssh/id_rsa")), ({"write_ahead": True}, _call(2))):
        session = _session(tmp_path, **config)
        try:
            out = session.from_client(line)
            assert out.gate is None
            last = _records(tmp_path / "a.db")[-1]
            assert last["type"] == "decision"  # durable before from_client returned
            assert bool(out.to_server) == (last["verdict"] == "allow")
        finally:
            session.close()


def test_close_waits_for_the_records_of_unanswered_calls(
    tmp_path: Path, slowed: threading.Event
) -> None:
    session = _session(tmp_path)
    out = session.from_client(_call(1))
    assert out.gate is not None
    closer, _ = _in_thread(session.close)
    closer.join(0.3)
    assert closer.is_alive()  # waiting for the decision record
    slowed.set()
    closer.join(30)
    assert not closer.is_alive()
    assert [r["verdict"] for r in _records(tmp_path / "a.db")] == ["allow"]
