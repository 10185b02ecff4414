"""The child side of ``warden run``: from a forked copy of the supervisor to the contained exec.

Three processes, each doing only what must happen there (the supervisor is the parent side,
``supervisor.py``)::

    supervisor (outside; serves the proxy, writes the audit log, owns the cgroup)
    └── stage      unshare(user, net, mount, ipc, uts), uid/gid maps (written by the
        │          supervisor; with them, when warden is root, the idmapped trees, and the
        │          stage takes uid/gid 0 of the namespace: the program's own host uid,
        │          ``identity.py``), unshare(pid), fork; then lo up, proxy socket created
        │          here and sent to the supervisor, exit (its child is re-parented to the
        │          supervisor, a child subreaper)
        └── init   pid 1 of the new pid namespace: forks the program, then makes the private
            │      mounts (the idmapped trees first, then /proc, /dev, /tmp, /run, hidden and
            │      read-only paths) and tells it;
            │      reaps orphans; exits with the program's status, which ends the namespace
            │      and SIGKILLs every process left in it (double-forked and setsid'd ones
            │      included); also exits when the supervisor dies, so nothing runs unwatched
            └── program: says it exists (the supervisor starts moving it into the
                         cgroup), waits for the mounts, builds its Landlock rules, rlimits,
                         "ready", waits for "go" (it and init are in the cgroup),
                         unshare(cgroup), capabilities dropped, Landlock, seccomp (its exec
                         notification listener is sent to the supervisor), exec

Start-up is dominated by forks of a Python process (the parent copies the page tables of
~12 MB of heap, 1.5 ms of kernel time here, and both sides then take copy-on-write faults:
about 1,800 per run in the three children) and by the first cgroup move (an RCU grace period,
``Cgroup.add``). So work overlaps where the namespaces allow (init mounts while the stage sets
up the network and while the program's fork completes), nothing waits for the cgroup until
the last moment (the supervisor moves the stage as soon as it exists, which starts that grace
period), and only the program, before anything of its own runs, waits for its move ("go").
The supervisor learns the program's global pid from the kernel (``SO_PASSCRED`` on the set-up
socket: the pid of the sender of its first message).

Measured shortcuts (docs/containment.md, "Start-up: where the time goes"): the three children
never collect garbage (the supervisor forks with the collector disabled; a collection walks
every inherited object and copies each page it touches); the program empties its bounding set
while it waits for "go", leaving only securebits, ambient set, ``capset``, Landlock and seccomp
between "go" and the exec. (Forking beside the parent, ``ns.on_this_cpu``, was measured and
left out: the forks got slower on both sides.) ``WARDEN_TIMELINE=<file>`` makes every
process stamp its steps (:func:`stamp`; ``bench/bench_contain.py --timeline``).

Messages to the supervisor go over a SOCK_SEQPACKET socket pair as small JSON objects; any step
that fails sends ``{"error": ...}`` and exits with :data:`EXIT_SETUP`, so the supervisor can say
what went wrong instead of running the program with less protection than asked.
"""

from __future__ import annotations

import array
import contextlib
import errno
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
from typing import Any, NoReturn

from warden.contain import ns
from warden.contain.spec import SandboxSpec

__all__ = [
    "EXIT_SETUP",
    "recv_message",
    "recv_message_from",
    "send_message",
    "stage_main",
    "stamp",
    "timeline_begin",
    "timeline_end",
    "timeline_fd",
    "write_id_maps",
]

#: Exit status when the sandbox could not be set up (the program never ran).
EXIT_SETUP = 125
#: Exit status when the program could not be executed (not found, not permitted).
EXIT_EXEC = 127

_MAX_MESSAGE = 65536
#: The device nodes bound into the sandbox's fresh /dev (like a container's minimal /dev).
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
#: Upper bound for closing inherited descriptors (os.closerange uses close_range(2), so the
#: size of the range costs nothing).
MAX_FD = 1 << 30
#: The proxy's port inside the sandbox's own network namespace (nothing else listens there).
PROXY_PORT = 3128


#: ``WARDEN_TIMELINE=<file>``: each process of a run (supervisor, stage, init, program) appends
#: ``<step> <CLOCK_MONOTONIC ns>`` lines to the file, for the start-up timeline
#: (``bench/bench_contain.py --timeline``). Unset, a stamp costs one comparison.
_timeline_fd = -1


def timeline_begin() -> None:
    """Open the timeline file named by ``WARDEN_TIMELINE`` (if any), inherited by the forks
    (close-on-exec: the program never sees it; its last stamp is written before the exec)."""
    global _timeline_fd
    path = os.environ.get("WARDEN_TIMELINE")
    if path and _timeline_fd < 0:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        _timeline_fd = os.open(path, flags, 0o600)


