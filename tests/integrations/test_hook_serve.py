"""``warden serve --hooks`` and the thin client, as real processes on real sockets.

Every test starts the server as its own process (``python -m warden.cli.serve``) with a private
``XDG_RUNTIME_DIR`` and audit log, and talks to it the way an agent would: Claude Code's
``http`` hook (an HTTP POST with the bearer token) and the command client
(``python -I -S .../warden/hookclient.py AGENT`` with the payload on stdin). Answers are
compared byte for byte with ``warden hook AGENT`` run on the same recorded payloads.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from warden import hookclient
from warden.integrations.hooks import handler, serve

RECORDED = Path(__file__).resolve().parents[1] / "assets" / "hooks" / "recorded"
CLIENT = Path(hookclient.__file__).resolve()

SSH_READ = json.dumps({"session_id": "s1", "cwd": "/tmp", "hook_event_name": "PreToolUse",
                       "tool_name": "Bash", "tool_use_id": "t1",
                       "tool_input": {"command": "cat ~/.ssh/id_rsa"}}).encode()  # fmt: skip
LS = json.dumps({"session_id": "s1", "cwd": "/tmp", "hook_event_name": "PreToolUse",
                 "tool_name": "Bash", "tool_use_id": "t2",
                 "tool_input": {"command": "ls -la"}}).encode()  # fmt: skip


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    sock: Path
    token: str
    db: Path
    env: dict[str, str]

    def post(self, body: bytes, *, token: str | None = None, path: str = "/warden/hook/claude-code",
             headers: dict[str, str] | None = None) -> tuple[int, str]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token is not False:
            hdrs["Authorization"] = f"Bearer {self.token if token is None else token}"
        conn.request("POST", path, body=body, headers=hdrs)
        resp = conn.getresponse()
        out = resp.status, resp.read().decode()
        conn.close()
        return out


def _env(tmp: Path) -> dict[str, str]:
    run = tmp / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    return {**os.environ, "XDG_RUNTIME_DIR": str(run), "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(tmp / "cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state")}  # fmt: skip


def _start(tmp: Path, *extra: str) -> Server:
    env = _env(tmp)
    db = tmp / "serve.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "warden.cli.serve", "--hooks", "--listen", "127.0.0.1:0",
         "--audit-db", str(db), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], 60)
    line = proc.stderr.readline().decode() if ready else ""
    if "answering hooks on http://127.0.0.1:" not in line:
        proc.kill()
        raise AssertionError(f"server did not start: {line!r} {proc.stderr.read()!r}")
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    run = Path(env["XDG_RUNTIME_DIR"]) / "warden"
    token = (Path(env["XDG_STATE_HOME"]) / "warden" / "hooks" / "hooks.token").read_text().strip()
    return Server(proc, port, run / "hooks.sock", token, db, env)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = _start(tmp_path)
    yield srv
    srv.proc.send_signal(signal.SIGTERM)
    try:
        srv.proc.wait(10)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        raise


def _client(env: dict[str, str], agent: str, payload: bytes, *args: str,
            python: str = sys.executable) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run([python, "-I", "-S", str(CLIENT), agent, *args], input=payload,
                          env=env, capture_output=True, timeout=60)  # fmt: skip


def _hook(env: dict[str, str], agent: str, payload: bytes, db: Path,
          *args: str) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run([sys.executable, "-m", "warden.cli.hook", agent, "--audit-db", str(db),
                           *args], input=payload, env=env, capture_output=True,
                          timeout=60)  # fmt: skip


def _records(db: Path) -> list[dict[str, object]]:
    from warden.record import LogReader

    with LogReader.open(db) as reader:
        return [e.record for e in reader.entries()]


def _recorded() -> list[tuple[str, Path]]:
    return [(agent.name, f) for agent in sorted(RECORDED.iterdir()) if agent.is_dir()
            for f in sorted(agent.glob("[0-9]*.json"))]  # fmt: skip


# --- the same answers ----------------------------------------------------------------------


def test_every_recorded_payload_gets_the_answer_warden_hook_gives(
    server: Server, tmp_path: Path
) -> None:
    cases = _recorded()
    assert len(cases) >= 20
    workspace = tmp_path / "proj"
    workspace.mkdir()
    for agent, path in cases:
        payload = path.read_bytes()
        want = _hook(server.env, agent, payload, tmp_path / "hook.db",
                     "--workspace", str(workspace))  # fmt: skip
        got = _client(server.env, agent, payload, "--workspace", str(workspace))
        assert (got.returncode, got.stdout, got.stderr) == (
            want.returncode, want.stdout, want.stderr), path.name  # fmt: skip
        if agent == "claude-code":
            status, body = server.post(payload, path="/warden/hook/claude-code?workspace="
                                       + str(workspace))  # fmt: skip
            assert status == 200, path.name
            if want.returncode == 0:
                assert json.loads(body) == json.loads(want.stdout), path.name
            else:  # exit 2 has no HTTP form: the same block as JSON (Claude Code reads 2xx)
                assert want.stderr.decode().strip() in body, path.name
    # each payload went through the server twice (socket, HTTP for claude-code) and was recorded
    served = _records(server.db)
    by_hook = _records(tmp_path / "hook.db")
    n_claude = sum(1 for a, _ in cases if a == "claude-code")
    assert len(served) == len(by_hook) + n_claude


def test_the_answer_does_not_depend_on_the_way_in(server: Server) -> None:
    status, body = server.post(SSH_READ)
    assert status == 200
    answer = json.loads(body)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "deny"
    assert "cred.ssh-key" in answer["permissionDecisionReason"]
    via_socket = _client(server.env, "claude-code", SSH_READ)
    assert via_socket.returncode == 0 and json.loads(via_socket.stdout) == json.loads(body)
    status, body = server.post(LS)
    assert (status, json.loads(body)) == (200, {})


def test_a_kept_alive_connection_does_not_wait_for_delayed_acks(server: Server) -> None:
    """Claude Code reuses its connection: http.server's separate header and body writes with
    Nagle's algorithm on made each answer wait for the delayed ACK (44 ms median before)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        conn.request("POST", "/warden/hook/claude-code", body=LS,
                     headers={"Authorization": f"Bearer {server.token}"})  # fmt: skip
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())) == (200, {})
        times.append(time.perf_counter() - start)
    conn.close()
    assert sorted(times)[7] < 0.038, times


