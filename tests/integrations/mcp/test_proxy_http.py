"""``warden mcp --http`` as a real process in front of a real Streamable HTTP server (stdlib)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integrations.mcp.proxyproc import ASSETS, warden_mcp_argv

from warden.record import LogReader

pytestmark = pytest.mark.timeout(120)

FAKE_HTTP = ASSETS / "fake_http_server.py"


class Http:
    """The fake server and the proxy in front of it, on loopback ports."""

    def __init__(self, tmp: Path, *options: str, upstream: str | None = None,
                 server_env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.log = tmp / "server-received.jsonl"
        self.db = tmp / "audit.db"
        env = {**os.environ, "FAKE_MCP_LOG": str(self.log), **(server_env or {})}
        self.server = subprocess.Popen([sys.executable, str(FAKE_HTTP)], stdout=subprocess.PIPE,
                                       env=env, text=True)  # fmt: skip
        try:  # a proxy that fails to start must not leave the fake server running
            assert self.server.stdout is not None
            port = int(self.server.stdout.readline())
            self.upstream = upstream or f"http://127.0.0.1:{port}/mcp"
            self.proxy = subprocess.Popen(
                [*warden_mcp_argv("--http", "--upstream", self.upstream, "--listen",
                                  "127.0.0.1:0", "--audit-db", str(self.db), "--name", "fake",
                                  *options)],
                stderr=subprocess.PIPE, text=True, cwd=str(tmp),
            )  # fmt: skip
        except BaseException:
            self.server.kill()
            self.server.wait()
            raise
        assert self.proxy.stderr is not None
        line = self.proxy.stderr.readline()
        if "listening on http://" not in line:
            self.close()
        assert "listening on http://" in line, line
        self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        self.session: str | None = None

    def post(self, obj: Any, *, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = raw if raw is not None else json.dumps(obj).encode()
        hdrs = {"Content-Type": "application/json",
                "Accept": "application/json, text/event-stream", **(headers or {})}
        if self.session:
            hdrs["Mcp-Session-Id"] = self.session
        conn.request("POST", "/mcp", body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def rpc(self, req_id: Any, method: str, params: dict[str, Any] | None = None) -> Any:
        status, headers, data = self.post({"jsonrpc": "2.0", "id": req_id, "method": method,
                                           "params": params or {}})  # fmt: skip
        assert status == 200, (status, data)
        if headers.get("content-type", "").startswith("text/event-stream"):
            return [json.loads(line[6:]) for line in data.decode().splitlines()
                    if line.startswith("data: ")]  # fmt: skip
        return json.loads(data)

    def call(self, req_id: Any, tool: str, args: dict[str, Any] | None = None) -> Any:
        return self.rpc(req_id, "tools/call", {"name": tool, "arguments": args or {}})

    def initialize(self) -> Any:
        status, headers, data = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                           "params": {"protocolVersion": "2025-06-18",
                                                      "capabilities": {},
                                                      "clientInfo": {"name": "t", "version": "1"}}})
        assert status == 200
        self.session = headers.get("mcp-session-id")
        return json.loads(data)

    def seen(self) -> list[dict[str, Any]]:
        """What the upstream logged: each message it received, ``{"connection": N}`` per new
        connection, ``{"mcp-name-header": ...}``."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls_seen(self) -> list[str]:
        return [m["params"]["name"] for m in self.seen() if m.get("method") == "tools/call"]

    def connections_seen(self) -> int:
        return sum(1 for m in self.seen() if "connection" in m)

    def close(self) -> None:
        for proc in (self.proxy, self.server):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Http]:
    proxy = Http(tmp_path)
    yield proxy
    proxy.close()


def test_session_id_and_allowed_call_pass_through(h: Http) -> None:
    assert h.initialize()["result"]["serverInfo"]["name"] == "fake"
    assert h.session == "sess-1"
    status, _, data = h.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert status == 202 and data == b""
    answer = h.call(1, "echo", {"text": "hello"})
    assert answer["result"]["content"][0]["text"] == "hello"
    assert h.calls_seen() == ["echo"]


def test_a_kept_alive_connection_does_not_wait_for_delayed_acks(h: Http) -> None:
    """The answer's headers and body leave in one write, with TCP_NODELAY: two writes with
    Nagle's algorithm on made every answer on a kept-alive connection wait for the client's
    delayed ACK (>= 40 ms; measured 48 ms median before, 9 ms after, audit included)."""
    import statistics
    import time

    h.initialize()
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    hdrs = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "Mcp-Session-Id": h.session or ""}  # fmt: skip
    times = []
    for i in range(15):
        body = json.dumps({"jsonrpc": "2.0", "id": 100 + i, "method": "tools/call",
                           "params": {"name": "echo", "arguments": {"text": "x"}}}).encode()
        start = time.perf_counter()
        conn.request("POST", "/mcp", body=body, headers=hdrs)
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["id"] == 100 + i
        times.append(time.perf_counter() - start)
    conn.close()
    assert statistics.median(times) < 0.038, times


