"""Real loopback pieces for the egress proxy tests: upstream sinks, a proxy, raw clients.

Nothing here is mocked: sinks are TCP (or TLS) servers on 127.0.0.0/8 that record every byte they
receive, the proxy is the real :class:`EgressProxy` on a real listening socket, and clients speak
raw bytes so a test can send exactly the malformed message it means.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from warden.contain.egress import EgressPolicy, IPAddress
from warden.contain.proxy import EgressProxy, ProxyEvent, ProxyLimits

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Sink:
    """A loopback upstream that records every byte and connection it receives.

    ``mode``: ``"http"`` answers each request with ``ok <path>`` (Content-Length bodies echoed
    after it) or with the fixed bytes ``reply``, ``"echo"`` echoes raw bytes, ``"record"`` only
    records, ``"banner"`` greets first then echoes, ``"tls"`` is an HTTPS server (certificate
    for ``allowed.test``) that answers like ``http``.
    """

    def __init__(
        self,
        mode: str = "http",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        reply: bytes | None = None,
        close_after_reply: bool = False,
    ) -> None:
        self.mode = mode
        self.reply = reply
        self.close_after_reply = close_after_reply
        self.received = bytearray()
        self.connections = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, port), backlog=1024)
        self.host, self.port = self._listener.getsockname()[:2]
        self._context: ssl.SSLContext | None = None
        if mode == "tls":
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert, key = _self_signed("allowed.test")
            self._context.load_cert_chain(cert, key)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.received += data

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            if self.mode == "record":
                while data := conn.recv(65536):
                    self._record(data)
            elif self.mode == "banner":  # a server that speaks first (SSH, SMTP), then echoes
                conn.sendall(b"SSH-2.0-warden-test\r\n")
                while data := conn.recv(65536):
                    self._record(data)
                    conn.sendall(data)
            elif self.mode == "echo":
                while data := conn.recv(65536):
                    self._record(data)
                    conn.sendall(data)
            elif self._context is not None:
                with self._context.wrap_socket(conn, server_side=True) as stream:
                    self._http(stream)
            else:
                self._http(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def _http(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                self._record(data)
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buf) < length:
                data = conn.recv(65536)
                if not data:
                    return
                self._record(data)
                buf += data
            body, buf = buf[:length], buf[length:]
            with self._lock:
                self.requests.append(head + b"\r\n\r\n" + body)
            if self.reply is not None:
                conn.sendall(self.reply)
                if self.close_after_reply:
                    return
                continue
            path = head.split(b" ")[1]
            reply = b"ok " + path + (b" " + body if body else b"")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(reply) + reply)


_CERT_DIR = tempfile.TemporaryDirectory(prefix="warden-h2-cert-")  # removed at exit


@functools.cache
def _self_signed(name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(_CERT_DIR.name)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def map_resolver(table: dict[str, Sequence[str]]) -> Callable[[str, int, float], list[IPAddress]]:
    """A resolver from a fixed table; unknown names fail like NXDOMAIN."""

    def resolve(name: str, port: int, timeout: float) -> list[IPAddress]:
        if name not in table:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: not in the test table")
        return [ipaddress.ip_address(a) for a in table[name]]

    return resolve


class Harness:
    """A running proxy on loopback with its events collected."""

    def __init__(
        self,
        allow: Sequence[str],
        deny: Sequence[str] = (),
        *,
        names: dict[str, Sequence[str]] | None = None,
        limits: ProxyLimits = ProxyLimits(),
        on_event: Callable[[ProxyEvent], None] | None = None,
    ) -> None:
        self.events: list[ProxyEvent] = []
        self._cond = threading.Condition()
        self.policy = EgressPolicy.from_patterns(allow, deny)
        self.proxy = EgressProxy(
            self.policy,
            on_event=on_event or self._collect,
            resolver=map_resolver(names or {}),
            limits=limits,
        )
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.proxy.serve(listener)
        self.address = self.proxy.address

    def _collect(self, event: ProxyEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_events(self, count: int, timeout: float = 10.0) -> list[ProxyEvent]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} events, got {self.events}")
                self._cond.wait(left)
            return list(self.events)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def exchange(self, data: bytes, timeout: float = 10.0) -> bytes:
        """Send raw bytes on a new connection and read until the proxy closes it."""
        with self.connect() as sock:
            sock.sendall(data)
            return read_all(sock, timeout)

    def close(self) -> None:
        self.proxy.close()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    out = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while data := sock.recv(65536):
            out += data
    return bytes(out)


def read_response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """One response with a Content-Length body (enough for the sinks and the proxy's 403s)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return buf
        buf += data
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        data = sock.recv(65536)
        if not data:
            break
        body += data
    return head + b"\r\n\r\n" + body


def client_hello(server_name: str | None) -> bytes:
    """A real ClientHello from Python's ssl module (what curl or requests would send)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@contextlib.contextmanager
def sinks(*modes: str) -> Iterator[list[Sink]]:
    opened = [Sink(mode) for mode in modes]
    try:
        yield opened
    finally:
        for sink in opened:
            sink.close()
