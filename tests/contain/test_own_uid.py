"""``warden run`` as root: the program runs under a uid of its own (``contain/identity.py``).

Real runs on this kernel: the program's host uid is read from /proc outside, files it makes in
the workspace are checked for their owner on the host, and a run whose workspace is on a file
system without idmapped mounts (overlayfs) is shown to keep the caller's uid and say so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.contain.sandbox import PYTHON_READ, WARDEN, needs_sandbox, run

from warden.contain import identity

NOT_ROOT = os.geteuid() != 0


def _no_idmap() -> bool:
    from warden.contain.probe import probe

    return not probe().idmapped_mounts


pytestmark = [
    needs_sandbox,
    pytest.mark.skipif(NOT_ROOT, reason="a uid of its own is given only when warden is root"),
    pytest.mark.skipif(not NOT_ROOT and _no_idmap(), reason="this kernel has no idmapped mounts"),
]

#: an unprivileged owner for a workspace that is not root's
OTHER = 4242


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A workspace under /tmp (pytest's 0700 /tmp/pytest-of-root above it) and a HOME."""
    base = Path(tempfile.mkdtemp(prefix="warden-test-", dir="/var/tmp"))
    home, ws = base / "home", tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    (ws / "app.py").write_text("print('hello')\n")
    yield ws, home
    shutil.rmtree(base, ignore_errors=True)


