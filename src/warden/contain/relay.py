"""The byte relay of a CONNECT tunnel: both directions in the thread that serves the connection.

One ``poll`` loop drives both directions, so a tunnel costs no second thread, no hand-off and no
GIL ping-pong between two threads of the same tunnel (with a thread per direction a short tunnel
made ~24 futex calls and ~20 context switches; now under 1 and ~7). Each direction is a small
state machine: wait until its source is readable, read, then write to the destination; bytes the
destination does not take at once are kept and the direction waits for the destination to be
writable instead, never blocking the other direction.

Small flows use ``recv``/``send`` with ``MSG_DONTWAIT`` (so the sockets' blocking mode does not
matter), up to 64 KiB per read. The first read that fills 64 KiB marks a bulk transfer: once it
is written the direction switches to ``os.splice`` through a pipe (source into the pipe, pipe
into the destination). Spliced bytes never enter Python (no copy to user space, the GIL released
inside each call), so one direction moves gigabytes per second on loopback; Python runs once per
chunk of up to :data:`PIPE_SIZE` bytes, and while whole chunks go through it splices again
without polling in between. Where ``splice`` is refused (not Linux, or an exotic socket) the
direction stays on ``recv``/``send``.

Inspection: until a :class:`Gate` has seen enough of the client's first bytes (the proxy's
ClientHello check), the client's bytes are only collected, never forwarded, while the upstream's
bytes already flow to the client (a server-speaks-first protocol such as SSH works). A refusal
stops the tunnel before one client byte reached the upstream.

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
from typing import NamedTuple, Protocol

__all__ = ["PIPE_SIZE", "Gate", "Relayed", "Tunnel", "relay"]

#: Pipe capacity asked for with F_SETPIPE_SZ: 1 MiB is the unprivileged maximum
#: (/proc/sys/fs/pipe-max-size) and makes one splice round trip carry up to 1 MiB.
PIPE_SIZE = 1 << 20
#: The longest one poll sleeps before the loop looks at the tunnel's stop flag and idle clock.
_POLL_SLICE = 1.0
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_SPLICE = getattr(os, "splice", None)
_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)
#: A direction starts with recv/send through this buffer; a read that fills it marks a bulk
#: transfer and switches the direction to splice. Short tunnels (one request, one response)
#: then never pay for the pipe.
_COPY_CHUNK = 65536
_DONTWAIT = socket.MSG_DONTWAIT
#: Splice rounds one step may run back to back while the source has data and the destination
#: takes it all (each round saves a poll; the bound keeps the other direction served).
_SPLICE_BURST = 8
_IN, _OUT = select.POLLIN, select.POLLOUT
_FAILED = select.POLLHUP | select.POLLERR | select.POLLNVAL
#: What the tunnel reports when it stopped before the client's first bytes were judged.
_STOPPED_EARLY = "the tunnel ended"


@dataclass
class Tunnel:
    """A tunnel's shared state: the idle clock, the stop flag and the first error."""

    idle_timeout: float
    last_activity: float = field(default_factory=time.monotonic)
    stopped: bool = False
    error: str | None = None
    sockets: tuple[socket.socket, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self, error: str | None = None) -> None:
        """End the tunnel now (close, error, idle, proxy closing); wakes the relay's poll."""
        with self._lock:
            if error is not None and self.error is None:
                self.error = error
            self.stopped = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Gate(Protocol):
    """Judges the client's first bytes before any of them go upstream."""

    def complete(self, data: bytes) -> bool:
        """True when ``data`` (everything the client sent so far) is enough to decide."""

    def refusal(self, data: bytes, ended: str) -> str | None:
        """Why the tunnel must not open, or None; ``ended`` says why no more bytes will come
        ("" when ``complete`` said enough)."""


class Relayed(NamedTuple):
    up: int  # bytes the upstream accepted
    down: int  # bytes the client accepted
    refusal: str | None  # the gate's refusal (nothing went upstream), else None


class _SpliceUnsupported(Exception):
    """The kernel refused to splice this socket before a byte moved."""


