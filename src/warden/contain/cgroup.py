"""The contained process tree's cgroup: one place to freeze, thaw, kill and limit it.

A double-forked or ``setsid`` process leaves its process group and session, never its cgroup: so
``warden freeze|thaw|kill`` act on the cgroup (v2 ``cgroup.freeze`` and ``cgroup.kill``), and the
pid namespace (whose init's death takes every member with it) is the second line.

Placement: ``<cgroup2 root>/warden/<session>`` when warden may create it (root, or a delegated
``warden`` directory); otherwise a child of warden's own cgroup when that is delegated to the user
(systemd delegates ``user@UID.service``). Limits use the v2 ``pids``/``memory`` controllers when
they are enabled for that subtree; on hybrid hosts whose controllers are still bound to v1
(this development machine's), the v1 ``pids`` and ``memory`` hierarchies are used in addition.
The contained tree cannot move itself out: every cgroup file is outside what Landlock lets it
write, and it runs in a cgroup namespace rooted at its own cgroup.

Waiting for the kernel (``frozen 1``, ``populated 0``) sleeps in ``poll(POLLPRI)`` on
``cgroup.events``, which the kernel wakes when the file changes (re-read at least every 2 ms,
since it announces at most one change per 10-12 ms), instead of re-reading the file every 0.5 ms:
exact, and no CPU taken from the exits it waits for. Measured (docs/containment.md): a kill of
1,000 processes is their exits on two vCPUs; the ``cgroup.kill`` write itself returns only
after most of them are gone (the writer is preempted by the tasks it wakes).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from warden.errors import WardenError

__all__ = [
    "Cgroup",
    "CgroupError",
    "cgroup2_root",
    "own_cgroup",
    "start_grace_period",
    "v1_root",
]

#: How long ``kill`` waits for the kernel to empty the cgroup before reporting survivors.
KILL_WAIT_S = 2.0
#: How long ``freeze`` waits for ``cgroup.events`` to report ``frozen 1``.
FREEZE_WAIT_S = 2.0


class CgroupError(WardenError):
    """A cgroup could not be created, joined or controlled."""


def _mounts(fstype: str) -> Iterator[tuple[str, str]]:
    """(mount point, super options) of every mount of ``fstype``, from /proc/self/mountinfo."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        return
    for line in lines:
        left, _, right = line.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) >= 5 and rparts and rparts[0] == fstype:
            point = parts[4].replace("\\040", " ")
            yield point, rparts[2] if len(rparts) > 2 else ""


def cgroup2_root() -> str | None:
    """Mount point of the unified (v2) hierarchy: /sys/fs/cgroup, or .../unified on hybrid hosts."""
    points = [p for p, _ in _mounts("cgroup2")]
    for preferred in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if preferred in points:
            return preferred
    return points[0] if points else None


def start_grace_period() -> None:
    """Move this process into the v2 cgroup it is already in: nothing changes, but the kernel
    takes the lock that every move takes (``cgroup_threadgroup_rwsem``), which, unless the
    hierarchy is mounted with ``favordynmods``, first waits for an RCU grace period (5.9 ms
    median here, runs 0.25 s apart); moves that follow within about one grace period are
    cheap (0.12 ms after this, measured 2026-11-22). The supervisor calls it first thing, from
    a thread, so that the wait is over by the time the sandbox's processes exist. Best effort:
    a host where this process may not write its own ``cgroup.procs`` just waits later."""
    root = cgroup2_root()
    if root is not None:
        with contextlib.suppress(OSError):
            _write(f"{root}{own_cgroup().rstrip('/')}/cgroup.procs", str(os.getpid()))


def v1_root(controller: str) -> str | None:
    """Where a cgroup v1 hierarchy with ``controller`` is mounted (hybrid hosts), or None."""
    for point, opts in _mounts("cgroup"):
        if controller in opts.split(","):
            return point
    return None


def own_cgroup(pid: int | str = "self") -> str:
    """This process's path in the v2 hierarchy (``0::/path``), ``/`` if unknown."""
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("0::"):
                    return line[3:].strip() or "/"
    except OSError:
        pass
    return "/"


def _v1_own(controller: str) -> str:
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            for line in fh:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if controller in ctrls.split(","):
                    return path or "/"
    except (OSError, ValueError):
        pass
    return "/"


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(value)