def test_bad_input_blocks_over_both_ways(server: Server) -> None:
    for bad in (b"", b"{not json", b"[1,2]", b'{"hook_event_name": 7}', b"\xff\xfe"):
        got = _client(server.env, "claude-code", bad)
        assert got.returncode == 2 and b"blocked" in got.stderr, bad
        status, body = server.post(bad)
        answer = json.loads(body)
        assert status == 200 and answer.get("decision") == "block", bad
        assert "warden could not check this" in answer["reason"]


def test_many_concurrent_requests_all_answered_and_recorded(server: Server) -> None:
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        payload = SSH_READ if i % 2 else LS
        out = server.post(payload)
        with lock:
            results.append((i, out[1]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 40
    for i, body in results:
        answer = json.loads(body)
        if i % 2:
            assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
        else:
            assert answer == {}
    decisions = [r for r in _records(server.db) if r["type"] == "decision"]
    assert len(decisions) == 40
    verify = subprocess.run([sys.executable, "-m", "warden", "audit", "verify", "--db",
                             str(server.db)], env=server.env, capture_output=True,
                            text=True)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_project_policy_edit_is_seen_without_a_restart(server: Server, tmp_path: Path) -> None:
    proj = tmp_path / "proj2"
    (proj / ".warden").mkdir(parents=True)
    payload = json.dumps({"session_id": "p", "cwd": str(proj), "hook_event_name": "PreToolUse",
                          "tool_name": "Bash", "tool_input": {"command": "ls"}}).encode()
    first = _client(server.env, "claude-code", payload, "--workspace", str(proj))
    want = _hook(server.env, "claude-code", payload, tmp_path / "h.db", "--workspace", str(proj))
    assert first.stdout == want.stdout
    from warden.check.policy.load import project_policy_path

    policy = project_policy_path(str(proj))
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("this is [ not toml\n")  # a broken project policy must now block
    second = _client(server.env, "claude-code", payload, "--workspace", str(proj))
    direct = _hook(server.env, "claude-code", payload, tmp_path / "h.db", "--workspace", str(proj))
    assert direct.returncode == 2 and b"policy" in direct.stderr
    assert (second.returncode, second.stdout, second.stderr) == (
        direct.returncode, direct.stdout, direct.stderr)  # fmt: skip


# --- who may ask ---------------------------------------------------------------------------


def test_http_without_the_token_is_refused_and_not_recorded(server: Server) -> None:
    before = len(_records(server.db))
    for token in (False, "", "x" * 43, server.token[:-1], server.token + "x"):
        status, _ = server.post(SSH_READ, token=token)  # type: ignore[arg-type]
        assert status == 401, token
    status, _ = server.post(SSH_READ, headers={"Authorization": f"Basic {server.token}"},
                            token=False)  # type: ignore[arg-type]  # fmt: skip
    assert status == 401
    status, _ = server.post(SSH_READ, path="/warden/hook/codex")
    assert status == 404
    status, _ = server.post(SSH_READ, path="/anything")
    assert status == 404
    assert len(_records(server.db)) == before


def test_state_files_are_private(server: Server) -> None:
    assert server.sock.stat().st_mode & 0o777 == 0o600
    assert server.sock.parent.stat().st_mode & 0o777 == 0o700
    token = Path(server.env["XDG_STATE_HOME"]) / "warden" / "hooks" / "hooks.token"
    assert token.stat().st_mode & 0o777 == 0o600
    assert token.parent.stat().st_mode & 0o777 == 0o700
    assert len(server.token) >= 40


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "192.0.2.1:8765", "[::]:0", "example.com:80",
                                    "127.0.0.1", "127.0.0.1:99999"])  # fmt: skip
