"""The lean HTTP/1.1 front end of ``warden serve --hooks``, on real loopback sockets.

Most tests drive :class:`~warden.integrations.hooks.httpserve.HTTPFront` with a small echo
handler, byte for byte through a raw socket where the framing is the point; the last ones go
through a whole in-process :class:`~warden.integrations.hooks.serve.HookServer`.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.integrations.hooks import httpserve
from warden.integrations.hooks.httpserve import Handlers, HTTPFront, Reply, Request

TOKEN = "t" * 43


class Echo:
    """Answers every body with its length; refuses a wrong token before the body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.heads = 0

    def head(self, request: Request, length: int | None) -> Reply | None:
        self.heads += 1
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, '{"error":"token"}', close=True)
        if length is None:
            return Reply(411, '{"error":"length"}', close=True)
        return None

    def body(self, request: Request, raw: bytes) -> Reply:
        self.bodies.append(raw)
        return Reply(200, json.dumps({"n": len(raw), "target": request.target,
                                      "dir": request.headers.get("x-dir")}))  # fmt: skip


@pytest.fixture
def front() -> Iterator[tuple[HTTPFront, Echo]]:
    echo = Echo()
    srv = HTTPFront(("127.0.0.1", 0), Handlers(head=echo.head, body=echo.body,
                                               headers=("X-Dir",)))  # fmt: skip
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, echo
    srv.shutdown()
    srv.server_close()
    t.join(10)


def _raw(srv: HTTPFront, data: bytes, *, until_close: bool = True) -> bytes:
    conn = socket.create_connection(srv.server_address, timeout=10)
    conn.sendall(data)
    out = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        out += chunk
        if not until_close and out.count(b"}") >= 1:
            break
    conn.close()
    return out


def _post(body: bytes, *, extra: bytes = b"", auth: bool = True) -> bytes:
    head = b"POST /x HTTP/1.1\r\nHost: h\r\n"
    if auth:
        head += f"Authorization: Bearer {TOKEN}\r\n".encode()
    return head + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def test_keep_alive_answers_back_to_back_without_waiting_for_acks(
    front: tuple[HTTPFront, Echo],
) -> None:
    """Each answer leaves in one segment with TCP_NODELAY: http.server's two writes waited for
    the client's delayed ACK, 40 ms per request on a connection used back to back."""
    srv, _ = front
    conn = http.client.HTTPConnection(*srv.server_address, timeout=10)
    times = []
    for i in range(20):
        start = time.perf_counter()
        conn.request("POST", f"/p{i}", body=b"x" * 300,
                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())["n"]) == (200, 300)
        assert resp.getheader("Content-Type") == "application/json"
        times.append(time.perf_counter() - start)
    conn.close()
    assert sorted(times)[10] < 0.025, times  # the median; a stall is >= 40 ms


def test_pipelined_requests_are_answered_in_order(front: tuple[HTTPFront, Echo]) -> None:
    srv, echo = front
    out = _raw(srv, _post(b"a" * 5) + _post(b"b" * 7, extra=b"Connection: close\r\n"))
    assert out.count(b"HTTP/1.1 200 OK") == 2
    assert echo.bodies == [b"a" * 5, b"b" * 7]
    assert b"Connection: close" in out.split(b"HTTP/1.1 200 OK")[2]


