"""The native launcher (``warden-launch``, ``_launch.c``) builds the same sandbox as the Python
stage it replaces, refuses a plan it cannot read, and is what runs where it was built.

The rest of tests/contain runs with whichever launcher is in use (the native one where it was
built); ``make test`` runs the attack tests of test_run.py a second time with
``WARDEN_LAUNCHER=python``, so both stay covered.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.contain.sandbox import needs_sandbox, run

from warden.contain import launch, ns, stage
from warden.contain.spec import SandboxSpec

NATIVE = launch.executable() if os.environ.get(launch.ENV) != "python" else None
needs_launcher = pytest.mark.skipif(
    NATIVE is None, reason="the native launcher is not built (or not asked for)"
)


def test_the_launcher_was_built_where_a_compiler_is() -> None:
    """A broken build must not pass silently as 'the Python stage is fine too'."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: warden runs its Python stage")
    path = Path(launch.__file__).with_name(launch.EXECUTABLE)
    assert os.access(path, os.X_OK), f"{path} was not built (pip install -e . rebuilds it)"


def test_asking_for_the_launcher_where_it_is_missing_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(launch, "EXECUTABLE", "no-such-launcher")
    monkeypatch.setenv(launch.ENV, "native")
    with pytest.raises(launch.LauncherMissing, match="was not built"):
        launch.executable()
    monkeypatch.setenv(launch.ENV, "")
    assert launch.executable() is None
    monkeypatch.setenv(launch.ENV, "python")
    assert launch.executable() is None


# ---- the same sandbox ----------------------------------------------------------------------------


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Every kind of mount the stage makes: a workspace under /tmp (bound back under the
    private /tmp), hidden directories and files in HOME, protected paths that exist (git
    hooks, whose parent is pinned) and that do not (.claude: created for the run)."""
    base = Path(tempfile.mkdtemp(prefix="warden-test-", dir="/var/tmp"))
    home, ws = base / "home", tmp_path / "ws"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("key\n")
    (home / ".netrc").write_text("machine x password y\n")
    (home / ".cache" / "warden").mkdir(parents=True)  # else the first run creates it
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".vscode").mkdir()
    (ws / ".vscode" / "settings.json").write_text("{}\n")
    yield ws, home
    shutil.rmtree(base, ignore_errors=True)


#: what the program sees of its sandbox, printed from inside
SURVEY = r"""
set -u
echo "== mounts"; cut -d' ' -f4- /proc/self/mountinfo
echo "== status"; grep -E '^(Cap|NoNewPrivs|Seccomp|Uid|Gid|Groups)' /proc/self/status
echo "== init"; grep -E '^(Cap|Uid|Gid)' /proc/1/status
echo "== signals"; grep -E '^(SigIgn|SigBlk)' /proc/self/status
echo "== dirs"; ls -la --time-style=+ /dev /tmp /run /dev/shm "$HOME" "$HOME/.ssh" .git .claude
echo "== fds"; ls /proc/self/fd
echo "== limits"; ulimit -c; ulimit -t
echo "== names"; hostname; pwd; id
echo "== env"; env | grep -v -E '^(WARDEN_SESSION|WARDEN_LAUNCHER|_)=' | sort
echo "== net"; cat /proc/net/dev | cut -d: -f1; cat /proc/net/tcp | wc -l
"""


def _normalise(text: str, ws: Path) -> str:
    # device numbers of anonymous file systems (proc, tmpfs, devpts) and the program's own
    # uid (when warden is root: a fresh one for each run, identity.py) differ from run to run
    text = re.sub(r"\b0:\d+\b", "0:N", text)
    text = re.sub(r"\b(uid|gid)=\d+", r"\1=N", text)
    return text.replace(str(ws), "WS")


@needs_sandbox
@needs_launcher
def test_both_launchers_build_the_same_sandbox(box, request) -> None:
    ws, home = box
    seen = {}
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if soft == 0 and hard != 0:  # so that the program's core limit of 0 is the sandbox's doing
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        request.addfinalizer(lambda: resource.setrlimit(resource.RLIMIT_CORE, (soft, hard)))
    for which in ("python", "native"):
        r = run("/bin/sh", "-c", SURVEY, ws=ws, home=home, env={launch.ENV: which})
        assert r.returncode == 0, (which, r.stderr)
        seen[which] = _normalise(r.stdout, ws)
    assert "== mounts" in seen["native"] and "tmpfs" in seen["native"]
    assert "/.git/hooks" in seen["native"] and "/.claude" in seen["native"]
    assert "== limits\n0\n" in seen["native"]
    assert seen["native"] == seen["python"]


@needs_sandbox
@needs_launcher
@pytest.mark.parametrize("which", ["python", "native"])
def test_a_program_that_cannot_be_executed_is_127_with_the_reason(box, which) -> None:
    ws, home = box
    (ws / "not-executable").write_text("#!/bin/sh\n")
    for argv, reason in ((("no-such-program-xyz",), "No such file"),
                         (("./not-executable",), "Permission denied")):  # fmt: skip
        r = run(*argv, ws=ws, home=home, env={launch.ENV: which})
        assert r.returncode == 127, (which, argv, r.stderr)
        assert reason in r.stderr, (which, r.stderr)


# ---- a plan it cannot read ---------------------------------------------------------------------


def _spec(ws: str) -> SandboxSpec:
    return SandboxSpec(
        session="run-test", argv=("/bin/true",), workspace=ws, cwd=ws, env={"PATH": "/bin"},
        read=("/usr",), write=(ws,), hide=(), protect=(), create_protected=(), create_hidden=(),
        egress=(), unix_sockets=False, memory=None, pids=None, cpu_seconds=None,
        policy_digest="x",
    )  # fmt: skip


def _plan(ws: str, *, nproc: int = 0, into: bool = False) -> bytes:
    return launch.encode_plan(_spec(ws), trees=[], seccomp_program=b"\x06" + b"\0" * 7,
                              landlock_abi=1, last_capability=40, timeline=False,
                              nproc=nproc, into_cgroup=into)  # fmt: skip


def _launch(plan: bytes) -> tuple[list[dict[str, object]], int]:
    """Start the launcher with ``plan``, answer its "userns" as the supervisor does for the
    caller's uid; the messages it sent and its exit status."""
    assert NATIVE is not None
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    alive_r, alive_w = os.pipe()
    try:
        spawned = launch.spawn(NATIVE, sock=theirs.fileno(), lifeline=alive_r)
        spawned.give_plan(plan)
        theirs.close()
        mine.settimeout(10)
        messages = []
        while True:
            msg, fds = stage.recv_message(mine)
            for fd in fds:
                os.close(fd)
            if msg is None:
                break
            messages.append(msg)
            if "userns" in msg:  # the plan is read once "mapped" is in
                mine.send(b'{"mapped": true}')
            if "init" in msg:  # got past the plan: stop it here
                mine.close()
                break
        _, status = os.waitpid(spawned.pid, 0)
        return messages, os.waitstatus_to_exitcode(status)
    finally:
        mine.close()
        os.close(alive_r)
        os.close(alive_w)


