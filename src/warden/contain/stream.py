"""Blocking socket I/O for the proxy's HTTP path: heads read under deadlines, bodies relayed.

Every read has a timeout (a silent peer costs a sleeping thread for at most that long, never
forever), and every write is counted into a :class:`Meter` as the kernel accepts it, so the
byte counts in the audit record are exact even for a transfer that fails halfway.
"""

from __future__ import annotations

import re
import socket
import struct
import time

from warden.contain.http1 import (
    MAX_HEADERS,
    Framing,
    HttpError,
    find_head_end,
    parse_chunk_size,
)

__all__ = [
    "Meter",
    "Reader",
    "copy_chunked",
    "copy_length",
    "copy_until_close",
    "send",
    "send_message",
    "use_kernel_timeouts",
]

_RECV = 65536
_COPY_BUFFER = 256 * 1024
#: A chunk-size or trailer line: RFC 9112 sets no limit; 4 KiB covers any honest extension.
_MAX_CHUNK_LINE = 4096
_TRAILER = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*\Z")


class Meter:
    """Bytes a request or tunnel direction has written so far (exact even when it fails)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


def use_kernel_timeouts(sock: socket.socket, timeout: float) -> None:
    """Blocking mode with SO_RCVTIMEO/SO_SNDTIMEO instead of Python's socket timeouts.

    Python implements a socket timeout as poll() before every recv or send: two syscalls and
    two GIL hand-offs per call. A blocking socket with kernel timeouts does one. A timed-out
    call fails with EAGAIN, which :class:`Reader` and :func:`send` turn into TimeoutError.
    """
    if sock.gettimeout() is not None:  # an accepted socket usually is blocking already
        sock.settimeout(None)
    value = _timeval(timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def _timeval(timeout: float) -> bytes:
    timeout = max(timeout, 0.001)  # a zero timeval would mean "wait forever"
    return struct.pack("@ll", int(timeout), int(timeout % 1 * 1_000_000))


class Reader:
    """A socket with a receive buffer; every read has a timeout (see use_kernel_timeouts)."""

    __slots__ = ("_timeout", "buf", "sock")

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        use_kernel_timeouts(sock, timeout)
        self.sock = sock
        self.buf = bytearray()
        self._timeout = timeout

    def _receive_timeout(self, timeout: float) -> None:
        if timeout <= 0:
            raise TimeoutError("read timed out")
        if timeout != self._timeout:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
            self._timeout = timeout

    def recv_into(self, view: memoryview, size: int, timeout: float) -> int:
        self._receive_timeout(timeout)
        try:
            return self.sock.recv_into(view, size)
        except BlockingIOError:
            raise TimeoutError("read timed out") from None

    def fill(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``) into ``buf``; False at end of stream."""
        self._receive_timeout(timeout)
        try:
            data = self.sock.recv(_RECV)
        except BlockingIOError:
            raise TimeoutError("read timed out") from None
        self.buf += data
        return bool(data)

    def head(self, first_timeout: float, head_timeout: float, limit: int) -> bytes | None:
        """One head; None if the peer closed or stayed idle before sending its first byte.

        ``first_timeout`` bounds the wait for that first byte, ``head_timeout`` the time from
        it to the end of the head, so a client trickling a byte at a time is cut off.
        """
        deadline: float | None = None
        while True:
            if deadline is None:
                while self.buf[:2] == b"\r\n":  # RFC 9112 section 2.2: CRLF before a request
                    del self.buf[:2]
            if self.buf:
                if deadline is None:
                    deadline = time.monotonic() + head_timeout
                end = find_head_end(self.buf, limit)
                if end > 0:
                    head = bytes(self.buf[:end])
                    del self.buf[:end]
                    return head
            try:
                got = self.fill(first_timeout if deadline is None else deadline - time.monotonic())
            except TimeoutError:
                if deadline is None:
                    return None
                raise HttpError(408, "head not complete in time") from None
            if not got:
                if deadline is None:
                    return None
                raise HttpError(400, "connection closed inside a head")

    def line(self, timeout: float) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", 0, _MAX_CHUNK_LINE)
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                if b"\n" in line or b"\r" in line:
                    raise HttpError(400, "bare CR or LF in a chunk line")
                return line
            if len(self.buf) >= _MAX_CHUNK_LINE or b"\n" in self.buf:
                raise HttpError(400, "chunk line too long or bare LF")
            if not self.fill(timeout):
                raise HttpError(400, "connection closed inside a chunked body")


def send(sock: socket.socket, data: bytes | bytearray | memoryview, meter: Meter) -> None:
    """sendall under the socket's kernel send timeout; ``meter`` counts what the kernel took,
    also when the write fails midway."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            raise TimeoutError("write timed out") from None
        meter.n += sent
        view = view[sent:]


def copy_length(reader: Reader, dst: socket.socket, n: int, timeout: float, meter: Meter) -> None:
    """Relay exactly ``n`` body bytes from ``reader`` to ``dst``."""
    left = n
    if reader.buf:
        take = min(left, len(reader.buf))
        send(dst, reader.buf[:take], meter)
        del reader.buf[:take]
        left -= take
    if not left:
        return
    buffer = bytearray(min(left, _COPY_BUFFER))
    view = memoryview(buffer)
    while left:
        got = reader.recv_into(view, min(left, len(buffer)), timeout)
        if got == 0:
            raise HttpError(400, "connection closed inside a body")
        send(dst, view[:got], meter)
        left -= got


def copy_chunked(reader: Reader, dst: socket.socket, timeout: float, meter: Meter) -> None:
    """Relay a chunked body verbatim, checking every chunk-size line and the trailer section."""
    while True:
        line = reader.line(timeout)
        size = parse_chunk_size(line)
        send(dst, line + b"\r\n", meter)
        if size == 0:
            break
        copy_length(reader, dst, size, timeout, meter)
        while len(reader.buf) < 2:
            if not reader.fill(timeout):
                raise HttpError(400, "connection closed inside a chunk")
        if reader.buf[:2] != b"\r\n":
            raise HttpError(400, "chunk data not followed by CRLF")
        del reader.buf[:2]
        send(dst, b"\r\n", meter)
    for _ in range(MAX_HEADERS + 1):  # trailer fields, then the empty line
        line = reader.line(timeout)
        if line and not _TRAILER.match(line):
            raise HttpError(400, "malformed trailer field")
        send(dst, line + b"\r\n", meter)
        if not line:
            return
    raise HttpError(431, "too many trailer fields")


def copy_until_close(reader: Reader, dst: socket.socket, timeout: float, meter: Meter) -> None:
    if reader.buf:
        send(dst, reader.buf, meter)
        reader.buf.clear()
    buffer = bytearray(_COPY_BUFFER)
    view = memoryview(buffer)
    while True:
        got = reader.recv_into(view, len(buffer), timeout)
        if got == 0:
            return
        send(dst, view[:got], meter)


def send_message(
    head: bytes, reader: Reader, dst: socket.socket, framing: Framing, timeout: float, meter: Meter
) -> None:
    """Send a head and its body; a small body already buffered goes out in the same write."""
    if framing.kind == "length" and len(reader.buf) >= framing.length:
        data = head + reader.buf[: framing.length]
        del reader.buf[: framing.length]
        send(dst, data, meter)
        return
    send(dst, head, meter)
    if framing.kind == "length":
        copy_length(reader, dst, framing.length, timeout, meter)
    elif framing.kind == "chunked":
        copy_chunked(reader, dst, timeout, meter)
    elif framing.kind == "close":
        copy_until_close(reader, dst, timeout, meter)
