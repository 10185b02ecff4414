"""The egress proxy end to end on loopback: allowed traffic flows, counts are exact, events land.

Refusals and attacks are in tests/adversarial/contain/test_proxy_attacks.py.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest
from tests.adversarial.contain.harness import Harness, Sink, read_all, read_response

from warden.contain.proxy import ProxyLimits


def _allowed(sink: Sink) -> list[str]:
    # The name and the loopback address it resolves to: the address pattern is what lets the
    # rebinding check accept 127.0.0.1 for this test.
    return [f"allowed.test:{sink.port}", f"127.0.0.1:{sink.port}"]


NAMES = {"allowed.test": ["127.0.0.1"]}


def test_http_get_through_an_allowed_name_with_exact_counts() -> None:
    with Sink() as sink, Harness(_allowed(sink), names=NAMES) as h:
        request = (
            b"GET http://allowed.test:%d/hello?x=1 HTTP/1.1\r\nHost: allowed.test:%d\r\n"
            b"Proxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\n"
            b"Connection: close, X-Hop\r\nX-Hop: drop-me\r\nX-Keep: yes\r\n\r\n"
        ) % (sink.port, sink.port)
        reply = h.exchange(request)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert reply.endswith(b"ok /hello?x=1")
        [event] = h.wait_events(1)
        assert (event.verdict, event.method, event.host, event.port) == (
            "allow",
            "GET",
            "allowed.test",
            sink.port,
        )
        assert event.status == 200 and event.rule == f"allowed.test:{sink.port}"
        assert event.bytes_up == len(sink.received)
        assert event.bytes_down == len(reply)
        forwarded = bytes(sink.received)
        assert forwarded.startswith(
            b"GET /hello?x=1 HTTP/1.1\r\nHost: allowed.test:%d\r\n" % sink.port
        )
        assert b"X-Keep: yes" in forwarded
        for hop in (b"Proxy-Authorization", b"Proxy-Connection", b"Connection", b"X-Hop"):
            assert hop not in forwarded
        record = event.to_record()
        assert record["type"] == "egress" and record["v"] == 1 and record["verdict"] == "allow"


def test_keep_alive_requests_reuse_one_upstream_and_bodies_are_relayed() -> None:
    with Sink() as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as sock:
        base = b"http://allowed.test:%d" % sink.port
        sock.sendall(b"GET " + base + b"/one HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % sink.port)
        assert read_response(sock).endswith(b"ok /one")
        sock.sendall(
            b"POST " + base + b"/two HTTP/1.1\r\nContent-Length: 5\r\n"
            b"Host: allowed.test:%d\r\n\r\nhello" % sink.port
        )
        assert read_response(sock).endswith(b"ok /two hello")
        chunked = (
            b"POST " + base + b"/three HTTP/1.1\r\nHost: allowed.test:%d\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
        )
        sock.sendall(chunked % sink.port)
        # The sink does not decode chunked bodies: it answers the head, then sees the chunks.
        assert b"200 OK" in read_response(sock)
        events = h.wait_events(3)
        assert [e.status for e in events] == [200, 200, 200]
        assert sink.connections == 1
        # the sink answered before reading the chunks: give it time to read what was relayed
        relayed = sum(e.bytes_up for e in events)
        deadline = time.monotonic() + 5
        while len(sink.received) < relayed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert relayed == len(sink.received)
        assert b"5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" in sink.received


def test_expect_continue_is_answered_by_the_proxy() -> None:
    with Sink() as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as sock:
        sock.sendall(
            b"PUT http://allowed.test:%d/up HTTP/1.1\r\nHost: allowed.test:%d\r\n"
            b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n" % (sink.port, sink.port)
        )
        sock.settimeout(5)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"abc")
        assert read_response(sock).endswith(b"ok /up abc")
        assert b"Expect" not in sink.received


def test_connect_tunnel_relays_both_ways_with_exact_counts() -> None:
    with Sink("echo") as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as sock:
        sock.sendall(
            b"CONNECT allowed.test:%d HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n"
            % (sink.port, sink.port)
        )
        assert sock.recv(100) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        payload = bytes(range(256)) * 4096  # 1 MiB, not TLS: fine on a port other than 443
        received = bytearray()
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        while len(received) < len(payload):
            received += sock.recv(1 << 20)
        sender.join()
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock) == b""
        assert bytes(received) == payload
        [event] = h.wait_events(1)
        assert event.method == "CONNECT" and event.verdict == "allow" and event.status == 200
        assert event.bytes_up == len(payload) == len(sink.received)
        assert event.bytes_down == len(payload)


def test_tls_through_connect_with_matching_sni() -> None:
    with Sink("tls") as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as raw:
        raw.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % sink.port)
        assert raw.recv(100).startswith(b"HTTP/1.1 200")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # self-signed test certificate
        with context.wrap_socket(raw, server_hostname="allowed.test") as tls:
            tls.sendall(b"GET /secure HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
            assert read_response(tls).endswith(b"ok /secure")
        [event] = h.wait_events(1)
        assert event.verdict == "allow" and event.sni == "allowed.test"
        assert event.bytes_up > 0 and event.bytes_down > 0


def test_upstream_failures_are_502_and_recorded() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    allow = [f"allowed.test:{port}", f"127.0.0.1:{port}", f"gone.test:{port}"]
    with Harness(allow, names=NAMES) as h:
        reply = h.exchange(
            b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (port, port)
        )
        assert reply.startswith(b"HTTP/1.1 502 ") and b"warden: upstream unreachable" in reply
        reply = h.exchange(b"CONNECT gone.test:%d HTTP/1.1\r\n\r\n" % port)
        assert reply.startswith(b"HTTP/1.1 502 ")
        events = h.wait_events(2)
        assert [e.status for e in events] == [502, 502]
        assert [e.verdict for e in events] == ["allow", "allow"]  # allowed, but unreachable
        assert events[1].error is not None and "not in the test table" in events[1].error


def test_resolver_timeout_is_a_502_not_a_hang() -> None:
    def slow(name: str, port: int, timeout: float) -> list:  # type: ignore[type-arg]
        raise TimeoutError(f"resolving {name} took longer than {timeout}s")

    with Harness(["slow.test:81"]) as h:
        h.proxy.resolver = slow
        reply = h.exchange(b"GET http://slow.test:81/ HTTP/1.1\r\nHost: slow.test:81\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 502 ") and b"longer than" in reply


def test_close_ends_open_tunnels_and_joins_threads() -> None:
    with Sink("echo") as sink:
        h = Harness(_allowed(sink), names=NAMES)
        clients = []
        for _ in range(5):
            sock = h.connect()
            sock.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\nping" % sink.port)
            reply = b""
            while not reply.endswith(b"ping"):
                reply += sock.recv(100)
            assert reply == b"HTTP/1.1 200 Connection established\r\n\r\nping"
            clients.append(sock)
        before = threading.active_count()
        started = time.monotonic()
        h.close()
        assert time.monotonic() - started < 3
        assert threading.active_count() <= before - 5  # every session's thread
        assert not [t for t in threading.enumerate() if t.name == "warden-egress"]
        for sock in clients:
            assert read_all(sock, 5) == b""  # the proxy cut the tunnel
            sock.close()
        events = h.wait_events(5)
        assert all(e.bytes_up == 4 for e in events)


def test_limits_are_configurable() -> None:
    limits = ProxyLimits(max_connections=3, idle_timeout=0.5)
    with Harness([], limits=limits) as h:
        idle = [h.connect() for _ in range(3)]
        time.sleep(0.2)
        assert h.exchange(b"GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n").startswith(
            b"HTTP/1.1 503 "
        )
        for sock in idle:
            assert read_all(sock, 5) == b""  # idle timeout closes them without a word
            sock.close()
        events = h.wait_events(1)
        assert events[0].reason == "too many connections"


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_response_relay_is_byte_exact_for_any_read_size(chunk: int) -> None:
    with Sink() as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as sock:
        request = b"GET http://allowed.test:%d/x HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (
            sink.port,
            sink.port,
        )
        for i in range(0, len(request), chunk):
            sock.sendall(request[i : i + chunk])
        assert read_response(sock).endswith(b"ok /x")


def _get(h: Harness, sink: Sink, path: bytes = b"/", extra: bytes = b"") -> bytes:
    with h.connect() as sock:
        sock.sendall(
            b"GET http://allowed.test:%d%s HTTP/1.1\r\nHost: allowed.test:%d\r\n%s\r\n"
            % (sink.port, path, sink.port, extra)
        )
        return read_all(sock, 5) if b"close" in extra else read_response(sock)


@pytest.mark.parametrize(
    ("reply", "close", "expected_body"),
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            False,
            b"3\r\nabc\r\n0\r\n\r\n",
        ),
        (b"HTTP/1.1 200 OK\r\n\r\nuntil close", True, b"until close"),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            False,
            b"hi",
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", True, b"hi"),
    ],
)
def test_response_framings_are_relayed_exactly(
    reply: bytes, close: bool, expected_body: bytes
) -> None:
    with (
        Sink(reply=reply, close_after_reply=close) as sink,
        Harness(_allowed(sink), names=NAMES) as h,
    ):
        got = _get(h, sink, extra=b"Connection: close\r\n")
        assert got.endswith(expected_body)
        [event] = h.wait_events(1)
        assert event.status == 200 and event.bytes_down == len(got) and event.error is None
        assert b"Connection: close" in got  # the proxy closes after this response


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\nhi",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"",
    ],
)
def test_ambiguous_or_broken_responses_are_502(reply: bytes) -> None:
    with (
        Sink(reply=reply, close_after_reply=True) as sink,
        Harness(_allowed(sink), names=NAMES) as h,
    ):
        got = _get(h, sink, extra=b"Connection: close\r\n")
        assert got.startswith(b"HTTP/1.1 502 "), got
        [event] = h.wait_events(1)
        assert event.status == 502 and event.error


def test_a_reused_upstream_that_closed_is_retried_once() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    with (
        Sink(reply=reply, close_after_reply=True) as sink,
        Harness(_allowed(sink), names=NAMES) as h,
        h.connect() as sock,
    ):
        request = b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (
            sink.port,
            sink.port,
        )
        for _ in range(3):
            sock.sendall(request)
            assert read_response(sock).endswith(b"hi")
            time.sleep(0.05)  # let the upstream's close arrive (the common case)
        assert sink.connections == 3
        assert [e.status for e in h.wait_events(3)] == [200, 200, 200]


def test_large_bodies_are_counted_exactly() -> None:
    body = bytes(range(256)) * 20000  # 5 MB
    with Sink() as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as sock:
        head = (
            b"POST http://allowed.test:%d/big HTTP/1.1\r\nHost: allowed.test:%d\r\n"
            b"Content-Length: %d\r\n\r\n"
        ) % (sink.port, sink.port, len(body))
        sender = threading.Thread(target=sock.sendall, args=(head + body,))
        sender.start()
        reply = read_response(sock, 30)
        sender.join()
        assert reply.endswith(b"ok /big " + body)
        [event] = h.wait_events(1)
        assert event.bytes_up == len(sink.received)
        assert event.bytes_down == len(reply)


def test_http_1_0_client_gets_one_response_then_close() -> None:
    with Sink() as sink, Harness(_allowed(sink), names=NAMES) as h:
        reply = h.exchange(b"GET http://allowed.test:%d/old HTTP/1.0\r\n\r\n" % sink.port)
        assert reply.endswith(b"ok /old") and b"Connection: close" in reply
        assert sink.requests[0].startswith(
            b"GET /old HTTP/1.0\r\nHost: allowed.test:%d\r\n" % sink.port
        )


def test_server_speaks_first_protocols_work_on_other_ports() -> None:
    with Sink("banner") as sink, Harness(_allowed(sink), names=NAMES) as h, h.connect() as sock:
        sock.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % sink.port)
        got = b""
        while not got.endswith(b"\r\n", 40):  # the 200, then the banner, before we say a word
            got += sock.recv(100)
        assert got == b"HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-warden-test\r\n"
        sock.sendall(b"SSH-2.0-client\r\n")
        assert sock.recv(100) == b"SSH-2.0-client\r\n"


def test_accept_pool_serves_in_the_accepting_thread_and_reuses_it() -> None:
    from warden._accept import AcceptPool

    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[int] = []
    gate, served = threading.Event(), threading.Semaphore(0)

    def serve(conn: socket.socket, client: str) -> None:
        # What socket.accept() would have made (the pool builds the socket itself).
        assert (conn.family, conn.type, conn.gettimeout()) == (
            socket.AF_INET,
            socket.SOCK_STREAM,
            None,
        )
        assert client == "{}:{}".format(*conn.getpeername())
        seen.append(threading.get_ident())
        if conn.recv(1) == b"b":  # "b": block until the gate opens
            gate.wait(5)
        conn.close()
        served.release()

    pool = AcceptPool("test-accept", listener, serve)
    pool.start()
    for _ in range(20):  # one at a time: the thread that served goes back to accept()
        with socket.create_connection(listener.getsockname()) as sock:
            sock.sendall(b"q")
            assert served.acquire(timeout=5)
    assert len(set(seen)) <= 2
    blocked = [socket.create_connection(listener.getsockname()) for _ in range(5)]
    for sock in blocked:  # five at once: each gets its own thread, one more keeps accepting
        sock.sendall(b"b")
    deadline = time.monotonic() + 5
    while len(seen) < 25 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(set(seen[20:])) == 5
    with socket.create_connection(listener.getsockname()) as sock:
        sock.sendall(b"q")
        assert served.acquire(timeout=5)  # served while the five still block
    gate.set()
    assert all(served.acquire(timeout=5) for _ in range(5))
    pool.close()
    pool.join(5)
    assert not [t for t in threading.enumerate() if t.name == "test-accept"]
    for sock in blocked:
        sock.close()
    listener.close()


def test_a_tunnel_is_served_by_the_accepting_thread_alone() -> None:
    with Sink("echo") as sink, Harness(_allowed(sink), names=NAMES) as h:
        clients = []
        for _ in range(3):
            sock = h.connect()
            sock.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\nping" % sink.port)
            reply = b""
            while not reply.endswith(b"ping"):
                reply += sock.recv(100)
            clients.append(sock)
        egress = [t for t in threading.enumerate() if t.name == "warden-egress"]
        assert len(egress) <= 3 + 1  # one per tunnel (no download thread), one accepting
        for session in list(h.proxy._sessions):  # inherited from the listener
            assert session.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for sock in clients:
            sock.close()


def test_a_tunnel_direction_that_cannot_write_does_not_stall_the_other() -> None:
    """The client sends 8 MiB without reading while the upstream sends it 8 MiB: one thread
    relays both, so the upload must go on while the download waits for the client."""
    size = 8 << 20
    upstream = socket.create_server(("127.0.0.1", 0))
    port = upstream.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        conn, _ = upstream.accept()
        with conn:
            writer = threading.Thread(target=conn.sendall, args=(b"d" * size,))
            writer.start()
            while len(received) < size and (data := conn.recv(1 << 20)):
                received.extend(data)
            writer.join()

    server = threading.Thread(target=serve)
    server.start()
    names = {"bulk.test": ["127.0.0.1"]}
    with Harness([f"bulk.test:{port}", f"127.0.0.1:{port}"], names=names) as h:
        sock = h.connect()
        sock.sendall(b"CONNECT bulk.test:%d HTTP/1.1\r\n\r\n" % port)
        assert sock.recv(39) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        sock.settimeout(20)
        sock.sendall(b"u" * size)  # completes only if the proxy keeps reading it
        got = 0
        while got < size:
            data = sock.recv(1 << 20)
            assert data
            got += len(data)
        server.join(20)
        assert bytes(received) == b"u" * size
        sock.close()
        [event] = h.wait_events(1)
        assert (event.bytes_up, event.bytes_down, event.error) == (size, size, None)
    upstream.close()


def test_upstream_connect_has_a_timeout() -> None:
    from warden.contain.proxy import _connect

    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    queued = []
    for _ in range(4):  # fill the accept queue: the next SYN gets no answer
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        sock.connect_ex(full.getsockname())
        queued.append(sock)
    time.sleep(0.05)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        _connect(sock, full.getsockname(), 0.3)
    assert time.monotonic() - started < 2
    for s in [sock, *queued, full]:
        s.close()


def test_hello_gate_parses_the_same_bytes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay asks complete() then refusal() about the same bytes: one parse, same answer."""
    from warden.contain import proxy
    from warden.contain.tls import HelloStatus

    calls: list[bytes] = []
    real = proxy.parse_client_hello

    def counting(data: bytes) -> proxy.ClientHello:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(proxy, "parse_client_hello", counting)
    gate = proxy._HelloGate("a.test", strict=True)
    assert gate.refusal(b"", "the client closed") is None  # nothing parsed yet: parsed now
    assert calls == [b""]
    assert gate.complete(b"GET / HTTP/1.1\r\n")
    assert gate.refusal(b"GET / HTTP/1.1\r\n", "") == "non-TLS data in a port-443 tunnel"
    assert calls == [b"", b"GET / HTTP/1.1\r\n"]
    assert not gate.complete(b"\x16\x03\x01")  # other bytes: parsed again
    assert gate.hello.status is HelloStatus.NEED_MORE
    assert gate.refusal(b"\x16\x03\x01", "the client closed") is not None
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", None),
        (b"CONNECT a.test:443 HTTP/1.1\r\nHost: A.TEST\r\n\r\n", None),
        (b"CONNECT a.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n", 403),
        (b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", None),
        (b"CONNECT [fe80::1%eth0]:443 HTTP/1.1\r\nHost: [fe80::1%eth0]:443\r\n\r\n", 403),
        (b"GET http://a.test:8080/ HTTP/1.1\r\nHost: a.test:8080\r\n\r\n", None),
        (b"GET http://a.test/ HTTP/1.1\r\nHost: a.test:80\r\n\r\n", None),
        (b"GET http://a.test:8080/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 403),
    ],
)
def test_host_header_equal_to_the_target_or_not(head: bytes, status: int | None) -> None:
    """A Host identical to the target is accepted without re-parsing it; every other Host
    (including an identical but unparseable bracketed one) takes the full comparison."""
    from warden.contain.http1 import HttpError, check_host_header, parse_request_head

    request = parse_request_head(head)
    if status is None:
        check_host_header(request)
    else:
        with pytest.raises(HttpError) as caught:
            check_host_header(request)
        assert caught.value.status == status
