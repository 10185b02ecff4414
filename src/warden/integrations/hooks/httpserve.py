"""The HTTP side of ``warden serve --hooks``: a lean HTTP/1.1 keep-alive loop on loopback.

Claude Code's ``http`` hook POSTs each hook payload and waits for the JSON answer; the budget
for the whole exchange is about 2 ms, most of which is the durable audit append. This module
is the part around it: accept, read one request, hand it to the server's :class:`Handlers`,
write the answer, and wait for the next request on the same connection.

Why not :mod:`http.server` (measured, ``bench/bench_hook.py --serve-only``):

* it wrote the status and headers and then the body in two ``send`` calls on a socket with
  Nagle's algorithm on: on a connection kept alive and used back to back the body waited for
  the client's delayed ACK, 40 ms per request. Here every answer is one ``sendall`` and every
  connection has ``TCP_NODELAY``;
* it parsed the header block with :mod:`email`: 75-90 µs for a hook request's head, against
  ~15 µs for the split by hand here, which decodes only the few headers it reads and accepts
  a narrow grammar;
* it started a thread per connection on the accepting thread (see "Threads" below).

What is accepted: a request line ``METHOD SP TARGET SP HTTP/1.x`` and ``name: value`` header
lines, all ending in CRLF, the head at most :data:`MAX_HEAD_BYTES` and :data:`MAX_HEADERS`
lines; a body only with one ``Content-Length`` of plain digits. Anything else (a bare LF, a
folded or nameless header, ``Transfer-Encoding``, two ``Content-Length`` or ``Authorization``
headers) is answered ``400``/``411``/``431`` and the connection closed, never guessed at.
``Expect: 100-continue`` is honoured once the request has passed the checks made before the
body (:attr:`Handlers.head`). ``HTTP/1.0`` connections close after one answer unless they ask
for keep-alive.

Bounds: a request head must arrive within :data:`HEAD_TIMEOUT` of its first byte (``408``),
and at most :data:`MAX_CONNECTIONS` connections are served at once (``503`` past it). A handler
that raises is answered ``500`` and the connection closed: never silence, which a client could
take for anything.

Threads (leader/follower): the thread that accepts a connection serves it for the
connection's life (at most :data:`IDLE_TIMEOUT` idle between requests), after waking another
to accept the next; :data:`SPARE_THREADS` wait at rest, so a new connection costs no thread
start and no hand-off between threads (a thread per connection, as :mod:`socketserver` does
it, added ~0.1 ms). :meth:`HTTPFront.server_close` stops accepting, half-closes every
connection so that idle ones end at once, and waits for the requests being answered to
finish (their records are durable before their answers go out).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import NamedTuple

__all__ = [
    "BACKLOG",
    "CLOSE_GRACE",
    "HEAD_TIMEOUT",
    "IDLE_TIMEOUT",
    "MAX_CONNECTIONS",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "SPARE_THREADS",
    "HTTPFront",
    "Handlers",
    "Reply",
    "Request",
]

#: Listen backlog. The default (5) resets connections when an agent fires a burst of hooks
#: (parallel tool calls, several sessions); a reset is a failed hook, i.e. a block.
BACKLOG = 128

#: Seconds a connection may sit idle or trickle its request. Drops slow or abandoned
#: connections (an idle keep-alive connection is simply reopened by the client).
IDLE_TIMEOUT = 15.0

#: Seconds from the first byte of a request head to its end: a client that trickles a head
#: (slowloris) holds a thread for this long at most, not IDLE_TIMEOUT per byte received.
HEAD_TIMEOUT = 5.0

#: Connections served at once; past it a new one is answered 503 and closed (each holds a
#: thread: any local process, a guarded agent included, could otherwise open them until the
#: hook requests queue and time out).
MAX_CONNECTIONS = 256

#: Largest request head (request line and headers). A hook request's head is a few hundred
#: bytes; :mod:`http.server` allowed 64 KiB per line.
MAX_HEAD_BYTES = 64 * 1024

#: Most header lines in a head (:mod:`http.server`'s limit too).
MAX_HEADERS = 100

#: Seconds :meth:`HTTPFront.server_close` waits for requests being answered.
CLOSE_GRACE = 10.0

#: Threads waiting to accept the next connection while none arrives (leader/follower).
SPARE_THREADS = 2

_RECV = 1 << 16
_REASONS = {100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
            408: "Request Timeout", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable",
            505: "HTTP Version Not Supported"}  # fmt: skip
#: Headers read from every request (and those in :attr:`Handlers.headers`); the others are
#: skipped without being decoded.
_WANTED = frozenset({b"authorization", b"content-length", b"transfer-encoding", b"connection",
                     b"expect"})  # fmt: skip
#: Headers that must not appear twice (two of them would be read differently by different
#: parsers: which token, which length).
_SINGLE = frozenset({b"authorization", b"content-length", b"transfer-encoding"})


class Request(NamedTuple):
    """One request head: method, target (as sent), and the headers read (lower-case names,
    values decoded as Latin-1)."""

    method: str
    target: str
    headers: dict[str, str]


class Reply(NamedTuple):
    """An answer: status, JSON body, and whether the connection closes after it."""

    status: int
    body: str
    close: bool = False


@dataclass(frozen=True, slots=True)
class Handlers:
    """What the front end asks of the server.

    ``head(request, length)`` decides before a byte of the body is read: a :class:`Reply`
    ends the exchange there (no token, wrong path, too large); ``None`` means "read the body".
    ``body(request, raw)`` answers a request whose body was read.
    """

    head: Callable[[Request, int | None], Reply | None]
    body: Callable[[Request, bytes], Reply]
    #: Further headers the handlers read (any case).
    headers: tuple[str, ...] = ()


class _Bad(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Date:
    """The ``Date`` header value, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text = formatdate(second, usegmt=True)
            self._second = second
        return self._text


