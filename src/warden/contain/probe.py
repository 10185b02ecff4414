"""What this kernel offers ``warden run``: measured, not guessed, in a few milliseconds.

Each answer comes from asking the kernel the way ``warden run`` will use it: the Landlock ABI
from ``landlock_create_ruleset(VERSION)``; seccomp actions from ``SECCOMP_GET_ACTION_AVAIL``;
user namespaces by forking a child that calls ``unshare`` (a sysctl can say yes while an LSM
or a container runtime says no); the cgroup v2 mount from ``/proc/self/mountinfo``; the ability
to create a child cgroup by creating (and removing) one; idmapped mounts (which give the agent
a uid of its own when warden is root, ``identity.py``) from the kernel version and whether
``mount_setattr`` exists (EBADF on a bad descriptor, not ENOSYS). ``warden doctor`` prints
:func:`features_text`; the supervisor reads the fields to refuse a run whose policy needs
something missing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import time
from dataclasses import dataclass

from warden.contain import cgroup, landlock
from warden.contain.seccomp import RET_ERRNO, RET_USER_NOTIF, SYSCALLS, native_arch

__all__ = ["Feature", "KernelFeatures", "features_text", "probe"]

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_SECCOMP_GET_ACTION_AVAIL = 2
_NR_MOUNT_SETATTR = 442  # the same on every architecture (a new, unified syscall number)
_NOBODY = 65534  # the overflow uid/gid: an unprivileged identity present on every system
_USERNS_OK = 1  # exit-status bits of the namespace probe child
_NESTED_OK = 2
_CHILD_FAILED = 64

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.unshare.restype = ctypes.c_int


@dataclass(frozen=True)
class Feature:
    """One line of ``warden doctor``: present or not, what was found, why it matters."""

    name: str
    present: bool
    detail: str
    why: str


@dataclass(frozen=True)
class KernelFeatures:
    """The kernel facilities ``warden run`` depends on, as probed on this machine."""

    kernel: str
    machine: str
    is_root: bool
    landlock_abi: int
    seccomp_filter: bool
    seccomp_user_notif: bool
    userns: bool  # unshare(CLONE_NEWUSER) works for the current user
    userns_nested: bool  # ... and then CLONE_NEWNET|CLONE_NEWNS|CLONE_NEWPID inside it
    userns_unprivileged: bool  # the same for uid 65534 (equal to userns when not root)
    cgroup2_mount: str | None
    cgroup2_own: str | None  # this process's cgroup directory in the v2 hierarchy
    cgroup2_hybrid: bool  # v2 mounted beside v1 controllers (…/unified)
    cgroup_create: bool  # a child cgroup could be created (and removed) in cgroup2_own
    cgroup_kill: bool
    cgroup_freeze: bool
    cgroup2_controllers: tuple[str, ...]
    elapsed_ms: float
    #: mount_setattr(MOUNT_ATTR_IDMAP) is there, with tmpfs support (6.3+)
    idmapped_mounts: bool = False
    #: a cgroup v1 hierarchy with the pids controller is mounted (hybrid hosts)
    cgroup1_pids: bool = False

    def features(self) -> tuple[Feature, ...]:
        """The rows of the doctor table, in the order a reader needs them."""
        ll = self.landlock_abi
        levels = (("net.tcp", 4), ("scope", 6), ("resolve_unix", 9))
        missing = [name for name, level in levels if ll < level]
        lacks = f", lacks {', '.join(missing)}" if missing and ll else ""
        cg2 = (self.cgroup2_mount or "not mounted") + (" (hybrid)" if self.cgroup2_hybrid else "")
        ctl = set(self.cgroup2_controllers)
        want = ("memory", "pids", "cpu")
        return (
            Feature("landlock", ll > 0, f"ABI {ll}{lacks}",
                    "file, TCP port and signal limits for the agent, unprivileged"),
            Feature("seccomp filter", self.seccomp_filter, "SECCOMP_RET_ERRNO",
                    "removes ptrace, mount, bpf, io_uring, raw and UDP sockets"),
            Feature("seccomp user notification", self.seccomp_user_notif, "SECCOMP_RET_USER_NOTIF",
                    "records every exec of the contained tree in the audit log"),
            Feature("user namespaces", self.userns, "unshare(CLONE_NEWUSER)",
                    "private mount, network and pid views without root"),
            Feature("net+mount+pid namespaces", self.userns_nested, "inside a user namespace",
                    "no route out but the proxy; hidden /tmp and /run; own pid tree"),
            Feature("unprivileged user namespaces", self.userns_unprivileged,
                    "as uid 65534" if self.is_root else "as this user",
                    "the agent can run under its own uid, not root"),
            Feature("root", self.is_root, "euid 0" if self.is_root else "not root",
                    "root may create cgroups and run the agent under another uid"),
            Feature("own uid", self.is_root and self.idmapped_mounts, self._own_uid_detail(),
                    "the agent runs as a uid of its own, not the caller's; host files stay "
                    "their owners'"),
            Feature("cgroup v2", self.cgroup2_mount is not None, cg2,
                    "one handle on the whole process tree, double-forks included"),
            Feature("cgroup create", self.cgroup_create, self.cgroup2_own or "-",
                    "each run gets a cgroup of its own"),
            Feature("cgroup.kill", self.cgroup_kill, "v2, 5.14+",
                    "kills the whole tree at once, no survivor"),
            Feature("cgroup.freeze", self.cgroup_freeze, "v2, 5.2+",
                    "stops the whole tree at once for inspection"),
            Feature("cgroup v2 controllers", all(c in ctl for c in want),
                    ", ".join(c for c in want if c in ctl) or "none of memory, pids, cpu",
                    "memory, pids (fork bombs) and CPU limits from the policy"),
            Feature("pids limit", self._pids_limit() is not None, self._pids_limit() or "none",
                    "how the policy's pids limit (fork bombs) is enforced"),
        )  # fmt: skip

    def _pids_limit(self) -> str | None:
        """The mechanism the supervisor picks for ``[contain] pids`` (``_run_contained``)."""
        if "pids" in self.cgroup2_controllers:
            return "cgroup v2 pids controller"
        if self.is_root and self.idmapped_mounts:
            return "RLIMIT_NPROC under the agent's own uid (no cgroup move)"
        if self.is_root and self.cgroup1_pids:
            return "cgroup v1 pids (a move per run: an RCU grace period)"
        return None

    def _own_uid_detail(self) -> str:
        if not self.is_root:
            return "not root: the agent keeps your uid"
        if not self.idmapped_mounts:
            return "no idmapped mounts (6.3+): the agent keeps uid 0"
        return "idmapped mounts (per file system; overlayfs has none)"


def features_text(f: KernelFeatures) -> str:
    """The table ``warden doctor`` prints."""
    rows = f.features()
    name_w = max(len(r.name) for r in rows)
    detail_w = max(len(r.detail) for r in rows)
    lines = [f"kernel {f.kernel} ({f.machine}), probed in {f.elapsed_ms:.1f} ms"]
    for r in rows:
        mark = "yes" if r.present else "NO "
        lines.append(f"  {mark}  {r.name:<{name_w}}  {r.detail:<{detail_w}}  {r.why}")
    return "\n".join(lines)


def _seccomp_action_avail(action: int) -> bool:
    arch = native_arch()
    if arch in SYSCALLS:
        value = ctypes.c_uint32(action)
        res = _libc.syscall(
            ctypes.c_long(SYSCALLS[arch]["seccomp"]),
            ctypes.c_uint(_SECCOMP_GET_ACTION_AVAIL),
            ctypes.c_uint(0),
            ctypes.byref(value),
        )
        return bool(res == 0)
    return False  # warden's filter exists for x86_64 and aarch64 only


def _idmapped_mounts() -> bool:
    from warden.contain.identity import MIN_KERNEL, kernel_version

    if kernel_version() < MIN_KERNEL:
        return False
    res = _libc.syscall(ctypes.c_long(_NR_MOUNT_SETATTR), -1, b"", 0, None, 0)
    return bool(res == -1 and ctypes.get_errno() != errno.ENOSYS)


def _userns_child(drop_to_nobody: bool) -> int:
    """Runs in the forked child: the exit status encodes what worked. Never returns."""
    status = 0
    try:
        if drop_to_nobody:
            os.setgroups([])
            os.setresgid(_NOBODY, _NOBODY, _NOBODY)
            os.setresuid(_NOBODY, _NOBODY, _NOBODY)
        if _libc.unshare(_CLONE_NEWUSER) == 0:
            status |= _USERNS_OK
            if _libc.unshare(_CLONE_NEWNET | _CLONE_NEWNS | _CLONE_NEWPID) == 0:
                status |= _NESTED_OK
    except BaseException:
        status = _CHILD_FAILED
    os._exit(status)


def _probe_userns(drop_to_nobody: bool) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        _userns_child(drop_to_nobody)
    _, wstatus = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(wstatus)
    return code if 0 <= code < _CHILD_FAILED else 0


def _cgroup2_mount(mountinfo: str) -> tuple[str, str] | None:
    """(mount point, root within the hierarchy) of the cgroup2 mount, per proc(5) mountinfo.

    When several exist (bind mounts), the one at /sys/fs/cgroup or …/unified wins.
    """
    found: list[tuple[str, str]] = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if not sep or len(fields) < 5 or tail.split()[:1] != ["cgroup2"]:
            continue
        unescape = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
        found.append((unescape.replace("\\134", "\\"), fields[3]))
    for preferred in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        for point, root in found:
            if point == preferred:
                return point, root
    return found[0] if found else None


def _own_cgroup(proc_cgroup: str, mount: str, root: str) -> str | None:
    """This process's v2 cgroup directory from /proc/self/cgroup ("0::/path")."""
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            path = line[3:]
            if root != "/" and path.startswith(root):
                path = path[len(root) :]  # mount of a sub-tree (cgroup namespace, container)
            return os.path.normpath(mount + "/" + path.lstrip("/"))
    return None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _exists(directory: str, name: str) -> bool:
    return os.path.exists(directory + "/" + name)