def test_the_body_is_read_exactly_even_when_it_trickles(front: tuple[HTTPFront, Echo]) -> None:
    srv, echo = front
    conn = socket.create_connection(srv.server_address, timeout=10)
    data = _post(b"0123456789" * 1000, extra=b"X-Dir: /proj\r\nConnection: close\r\n")
    for i in range(0, len(data), 997):
        conn.sendall(data[i : i + 997])
    out = b""
    while chunk := conn.recv(65536):
        out += chunk
    conn.close()
    answer = json.loads(out.split(b"\r\n\r\n", 1)[1])
    assert answer == {"n": 10000, "target": "/x", "dir": "/proj"}
    assert echo.bodies == [b"0123456789" * 1000]


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\nAuthorization: Bearer "
     + TOKEN.encode() + b"\r\n\r\n{}", 400),
    (b"POST /x HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer "
     + TOKEN.encode() + b"\r\nContent-Length: 2\r\n\r\n{}", 400),
    (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411),
    (b"POST /x HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}", 400),
    (b"POST /x HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}", 400),
    (b"POST /x HTTP/1.1\r\n folded: header\r\n\r\n", 400),
    (b"POST /x HTTP/1.1\r\nno-colon\r\n\r\n", 400),
    (b"POST  /x HTTP/1.1\r\n\r\n", 400),
    (b"POST /x HTTP/2.0\r\n\r\n", 505),
    (b"POST /x HTTP/1.1\nContent-Length: 2\n\n{}", 400),
    (b"POST /x HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", 431),
    (b"POST /x HTTP/1.1\r\nX-A: " + b"b" * (70 * 1024), 431),
])  # fmt: skip
def test_malformed_or_ambiguous_requests_are_refused_and_closed(
    front: tuple[HTTPFront, Echo], request_bytes: bytes, status: int
) -> None:
    srv, echo = front
    out = _raw(srv, request_bytes)
    assert _status(out) == status, out
    assert b"Connection: close" in out
    assert echo.bodies == []


def test_the_head_check_comes_before_the_body(front: tuple[HTTPFront, Echo]) -> None:
    """A request without the token is answered at once, without waiting for its body."""
    srv, echo = front
    conn = socket.create_connection(srv.server_address, timeout=10)
    conn.sendall(b"POST /x HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n")
    out = b""
    while chunk := conn.recv(65536):
        out += chunk
    conn.close()
    assert _status(out) == 401 and echo.bodies == []


