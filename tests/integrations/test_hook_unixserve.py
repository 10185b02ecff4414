"""The unix-socket side of ``warden serve --hooks`` under load, and the thin client's plumbing.

The socket is served by threads that each accept a connection and answer it themselves
(``AcceptPool``, two waiting at rest), not by a new thread per connection. What must hold: many
hook clients at once are all answered by the server (and recorded); a stalled, half-open or
trickling client holds one thread for at most ``SOCKET_READ_TIMEOUT`` in all, is then answered
with a block, and never delays the others; past ``MAX_CONNECTIONS`` a connection is answered
with a block, not dropped; requests one after another start no thread; SIGTERM ends the server
with its "answered N requests" line.

The real-process tests pass the thin client an ``--audit-db`` that cannot be opened: its
fallback (a full ``warden hook``) then blocks, so an allow can only have come from the server.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integrations.test_hook_serve import (
    CLIENT,
    LS,
    SSH_READ,
    Server,
    _client,
    _records,
    _start,
)

from warden import _hookclient
from warden.integrations.hooks import serve
from warden.integrations.hooks.serve import REQUEST_MAGIC, HookServer, ServeConfig

NO_FALLBACK = ("--audit-db", "/nonexistent/warden-test/no.db")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = _start(tmp_path)
    yield srv
    if srv.proc.poll() is None:
        srv.proc.send_signal(signal.SIGTERM)
        try:
            srv.proc.wait(15)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            raise


def _request(agent: str, payload: bytes, workspace: str = "") -> bytes:
    return b"\0".join((REQUEST_MAGIC, agent.encode(), workspace.encode(), payload))


def _ask(path: Path, data: bytes, *, timeout: float = 30.0) -> tuple[int, bytes, bytes]:
    """One raw request over the socket, as the thin client sends it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return _read_reply(s)
    finally:
        s.close()


def _read_reply(s: socket.socket) -> tuple[int, bytes, bytes]:
    """The reply, read to its end. A server that answers before it has read everything (a
    timeout) leaves unread bytes, and the kernel then reports a reset after the reply."""
    chunks = []
    try:
        while chunk := s.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        if not chunks:
            raise
    return _hookclient.parse_reply(b"".join(chunks))


