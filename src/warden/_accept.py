"""Threads that accept a connection and serve it themselves: no hand-off between threads.

Shared by the egress proxy (:mod:`warden.contain.proxy`) and the unix socket of ``warden serve
--hooks`` (:mod:`warden.integrations.hooks.serve`), so it lives outside both packages (the
integrations must not import ``warden.contain``).

The proxy used to run one accept thread that passed each connection to a pooled worker. Every
short connection (``curl``, ``pip``: a new CONNECT tunnel per request) then paid for a thread
wake-up and a GIL hand-off before its first byte was read, and the two threads fought over the
GIL. Here every idle thread blocks in ``accept()`` on the shared listening socket itself; the
kernel wakes exactly one of them per connection (exclusive wait queue, no thundering herd), and
that thread serves the connection from its first byte to its close, then goes back to
``accept()``.

Growth: when the last idle thread takes a connection it starts one more, so one thread always
waits in ``accept()`` (that thread also answers the 503 when the proxy is full). The pool is
therefore bounded by the connections its user admits plus its idle threads. Shrinking: the
listener gets a kernel receive timeout (``SO_RCVTIMEO``, which ``accept()`` honours), so a thread
idle for :data:`IDLE_SECONDS` exits unless it is one of the ``spare`` threads kept at rest.
Stopping: ``shutdown()`` on a listening socket wakes every thread blocked in ``accept()`` (Linux
returns EINVAL).

``spare`` (default 1, the proxy's) is how many threads wait at rest. The thread start that
growth costs is paid by the connection that took the last idle thread, before it is served
(``Thread.start()`` waits for the new thread's first run: 0.25 ms when it lands on the
creator's CPU, 3.5 ms median when it lands on an idle vCPU of this 2-vCPU guest, see
``ns.on_this_cpu``). With ``spare=2`` a connection that arrives while no other is being served
never pays it: one thread takes it, the other still waits. ``warden serve --hooks`` uses that
for its unix socket (one connection per hook event, mostly one at a time).

``serve`` gets the peer as ``host:port`` for an IP socket and as the peer's bound path
(usually ``""``) for a unix one.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable

__all__ = ["IDLE_SECONDS", "AcceptPool"]

#: How long a thread waits in accept() before it exits (unless it is the last one): long enough
#: to cover bursts of requests, short enough that a quiet proxy holds one thread.
IDLE_SECONDS = 30.0

_log = logging.getLogger(__name__)

Serve = Callable[[socket.socket, str], None]


class AcceptPool:
    """Serve a listening socket with threads that each accept and then serve one connection."""

    def __init__(self, name: str, listener: socket.socket, serve: Serve, *, spare: int = 1) -> None:
        if spare < 1:
            raise ValueError("an accepting pool needs at least one spare thread")
        self._name = name
        self._spare = spare
        self._listener = listener
        self._serve = serve
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: set[threading.Thread] = set()
        self._closed = False

    def start(self) -> None:
        """Make the listener blocking (with the idle timeout) and start the spare threads."""
        self._listener.settimeout(None)
        self._listener.setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", int(IDLE_SECONDS), 0)
        )
        for _ in range(self._spare):
            self._spawn()

    def _spawn(self) -> None:
        with self._lock:
            if self._closed:
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._threads.add(thread)
            self._idle += 1  # counted before it runs, so a burst does not start a thread each
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: busy threads come back to accept() later
            _log.exception("%s: could not start an accepting thread", self._name)
            with self._lock:
                self._threads.discard(thread)
                self._idle -= 1

    def _run(self) -> None:
        listener = self._listener
        # socket.accept() looks up the listener's family and type as IntEnums (two enum
        # constructions in Python per connection); the plain ints, read once, do the same.
        family, kind, proto = int(listener.family), int(listener.type), listener.proto
        try:
            while True:
                try:
                    fd, peer = listener._accept()  # type: ignore[attr-defined]  # accept()'s own call
                    conn = socket.socket(family, kind, proto, fileno=fd)
                except BlockingIOError:  # idle for IDLE_SECONDS
                    with self._lock:
                        if self._closed or self._idle > self._spare:
                            self._idle -= 1
                            return
                    continue
                except OSError:
                    with self._lock:
                        if self._closed:
                            self._idle -= 1
                            return
                    _log.exception("%s: accept failed", self._name)
                    time.sleep(0.05)  # EMFILE and friends: do not spin
                    continue
                with self._lock:
                    self._idle -= 1
                    last = not self._idle
                if last:
                    self._spawn()
                try:
                    self._serve(conn, _peer_name(peer))
                except Exception:  # serve handles its own errors; this keeps the thread alive
                    _log.exception("%s: serving a connection failed", self._name)
                    conn.close()
                with self._lock:
                    if self._closed:
                        return
                    self._idle += 1
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def close(self) -> None:
        """Stop accepting: wakes every idle thread, which exits. Busy threads exit when their
        connection ends; :meth:`join` waits for them."""
        with self._lock:
            self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)

    def join(self, timeout: float = 10.0) -> None:
        """Wait for every thread to end (after :meth:`close`)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread.ident is not None:  # one still being started sees the closed listener
                thread.join(max(0.0, deadline - time.monotonic()))


def _peer_name(peer: object) -> str:
    """``host:port`` of an IP peer; a unix peer's bound path (``""`` for most clients)."""
    if isinstance(peer, tuple):
        return f"{peer[0]}:{peer[1]}"
    return peer.decode("utf-8", "replace") if isinstance(peer, bytes) else str(peer)
