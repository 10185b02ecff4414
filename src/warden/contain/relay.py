"""Byte relays for the egress proxy's CONNECT tunnels.

A tunnel direction is a loop in its own thread. It starts with ``recv_into``/``send`` on a 64 KiB
buffer (cheap for the short exchanges most tunnels are); the first read that fills the buffer
marks a bulk transfer and the direction switches to ``poll`` the source, ``os.splice`` what
arrived into a pipe, ``os.splice`` the pipe into the destination. Spliced bytes never enter
Python (no copy to user space, the GIL released inside each call), so one direction moves
gigabytes per second on loopback; Python runs once per chunk of up to :data:`PIPE_SIZE` bytes to
count it and note the time. Where ``splice`` is refused (not Linux, or an exotic socket) the
direction stays on ``recv_into``/``send``.

Counting is exact: a direction adds the bytes the destination accepted, never the bytes read.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import socket
import threading
import time
from dataclasses import dataclass, field

__all__ = ["PIPE_SIZE", "Tunnel", "pump", "send_all"]

#: Pipe capacity asked for with F_SETPIPE_SZ: 1 MiB is the unprivileged maximum
#: (/proc/sys/fs/pipe-max-size) and makes one splice round trip carry up to 1 MiB.
PIPE_SIZE = 1 << 20
#: How often a blocked direction wakes to check the tunnel's shared idle clock.
_POLL_SLICE_MS = 1000
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_SPLICE = getattr(os, "splice", None)
_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)
#: A direction starts with recv/send through this buffer; a read that fills it marks a bulk
#: transfer and switches the direction to splice. Short tunnels (one request, one response)
#: then never pay for the pipe.
_COPY_CHUNK = 65536
_READABLE = select.POLLIN | select.POLLHUP | select.POLLERR
_WRITABLE = select.POLLOUT | select.POLLHUP | select.POLLERR


@dataclass
class Tunnel:
    """State two directions share: the idle clock, the stop flag and the first error."""

    idle_timeout: float
    last_activity: float = field(default_factory=time.monotonic)
    stopped: bool = False
    error: str | None = None
    sockets: tuple[socket.socket, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self, error: str | None = None) -> None:
        """End both directions now (close, error, idle): wakes any blocked poll."""
        with self._lock:
            if error is not None and self.error is None:
                self.error = error
            self.stopped = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def wait(self, sock: socket.socket, events: int) -> bool:
        """Block until ``sock`` is ready; False when the tunnel stopped or went idle."""
        poller = select.poll()
        poller.register(sock, events)
        while not self.stopped:
            if poller.poll(_POLL_SLICE_MS):
                return True
            if time.monotonic() - self.last_activity > self.idle_timeout:
                self.stop("tunnel idle timeout")
        return False


def _open_pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_end, _F_SETPIPE_SZ, PIPE_SIZE)
    return read_end, write_end


class _SpliceUnsupported(Exception):
    """The kernel refused to splice this socket before a byte moved."""


class _Count:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


def _splice_pump(src: socket.socket, dst: socket.socket, tunnel: Tunnel, sent: _Count) -> None:
    """Move src -> dst until EOF, adding to ``sent`` what dst accepted. Raises OSError."""
    assert _SPLICE is not None
    read_end, write_end = _open_pipe()
    first = True
    try:
        while tunnel.wait(src, _READABLE):
            try:
                n = _SPLICE(src.fileno(), write_end, PIPE_SIZE, flags=_SPLICE_FLAGS)
            except BlockingIOError:
                continue
            except OSError as exc:
                if first and exc.errno in _UNSUPPORTED:
                    raise _SpliceUnsupported from exc
                raise
            first = False
            if n == 0:
                return
            tunnel.last_activity = time.monotonic()
            while n:
                try:
                    moved = _SPLICE(read_end, dst.fileno(), n, flags=_SPLICE_FLAGS)
                except BlockingIOError:
                    if not tunnel.wait(dst, _WRITABLE):
                        return
                    continue
                n -= moved
                sent.n += moved
            tunnel.last_activity = time.monotonic()
    finally:
        os.close(read_end)
        os.close(write_end)


def _copy_pump(
    src: socket.socket, dst: socket.socket, tunnel: Tunnel, sent: _Count, *, upgrade: bool
) -> bool:
    """recv/send until EOF (False), or until a read fills the buffer and ``upgrade`` (True)."""
    buffer = bytearray(_COPY_CHUNK)
    view = memoryview(buffer)
    while tunnel.wait(src, _READABLE):
        try:
            n = src.recv_into(buffer)
        except BlockingIOError:
            continue
        if n == 0:
            return False
        offset = 0
        while offset < n:
            try:
                moved = dst.send(view[offset:n])
            except BlockingIOError:
                if not tunnel.wait(dst, _WRITABLE):
                    return False
                continue
            offset += moved
            sent.n += moved
        tunnel.last_activity = time.monotonic()
        if upgrade and n == len(buffer):
            return True
    return False


def pump(src: socket.socket, dst: socket.socket, tunnel: Tunnel) -> int:
    """Relay one direction until EOF, then half-close ``dst``; any failure stops the tunnel.

    Both sockets must be non-blocking. Returns the bytes ``dst`` accepted.
    """
    sent = _Count()
    upgrade = _SPLICE is not None
    try:
        while _copy_pump(src, dst, tunnel, sent, upgrade=upgrade):
            try:
                _splice_pump(src, dst, tunnel, sent)
                break
            except _SpliceUnsupported:
                upgrade = False  # the kernel refused the very first splice: stay on recv/send
    except OSError as exc:
        tunnel.stop(f"{type(exc).__name__}: {exc.strerror or exc}")
        return sent.n
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
    return sent.n


def send_all(sock: socket.socket, data: bytes, tunnel: Tunnel) -> int:
    """Write ``data`` to a non-blocking socket; returns the bytes the kernel took (all, unless
    the tunnel stopped or the write failed, which stops the tunnel)."""
    view = memoryview(data)
    sent = 0
    try:
        while sent < len(data):
            try:
                sent += sock.send(view[sent:])
            except BlockingIOError:
                if not tunnel.wait(sock, _WRITABLE):
                    break
    except OSError as exc:
        tunnel.stop(f"{type(exc).__name__}: {exc.strerror or exc}")
    return sent