def _audit(home: Path) -> list[dict[str, object]]:
    env = {**os.environ, "XDG_DATA_HOME": str(home / ".local/share")}
    shown = subprocess.run([WARDEN, "audit", "tail", "-n", "20", "--json"], env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    return [json.loads(line)["record"] for line in shown.stdout.splitlines()]


def _start_record(home: Path) -> dict[str, object]:
    starts = [r for r in _audit(home) if r["type"] == "run" and r.get("event") == "start"]
    return starts[-1]


def _status(pid: int) -> dict[str, list[str]]:
    with open(f"/proc/{pid}/status") as fh:
        return {k: v.split() for k, _, v in (line.partition(":") for line in fh)}


def _program_pid(marker: str, deadline: float = 20.0) -> int:
    """The global pid of the program: pid 2 of its namespace, whose command line has ``marker``."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            with contextlib.suppress(OSError):
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    args = fh.read().split(b"\0")
                # the program after its exec (before it, pid 2 is a copy of warden, whose
                # command line has the marker too)
                if args[1:2] != [b"-c"] or marker.encode() not in args[2]:
                    continue
                if _status(int(name)).get("NSpid", [])[1:] == ["2"]:
                    return int(name)
        time.sleep(0.05)
    raise AssertionError("the program did not start")


@contextlib.contextmanager
def _running(ws: Path, home: Path, marker: str) -> Iterator[int]:
    """A contained program that waits; yields its global pid."""
    read = [a for p in PYTHON_READ for a in ("--read", p)]
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share")}
    code = f"import time; time.sleep(60)  # {marker}"
    proc = subprocess.Popen([WARDEN, "run", "--workspace", str(ws), *read, "--",
                             sys.executable, "-c", code], cwd=ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        yield _program_pid(marker)
    finally:
        proc.terminate()  # SIGTERM: the supervisor kills the whole tree
        proc.communicate(timeout=30)


def test_the_program_runs_under_its_own_host_uid(box) -> None:
    ws, home = box
    marker = f"own-uid-{os.getpid()}"
    with _running(ws, home, marker) as pid:
        status = _status(pid)
    uid = int(status["Uid"][0])
    assert identity.UID_BASE < uid <= identity.UID_BASE + 65534
    assert status["Uid"] == [str(uid)] * 4
    assert status["Gid"] == [str(uid)] * 4
    assert status["Groups"] == []  # root's supplementary groups are gone
    record = _start_record(home)
    assert record["uid"] == {"host": uid, "own": True}
    assert record["weaker"] == []


@pytest.mark.parametrize("owner", [0, OTHER])
def test_workspace_files_are_created_edited_and_deleted_as_their_owner(box, owner) -> None:
    ws, home = box
    (ws / "old.txt").write_text("old\n")
    (ws / "gone.txt").write_text("bye\n")
    (ws / "sub").mkdir()
    for path in (ws, ws / "app.py", ws / "old.txt", ws / "gone.txt", ws / "sub"):
        os.chown(path, owner, owner)
    script = ("echo new > new.txt && echo more >> old.txt && rm gone.txt && mkdir -p sub/deep"
              " && echo x > sub/deep/f && id -u && stat -c %u new.txt")  # fmt: skip
    r = run("/bin/sh", "-c", script, ws=ws, home=home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0"]  # inside: uid 0, and the files are its own
    assert (ws / "old.txt").read_text() == "old\nmore\n"
    assert not (ws / "gone.txt").exists()
    for path in (ws / "new.txt", ws / "sub" / "deep", ws / "sub" / "deep" / "f"):
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (owner, owner), path


def test_a_root_owned_file_outside_the_grants_is_not_the_programs(box) -> None:
    ws, home = box
    target = home / "root-owned.txt"  # outside every grant (HOME is not granted)
    target.write_text("root's\n")
    target.chmod(0o644)
    r = run("/bin/sh", "-c", f"stat -c %u {target}; echo evil >> {target}", ws=ws, home=home)
    assert r.returncode != 0
    assert target.read_text() == "root's\n"


def test_a_root_owned_file_in_a_workspace_of_another_owner_is_read_only(box) -> None:
    """Inside a granted (writable) path Landlock allows the write: DAC alone refuses it."""
    ws, home = box
    os.chown(ws, OTHER, OTHER)
    (ws / "root-owned.txt").write_text("root's\n")
    (ws / "root-owned.txt").chmod(0o644)
    r = run("/bin/sh", "-c", "stat -c %u root-owned.txt; echo evil >> root-owned.txt",
            ws=ws, home=home)  # fmt: skip
    assert r.returncode != 0
    assert r.stdout.split() == ["65534"]  # an id its namespace does not map
    assert "Permission denied" in r.stderr
    assert (ws / "root-owned.txt").read_text() == "root's\n"


def test_git_commit_and_pip_cache_in_a_root_home(box) -> None:
    """HOME's own write grant (~/.cache) and read grant (~/.gitconfig) under a 0700 HOME."""
    ws, home = box
    home.chmod(0o700)
    (home / ".cache").mkdir()
    (home / ".gitconfig").write_text("[user]\n\temail = a@b\n\tname = a\n")
    (home / ".gitconfig").chmod(0o600)
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    script = ("git init -q . && git add app.py && git commit -qm first && git log --oneline && "
              "echo cached > ~/.cache/c.txt")  # fmt: skip
    r = run("/bin/sh", "-c", script, ws=ws, home=home)
    assert r.returncode == 0, r.stderr
    assert "first" in r.stdout
    assert (home / ".cache" / "c.txt").stat().st_uid == 0
    assert (ws / ".git").stat().st_uid == 0


def test_a_workspace_without_idmapped_mounts_keeps_the_callers_uid_and_says_so(box) -> None:
    _ws, home = box
    layers = Path(tempfile.mkdtemp(prefix="warden-ovl-", dir="/var/tmp"))
    for d in ("lower", "upper", "work", "merged"):
        (layers / d).mkdir()
    opts = f"lowerdir={layers}/lower,upperdir={layers}/upper,workdir={layers}/work"
    mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts,
                              str(layers / "merged")], capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        shutil.rmtree(layers, ignore_errors=True)
        pytest.skip(f"cannot mount an overlayfs here: {mounted.stderr!r}")
    try:
        ows = layers / "merged" / "ws"
        ows.mkdir()
        r = run("/bin/sh", "-c", "id -u > out.txt", ws=ows, home=home)
        assert r.returncode == 0, r.stderr
        assert "weaker sandbox: the program keeps the caller's uid 0" in r.stderr
        assert "overlay" in r.stderr
        assert (ows / "out.txt").read_text().strip() == "0"
        record = _start_record(home)
        assert record["uid"]["own"] is False  # type: ignore[index]
        assert "overlay" in record["uid"]["why_not"]  # type: ignore[index]
    finally:
        subprocess.run(["umount", str(layers / "merged")], check=False)
        shutil.rmtree(layers, ignore_errors=True)


