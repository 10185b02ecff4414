"""Thin ctypes wrappers over the Linux calls the sandbox needs and Python 3.11 lacks.

unshare(2), mount(2), sethostname(2), capset(2), the securebits and child-subreaper prctls,
bringing up the loopback interface, and the three calls of an idmapped mount (open_tree(2),
mount_setattr(2), move_mount(2); their numbers are the same on every architecture warden
supports, being newer than the unified syscall table). Each raises ``OSError`` with errno,
like ``os`` functions. Nothing here allocates much or starts threads: the functions run
between fork and exec.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import socket
import struct
from collections.abc import Iterator

__all__ = [
    "CLONE_NEWCGROUP",
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWUSER",
    "CLONE_NEWUTS",
    "MS_BIND",
    "MS_NODEV",
    "MS_NOEXEC",
    "MS_NOSUID",
    "MS_PRIVATE",
    "MS_RDONLY",
    "MS_REC",
    "MS_REMOUNT",
    "WITH_USERNS",
    "attach_tree",
    "bind_readonly",
    "default_internal_signals",
    "drop_bounding_set",
    "drop_capabilities",
    "elsewhere",
    "idmapped_tree",
    "last_capability",
    "loopback_up",
    "mount",
    "on_this_cpu",
    "restore_cpus",
    "set_child_subreaper",
    "sethostname",
    "unshare",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: The namespaces a stage makes in the same system call as its user namespace (owned by it):
#: everything but the pid namespace, which comes with init (docs/containment.md, "Start-up").
WITH_USERNS = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21

# statvfs f_flag bits -> mount flags that a read-only remount of a bind mount must keep
# (the kernel refuses to clear "locked" flags inherited from a more privileged namespace)
_KEEP_FLAGS = ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME),
               (2048, MS_NODIRATIME), (4096, MS_RELATIME))  # fmt: skip

PR_SET_CHILD_SUBREAPER = 36
PR_SET_SECUREBITS = 28
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# SECBIT_NOROOT | _LOCKED, SECBIT_NO_SETUID_FIXUP | _LOCKED, SECBIT_KEEP_CAPS_LOCKED,
# SECBIT_NO_CAP_AMBIENT_RAISE | _LOCKED: uid 0 inside gains no capabilities at exec
_SECUREBITS = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
_CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_NR_OPEN_TREE = 428
_NR_MOVE_MOUNT = 429
_NR_MOUNT_SETATTR = 442
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_AT_RECURSIVE = 0x8000
_OPEN_TREE_CLONE = 1
_OPEN_TREE_CLOEXEC = os.O_CLOEXEC
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_RDONLY = 0x1
_MOUNT_ATTR_IDMAP = 0x100000

# rt_sigaction(2): arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h
_NR_RT_SIGACTION = {"x86_64": 13, "aarch64": 134}
_SIGRTMIN_KERNEL = 32

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]  # fmt: skip
_libc.unshare.argtypes = [ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]  # fmt: skip


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:  # fmt: skip
    enc = os.fsencode
    _check(
        _libc.mount(
            enc(source) if source is not None else None,
            enc(target),
            enc(fstype) if fstype is not None else None,
            flags,
            enc(data) if data is not None else None,
        ),
        f"mount {target}",
    )


def bind_readonly(path: str, source: str | None = None) -> None:
    """Make ``path`` (file or directory) a read-only view of ``source`` (default: itself)."""
    mount(source or path, path, None, MS_BIND | MS_REC)
    keep = 0
    f_flag = os.statvfs(path).f_flag
    for bit, flag in _KEEP_FLAGS:
        if f_flag & bit:
            keep |= flag
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


class _KernelSigaction(ctypes.Structure):
    _fields_ = (("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_void_p), ("mask", ctypes.c_uint64))  # fmt: skip


def default_internal_signals() -> None:
    """Give the C library's internal real-time signals (32 and 33 with glibc) their default
    action again. glibc's ``posix_spawn`` leaves them ignored in the child, an exec keeps
    that, and neither glibc's ``signal()`` nor Python's can change them: a process started
    by one (``make`` does) would pass them on, ignored, to the contained program. Called by
    the program just before its exec; never fails."""
    import signal

    from warden.contain.seccomp import native_arch

    nr = _NR_RT_SIGACTION.get(native_arch())
    if nr is None:
        return
    default = _KernelSigaction(None, 0, None, 0)
    for sig in range(_SIGRTMIN_KERNEL, signal.SIGRTMIN):
        _libc.syscall(ctypes.c_long(nr), ctypes.c_int(sig), ctypes.byref(default), None,
                      ctypes.c_size_t(8))  # fmt: skip


class _MountAttr(ctypes.Structure):
    _fields_ = (("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64))  # fmt: skip


def _syscall_check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def idmapped_tree(path: str, userns_fd: int, *, readonly: bool, fd: int | None = None) -> int:
    """A detached, recursive clone of the mount tree at ``path`` (or at the ``O_PATH``
    descriptor ``fd``, then ``path`` only names it in errors) whose owners are mapped through
    the user namespace ``userns_fd`` (read-only if asked); its descriptor, close-on-exec.

    Needs CAP_SYS_ADMIN in the user namespace owning the file system (host root, for a disk).
    """
    flags = _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC | _AT_RECURSIVE
    nr = ctypes.c_long(_NR_OPEN_TREE)
    if fd is None:
        where, name = _AT_FDCWD, os.fsencode(path)
    else:
        where, name, flags = fd, b"", flags | _AT_EMPTY_PATH
    fd = _syscall_check(_libc.syscall(nr, where, name, flags), f"open_tree {path}")
    attr = _MountAttr(_MOUNT_ATTR_IDMAP | (_MOUNT_ATTR_RDONLY if readonly else 0), 0, 0, userns_fd)
    nr = ctypes.c_long(_NR_MOUNT_SETATTR)
    try:
        _syscall_check(_libc.syscall(nr, fd, b"", _AT_EMPTY_PATH | _AT_RECURSIVE,
                                     ctypes.byref(attr), ctypes.sizeof(attr)),
                       f"mount_setattr(MOUNT_ATTR_IDMAP) {path}")  # fmt: skip
    except OSError:
        os.close(fd)
        raise
    return fd


def attach_tree(fd: int, target: str) -> None:
    """Attach the detached mount tree ``fd`` (from :func:`idmapped_tree`) onto ``target``."""
    nr = ctypes.c_long(_NR_MOVE_MOUNT)
    _syscall_check(_libc.syscall(nr, fd, b"", _AT_FDCWD, os.fsencode(target),
                                 _MOVE_MOUNT_F_EMPTY_PATH), f"move_mount {target}")  # fmt: skip


@contextlib.contextmanager
def on_this_cpu() -> Iterator[frozenset[int] | None]:
    """Keep the calling thread on the CPU it runs on for the block; yields the CPUs it may
    use otherwise (None if they cannot be read), which a task created in the block (a fork,
    a thread) inherits pinned and must get back with :func:`restore_cpus`.

    Why: the kernel places a new task on the idlest CPU, and on this development machine (a
    2-vCPU Firecracker guest) its first run there comes up to a timer tick late: a
    ``threading.Thread.start()``, which waits for that first run, took 3.5 ms median unpinned
    and 0.25 ms pinned (measured 2026-11-21, interleaved). Placed beside its creator, the new
    thread runs as soon as the creator blocks (in ``start()``). Used for threads only: forks
    of the supervisor's size got slower pinned (the child shares the CPU with a parent that
    still has work to do).
    """
    try:
        cpus = frozenset(os.sched_getaffinity(0))
        cpu = _libc.sched_getcpu()
        if cpu < 0 or cpu not in cpus or len(cpus) == 1:
            raise OSError("no CPU to keep")
        os.sched_setaffinity(0, {cpu})
    except OSError:
        yield None
        return
    try:
        yield cpus
    finally:
        restore_cpus(cpus)


def restore_cpus(cpus: frozenset[int] | None, pid: int = 0) -> None:
    """Undo :func:`on_this_cpu` in the task it created, or :func:`elsewhere` for ``pid`` (a
    no-op for None). Never fails: a task left on one CPU is slower, nothing else."""
    if cpus is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, cpus)


def elsewhere(pid: int) -> frozenset[int] | None:
    """Move ``pid`` (a child just started, not yet run) to a CPU other than the caller's,
    while the caller goes on working; the CPUs it may use otherwise (None if nothing was
    changed), to give back with :func:`restore_cpus` before it creates tasks of its own.

    Why: a child started while its parent keeps the CPU busy waits for it, even with another
    CPU idle (this 2-vCPU guest: a static program's first instruction 2.9-3.0 ms after its
    posix_spawn when the parent computed for 2 ms, 1.1-2.0 ms moved elsewhere; measured
    2026-11-22)."""
    try:
        cpus = frozenset(os.sched_getaffinity(0))
        cpu = _libc.sched_getcpu()
        others = cpus - {cpu}
        if cpu < 0 or not others:
            return None
        os.sched_setaffinity(pid, others)
    except OSError:
        return None
    return cpus


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def set_child_subreaper() -> None:
    """Orphaned descendants are re-parented to this process (so it can wait for them)."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32))  # fmt: skip