def _read(path: str) -> str:
    with open(path, encoding="ascii") as fh:
        return fh.read()


#: Longest sleep between two reads of ``cgroup.events`` while waiting for a change: the kernel
#: announces changes of that file to poll() at most once per ``DIV_ROUND_UP(HZ, 100)`` jiffies
#: (``cgroup_file_notify``, CGROUP_FILE_NOTIFY_MIN_INTV: 12 ms at this kernel's HZ=250),
#: deferring a change within that window to its end; a re-read every 2 ms bounds that delay.
EVENTS_REREAD_S = 0.002


def _wait_events(fd: int, line: str, wait: float) -> bool:
    """Wait until the ``cgroup.events`` file open at ``fd`` has ``line``; True if it did
    within ``wait`` seconds.

    Sleeps in ``poll(POLLPRI)``, which the kernel wakes on a change of the file (kernfs
    notification): the wait ends with the change, not at the next tick of a polling loop, and
    takes no CPU from the processes it waits for (a kill of 1,000 processes is their exits,
    on this machine's two vCPUs).
    """
    poller = select.poll()
    poller.register(fd, select.POLLPRI)
    deadline = time.monotonic() + wait
    while True:
        try:
            if line in os.pread(fd, 256, 0).decode("ascii", "replace"):
                return True
        except OSError:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        poller.poll(min(left, EVENTS_REREAD_S) * 1000)