def test_denied_call_never_reaches_the_server(h: Http) -> None:
    h.initialize()
    answer = h.call(1, "run_command", {"command": "cat ~/.ssh/id_rsa"})
    assert answer["result"]["isError"] is True and "cred.ssh-key" in json.dumps(answer)
    assert h.calls_seen() == []


def test_mcp_name_header_names_the_judged_tool(h: Http) -> None:
    """2026-07-28 routes by ``Mcp-Name``; a client's mismatched header must not reach the server."""
    h.initialize()
    status, _, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": "echo", "arguments": {"text": "x"}}},
                             headers={"Mcp-Method": "tools/call", "Mcp-Name": "run_command"})
    assert status == 200 and json.loads(data)["result"]["content"][0]["text"] == "x"
    seen = [json.loads(line) for line in h.log.read_text().splitlines()]
    assert {"mcp-name-header": "echo"} in seen
    assert {"mcp-name-header": "run_command"} not in seen


def test_sse_answers_are_relayed_and_scanned(h: Http) -> None:
    h.initialize()
    events = h.call(1, "stream", {"text": "x"})
    assert [e.get("method") for e in events] == ["notifications/progress", None]
    assert events[1]["result"]["content"][0]["text"] == "streamed: x"
    leak = h.call(2, "leak")
    assert "PRIVATE KEY-----\\nb3Bl" not in json.dumps(leak)
    assert leak["result"]["_meta"]["warden/flags"][0] == "private-key"


def test_poisoned_tools_removed_over_http(h: Http) -> None:
    h.initialize()
    names = [t["name"] for t in h.rpc(1, "tools/list")["result"]["tools"]]
    assert "add" not in names and "echo" in names
    names = [t["name"] for t in h.rpc(2, "tools/list")["result"]["tools"]]
    assert "get_weather" not in names
    assert "removed tool" in json.dumps(h.call(3, "add", {"a": 1, "b": 2}))


def test_refused_elicitation_is_answered_to_the_server_over_http(h: Http) -> None:
    """Over Streamable HTTP the server's request arrives in an SSE stream and the client's
    answers are POSTs: warden POSTs its refusal upstream itself, in the client's session, so
    the server does not wait for an answer that would never come."""
    h.initialize()
    events = h.call(1, "elicit", {"kind": "key"})
    assert not any(e.get("method") == "elicitation/create" for e in events)
    received = [json.loads(line) for line in h.log.read_text().splitlines()]
    refusal = next(m for m in received if m.get("id") == "e-1")
    assert "refused this elicitation request" in refusal["error"]["message"]
    events = h.call(2, "elicit", {"kind": "benign"})  # a benign one reaches the client
    assert [e.get("method") for e in events] == ["elicitation/create"]


def test_get_stream_and_delete_pass_through(h: Http) -> None:
    h.initialize()
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    conn.request("GET", "/mcp", headers={"Accept": "text/event-stream",
                                         "Mcp-Session-Id": h.session or ""})  # fmt: skip
    resp = conn.getresponse()
    assert resp.status == 200 and b"notifications/tools/list_changed" in resp.read()
    conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": h.session or ""})
    assert conn.getresponse().status == 200


def test_bad_input_over_http(h: Http) -> None:
    h.initialize()
    status, _, data = h.post(None, raw=b"{nope")
    assert status == 200 and json.loads(data)["error"]["code"] == -32700
    status, _, data = h.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": "echo"}},
                             headers={"Origin": "http://evil.example"})  # fmt: skip
    assert status == 403
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    conn.putrequest("POST", "/mcp")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    garbage = h.call(5, "garbage")
    assert garbage["id"] == 5 and "malformed" in garbage["error"]["message"]
    assert h.calls_seen() == ["garbage"]