class _Direction:
    """One direction's state: bytes read but not yet written, end of stream, bulk mode."""

    __slots__ = (
        "bulk",
        "can_splice",
        "done",
        "dst",
        "eof",
        "in_pipe",
        "pending",
        "pipe",
        "sent",
        "spliced",
        "src",
    )

    def __init__(self, src: socket.socket, dst: socket.socket) -> None:
        self.src, self.dst = src, dst
        self.sent = 0
        self.pending: memoryview | None = None  # copy mode: read, not yet taken by dst
        self.pipe: tuple[int, int] | None = None  # splice mode: (read end, write end)
        self.in_pipe = 0  # splice mode: bytes in the pipe, not yet taken by dst
        self.eof = False  # src ended; the direction is done once nothing is pending
        self.done = False
        self.bulk = False  # a read filled the buffer: splice once it is written
        self.can_splice = _SPLICE is not None
        self.spliced = False  # a splice succeeded: a later EINVAL is a failure, not "unsupported"

    def step(self) -> bool:
        """Write what is pending, else read once and write it; True when a byte moved.

        Called when the socket it waits for is ready (or failed); raises OSError on failure.
        """
        if self.pending is not None or self.in_pipe:
            moved = self._flush()
        elif self.pipe is not None:
            moved = self._splice_in()
            # Bulk: while whole chunks go through, splice again without a poll in between
            # (bounded, so the other direction waits for at most a few chunks).
            for _ in range(_SPLICE_BURST):
                if self.eof or self.in_pipe or self.pipe is None:
                    break
                if not self._splice_in():
                    break
        else:
            moved = self._copy_in()
        if self.pending is not None or self.in_pipe:
            return moved
        if self.bulk and self.pipe is None and self.can_splice:
            self._start_splice()
        if self.eof:
            self.done = True
            with contextlib.suppress(OSError):  # the peer is gone: the other side will see
                self.dst.shutdown(socket.SHUT_WR)
        return moved

    def _copy_in(self) -> bool:
        try:  # recv, not recv_into: a fresh 64 KiB buffer would be zeroed for a few bytes
            data = self.src.recv(_COPY_CHUNK, _DONTWAIT)
        except BlockingIOError:
            return False
        if not data:
            self.eof = True
            return False
        self.pending = memoryview(data)
        self.bulk = len(data) == _COPY_CHUNK
        self._flush()
        return True

    def _flush(self) -> bool:
        if self.pending is not None:
            before = self.sent
            while self.pending:
                try:
                    moved = self.dst.send(self.pending, _DONTWAIT)
                except BlockingIOError:
                    return self.sent > before
                self.sent += moved
                self.pending = self.pending[moved:]
            self.pending = None
            return self.sent > before
        assert _SPLICE is not None and self.pipe is not None
        moved_any = False
        while self.in_pipe:
            try:
                moved = _SPLICE(self.pipe[0], self.dst.fileno(), self.in_pipe, flags=_SPLICE_FLAGS)
            except BlockingIOError:
                break
            self.in_pipe -= moved
            self.sent += moved
            moved_any = True
        return moved_any

    def _start_splice(self) -> None:
        # splice() honours the sockets' O_NONBLOCK, not MSG_DONTWAIT: both must be non-blocking.
        self.src.setblocking(False)
        self.dst.setblocking(False)
        read_end, write_end = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_end, _F_SETPIPE_SZ, PIPE_SIZE)
        self.pipe = (read_end, write_end)

    def _splice_in(self) -> bool:
        assert _SPLICE is not None and self.pipe is not None
        try:
            n = _SPLICE(self.src.fileno(), self.pipe[1], PIPE_SIZE, flags=_SPLICE_FLAGS)
        except BlockingIOError:
            return False
        except OSError as exc:
            if self.spliced or exc.errno not in _UNSUPPORTED:
                raise
            self.can_splice = False  # the kernel will not splice this socket: stay on recv/send
            self.close_pipe()
            return False
        if n == 0:
            self.eof = True
            return False
        self.spliced = True
        self.in_pipe = n
        self._flush()
        return True

    def close_pipe(self) -> None:
        if self.pipe is not None and not self.in_pipe:
            os.close(self.pipe[0])
            os.close(self.pipe[1])
            self.pipe = None

    def release(self) -> None:
        """Close the pipe (with whatever it still holds)."""
        self.in_pipe = 0
        self.close_pipe()


def _register(poller: select.poll, fd: int, mask: int) -> None:
    if mask:
        poller.register(fd, mask)  # (registering again replaces the mask)
    else:
        poller.unregister(fd)