def timeline_end() -> None:
    global _timeline_fd
    if _timeline_fd >= 0:
        fd, _timeline_fd = _timeline_fd, -1
        os.close(fd)


def timeline_fd() -> int:
    """The open timeline file (handed to the native launcher), or -1."""
    return _timeline_fd


def stamp(step: str) -> None:
    """A timeline line for ``step`` (nothing unless :func:`timeline_begin` opened a file)."""
    if _timeline_fd >= 0:
        os.write(_timeline_fd, f"{step} {time.monotonic_ns()}\n".encode())


def send_message(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(msg).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def recv_message(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and any file descriptors; ``(None, [])`` at end of stream."""
    msg, fds, _pid = recv_message_from(sock)
    return msg, fds


#: struct ucred (pid, uid, gid), in an SCM_CREDENTIALS message
_UCRED = struct.Struct("iII")
#: descriptors one message may carry: the idmapped trees of a run (identity.MAX_TREES)
_MAX_FDS = 32
_ANCILLARY = socket.CMSG_SPACE(_MAX_FDS * 4) + socket.CMSG_SPACE(_UCRED.size)


def recv_message_from(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int], int | None]:
    """Like :func:`recv_message`, plus the sender's pid when ``sock`` has ``SO_PASSCRED``.

    The kernel fills in that pid (translated into the receiver's pid namespace), so the
    supervisor learns the global pid of a process that sees itself as pid 2.
    """
    data, ancillary, flags, _addr = sock.recvmsg(_MAX_MESSAGE, _ANCILLARY)
    fds: list[int] = []
    pid: int | None = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += array.array("i", payload[: len(payload) - len(payload) % 4]).tolist()
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = _UCRED.unpack_from(payload)[0]
    if flags & socket.MSG_CTRUNC:
        for fd in fds:
            os.close(fd)
        raise ValueError("a message from the sandbox carried more than it may")
    if not data:
        return None, fds, pid
    msg = json.loads(data)
    if not isinstance(msg, dict):
        raise ValueError("malformed message from the sandbox")
    return msg, fds, pid


def _fail(sock: socket.socket, step: str, exc: BaseException, code: int = EXIT_SETUP) -> NoReturn:
    with contextlib.suppress(OSError):
        send_message(sock, {"error": f"{step}: {exc}", "step": step})
    os._exit(code)


def _write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def write_id_maps(pid: int, uid: int, gid: int, *, own: tuple[int, int] | None = None) -> None:
    """Map ids of ``pid``'s new user namespace; written by the parent (only a process in the
    parent namespace may map more than its own id). ``own``: the program's own host uid/gid,
    which uid/gid 0 inside maps onto (and nothing else: every other host id is unmapped)."""
    if own is not None:
        # setgroups stays allowed: the stage must drop root's supplementary groups itself
        _write_file(f"/proc/{pid}/uid_map", f"0 {own[0]} 1\n")
        _write_file(f"/proc/{pid}/gid_map", f"0 {own[1]} 1\n")
    elif uid == 0:
        # root maps every id, so files of any owner keep their owner inside; capabilities are
        # dropped before exec (ns.drop_capabilities), so uid 0 inside is no longer privileged
        _write_file(f"/proc/{pid}/uid_map", "0 0 4294967295\n")
        _write_file(f"/proc/{pid}/gid_map", "0 0 4294967295\n")
    else:
        _write_file(f"/proc/{pid}/setgroups", "deny")
        _write_file(f"/proc/{pid}/uid_map", f"{uid} {uid} 1\n")
        _write_file(f"/proc/{pid}/gid_map", f"{gid} {gid} 1\n")


def stage_main(
    spec: SandboxSpec, sock: socket.socket, alive_r: int, seccomp_program: bytes, nproc: int = 0
) -> NoReturn:
    """Run in the forked child; never returns. ``seccomp_program`` was built by the parent;
    ``nproc``: the tree's task limit as ``RLIMIT_NPROC`` (0: none; only with a uid of its own),
    which the supervisor sets on this process when it has made its user namespace."""
    step = "namespaces"
    try:
        stamp("stage: forked")
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # the other namespaces with it (owned by it), made while the supervisor plans
        ns.unshare(ns.CLONE_NEWUSER | ns.WITH_USERNS)
        stamp("stage: unshare(user)")
        send_message(sock, {"userns": True})
        msg, fds = recv_message(sock)
        stamp("stage: mapped received")
        if not msg or not msg.get("mapped") or len(fds) != len(msg.get("trees", ())):
            os._exit(EXIT_SETUP)
        trees = list(zip(msg.get("trees", ()), fds, strict=True))
        if nproc and not msg.get("own"):
            os._exit(EXIT_SETUP)  # the kernel exempts host root: the limit would not hold
        if nproc and resource.getrlimit(resource.RLIMIT_NPROC) != (nproc, nproc):
            step = "limits"
            raise RuntimeError("RLIMIT_NPROC is not the plan's")
        if msg.get("own"):
            step = "own uid"
            # from host root to the program's own uid (0 here); no host group is kept
            os.setgroups([])
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
            step = "namespaces"
        ns.unshare(ns.CLONE_NEWPID)
        stamp("stage: unshare(pid)")
        # init is forked at once and mounts while this process sets up the network (the
        # namespaces are shared); the supervisor moves it into the cgroup meanwhile
        step = "fork init"
        pid = os.fork()
        if pid == 0:
            _init_main(spec, sock, alive_r, seccomp_program, trees)
        stamp("stage: fork init returned")
        for _path, fd in trees:
            os.close(fd)
        send_message(sock, {"init": pid})
        step = "network"
        ns.loopback_up()
        with contextlib.suppress(OSError):
            ns.sethostname("warden-sandbox")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", PROXY_PORT))
        listener.listen(1024)
        send_message(sock, {"proxy": PROXY_PORT}, [listener.fileno()])
        stamp("stage: proxy socket sent")
    except Exception as exc:
        _fail(sock, step, exc)
    os._exit(0)


# ---- pid 1 ------------------------------------------------------------------------------------


def _mount_dev() -> None:
    keep = {name: os.open(f"/dev/{name}", os.O_PATH | os.O_CLOEXEC) for name in DEVICES
            if os.path.exists(f"/dev/{name}")}  # fmt: skip
    ns.mount("tmpfs", "/dev", "tmpfs", ns.MS_NOSUID | ns.MS_NOEXEC, "mode=755,size=1m")
    for name, fd in keep.items():
        target = f"/dev/{name}"
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666))
        ns.mount(f"/proc/self/fd/{fd}", target, None, ns.MS_BIND)
        os.close(fd)
    os.mkdir("/dev/pts", 0o755)
    with contextlib.suppress(OSError):  # a pty for programs that make one (script, pexpect)
        ns.mount("devpts", "/dev/pts", "devpts", ns.MS_NOSUID | ns.MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=620")  # fmt: skip
        os.symlink("pts/ptmx", "/dev/ptmx")
    os.mkdir("/dev/shm", 0o1777)
    ns.mount("tmpfs", "/dev/shm", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"/dev/{name}")


def _rebind_under(tmp: str, keep: dict[str, int]) -> None:
    """After a tmpfs covers ``tmp``, bind back the granted paths that lived beneath it."""
    for path, fd in keep.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        ns.mount(f"/proc/self/fd/{fd}", path, None, ns.MS_BIND | ns.MS_REC)
        os.close(fd)


def _mounts(spec: SandboxSpec, trees: list[tuple[str, int]]) -> None:
    ns.mount(None, "/", None, ns.MS_REC | ns.MS_PRIVATE)
    # first, so that the paths beneath them (bound back under /tmp, hidden, protected) are
    # reached through them; parents before children (the supervisor's order)
    for path, fd in trees:
        ns.attach_tree(fd, path)
        os.close(fd)
    granted = [*spec.write, *spec.read]
    for path in spec.create_protected:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o755)
    private = {"/tmp": "mode=1777", "/run": "mode=755"}
    keep: dict[str, dict[str, int]] = {d: {} for d in private}
    for path in granted:
        for d in private:
            if path.startswith(d + "/"):
                keep[d][path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
    ns.mount("proc", "/proc", "proc", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    _mount_dev()
    for d, opts in private.items():
        ns.mount("tmpfs", d, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, opts)
        _rebind_under(d, keep[d])
    empty_file = "/run/.warden-hidden"
    os.close(os.open(empty_file, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o000))
    for path in spec.hide:
        if os.path.isdir(path) and not os.path.islink(path):
            ns.mount("tmpfs", path, "tmpfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC
                     | ns.MS_RDONLY, "mode=000,size=4k")  # fmt: skip
        elif os.path.lexists(path):
            ns.bind_readonly(path, empty_file)
    for path in pinned_ancestors(spec):
        ns.mount(path, path, None, ns.MS_BIND | ns.MS_REC)
    for path in spec.protect:
        if os.path.lexists(path) and not os.path.islink(path):
            ns.bind_readonly(path)


def pinned_ancestors(spec: SandboxSpec) -> list[str]:
    """Directories between a writable root and a protected path, outermost first.

    A read-only bind mount pins only its own path: the program could rename a parent
    (``mv .git .git.old``), make a fresh ``.git/hooks`` and write a hook. A bind mount of each
    such parent onto itself makes it a mount point, which ``rename`` and ``rmdir`` refuse
    (EBUSY); its contents stay writable. (The cost: a ``rename`` from outside into such a
    directory fails with EXDEV, which git and editors handle by copying.)
    """
    return [d for d in ancestor_candidates(spec) if os.path.isdir(d) and not os.path.islink(d)]


def ancestor_candidates(spec: SandboxSpec) -> list[str]:
    """:func:`pinned_ancestors` before the check that each is a directory (made where the
    mounts are, in the sandbox's view: the native launcher gets this list)."""
    roots = [w.rstrip("/") for w in spec.write]
    out: list[str] = []
    for path in spec.protect:
        root = max((r for r in roots if path.startswith(r + "/")), key=len, default=None)
        if root is None:
            continue
        parent = os.path.dirname(path)
        chain: list[str] = []
        while parent != root and parent.startswith(root + "/"):
            chain.append(parent)
            parent = os.path.dirname(parent)
        out += reversed(chain)
    return list(dict.fromkeys(out))


def _init_main(
    spec: SandboxSpec,
    sock: socket.socket,
    alive_r: int,
    seccomp_program: bytes,
    trees: list[tuple[str, int]],
) -> NoReturn:
    try:
        stamp("init: forked")
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's ^C is the program's
        signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        rd, wr = os.pipe()  # SIGCHLD -> readable, so one select() waits for children and death
        os.set_blocking(wr, False)
        signal.set_wakeup_fd(wr)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        mounted_r, mounted_w = os.pipe()
        # forked before the mounts, which it waits for: its start-up overlaps them (it shares
        # this mount namespace)
        child = os.fork()
    except Exception as exc:
        _fail(sock, "fork", exc)
    if child == 0:
        for fd in (rd, wr, alive_r, mounted_w, *(fd for _path, fd in trees)):
            os.close(fd)
        _program_main(spec, sock, seccomp_program, mounted_r)
    stamp("init: fork program returned")
    os.close(mounted_r)
    try:
        _mounts(spec, trees)
    except Exception as exc:
        _fail(sock, "mounts", exc)  # init's exit ends the namespace: the program with it
    stamp("init: mounts done")
    os.write(mounted_w, b"m")
    os.close(mounted_w)
    sock.close()
    status = 0
    while True:
        ready, _, _ = select.select([rd, alive_r], [], [])
        if alive_r in ready:  # the supervisor is gone: end the namespace (kills everything)
            os._exit(EXIT_SETUP)
        with contextlib.suppress(BlockingIOError):
            os.read(rd, 4096)
        while True:
            try:
                pid, wstatus = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                os._exit(status)
            if pid == 0:
                break
            if pid == child:
                stamp("init: program reaped")
                code = os.waitstatus_to_exitcode(wstatus)
                status = 128 - code if code < 0 else code
                stamp("init: exit")
                os._exit(status)


# ---- the program ------------------------------------------------------------------------------


def _program_main(
    spec: SandboxSpec, sock: socket.socket, seccomp_program: bytes, mounted_r: int
) -> NoReturn:
    from warden.contain import landlock, seccomp

    stamp("program: forked")
    # what Python ignores at start-up (SIGPIPE, SIGXFSZ) is not ignored by the program, nor
    # are the C library's signals, which a posix_spawn that started warden may have left so
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    ns.default_internal_signals()
    signal.set_wakeup_fd(-1)
    step = "program"
    try:
        send_message(sock, {"program": True})  # its pid, from the kernel: the move starts now
        stamp("program: sent 'program'")
        if os.read(mounted_r, 1) != b"m":  # init failed (and is ending the namespace)
            os._exit(EXIT_SETUP)
        stamp("program: mounts seen")
        os.close(mounted_r)
        step = "landlock rules"
        # the rules name inodes: built after the mounts, in the program's view; enforced
        # below in two syscalls
        ruleset = landlock.prepare(landlock_spec(spec))
        stamp("program: landlock prepared")
        step = "limits"
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if spec.cpu_seconds:
            resource.setrlimit(resource.RLIMIT_CPU, (spec.cpu_seconds, spec.cpu_seconds))
        os.chdir(spec.cwd)
        step = "capabilities"
        # the bounding set now (it keeps the effective set: unshare(cgroup) below needs it),
        # the rest after "go": fewer steps between "go" and the exec
        ns.drop_bounding_set()
        # the supervisor says go once it has moved this process (and init) into the cgroup
        send_message(sock, {"ready": True})
        stamp("program: sent 'ready'")
    except Exception as exc:
        _fail(sock, step, exc)
    msg, _ = recv_message(sock)
    stamp("program: go received")
    if not msg or not msg.get("go"):
        os._exit(EXIT_SETUP)
    try:
        step = "cgroup namespace"
        if msg.get("cgroup"):
            ns.unshare(ns.CLONE_NEWCGROUP)  # rooted at the session's cgroup, where we now are
        stamp("program: unshare(cgroup)")
        step = "capabilities"
        ns.drop_capabilities(bounding=False)
        stamp("program: capabilities dropped")
        step = "landlock"
        ruleset.enforce()
        stamp("program: landlock enforced")
        step = "seccomp"
        listener = seccomp.install(seccomp_profile(spec), program=seccomp_program)
        stamp("program: seccomp loaded")
        if listener is not None:
            # the supervisor records (and may stop) every exec from here on, this one included
            send_message(sock, {"exec_listener": True}, [listener])
            os.close(listener)
            stamp("program: listener sent")
    except Exception as exc:
        _fail(sock, step, exc)
    env = dict(spec.env)
    # Descriptors inherited from whoever started warden (a terminal multiplexer's pipes, an
    # editor's sockets, a directory fd) would reach past Landlock, which only governs opens:
    # the program gets 0, 1 and 2. The set-up socket is close-on-exec and stays until then so
    # an exec failure can still be reported.
    keep = sock.fileno()
    stamp("program: execve")
    os.closerange(3, keep)
    os.closerange(keep + 1, MAX_FD)
    try:
        _execvpe(spec.argv[0], list(spec.argv), env)
    except OSError as exc:
        _fail(sock, "exec", exc, EXIT_EXEC)
    sys.exit(EXIT_EXEC)  # pragma: no cover - execvpe does not return


def _execvpe(file: str, argv: list[str], env: dict[str, str]) -> None:
    """``os.execvpe``, without the ``execve`` calls that are bound to fail for want of a file.

    ``os.execvpe`` tries ``execve`` in each directory of ``PATH`` in turn; under seccomp's
    ``notify_exec`` every try is a round trip to the supervisor, which records it and, from the
    second on, judges it with the check engine, waiting for that to be built (about 70 ms at
    the start of a run, measured: ``warden run -- true`` with ``true`` in the ninth directory
    of ``PATH``). A candidate that ``stat`` says is missing (``ENOENT``, ``ENOTDIR``: the
    errors its ``execve`` would fail with, by the same path walk) is skipped, with that error
    kept as ``os.execvpe`` keeps it; every other candidate is tried, in the same order, with
    the same errors, so what runs and what is reported are unchanged. (``stat`` is not
    limited by Landlock, which has no say over a missing file either.)
    """
    if os.path.dirname(file):
        os.execve(file, argv, env)
    saved: OSError | None = None
    last: OSError | None = None
    name = os.fsencode(file)
    for directory in os.get_exec_path(env):
        path = os.path.join(os.fsencode(directory), name)
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            last = exc
            continue
        except OSError:
            pass  # execve reports its own error
        try:
            os.execve(path, argv, env)
        except (FileNotFoundError, NotADirectoryError) as exc:
            last = exc
        except OSError as exc:
            last = exc
            if saved is None:
                saved = exc
    if saved is not None:
        raise saved
    raise last or FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), file)


def seccomp_profile(spec: SandboxSpec) -> Any:
    from warden.contain import seccomp

    return seccomp.SeccompProfile(allow_unix_sockets=spec.unix_sockets,
                                  notify_exec=spec.record_exec)


def landlock_spec(spec: SandboxSpec) -> Any:
    """The Landlock rules for ``spec``: read the read paths, write the workspace and the rest.

    TCP is not restricted by Landlock: the private network namespace already leaves the proxy
    as the only reachable endpoint, and programs must still reach their own loopback servers.
    """
    from warden.contain import landlock

    return landlock.LandlockSpec(
        read=(*spec.read, "/proc"),
        write=(*spec.write, "/tmp", "/run", "/dev"),
        connect_tcp=None,
        bind_tcp=None,
    )