def test_expect_100_continue_is_honoured_after_the_head_check(
    front: tuple[HTTPFront, Echo],
) -> None:
    srv, echo = front
    conn = socket.create_connection(srv.server_address, timeout=10)
    conn.sendall(f"POST /x HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nExpect: 100-continue\r\n"
                 "Content-Length: 4\r\nConnection: close\r\n\r\n".encode())  # fmt: skip
    assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.sendall(b"abcd")
    out = b""
    while chunk := conn.recv(65536):
        out += chunk
    conn.close()
    assert _status(out) == 200 and echo.bodies == [b"abcd"]
    refused = _raw(srv, b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 401 ")  # no 100 for a request that will be refused


def test_http_1_0_closes_unless_asked_to_keep_alive(front: tuple[HTTPFront, Echo]) -> None:
    srv, _ = front
    plain = _post(b"{}").replace(b"HTTP/1.1", b"HTTP/1.0")
    assert _raw(srv, plain + plain).count(b" 200 OK") == 1
    kept = _post(b"{}", extra=b"Connection: keep-alive\r\n").replace(b"HTTP/1.1", b"HTTP/1.0")
    assert _raw(srv, kept + plain).count(b" 200 OK") == 2


def test_many_concurrent_connections_are_all_served(front: tuple[HTTPFront, Echo]) -> None:
    srv, _ = front
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(*srv.server_address, timeout=30)
        for _ in range(3):
            conn.request("POST", "/c", body=b"{}", headers={"Authorization": f"Bearer {TOKEN}"})
            resp = conn.getresponse()
            resp.read()
            with lock:
                results.append(resp.status)
        time.sleep(0.2)  # hold the connection open while the others arrive
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * 90


def test_server_close_ends_idle_keep_alive_connections_at_once() -> None:
    echo = Echo()
    srv = HTTPFront(("127.0.0.1", 0), Handlers(head=echo.head, body=echo.body))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    conn = http.client.HTTPConnection(*srv.server_address, timeout=10)
    conn.request("POST", "/x", body=b"{}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert conn.getresponse().read()
    start = time.monotonic()
    srv.shutdown()
    srv.server_close()
    assert time.monotonic() - start < httpserve.IDLE_TIMEOUT / 3
    t.join(10)
    assert not t.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(srv.server_address, timeout=2)


# --- through the hook server ------------------------------------------------------------------


@pytest.fixture
def hook_server(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    from warden.integrations.hooks.serve import HookServer, ServeConfig

    srv = HookServer(ServeConfig(audit=tmp_path / "a.db"), listen=("127.0.0.1", 0), sock=None,
                     token=TOKEN)  # fmt: skip
    srv.start()
    address = srv.http_address
    assert address is not None
    yield address[0], address[1], tmp_path / "a.db"
    srv.shutdown()
    srv.close()


def test_every_decision_is_durable_before_its_answer(hook_server: tuple[str, int, Path]) -> None:
    from warden.record import LogReader

    host, port, db = hook_server
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for i in range(5):
        payload = json.dumps({"session_id": "s", "cwd": "/tmp", "hook_event_name": "PreToolUse",
                              "tool_name": "Bash", "tool_use_id": f"t{i}",
                              "tool_input": {"command": "cat ~/.ssh/id_rsa"}}).encode()  # fmt: skip
        conn.request("POST", "/warden/hook/claude-code", body=payload,
                      headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
        with LogReader.open(db) as reader:  # another connection sees it: committed
            ids = [e.record.get("tool_use_id") for e in reader.entries()]
        assert f"t{i}" in ids
    conn.close()


def test_a_bug_behind_the_http_side_is_a_block_not_a_silent_allow(
    hook_server: tuple[str, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer (or a 5xx) is a non-blocking error to Claude Code: the call would run."""
    from warden.integrations.hooks import serve

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(serve, "http_body", broken)
    host, port, _ = hook_server
    conn = http.client.HTTPConnection(host, port, timeout=30)
    payload = b'{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}}'
    conn.request("POST", "/warden/hook/claude-code", body=payload,
                 headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200
    assert b"deny" in body or b"block" in body


def test_a_handler_that_raises_is_answered_500_never_silence() -> None:
    """No answer at all is a failed hook whose meaning the client decides; a 5xx is one it
    must treat as a failure (Claude Code with onFailure block: a block)."""

    def head(request: Request, length: int | None) -> Reply | None:
        if request.target == "/head-bug":
            raise ValueError("Invalid IPv6 URL")
        return None

    def body(request: Request, raw: bytes) -> Reply:
        raise RuntimeError("bug")

    srv = HTTPFront(("127.0.0.1", 0), Handlers(head=head, body=body, headers=()))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        for target in (b"/head-bug", b"/x"):
            reply = _raw(srv, b"POST " + target + b" HTTP/1.1\r\nHost: h\r\n"
                         b"Content-Length: 2\r\n\r\n{}")  # fmt: skip
            assert _status(reply) == 500, reply
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(10)


def test_a_trickled_head_is_cut_at_the_head_deadline(
    front: tuple[HTTPFront, Echo], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slowloris: a byte every so often kept a thread for IDLE_TIMEOUT per byte, for up to
    64 KiB of head; now the whole head must arrive within HEAD_TIMEOUT of its first byte."""
    monkeypatch.setattr(httpserve, "HEAD_TIMEOUT", 0.5)
    srv, _ = front
    conn = socket.create_connection(srv.server_address, timeout=10)
    start = time.monotonic()
    out = b""
    try:
        for byte in b"POST /x HTTP/1.1\r\nHost: h\r\n":
            conn.sendall(bytes([byte]))
            time.sleep(0.1)
            conn.setblocking(False)
            try:
                out += conn.recv(4096)
            except BlockingIOError:
                pass
            finally:
                conn.setblocking(True)
            if out:
                break
        conn.settimeout(5)
        while chunk := conn.recv(4096):
            out += chunk
    except OSError:
        pass
    finally:
        conn.close()
    assert time.monotonic() - start < 4
    assert not out or _status(out) == 408


def test_connections_past_the_cap_get_503(
    front: tuple[HTTPFront, Echo], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(httpserve, "MAX_CONNECTIONS", 3)
    srv, _ = front
    held = [socket.create_connection(srv.server_address, timeout=10) for _ in range(3)]
    try:
        time.sleep(0.3)  # the three are accepted and waiting for a request
        extra = socket.create_connection(srv.server_address, timeout=10)
        with extra:  # answered at once, before it sends anything (sending could meet a reset)
            reply = extra.recv(4096)
        assert _status(reply) == 503
    finally:
        for conn in held:
            conn.close()
    time.sleep(0.3)
    assert _status(_raw(srv, _post(b"{}"), until_close=False)) == 200  # served again after
