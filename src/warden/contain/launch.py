"""The native launcher: ``warden-launch`` (``_launch.c``) runs the stage, init and program of
``warden run`` from a plan built here, started with ``posix_spawn``.

Why: the Python stage is a fork of the supervisor, and each of its three processes copies the
page tables of a ~20 MB interpreter and then takes copy-on-write faults on both sides
(docs/containment.md, "Start-up: where the time goes"); ``posix_spawn`` (a vfork) copies
nothing, and the launcher's own processes are a few hundred kilobytes. Every decision stays
here: :func:`encode_plan` writes what the launcher does (namespace flags, the mounts, the
Landlock rules from :func:`warden.contain.landlock.plan`, the seccomp program's bytes, the
argv and environment) and the launcher only carries it out, in stage.py's order, exchanging
the same set-up messages with the supervisor. stage.py stays the fallback where the launcher
was not built (no C compiler at install time) and where ``WARDEN_LAUNCHER=python`` asks for it.

The plan is a sequence of netstrings (``<length>:<bytes>,``) in the fixed order of
``plan_read()`` in ``_launch.c``, starting with :data:`PLAN_MAGIC`; change both together and
bump the magic.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Sequence

from warden.contain import landlock, ns
from warden.contain.spec import SandboxSpec

__all__ = ["ENV", "EXECUTABLE", "PLAN_MAGIC", "Spawned", "encode_plan", "executable", "spawn"]

#: The launcher's file name, beside this module (built by setup.py's ``build_ext``).
EXECUTABLE = "warden-launch"
#: ``WARDEN_LAUNCHER=python``: the Python stage even where the launcher is built;
#: ``native``: the launcher, and an error where it is not built.
ENV = "WARDEN_LAUNCHER"
#: First field of every plan; ``_launch.c`` refuses any other.
PLAN_MAGIC = "warden-plan/3"
#: The namespaces the stage makes besides its user namespace: those of ``ns.WITH_USERNS`` in
#: the same system call, at once (:func:`spawn` passes them as the launcher's argument, before
#: it has a plan; the plan must agree), the pid namespace with init.
NAMESPACES = ns.WITH_USERNS | ns.CLONE_NEWPID
#: The launcher's descriptors (``_launch.c``): set-up socket, lifeline, plan, timeline. (The
#: session's cgroup directory, for a plan made ``into_cgroup``, comes with "mapped".)
_SOCK_FD, _LIFELINE_FD, _PLAN_FD, _TIMELINE_FD = 3, 4, 5, 6
#: Sources are moved at or above this before the spawn's dup2s, which then cannot collide.
_HIGH_FD = 10


class LauncherMissing(RuntimeError):
    """``WARDEN_LAUNCHER=native`` and no launcher was built."""


def executable() -> str | None:
    """The launcher to use, or None for the Python stage (see :data:`ENV`)."""
    choice = os.environ.get(ENV, "")
    if choice == "python":
        return None
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), EXECUTABLE)
    if os.access(path, os.X_OK):
        return path
    if choice == "native":
        raise LauncherMissing(
            f"{ENV}=native, but {path} was not built (reinstall warden with a C compiler)"
        )
    return None


def _field(data: bytes) -> bytes:
    return b"%d:%b," % (len(data), data)


def _number(value: int) -> bytes:
    return _field(b"%d" % value)


def _fields(values: Iterable[str], what: str) -> tuple[int, bytes]:
    """Each string as a field (file-system encoded, as ``os.fsencode``), and their number."""
    data = [v.encode("utf-8", "surrogateescape") for v in values]
    fields = b"".join([b"%d:%b," % (len(d), d) for d in data])
    if b"\0" in fields:  # (the framing itself has none)
        raise ValueError(f"{what} contains a NUL byte")
    return len(data), fields


def _string(value: str, what: str) -> bytes:
    return _fields([value], what)[1]


def _strings(values: Iterable[str], what: str) -> bytes:
    """A list: its length, then each string."""
    count, fields = _fields(values, what)
    return _number(count) + fields


def _environment(env: dict[str, str]) -> list[str]:
    out = []
    for name, value in env.items():
        if not name or "=" in name:
            raise ValueError(f"illegal environment variable name: {name!r}")
        out.append(f"{name}={value}")
    return out


def encode_plan(
    spec: SandboxSpec,
    *,
    trees: Sequence[str],
    seccomp_program: bytes,
    landlock_abi: int,
    last_capability: int,
    timeline: bool,
    into_cgroup: bool = False,
    nproc: int = 0,
) -> bytes:
    """The launcher's plan for ``spec``. ``trees``: where the idmapped trees the supervisor
    sends with "mapped" are attached, in order (empty unless the program gets its own uid).
    ``into_cgroup``: init is forked straight into the cgroup whose directory comes with
    "mapped" (after the idmapped trees).
    ``nproc``: the tree's task limit as ``RLIMIT_NPROC`` (0: none), only for a program with a uid
    of its own (the stage refuses it otherwise).
    Raises ValueError for what no exec could carry (a NUL byte, an ``=`` in a variable's name).
    """
    from warden.contain import stage

    rules = landlock.plan(stage.landlock_spec(spec), landlock_abi)
    return b"".join((
        _string(PLAN_MAGIC, "magic"),
        _number(int(timeline)),
        _number(NAMESPACES),
        _number(last_capability),
        _string("warden-sandbox", "hostname"),
        _number(stage.PROXY_PORT),
        _number(int(into_cgroup)),
        _strings(trees, "an idmapped tree's path"),
        _strings(spec.create_protected, "a protected path"),
        _strings([*spec.write, *spec.read], "a granted path"),
        _strings(stage.DEVICES, "a device"),
        _strings(spec.hide, "a hidden path"),
        _strings(stage.ancestor_candidates(spec), "a pinned path"),
        _strings(spec.protect, "a protected path"),
        _number(rules.handled_fs),
        _number(rules.handled_net),
        _number(rules.scoped),
        _number(rules.attr_size),
        _number(rules.file_rights),
        _strings([v for path, rights in rules.paths for v in (str(rights), path)],
                 "a Landlock path"),
        _strings([str(v) for right, port in rules.ports for v in (right, port)], "a port"),
        _number(spec.cpu_seconds or 0),
        _number(nproc),
        _string(spec.cwd, "the working directory"),
        _field(seccomp_program),
        _number(int(spec.record_exec)),
        _strings(spec.argv, "the command"),
        _strings(_environment(dict(spec.env)), "the environment"),
    ))  # fmt: skip


class Spawned:
    """A started launcher (the stage), waiting for its plan: :meth:`give_plan` writes it, which
    must happen before the stage is sent "mapped" (it reads the plan only then)."""

    def __init__(self, pid: int, plan_fd: int) -> None:
        self.pid = pid
        self._plan_fd = plan_fd

    def give_plan(self, plan: bytes) -> None:
        """Write ``plan`` (once) where the launcher reads it."""
        if self._plan_fd < 0:
            raise ValueError("the launcher was given its plan already")
        fd, self._plan_fd = self._plan_fd, -1
        try:
            view, at = memoryview(plan), 0
            while at < len(view):
                at += os.pwrite(fd, view[at:], at)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Let go of the plan's descriptor without a plan (the run failed before it had one)."""
        if self._plan_fd >= 0:
            fd, self._plan_fd = self._plan_fd, -1
            os.close(fd)


def spawn(path: str, *, sock: int, lifeline: int, timeline: int = -1) -> Spawned:
    """Start the launcher at ``path``; the stage's pid (a child of this process) and where its
    plan goes. ``sock``: the stage's end of the set-up socket; ``lifeline``: the read end of
    the pipe whose write end this process holds; ``timeline``: the timeline file or -1 (closed
    in the launcher then, whatever this process has open there)."""
    memfd = os.memfd_create("warden-plan", os.MFD_CLOEXEC)
    high: list[tuple[int, int]] = []
    try:
        wanted = ((sock, _SOCK_FD), (lifeline, _LIFELINE_FD), (memfd, _PLAN_FD),
                  (timeline, _TIMELINE_FD))  # fmt: skip
        for fd, target in wanted:
            if fd >= 0:
                high.append((fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD), target))
        actions: list[tuple[int, ...]] = [(os.POSIX_SPAWN_DUP2, fd, target) for fd, target in high]
        actions += [(os.POSIX_SPAWN_CLOSE, target) for fd, target in wanted if fd < 0]
        argv = [path, str(ns.WITH_USERNS)]
        pid = os.posix_spawn(path, argv, {}, file_actions=actions, setsigmask=())
    except BaseException:
        os.close(memfd)
        raise
    finally:
        for fd, _target in high:
            os.close(fd)
    return Spawned(pid, memfd)