def test_non_loopback_listen_is_refused(listen: str, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "warden.cli.serve", "--hooks", "--listen", listen,
                          "--no-audit"], env=_env(tmp_path), capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "--listen" in run.stderr


def test_another_user_cannot_use_the_socket(server: Server) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user (setuid to nobody)")
    code = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({str(server.sock)!r})\n"
        "except PermissionError:\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr


def test_a_token_file_open_to_others_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    tok = folder / "hooks.token"
    tok.write_text("a" * 43 + "\n")
    tok.chmod(0o644)
    from warden.errors import HookError

    with pytest.raises(HookError, match="mode 600"):
        serve.load_token(tok)
    tok.chmod(0o600)
    assert serve.load_token(tok) == "a" * 43
    folder.chmod(0o755)
    with pytest.raises(HookError, match="open to other users"):
        serve.load_token(tok)


def test_a_second_server_on_the_same_socket_is_refused(server: Server, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "warden.cli.serve", "--hooks", "--no-http",
                          "--no-audit"], env=server.env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert run.returncode == 2 and "already answers" in run.stderr
    assert _client(server.env, "claude-code", LS).returncode == 0  # the first one still serves


def test_sigterm_stops_the_server_and_removes_the_socket(tmp_path: Path) -> None:
    srv = _start(tmp_path)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(15) == 0
    assert not srv.sock.exists()


