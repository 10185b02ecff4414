"""The stdio proxy: the client talks to warden as if it were the server; warden runs the server.

MCP's stdio transport (specification, "Transports", stdio): the client starts the server as a
subprocess and exchanges newline-delimited JSON-RPC messages on its stdin and stdout; stderr is
for logs. ``warden mcp -- SERVER_CMD ARGS...`` is put in the client's configuration in place of
``SERVER_CMD ARGS...``; it starts the server with the same arguments, environment and working
directory, and relays every line through :class:`~warden.integrations.mcp.session.McpSession`.
The server's stderr is inherited unchanged.

Two threads, one per direction, each blocked in ``os.read`` on a pipe: a message is handled as
soon as its line is complete, with no batching or timers (the latency budget is a millisecond).
The client's thread forwards an allowed call, then commits its decision records itself while
the server works (they were queued without waking the log's writer thread); the server's thread
inspects the answer meanwhile and never waits for that commit: it leaves the answer with the
session (:meth:`~warden.integrations.mcp.session.McpSession.hold_answers`), and the client's
thread writes it to the client as soon as the commit returns (no thread is woken between the
fsync and the answer); an answer that comes after the commit is written by the server's thread
at once (``docs/mcp.md``, "Durability").
Lines are bounded (:data:`~warden.integrations.mcp.jsonrpc.MAX_MESSAGE_BYTES`); an over-long line
is consumed to its end without being kept and refused as a unit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import IO

from warden._signals import on_signals
from warden.integrations.mcp import jsonrpc as rpc
from warden.integrations.mcp.session import McpSession, Out

__all__ = ["SHUTDOWN_GRACE", "LineReader", "relay_lines", "run_stdio"]

#: Seconds the server gets to exit after its stdin is closed, then after SIGTERM, before SIGKILL
#: (the stdio transport's shutdown sequence, "Lifecycle", Shutdown).
SHUTDOWN_GRACE = 2.0

#: Bytes of an over-long line kept to find its id.
_HEAD = 4096


#: Bytes asked of the kernel per read: a pipe hands over what it has, up to this.
_READ = 1 << 16


class LineReader:
    """Newline-delimited messages from a file descriptor, bounded, read with ``os.read``.

    ``os.read`` rather than a buffered file: a relay thread blocked here holds no lock of a
    Python file object, so the process can exit while the client still holds its end open (a
    daemon thread blocked inside ``BufferedReader.readline`` aborts the interpreter at exit).
    """

    def __init__(self, fd: int, limit: int = rpc.MAX_MESSAGE_BYTES) -> None:
        self.fd = fd
        self.limit = limit
        self._buf = bytearray()
        self._eof = False

    def read_line(self) -> tuple[bytes, int] | None:
        """The next line and its size (``None`` at end of input). A line over the limit is
        returned as its first bytes only, with its full size, so the caller can refuse it; the
        rest of it is read and dropped, never kept."""
        buf = self._buf
        scanned = 0
        while True:
            nl = buf.find(b"\n", scanned)
            if nl >= 0:
                line = bytes(buf[: nl + 1])
                del buf[: nl + 1]
                return line, len(line)
            if len(buf) > self.limit:
                return self._drain_long()
            if self._eof:
                if not buf:
                    return None
                line = bytes(buf)
                buf.clear()
                return line, len(line)
            scanned = len(buf)
            chunk = os.read(self.fd, _READ)
            if not chunk:
                self._eof = True
            buf += chunk

    def _drain_long(self) -> tuple[bytes, int]:
        buf = self._buf
        head, size = bytes(buf[:_HEAD]), len(buf)
        buf.clear()
        while not self._eof:
            chunk = os.read(self.fd, _READ)
            if not chunk:
                self._eof = True
                break
            nl = chunk.find(b"\n")
            if nl >= 0:
                size += nl + 1
                buf += chunk[nl + 1 :]
                break
            size += len(chunk)
        return head, size


class _Writer:
    """A locked, flushing line writer; a closed peer is remembered, not raised."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.broken = False

    def write(self, lines: Sequence[bytes]) -> bool:
        if not lines:
            return not self.broken
        with self.lock:
            if self.broken:
                return False
            try:
                for line in lines:
                    self.stream.write(line)
                self.stream.flush()
            except (BrokenPipeError, ConnectionResetError, ValueError, OSError):
                self.broken = True
        return not self.broken