@dataclass
class Cgroup:
    """A cgroup v2 directory that warden created for one session (plus v1 limit groups)."""

    path: str
    v1: list[str] = field(default_factory=list)

    # ---- creation -----------------------------------------------------------------------------

    @classmethod
    def create(cls, session: str) -> Cgroup:
        """Create the session's cgroup; :class:`CgroupError` says why when none can be made."""
        root = cgroup2_root()
        if root is None:
            raise CgroupError("no cgroup v2 hierarchy is mounted")
        own = own_cgroup().rstrip("/")
        candidates = [os.path.join(root, "warden"), f"{root}{own}/warden"]
        problems: list[str] = []
        for base in dict.fromkeys(candidates):
            try:
                os.makedirs(base, mode=0o755, exist_ok=True)
                path = os.path.join(base, session)
                os.mkdir(path, 0o755)
            except OSError as exc:
                problems.append(f"{base}: {exc.strerror or exc}")
                continue
            return cls(path)
        raise CgroupError("cannot create a cgroup (" + "; ".join(problems) + ")")

    @classmethod
    def attach(cls, path: str) -> Cgroup:
        """An existing session cgroup (for ``warden freeze|thaw|kill`` from another process)."""
        if not os.path.isfile(os.path.join(path, "cgroup.procs")):
            raise CgroupError(f"{path} is not a cgroup (or it is gone)")
        return cls(path)

    def offers(self, controller: str) -> bool:
        """Whether the v2 ``controller`` can limit this cgroup (its parent offers it): when not,
        :meth:`limit` falls back to a v1 hierarchy, which only a move can join."""
        with contextlib.suppress(OSError):
            parent = os.path.dirname(self.path)
            return controller in _read(os.path.join(parent, "cgroup.controllers")).split()
        return False

    def limit(self, *, pids: int | None = None, memory: int | None = None) -> list[str]:
        """Apply limits; return what could not be enforced (missing controllers), for the report."""
        missing: list[str] = []
        parent = os.path.dirname(self.path)
        for name, value in (("pids", pids), ("memory", memory)):
            if value is None:
                continue
            knob = "pids.max" if name == "pids" else "memory.max"
            with contextlib.suppress(OSError):
                if name not in _read(os.path.join(parent, "cgroup.subtree_control")).split():
                    _write(os.path.join(parent, "cgroup.subtree_control"), f"+{name}")
            try:
                _write(os.path.join(self.path, knob), str(value))
                continue
            except OSError:
                pass
            if not self._limit_v1(name, value):
                missing.append(name)
        return missing

    def _limit_v1(self, controller: str, value: int) -> bool:
        root = v1_root(controller)
        if root is None:
            return False
        knob = "pids.max" if controller == "pids" else "memory.limit_in_bytes"
        session = os.path.basename(self.path)
        base = f"{root}{_v1_own(controller).rstrip('/')}/warden"
        try:
            os.makedirs(base, exist_ok=True)
            path = os.path.join(base, session)
            os.makedirs(path, exist_ok=True)
            _write(os.path.join(path, knob), str(value))
        except OSError:
            return False
        self.v1.append(path)
        return True

    # ---- membership ---------------------------------------------------------------------------

    def add(self, pid: int) -> None:
        """Move ``pid`` (and so its future children) into this cgroup and its v1 limit groups.

        Cost: unless the v2 hierarchy is mounted with ``favordynmods``, the kernel makes a
        move wait for an RCU grace period (``cgroup_threadgroup_rwsem``: 4 to 13 ms measured
        on this machine, whichever hierarchy) when no other move happened within about one
        grace period; moves right after one are cheap (0.1 ms). The supervisor therefore
        makes its moves from a thread, the first one as early as it can, while the sandbox
        is set up (``supervisor._Mover``). Each move holds the kernel's cgroup mutex while it
        waits: other cgroup changes (creating one) wait with it.
        """
        try:
            _write(os.path.join(self.path, "cgroup.procs"), str(pid))
            for path in self.v1:
                _write(os.path.join(path, "cgroup.procs"), str(pid))
        except OSError as exc:
            raise CgroupError(f"cannot move process {pid} into {self.path}: {exc}") from exc

    def pids(self) -> list[int]:
        """Every process in the cgroup (and below)."""
        found: list[int] = []
        for dirpath, _, files in os.walk(self.path):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError):
                    found += [int(x) for x in _read(os.path.join(dirpath, "cgroup.procs")).split()]
        return found

    def empty(self) -> bool:
        """True only when the kernel says no process is left (``populated 0``)."""
        try:
            return "populated 0" in _read(os.path.join(self.path, "cgroup.events"))
        except OSError:
            return False

    def populated(self) -> bool:
        try:
            return "populated 1" in _read(os.path.join(self.path, "cgroup.events"))
        except OSError:
            return False

    # ---- control ------------------------------------------------------------------------------

    def freeze(self, *, wait: float = FREEZE_WAIT_S) -> bool:
        """Freeze every process; True once the kernel reports the whole tree frozen."""
        return self._set_frozen(1, wait)

    def thaw(self, *, wait: float = FREEZE_WAIT_S) -> bool:
        return self._set_frozen(0, wait)

    def _set_frozen(self, value: int, wait: float) -> bool:
        try:
            events = self._events()
        except OSError:
            events = -1
        try:
            try:
                _write(os.path.join(self.path, "cgroup.freeze"), str(value))
            except OSError as exc:
                raise CgroupError(
                    f"cannot {'freeze' if value else 'thaw'} {self.path}: {exc}"
                ) from exc
            return events >= 0 and _wait_events(events, f"frozen {value}", wait)
        finally:
            if events >= 0:
                os.close(events)

    def _events(self) -> int:
        return os.open(os.path.join(self.path, "cgroup.events"), os.O_RDONLY | os.O_CLOEXEC)

    def kill(self, *, wait: float = KILL_WAIT_S) -> list[int]:
        """SIGKILL the whole tree at once; return the pids still present after ``wait``.

        The wait ends when the kernel reports the cgroup empty (``populated 0``: every
        member has left it in its exit path), seen through :func:`_wait_events`.
        """
        events = -1
        if wait > 0:
            with contextlib.suppress(OSError):  # opened first: no change slips in before it
                events = self._events()
        try:
            self._kill_now()
            if events >= 0:
                _wait_events(events, "populated 0", wait)
        finally:
            if events >= 0:
                os.close(events)
        return self.pids()

    def _kill_now(self) -> None:
        try:
            _write(os.path.join(self.path, "cgroup.kill"), "1")
        except OSError:
            # kernels before 5.14: freeze so nothing forks, kill each member, thaw to let them die
            with contextlib.suppress(CgroupError):
                self.freeze(wait=0.2)
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(CgroupError):
                self.thaw(wait=0)

    def remove(self) -> None:
        """Remove the (empty) cgroup directories; missing ones are fine."""
        for path in [*self.v1, self.path]:
            with contextlib.suppress(OSError):
                os.rmdir(path)