def _probe_cgroup(own: str) -> tuple[bool, bool, bool]:
    """(can create a child, cgroup.kill exists, cgroup.freeze exists), looked at in a child."""
    child = os.path.join(own, f"warden-probe-{os.getpid()}")
    try:
        os.mkdir(child)
    except OSError:
        # No permission here: the root cgroup has no cgroup.kill/freeze, any other one does.
        return False, _exists(own, "cgroup.kill"), _exists(own, "cgroup.freeze")
    try:
        return True, _exists(child, "cgroup.kill"), _exists(child, "cgroup.freeze")
    finally:
        os.rmdir(child)


def probe() -> KernelFeatures:
    """Probe this kernel (two short forks, one mkdir/rmdir; a few milliseconds)."""
    start = time.monotonic_ns()
    is_root = os.geteuid() == 0
    nested = _probe_userns(drop_to_nobody=False)
    unpriv = _probe_userns(drop_to_nobody=True) if is_root else nested
    mount = _cgroup2_mount(_read("/proc/self/mountinfo"))
    own = _own_cgroup(_read("/proc/self/cgroup"), *mount) if mount else None
    create = kill = freeze = False
    controllers: tuple[str, ...] = ()
    if own is not None and os.path.isdir(own):
        create, kill, freeze = _probe_cgroup(own)
        controllers = tuple(_read(own + "/cgroup.controllers").split())
    return KernelFeatures(
        kernel=platform.release(),
        machine=platform.machine(),
        is_root=is_root,
        landlock_abi=landlock.abi_version(),
        seccomp_filter=_seccomp_action_avail(RET_ERRNO),
        seccomp_user_notif=_seccomp_action_avail(RET_USER_NOTIF),
        userns=bool(nested & _USERNS_OK),
        userns_nested=bool(nested & _NESTED_OK),
        userns_unprivileged=bool(unpriv & _USERNS_OK),
        cgroup2_mount=mount[0] if mount else None,
        cgroup2_own=own,
        cgroup2_hybrid=mount is not None and mount[0] != "/sys/fs/cgroup",
        cgroup_create=create,
        cgroup_kill=kill,
        cgroup_freeze=freeze,
        cgroup2_controllers=controllers,
        idmapped_mounts=_idmapped_mounts(),
        cgroup1_pids=cgroup.v1_root("pids") is not None,
        elapsed_ms=(time.monotonic_ns() - start) / 1e6,
    )