@needs_launcher
def test_a_valid_plan_gets_past_the_reading(tmp_path) -> None:
    messages, _code = _launch(_plan(str(tmp_path)))
    assert messages[:1] == [{"userns": True}] and "init" in messages[-1], messages


def _corruptions(plan: bytes) -> Iterator[tuple[str, bytes]]:
    yield "empty", b""
    yield "other magic", plan.replace(launch.PLAN_MAGIC.encode(), b"warden-plan/0", 1)
    yield "trailing byte", plan + b"x"
    for cut in range(1, len(plan), max(1, len(plan) // 60)):
        yield f"cut at {cut}", plan[:cut]
    magic = b"%d:%b," % (len(launch.PLAN_MAGIC), launch.PLAN_MAGIC.encode())
    yield "length past the end", magic + b"999999999:" + b"x" * 10
    yield "ten-digit length", magic + b"1000000000:x,"
    yield "NUL in a path", plan.replace(b"/usr", b"/u\0r", 1)
    yield "negative number", plan.replace(b"2:40,", b"3:-40,", 1)
    yield "comma missing", plan.replace(b"/usr,", b"/usr;", 1)


@needs_launcher
def test_a_plan_it_cannot_read_is_refused_with_a_reason(tmp_path) -> None:
    plan = _plan(str(tmp_path))
    assert b"2:40," in plan and b"/usr," in plan  # the corruptions below find their targets
    for name, bad in _corruptions(plan):
        messages, code = _launch(bad)
        assert code == stage.EXIT_SETUP, (name, code, messages)
        assert messages[0] == {"userns": True}, (name, messages)
        assert len(messages) == 2 and "malformed plan" in str(messages[1].get("error")), (
            name, messages)  # fmt: skip
        assert messages[1].get("step") == "plan"


@needs_sandbox
@needs_launcher
def test_an_error_text_with_quotes_and_odd_bytes_arrives_whole(box) -> None:
    """The launcher's error messages are JSON the supervisor can read, whatever a name holds."""
    ws, home = box
    odd = 'no-such-"quote\\back\x01é'
    r = run(odd, ws=ws, home=home, env={launch.ENV: "native"})
    assert r.returncode == 127, r.stderr
    assert 'no-such-"quote\\back' in r.stderr, r.stderr


def test_encode_plan_refuses_what_no_exec_could_carry(tmp_path) -> None:
    import dataclasses

    spec = _spec(str(tmp_path))
    with pytest.raises(ValueError, match="NUL"):
        launch.encode_plan(dataclasses.replace(spec, argv=("a\0b",)), trees=[],
                           seccomp_program=b"", landlock_abi=1, last_capability=40,
                           timeline=False)  # fmt: skip
    with pytest.raises(ValueError, match="environment variable name"):
        launch.encode_plan(dataclasses.replace(spec, env={"A=B": "c"}), trees=[],
                           seccomp_program=b"", landlock_abi=1, last_capability=40,
                           timeline=False)  # fmt: skip


# ---- forked straight into the cgroup ------------------------------------------------------------


def _run_in_process(ws: Path, monkeypatch, capfd, *, spawn_cgroup_dir: str | None = None):
    """``run_contained`` of a program that prints its own and init's cgroup, with no limits
    (so that no cgroup v1 hierarchy is involved); the program's output and the timeline."""
    import dataclasses

    from warden.check.policy.load import default_layers, load_policy
    from warden.contain.spec import build_spec
    from warden.contain.supervisor import run_contained

    if spawn_cgroup_dir is not None:  # hand the launcher a directory that is no cgroup
        from warden.contain import supervisor

        monkeypatch.setattr(supervisor, "_cgroup_dir",
                            lambda cgroup: os.open(spawn_cgroup_dir, os.O_PATH | os.O_DIRECTORY))
    timeline = ws.parent / "timeline"
    monkeypatch.setenv("WARDEN_TIMELINE", str(timeline))
    policy = load_policy(default_layers(str(ws)))
    spec = build_spec(policy, ["/bin/sh", "-c", "cat /proc/self/cgroup /proc/1/cgroup"],
                      workspace=str(ws))  # fmt: skip
    spec = dataclasses.replace(spec, pids=None, memory=None)
    capfd.readouterr()
    result = run_contained(spec, audit=None)
    out = capfd.readouterr().out
    assert result.exit_code == 0, result
    steps = [line.rsplit(" ", 1)[0] for line in timeline.read_text().splitlines()]
    return out, steps


def _cgroup_ok(out: str) -> None:
    lines = out.split()
    assert "0::/" in lines and len(lines) % 2 == 0, out
    assert all(line.endswith(":/") for line in lines), out


@needs_sandbox
@needs_launcher
def test_without_v1_limits_init_is_forked_into_the_cgroup_and_nothing_is_moved(
    tmp_path, monkeypatch, capfd
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    out, steps = _run_in_process(ws, monkeypatch, capfd)
    _cgroup_ok(out)
    assert "supervisor: init was forked into the cgroup" in steps
    assert not [step for step in steps if step.startswith("mover:")], steps


@needs_sandbox
@needs_launcher
def test_where_the_kernel_refuses_the_fork_into_the_cgroup_init_is_moved(
    tmp_path, monkeypatch, capfd
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    out, steps = _run_in_process(ws, monkeypatch, capfd, spawn_cgroup_dir=str(tmp_path))
    _cgroup_ok(out)
    assert "supervisor: init was forked into the cgroup" not in steps
    assert "mover: move 1 done" in steps and "mover: move 2 done" in steps, steps


@needs_sandbox
@needs_launcher
def test_a_program_not_found_in_the_cgroup_does_not_go(tmp_path, monkeypatch, capfd) -> None:
    """Born in the cgroup is checked before "go", not taken on the launcher's word."""
    from warden.contain.cgroup import Cgroup
    from warden.contain.supervisor import SandboxError

    monkeypatch.setattr(Cgroup, "pids", lambda self: [])
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(SandboxError, match="not in the session's cgroup"):
        _run_in_process(ws, monkeypatch, capfd)
    assert capfd.readouterr().out == ""  # the program never ran


@needs_launcher
@pytest.mark.parametrize(
    ("answer", "with_fd", "nproc", "into"),
    [
        # an extra key: not the exact text
        (b'{"mapped": true, "own": true, "trees": []}', False, 0, False),
        (b'{"mapped":true}', False, 0, False),  # other spelling of the same JSON
        (b'{"mapped": true} ', False, 0, False),
        (b'{"go": true, "cgroup": true}', False, 0, False),  # a later step's message, out of turn
        (b'{"mapped": true}', True, 0, False),  # a descriptor nobody asked for
        (b'{"mapped": true, "own": true}', True, 0, False),  # a tree the plan does not name
        (b"x" * 70_000, False, 0, False),  # longer than any message (truncated)
        # a task limit (RLIMIT_NPROC) for a program keeping host root's uid, which the
        # kernel exempts: the limit would not hold
        (b'{"mapped": true}', False, 64, False),
        # the plan forks init into the cgroup, and its directory did not come
        (b'{"mapped": true}', False, 0, True),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_a_set_up_message_other_than_the_expected_one_ends_the_stage(
    tmp_path, answer: bytes, with_fd: bool, nproc: int, into: bool
) -> None:
    """The launcher takes only the exact "mapped" texts the supervisor sends, with exactly
    the descriptors its plan names: anything else ends the stage (125) before any namespace
    but its user namespace exists, and it sends nothing more."""
    assert NATIVE is not None
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    alive_r, alive_w = os.pipe()
    mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    try:
        spawned = launch.spawn(NATIVE, sock=theirs.fileno(), lifeline=alive_r)
        spawned.give_plan(_plan(str(tmp_path), nproc=nproc, into=into))
        pid = spawned.pid
        theirs.close()
        mine.settimeout(10)
        msg, _fds = stage.recv_message(mine)
        assert msg == {"userns": True}
        if nproc:  # as the supervisor does: only the uid is wrong
            resource.prlimit(pid, resource.RLIMIT_NPROC, (nproc, nproc))
        if with_fd:
            socket.send_fds(mine, [answer], [alive_w])
        else:
            mine.send(answer)
        after = []
        while True:
            msg, fds = stage.recv_message(mine)
            for fd in fds:
                os.close(fd)
            if msg is None:
                break
            after.append(msg)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == stage.EXIT_SETUP
        assert after == []
    finally:
        mine.close()
        os.close(alive_r)
        os.close(alive_w)


@needs_sandbox
@needs_launcher
@pytest.mark.parametrize("failing", ["landlock", "egress"])
def test_a_run_that_fails_while_the_launcher_waits_for_its_plan_leaves_nothing(
    tmp_path, monkeypatch, failing: str
) -> None:
    """The launcher is started before the run is planned: when the planning fails (before its
    plan is written: no Landlock; after: host lists the proxy cannot enforce), the stage
    waiting for "mapped" is ended and reaped, and the session's cgroup is gone."""
    import dataclasses

    from warden.check.policy.load import default_layers, load_policy
    from warden.contain import landlock
    from warden.contain.cgroup import Cgroup
    from warden.contain.spec import build_spec
    from warden.contain.supervisor import SandboxError, run_contained

    created: list[Cgroup] = []
    real_create = Cgroup.create.__func__  # type: ignore[attr-defined]

    def create(cls, session: str) -> Cgroup:
        created.append(real_create(cls, session))
        return created[-1]

    monkeypatch.setattr(Cgroup, "create", classmethod(create))
    spawned: list[int] = []
    real_spawn = launch.spawn

    def spawn(*args, **kwargs):
        started = real_spawn(*args, **kwargs)
        spawned.append(started.pid)
        return started

    monkeypatch.setattr(launch, "spawn", spawn)
    ws = tmp_path / "ws"
    ws.mkdir()
    spec = build_spec(load_policy(default_layers(str(ws))), ["/bin/true"], workspace=str(ws))
    spec = dataclasses.replace(spec, pids=None)
    if failing == "landlock":
        monkeypatch.setattr(landlock, "abi_version", lambda: 0)
        expected = "no Landlock"
    else:
        spec = dataclasses.replace(spec, egress=("bad host name",))
        expected = "cannot enforce the policy's host lists"
    with pytest.raises(SandboxError, match=expected):
        run_contained(spec, audit=None)
    assert len(spawned) == 1 and len(created) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(spawned[0], os.WNOHANG)  # reaped already
    assert not os.path.exists(f"/proc/{spawned[0]}")
    assert not os.path.exists(created[0].path)


@needs_launcher
@pytest.mark.parametrize(
    ("early", "error"),
    [
        (ns.WITH_USERNS & ~ns.CLONE_NEWUTS, "malformed plan"),  # fewer than the plan's
        (ns.WITH_USERNS | ns.CLONE_NEWPID, "bad namespace flags"),  # pid: only with init
        (ns.WITH_USERNS | ns.CLONE_NEWCGROUP, "bad namespace flags"),
    ],
)
def test_the_namespaces_made_before_the_plan_must_be_the_plans(
    tmp_path, monkeypatch, early: int, error: str
) -> None:
    """The launcher makes its namespaces (but pid) with its user namespace, before it has read
    its plan, from its argument; only those may be asked for, and the plan must agree."""
    monkeypatch.setattr(ns, "WITH_USERNS", early)
    messages, code = _launch(_plan(str(tmp_path)))
    assert code == stage.EXIT_SETUP, messages
    assert error in str(messages[-1].get("error")), messages