@functools.cache
def last_capability() -> int:
    """The highest capability number this kernel knows (a constant: the supervisor reads it
    once before forking, so the program does not open a file on its way to exec)."""
    try:
        with open(_CAP_LAST_CAP_FILE, encoding="ascii") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return 40


def drop_bounding_set() -> None:
    """Empty the capability bounding set (no capability can be gained at an exec any more).

    It leaves the effective and permitted sets as they are, so the caller keeps what it still
    needs (``unshare(CLONE_NEWCGROUP)``) until :func:`drop_capabilities`; the program calls it
    while it waits for "go", which takes its 41 ``prctl`` calls (0.3-0.4 ms here) off the
    path from "go" to the exec.
    """
    for cap in range(last_capability() + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)")


def drop_capabilities(*, bounding: bool = True) -> None:
    """Lose every capability for good: bounding set, ambient, and (for uid 0) root semantics.

    Called last before Landlock and seccomp, in the child, inside its own user namespace (the
    capabilities dropped are those of that namespace). After this, uid 0 inside the sandbox is
    an ordinary user that owns some files. ``bounding=False``: the caller already emptied the
    bounding set (:func:`drop_bounding_set`, earlier in the same process).
    """
    _check(_libc.prctl(PR_SET_SECUREBITS, _SECUREBITS, 0, 0, 0), "prctl(PR_SET_SECUREBITS)")
    if bounding:
        drop_bounding_set()
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(AMBIENT)")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def loopback_up() -> None:
    """Bring ``lo`` up in this (new) network namespace: ``ip link set lo up`` without ``ip``."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))