def relay_lines(
    source: LineReader,
    handle: Callable[[bytes], Out],
    oversized: Callable[[bytes, int], Out],
    deliver: Callable[[Out], object],
) -> None:
    """Read ``source`` line by line until its end; each line's outcome goes to ``deliver``."""
    while True:
        got = source.read_line()
        if got is None:
            return
        line, size = got
        if size > source.limit:
            deliver(oversized(line, size))
        elif line.strip():
            deliver(handle(line))


def run_stdio(
    argv: Sequence[str],
    session: McpSession,
    *,
    stdin: IO[bytes],
    stdout: IO[bytes],
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Proxy until the client closes its side or the server exits; return an exit code.

    The code is the server's own when it exits by itself (so the client sees what it would have
    seen), 0 after an orderly shutdown by the client, 1 when the server cannot be started.
    """
    client = _Writer(stdout)
    client_in = LineReader(stdin.fileno())
    if session.refuse_reason is not None:  # no guard: the server is not even started
        relay_lines(client_in, session.from_client, session.oversized_from_client,
                    lambda out: client.write(out.to_client))  # fmt: skip
        return 1
    try:
        proc = subprocess.Popen(  # the user's own server command, no shell
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=cwd, env=env
        )
    except OSError as exc:
        reason = f"the MCP server could not be started ({argv[0]}: {exc.strerror or exc})"
        session.server_exited(reason)
        relay_lines(client_in, session.from_client, session.oversized_from_client,
                    lambda out: client.write(out.to_client))  # fmt: skip
        session.close()
        return 1
    assert proc.stdin is not None and proc.stdout is not None
    server = _Writer(proc.stdin)
    server_out = LineReader(proc.stdout.fileno())
    done = threading.Event()
    server_done = threading.Event()

    def deliver(out: Out) -> None:
        server.write(out.to_server)  # a closed server is reported by the server thread
        client.write(out.to_client)
        if out.gate is not None:  # a forwarded call: its decision made durable while the
            session.commit(out.gate)  # server works (then its answer, if held, written here)

    session.hold_answers(deliver)  # the server's thread never waits for a commit

    def from_server() -> None:
        try:
            relay_lines(server_out, session.from_server, session.oversized_from_server,
                        deliver)  # fmt: skip
        finally:
            code = proc.wait()
            if not done.is_set():
                deliver(session.server_exited(f"the MCP server exited (code {code})"))
            server_done.set()
            done.set()

    def from_client() -> None:
        try:
            relay_lines(client_in, session.from_client, session.oversized_from_client, deliver)
        finally:
            done.set()

    threads = [threading.Thread(target=from_server, name="mcp-server", daemon=True),
               threading.Thread(target=from_client, name="mcp-client", daemon=True)]  # fmt: skip
    restore = None
    if threading.current_thread() is threading.main_thread():  # done.set() is not for a handler
        restore = on_signals((signal.SIGTERM,), lambda _: done.set())
    try:
        for t in threads:
            t.start()
        done.wait()
        exited_first = server_done.is_set() or proc.poll() is not None
        if not exited_first:
            _shutdown(proc)
        server_done.wait(SHUTDOWN_GRACE)  # let the server's last answers through
        return _exit_code(proc.returncode) if exited_first else 0
    finally:
        _shutdown(proc)
        session.close()
        if restore is not None:
            restore()


def _exit_code(code: int | None) -> int:
    if code is None:
        return 1
    return code if code >= 0 else 128 - code


def _shutdown(proc: subprocess.Popen[bytes]) -> None:
    """Close the server's stdin, then SIGTERM, then SIGKILL, each after a grace period."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(OSError, ValueError):
        assert proc.stdin is not None
        proc.stdin.close()
    for step in (None, signal.SIGTERM, signal.SIGKILL):
        if step is not None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, step)
        try:
            proc.wait(SHUTDOWN_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue
