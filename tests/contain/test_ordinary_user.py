"""``warden run`` as an ordinary user: the refusal without a cgroup, and a delegated cgroup.

The suite runs as root, and its Python lives under /root, which other users cannot enter. So
this test installs warden into a virtual environment of the system Python (world-readable, under
the test's temporary directory), then runs it as uid 65534:

- with no cgroup it may create, ``warden run`` refuses, naming ``--allow-weaker`` and
  ``systemd-run --user --scope -p Delegate=yes``;
- in a cgroup2 directory delegated the way systemd does it (``cgroup.procs``,
  ``cgroup.subtree_control`` and ``cgroup.threads`` owned by the user, the user's process moved
  in), the session's cgroup is created beneath it and the program runs there.

Skips, with the reason, when not root, when there is no system Python 3.11+, no cgroup2
hierarchy, or warden cannot be installed (no network for its dependencies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.contain.sandbox import needs_sandbox

from warden.contain.cgroup import cgroup2_root

pytestmark = [pytest.mark.slow, needs_sandbox, pytest.mark.timeout(600)]

USER = 65534
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def user_warden() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root (to switch to another uid and delegate a cgroup)")
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None:
        pytest.skip("no system python3 that another user could run")
    version = subprocess.run([system, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if version.stdout.strip() != "True":
        pytest.skip(f"{system} is older than 3.11")
    # not under pytest's own temporary directory: /tmp/pytest-of-root is 0700
    base = Path(tempfile.mkdtemp(prefix="warden-ordinary-user-"))
    base.chmod(0o755)
    venv = base / "venv"
    try:
        try:
            subprocess.run([system, "-m", "venv", str(venv)], check=True, capture_output=True,
                           timeout=120)  # fmt: skip
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)],
                           check=True, capture_output=True, timeout=400)  # fmt: skip
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"cannot install warden for the system Python: {exc}")
        subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
        yield venv / "bin" / "warden"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workspace() -> Iterator[Path]:
    ws = Path(tempfile.mkdtemp(prefix="warden-ordinary-ws-"))
    os.chown(ws, USER, USER)
    try:
        yield ws
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def _as_user(
    argv: list[str], ws: Path, *, cgroup: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as uid 65534 in ``ws`` (moved into ``cgroup`` first, as systemd would)."""

    def enter() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        os.setgroups([])
        os.setresgid(USER, USER, USER)
        os.setresuid(USER, USER, USER)

    env = {"PATH": "/usr/bin:/bin", "HOME": str(ws), "LANG": "C.UTF-8"}
    return subprocess.run(argv, cwd=ws, env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=enter, check=False)  # fmt: skip


def test_without_a_cgroup_an_ordinary_user_is_refused_with_the_ways_out(
    user_warden: Path, workspace: Path
) -> None:
    r = _as_user([str(user_warden), "run", "--no-audit", "--", "/bin/true"], workspace)
    assert r.returncode != 0
    assert "--allow-weaker" in r.stderr and "Delegate=yes" in r.stderr, r.stderr


def test_in_a_delegated_cgroup_the_session_cgroup_is_made_beneath_it(
    user_warden: Path, workspace: Path
) -> None:
    root = cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 hierarchy")
    delegated = Path(root) / f"warden-test-delegated-{os.getpid()}"
    delegated.mkdir()
    try:
        for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
            os.chown(delegated / name if name else delegated, USER, USER)
        # --allow-weaker: limits need the pids/memory controllers for the delegated subtree,
        # which hosts whose controllers are bound to cgroup v1 (like this one) cannot give
        r = _as_user([str(user_warden), "run", "--no-audit", "--allow-weaker", "--",
                      "/bin/sh", "-c", "echo contained; cat /proc/self/cgroup"], workspace,
                     cgroup=delegated)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "contained" in r.stdout
        assert (delegated / "warden").is_dir()  # the session's cgroup was made beneath it
        assert "0::/\n" in r.stdout or r.stdout.rstrip().endswith("0::/")  # its own cgroupns
    finally:
        for path in sorted(delegated.rglob("*"), key=lambda p: -len(p.parts)):
            if path.is_dir():
                path.rmdir()
        delegated.rmdir()
