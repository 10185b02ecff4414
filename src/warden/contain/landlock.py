"""Landlock: the unprivileged file, TCP and scoping boundary of ``warden run`` (ABI 1..9).

Landlock (``Documentation/userspace-api/landlock.rst``, ``include/uapi/linux/landlock.h``) lets
an unprivileged process drop rights for itself and every descendant, irrevocably. warden builds
one ruleset that *handles* every right the running kernel knows, so whatever is not granted by a
rule is denied, and enforces it in the child between ``fork`` and ``execve``.

What each ABI adds (and so what an older kernel leaves open)::

    ABI 1 (5.13)  file access: execute, read, write, readdir, create/remove each file type
    ABI 2 (5.19)  REFER: rename/link across directories (ABI 1 simply refuses every such one)
    ABI 3 (6.2)   TRUNCATE: truncate(2), ftruncate, open(O_TRUNC)
    ABI 4 (6.7)   TCP bind and connect by port (any address; UDP and other protocols untouched)
    ABI 5 (6.10)  IOCTL_DEV: ioctl on character and block devices
    ABI 6 (6.12)  scoping: signals and abstract unix sockets stay inside the domain
    ABI 7 (6.15)  audit logging flags (no new right)
    ABI 8         restrict_self on every thread (no new right; warden's child is single-threaded)
    ABI 9         RESOLVE_UNIX: connect/sendmsg to a unix socket by path

Landlock never covers: files and sockets already open before enforcement (warden's child opens
nothing it must not keep), UDP/raw/other address families (seccomp and the network namespace do),
unix sockets by path below ABI 9, ``stat``/``access``/``readlink`` on paths (metadata is visible),
``chdir``, and changes of ownership or mode of reachable files. See ``docs/containment.md``.

Two entry points, because the child must do as little as possible after ``fork``:

* :func:`prepare` (parent, before fork) opens the paths, builds the ruleset, closes the path fds
  and returns a :class:`Ruleset` whose fd the forked child inherits;
* :meth:`Ruleset.enforce` (child, after fork, before exec) makes two syscalls: ``prctl`` for
  no_new_privs and ``landlock_restrict_self``. It allocates nothing beyond ctypes call frames
  and starts no thread. The ruleset fd is ``O_CLOEXEC``, so the exec'd program never sees it.

:func:`restrict_self` does both in the calling process, for callers that have no parent step.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from dataclasses import dataclass

from warden.errors import ContainmentError

__all__ = [
    "LandlockReport",
    "LandlockSpec",
    "Ruleset",
    "RulesetPlan",
    "abi_version",
    "plan",
    "prepare",
    "restrict_self",
]


# Syscall numbers: Landlock arrived after the unified syscall table, so they are equal on every
# architecture (arch/*/syscall.tbl, 444..446).
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_PR_SET_NO_NEW_PRIVS = 38  # prctl.h: required unless CAP_SYS_ADMIN; warden always sets it
_CREATE_RULESET_VERSION = 1 << 0

_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2

# include/uapi/linux/landlock.h, access rights for files.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
FS_RESOLVE_UNIX = 1 << 16  # ABI 9
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

#: The newest ABI whose rights this module knows. A newer kernel is used at this level: its
#: extra rights stay unhandled and are reported as such.
KNOWN_ABI = 9

_FS_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
# Rights that apply to a file (not a directory); adding a rule with any other right on a file
# fails with EINVAL (security/landlock/fs.c, ACCESS_FILE).
_FS_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
_FS_FILE_ONLY_ABI9 = _FS_FILE_ONLY | FS_RESOLVE_UNIX
#: "read" in a spec: read and execute files, list directories beneath.
READ_RIGHTS = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR


def handled_fs(abi: int) -> int:
    """Every file right the given ABI knows (so that anything not granted is denied)."""
    mask = _FS_ABI1 if abi >= 1 else 0
    for level, right in ((2, FS_REFER), (3, FS_TRUNCATE), (5, FS_IOCTL_DEV), (9, FS_RESOLVE_UNIX)):
        if abi >= level:
            mask |= right
    return mask


# Feature name -> ABI that brings it: the vocabulary of LandlockReport.enforced / .missing.
_FEATURES: tuple[tuple[str, int], ...] = (
    ("fs", 1),
    ("fs.refer", 2),
    ("fs.truncate", 3),
    ("net.tcp_connect", 4),
    ("net.tcp_bind", 4),
    ("fs.ioctl_dev", 5),
    ("scope.signal", 6),
    ("scope.abstract_unix", 6),
    ("fs.resolve_unix", 9),
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the uapi header: 12 bytes
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPortAttr(ctypes.Structure):
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


# sizeof(struct landlock_ruleset_attr) as each ABI defines it: passing the size the running ABI
# knows keeps older kernels (which refuse unknown non-zero tail bytes with E2BIG) happy.
def _attr_size(abi: int) -> int:
    return 24 if abi >= 6 else 16 if abi >= 4 else 8


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _errno_text(err: int) -> str:
    return f"{errno.errorcode.get(err, str(err))}: {os.strerror(err)}"


def _no_new_privs() -> None:
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise ContainmentError(f"landlock: prctl(PR_SET_NO_NEW_PRIVS) failed: {_errno_text(err)}")


def abi_version() -> int:
    """The Landlock ABI of the running kernel; 0 when Landlock is not built in or disabled."""
    res = _libc.syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
        ctypes.c_void_p(None),
        ctypes.c_size_t(0),
        ctypes.c_uint32(_CREATE_RULESET_VERSION),
    )
    return int(res) if res > 0 else 0  # ENOSYS (not built) or EOPNOTSUPP (disabled at boot)


@dataclass(frozen=True)
class LandlockSpec:
    """What the contained program may reach; everything else Landlock knows is denied.

    ``read``: paths (directories or files) the child may read and execute beneath.
    ``write``: paths it may fully use beneath (read, write, create, remove, rename within,
    truncate, device ioctl). ``connect_tcp`` / ``bind_tcp``: TCP ports (ABI >= 4); empty means
    none, so all TCP connects (binds) are denied; ``None`` means Landlock leaves that TCP
    operation alone (for a caller whose private network namespace is the network boundary).
    ``scope_*`` (ABI >= 6): keep signals and abstract unix socket connections inside the
    sandbox (the supervisor outside cannot be signalled or reached).
    """

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    connect_tcp: tuple[int, ...] | None = ()
    bind_tcp: tuple[int, ...] | None = ()
    scope_signals: bool = True
    scope_abstract_unix: bool = True

    def __post_init__(self) -> None:
        for path in (*self.read, *self.write):
            if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
                raise ContainmentError(f"landlock: path must be absolute, got {path!r}")
        for port in (*(self.connect_tcp or ()), *(self.bind_tcp or ())):
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                raise ContainmentError(f"landlock: TCP port out of range: {port!r}")


@dataclass(frozen=True)
class LandlockReport:
    """What was (or will be, for a prepared ruleset) enforced on this kernel.

    ``enforced``/``missing`` use the names ``fs``, ``fs.refer``, ``fs.truncate``,
    ``net.tcp_connect``, ``net.tcp_bind``, ``fs.ioctl_dev``, ``scope.signal``,
    ``scope.abstract_unix``, ``fs.resolve_unix``; what the spec turned off (a scope set to
    False, TCP set to None) is in neither. ``skipped_paths`` were not granted (missing or
    unopenable).
    """

    abi: int
    enforced: tuple[str, ...]
    missing: tuple[str, ...]
    skipped_paths: tuple[str, ...]


def _features(abi: int, spec: LandlockSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    wanted = [
        (name, level)
        for name, level in _FEATURES
        if not (
            (name == "scope.signal" and not spec.scope_signals)
            or (name == "scope.abstract_unix" and not spec.scope_abstract_unix)
            or (name == "net.tcp_connect" and spec.connect_tcp is None)
            or (name == "net.tcp_bind" and spec.bind_tcp is None)
        )
    ]
    enforced = tuple(name for name, level in wanted if abi >= level)
    missing = tuple(name for name, level in wanted if abi < level)
    return enforced, missing


class Ruleset:
    """A built Landlock ruleset: an ``O_CLOEXEC`` fd, inherited by a forked child.

    Call :meth:`enforce` in the child, :meth:`close` in the parent once the child is forked.
    """

    __slots__ = ("_fd", "report")

    def __init__(self, fd: int, report: LandlockReport) -> None:
        self._fd = fd
        self.report = report

    @property
    def fd(self) -> int:
        """The ruleset fd, -1 once closed."""
        return self._fd

    def enforce(self) -> LandlockReport:
        """Set no_new_privs and restrict the calling thread (and all it will exec or fork).

        Safe right after ``os.fork()``: two syscalls, no thread, no file opened.
        """
        if self._fd < 0:
            raise ContainmentError("landlock: ruleset already closed")
        _no_new_privs()
        res = _libc.syscall(
            ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(self._fd), ctypes.c_uint32(0)
        )
        if res != 0:
            err = ctypes.get_errno()
            raise ContainmentError(f"landlock: landlock_restrict_self failed: {_errno_text(err)}")
        return self.report

    def close(self) -> None:
        """Close the ruleset fd (idempotent)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> Ruleset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _add_rule(ruleset_fd: int, rule_type: int, attr: ctypes.Structure, what: str) -> None:
    res = _libc.syscall(
        ctypes.c_long(_SYS_LANDLOCK_ADD_RULE),
        ctypes.c_int(ruleset_fd),
        ctypes.c_int(rule_type),
        ctypes.byref(attr),
        ctypes.c_uint32(0),
    )
    if res != 0:
        err = ctypes.get_errno()
        raise ContainmentError(f"landlock: cannot add rule for {what}: {_errno_text(err)}")