class HTTPFront:
    """A loopback HTTP/1.1 server with the interface of a :mod:`socketserver` server that
    :class:`~warden.integrations.hooks.serve.HookServer` uses (``server_address``,
    ``serve_forever``, ``shutdown``, ``server_close``)."""

    def __init__(self, addr: tuple[str, int], handlers: Handlers) -> None:
        family = socket.AF_INET6 if ipaddress.ip_address(addr[0]).version == 6 else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(addr)
            self._listener.listen(BACKLOG)
        except BaseException:
            self._listener.close()
            raise
        self.server_address: tuple[str, int] = self._listener.getsockname()[:2]
        self._handlers = handlers
        self._wanted = _WANTED | {h.lower().encode("latin-1") for h in handlers.headers}
        self._date = _Date()
        self._accept = threading.Lock()  # held by the one thread blocked in accept()
        self._lock = threading.Lock()  # guards what follows
        self._waiting = 0  # threads waiting to accept (the follower set)
        self._conns: set[socket.socket] = set()
        self._drained = threading.Condition(self._lock)  # notified when a connection ends
        self._stopping = False
        #: Connections accepted and requests answered, for the server's exit line (whether
        #: clients keep connections alive decides the latency they get).
        self.connections = 0
        self.requests = 0
        self._running = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    # --- lifecycle -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve (in the threads this starts) until :meth:`shutdown`."""
        self._stopped.clear()
        try:
            for _ in range(SPARE_THREADS):
                self._spawn()
            self._running.wait()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting (from another thread) and wait until :meth:`serve_forever` returned."""
        self._stop()
        self._stopped.wait()

    def _stop(self) -> None:
        with self._lock:
            self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self._running.set()

    def server_close(self) -> None:
        """Close the listener; end idle connections; wait for the answers being written."""
        self._stop()
        self._listener.close()
        deadline = time.monotonic() + CLOSE_GRACE
        with self._lock:
            for conn in self._conns:  # a thread waiting for the next request reads EOF
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RD)
            while self._conns and (left := deadline - time.monotonic()) > 0:
                self._drained.wait(left)

    # --- threads: the one that accepts a connection serves it ------------------------------

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._waiting += 1
        try:
            threading.Thread(target=self._follow, name="warden-http", daemon=True).start()
        except RuntimeError:  # no thread to be had: the ones there are accept in turn
            with self._lock:
                self._waiting -= 1

    def _follow(self) -> None:
        """Wait for the turn to accept, serve what was accepted, repeat while needed.

        Leader/follower: the thread that accepts a connection serves it itself (no hand-off
        to another thread between accept and the first read), after making sure another one
        waits to accept. :data:`SPARE_THREADS` wait at rest, so a new connection never pays
        for starting a thread unless more than that many arrive at once.
        """
        while True:
            with self._accept:
                conn = self._accept_one()
            with self._lock:
                self._waiting -= 1
                if conn is None:
                    return
                full = len(self._conns) >= MAX_CONNECTIONS
                if not full:
                    self._conns.add(conn)
                    self.connections += 1
                more = self._waiting < SPARE_THREADS - 1 and not self._stopping
            if full:
                with contextlib.suppress(OSError):
                    self._send(conn, Reply(503, '{"error":"too many connections"}', close=True))
                conn.close()
                with self._lock:
                    self._waiting += 1
                continue
            try:
                if more:
                    self._spawn()
                self._connection(conn)
            finally:
                with self._lock:
                    self._conns.discard(conn)
                    self._drained.notify_all()
            with self._lock:
                if self._stopping or self._waiting >= SPARE_THREADS:
                    return
                self._waiting += 1

    def _accept_one(self) -> socket.socket | None:
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                if self._stopping:
                    return None
                time.sleep(0.001)  # EMFILE and the like: do not spin; the peer will retry
                continue
            return conn
        return None

    # --- one connection --------------------------------------------------------------------

    def _connection(self, conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(IDLE_TIMEOUT)
            buf: bytes | None = b""
            while buf is not None:
                buf = self._exchange(conn, buf)
        except OSError:
            return  # a timeout, a reset: the connection is done
        finally:
            conn.close()

    def _exchange(self, conn: socket.socket, buf: bytes) -> bytes | None:
        """Read one request and answer it; the bytes after it (pipelined), or ``None`` when
        the connection is to be closed."""
        end = buf.find(b"\r\n\r\n")
        deadline = None
        while end < 0:
            if buf and deadline is None:
                deadline = time.monotonic() + HEAD_TIMEOUT
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._send(conn, Reply(408, '{"error":"request head too slow"}', close=True))
                    return None
                conn.settimeout(min(left, IDLE_TIMEOUT))
            if len(buf) > MAX_HEAD_BYTES:
                self._send(conn, Reply(431, '{"error":"request head too large"}', close=True))
                return None
            if b"\n\n" in buf:  # a head ended by bare LFs: refused, not waited on
                self._send(conn, Reply(400, '{"error":"lines must end in CRLF"}', close=True))
                return None
            chunk = conn.recv(_RECV)
            if not chunk:
                return None
            scan = max(0, len(buf) - 3)
            buf += chunk
            end = buf.find(b"\r\n\r\n", scan)
        if deadline is not None:
            conn.settimeout(IDLE_TIMEOUT)
        if end > MAX_HEAD_BYTES:
            self._send(conn, Reply(431, '{"error":"request head too large"}', close=True))
            return None
        head, rest = buf[:end], buf[end + 4 :]
        self.requests += 1  # one thread per connection; a lost count under a race is harmless
        try:
            request, keep_alive = _parse_head(head, self._wanted)
            length = _content_length(request)
        except _Bad as exc:
            self._send(conn, Reply(exc.status, _error_json(str(exc)), close=True))
            return None
        try:
            early = self._handlers.head(request, length)
        except Exception as exc:  # no answer would leave the caller to guess: say it failed
            self._send(conn, Reply(500, _error_json(f"internal error: {exc!r}"[:200]),
                                   close=True))  # fmt: skip
            return None
        if early is not None:
            self._send(conn, early._replace(close=early.close or not keep_alive))
            return rest if keep_alive and not early.close else None
        assert length is not None  # head() refuses a POST without one
        if len(rest) < length and request.headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body, rest = _read_body(conn, rest, length)
        if body is None:
            return None  # the client went away mid-body: nobody to answer
        try:
            reply = self._handlers.body(request, body)
        except Exception as exc:
            self._send(conn, Reply(500, _error_json(f"internal error: {exc!r}"[:200]),
                                   close=True))  # fmt: skip
            return None
        close = reply.close or not keep_alive
        self._send(conn, reply._replace(close=close))
        return None if close else rest

    def _send(self, conn: socket.socket, reply: Reply) -> None:
        data = reply.body.encode("utf-8")
        head = (f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}\r\n"
                f"Server: warden\r\nDate: {self._date.now()}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                + ("Connection: close\r\n\r\n" if reply.close else "\r\n"))  # fmt: skip
        conn.sendall(head.encode("latin-1") + data)  # one segment: nothing waits for an ACK


def _error_json(message: str) -> str:
    return '{"error":"' + message.replace("\\", "\\\\").replace('"', '\\"') + '"}'


def _parse_head(head: bytes, wanted: frozenset[bytes]) -> tuple[Request, bool]:
    """The request and whether the connection may stay open after it."""
    lines = head.split(b"\r\n")
    if len(lines) - 1 > MAX_HEADERS:
        raise _Bad(431, "too many header lines")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise _Bad(400, "malformed request line")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise _Bad(505 if version.startswith(b"HTTP/") else 400, "HTTP/1.1 only")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip(b" \t") or b"\n" in line or b"\r" in line:
            raise _Bad(400, "malformed header line")
        key = name.lower()
        if key not in wanted:
            continue
        text = key.decode("latin-1")
        if text in headers and key in _SINGLE:
            raise _Bad(400, f"more than one {name.decode('latin-1')} header")
        headers[text] = value.strip(b" \t").decode("latin-1")
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep_alive = "close" not in tokens if version == b"HTTP/1.1" else "keep-alive" in tokens
    return Request(method.decode("latin-1"), target.decode("latin-1"), headers), keep_alive


def _content_length(request: Request) -> int | None:
    """The body's length: ``None`` when there is no ``Content-Length``; a chunked (or any
    other transfer-coded) body is refused rather than read."""
    if "transfer-encoding" in request.headers:
        raise _Bad(411, "Content-Length required (no Transfer-Encoding)")
    text = request.headers.get("content-length")
    if text is None:
        return None
    if not text.isdigit() or not text.isascii() or len(text) > 18:
        raise _Bad(400, "malformed Content-Length")
    return int(text)


def _read_body(conn: socket.socket, rest: bytes, length: int) -> tuple[bytes | None, bytes]:
    """``length`` bytes (starting with what was read with the head), and what follows them."""
    if len(rest) >= length:
        return rest[:length], rest[length:]
    body = bytearray(length)
    view = memoryview(body)
    view[: len(rest)] = rest
    got = len(rest)
    while got < length:
        n = conn.recv_into(view[got:], min(length - got, 1 << 20))
        if not n:
            return None, b""
        got += n
    return bytes(body), b""