def relay(
    client: socket.socket,
    upstream: socket.socket,
    tunnel: Tunnel,
    *,
    first: bytes,
    gate: Gate,
    hello_timeout: float,
) -> Relayed:
    """Relay both directions until both ended or the tunnel stopped; see the module docstring.

    ``first`` is what the client already sent after its CONNECT head. The gate sees the client's
    bytes until it can decide, for at most ``hello_timeout`` seconds (then it decides with what
    it has). Sockets must be blocking without a Python timeout, or non-blocking. Any failure
    stops the tunnel and is its ``error``.
    """
    up, down = _Direction(client, upstream), _Direction(upstream, client)
    hello: bytearray | None = bytearray(first)  # None once the gate has decided
    hello_deadline = time.monotonic() + hello_timeout
    refusal: str | None = None

    def decide(ended: str) -> None:
        nonlocal hello, refusal
        assert hello is not None
        data, hello = bytes(hello), None
        refusal = gate.refusal(data, ended)
        if refusal is not None:
            tunnel.stop()
            return
        if ended.startswith("the client closed"):
            up.eof = True
        if data:
            up.pending = memoryview(data)
            up.step()  # the upstream is almost always writable: save a poll

    def read_hello() -> None:
        nonlocal refusal
        assert hello is not None
        try:
            data = client.recv(_COPY_CHUNK, _DONTWAIT)
        except BlockingIOError:
            return
        except OSError as exc:
            refusal = f"client failed: {exc}"
            tunnel.stop()
            return
        if not data:
            decide("the client closed")
        else:
            hello.extend(data)
            if gate.complete(bytes(hello)):
                decide("")

    for sock in (client, upstream):
        if sock.gettimeout():  # a Python timeout would turn MSG_DONTWAIT into a wait
            sock.setblocking(False)
    poller = select.poll()
    cfd, ufd = client.fileno(), upstream.fileno()
    creg = ureg = 0  # the events registered for each socket
    try:
        if gate.complete(first):
            decide("")
        while not tunnel.stopped:
            # What each direction waits for: its source readable, or (bytes pending) its
            # destination writable. While inspecting, the client's bytes go to the gate alone.
            inspecting = hello is not None
            cmask = _IN if inspecting else 0
            umask = 0
            if not (inspecting or up.done):
                if up.pending is not None or up.in_pipe:
                    umask = _OUT
                else:
                    cmask = _IN
            if not down.done:
                if down.pending is not None or down.in_pipe:
                    cmask |= _OUT
                else:
                    umask |= _IN
            if not (cmask or umask):
                break  # both directions ended
            if cmask != creg:
                _register(poller, cfd, cmask)
                creg = cmask
            if umask != ureg:
                _register(poller, ufd, umask)
                ureg = umask
            now = time.monotonic()
            wait = tunnel.last_activity + tunnel.idle_timeout - now
            if inspecting and hello_deadline - now < wait:
                wait = hello_deadline - now
            cev = uev = 0
            if wait > 0:
                for fd, event in poller.poll(min(wait, _POLL_SLICE) * 1000):
                    if fd == cfd:
                        cev = event
                    else:
                        uev = event
            if tunnel.stopped:
                break
            if inspecting:
                if cev & (_IN | _FAILED):
                    read_hello()
                elif time.monotonic() >= hello_deadline:
                    decide(f"no data within {hello_timeout:g}s")
                if tunnel.stopped:
                    break
            moved = False
            if not (inspecting or up.done):  # (a gate's decision already wrote what it could)
                if up.pending is not None or up.in_pipe:
                    if uev & (_OUT | _FAILED):
                        moved = up.step()
                elif cev & (_IN | _FAILED):
                    moved = up.step()
            if not down.done:
                if down.pending is not None or down.in_pipe:
                    if cev & (_OUT | _FAILED):
                        moved = down.step() or moved
                elif uev & (_IN | _FAILED):
                    moved = down.step() or moved
            if moved:
                tunnel.last_activity = time.monotonic()
            elif not (cev or uev) and (
                time.monotonic() - tunnel.last_activity >= tunnel.idle_timeout
            ):
                tunnel.stop("tunnel idle timeout")
    except OSError as exc:
        tunnel.stop(f"{type(exc).__name__}: {exc.strerror or exc}")
    finally:
        up.release()
        down.release()
    if hello is not None and refusal is None:  # stopped before the gate could decide
        refusal = gate.refusal(bytes(hello), _STOPPED_EARLY)
    return Relayed(up.sent, down.sent, refusal)
