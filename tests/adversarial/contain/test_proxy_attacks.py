"""A rogue agent against the egress proxy: every trick must fail, reach no sink, and say why.

Each test runs real loopback sinks that record every byte; a refused request must leave the sink
empty (no byte, and where it matters no connection) and produce an event with the reason.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time

import pytest
from tests.adversarial.contain.harness import (
    Harness,
    Sink,
    client_hello,
    read_all,
    read_response,
)

from warden.contain.proxy import ProxyEvent, ProxyLimits

NAMES = {"allowed.test": ["127.0.0.1"]}


def _allow(sink: Sink) -> list[str]:
    return [f"allowed.test:{sink.port}", f"127.0.0.1:{sink.port}"]


def _denied(h: Harness, reply: bytes, status: int, reason: str) -> ProxyEvent:
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply
    [event] = h.wait_events(1)
    assert event.verdict == "deny", event
    assert reason in event.reason, event
    assert b"warden: " + event.reason.encode() in reply
    return event


# -- destinations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("other.test", "not in the egress allowlist"),
        ("127.0.0.1", "is not listed"),
        ("0x7f000001", "non-canonical IP literal"),
        ("2130706433", "non-canonical IP literal"),
        ("0x7f.1", "non-canonical IP literal"),
        ("127.1", "non-canonical IP literal"),
        ("0177.0.0.1", "non-canonical IP literal"),
        ("169.254.169.254", "is not listed"),
        ("[::ffff:127.0.0.1]", "is not listed"),
        ("[::1]", "is not listed"),
        ("allowed.test.evil.test", "not in the egress allowlist"),
        ("xn--allwed-yxa.test", "not in the egress allowlist"),  # a look-alike of allowed.test
    ],
)
@pytest.mark.parametrize("method", ["GET", "CONNECT"])
def test_unlisted_destinations_are_refused(method: str, host: str, reason: str) -> None:
    with Sink("record") as sink, Harness([f"allowed.test:{sink.port}"], names=NAMES) as h:
        authority = b"%s:%d" % (host.encode(), sink.port)
        target = authority if method == "CONNECT" else b"http://" + authority + b"/"
        reply = h.exchange(
            b"%s %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (method.encode(), target, authority)
        )
        _denied(h, reply, 403, reason)
        assert sink.connections == 0 and sink.received == b""


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.0.0.7", "private"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "private"),
        ("0.0.0.0", "unspecified"),
    ],
)
def test_allowed_name_resolving_to_internal_address_is_refused(address: str, kind: str) -> None:
    """DNS rebinding: the name is allowed, what it resolves to is not (no address pattern)."""
    with (
        Sink("record") as sink,
        Harness([f"rebind.test:{sink.port}"], names={"rebind.test": [address]}) as h,
    ):
        for request in (
            b"GET http://rebind.test:%d/ HTTP/1.1\r\nHost: rebind.test:%d\r\n\r\n",
            b"CONNECT rebind.test:%d HTTP/1.1\r\nHost: rebind.test:%d\r\n\r\n",
        ):
            reply = h.exchange(request % (sink.port, sink.port))
            assert reply.startswith(b"HTTP/1.1 403 "), reply
        events = h.wait_events(2)
        assert all(e.verdict == "deny" and f"{kind} address" in e.reason for e in events), events
        assert sink.connections == 0


def test_one_internal_address_among_public_ones_refuses_the_name() -> None:
    with (
        Sink("record") as sink,
        Harness(
            [f"mixed.test:{sink.port}"], names={"mixed.test": ["93.184.215.14", "127.0.0.1"]}
        ) as h,
    ):
        reply = h.exchange(
            b"GET http://mixed.test:%d/ HTTP/1.1\r\nHost: mixed.test:%d\r\n\r\n"
            % (sink.port, sink.port)
        )
        _denied(h, reply, 403, "loopback address 127.0.0.1")
        assert sink.connections == 0


def test_deny_pattern_wins_over_allow() -> None:
    with (
        Sink("record") as sink,
        Harness(
            [f"*.allowed.test:{sink.port}", "127.0.0.1"],
            ["bad.allowed.test"],
            names={"bad.allowed.test": ["127.0.0.1"]},
        ) as h,
    ):
        reply = h.exchange(b"CONNECT bad.allowed.test:%d HTTP/1.1\r\n\r\n" % sink.port)
        event = _denied(h, reply, 403, "matches deny rule")
        assert event.rule == "bad.allowed.test"
        assert sink.connections == 0


# -- keep-alive and Host ------------------------------------------------------------------------


def test_second_request_to_another_host_on_a_kept_alive_connection_is_refused() -> None:
    with (
        Sink() as good,
        Sink("record") as evil,
        Harness(_allow(good), names={**NAMES, "evil.test": ["127.0.0.1"]}) as h,
        h.connect() as sock,
    ):
        sock.sendall(
            b"GET http://allowed.test:%d/a HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n"
            % (good.port, good.port)
        )
        assert read_response(sock).endswith(b"ok /a")
        sock.sendall(
            b"GET http://evil.test:%d/b HTTP/1.1\r\nHost: evil.test:%d\r\n\r\n"
            % (evil.port, evil.port)
        )
        reply = read_all(sock)
        assert reply.startswith(b"HTTP/1.1 403 ")
        events = h.wait_events(2)
        assert events[1].verdict == "deny" and events[1].host == "evil.test"
        assert evil.connections == 0 and len(good.requests) == 1


@pytest.mark.parametrize(
    "host_header",
    [b"evil.test", b"allowed.test:1", b"allowed.test.", b"127.0.0.1:%d"],
)
def test_host_header_must_agree_with_the_target(host_header: bytes) -> None:
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        header = host_header % sink.port if b"%d" in host_header else host_header
        reply = h.exchange(
            b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (sink.port, header)
        )
        # "allowed.test." is the same name after normalisation, but without a port it means
        # port 80, not the sink's: refused like the others.
        _denied(h, reply, 403, "Host header does not match")
        assert sink.received == b""


# -- request smuggling and malformed input -----------------------------------------------------

SMUGGLING = {
    "two content-length": b"Content-Length: 5\r\nContent-Length: 6\r\n",
    "content-length list": b"Content-Length: 5, 5\r\n",
    "cl and te": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    "te not chunked": b"Transfer-Encoding: gzip, chunked\r\n",
    "te identity": b"Transfer-Encoding: identity\r\n",
    "te twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "space before colon": b"Transfer-Encoding : chunked\r\n",
    "obs-fold": b"X-A: 1\r\n Transfer-Encoding: chunked\r\n",
    "nul in value": b"X-A: a\x00b\r\n",
    "bare cr in value": b"X-A: a\rb\r\n",
    "negative length": b"Content-Length: -1\r\n",
    "plus length": b"Content-Length: +5\r\n",
    "connection drops framing": b"Connection: Content-Length\r\nContent-Length: 5\r\n",
    "two hosts": b"Host: allowed.test:%d\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_attempts_are_400_before_any_upstream_byte(name: str) -> None:
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        extra = SMUGGLING[name] % sink.port if b"%d" in SMUGGLING[name] else SMUGGLING[name]
        request = (
            (
                b"POST http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n"
                % (sink.port, sink.port)
            )
            + extra
            + b"\r\nhello"
        )
        reply = h.exchange(request)
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        [event] = h.wait_events(1)
        assert event.verdict == "deny" and event.status == 400 and event.reason
        assert b"warden: " + event.reason.encode() in reply
        assert sink.connections == 0 and sink.received == b""


@pytest.mark.parametrize(
    "raw",
    [
        b"GET http://allowed.test/ HTTP/1.1\nHost: allowed.test\n\n",  # bare LF
        b"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\n\r\n",
        b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n",  # origin-form to a proxy
        b"GET https://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        b"GET http://allowed.test@evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n",
        b"GET http://allowed.test/#frag HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        b"GET  http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        b"GET http://allowed.test/ HTTP/2.0\r\nHost: allowed.test\r\n\r\n",
        b"GET http://allowed.test/ HTTP/1.1\r\n\r\n",  # no Host
        b"G\x00T http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        b"GET http://allowed.test/\xff HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        b"CONNECT allowed.test HTTP/1.1\r\n\r\n",  # no port
        b"\x16\x03\x01\x00\x05hello\r\n\r\n",
    ],
)
def test_malformed_requests_are_rejected_and_the_proxy_survives(raw: bytes) -> None:
    with Sink("record") as sink, Harness(["allowed.test", "evil.test"], names=NAMES) as h:
        reply = h.exchange(raw)
        status = int(reply.split(b" ", 2)[1])
        assert status in (400, 505), reply
        assert sink.connections == 0
        [event] = h.wait_events(1)
        assert event.verdict == "deny" and event.reason and event.status == status
        # Still serving.
        reply = h.exchange(b"GET http://nope.test/ HTTP/1.1\r\nHost: nope.test\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 403 ")


def test_bad_chunk_size_stops_the_body_and_drops_the_upstream() -> None:
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        request = (
            b"POST http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
            b"GET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"
        ) % (sink.port, sink.port)
        reply = h.exchange(request)
        assert reply.startswith(b"HTTP/1.1 400 ")
        time.sleep(0.1)
        assert b"0x5" not in sink.received and b"smuggled" not in sink.received


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        (b"X-Big: " + b"a" * 40000 + b"\r\n", 431),
        (b"".join(b"X-%d: 1\r\n" % i for i in range(150)), 431),
    ],
)
def test_huge_heads_are_431(extra: bytes, status: int) -> None:
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        reply = h.exchange(
            b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n"
            % (sink.port, sink.port)
            + extra
            + b"\r\n"
        )
        assert reply.startswith(b"HTTP/1.1 %d " % status)
        assert sink.connections == 0
        [event] = h.wait_events(1)
        assert event.verdict == "deny" and event.status == status and "too" in event.reason


def test_overlong_request_line_is_414() -> None:
    with Harness(["allowed.test"]) as h:
        reply = h.exchange(b"GET http://allowed.test/" + b"a" * 40000 + b" HTTP/1.1\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 414 ")
        assert h.wait_events(1)[0].reason == "request line too long"


# -- CONNECT and TLS ----------------------------------------------------------------------------


def _tunnel(h: Harness, authority: bytes, first: bytes) -> bytes:
    with h.connect() as sock:
        sock.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))
        head = sock.recv(39)
        assert head == b"HTTP/1.1 200 Connection established\r\n\r\n", head
        if first:
            sock.sendall(first)
        return read_all(sock)


def test_sni_that_differs_from_the_connect_host_closes_the_tunnel() -> None:
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        assert _tunnel(h, b"allowed.test:%d" % sink.port, client_hello("evil.test")) == b""
        [event] = h.wait_events(1)
        assert event.verdict == "deny" and event.sni == "evil.test"
        assert "does not match CONNECT host" in event.reason
        time.sleep(0.1)
        assert sink.received == b"" and event.bytes_up == 0


def test_sni_fragmented_over_records_is_still_checked() -> None:
    hello = client_hello("evil.test")
    body = hello[5:]
    split = b"".join(
        b"\x16\x03\x01" + len(part).to_bytes(2, "big") + part
        for part in (body[:40], body[40:41], body[41:])
    )
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        assert _tunnel(h, b"allowed.test:%d" % sink.port, split) == b""
        assert "does not match" in h.wait_events(1)[0].reason
        assert sink.received == b""


def test_sni_to_an_ip_literal_connect_is_refused() -> None:
    with Sink("record") as sink, Harness([f"127.0.0.1:{sink.port}"]) as h:
        _tunnel(h, b"127.0.0.1:%d" % sink.port, client_hello("evil.test"))
        assert "does not match" in h.wait_events(1)[0].reason
        assert sink.received == b""


def _with_extension(hello: bytes, ext_type: int, data: bytes) -> bytes:
    """Append one extension to a single-record ClientHello, fixing every length."""
    record = bytearray(hello)
    ext = ext_type.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    # Extensions are last: find their length field by walking the fixed fields.
    pos = 5 + 4 + 2 + 32
    pos += 1 + record[pos]
    pos += 2 + int.from_bytes(record[pos : pos + 2], "big")
    pos += 1 + record[pos]
    ext_len = int.from_bytes(record[pos : pos + 2], "big") + len(ext)
    record[pos : pos + 2] = ext_len.to_bytes(2, "big")
    record += ext
    record[3:5] = (len(record) - 5).to_bytes(2, "big")
    record[6:9] = (len(record) - 9).to_bytes(3, "big")
    return bytes(record)


def test_encrypted_client_hello_is_refused() -> None:
    hello = _with_extension(client_hello("allowed.test"), 0xFE0D, b"\x00" * 32)
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        assert _tunnel(h, b"allowed.test:%d" % sink.port, hello) == b""
        assert "Encrypted Client Hello" in h.wait_events(1)[0].reason
        assert sink.received == b""


def test_duplicate_server_name_extension_is_malformed() -> None:
    hello = client_hello("allowed.test")
    # A second server_name extension (RFC 8446 section 4.2: duplicates are forbidden).
    hello = _with_extension(hello, 0x0000, b"\x00\x09\x00\x00\x06evil.t")
    with Sink("record") as sink, Harness(_allow(sink), names=NAMES) as h:
        assert _tunnel(h, b"allowed.test:%d" % sink.port, hello) == b""
        assert "malformed TLS ClientHello" in h.wait_events(1)[0].reason
        assert sink.received == b""


@pytest.fixture
def port_443_sink() -> Sink:
    """A sink on port 443 of a private loopback address (needs root or a low port start)."""
    try:
        return Sink("record", host="127.42.0.1", port=443)
    except OSError as exc:
        pytest.skip(f"cannot bind 127.42.0.1:443 ({exc}); needs root")


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "non-TLS data in a port-443 tunnel"),
        (None, "TLS ClientHello without SNI on port 443"),
        (b"", "no TLS ClientHello on port 443"),
    ],
)
def test_port_443_tunnels_need_tls_with_sni(
    port_443_sink: Sink, first: bytes | None, reason: str
) -> None:
    data = client_hello(None) if first is None else first
    with (
        port_443_sink as sink,
        Harness(
            ["tls443.test", "127.42.0.1"],
            names={"tls443.test": ["127.42.0.1"]},
            limits=ProxyLimits(hello_timeout=0.5),
        ) as h,
    ):
        assert _tunnel(h, b"tls443.test:443", data) == b""
        assert reason in h.wait_events(1)[0].reason
        assert sink.received == b""


def test_port_443_to_a_listed_ip_literal_may_carry_non_tls(port_443_sink: Sink) -> None:
    with port_443_sink as sink, Harness(["127.42.0.1"]) as h, h.connect() as sock:
        sock.sendall(b"CONNECT 127.42.0.1:443 HTTP/1.1\r\n\r\nplain")
        assert sock.recv(39).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 5
        while sink.received != b"plain" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.received == b"plain"


def test_client_disconnect_mid_tunnel_ends_cleanly() -> None:
    with Sink("echo") as sink, Harness(_allow(sink), names=NAMES) as h:
        sock = h.connect()
        sock.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\n" % sink.port)
        assert sock.recv(39).startswith(b"HTTP/1.1 200")
        sock.sendall(b"x" * 100000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # RST mid-stream
        [event] = h.wait_events(1)
        assert event.method == "CONNECT" and event.bytes_up <= 100000
        deadline = time.monotonic() + 5
        while len(sink.received) < event.bytes_up and time.monotonic() < deadline:
            time.sleep(0.01)  # the sink reads what the proxy already wrote
        assert event.bytes_up == len(sink.received)
        while h.proxy._sessions and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not h.proxy._sessions


# -- resource exhaustion -----------------------------------------------------------------------


def test_slowloris_is_cut_off_and_others_are_served_meanwhile() -> None:
    limits = ProxyLimits(head_timeout=1.0)
    with Sink() as sink, Harness(_allow(sink), names=NAMES, limits=limits) as h:
        slow = h.connect()
        request = b"GET http://allowed.test:%d/ HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (
            sink.port,
            sink.port,
        )
        started = time.monotonic()
        for byte in request[:-2]:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                break
            # Meanwhile a normal client is served at once.
            if byte == ord("/"):
                fast_started = time.monotonic()
                assert h.exchange(request.replace(b"Host", b"Connection: close\r\nHost")).endswith(
                    b"ok /"
                )
                assert time.monotonic() - fast_started < 2.0  # not queued behind the slow one
            time.sleep(0.05)
            if time.monotonic() - started > 3:
                break
        reply = read_all(slow, 5)
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 6  # cut after head_timeout, not idle_timeout (60 s)
        slow.close()


def test_500_concurrent_connections_are_all_served() -> None:
    with Sink() as sink, Harness(_allow(sink), names=NAMES) as h:
        socks = [h.connect() for _ in range(500)]
        request = b"GET http://allowed.test:%d/c HTTP/1.1\r\nHost: allowed.test:%d\r\n\r\n" % (
            sink.port,
            sink.port,
        )
        for sock in socks:
            sock.sendall(request)
        replies = [read_response(sock, 30) for sock in socks]
        assert all(r.endswith(b"ok /c") for r in replies)
        # And a 501st client still gets through while all 500 are open.
        with h.connect() as extra:
            extra.sendall(request.replace(b"/c", b"/d"))
            assert read_response(extra).endswith(b"ok /d")
        for sock in socks:
            sock.close()
        assert len(h.wait_events(501, timeout=30)) == 501


def test_connection_cap_refuses_with_503_and_recovers() -> None:
    with Harness([], limits=ProxyLimits(max_connections=4, idle_timeout=30)) as h:
        held = [h.connect() for _ in range(4)]
        time.sleep(0.2)
        reply = h.exchange(b"GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 503 ") and b"too many connections" in reply
        for sock in held:
            sock.close()
        time.sleep(0.3)
        reply = h.exchange(b"GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 403 ")


def test_a_failing_audit_callback_does_not_stop_the_proxy() -> None:
    calls = []

    def broken(event: ProxyEvent) -> None:
        calls.append(event)
        raise RuntimeError("audit store down")

    with Harness([], on_event=broken) as h:
        for _ in range(3):
            reply = h.exchange(b"GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 403 ")
        assert len(calls) == 3


def test_random_garbage_never_kills_the_proxy() -> None:
    rng = random.Random(4)
    with Harness(["allowed.test"]) as h:
        for _ in range(60):
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            with h.connect() as sock:
                sock.sendall(junk + b"\r\n\r\n")
                sock.settimeout(5)
                with contextlib.suppress(ConnectionResetError, TimeoutError):
                    sock.recv(65536)
        reply = h.exchange(b"GET http://nope.test/ HTTP/1.1\r\nHost: nope.test\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 403 ")


def test_idle_tunnels_are_closed() -> None:
    limits = ProxyLimits(tunnel_idle_timeout=0.5)
    with Sink("echo") as sink, Harness(_allow(sink), names=NAMES, limits=limits) as h:
        with h.connect() as sock:
            sock.sendall(b"CONNECT allowed.test:%d HTTP/1.1\r\n\r\nhi" % sink.port)
            started = time.monotonic()
            got = read_all(sock, 10)
            assert got == b"HTTP/1.1 200 Connection established\r\n\r\nhi"
            assert 0.5 <= time.monotonic() - started < 6
        [event] = h.wait_events(1)
        assert event.error == "tunnel idle timeout" and event.bytes_up == 2


def test_connect_to_port_80_is_refused_even_for_an_allowed_host() -> None:
    """Plain HTTP in a tunnel would carry requests for any Host past the per-request check."""
    with Harness(["allowed.test"], names=NAMES) as h:
        reply = h.exchange(b"CONNECT allowed.test:80 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n")
        event = _denied(h, reply, 403, "CONNECT to port 80 is not allowed")
        assert event.rule == "allowed.test"