def _add_path(ruleset_fd: int, path: str, rights: int, file_rights: int) -> bool:
    """Grant ``rights`` beneath ``path``; False (skipped) when the path cannot be opened."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False  # missing, dangling, unreachable: granting nothing is the safe direction
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= file_rights
        _add_rule(ruleset_fd, _RULE_PATH_BENEATH, _PathBeneathAttr(rights, fd), repr(path))
    finally:
        os.close(fd)
    return True


@dataclass(frozen=True)
class RulesetPlan:
    """The ruleset :func:`prepare` builds for a spec on a given ABI, before any path is opened:
    the handled rights, the attribute size that ABI knows, and the rules in order (``paths``:
    ``(path, rights)``, where a path that is not a directory keeps only ``file_rights`` of
    them; ``ports``: ``(right, port)``). The native launcher (``launch.py``) builds the same
    ruleset from it."""

    handled_fs: int
    handled_net: int
    scoped: int
    attr_size: int
    file_rights: int
    paths: tuple[tuple[str, int], ...]
    ports: tuple[tuple[int, int], ...]


def plan(spec: LandlockSpec, abi: int) -> RulesetPlan:
    """What :func:`prepare` asks of a kernel with Landlock ``abi`` (>= 1) for ``spec``."""
    level = min(abi, KNOWN_ABI)
    fs_all = handled_fs(level)
    net_all = 0
    if level >= 4:
        net_all = (NET_CONNECT_TCP if spec.connect_tcp is not None else 0) | (
            NET_BIND_TCP if spec.bind_tcp is not None else 0
        )
    scoped = 0
    if level >= 6:
        scoped = (SCOPE_SIGNAL if spec.scope_signals else 0) | (
            SCOPE_ABSTRACT_UNIX_SOCKET if spec.scope_abstract_unix else 0
        )
    file_rights = (_FS_FILE_ONLY_ABI9 if level >= 9 else _FS_FILE_ONLY) & fs_all
    paths = [(path, rights & fs_all) for paths, rights in ((spec.read, READ_RIGHTS),
             (spec.write, fs_all)) for path in paths]  # fmt: skip
    ports = [
        (right, port)
        for ports_, right in ((spec.connect_tcp, NET_CONNECT_TCP), (spec.bind_tcp, NET_BIND_TCP))
        if ports_ is not None and net_all & right
        for port in sorted(set(ports_))
    ]
    return RulesetPlan(fs_all, net_all, scoped, _attr_size(level), file_rights, tuple(paths),
                       tuple(ports))  # fmt: skip


def prepare(spec: LandlockSpec, *, require_abi: int = 1) -> Ruleset:
    """Build the ruleset for ``spec`` in the calling (parent) process; enforce it in the child.

    Raises :class:`ContainmentError` when Landlock is missing or older than ``require_abi``.
    With ``require_abi=0`` and no Landlock the result enforces only no_new_privs (the report
    says ``abi=0`` and lists everything as missing): an explicit, visible weaker mode.
    """
    abi = abi_version()
    if abi < require_abi:
        have = "not available (kernel without CONFIG_SECURITY_LANDLOCK or lsm= without landlock)"
        raise ContainmentError(
            f"landlock: ABI {require_abi} required, kernel has " + (f"ABI {abi}" if abi else have)
        )
    enforced, missing = _features(abi, spec)
    if abi == 0:
        return _NoLandlock(LandlockReport(0, (), missing, ()))
    rules = plan(spec, abi)
    attr = _RulesetAttr(rules.handled_fs, rules.handled_net, rules.scoped)
    fd = _libc.syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
        ctypes.byref(attr),
        ctypes.c_size_t(rules.attr_size),
        ctypes.c_uint32(0),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise ContainmentError(f"landlock: cannot create ruleset: {_errno_text(err)}")
    ruleset = Ruleset(int(fd), LandlockReport(abi, enforced, missing, ()))
    try:
        skipped = [path for path, rights in rules.paths
                   if not _add_path(ruleset.fd, path, rights, rules.file_rights)]  # fmt: skip
        for right, port in rules.ports:
            _add_rule(ruleset.fd, _RULE_NET_PORT, _NetPortAttr(right, port), f"TCP {port}")
    except BaseException:
        ruleset.close()
        raise
    ruleset.report = LandlockReport(abi, enforced, missing, tuple(skipped))
    return ruleset


class _NoLandlock(Ruleset):
    """``require_abi=0`` on a kernel without Landlock: only no_new_privs is applied."""

    __slots__ = ()

    def __init__(self, report: LandlockReport) -> None:
        super().__init__(-1, report)

    def enforce(self) -> LandlockReport:
        _no_new_privs()
        return self.report


def restrict_self(spec: LandlockSpec, *, require_abi: int = 1) -> LandlockReport:
    """Build and enforce ``spec`` on the calling process in one step (see :func:`prepare`).

    After ``fork`` prefer ``prepare`` in the parent and ``Ruleset.enforce`` in the child: this
    function opens every path in the caller, which is slower and allocates more.
    """
    with prepare(spec, require_abi=require_abi) as ruleset:
        return ruleset.enforce()
