"""warden's egress proxy: the only endpoint a contained program can reach.

The supervisor creates the listening socket inside the child's network namespace and hands it to
:meth:`EgressProxy.serve`; the proxy runs in the supervisor, outside the sandbox, and decides every
request with an :class:`~warden.contain.egress.EgressPolicy`.

Architecture: threads and blocking sockets, one thread per client connection and no hand-off.
Idle threads block in ``accept()`` on the listening socket themselves; the kernel wakes one per
connection and that thread serves it from the first byte to the close, a CONNECT tunnel included
(both directions in one ``poll`` loop, :mod:`warden.contain.relay`), then accepts again
(:mod:`warden._accept`; at most ``ProxyLimits.max_connections`` sessions, beyond that
the accepting thread answers 503). A short tunnel (``curl``, ``pip``: one per request) used to
pass through three threads (accept, session, download): ~55 syscalls, ~24 of them futex (GIL and
hand-offs), and ~20 context switches per tunnel on loopback; now ~26 syscalls, under 1 futex and
~7 context switches, the same counts as a minimal policy-free relay loop.
Why not asyncio: the bulk path is ``os.splice``, a syscall that releases the GIL and moves bytes
without copying them into Python, which is what makes gigabytes per second possible from Python;
in a thread it needs no event-loop integration, and the resolver is a blocking call. Per-connection
timeouts are kernel socket timeouts (:func:`warden.contain.stream.use_kernel_timeouts`): one
syscall per read or write, and a slow-header or idle client costs one sleeping thread until its
deadline. The small-request path is a handful of syscalls and one strict head parse
(:mod:`warden.contain.http1`); accepted sockets inherit ``TCP_NODELAY`` from the listener, and
upstream sockets are created non-blocking and connected with a poll (no mode switches).
What is left per short tunnel is Python work spread thin (~3,500 bytecodes and ~110 calls,
counted with an opcode tracer): the per-request pieces are kept lean (events are NamedTuples,
a TLS ClientHello is parsed once, a Host equal to the target is not parsed again).

Protocol:

* HTTP forward proxy, absolute-form targets only (``GET http://host/path``); ``https://`` targets
  are refused (clients use CONNECT). Keep-alive: every request on a client connection is decided on
  its own; the upstream connection is reused only for the same host:port. Any refused request
  gets ``403`` with ``warden: <reason>`` and the connection is closed (the proxy never has to find
  the end of a refused request's body). ``Expect: 100-continue`` is answered by the proxy.
* CONNECT (never to port 80: plain HTTP must use the forward path, where each request's Host
  is checked): decide the host:port, resolve, check every address, connect, answer ``200``, then
  read the client's first bytes. A TLS ClientHello's SNI must equal the CONNECT host (after
  normalisation), or the tunnel is closed before a byte reaches the upstream. On port 443 a tunnel
  whose first bytes are not TLS, or a ClientHello without SNI, is refused unless the CONNECT host
  is an IP literal the policy lists; a ClientHello carrying Encrypted Client Hello is refused on
  any port (its inner name cannot be checked). On other ports non-TLS data is relayed (the
  host:port itself was allowed), and if the client sends nothing for ``hello_timeout`` (a
  server-speaks-first protocol such as SSH) the tunnel opens without inspection. Malformed TLS is
  refused everywhere. A refused tunnel has already seen ``200``, so it gets a close, not a 403.
* Names are resolved by the proxy with a timeout, every address is checked (DNS rebinding), and
  the proxy connects to the checked address, never to the name again.

Counting: ``bytes_up`` is what the proxy wrote to the upstream (rewritten request heads and bodies,
tunnel bytes), ``bytes_down`` what it wrote to the client (response heads and bodies, tunnel bytes,
not the proxy's own 100/200/403 lines).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from warden._accept import AcceptPool
from warden.contain.egress import (
    EgressDecision,
    EgressPolicy,
    HostError,
    IPAddress,
    normalize_host,
    parse_ip_literal,
)
from warden.contain.http1 import (
    MAX_HEAD_BYTES,
    HttpError,
    RequestHead,
    ResponseHead,
    check_host_header,
    parse_request_head,
    parse_response_head,
    same_host,
)
from warden.contain.relay import Tunnel, relay
from warden.contain.stream import Meter, Reader, send, send_message
from warden.contain.tls import (
    MAX_CLIENT_HELLO,
    ClientHello,
    HelloStatus,
    first_bytes_refusal,
    parse_client_hello,
)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["EgressProxy", "ProxyEvent", "ProxyLimits", "Resolver", "system_resolver"]

_log = logging.getLogger(__name__)

Resolver = Callable[[str, int, float], Sequence[IPAddress]]
"""``(name, port, timeout) -> addresses``; raises OSError (TimeoutError) when it cannot answer."""

#: CONNECT to port 80 is refused: plain HTTP is proxied request by request instead.
_PLAIN_HTTP_PORT = 80
_NO_PLAIN_TUNNEL = "CONNECT to port 80 is not allowed: send plain HTTP as proxy requests"
#: How long close() waits for connections to end after cutting their sockets.
_CLOSE_TIMEOUT = 10.0
_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True, slots=True)
class ProxyLimits:
    """Bounds on what one client can make the proxy hold; each default says why."""

    max_connections: int = 1024  # threads are ~8 MiB of virtual stack each, tens of KiB resident
    idle_timeout: float = 60.0  # keep-alive client with no request started
    head_timeout: float = 10.0  # first byte of a request head to its end (slowloris)
    io_timeout: float = 60.0  # one read or write on a body, or the wait for a response head
    resolve_timeout: float = 5.0  # glibc's own default per DNS try
    connect_timeout: float = 10.0
    hello_timeout: float = 10.0  # CONNECT: wait for the client's first bytes
    tunnel_idle_timeout: float = 600.0  # no byte either way (long downloads are not idle)


class ProxyEvent(NamedTuple):
    """One request or tunnel, emitted after it ends (and one for every refusal).

    A NamedTuple, not a frozen dataclass: as immutable, and built three times faster (a frozen
    dataclass pays one ``object.__setattr__`` per field, fourteen here), once per request.
    """

    time: float
    client: str
    method: str
    host: str
    port: int
    verdict: str  # "allow" | "deny"
    reason: str
    rule: str | None
    status: int | None
    bytes_up: int
    bytes_down: int
    duration: float
    sni: str | None
    error: str | None

    def to_record(self) -> dict[str, Any]:
        """The audit record: ``{"type": "egress", "v": 1, ...every field}``."""
        record: dict[str, Any] = {"type": "egress", "v": 1}
        record.update(zip(self._fields, self, strict=True))
        return record


_resolver_pool: ThreadPoolExecutor | None = None
_resolver_lock = threading.Lock()


def _resolver() -> ThreadPoolExecutor:
    """The shared lookup pool, made by the first lookup: importing ``concurrent.futures``
    cost ``warden run`` about 14M instructions (callgrind) before its program could start,
    and a run that makes no request never needs it."""
    global _resolver_pool
    with _resolver_lock:
        if _resolver_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _resolver_pool = ThreadPoolExecutor(8, thread_name_prefix="warden-resolve")
        return _resolver_pool


def system_resolver(name: str, port: int, timeout: float) -> list[IPAddress]:
    """getaddrinfo with a deadline (getaddrinfo itself cannot be interrupted, so it runs in a
    small shared pool and the caller stops waiting; a stuck lookup holds one pool thread)."""
    future = _resolver().submit(socket.getaddrinfo, name, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout)
    except TimeoutError as exc:  # concurrent.futures.TimeoutError is TimeoutError (3.11+)
        raise TimeoutError(f"resolving {name} took longer than {timeout}s") from exc
    out: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(sockaddr[0])
            if address not in out:
                out.append(address)
    return out


class _Refused(Exception):
    def __init__(self, status: int, reason: str, rule: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.rule = status, reason, rule


def _refusal(status: int, reason: str) -> bytes:
    body = f"warden: {reason}\n".encode("utf-8", "replace")
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii") + body


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        try:  # noqa: SIM105 (contextlib.suppress costs two calls; this runs twice per connection)
            sock.close()
        except OSError:
            pass


#: Response heads may carry big cookies and security headers; the bound is twice a request's.
_RESPONSE_HEAD_LIMIT = 65536


class EgressProxy:
    """Serve one listening socket with an egress policy; see the module docstring."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        on_event: Callable[[ProxyEvent], None],
        resolver: Resolver = system_resolver,
        limits: ProxyLimits = ProxyLimits(),
    ) -> None:
        self.policy = policy
        self.limits = limits
        self.resolver = resolver
        self._on_event = on_event
        self._emit_lock = threading.Lock()
        self._lock = threading.Lock()
        self._sessions: set[_Session] = set()
        self._idle = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._pool: AcceptPool | None = None
        self.closed = False

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the listening socket is bound to (inside the child's namespace)."""
        if self._listener is None:
            raise RuntimeError("the proxy is not serving")
        name = self._listener.getsockname()
        return str(name[0]), int(name[1])

    def serve(self, sock: socket.socket) -> None:
        """Serve an already-listening socket from background threads; returns at once.

        The proxy owns the socket from now on and closes it in :meth:`close`.
        """
        if self._listener is not None or self.closed:
            raise RuntimeError("serve() may be called once, before close()")
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise ValueError("serve() needs a listening socket")
        # Accepted sockets inherit TCP_NODELAY from the listener (Linux): one setsockopt here
        # instead of one per connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._listener = sock
        self._pool = AcceptPool("warden-egress", sock, self._admit)
        self._pool.start()

    def close(self) -> None:
        """Stop accepting, cut every connection and tunnel, and join the threads."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            sessions = list(self._sessions)
        if self._pool is not None:
            self._pool.close()  # no new connection from here on
        for session in sessions:
            session.abort()
        with self._lock:
            self._idle.wait_for(lambda: not self._sessions, timeout=_CLOSE_TIMEOUT)
        if self._pool is not None:
            self._pool.join(_CLOSE_TIMEOUT)
        _close(self._listener)

    def _admit(self, conn: socket.socket, client: str) -> None:
        """Serve one accepted connection in the thread that accepted it (see workers.py)."""
        with self._lock:
            full = len(self._sessions) >= self.limits.max_connections or self.closed
            session = None if full else _Session(self, conn, client)
            if session is not None:
                self._sessions.add(session)
        if session is None:
            reason = "too many connections"
            with contextlib.suppress(OSError):
                conn.setblocking(False)
                conn.send(_refusal(503, reason))
            _close(conn)
            self.emit(
                ProxyEvent(
                    time.time(), client, "", "", 0, "deny", reason, None, 503, 0, 0, 0.0, None, None
                )
            )
            return
        session.run()

    def done(self, session: _Session) -> None:
        with self._lock:
            self._sessions.discard(session)
            if not self._sessions:
                self._idle.notify_all()

    def emit(self, event: ProxyEvent) -> None:
        """Hand one event to ``on_event``, one call at a time; its failure never stops the proxy."""
        with self._emit_lock:
            try:
                self._on_event(event)
            except Exception:
                _log.exception("egress proxy: on_event failed for %s", event)

    def connect(self, host: str, port: int) -> socket.socket:
        """Resolve, check every address, connect to a checked one (never to the name again).

        Raises ``_Refused`` when the policy refuses an address, OSError when none answers.
        """
        literal = parse_ip_literal(host)
        if literal is not None:
            name, addresses = str(literal), [literal]
        else:
            name = normalize_host(host)
            try:
                addresses = list(self.resolver(name, port, self.limits.resolve_timeout))
            except OSError:
                raise
            except Exception as exc:  # an injected resolver's own failure: still a 502
                raise OSError(f"resolver failed: {exc!r}") from exc
        if not addresses:
            raise OSError(f"{name} has no address")
        for address in addresses:
            verdict = self.policy.check_address(name, address, port)
            if not verdict.allowed:
                raise _Refused(403, verdict.reason, verdict.rule)
        error: OSError = OSError(f"could not connect to {name}")
        for address in addresses:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            # Non-blocking from creation (no ioctl), left non-blocking for the tunnel relay.
            sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
            try:
                _connect(sock, (str(address), port), self.limits.connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as exc:
                _close(sock)
                error = exc
        raise error


def _connect(sock: socket.socket, address: tuple[str, int], timeout: float) -> None:
    """Connect a non-blocking socket within ``timeout`` seconds (what ``settimeout`` and
    ``connect`` do, without switching the socket to blocking and back)."""
    err = sock.connect_ex(address)
    if err == errno.EINPROGRESS:
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        if not poller.poll(timeout * 1000):  # (poll retries EINTR itself, PEP 475)
            raise TimeoutError("timed out")
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))  # the errno's own subclass, e.g. ConnectionRefused


class _Session:
    """One client connection: a loop of forwarded requests, or one tunnel."""

    def __init__(self, proxy: EgressProxy, sock: socket.socket, client: str) -> None:
        self.proxy = proxy
        self.sock = sock
        self.client = client
        self.upstream: socket.socket | None = None
        self.upstream_reader: Reader | None = None
        self.upstream_key: tuple[str, int] | None = None
        self.tunnel: Tunnel | None = None

    def abort(self) -> None:
        if self.tunnel is not None:
            self.tunnel.stop("proxy closing")
        for sock in (self.sock, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug must cost one connection, never the proxy
            _log.exception("egress proxy: connection from %s failed", self.client)
            if self.tunnel is not None:
                self.tunnel.stop()
            start = (time.time(), time.monotonic())
            reason = f"internal error: {exc!r}"
            self._event(start, "", "", 0, EgressDecision(False, reason), status=None, error=reason)
        finally:
            self._drop_upstream()
            _close(self.sock)
            self.proxy.done(self)

    def _event(
        self,
        start: tuple[float, float],
        method: str,
        host: str,
        port: int,
        decision: EgressDecision,
        *,
        status: int | None,
        up: int = 0,
        down: int = 0,
        sni: str | None = None,
        error: str | None = None,
        verdict: str | None = None,
    ) -> None:
        wall, mono = start
        self.proxy.emit(
            ProxyEvent(
                time=wall,
                client=self.client,
                method=method,
                host=host,
                port=port,
                verdict=verdict or ("allow" if decision.allowed else "deny"),
                reason=decision.reason,
                rule=decision.rule,
                status=status,
                bytes_up=up,
                bytes_down=down,
                duration=time.monotonic() - mono,
                sni=sni,
                error=error,
            )
        )

    def _refuse(
        self,
        start: tuple[float, float],
        method: str,
        host: str,
        port: int,
        status: int,
        reason: str,
        rule: str | None = None,
        sni: str | None = None,
    ) -> None:
        with contextlib.suppress(OSError):
            send(self.sock, _refusal(status, reason), Meter())
        self._event(
            start, method, host, port, EgressDecision(False, reason, rule), status=status, sni=sni
        )

    def _unreachable(
        self,
        start: tuple[float, float],
        method: str,
        host: str,
        port: int,
        decision: EgressDecision,
        exc: Exception,
    ) -> None:
        """The policy allowed the destination but it could not be resolved or reached: 502."""
        error = f"upstream unreachable: {exc}"
        with contextlib.suppress(OSError):
            send(self.sock, _refusal(502, error), Meter())
        self._event(start, method, host, port, decision, status=502, error=error)

    def _loop(self) -> None:
        limits = self.proxy.limits
        reader = Reader(self.sock, limits.io_timeout)
        while not self.proxy.closed:
            start = (time.time(), time.monotonic())
            raw: bytes | None = None
            try:
                raw = reader.head(limits.idle_timeout, limits.head_timeout, MAX_HEAD_BYTES)
                if raw is None:
                    return
                start = (time.time(), time.monotonic())  # the request, not the idle wait
                request = parse_request_head(raw)
            except HttpError as exc:
                method = (raw or b"").split(b" ", 1)[0][:32].decode("ascii", "replace")
                self._refuse(start, method, "", 0, exc.status, exc.message)
                return
            except OSError:
                return
            try:
                check_host_header(request)
            except HttpError as exc:
                self._refuse(
                    start, request.method, request.host, request.port, exc.status, exc.message
                )
                return
            if request.method == "CONNECT":
                self._tunnel(request, reader, start)
                return
            if not self._forward(request, reader, start):
                return

    # -- forward proxy -------------------------------------------------------------------------

    def _drop_upstream(self) -> None:
        _close(self.upstream)
        self.upstream = self.upstream_reader = self.upstream_key = None

    def _open_upstream(self, request: RequestHead) -> bool:
        """Reuse the upstream for the same host:port if still idle-clean; True when reused."""
        key = (request.host.lower(), request.port)
        if self.upstream is not None and self.upstream_key == key:
            try:  # anything to read while idle means closed (or garbage): do not reuse
                self.upstream.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True
            except OSError:
                pass
        self._drop_upstream()
        self.upstream = self.proxy.connect(request.host, request.port)
        self.upstream_reader = Reader(self.upstream, self.proxy.limits.io_timeout)
        self.upstream_key = key
        return False

    def _forward(self, request: RequestHead, reader: Reader, start: tuple[float, float]) -> bool:
        """One absolute-form request; True when the client connection stays open."""
        method, host, port = request.method, request.host, request.port
        decision = self.proxy.policy.decide(host, port)
        if not decision.allowed:
            self._refuse(start, method, host, port, 403, decision.reason, decision.rule)
            return False
        up, down = Meter(), Meter()
        for attempt in range(2):
            try:
                reused = self._open_upstream(request)
            except _Refused as exc:
                self._refuse(start, method, host, port, exc.status, exc.reason, exc.rule)
                return False
            except (OSError, HostError) as exc:
                self._unreachable(start, method, host, port, decision, exc)
                return False
            if request.expect_continue and attempt == 0:
                with contextlib.suppress(OSError):
                    send(self.sock, _CONTINUE, Meter())
            try:
                return self._exchange(request, reader, decision, start, up, down)
            except _Stale as stale:
                # A reused upstream closed before answering a bodiless request: retry once.
                if not reused or attempt:
                    cause = stale.__cause__ or stale
                    return self._failed(request, decision, start, cause, None, up, down)
        return False  # unreachable: the second attempt returns or reports

    def _response_head(self, method: str) -> ResponseHead:
        """The next response head from the upstream; every problem with it is a 502."""
        assert self.upstream_reader is not None
        timeout = self.proxy.limits.io_timeout
        try:
            head = self.upstream_reader.head(timeout, timeout, _RESPONSE_HEAD_LIMIT)
            if head is None:
                raise ConnectionResetError("upstream closed before responding")
            response = parse_response_head(head, method=method)
        except HttpError as exc:
            raise HttpError(502, f"upstream: {exc.message}") from None
        if response.status == 101:
            raise HttpError(502, "upstream switched protocols (Upgrade is not forwarded)")
        return response

    def _failed(
        self,
        request: RequestHead,
        decision: EgressDecision,
        start: tuple[float, float],
        exc: BaseException,
        status: int | None,
        up: Meter,
        down: Meter,
    ) -> bool:
        """Report a request that failed after the policy allowed it; the connection closes."""
        if isinstance(exc, HttpError):
            message, code = exc.message, exc.status
        else:
            message, code = f"{type(exc).__name__}: {exc}", 502
        if status is None and not down.n:  # nothing sent to the client yet: it gets a reason
            with contextlib.suppress(OSError):
                send(self.sock, _refusal(code, message), Meter())
            status = code
        # A malformed body from the client is a refusal; an upstream failure is not.
        verdict = "deny" if isinstance(exc, HttpError) and code < 500 else "allow"
        self._event(
            start,
            request.method,
            request.host,
            request.port,
            decision,
            status=status,
            up=up.n,
            down=down.n,
            error=message,
            verdict=verdict,
        )
        return False

    def _exchange(
        self,
        request: RequestHead,
        reader: Reader,
        decision: EgressDecision,
        start: tuple[float, float],
        up: Meter,
        down: Meter,
    ) -> bool:
        assert self.upstream is not None and self.upstream_reader is not None
        timeout = self.proxy.limits.io_timeout
        method, host, port = request.method, request.host, request.port
        status: int | None = None
        try:
            send_message(
                request.forward_head(), reader, self.upstream, request.framing, timeout, up
            )
            while True:
                response = self._response_head(method)
                if response.status >= 200:
                    break
                send(self.sock, response.forward_head(close=False), down)
            status = response.status
            keep = request.keep_alive and response.framing.kind != "close"
            try:
                send_message(
                    response.forward_head(close=not keep),
                    self.upstream_reader,
                    self.sock,
                    response.framing,
                    timeout,
                    down,
                )
            except HttpError as exc:  # the upstream's body, not the client's request
                raise HttpError(502, f"upstream: {exc.message}") from None
        except (HttpError, OSError) as exc:
            self._drop_upstream()
            if isinstance(exc, OSError) and status is None and request.framing.kind == "none":
                raise _Stale from exc  # the caller retries once if the upstream was reused
            return self._failed(request, decision, start, exc, status, up, down)
        if not response.keep_alive:
            self._drop_upstream()
        self._event(start, method, host, port, decision, status=status, up=up.n, down=down.n)
        return keep

    # -- CONNECT tunnels -----------------------------------------------------------------------

    def _tunnel(self, request: RequestHead, reader: Reader, start: tuple[float, float]) -> None:
        host, port = request.host, request.port
        decision = self.proxy.policy.decide(host, port)
        if decision.allowed and port == _PLAIN_HTTP_PORT:
            # Plain HTTP goes through the forward path, where every request's Host is checked;
            # a tunnel would let requests for other sites ride an allowed connection.
            decision = EgressDecision(False, _NO_PLAIN_TUNNEL, decision.rule)
        if not decision.allowed:
            self._refuse(start, "CONNECT", host, port, 403, decision.reason, decision.rule)
            return
        try:
            upstream = self.proxy.connect(host, port)
        except _Refused as exc:
            self._refuse(start, "CONNECT", host, port, exc.status, exc.reason, exc.rule)
            return
        except (OSError, HostError) as exc:
            self._unreachable(start, "CONNECT", host, port, decision, exc)
            return
        self.upstream = upstream
        limits = self.proxy.limits
        tunnel = Tunnel(limits.tunnel_idle_timeout, sockets=(self.sock, upstream))
        self.tunnel = tunnel
        try:
            send(self.sock, _ESTABLISHED, Meter())
        except OSError as exc:
            self._event(start, "CONNECT", host, port, decision, status=None, error=str(exc))
            return
        gate = _HelloGate(host, strict=port == 443 and parse_ip_literal(host) is None)
        first = bytes(reader.buf)
        reader.buf.clear()
        relayed = relay(
            self.sock, upstream, tunnel, first=first, gate=gate, hello_timeout=limits.hello_timeout
        )
        if relayed.refusal is not None:
            decision = EgressDecision(False, relayed.refusal, decision.rule)
        self._event(
            start,
            "CONNECT",
            host,
            port,
            decision,
            status=200,
            up=relayed.up,
            down=relayed.down,
            sni=gate.hello.sni,
            error=tunnel.error,
        )


_NO_HELLO = ClientHello(HelloStatus.NEED_MORE)  # nothing parsed yet


class _HelloGate:
    """The CONNECT tunnel's first-bytes check (a :class:`warden.contain.relay.Gate`): a TLS
    ClientHello's SNI must name the CONNECT host; see :func:`first_bytes_refusal`."""

    __slots__ = ("hello", "host", "parsed", "strict")

    def __init__(self, host: str, *, strict: bool) -> None:
        self.host = host
        self.strict = strict  # port 443 to a host name: no TLS or no SNI is refused
        self.hello = _NO_HELLO
        self.parsed = b""  # the bytes ``hello`` was parsed from

    def _parse(self, data: bytes) -> ClientHello:
        # The relay asks complete() and then refusal() about the same bytes: parse them once.
        if data != self.parsed or self.hello is _NO_HELLO:
            self.hello, self.parsed = parse_client_hello(data), data
        return self.hello

    def complete(self, data: bytes) -> bool:
        return self._parse(data).status is not HelloStatus.NEED_MORE or len(data) > MAX_CLIENT_HELLO

    def refusal(self, data: bytes, ended: str) -> str | None:
        self._parse(data)
        return first_bytes_refusal(
            self.hello,
            self.host,
            strict=self.strict,
            has_data=bool(data),
            ended=ended,
            matches=lambda sni: same_host(sni, self.host),
        )


class _Stale(Exception):
    """A reused upstream connection was closed by the server before it answered."""
