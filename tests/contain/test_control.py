"""``warden ps|freeze|thaw|kill`` on a live session with hundreds of detached processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.contain.sandbox import PYTHON_READ, WARDEN, needs_sandbox

pytestmark = needs_sandbox

#: spawns N processes, half of them in new sessions (setsid), each appending to a beacon file
SWARM = """
import os, sys, time
n = int(sys.argv[1])
for i in range(n):
    if os.fork() == 0:
        if i % 2:
            os.setsid()
            if os.fork():
                os._exit(0)
        while True:
            time.sleep(0.05)
            if i == 0:
                with open("beacon", "a") as f:
                    f.write("x")
open("ready", "w").close()
time.sleep(600)
"""


@pytest.fixture
def session(tmp_path: Path):
    """A running `warden run` with 200 processes (100 setsid'd and double-forked)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    state = tmp_path / "state"
    env = {**os.environ, "XDG_STATE_HOME": str(state), "XDG_DATA_HOME": str(tmp_path / "data")}
    read = [a for p in PYTHON_READ for a in ("--read", p)]
    proc = subprocess.Popen(
        [WARDEN, "run", "-q", "--no-audit", "--workspace", str(ws), *read, "--", sys.executable,
         "-c", SWARM, "200"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (ws / "ready").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the swarm did not start"
        time.sleep(0.05)
    yield proc, ws, env
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _warden(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WARDEN, *args], env=env, capture_output=True, text=True, timeout=60)


def test_ps_freeze_thaw_kill_the_whole_tree(session) -> None:
    proc, ws, env = session
    listed = [json.loads(line) for line in _warden(env, "ps", "--json").stdout.splitlines()]
    assert len(listed) == 1 and listed[0]["alive"]
    sid = listed[0]["session"]
    assert listed[0]["processes"] >= 200

    r = _warden(env, "freeze", sid[:8])
    assert r.returncode == 0, r.stderr
    size = (ws / "beacon").stat().st_size
    time.sleep(0.3)
    assert (ws / "beacon").stat().st_size == size  # frozen: nothing runs
    assert "frozen" in _warden(env, "ps").stdout

    assert _warden(env, "thaw", sid).returncode == 0
    time.sleep(0.3)
    assert (ws / "beacon").stat().st_size > size

    r = _warden(env, "kill", sid)
    assert r.returncode == 0, r.stderr
    assert "killed" in r.stdout
    proc.wait(timeout=10)
    proc.communicate()
    assert proc.returncode == 137  # the program was SIGKILLed
    size = (ws / "beacon").stat().st_size
    time.sleep(0.3)
    assert (ws / "beacon").stat().st_size == size  # no survivor writes any more
    assert _warden(env, "ps", "--json").stdout.strip() == ""


def test_kill_all_and_unknown_sessions(session) -> None:
    proc, _, env = session
    r = _warden(env, "kill", "--all")
    assert r.returncode == 0, r.stderr
    proc.wait(timeout=10)
    r = _warden(env, "kill", "run-nope")
    assert r.returncode == 2 and "no running session" in r.stderr


def test_supervisor_sigterm_takes_the_tree_with_it(session) -> None:
    proc, ws, _ = session
    proc.terminate()
    proc.wait(timeout=10)
    size = (ws / "beacon").stat().st_size
    time.sleep(0.3)
    assert (ws / "beacon").stat().st_size == size


def test_supervisor_sigkill_leaves_nothing_running(session) -> None:
    proc, ws, env = session
    proc.kill()  # no cleanup code runs: init notices its lifeline closed
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while True:
        size = (ws / "beacon").stat().st_size
        time.sleep(0.3)
        if (ws / "beacon").stat().st_size == size:
            break
        assert time.monotonic() < deadline, "processes survived their supervisor"
    listed = [json.loads(line) for line in _warden(env, "ps", "--json").stdout.splitlines()]
    assert [x["alive"] for x in listed] == [False]  # a stale entry, shown as such
    left = _session_cgroups(listed[0]["session"])
    assert left, "the killed supervisor's cgroup should still be there before the prune"
    pruned = _warden(env, "ps", "--prune")
    assert f"pruned {listed[0]['session']}" in pruned.stderr
    assert _warden(env, "ps", "--json").stdout.strip() == ""
    assert [p for p in left if os.path.exists(p)] == []  # its (empty) cgroups went with it


def _session_cgroups(session: str) -> list[str]:
    """The session's cgroup directories that exist, v2 and v1."""
    import glob

    from warden.contain.cgroup import cgroup2_root, v1_root

    roots = [cgroup2_root(), *(v1_root(c) for c in ("pids", "memory"))]
    return [p for root in filter(None, roots)
            for p in glob.glob(f"{root}/**/warden/{session}", recursive=True)]  # fmt: skip