# ---- the plan, without a run --------------------------------------------------------------------

_MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /srv/ovl rw,relatime - overlay overlay rw
41 27 0:51 / /srv/ext/proc rw - proc proc rw
"""


def test_plan_maps_the_writable_roots_and_opens_the_closed_directories_above(box) -> None:
    from warden.check.policy.load import Layer, builtin_policy_path, load_policy
    from warden.contain.spec import build_spec

    ws, home = box
    home.chmod(0o700)
    (home / ".cache").mkdir()
    (home / ".gitconfig").write_text("")
    policy = load_policy([Layer(builtin_policy_path(), "builtin")])
    spec = build_spec(policy, ["true"], workspace=str(ws), home=str(home), environ={})
    plan = identity.plan(spec)
    assert plan.own and plan.uid == identity.own_ids(spec.session)
    trees = {t.path: (t.owner, t.writable) for t in plan.trees}
    assert trees[str(ws)] == ((0, 0), True)
    assert trees[str(home / ".cache")] == ((0, 0), True)
    assert trees[str(home)] == ((0, 0), False)  # 0700: reached through a read-only view
    pytest_root = str(ws.parents[2])  # /tmp/pytest-of-root, 0700
    assert trees[pytest_root] == ((0, 0), False)
    assert "/usr" not in trees and "/etc" not in trees  # seen as they are
    assert str(home / ".gitconfig") not in trees  # readable through the view of HOME
    tool = ws.parent / "tool"
    tool.mkdir(mode=0o700)
    os.chown(tool, OTHER, OTHER)  # not the owner of the view above it
    spec = build_spec(policy, ["true"], workspace=str(ws), home=str(home), environ={},
                      extra_read=[str(tool)])  # fmt: skip
    trees = {t.path: (t.owner, t.writable) for t in identity.plan(spec).trees}
    assert trees[str(tool)] == ((OTHER, OTHER), False)  # 0700, another owner: its own view
    depths = [t.path.count("/") for t in plan.trees]
    assert depths == sorted(depths)  # parents are attached before children


def test_plan_refuses_trees_on_file_systems_without_idmapped_mounts(tmp_path: Path) -> None:
    mounts = identity._mounts(_MOUNTINFO)
    assert identity._unqualified("/srv/ovl/ws", mounts) == "overlay"
    assert identity._unqualified("/srv/ext", mounts) == "proc"  # a submount in the tree
    assert identity._unqualified("/srv/other", mounts) is None


def test_own_ids_stay_in_their_block() -> None:
    ids = {identity.own_ids(f"run-{i:010x}") for i in range(2000)}
    assert all(identity.UID_BASE < i <= identity.UID_BASE + 65534 for i in ids)
    assert len(ids) > 1900  # sessions rarely share one


def test_a_granted_path_swapped_after_planning_is_refused(tmp_path: Path) -> None:
    """The idmapped clone is made from a descriptor checked against what was planned (device,
    inode, owner), not from a second walk of the path: a directory swapped in between (by
    whoever can write its parent) is refused instead of being mapped onto the program."""
    planned = tmp_path / "grant"
    planned.mkdir()
    st = planned.stat()
    tree = identity.Tree(str(planned), (st.st_uid, st.st_gid), writable=True,
                         inode=(st.st_dev, st.st_ino))  # fmt: skip
    planned.rename(tmp_path / "grant.old")
    planned.mkdir()  # same path, another directory
    with pytest.raises(OSError, match="changed between planning and building"):
        identity._tree(tree, -1)