def _half_open(path: Path, data: bytes = b"") -> socket.socket:
    """A client that connects, sends ``data`` (maybe part of a request) and then nothing, and
    never closes its side."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(path))
    if data:
        s.sendall(data)
    return s


# --- real server, real thin clients -------------------------------------------------------


def test_many_concurrent_thin_clients_are_all_answered_by_the_server(server: Server) -> None:
    n = 24
    procs = []
    for _ in range(n):  # all started before any is waited for: they overlap
        procs.append(subprocess.Popen(
            [sys.executable, "-I", "-S", str(CLIENT), "claude-code", *NO_FALLBACK],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=server.env))  # fmt: skip
    outs = [p.communicate(SSH_READ if i % 2 else LS, timeout=120) for i, p in enumerate(procs)]
    wrong = []
    for i, (p, (out, err)) in enumerate(zip(procs, outs, strict=True)):
        answer = json.loads(out) if p.returncode == 0 else None
        if i % 2:
            ok = answer is not None and answer["hookSpecificOutput"]["permissionDecision"] == "deny"
        else:
            ok = answer == {}
        if not ok:
            wrong.append((i, p.returncode, out, err))
    if wrong:  # the server's stderr says why it failed closed (an audit fault, say)
        server.proc.send_signal(signal.SIGTERM)
        said = server.proc.communicate(timeout=15)
        pytest.fail(f"wrong answers {wrong}; the server said: {said}")
    decisions = [r for r in _records(server.db) if r["type"] == "decision"]
    assert len(decisions) == n
    verify = subprocess.run([sys.executable, "-m", "warden", "audit", "verify", "--db",
                             str(server.db)], env=server.env, capture_output=True,
                            text=True)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(15) == 0
    assert server.proc.stderr is not None
    assert f"answered {n} requests on the socket" in server.proc.stderr.read().decode()


def test_half_open_and_stalled_clients_do_not_stall_the_others(server: Server) -> None:
    request = _request("claude-code", LS)
    stalled = [
        _half_open(server.sock),  # connected, sent nothing
        _half_open(server.sock, request[:20]),  # part of a request
        _half_open(server.sock, request),  # the whole request, but never its end
    ]
    try:
        start = time.monotonic()
        results: list[subprocess.CompletedProcess[bytes]] = []
        lock = threading.Lock()

        def one() -> None:
            got = _client(server.env, "claude-code", LS, *NO_FALLBACK)
            with lock:
                results.append(got)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - start
        assert len(results) == 8
        for got in results:
            assert (got.returncode, json.loads(got.stdout)) == (0, {}), got.stderr
        # well inside the 10 s the stalled ones may take: nothing waited for them
        assert elapsed < serve.SOCKET_READ_TIMEOUT - 2, elapsed
        for s in stalled:  # and they are still waiting, not answered or cut early
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)
    finally:
        for s in stalled:
            s.close()


# --- in process: the limits ----------------------------------------------------------------


def _in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audit: Path | bool = False
) -> HookServer:
    """A server on a unix socket in this process (not started), with no user policy."""
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "home" / var.lower()))
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    return HookServer(ServeConfig(audit=audit), listen=None, sock=folder / "hooks.sock",
                      token="x" * 43)  # fmt: skip


@pytest.fixture
def unix_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HookServer]:
    srv = _in_process(tmp_path, monkeypatch)
    srv.start()
    yield srv
    srv.shutdown()
    srv.close()


def test_a_stalled_client_is_answered_with_a_block_after_the_read_timeout(
    unix_server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "SOCKET_READ_TIMEOUT", 0.5)
    assert unix_server.sock is not None
    s = _half_open(unix_server.sock, _request("claude-code", LS))
    try:
        start = time.monotonic()
        code, out, err = _read_reply(s)
        assert 0.4 < time.monotonic() - start < 5
    finally:
        s.close()
    assert (code, out) == (2, b"")
    assert b"blocked" in err and b"invalid hook input" in err


def test_a_trickling_client_is_cut_at_the_deadline_not_per_read(
    unix_server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One byte every 0.1 s never trips a per-read timeout of 0.5 s; the whole request's
    deadline cuts it."""
    monkeypatch.setattr(serve, "SOCKET_READ_TIMEOUT", 0.5)
    assert unix_server.sock is not None
    s = _half_open(unix_server.sock)
    start = time.monotonic()
    got: list[tuple[int, bytes, bytes]] = []
    reader = threading.Thread(target=lambda: got.append(_read_reply(s)))
    reader.start()
    try:
        for byte in _request("claude-code", LS):
            if got or time.monotonic() - start > 5:
                break
            try:
                s.send(bytes([byte]))
            except OSError:  # answered and closed: the rest is refused
                break
            time.sleep(0.1)
        reader.join(10)
    finally:
        s.close()
    # the ~270-byte request would take ~27 s at this pace; the deadline cuts it at ~0.5 s
    # (the last read times out, or the deadline is past when a byte arrives)
    assert got and got[0][0] == 2 and b"invalid hook input" in got[0][2], got
    assert time.monotonic() - start < 3


def test_past_the_connection_limit_a_client_is_answered_with_a_block(
    unix_server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "MAX_CONNECTIONS", 2)
    assert unix_server.sock is not None
    held = [_half_open(unix_server.sock) for _ in range(2)]
    try:
        deadline = time.monotonic() + 5
        assert unix_server.unix is not None
        while len(unix_server.unix._conns) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        extra = _half_open(unix_server.sock)
        try:
            code, out, err = _read_reply(extra)
        finally:
            extra.close()
        assert (code, out) == (2, b"") and b"busy" in err
    finally:
        for s in held:
            s.close()
    # the held ones are answered when they close their side; then the server serves again
    deadline = time.monotonic() + 5
    while unix_server.unix._conns and time.monotonic() < deadline:
        time.sleep(0.01)
    code, out, _ = _ask(unix_server.sock, _request("claude-code", LS))
    assert (code, json.loads(out)) == (0, {})


