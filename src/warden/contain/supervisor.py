"""The parent side of ``warden run``: set up, watch, record, and end one contained program.

The supervisor stays outside every namespace the program is in. It

1. checks that the kernel offers what the policy needs (refusing to run with less unless the
   user passed ``allow_weaker``), creates the session's cgroup, decides who the program is on
   the host (its own uid when warden is root, ``identity.py``: the idmapped mounts that needs
   are made here, as host root, once the stage's user namespace has its maps), and forks the
   stage (``stage.py``);
2. receives the proxy's listening socket, created inside the program's network namespace, and
   serves it from here (so the program cannot kill the proxy or route around it), starting
   the proxy's threads once the program is released ("go": a connection made before waits in
   the socket's backlog), which keeps a thread start off the set-up path;
3. registers the run and records its start durably in the audit log, moves init and the
   program (still warden's code, waiting) into the cgroup, whose limits are set, and only
   then lets the program go on (a thread moves each as soon as its pid is known, the stage
   first, so that the slow first move of a run overlaps the set-up: ``_Mover``);
4. becomes the parent of the namespace's init (child subreaper), waits for it, and records
   every egress request, every exec of the tree (from the seccomp notification listener the
   program sends before its own exec) and the end of the run;
5. judges each exec with the check engine (layer 1): a KILL verdict kills the whole tree at
   once. This is a tripwire, not the boundary: the exec's arguments are read from a process
   that could change them after the read (docs/containment.md); Landlock, seccomp and the
   namespaces are what hold.

If the supervisor dies, init sees its lifeline close and exits, which SIGKILLs everything in
the pid namespace: nothing runs unwatched.

Start-up costs that are this process's (docs/containment.md, "Start-up: where the time goes"):
its fork of the stage (page tables of its heap; done with the garbage collector off, so the
children never walk, and copy, the inherited objects) and the starts of its helper threads.
``threading.Thread.start()`` waits for the new thread's first run, which on this 2-vCPU guest
came a timer tick late when the thread was put on the other vCPU (3.5 ms median, 0.25 ms when
created beside its creator): every helper thread is created beside this thread
(``ns.on_this_cpu``) and then gets every CPU back. (The stage's fork is not: pinned, it got
slower, 0.8 ms more in this process and nothing gained in the stage.)
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warden._signals import wait_exit, wake_on_signals
from warden.contain import ns
from warden.contain.cgroup import Cgroup, CgroupError
from warden.contain.spec import SandboxSpec
from warden.contain.stage import (
    EXIT_SETUP,
    PROXY_PORT,
    recv_message,
    recv_message_from,
    send_message,
    stage_main,
    stamp,
    timeline_begin,
    timeline_end,
    timeline_fd,
    write_id_maps,
)
from warden.errors import PolicyError, WardenError

if TYPE_CHECKING:
    from warden.check.engine import Engine
    from warden.contain.egress import EgressPolicy
    from warden.contain.execwatch import ExecEvent
    from warden.contain.identity import Identity
    from warden.contain.launch import Spawned
    from warden.contain.proxy import ProxyEvent
    from warden.contain.tripwires import Snapshot
    from warden.record import AuditLog

__all__ = ["RunResult", "SandboxError", "run_contained"]

#: Seconds to wait for each set-up step of the child before giving up (fail closed).
SETUP_TIMEOUT_S = 10.0
#: Seconds an exec waits for the check engine (compiled in the background at start).
ENGINE_WAIT_S = 30.0
#: Seconds after "go" at which the engine is built if no exec asked for it before
#: (``_ExecMonitor.load_engine``).
ENGINE_DELAY_S = 0.05


class SandboxError(WardenError):
    """The sandbox could not be set up; the program did not run."""


@dataclass
class RunResult:
    session: str
    exit_code: int
    duration: float
    killed: bool = False
    kill_reason: str | None = None
    execs: int = 0
    weaker: list[str] = field(default_factory=list)
    #: code-running git settings that appeared during the run (tripwires.py)
    tripwires: list[str] = field(default_factory=list)
    egress_allowed: int = 0
    egress_denied: int = 0
    setup_error: str | None = None


def _proxy_env(port: int) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    env = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = url
    env["NO_PROXY"] = env["no_proxy"] = ""
    return env


def _redacted_argv(argv: tuple[str, ...]) -> list[str]:
    return [_redacted(a) for a in argv]


def _redacted(text: str) -> str:
    """``text`` for an audit record, secrets redacted (and :func:`_printable`)."""
    from warden.check.secrets import redact_text

    return redact_text(_printable(text))


def _printable(text: str) -> str:
    """``text`` with the bytes that are not UTF-8 (a file name can hold any; Python carries
    them as surrogates, which no record can encode) shown as ``\\xNN`` escapes."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Recorder:
    """Audit records of one run; egress events are queued, never blocking the proxy."""

    def __init__(self, log: AuditLog | None, session: str) -> None:
        self.log = log
        self.session = session
        self.allowed = 0
        self.denied = 0
        self.lock = threading.Lock()
        #: called once when a record cannot be queued: the run must not go on unrecorded
        self.on_failure: Callable[[str], None] | None = None
        self.failure: str | None = None

    def _failed(self, exc: Exception) -> None:
        if self.failure is None:
            self.failure = f"the audit log failed ({exc}): the run was stopped"
            if self.on_failure is not None:
                self.on_failure(self.failure)

    def durable(self, record: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.append({**record, "session": self.session, "time": round(time.time(), 6)})

    def queue(self, record: dict[str, Any]) -> None:
        if self.log is not None:
            try:
                self.log.append_nowait({**record, "session": self.session,
                                        "time": round(time.time(), 6)})  # fmt: skip
            except (WardenError, OSError) as exc:
                self._failed(exc)

    def egress(self, event: ProxyEvent) -> None:
        with self.lock:
            if event.verdict == "allow":
                self.allowed += 1
            else:
                self.denied += 1
        if self.log is not None:
            try:
                self.log.append_nowait({**event.to_record(), "session": self.session})
            except (WardenError, OSError) as exc:
                self._failed(exc)


class _ExecMonitor:
    """Records each exec of the tree; kills the tree when the check engine says KILL."""

    def __init__(
        self,
        spec: SandboxSpec,
        recorder: _Recorder,
        engine: Callable[[], Engine] | None,
        kill: Callable[[], None],
    ) -> None:
        self.spec = spec
        self.recorder = recorder
        self.kill = kill
        self.count = 0
        self.killed: str | None = None
        self._engine_factory = engine
        self._engine: Engine | None = None
        self._engine_error: str | None = None
        self._engine_ready = threading.Event()
        self._engine_wake = threading.Event()
        self._engine_stopped = False
        self._engine_thread: threading.Thread | None = None
        self._watchers: list[Any] = []

    def load_engine(self) -> None:
        """Build the engine in a thread, off the start-up path (the first exec, the user's own
        command, is not judged): once the tree has run for :data:`ENGINE_DELAY_S`, at once
        when an exec needs it, never when the run ended before either.

        Not at once: a run that ends first (``warden run -- true``) left the thread building
        while the supervisor cleaned up (each of its blocking calls then waits for the GIL),
        and the interpreter's exit ended that daemon thread inside re2's C++ code, which
        aborts the process (SIGABRT; 1 run in 25 measured once the run had one exec).
        :meth:`stop_engine` waits for a build under way.
        """
        if self._engine_factory is None:
            self._engine_ready.set()
            return

        def load() -> None:
            try:
                self._engine_wake.wait(ENGINE_DELAY_S)
                if self._engine_stopped:
                    self._engine_error = "the run ended before it was needed"
                    return
                assert self._engine_factory is not None
                self._engine = self._engine_factory()
            except Exception as exc:  # judged in _judge: fail closed, with the reason
                self._engine_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._engine_ready.set()

        self._engine_thread = _start_thread(load, "warden-engine")

    def stop_engine(self) -> None:
        """The run is over: no build starts any more, and one under way is waited for (so the
        process never exits with the thread inside the engine's compiled code)."""
        self._engine_stopped = True
        self._engine_wake.set()
        if self._engine_thread is not None:
            self._engine_thread.join(ENGINE_WAIT_S)

    def watch(self, fd: int) -> None:
        """Serve ``fd``'s exec notifications until the tree is gone or :meth:`close`.

        Runs in the set-up channel's thread, which received ``fd``: the program's first exec
        is waiting for an answer, and starting a thread here would delay it.
        """
        from warden.contain.execwatch import ExecWatcher

        watcher = ExecWatcher(fd, self.on_exec)
        self._watchers.append(watcher)
        with contextlib.suppress(Exception):
            watcher.run()

    def close(self) -> None:
        for watcher in self._watchers:
            watcher.close()

    def on_exec(self, event: ExecEvent) -> None:
        self.count += 1
        if self.count == 1:
            stamp("supervisor: first exec notification")
        if self.count == 1 or self.killed:
            self._record(event, None)
            return
        verdict = self._judge(event)
        self._record(event, verdict)
        if verdict is not None and verdict[0] == "kill":
            self.killed = f"{verdict[2]} ({', '.join(verdict[1])})"
            self.recorder.durable({"type": "run", "v": 1, "event": "kill", "pid": event.pid,
                                   "reason": self.killed})  # fmt: skip
            self.kill()
            raise PermissionError("killed by policy")

    def _record(self, event: ExecEvent, verdict: tuple[str, list[str], str] | None) -> None:
        """Queue the exec's audit record; built only when there is a log (redaction runs the
        secret scanners, whose first import cost the first exec about 25M instructions)."""
        if self.recorder.log is None:
            return
        record = {
            "type": "exec", "v": 1, "pid": event.pid, "ppid": event.ppid,
            "path": _redacted(event.path), "argv": _redacted_argv(event.argv),
            "cwd": event.cwd and _printable(event.cwd), "truncated": event.truncated,
            "syscall": event.syscall,
        }  # fmt: skip
        if event.error:
            record["error"] = event.error
        if event.dirfd_path:
            record["dirfd"] = _printable(event.dirfd_path)
        if verdict is not None:
            record["verdict"], record["rules"], record["reason"] = verdict
        self.recorder.queue(record)

    def _judge(self, event: ExecEvent) -> tuple[str, list[str], str] | None:
        import shlex

        from warden.action import Action, ActionKind
        from warden.check.engine import CheckContext

        if self._engine_factory is None:
            return None  # recording only, as asked
        self._engine_wake.set()  # needed now
        ready = self._engine_ready.wait(timeout=ENGINE_WAIT_S)
        engine = self._engine
        if engine is None:
            # asked to judge and cannot: an unjudged tree must not run on (fail closed)
            why = self._engine_error if ready else f"not ready within {ENGINE_WAIT_S:.0f} s"
            return "kill", [], f"the check engine could not be loaded ({why})"
        action = Action(kind=ActionKind.SHELL, tool="exec", command=shlex.join(event.argv),
                        cwd=event.cwd or self.spec.cwd, session_id=self.spec.session)  # fmt: skip
        ctx = CheckContext(cwd=event.cwd or self.spec.cwd, workspace=self.spec.workspace)
        decision = engine.check(action, ctx)
        if str(decision.verdict) == "allow":
            return None
        return str(decision.verdict), list(decision.rules), decision.reason


def run_contained(
    spec: SandboxSpec,
    *,
    audit: AuditLog | None,
    net_deny: tuple[str, ...] = (),
    allow_weaker: bool = False,
    on_ready: Callable[[int], None] | None = None,
    engine: Callable[[], Engine] | None = None,
) -> RunResult:
    """Run ``spec.argv`` contained; return its exit code once it (and its whole tree) ended.

    ``engine`` builds the check engine that judges each exec (None: record execs only).
    """
    timeline_begin()
    stamp("supervisor: run_contained")
    mover = _Mover()  # started once the cgroup exists
    try:
        return _run_contained(spec, audit=audit, net_deny=net_deny, allow_weaker=allow_weaker,
                              on_ready=on_ready, engine=engine, mover=mover)  # fmt: skip
    finally:
        with contextlib.suppress(CgroupError):
            mover.finish()


def _run_contained(
    spec: SandboxSpec,
    *,
    audit: AuditLog | None,
    net_deny: tuple[str, ...],
    allow_weaker: bool,
    on_ready: Callable[[int], None] | None,
    engine: Callable[[], Engine] | None,
    mover: _Mover,
) -> RunResult:
    from warden.contain import launch

    try:
        launcher = launch.executable()  # None: the Python stage (stage.py), forked
    except launch.LauncherMissing as exc:
        raise SandboxError(str(exc)) from exc
    # the native launcher starts first: its exec and its namespaces overlap everything up to
    # "mapped" (the cgroup, the planning, the imports of a first run); it reads its plan only
    # once it is sent "mapped" (launch.Spawned), with the cgroup's directory
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent_sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # senders' pids
    alive_r, alive_w = os.pipe()
    ns.set_child_subreaper()
    spawned: Spawned | None = None
    stage_cpus: frozenset[int] | None = None
    mapping: dict[tuple[int, int], int] = {}
    cgroup: Cgroup | None = None
    cgroup_weaker: list[str] = []
    try:
        if launcher is not None:
            stamp("supervisor: spawn launcher")
            spawned = _spawn_launcher(launcher, child_sock, alive_r)
            stage_cpus = ns.elsewhere(spawned.pid)  # given back once it has its namespaces
        # the cgroup before the planning: in a run with moves, its grace period (the mover)
        # starts early; the kernel's cgroup mutex, which creating one takes, is held by a move
        # while it waits
        try:
            cgroup = Cgroup.create(spec.session)
        except CgroupError as exc:
            if not allow_weaker:
                raise SandboxError(
                    f"{exc}: without a cgroup warden cannot freeze the tree or limit its "
                    "processes; run as root, or in a delegated scope (systemd-run --user "
                    "--scope -p Delegate=yes warden run ...), or pass --allow-weaker (the pid "
                    "namespace still ends every process with the run)"
                ) from exc
            cgroup_weaker.append(f"no cgroup ({exc}): freeze and limits unavailable")
        # imported before the stage's fork, so the child does not spend its start-up on them
        from warden.contain import identity
        from warden.contain.proxy import EgressProxy

        # the pids limit: the v2 controller where the host offers it; else, for a program with
        # a uid of its own, RLIMIT_NPROC (counted per user namespace and uid: exactly the
        # tree's tasks), which needs no cgroup v1 group and so no move (docs/containment.md)
        ident: Identity | None = None
        nproc = 0
        if cgroup is not None and spec.pids is not None and not cgroup.offers("pids"):
            ident = _plan_identity(spec)
            nproc = spec.pids if ident.own else 0
        if cgroup is not None:
            missing = cgroup.limit(pids=None if nproc else spec.pids, memory=spec.memory)
            if missing and not allow_weaker:
                raise SandboxError(
                    f"the policy sets limits this host cannot enforce: {missing} "
                    "(no such cgroup controller); pass --allow-weaker to run anyway"
                )
            cgroup_weaker += [f"limit not enforced: {m}" for m in missing]
        # the launcher forks init straight into the cgroup (with the program, nothing to
        # move), unless limits live in cgroup v1 hierarchies, which only a move can join
        into = launcher is not None and cgroup is not None and not cgroup.v1
        moving = cgroup is not None and not into
        if moving:
            mover.start()
        stamp("supervisor: cgroup created, limits set")
        landlock_abi, seccomp_program, ident, weaker = _plan_run(spec, ident)
        weaker += cgroup_weaker

        spec_env = dict(spec.env)
        spec_env.update(_proxy_env(PROXY_PORT))
        spec_env["WARDEN_SESSION"] = spec.session
        spec = _with_env(spec, spec_env)
        for path in spec.create_hidden:
            os.makedirs(path, mode=0o700, exist_ok=True)
        try:
            mapping = identity.mapping_namespaces(ident) if ident.own else {}
        except OSError as exc:
            raise SandboxError(f"could not map the program's own uid: {exc}") from exc
        if spawned is not None:
            try:
                spawned.give_plan(launch.encode_plan(
                    spec, trees=[t.path for t in ident.trees] if ident.own else [],
                    seccomp_program=seccomp_program, landlock_abi=landlock_abi,
                    last_capability=ns.last_capability(), timeline=timeline_fd() >= 0,
                    into_cgroup=into, nproc=nproc,
                ))  # fmt: skip
            except (OSError, ValueError) as exc:
                raise SandboxError(f"could not start the sandbox: {exc}") from exc
            stamp("supervisor: plan given")
        # not in the plan: made while the launcher sets up its user namespace
        recorder = _Recorder(audit, spec.session)
        proxy = EgressProxy(_egress_policy(spec, net_deny), on_event=recorder.egress)
        stamp("supervisor: egress policy")
    except BaseException:
        if spawned is not None:
            spawned.close()
            _abandon(spawned.pid)
        for fd in (alive_r, alive_w, *mapping.values()):
            os.close(fd)
        parent_sock.close()
        child_sock.close()
        if cgroup is not None:
            with contextlib.suppress(CgroupError):
                mover.finish()
            cgroup.remove()
        raise

    from warden.contain.tripwires import git_config_changes, snapshot_git_configs

    started = time.monotonic()
    if spawned is not None:
        stage_pid = spawned.pid
    else:
        stamp("supervisor: fork stage")
        stage_pid = _fork_stage()
    if stage_pid == 0:  # pragma: no cover - runs in the child, observed through the tests
        try:
            parent_sock.close()
            os.close(alive_w)
            for fd in mapping.values():
                os.close(fd)
            stage_main(spec, child_sock, alive_r, seccomp_program, nproc)
        finally:
            os._exit(EXIT_SETUP)
    if spawned is None:
        stamp("supervisor: fork stage returned")
    child_sock.close()
    os.close(alive_r)
    git_before: Snapshot | None = None
    placeholders: _Task | None = None
    init_pid = 0
    proxy_sock: socket.socket | None = None
    result = RunResult(spec.session, EXIT_SETUP, 0.0, weaker=weaker)
    running: _ExecMonitor | None = None
    old_handlers = _ignore_terminal_signals()
    wake, unwake = (None, None)
    try:
        if old_handlers:  # the main thread: its long wait below must wake for SIGTERM/SIGHUP
            wake, unwake = wake_on_signals()
        if moving:
            assert cgroup is not None
            mover.begin(cgroup, stage_pid)
        parent_sock.settimeout(SETUP_TIMEOUT_S)
        _expect(parent_sock, "userns")
        stamp("supervisor: got 'userns'")
        ns.restore_cpus(stage_cpus, stage_pid)  # before it forks init
        if nproc:
            # as host root: any value, soft and hard, which nothing inside may raise; the
            # stage checks it before it goes on
            resource.prlimit(stage_pid, resource.RLIMIT_NPROC, (nproc, nproc))
        mapped: dict[str, Any] = {"mapped": True}
        sent: list[int] = []  # the idmapped trees, then the cgroup's directory (into_cgroup)
        try:
            if ident.own:
                write_id_maps(stage_pid, os.getuid(), os.getgid(), own=(ident.uid, ident.gid))
                try:
                    sent += identity.build_trees(ident, stage_pid, mapping)
                except OSError as exc:
                    raise SandboxError(f"could not give the program its own uid: {exc}") from exc
                mapped["own"] = True
                if launcher is None:  # the launcher has the trees' paths in its plan
                    mapped["trees"] = [t.path for t in ident.trees]
            else:
                write_id_maps(stage_pid, os.getuid(), os.getgid())
            if into:
                assert cgroup is not None
                sent.append(_cgroup_dir(cgroup))
            send_message(parent_sock, mapped, sent)
        finally:
            for fd in sent:
                os.close(fd)
        stamp("supervisor: maps written, 'mapped' sent")
        # reads every repository's git config (tripwires.py): off the start-up path (while the
        # stage makes its namespaces), done before the program runs
        git_snapshot = _Task(snapshot_git_configs, spec.workspace)
        program_pid, ready = 0, False
        # the stage's "init" and "proxy", the program's "program" (its pid, from the kernel)
        # and "ready": processes race, any order
        while not (init_pid and proxy_sock is not None and program_pid and ready):
            msg, fds, sender = _expect_from(parent_sock, ("init", "proxy", "program", "ready"))
            stamp(f"supervisor: got {sorted(msg)[0]!r}")
            if "proxy" in msg:
                if proxy_sock is not None:
                    for fd in fds:
                        os.close(fd)
                    raise SandboxError("the sandbox sent a second proxy socket")
                # served once the program is released: its threads start off the set-up path
                # (a connection made before then waits in the listening socket's backlog)
                proxy_sock = socket.socket(fileno=fds[0])
            elif "program" in msg:
                if not sender or sender in (stage_pid, init_pid):
                    raise SandboxError("the sandbox's program message came from elsewhere")
                program_pid = sender
                if moving:
                    mover.add(program_pid)
            elif "ready" in msg:
                ready = True
            else:
                init_pid = int(msg["init"])
                if into and msg.get("in_cgroup"):
                    stamp("supervisor: init was forked into the cgroup")
                elif into:
                    # the kernel refused the fork into the cgroup: moves, as without launcher
                    assert cgroup is not None
                    into, moving = False, True
                    mover.start()
                    mover.begin(cgroup, stage_pid)
                    if program_pid:
                        mover.add(program_pid)
                if moving:
                    mover.add(init_pid)
                # the run exists from here on: registered, and its start recorded durably
                # (before the program can run), while the cgroup moves complete
                _register(spec, init_pid, cgroup)
                if audit is not None:  # (redacting the argv imports the secret scanners)
                    recorder.durable({
                        "type": "run", "v": 1, "event": "start",
                        "argv": _redacted_argv(spec.argv),
                        "workspace": _printable(spec.workspace),
                        "policy": spec.policy_digest, "weaker": weaker,
                        "egress": list(spec.egress), "uid": ident.to_record(),
                    })  # fmt: skip
                stamp("supervisor: registered, start recorded")
        if program_pid == init_pid:
            raise SandboxError("the sandbox's program message came from elsewhere")
        mover.finish()  # init and the program are in the cgroup: the program may run
        if into:  # born there: checked, not trusted
            assert cgroup is not None
            if not {init_pid, program_pid} <= set(cgroup.pids()):
                raise SandboxError("init and the program are not in the session's cgroup")
        stamp("supervisor: moves finished")
        os.waitpid(stage_pid, 0)  # only now: its pid must not be reused while the mover runs
        git_before = git_snapshot.result()
        stamp("supervisor: stage reaped, git snapshot")
        send_message(parent_sock, {"go": True, "cgroup": cgroup is not None})
        stamp("supervisor: sent 'go'")
        early: list[tuple[dict[str, Any], list[int]]] = []
        monitor = _ExecMonitor(spec, recorder, engine, _killer(cgroup, init_pid))
        running = monitor
        recorder.on_failure = lambda _reason: monitor.kill()
        # first the thread that answers the program's exec (which waits for it), then the rest
        errors = _Channel(parent_sock, monitor.watch, early)
        monitor.load_engine()
        proxy.serve(proxy_sock)  # the proxy owns the socket from here on
        proxy_sock = None
        if on_ready is not None:
            on_ready(init_pid)
        status = wait_exit(init_pid, wake)
        stamp("supervisor: init reaped")
        if spec.create_protected:
            # init's exit ended its pid namespace, so nothing is left that the placeholders
            # protect against; removing them waits on the file system's journal (a few ms
            # each while a commit is under way), so it overlaps the rest of the clean-up
            placeholders = _Task(_cleanup_created, spec)
        code = os.waitstatus_to_exitcode(status)
        result.exit_code = 128 - code if code < 0 else code
        monitor.close()  # the tree is gone: no exec is left to record
        errors.join()
        stamp("supervisor: channel closed")
        result.setup_error = errors.error or recorder.failure
        result.execs = monitor.count
        if monitor.killed:
            result.killed, result.kill_reason = True, monitor.killed
    except SandboxError:
        raise
    except (OSError, ValueError, KeyError, TimeoutError) as exc:
        raise SandboxError(f"sandbox set-up failed: {exc}") from exc
    finally:
        with contextlib.suppress(CgroupError):
            mover.finish()  # before the cgroup goes and before the stage is reaped
        _restore(old_handlers)
        if unwake is not None:
            unwake()
        if cgroup is not None:
            if not cgroup.empty():  # after a normal end init's exit already killed the rest
                stamp("clean-up: cgroup not empty")
                with contextlib.suppress(CgroupError):
                    cgroup.kill()
            stamp("clean-up: cgroup empty")
            cgroup.remove()
            stamp("clean-up: cgroup removed")
        elif init_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(init_pid, signal.SIGKILL)
        os.close(alive_w)
        for fd in mapping.values():
            os.close(fd)
        _reap(stage_pid, init_pid)
        proxy.close()
        if proxy_sock is not None:  # received, never served: the run stopped before "go"
            proxy_sock.close()
        stamp("clean-up: proxy closed")
        parent_sock.close()
        from warden.contain import sessions

        # while the placeholders' removal waits on the file system's journal
        sessions.unregister(spec.session)
        stamp("clean-up: unregistered")
        if git_before is not None:  # else the program never ran
            result.tripwires = git_config_changes(git_before, spec.workspace)
        if placeholders is None:
            _cleanup_created(spec)
        else:
            placeholders.result()
        stamp("clean-up: created directories removed")
        result.duration = time.monotonic() - started
        result.egress_allowed, result.egress_denied = recorder.allowed, recorder.denied
        with contextlib.suppress(WardenError):
            recorder.durable({
                "type": "run", "v": 1, "event": "end", "exit": result.exit_code,
                "duration": round(result.duration, 3), "setup_error": result.setup_error,
                "egress_allowed": recorder.allowed, "egress_denied": recorder.denied,
                "execs": result.execs, "killed": result.kill_reason,
                "tripwires": result.tripwires,
            })  # fmt: skip
        if running is not None:
            running.stop_engine()  # last: a build under way overlaps the clean-up above
        stamp("clean-up: done")
        timeline_end()
    if result.setup_error and result.exit_code in (EXIT_SETUP,):
        raise SandboxError(result.setup_error)
    return result


def _plan_run(
    spec: SandboxSpec, ident: Identity | None = None
) -> tuple[int, bytes, Identity, list[str]]:
    """What the stage's plan needs (each failure a :class:`SandboxError`): the Landlock ABI,
    the seccomp program, the program's identity (unless planned already: ``ident``), and what
    is weaker than asked so far."""
    from warden.contain import landlock, seccomp
    from warden.contain.stage import seccomp_profile

    landlock_abi = landlock.abi_version()
    if landlock_abi < 1:
        raise SandboxError(
            "this kernel has no Landlock (needs Linux 5.13+ with CONFIG_SECURITY_LANDLOCK "
            "and lsm=landlock); see `warden doctor`"
        )
    seccomp_program = seccomp.build_filter(seccomp_profile(spec))
    ns.last_capability()  # read once here, inherited by the forks
    stamp("supervisor: landlock abi, seccomp filter")
    weaker: list[str] = []
    if ident is None:
        ident = _plan_identity(spec)
    if not ident.own and os.geteuid() == 0:
        # root could have given the program a uid of its own: it keeps root's (as before)
        weaker.append(f"the program keeps the caller's uid {ident.uid} ({ident.why_not})")
    return landlock_abi, seccomp_program, ident, weaker


def _egress_policy(spec: SandboxSpec, net_deny: tuple[str, ...]) -> EgressPolicy:
    from warden.contain.egress import EgressPolicy

    try:
        return EgressPolicy.from_patterns(spec.egress, net_deny)
    except PolicyError as exc:
        raise SandboxError(
            f"the egress proxy cannot enforce the policy's host lists: {exc}"
        ) from exc


def _plan_identity(spec: SandboxSpec) -> Identity:
    """The program's identity (``identity.plan``); a failure is a :class:`SandboxError`."""
    from warden.contain import identity

    try:
        ident = identity.plan(spec)
    except OSError as exc:  # a granted path vanished, /proc unreadable: do not guess
        raise SandboxError(f"could not decide the program's uid: {exc}") from exc
    stamp("supervisor: identity planned")
    return ident


def _spawn_launcher(launcher: str, child_sock: socket.socket, alive_r: int) -> Spawned:
    """Start the native launcher (it waits for its plan); a failure is a SandboxError."""
    from warden.contain import launch

    try:
        return launch.spawn(launcher, sock=child_sock.fileno(), lifeline=alive_r,
                            timeline=timeline_fd())  # fmt: skip
    except OSError as exc:
        raise SandboxError(f"could not start the sandbox: {exc}") from exc


def _cgroup_dir(cgroup: Cgroup) -> int:
    """The session's cgroup directory, for the launcher to fork init into (``into_cgroup``)."""
    return os.open(cgroup.path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def _abandon(stage_pid: int) -> None:
    """End a stage whose run failed before it was given its plan, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(stage_pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(stage_pid, 0)


def _fork_stage() -> int:
    """``os.fork()`` for the Python stage. No garbage collection in the stage, init and the
    program (they inherit it disabled): a collection there walks every object inherited from
    this process, and each page it touches is copied (copy-on-write); they allocate little
    and init's loop makes no cycles."""
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        pid = os.fork()
    except BaseException:
        if gc_enabled:
            gc.enable()
        raise
    if pid and gc_enabled:
        gc.enable()
    return pid


def _start_thread(target: Callable[[], object], name: str) -> threading.Thread:
    """A started daemon thread, created beside this one (``ns.on_this_cpu``: here
    ``Thread.start()``, which waits for the new thread's first run, returns in 0.25 ms instead
    of 3.5 ms), which then gets back every CPU this one may use."""

    def run() -> None:
        ns.restore_cpus(cpus)
        target()

    with ns.on_this_cpu() as cpus:
        thread = threading.Thread(target=run, daemon=True, name=name)
        thread.start()
    return thread


class _Channel(threading.Thread):
    """Reads the set-up channel until every holder closed it (the exec succeeded): errors,
    and the program's exec-notification listener, which it then serves (``on_listener``
    returns when the tree is gone) before reading on."""

    def __init__(
        self,
        sock: socket.socket,
        on_listener: Callable[[int], None],
        early: list[tuple[dict[str, Any], list[int]]],
    ) -> None:
        super().__init__(daemon=True, name="warden-setup")
        self._cpus: frozenset[int] | None = None
        self.sock = sock
        self.on_listener = on_listener
        self.early = early
        self.error: str | None = None
        self.sock.settimeout(None)
        with ns.on_this_cpu() as self._cpus:  # see _start_thread
            self.start()

    def run(self) -> None:
        ns.restore_cpus(self._cpus)
        for kept, kept_fds in self.early:
            self._handle(kept, kept_fds)
        with contextlib.suppress(OSError, ValueError):
            while True:
                msg, fds = recv_message(self.sock)
                if msg is None:
                    return
                self._handle(msg, fds)

    def _handle(self, msg: dict[str, Any], fds: list[int]) -> None:
        if "error" in msg:
            self.error = str(msg["error"])
        elif msg.get("exec_listener") and fds:
            self.on_listener(fds[0])
            fds = fds[1:]
        for fd in fds:
            os.close(fd)


class _Task(threading.Thread):
    """``fn(*args)`` in a thread; :meth:`result` waits for it and returns (or raises) it."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__(daemon=True, name="warden-task")
        self._cpus: frozenset[int] | None = None
        self._call = (fn, args)
        self._value: Any = None
        self._error: BaseException | None = None
        with ns.on_this_cpu() as self._cpus:  # see _start_thread
            self.start()

    def run(self) -> None:
        ns.restore_cpus(self._cpus)
        fn, args = self._call
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


class _Mover:
    """Moves the sandbox's processes into the session's cgroup from a thread, each as soon as
    its pid is known: the stage at once, then init, then the program (which waits for "go"
    until both are in).

    The first move of a run waits for an RCU grace period (``Cgroup.add``: 4 to 13 ms here).
    The thread starts first thing in ``run_contained`` with a move that changes nothing
    (``cgroup.start_grace_period``), so that wait runs while the supervisor plans the run and
    starts the stage; moving the stage (which may have exited by then: its pid is not reaped
    before :meth:`finish`, so it cannot be reused) is not needed for containment either (init
    is the ancestor of the whole program tree) and keeps the later moves cheap. Init and the
    program must be there.
    """

    def __init__(self) -> None:
        self.error: CgroupError | None = None
        self._done = False
        self._cgroup: Cgroup | None = None
        self._warm = True
        self._pids: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self, *, warm: bool = True) -> None:
        """The thread, which starts the grace period (``warm``) and then waits for
        :meth:`begin`."""
        self._warm = warm
        self._thread = _start_thread(self._run, "warden-cgroup")

    def begin(self, cgroup: Cgroup, stage_pid: int) -> None:
        """Move the stage, then each pid :meth:`add` gives (started here if not before)."""
        self._cgroup = cgroup  # (read by the thread after it takes the pid from the queue)
        if self._thread is None:
            self.start(warm=False)
        self._pids.put(stage_pid)

    def add(self, pid: int) -> None:
        self._pids.put(pid)

    def _run(self) -> None:
        from warden.contain.cgroup import start_grace_period

        try:
            if self._warm:
                stamp("mover: started")
                start_grace_period()
                stamp("mover: grace period over")
            stage_pid = self._pids.get()
            if stage_pid is None or self._cgroup is None:  # no cgroup for this run
                self._done = True
                return
            cgroup = self._cgroup
            with contextlib.suppress(CgroupError):  # the stage: only to keep later moves cheap
                cgroup.add(stage_pid)
            stamp("mover: stage moved")
            n = 0
            while (pid := self._pids.get()) is not None:
                n += 1
                stamp(f"mover: move {n} begins")
                try:
                    cgroup.add(pid)
                    stamp(f"mover: move {n} done")
                except CgroupError as exc:
                    self.error = self.error or exc
        except BaseException as exc:  # anything else must stop the run too, never pass as moved
            self.error = self.error or CgroupError(f"moving processes into the cgroup failed: "
                                                   f"{type(exc).__name__}: {exc}")
            return
        self._done = True

    def finish(self) -> None:
        """Wait for every move; raise what failed (a cgroup that refuses members stops the run,
        and so does a mover that did not get to the end of its list)."""
        if self._thread is not None:
            self._pids.put(None)
            self._pids.put(None)  # (a second: the thread may still wait for the stage's pid)
            self._thread.join()
            self._thread = None
            if self.error is None and not self._done:
                self.error = CgroupError("the cgroup mover ended before moving every process")
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _killer(cgroup: Cgroup | None, init_pid: int) -> Callable[[], None]:
    def kill() -> None:
        if cgroup is not None:
            with contextlib.suppress(CgroupError):
                cgroup.kill(wait=0)
        with contextlib.suppress(ProcessLookupError):
            os.kill(init_pid, signal.SIGKILL)

    return kill


def _expect(
    sock: socket.socket,
    key: str | tuple[str, ...],
    early: list[tuple[dict[str, Any], list[int]]] | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """The next set-up message, which must carry ``key`` (one of them, for a tuple). With
    ``early``, messages that the program's side may send before it (its exec listener:
    processes race) are kept there."""
    msg, fds, _pid = _expect_from(sock, key, early)
    return msg, fds


def _expect_from(
    sock: socket.socket,
    key: str | tuple[str, ...],
    early: list[tuple[dict[str, Any], list[int]]] | None = None,
) -> tuple[dict[str, Any], list[int], int | None]:
    """:func:`_expect`, plus the sender's pid (``SO_PASSCRED``; None without it)."""
    keys = (key,) if isinstance(key, str) else key
    what = " or ".join(keys)
    while True:
        try:
            msg, fds, pid = recv_message_from(sock)
        except TimeoutError as exc:
            raise SandboxError(
                f"the sandbox did not answer ({what}) within {SETUP_TIMEOUT_S}s"
            ) from exc
        if early is not None and msg is not None and msg.get("exec_listener"):
            early.append((msg, fds))
            continue
        break
    if msg is None:
        raise SandboxError(f"the sandbox ended during set-up (waiting for {what})")
    if "error" in msg:
        raise SandboxError(f"sandbox set-up failed at {msg['error']}")
    if not any(k in msg for k in keys) or ("proxy" in msg and not fds):
        raise SandboxError(f"unexpected message from the sandbox: {sorted(msg)}")
    return msg, fds, pid


def _with_env(spec: SandboxSpec, env: dict[str, str]) -> SandboxSpec:
    import dataclasses

    return dataclasses.replace(spec, env=env)


def _ignore_terminal_signals() -> dict[int, Any]:
    """^C and ^\\ belong to the program in the foreground; SIGTERM/SIGHUP end the whole tree."""
    old: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return old
    for sig in (signal.SIGINT, signal.SIGQUIT):
        old[sig] = signal.signal(sig, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        old[sig] = signal.signal(sig, _terminate)
    return old


def _terminate(signum: int, frame: object) -> None:
    raise SandboxError(f"warden run received signal {signum}: the contained tree was killed")


def _restore(old: dict[int, Any]) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)


def _reap(*pids: int) -> None:
    for pid in pids:
        if pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _register(spec: SandboxSpec, init_pid: int, cgroup: Cgroup | None) -> None:
    from warden.contain import sessions

    me = os.getpid()
    sessions.register(sessions.RunInfo(
        session=spec.session, supervisor=me, init=init_pid,
        cgroup=cgroup.path if cgroup else None, argv=list(spec.argv),
        workspace=spec.workspace, started=time.time(), ticks=sessions.start_ticks(me) or 0,
        cgroups_v1=tuple(cgroup.v1) if cgroup else (),
    ))  # fmt: skip


def _cleanup_created(spec: SandboxSpec) -> None:
    for path in spec.create_protected:
        with contextlib.suppress(OSError):
            os.rmdir(path)
