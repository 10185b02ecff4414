"""The HTTP proxy: ``warden mcp --http --upstream URL --listen 127.0.0.1:PORT``.

In front of a server speaking MCP's Streamable HTTP transport (specification, "Transports",
Streamable HTTP, 2025-03-26 to 2025-11-25; and 2026-07-28): the client POSTs one JSON-RPC
message per request; the server answers ``202 Accepted`` (a notification or a response), one
JSON message (``application/json``), or an SSE stream (``text/event-stream``) of messages ending
with the response. Up to 2025-11-25 a GET opens a stream of server-initiated messages and a
DELETE ends the session named by the ``Mcp-Session-Id`` header; 2026-07-28 removed sessions, the
GET stream and SSE resumption (its long-lived ``subscriptions/listen`` is an ordinary POST).

Every message in either direction goes through the same
:class:`~warden.integrations.mcp.session.McpSession` as the stdio proxy: a POST body is one
client line; each SSE event's data and each JSON response body is one server line. A session
per ``Mcp-Session-Id`` (one shared session when the server has none, as in 2026-07-28), all on
one guard. Headers are passed through except hop-by-hop ones; ``Host`` is the upstream's.

An allowed call's decision records are committed on the request's thread right after the call
is sent upstream (:meth:`~warden.integrations.mcp.session.McpSession.commit`), while the server
works; the answer (JSON, each SSE event, or a raw body) is relayed only once they are durable,
and replaced by a JSON-RPC error if they fail (``docs/mcp.md``, "Durability").

Upstream connections are kept alive and reused (:class:`_Upstream`): a new TCP connection per
request cost the proxy more than everything else it does for a call (a connect, and, for a
threaded server such as Python's, a new thread there). A message is never sent twice: one that
fails on a reused connection (the server closed it just then) is not retried, the client gets
the same JSON-RPC error as for an unreachable server. To make that rare, a connection is reused
only when it has rested at most :data:`IDLE_SECONDS` (below the idle timeouts of common
servers: gunicorn 2 s, uvicorn and Node 5 s) and the server has not closed or written to it
meanwhile (``poll`` with no wait, just before it is used).

Fail closed as the stdio proxy: a request that cannot be judged is answered by warden, an
upstream that cannot be reached or answers garbage gives the client a JSON-RPC error for its
request. Requests whose ``Origin`` is not a loopback origin are refused (403), against DNS
rebinding (the transport's own "Security Warning").
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import sys
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from warden.integrations.mcp import jsonrpc as rpc
from warden.integrations.mcp.session import Gate, McpConfig, McpSession

__all__ = ["MAX_SESSIONS", "HttpProxy", "parse_listen", "serve"]

#: Sessions remembered at once (least recently used dropped first): a memory bound against a
#: client that invents session ids.
MAX_SESSIONS = 1024

#: Seconds to wait for the upstream to connect and between bytes of its answer. SSE streams may
#: be quiet for long; this is the longest silence tolerated.
UPSTREAM_TIMEOUT = 300.0
#: Kept-alive upstream connections resting for reuse, at most; and the longest rest after which
#: one is still reused (shorter than the idle timeouts of common servers, so the server rarely
#: closes a connection just as warden sends on it; see the module docstring).
MAX_IDLE_CONNECTIONS = 8
IDLE_SECONDS = 1.0

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                         "te", "trailer", "transfer-encoding", "upgrade", "host",
                         "content-length"})  # fmt: skip
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8080`` -> ``("127.0.0.1", 8080)``; ``[::1]:8080`` too."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class _Sessions:
    """``Mcp-Session-Id`` -> session, bounded; ``""`` is the session of requests without one."""

    def __init__(self, make: Callable[[], McpSession]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._by_id: OrderedDict[str, McpSession] = OrderedDict()

    def get(self, key: str) -> McpSession:
        with self._lock:
            session = self._by_id.get(key)
            if session is None:
                session = self._by_id[key] = self._make()
                while len(self._by_id) > MAX_SESSIONS:
                    _, old = self._by_id.popitem(last=False)
                    old.close()
            self._by_id.move_to_end(key)
            return session

    def alias(self, key: str, session: McpSession) -> None:
        """The server named the session (``Mcp-Session-Id`` on the initialize answer)."""
        with self._lock:
            self._by_id.setdefault(key, session)

    def drop(self, key: str) -> None:
        with self._lock:
            session = self._by_id.pop(key, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        with self._lock:
            sessions, self._by_id = list(self._by_id.values()), OrderedDict()
        for session in {id(s): s for s in sessions}.values():
            session.close()


def _sse_events(resp: http.client.HTTPResponse) -> Iterator[tuple[list[bytes], bytes]]:
    """``(other field lines, data)`` per SSE event (HTML Living Standard, "Server-sent events");
    data lines joined with ``\\n``. Bounded: an event past the message limit raises."""
    fields: list[bytes] = []
    data: list[bytes] = []
    size = 0
    while True:
        line = resp.readline(rpc.MAX_MESSAGE_BYTES + 1)
        if not line:
            if data:
                yield fields, b"\n".join(data)
            return
        if len(line) > rpc.MAX_MESSAGE_BYTES:
            raise ValueError("an SSE line exceeds the message limit")
        line = line.rstrip(b"\r\n")
        if not line:
            if data:
                yield fields, b"\n".join(data)
            fields, data, size = [], [], 0
            continue
        if line.startswith(b"data:"):
            chunk = line[5:]
            data.append(chunk[1:] if chunk.startswith(b" ") else chunk)
            size += len(chunk)
            if size > rpc.MAX_MESSAGE_BYTES:
                raise ValueError("an SSE event exceeds the message limit")
        elif not line.startswith(b":"):
            fields.append(line)


class _Upstream:
    """Connections to the upstream: kept alive, reused, never used twice at once."""

    def __init__(self, url: urllib.parse.SplitResult) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []  # last rested on top
        self._closed = False

    def get(self, *, fresh: bool = False) -> http.client.HTTPConnection:
        """The most recently rested connection that still looks open, else (or when ``fresh``)
        a new one, connected on first use. Resting connections past :data:`IDLE_SECONDS` or
        no longer quiet are closed on the way (so none lingers half-closed)."""
        stale: list[http.client.HTTPConnection] = []
        found = None
        with self._lock:
            now = time.monotonic()
            keep = []
            for conn, since in self._idle:
                if now - since <= IDLE_SECONDS and _quiet(conn):
                    keep.append((conn, since))
                else:
                    stale.append(conn)
            if keep and not fresh:
                found = keep.pop()[0]
            self._idle = keep
        for conn in stale:
            conn.close()
        if found is not None:
            return found
        url = self.url
        port = url.port or (443 if url.scheme == "https" else 80)
        cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        return cls(url.hostname or "", port, timeout=UPSTREAM_TIMEOUT)

    def put(self, conn: http.client.HTTPConnection,
            resp: http.client.HTTPResponse | None) -> None:  # fmt: skip
        """Give ``conn`` back after ``resp``: kept for reuse only if that answer was read to
        its end and the server did not ask to close; closed otherwise."""
        if resp is not None and resp.isclosed() and not resp.will_close and conn.sock is not None:
            with self._lock:
                if not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
                    self._idle.append((conn, time.monotonic()))
                    return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            conn.close()


def _quiet(conn: http.client.HTTPConnection) -> bool:
    """Whether a resting connection is still open and silent: a server that closed it (EOF),
    reset it, or wrote to it out of turn makes it readable."""
    sock = conn.sock
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI)
    try:
        return not poller.poll(0)
    except OSError:
        return False


def _ack_at_once(conn: http.client.HTTPConnection) -> None:
    """Acknowledge the answer's first segment as soon as it is read (``TCP_QUICKACK``; Linux).

    A server that writes its headers and its body apart, with Nagle's algorithm on (Python's
    ``http.server`` does), sends the body only once the headers are acknowledged; on a kept-alive
    connection this side's ACK is delayed (the connection alternates requests and answers, so
    the kernel waits up to 40 ms to put the ACK on a packet of its own). Re-armed per request:
    the kernel leaves quick-ACK mode again when this side sends."""
    sock = conn.sock
    if sock is not None and _TCP_QUICKACK is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)


class HttpProxy:
    """A threaded HTTP server relaying one upstream MCP endpoint through warden."""

    def __init__(self, upstream: str, listen: tuple[str, int], make_session:
                 Callable[[], McpSession]) -> None:  # fmt: skip
        url = urllib.parse.urlsplit(upstream)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"--upstream must be an http(s) URL, not {upstream!r}")
        self.upstream = url
        self.connections = _Upstream(url)
        self.sessions = _Sessions(make_session)
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(listen, Handler)
        self.server.daemon_threads = True

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        try:
            self.server.serve_forever()
        finally:
            self.server.server_close()
            self.sessions.close()
            self.connections.close()

    def shutdown(self) -> None:
        self.server.shutdown()

    def path(self, incoming: str) -> str:
        """The upstream path: the upstream URL's own, with the client's query string if any."""
        query = urllib.parse.urlsplit(incoming).query or self.upstream.query
        return (self.upstream.path or "/") + (f"?{query}" if query else "")


class _Handler(BaseHTTPRequestHandler):
    owner: HttpProxy
    protocol_version = "HTTP/1.1"
    server_version = "warden-mcp"
    #: TCP_NODELAY: with Nagle's algorithm on, a write that follows an unacknowledged one on a
    #: kept-alive connection waits for the client's delayed ACK (40 ms a response).
    disable_nagle_algorithm = True
    #: Buffered writes: a response's headers and body leave together when the request is done
    #: (``handle_one_request`` flushes; SSE chunks flush each event themselves).
    wbufsize = 64 * 1024

    def log_message(self, format: str, *args: Any) -> None:
        return  # the audit log records what matters; stderr stays for warnings

    # --- entry points ------------------------------------------------------------------------

    def do_POST(self) -> None:
        if not self._origin_ok():
            return
        key = self.headers.get("Mcp-Session-Id", "")
        session = self.owner.sessions.get(key)
        body = self._read_body()
        if body is None:
            return
        name: Any = None
        try:
            msg = rpc.decode(body)
            req_id = msg.id if msg.kind is rpc.Kind.REQUEST else None
            name = msg.params.get("name") if msg.method == "tools/call" else None
        except Exception:
            req_id = rpc.guess_id(body)
        out = session.from_client(body)
        if not out.to_server:
            self._answer_json(200, out.to_client)
            return
        # 2026-07-28 routes by the Mcp-Name header: it must name the tool that was judged
        self._forward("POST", out.to_server[0].rstrip(b"\n"), session, key, req_id,
                      tool=name if isinstance(name, str) else None, gate=out.gate)

    def do_GET(self) -> None:
        if not self._origin_ok():
            return
        key = self.headers.get("Mcp-Session-Id", "")
        self._forward("GET", None, self.owner.sessions.get(key), key, None)

    def do_DELETE(self) -> None:
        if not self._origin_ok():
            return
        key = self.headers.get("Mcp-Session-Id", "")
        self._forward("DELETE", None, self.owner.sessions.get(key), key, None)
        if key:
            self.owner.sessions.drop(key)

    # --- helpers -----------------------------------------------------------------------------

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        host = urllib.parse.urlsplit(origin).hostname or ""
        if host in _LOOPBACK_HOSTS:
            return True
        self._plain(403, f"warden mcp: requests from origin {origin!r} are refused")
        return False

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._plain(411, "warden mcp: a POST needs a Content-Length")
            return None
        size = int(length)
        if size > rpc.MAX_MESSAGE_BYTES:
            self.close_connection = True  # the body is not read: this connection is done
            error = rpc.error_response(None, rpc.INVALID_REQUEST, f"warden refused a message of "
                                       f"{size} bytes (the limit is {rpc.MAX_MESSAGE_BYTES})")
            self._answer_json(413, (rpc.encode(error),))
            return None
        return self.rfile.read(size)

    def _upstream_headers(self, body: bytes | None, tool: str | None) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        netloc = self.owner.upstream.netloc.rpartition("@")[2]
        headers["Host"] = netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        if tool is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "mcp-name"}
            headers["Mcp-Name"] = tool
        return headers

    def _forward(self, method: str, body: bytes | None, session: McpSession, key: str,
                 req_id: Any, *, tool: str | None = None,
                 gate: Gate | None = None) -> None:  # fmt: skip
        try:
            target = self.owner.path(self.path)
        except ValueError:  # e.g. `POST http://[abc`: nothing to forward it to
            session.commit(gate)
            if req_id is not None:
                session.abandon(req_id)
            self._plain(400, f"warden mcp: a request target it cannot read: {self.path[:200]!r}")
            return
        pool = self.owner.connections
        conn = pool.get()
        try:
            conn.request(method, target, body=body,
                         headers=self._upstream_headers(body, tool))  # fmt: skip
            _ack_at_once(conn)
            session.commit(gate)  # durable while the server works; its answer waits for it
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:  # never sent again (see above)
            session.commit(gate)  # its decision is recorded whatever became of the call
            conn.close()
            reason = f"warden could not reach the MCP server ({type(exc).__name__}: {exc})"
            if method == "POST" and req_id is not None:
                session.abandon(req_id)
                error = rpc.error_response(req_id, rpc.SERVER_ERROR, reason)
                self._answer_json(502, (rpc.encode(error),))
            else:
                self._plain(502, reason)
            return
        try:
            new_id = resp.getheader("Mcp-Session-Id")
            if new_id and new_id != key:
                self.owner.sessions.alias(new_id, session)
            ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "text/event-stream":
                self._relay_sse(resp, session)  # each event waits in session.from_server
            elif ctype == "application/json" and method == "POST":
                self._relay_json(resp, session, req_id)  # so does the answer
            else:  # 202s, errors, DELETE answers: no JSON-RPC inside, relayed as they are,
                session.settle()  # but not before the calls forwarded so far are durable
                failure = session.undurable(req_id) if req_id is not None else None
                if failure is not None:
                    session.abandon(req_id)
                    reason = (f"warden withheld the server's answer: the audit log could not "
                              f"record this call's decision ({failure})")  # fmt: skip
                    error = rpc.error_response(req_id, rpc.SERVER_ERROR, reason)
                    self._answer_json(200, (rpc.encode(error),))
                    return
                self._relay_raw(resp)
        finally:
            pool.put(conn, resp)

    def _response_headers(self, resp: http.client.HTTPResponse) -> list[tuple[str, str]]:
        return [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]

    def _relay_json(self, resp: http.client.HTTPResponse, session: McpSession,
                    req_id: Any) -> None:  # fmt: skip
        body = resp.read(rpc.MAX_MESSAGE_BYTES + 1)
        if not body.strip() and req_id is None:  # an empty 200/202 to a notification
            self._answer_json(resp.status, ())
            return
        if len(body) > rpc.MAX_MESSAGE_BYTES:
            out = session.oversized_from_server(body[:4096], len(body))
        else:
            out = session.from_server(body)
        self._answer_server(out.to_server)
        lines = out.to_client
        if not lines and req_id is not None:  # dropped as malformed: the request needs an answer
            reason = "the MCP server sent a malformed answer; warden dropped it"
            lines = (rpc.encode(rpc.error_response(req_id, rpc.SERVER_ERROR, reason)),)
        headers = [(k, v) for k, v in self._response_headers(resp) if k.lower() != "content-type"]
        self._answer_json(resp.status, lines, headers)

    def _relay_sse(self, resp: http.client.HTTPResponse, session: McpSession) -> None:
        self.send_response(resp.status)
        for k, v in self._response_headers(resp):
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()  # the client sees the stream open before its first event
        try:
            for fields, data in _sse_events(resp):
                out = session.from_server(data)
                self._answer_server(out.to_server)
                for line in out.to_client:
                    keep = [f for f in fields if f.startswith((b"id:", b"event:", b"retry:"))]
                    event = b"".join(f + b"\n" for f in keep)
                    event += b"data: " + line.rstrip(b"\n") + b"\n\n"
                    self._chunk(event)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            error = rpc.encode({"jsonrpc": "2.0", "method": "notifications/message", "params": {
                "level": "error", "logger": "warden",
                "data": f"warden: the server's stream broke ({type(exc).__name__})"}})
            with contextlib.suppress(OSError):
                self._chunk(b"data: " + error.rstrip(b"\n") + b"\n\n")
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _answer_server(self, lines: tuple[bytes, ...]) -> None:
        """warden's own answers to server requests it refused (a sampling or elicitation
        request with an error): POSTed upstream as the client posts its answers, in the
        client's session (its headers), so the server does not wait for ever. The upstream's
        reply (a 202) is read and dropped; a failure is reported, not raised."""
        for line in lines:
            body = line.rstrip(b"\n")
            headers = self._upstream_headers(body, None)
            headers = {k: v for k, v in headers.items()
                       if k.lower() not in ("content-type", "accept", "last-event-id")}
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "application/json, text/event-stream"
            pool = self.owner.connections
            conn, resp = pool.get(fresh=True), None  # a refusal must arrive: never on a reused
            try:  # connection the server may be closing (a message is never sent twice)
                conn.request("POST", self.owner.path(self.path), body=body, headers=headers)
                _ack_at_once(conn)
                resp = conn.getresponse()
                resp.read(rpc.MAX_MESSAGE_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                print(f"warden mcp: could not send warden's answer to the server "
                      f"({type(exc).__name__}: {exc})", file=sys.stderr)
            finally:
                pool.put(conn, resp)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _relay_raw(self, resp: http.client.HTTPResponse) -> None:
        body = resp.read(rpc.MAX_MESSAGE_BYTES)
        self.send_response(resp.status)
        for k, v in self._response_headers(resp):
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer_json(self, status: int, lines: tuple[bytes, ...],
                     headers: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
        headers = headers or []
        if not lines:
            self.send_response(202 if status == 200 else status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = lines[0].rstrip(b"\n") if len(lines) == 1 else (
            b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(upstream: str, listen: str, config: McpConfig,
          make_session: Callable[[McpConfig], McpSession]) -> HttpProxy:  # fmt: skip
    """An :class:`HttpProxy` (not yet serving) with one session per MCP session id."""
    import dataclasses
    import uuid

    def fresh() -> McpSession:
        return make_session(dataclasses.replace(config,
                                                session_id="mcp-" + uuid.uuid4().hex[:16]))

    return HttpProxy(upstream, parse_listen(listen), fresh)