def test_requests_one_after_another_start_no_thread(
    unix_server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread per connection would serve each of 20 requests in a new thread; the pool
    serves them in the threads that wait at rest. Each request is sent once the thread that
    answered the last one is back in ``accept()``, as for hook events (a process start apart);
    sent back to back, a request can find that thread still finishing, and the pool then
    grows by a thread, once."""
    assert unix_server.sock is not None and unix_server.unix is not None
    front = unix_server.unix
    pool = front._pool

    def settled() -> None:  # every thread counted idle, and running (started)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            pool._idle < serve.SPARE_THREADS or None in _pool_threads()
        ):
            time.sleep(0.002)
        assert pool._idle == serve.SPARE_THREADS

    settled()
    before = _pool_threads()
    assert len(before) == serve.SPARE_THREADS
    served: set[int] = set()
    request = front._request

    def recording(conn: socket.socket) -> object:
        served.add(threading.get_ident())
        return request(conn)

    monkeypatch.setattr(front, "_request", recording)
    for _ in range(20):
        code, out, _ = _ask(unix_server.sock, _request("claude-code", LS))
        assert (code, json.loads(out)) == (0, {})
        settled()
    assert served <= before
    assert _pool_threads() == before
    assert front.requests == 20


def _pool_threads() -> set[int | None]:
    return {t.ident for t in threading.enumerate() if t.name == "warden-hooks"}


def test_bad_requests_are_answered_never_dropped(unix_server: HookServer) -> None:
    assert unix_server.sock is not None
    for data in (b"", b"garbage", b"WARDEN-HOOK/1\0claude-code", _request("nope", LS),
                 b"WARDEN-HOOK/2\0claude-code\0\0{}"):  # fmt: skip
        code, out, err = _ask(unix_server.sock, data)
        assert (code, out) == (2, b"") and b"blocked" in err, data


def test_shutdown_cuts_a_half_open_client_with_a_block_and_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = _in_process(tmp_path, monkeypatch)
    srv.start()
    assert srv.sock is not None
    s = _half_open(srv.sock, b"WARDEN-HOOK/1\0claude")
    deadline = time.monotonic() + 5
    assert srv.unix is not None
    while not srv.unix._conns and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    srv.shutdown()
    srv.close()
    assert time.monotonic() - start < 3  # not the 10 s read timeout
    try:
        code, _, err = _read_reply(s)
    finally:
        s.close()
    assert code == 2 and b"blocked" in err
    assert not srv.sock.exists()
    assert not [t for t in threading.enumerate() if t.name == "warden-hooks"]


# --- the thin client's environment and paths, without os -----------------------------------


def _reference_socket_path() -> str:
    """The rule as the client wrote it with ``os.path`` before it stopped importing ``os``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "warden", "hooks.sock")
    state = os.environ.get("XDG_STATE_HOME")
    if not (state and os.path.isabs(state)):
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "warden", "hooks", "hooks.sock")


@pytest.mark.parametrize(
    ("runtime", "state", "home"),
    [("{tmp}/run", None, "{tmp}/home"), ("{tmp}/run/", None, "{tmp}/home"),
     ("run", "{tmp}/state", "{tmp}/home"), ("{tmp}/missing", "state", "{tmp}/home/"),
     ("", "", "{tmp}/home"), (None, None, None), (None, None, ""), (None, "/", "/")],
)  # fmt: skip
def test_the_client_finds_the_socket_as_os_path_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str | None, state: str | None,
    home: str | None,
) -> None:  # fmt: skip
    (tmp_path / "run").mkdir()
    for var, value in (("XDG_RUNTIME_DIR", runtime), ("XDG_STATE_HOME", state), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value.format(tmp=tmp_path))
    assert _hookclient.socket_path() == _reference_socket_path()