def test_unreachable_upstream_is_a_json_rpc_error(tmp_path: Path) -> None:
    h = Http(tmp_path, upstream="http://127.0.0.1:9/mcp")
    try:
        status, _, data = h.post({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
        assert status == 502
        answer = json.loads(data)
        assert answer["id"] == 4 and "could not reach" in answer["error"]["message"]
    finally:
        h.close()


def test_records_over_http(h: Http) -> None:
    h.initialize()
    h.call(1, "echo", {"text": "a"})
    h.close()
    with LogReader.open(h.db) as reader:
        records = [e.record for e in reader.entries()]
    assert any(r["type"] == "decision" and r["tool"] == "mcp__fake__echo" for r in records)
    assert any(r.get("kind") == "tool_result" for r in records)


def test_official_client_over_streamable_http(mcp_python: str, tmp_path: Path) -> None:
    python = mcp_python
    h = Http(tmp_path)
    try:
        for mode in ("legacy", "auto"):
            spec = {"url": f"http://127.0.0.1:{h.port}/mcp", "mode": mode, "steps": [
                {"op": "list"},
                {"op": "call", "name": "echo", "arguments": {"text": "hi"}},
                {"op": "call", "name": "run_command",
                 "arguments": {"command": "cat ~/.ssh/id_rsa"}},
            ]}  # fmt: skip
            spec_file = tmp_path / f"{mode}.json"
            spec_file.write_text(json.dumps(spec))
            done = subprocess.run([python, str(Path(__file__).with_name("official_client.py")),
                                   str(spec_file)], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-2000:]
            steps = json.loads(done.stdout.strip().splitlines()[-1])["steps"]
            assert "add" not in steps[0]["tools"] and "echo" in steps[0]["tools"]
            assert steps[1] == {"isError": False, "text": "hi"}
            assert steps[2]["isError"] and "cred.ssh-key" in steps[2]["text"]
    finally:
        h.close()


# --- upstream connections: kept alive, reused, never a message sent twice -------------------


def test_upstream_connections_are_reused(h: Http) -> None:
    h.initialize()
    for i in range(1, 11):
        assert h.call(i, "echo", {"text": str(i)})["result"]["content"][0]["text"] == str(i)
    assert h.calls_seen() == ["echo"] * 10
    assert h.connections_seen() == 1  # eleven requests, one connection (a new one each before)


def test_a_server_that_closes_each_connection_silently_still_gets_every_call(
    tmp_path: Path,
) -> None:
    # No "Connection: close": the proxy keeps the connection, sees it closed before reuse
    # (poll), and opens a new one; no call fails and none is sent twice.
    proxy = Http(tmp_path, server_env={"FAKE_HTTP_CLOSE": "1"})
    try:
        proxy.initialize()
        for i in range(1, 6):
            assert proxy.call(i, "echo", {"text": "x"})["result"]["content"][0]["text"] == "x"
        assert proxy.calls_seen() == ["echo"] * 5
        assert proxy.connections_seen() == 6
    finally:
        proxy.close()


def test_a_call_whose_connection_dies_is_answered_with_an_error_and_never_resent(h: Http) -> None:
    h.initialize()
    assert h.call(1, "echo", {"text": "warm"})["result"]  # the connection is now a kept one
    status, _, data = h.post({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                              "params": {"name": "vanish", "arguments": {}}})  # fmt: skip
    answer = json.loads(data)  # the server read it, then closed the connection unanswered
    assert status == 502 and answer["error"]["code"] == -32000 and answer["id"] == 2
    assert "could not reach the MCP server" in answer["error"]["message"]
    assert h.calls_seen() == ["echo", "vanish"]  # once: a call is never sent again
    assert h.call(3, "echo", {"text": "after"})["result"]["content"][0]["text"] == "after"
    with LogReader.open(h.db) as reader:
        decisions = [e.record for e in reader.entries() if e.record.get("type") == "decision"]
    assert [d["tool"] for d in decisions][-2:] == ["mcp__fake__vanish", "mcp__fake__echo"]


def test_a_connection_rested_past_the_idle_limit_is_not_reused(h: Http) -> None:
    from warden.integrations.mcp import http as mcp_http

    h.initialize()
    h.call(1, "echo", {"text": "x"})
    time.sleep(mcp_http.IDLE_SECONDS + 0.3)
    h.call(2, "echo", {"text": "y"})
    assert h.connections_seen() == 2


def test_a_request_target_that_cannot_be_read_is_refused_and_the_proxy_goes_on(h: Http) -> None:
    h.initialize()
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": "x"}}}).encode()
    with socket.create_connection(("127.0.0.1", h.port), timeout=30) as s:  # raw: http.client
        s.sendall(b"POST http://[abc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"cannot read" in answer
    assert h.calls_seen() == []
    assert h.call(2, "echo", {"text": "y"})["result"]["content"][0]["text"] == "y"


def test_completion_and_a_refused_secret_answer_over_http(tmp_path: Path) -> None:
    """The same handling over Streamable HTTP: a flagged completion value is dropped from the
    JSON answer; with ``[mcp] elicitation_secrets = "deny"`` the user's answer POSTed with a
    token is replaced, upstream, by warden's JSON-RPC error (the server is not left waiting)."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[mcp]\nelicitation_secrets = "deny"\n')
    h = Http(tmp_path, "--policy", str(policy))
    try:
        h.initialize()
        done = h.rpc(1, "completion/complete", {"ref": {"type": "ref/prompt", "name": "review"},
                                                "argument": {"name": "b", "value": "poison"}})
        assert done["result"]["completion"]["values"] == ["poison-main", "poison-dev"]
        events = h.call(2, "elicit", {"kind": "benign"})
        assert [e.get("method") for e in events] == ["elicitation/create"]
        secret = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
        status, _, _ = h.post({"jsonrpc": "2.0", "id": events[0]["id"], "result": {
            "action": "accept", "content": {"branch": "main", "note": secret}}})
        assert status == 202
        received = h.seen()
        assert not any(secret in json.dumps(m) for m in received)
        refusal = next(m for m in received if m.get("id") == events[0]["id"] and "error" in m)
        assert "elicitation_secrets" in refusal["error"]["message"]
    finally:
        h.close()