def test_a_stale_socket_from_a_killed_server_is_replaced(tmp_path: Path) -> None:
    first = _start(tmp_path)
    first.proc.kill()
    first.proc.wait(15)
    assert first.sock.exists()  # SIGKILL leaves it behind
    second = _start(tmp_path)
    try:
        got = _client(second.env, "claude-code", SSH_READ)
        assert got.returncode == 0 and b"cred.ssh-key" in got.stdout
    finally:
        second.proc.send_signal(signal.SIGTERM)
        second.proc.wait(15)


# --- the thin client -------------------------------------------------------------------------


def test_client_imports_only_the_standard_library(server: Server) -> None:
    run = subprocess.run([sys.executable, "-I", "-S", "-X", "importtime", str(CLIENT),
                          "claude-code"], input=LS, env=server.env, capture_output=True,
                         timeout=60)  # fmt: skip
    assert run.returncode == 0 and json.loads(run.stdout) == {}
    modules = {line.split("|")[-1].strip() for line in run.stderr.decode().splitlines()
               if line.startswith("import time:")}  # fmt: skip
    assert "_socket" in modules and "socket" not in modules
    assert not {m for m in modules if m.split(".")[0] in ("warden", "msgspec")}


def test_client_and_server_agree_on_the_wire() -> None:
    assert hookclient.REQUEST_MAGIC == serve.REQUEST_MAGIC
    assert hookclient.MAX_PAYLOAD_BYTES == handler.MAX_PAYLOAD_BYTES
    assert hookclient.EXIT_BLOCK == 2


