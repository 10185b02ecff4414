"""Exec recording: the supervisor's side of the seccomp filter's ``notify_exec``.

The contained program's filter (``seccomp.py``) turns every ``execve``/``execveat`` into a
user notification on a listener fd that the program sends to the supervisor before its own exec.
:class:`ExecWatcher` reads each stopped exec's path and argv from ``/proc/PID/mem`` (bounded),
checks the notification id is still valid, hands an :class:`ExecEvent` to the supervisor and
lets the exec continue. Recording only (see :class:`ExecWatcher`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import struct
from collections.abc import Callable
from dataclasses import dataclass

from warden.contain.seccomp import SYSCALLS, native_arch
from warden.errors import ContainmentError

__all__ = ["MAX_ARGS", "MAX_ARG_BYTES", "MAX_PATH", "MAX_TOTAL_BYTES", "ExecEvent", "ExecWatcher"]

_libc = ctypes.CDLL(None, use_errno=True)

# linux/seccomp.h ioctls ('!' magic): _IOWR(0, struct seccomp_notif = 80 bytes),
# _IOWR(1, struct seccomp_notif_resp = 24 bytes), _IOW(2, __u64).
_NOTIF_RECV = 0xC0502100
_NOTIF_SEND = 0xC0182101
_NOTIF_ID_VALID = 0x40082102
_USER_NOTIF_FLAG_CONTINUE = 1
#: Bounds on what is read from the stopped process: a path, argv entries, their total.
MAX_PATH = 4096  # PATH_MAX
MAX_ARGS = 256
MAX_ARG_BYTES = 4096
MAX_TOTAL_BYTES = 64 * 1024
_PAGE = 4096
_AT_FDCWD = -100


class _SeccompData(ctypes.Structure):
    _fields_ = (
        ("nr", ctypes.c_int),
        ("arch", ctypes.c_uint32),
        ("instruction_pointer", ctypes.c_uint64),
        ("args", ctypes.c_uint64 * 6),
    )


class _Notif(ctypes.Structure):
    _fields_ = (
        ("id", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("data", _SeccompData),
    )


class _NotifResp(ctypes.Structure):
    _fields_ = (
        ("id", ctypes.c_uint64),
        ("val", ctypes.c_int64),
        ("error", ctypes.c_int32),
        ("flags", ctypes.c_uint32),
    )


_libc.ioctl.restype = ctypes.c_int
_libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)


@dataclass(frozen=True)
class ExecEvent:
    """One execve/execveat in the contained tree, as read when it was attempted.

    ``path`` is the argument as given (relative to ``cwd`` or to ``dirfd`` for execveat with a
    ``dirfd`` other than AT_FDCWD); ``truncated`` says a bound (``MAX_*``) cut the record.
    ``ppid`` is None when the process vanished before it could be read. ``error`` is set (and
    path/argv are empty) when the memory could not be read: still an event, never dropped.
    """

    pid: int
    ppid: int | None
    syscall: str
    path: str
    argv: tuple[str, ...]
    cwd: str | None
    dirfd: int | None
    dirfd_path: str | None  # what dirfd named, e.g. "/memfd:x (deleted)" for a fileless exec
    truncated: bool
    error: str | None = None


class _Reader:
    """Bounded reads of NUL-terminated strings and pointer arrays from /proc/PID/mem."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.budget = MAX_TOTAL_BYTES
        self.truncated = False

    def string(self, addr: int, limit: int) -> str:
        out = bytearray()
        limit = min(limit, self.budget)
        while len(out) < limit:
            want = min(_PAGE - (addr % _PAGE), limit - len(out))  # never cross a page blindly
            chunk = os.pread(self.fd, want, addr)
            if not chunk:
                break
            end = chunk.find(b"\0")
            if end >= 0:
                out += chunk[:end]
                self.budget -= len(out) + 1
                return out.decode("utf-8", "surrogateescape")
            out += chunk
            addr += len(chunk)
        self.truncated = True
        self.budget -= len(out)
        return out.decode("utf-8", "surrogateescape")

    def argv(self, addr: int) -> tuple[str, ...]:
        args: list[str] = []
        while addr and len(args) < MAX_ARGS and self.budget > 0:
            raw = os.pread(self.fd, 8, addr + 8 * len(args))
            if len(raw) < 8:
                break
            pointer = struct.unpack("<Q", raw)[0]
            if not pointer:
                return tuple(args)
            args.append(self.string(pointer, MAX_ARG_BYTES))
        self.truncated = True
        return tuple(args)


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat_line = f.read()
        return int(stat_line[stat_line.rindex(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return None


class ExecWatcher:
    """Record every exec of a contained tree from its seccomp user-notification listener.

    RECORDING ONLY, NOT ENFORCEMENT: the path and argv are read from the stopped process's
    memory and then the syscall continues (``SECCOMP_USER_NOTIF_FLAG_CONTINUE``); another thread
    of that process can change the memory after the read (time of check, time of use), so an
    event says what the program *asked* to run. Enforcement stays with Landlock, the seccomp
    deny list and namespaces. The notification id is checked (``SECCOMP_IOCTL_NOTIF_ID_VALID``)
    after reading, so the pid was not recycled while we read.

    Fail closed: if ``on_exec`` raises, that exec is refused (EPERM) and :meth:`run` re-raises;
    once the listener is closed every later exec in the tree fails with ENOSYS. The watcher
    owns ``fd``.
    """

    def __init__(self, fd: int, on_exec: Callable[[ExecEvent], None]) -> None:
        self._fd = fd
        self._on_exec = on_exec
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._running = False

    def run(self) -> None:
        """Serve notifications until the tree exits (the listener hangs up) or :meth:`close`.

        Closes the listener when it returns (so later execs in the tree fail: fail closed).
        """
        self._running = True
        try:
            poller = select.poll()
            poller.register(self._fd, select.POLLIN)
            poller.register(self._wake_r, select.POLLIN)
            while True:
                for fd, events in poller.poll():
                    if fd == self._wake_r:
                        return
                    if events & select.POLLIN:
                        self._serve_one()
                    elif events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                        return
        finally:
            self._close_fds()

    def close(self) -> None:
        """Stop :meth:`run` (from any thread; it closes the fds on its way out) or close now."""
        if self._running:
            with contextlib.suppress(OSError):  # already closed: run() is leaving anyway
                os.write(self._wake_w, b"x")
        else:
            self._close_fds()

    def _close_fds(self) -> None:
        for name in ("_fd", "_wake_r", "_wake_w"):
            fd = getattr(self, name)
            if fd >= 0:
                setattr(self, name, -1)
                os.close(fd)

    def _ioctl(self, request: int, arg: ctypes._CData) -> int:
        if _libc.ioctl(self._fd, request, ctypes.addressof(arg)) == 0:
            return 0
        return ctypes.get_errno()

    def _serve_one(self) -> None:
        notif = _Notif()  # zeroed, as NOTIF_RECV requires
        err = self._ioctl(_NOTIF_RECV, notif)
        if err in (errno.ENOENT, errno.EINTR):  # the process died before we received it
            return
        if err:
            raise ContainmentError(f"seccomp: NOTIF_RECV failed: {os.strerror(err)}")
        event = self._read_event(notif)
        valid = self._ioctl(_NOTIF_ID_VALID, ctypes.c_uint64(notif.id)) == 0
        deny = 0
        try:
            if valid:  # else the process died meanwhile: nothing ran, nothing to record
                self._on_exec(event)
        except BaseException:
            deny = errno.EPERM
            raise
        finally:
            flags = 0 if deny else _USER_NOTIF_FLAG_CONTINUE
            self._ioctl(_NOTIF_SEND, _NotifResp(notif.id, 0, -deny, flags))  # ENOENT: gone

    def _read_event(self, notif: _Notif) -> ExecEvent:
        pid = int(notif.pid)
        args = notif.data.args
        execveat = notif.data.nr == SYSCALLS[native_arch()]["execveat"]
        path_at, argv_at = (args[1], args[2]) if execveat else (args[0], args[1])
        path, truncated, error = "", True, None
        argv: tuple[str, ...] = ()
        try:
            memfd = os.open(f"/proc/{pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            error = f"cannot open /proc/{pid}/mem: {exc.strerror}"
        else:
            reader = _Reader(memfd)
            try:
                path = reader.string(path_at, MAX_PATH)
                argv = reader.argv(argv_at)
                truncated = reader.truncated
            except OSError as exc:  # a bad pointer: execve itself will fail with EFAULT
                error = f"cannot read the arguments: {exc.strerror}"
            finally:
                os.close(memfd)
        try:
            cwd: str | None = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = None
        dirfd = ctypes.c_int32(args[0] & 0xFFFFFFFF).value if execveat else None
        if dirfd == _AT_FDCWD:
            dirfd = None
        dirfd_path = None
        if dirfd is not None:
            with contextlib.suppress(OSError):
                dirfd_path = os.readlink(f"/proc/{pid}/fd/{dirfd}")
        return ExecEvent(
            pid=pid,
            ppid=_ppid(pid),
            syscall="execveat" if execveat else "execve",
            path=path,
            argv=argv,
            cwd=cwd,
            dirfd=dirfd,
            dirfd_path=dirfd_path,
            truncated=truncated,
            error=error,
        )