def test_the_client_run_as_a_file_reads_the_environment_as_os_does(tmp_path: Path) -> None:
    """Run as the client (no ``os``), it reads ``posix.environ``: non-UTF-8 bytes and all."""
    run = tmp_path / "r\udcffun"
    os.makedirs(run)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import _hookclient as h;"
            "assert 'os' not in sys.modules, 'os was imported';"
            "print(ascii(h.socket_path()), ascii(h._getenv('WARDEN_T')), ascii(h._getenv('NOPE')))")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(run), "WARDEN_T": "caf\udce9"}
    got = subprocess.run([sys.executable, "-I", "-S", "-c", code,
                          str(Path(_hookclient.__file__).parent)],
                         env={k: os.fsencode(v) for k, v in env.items()},  # type: ignore[misc]
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert got.returncode == 0, got.stderr
    want = " ".join((ascii(str(run / "warden" / "hooks.sock")), ascii("caf\udce9"), "None"))
    assert got.stdout.strip() == want


def test_the_launcher_blocks_when_the_client_body_cannot_be_loaded(tmp_path: Path) -> None:
    """``hookclient.py`` is a launcher; without its body beside it, it blocks (exit 2): an
    exit 1 traceback would be a non-blocking error to the agent, i.e. an allow."""
    import shutil

    lone = tmp_path / "hookclient.py"
    shutil.copy(CLIENT, lone)
    got = subprocess.run([sys.executable, "-I", "-S", str(lone), "claude-code"], input=LS,
                         capture_output=True, timeout=30)  # fmt: skip
    assert got.returncode == 2, got.stderr
    assert got.stdout == b""
    assert b"blocked" in got.stderr and b"could not be loaded" in got.stderr


def test_the_launcher_runs_the_body_from_cached_bytecode(server: Server) -> None:
    """Run as a file, only the launcher is compiled; the body comes from ``__pycache__``
    (written by the first run if the directory is writable, as here)."""
    first = _client(server.env, "claude-code", LS, *NO_FALLBACK)
    assert (first.returncode, json.loads(first.stdout)) == (0, {})
    cached = list((CLIENT.parent / "__pycache__").glob("_hookclient.*.pyc"))
    assert cached
    assert len(CLIENT.read_text().splitlines()) < 120  # the launcher stays small


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_a_peer_of_another_uid_is_answered_with_a_block(unix_server: HookServer) -> None:
    """The 0700 directory keeps other users away; should it ever be opened up (a shared parent,
    a mistake), the SO_PEERCRED check still refuses them with a block, never an answer."""
    assert unix_server.sock is not None
    path = Path(unix_server.sock)
    os.chmod(path.parent, 0o711)
    os.chmod(path, 0o666)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            os.close(r)
            # the socket is reached through a directory descriptor opened as root: pytest's
            # temporary tree above it is 0700
            folder = os.open(path.parent, os.O_PATH)
            os.setgid(65534)
            os.setuid(65534)
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self/fd is ours
            try:
                got, out, err = _ask(Path(f"/proc/self/fd/{folder}/{path.name}"),
                                     _request("claude-code", LS))
            except (ConnectionResetError, BrokenPipeError):  # refused before it was read:
                got, out, err = 2, b"", b"reset: uid refused"  # no answer, client falls back
            os.write(w, b"%d\0" % got + out + b"\0" + err)
            code = 0
        except BaseException as exc:
            os.write(w, repr(exc).encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        reply = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, reply
    code, out, err = reply.split(b"\0", 2)
    assert int(code) == 2 and out == b"", reply
    assert b"uid" in err or b"user" in err, reply


def test_an_unrecordable_decision_is_blocked_and_the_operator_is_told_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The agent gets warden's block; the person running `warden serve` gets the cause on the
    # server's stderr (an audit log that cannot write would otherwise only show as denies).
    srv = _in_process(tmp_path, monkeypatch, audit=tmp_path / "a.db")
    try:
        assert json.loads(srv.answer("claude-code", None, LS).stdout) == {}
        assert capsys.readouterr().err == ""
        srv._shared.log().close()  # every later append fails: "the audit log is closed"
        answer = srv.answer("claude-code", None, LS)
        out = json.loads(answer.stdout)["hookSpecificOutput"]
        assert out["permissionDecision"] == "deny"
        assert "audit log is unavailable" in out["permissionDecisionReason"]
        err = capsys.readouterr().err
        assert err.startswith("warden serve: blocked Bash: audit: AuditError: ")
        assert "the audit log is closed" in err
    finally:
        srv.close()


def test_the_operator_report_is_one_clean_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the agent controls (a tool name) cannot drive the operator's terminal or leak a key.
    srv = _in_process(tmp_path, monkeypatch)
    try:
        res = serve._RequestResources(srv._shared, serve.HookConfig(audit=False))
        res.report("blocked \x1b[2J\x1b]0;pwned\x07Bash\nsecond line: AKIAIOSFODNN7EXAMPLE "
                   + "x" * 2000)  # fmt: skip
    finally:
        srv.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err
    assert "AKIAIOSFODNN7EXAMPLE" not in err
    assert len(err) <= len("warden serve: ") + serve.FAULT_CHARS + 1