def test_client_falls_back_to_warden_hook_when_no_server_runs(tmp_path: Path) -> None:
    env = _env(tmp_path)
    got = _client(env, "claude-code", SSH_READ, "--audit-db", str(tmp_path / "f.db"))
    assert got.returncode == 0
    assert json.loads(got.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert any(r["type"] == "decision" for r in _records(tmp_path / "f.db"))
    bad = _client(env, "claude-code", b"{oops", "--audit-db", str(tmp_path / "f.db"))
    assert bad.returncode == 2 and b"blocked" in bad.stderr


@pytest.mark.parametrize("reply", [b"", b"garbage\n", b"WARDEN-HOOK/1 0 999\n{}",
                                   b"WARDEN-HOOK/1 1 0\n", b"WARDEN-HOOK/1 x 2\n{}"])  # fmt: skip
def test_client_falls_back_on_a_bad_server(reply: bytes, tmp_path: Path) -> None:
    """A rogue or broken listener on the socket path cannot make the client allow."""
    env = _env(tmp_path)
    path = Path(env["XDG_RUNTIME_DIR"]) / "warden" / "hooks.sock"
    path.parent.mkdir(mode=0o700)
    lst = socket.socket(socket.AF_UNIX)
    lst.bind(str(path))
    lst.listen(1)

    def answer_once() -> None:
        conn, _ = lst.accept()
        with conn:
            while conn.recv(65536):
                pass
            conn.sendall(reply)

    t = threading.Thread(target=answer_once, daemon=True)
    t.start()
    got = _client(env, "claude-code", SSH_READ, "--audit-db", str(tmp_path / "f.db"))
    lst.close()
    assert got.returncode == 0
    assert json.loads(got.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_client_usage_errors_block(tmp_path: Path) -> None:
    for args in ([], ["nope"], ["claude-code", "--workspace"]):
        got = subprocess.run([sys.executable, "-I", "-S", str(CLIENT), *args], input=LS,
                             env=_env(tmp_path), capture_output=True, timeout=30)  # fmt: skip
        assert got.returncode == 2 and b"blocked" in got.stderr, args


def test_print_unit(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "warden.cli.serve", "--hooks", "--print-unit",
                          "--audit-db", "rel.db"], env=_env(tmp_path), capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0
    assert "[Service]" in run.stdout and "WantedBy=default.target" in run.stdout
    exec_line = next(x for x in run.stdout.splitlines() if x.startswith("ExecStart="))
    assert "serve --hooks" in exec_line and str(tmp_path / "rel.db") in exec_line


def test_oversized_http_body_blocks_without_reading_it(server: Server) -> None:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    conn.sendall(b"POST /warden/hook/claude-code HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                 + server.token.encode() + b"\r\nContent-Length: 999999999\r\n\r\n")  # fmt: skip
    deadline = time.monotonic() + 30
    data = b""
    while b"}" not in data and time.monotonic() < deadline:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    assert b" 200 " in data.split(b"\r\n")[0]
    body = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert body["decision"] == "block" and "larger than" in body["reason"]


# --- a contained agent ------------------------------------------------------------------------

PROBE = """\
import socket, sys
print("START", flush=True)
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    print("TCP connected")
except OSError as exc:
    print("TCP refused", type(exc).__name__)
try:
    u = socket.socket(socket.AF_UNIX)
    u.settimeout(3)
    u.connect(sys.argv[2])
    print("UNIX connected")
except OSError as exc:
    print("UNIX refused", type(exc).__name__)
"""


def test_an_agent_under_warden_run_reaches_neither_the_port_nor_the_socket(
    server: Server, tmp_path: Path
) -> None:
    """What a rogue agent would try: ask the resident server to approve its own calls."""
    python = "/usr/bin/python3"  # the venv's python is outside what `warden run` lets it read
    if not Path(python).exists():
        pytest.skip(f"{python} is needed inside the container")
    work = tmp_path / "work"
    work.mkdir()
    probe = work / "probe.py"
    probe.write_text(PROBE)
    run = subprocess.run([sys.executable, "-m", "warden", "run", "--no-audit", "--quiet", "--",
                          python, str(probe), str(server.port), str(server.sock)],
                         cwd=work, env=server.env, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    if "START" not in run.stdout:
        pytest.skip(f"`warden run` is not usable here: {run.stderr.strip()[-300:]}")
    assert "TCP refused" in run.stdout, run.stdout
    assert "UNIX refused" in run.stdout, run.stdout
    assert "TCP connected" not in run.stdout and "UNIX connected" not in run.stdout


def test_the_token_outlives_a_reboot(tmp_path: Path) -> None:
    """The installed hooks carry the token: a server started after $XDG_RUNTIME_DIR was
    emptied (logout, reboot) must accept it, or every hook would get 401 (a block)."""
    import shutil

    first = _start(tmp_path)
    try:
        status, _ = first.post(LS)
        assert status == 200
    finally:
        first.proc.terminate()
        first.proc.wait(timeout=30)
    shutil.rmtree(tmp_path / "run")  # what a reboot does to the runtime directory
    second = _start(tmp_path)
    try:
        assert second.token == first.token
        status, answer = second.post(LS, token=first.token)
        assert status == 200, answer
    finally:
        second.proc.terminate()
        second.proc.wait(timeout=30)


@pytest.mark.parametrize("runtime", [True, False])
@pytest.mark.parametrize("state", [True, False])
def test_the_thin_client_and_the_server_agree_on_the_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: bool, state: bool
) -> None:
    from warden import hookclient

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "run").mkdir()
    for var, on, value in (("XDG_RUNTIME_DIR", runtime, tmp_path / "run"),
                           ("XDG_STATE_HOME", state, tmp_path / "state")):  # fmt: skip
        if on:
            monkeypatch.setenv(var, str(value))
        else:
            monkeypatch.delenv(var, raising=False)
    assert hookclient.socket_path() == str(serve.socket_path())


def test_a_shared_state_directory_open_to_others_does_not_stop_the_server(
    tmp_path: Path,
) -> None:
    """warden run's session registry makes ~/.local/state/warden with the umask's mode (755);
    the hook server's token and fallback socket live in their own 0700 directory beneath."""
    env = _env(tmp_path)
    shared = Path(env["XDG_STATE_HOME"]) / "warden"
    shared.mkdir(parents=True, mode=0o755)
    shared.chmod(0o755)
    srv = _start(tmp_path)
    try:
        status, _ = srv.post(LS)
        assert status == 200
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
