"""seccomp: the syscall filter of ``warden run`` (classic BPF, built here, installed by ctypes).

Landlock decides *which* files and ports; this filter removes whole kernel interfaces that a
contained program never needs and that either reach outside the sandbox or are the usual first
step of a kernel exploit. Denials return an errno so ordinary programs fail cleanly and go on;
only the two "this is not a normal x86_64/aarch64 program" checks kill.

Why no libseccomp: its Python binding is built from libseccomp's source tree and shipped by
distributions as ``python3-seccomp`` for the system Python only; on PyPI there are ``pyseccomp``
(ctypes, last release 2021-01) and third-party repackagings, and all of them also need the C
library installed. The filter below is about 150 instructions, small enough to build and review
here, pure (:func:`build_filter` returns bytes the tests decode), and the tests run each rule
against the real kernel.

=======================================  ============  ==========================================
syscall (argument test)                  result        why
=======================================  ============  ==========================================
arch != AUDIT_ARCH_X86_64/AARCH64        KILL_PROCESS  i386/arm32 compat entry points use other
                                                       numbers: a filter for one ABI is blind to
                                                       another, so any other ABI is killed
nr & 0x40000000 (x86_64)                 KILL_PROCESS  the x32 ABI aliases x86_64 syscalls with
                                                       this bit set; same blindness
ptrace, process_vm_readv/writev,         EPERM         read or steer another process (the
pidfd_getfd                                            supervisor, a credential helper)
bpf, perf_event_open, userfaultfd,       EPERM         large kernel attack surface, exploit
io_uring_setup/enter/register                          primitives; io_uring also performs I/O
                                                       that seccomp never sees
mount, umount2, pivot_root, move_mount,  EPERM         reshape the filesystem view (in a user
open_tree, open_tree_attr, fsopen,                     namespace these work unprivileged)
fsconfig, fsmount, fspick, mount_setattr
setns, unshare (any flags)               EPERM         new namespaces: root in a user namespace
                                                       is the base of most kernel escapes
clone (flags & CLONE_NEW*)               EPERM         the same, through clone
clone3                                   ENOSYS        flags sit behind a pointer BPF cannot
                                                       read; libc falls back to clone on ENOSYS
init_module, finit_module,               EPERM         load or replace kernel code
delete_module, kexec_load,
kexec_file_load
keyctl, add_key, request_key             EPERM         kernel keyrings are shared outside the
                                                       sandbox (session keyrings, secrets)
reboot, swapon, swapoff, syslog, acct    EPERM         host administration; the kernel log leaks
                                                       addresses
open_by_handle_at, name_to_handle_at     EPERM         open files by handle, bypassing paths
                                                       (and so Landlock path rules)
personality (other than 0 or query)      EPERM         READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE
                                                       weaken exploit mitigations
ioctl (cmd == TIOCSTI or TIOCLINUX)      EPERM         push keystrokes into the controlling
                                                       terminal: commands run outside
socket (domain not INET/INET6 [/UNIX])   EAFNOSUPPORT  netlink, packet, vsock, bluetooth, ...:
                                                       raw network and kernel interfaces
socket (INET*, type not STREAM           EPERM         raw sockets; UDP (DNS tunnels) unless
[/DGRAM])                                              allowed
socket (INET* STREAM, proto not 0/TCP)   EPERM         SCTP and MPTCP are stream sockets that
                                                       Landlock's TCP port rules do not cover
socket (INET* DGRAM, proto not 0/UDP)    EPERM         ICMP "ping" and UDP-Lite sockets
sendto/sendmsg/sendmmsg (MSG_FASTOPEN)   EPERM         TCP Fast Open connects inside sendto,
                                                       which Landlock's TCP connect rule misses
socketpair (domain != AF_UNIX)           EAFNOSUPPORT  only unix pairs exist for ordinary use
socketpair (AF_UNIX, SOCK_DGRAM) unless  EPERM         a datagram pair can sendto() or connect()
unix sockets are allowed                               any path-named datagram socket (/dev/log,
                                                       journald), unseen by Landlock below ABI 9
chmod, fchmod, fchmodat, fchmodat2,      EPERM         a set-uid/set-gid file the program owns
mknod, mknodat (mode & 06000);                         belongs to the workspace's owner on the
open, openat, creat (O_CREAT/O_TMPFILE                 host (root in CI): a set-uid program left
and mode & 06000)                                      behind, run later outside the sandbox
openat2                                  ENOSYS        its mode sits behind a pointer; libc and
                                                       runtimes fall back to openat on ENOSYS
seccomp (flags & NEW_LISTENER)           EPERM         a newer filter's listener would answer
                                                       first and hide execs from the recorder
execve, execveat (notify_exec)           USER_NOTIF    recorded by the supervisor, then resumed
=======================================  ============  ==========================================

Argument tests read only the low 32 bits: the kernel declares these arguments ``int``/``unsigned
int`` and ignores the high half, so comparing all 64 bits would let ``0x1_00005412`` slip past a
``TIOCSTI`` check. Ordinary syscalls are decided by the kernel's per-syscall constant-action
cache (``seccomp_cache_prepare``, 5.11+), so they do not run this program at all.

Install it in the child after ``fork`` (it sets no_new_privs, needs no privilege, is inherited
across ``execve`` and cannot be removed). :class:`ExecWatcher` is the supervisor's side of
``notify_exec``.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import socket
import struct
from dataclasses import dataclass

from warden.errors import ContainmentError

__all__ = [
    "AUDIT_ARCH",
    "SYSCALLS",
    "SeccompProfile",
    "build_filter",
    "install",
    "native_arch",
]

# linux/audit.h
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_SYSCALL_BIT = 0x40000000

# Syscall numbers: arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "ioctl": 16, "socket": 41, "sendto": 44, "sendmsg": 46, "socketpair": 53, "clone": 56,
        "execve": 59, "ptrace": 101, "sendmmsg": 307,
        "syslog": 103, "personality": 135, "pivot_root": 155, "acct": 163, "mount": 165,
        "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "init_module": 175,
        "delete_module": 176, "kexec_load": 246, "add_key": 248, "request_key": 249,
        "keyctl": 250, "unshare": 272, "perf_event_open": 298, "name_to_handle_at": 303,
        "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
        "process_vm_writev": 311, "finit_module": 313, "seccomp": 317, "kexec_file_load": 320,
        "bpf": 321, "execveat": 322, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442,
        "open_tree_attr": 467,
        "open": 2, "creat": 85, "chmod": 90, "fchmod": 91, "mknod": 133, "openat": 257,
        "mknodat": 259, "fchmodat": 268, "openat2": 437, "fchmodat2": 452,
    },
    "aarch64": {
        "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41, "acct": 89, "personality": 92,
        "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
        "syslog": 116, "ptrace": 117, "reboot": 142, "socket": 198, "socketpair": 199,
        "sendto": 206, "sendmsg": 211, "sendmmsg": 269,
        "add_key": 217, "request_key": 218, "keyctl": 219, "clone": 220, "execve": 221,
        "swapon": 224, "swapoff": 225, "perf_event_open": 241, "name_to_handle_at": 264,
        "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "finit_module": 273, "seccomp": 277, "bpf": 280,
        "execveat": 281, "userfaultfd": 282, "kexec_file_load": 294,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442,
        "open_tree_attr": 467,
        "mknodat": 33, "fchmod": 52, "fchmodat": 53, "openat": 56, "openat2": 437,
        "fchmodat2": 452,
    },
}  # fmt: skip

#: Denied outright with EPERM, whatever the arguments (reasons in the module docstring).
DENY_EPERM: tuple[str, ...] = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register",
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "open_tree_attr", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    "setns", "unshare",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "keyctl", "add_key", "request_key",
    "reboot", "swapon", "swapoff", "syslog", "acct",
    "open_by_handle_at", "name_to_handle_at",
)  # fmt: skip

# BPF opcodes (linux/filter.h, linux/bpf_common.h).
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_ALU_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
_BPF_MAXINSNS = 4096

# linux/seccomp.h
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_USER_NOTIF = 0x7FC00000
RET_ALLOW = 0x7FFF0000
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
_SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5
_PR_SET_NO_NEW_PRIVS = 38

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_OFF_NR = 0
_OFF_ARCH = 4


def _arg_lo(index: int) -> int:
    """Offset of the low 32 bits of args[index] (both supported arches are little-endian)."""
    return 16 + 8 * index


# linux/sched.h: every namespace flag that clone(2) accepts (CLONE_NEWTIME only via clone3).
CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000
CLONE_NEW_MASK |= 0x40000000  # NEWNS CGROUP UTS IPC USER PID NET
TIOCSTI = 0x5412  # asm-generic/ioctls.h (same on both arches)
TIOCLINUX = 0x541C
_SOCK_TYPE_FLAGS = 0o4000 | 0o2000000  # SOCK_NONBLOCK | SOCK_CLOEXEC
_PERSONALITY_QUERY = 0xFFFFFFFF
_IPPROTO_TCP = 6
_MSG_FASTOPEN = 0x20000000  # linux/socket.h: connect inside sendto, past Landlock's connect hook
_IPPROTO_UDP = 17
#: S_ISUID | S_ISGID: a set-id bit on a file the program owns. Its files in the workspace belong
#: to the workspace's owner on the host (root in CI), so ``chmod u+s`` would leave a set-uid
#: program behind for whoever runs it later, outside the sandbox.
_SET_ID_BITS = 0o6000
_O_CREAT_OR_TMPFILE = 0o100 | 0o20000000  # O_CREAT | __O_TMPFILE: the mode argument is used
#: Where the mode is, per syscall: (mode argument, flags argument or None when always used).
_MODE_ARGS: dict[str, tuple[int, int | None]] = {
    "chmod": (1, None), "fchmod": (1, None), "creat": (1, None), "mknod": (1, None),
    "fchmodat": (2, None), "fchmodat2": (2, None), "mknodat": (2, None),
    "open": (2, 1), "openat": (3, 2),
}  # fmt: skip


@dataclass(frozen=True)
class SeccompProfile:
    """What the filter lets through beyond TCP streams (names say what they open).

    ``allow_unix_sockets``: ``socket(AF_UNIX, ...)`` and datagram ``socketpair`` (stream and
    seqpacket ``socketpair(AF_UNIX)`` are always allowed: connected, they reach no one else).
    ``allow_udp``: ``SOCK_DGRAM`` on AF_INET/AF_INET6 (UDP only). ``notify_exec``: execve and
    execveat stop until the supervisor's :class:`ExecWatcher` answers (recording, not
    enforcement).
    """

    allow_unix_sockets: bool = False
    allow_udp: bool = False
    notify_exec: bool = False


def native_arch() -> str:
    """The running architecture's name as :data:`SYSCALLS` spells it."""
    machine = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


class _Asm:
    """A forward-only BPF assembler: jumps name labels, resolved to 8-bit offsets at the end."""

    def __init__(self) -> None:
        self.code: list[tuple[int, str | int, str | int, int]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        assert name not in self.labels, name
        self.labels[name] = len(self.code)

    def op(self, code: int, k: int, jt: str | int = 0, jf: str | int = 0) -> None:
        self.code.append((code, jt, jf, k))

    def load(self, offset: int) -> None:
        self.op(_BPF_LD_W_ABS, offset)

    def ret(self, action: int) -> None:
        self.op(_BPF_RET_K, action)

    def jeq(self, k: int, target: str) -> None:
        self.op(_BPF_JEQ_K, k, jt=target)

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, jt, jf, k) in enumerate(self.code):
            offsets = []
            for target in (jt, jf):
                if isinstance(target, int):
                    offsets.append(target)
                    continue
                offset = self.labels[target] - index - 1
                if not 0 <= offset <= 255:
                    raise ContainmentError(f"seccomp: jump to {target} out of range ({offset})")
                offsets.append(offset)
            out += struct.pack("<HBBI", code, offsets[0], offsets[1], k & 0xFFFFFFFF)
        if len(self.code) > _BPF_MAXINSNS:
            raise ContainmentError("seccomp: filter too long")
        return bytes(out)


def _errno(err: int) -> int:
    return RET_ERRNO | (err & 0xFFFF)


@functools.lru_cache(maxsize=16)
def build_filter(profile: SeccompProfile, *, arch: str | None = None) -> bytes:
    """The ``struct sock_filter`` array for ``profile`` on ``arch`` (default: this machine).

    Pure: the same profile and arch give the same bytes (kept: a process that runs many
    sandboxes builds each filter once, 0.2-0.3 ms saved a run); ``install`` loads them.
    """
    arch = arch or native_arch()
    if arch not in SYSCALLS:
        raise ContainmentError(
            f"seccomp: architecture {arch!r} is not supported (x86_64 and aarch64 are); "
            "refusing to run without the syscall filter"
        )
    nr = SYSCALLS[arch]
    a = _Asm()
    a.load(_OFF_ARCH)
    a.op(_BPF_JEQ_K, AUDIT_ARCH[arch], jt=1, jf=0)
    a.ret(RET_KILL_PROCESS)
    a.load(_OFF_NR)
    if arch == "x86_64":
        a.op(_BPF_JSET_K, _X32_SYSCALL_BIT, jt="kill", jf=0)
    # Syscalls whose verdict depends on arguments run this program every time (the kernel's
    # cache only holds constant verdicts): the frequent ones are tested first.
    a.jeq(nr["ioctl"], "ioctl")
    a.jeq(nr["sendto"], "send_flags3")
    a.jeq(nr["sendmsg"], "send_flags2")
    a.jeq(nr["sendmmsg"], "send_flags3")
    a.jeq(nr["socket"], "socket")
    a.jeq(nr["clone"], "clone")
    a.jeq(nr["socketpair"], "socketpair")
    a.jeq(nr["personality"], "personality")
    a.jeq(nr["seccomp"], "seccomp")
    for name, (mode_arg, flags_arg) in _MODE_ARGS.items():
        if name in nr:
            a.jeq(nr[name], f"mode{mode_arg}" if flags_arg is None else f"{name}_flags")
    for name in DENY_EPERM:
        a.jeq(nr[name], "eperm")
    a.jeq(nr["clone3"], "enosys")
    a.jeq(nr["openat2"], "enosys")
    if profile.notify_exec:
        a.jeq(nr["execve"], "notify")
        a.jeq(nr["execveat"], "notify")
    a.ret(RET_ALLOW)
    a.label("eperm")
    a.ret(_errno(errno.EPERM))
    a.label("enosys")
    a.ret(_errno(errno.ENOSYS))
    a.label("kill")
    a.ret(RET_KILL_PROCESS)
    if profile.notify_exec:
        a.label("notify")
        a.ret(RET_USER_NOTIF)

    # Argument checks: each section ends in its own returns, so every jump stays forward.
    a.label("clone")
    a.load(_arg_lo(0))
    a.op(_BPF_JSET_K, CLONE_NEW_MASK, jt=1, jf=0)
    a.ret(RET_ALLOW)
    a.ret(_errno(errno.EPERM))

    a.label("ioctl")
    a.load(_arg_lo(1))
    a.jeq(TIOCSTI, "ioctl_deny")
    a.jeq(TIOCLINUX, "ioctl_deny")
    a.ret(RET_ALLOW)
    a.label("ioctl_deny")
    a.ret(_errno(errno.EPERM))

    a.label("personality")
    a.load(_arg_lo(0))
    a.jeq(0, "personality_ok")
    a.jeq(_PERSONALITY_QUERY, "personality_ok")
    a.ret(_errno(errno.EPERM))
    a.label("personality_ok")
    a.ret(RET_ALLOW)

    a.label("send_flags2")  # sendmsg(fd, msg, flags)
    a.load(_arg_lo(2))
    a.op(_BPF_JSET_K, _MSG_FASTOPEN, jt=1, jf=0)
    a.ret(RET_ALLOW)
    a.ret(_errno(errno.EPERM))
    a.label("send_flags3")  # sendto(fd, buf, len, flags, ...), sendmmsg(fd, vec, n, flags)
    a.load(_arg_lo(3))
    a.op(_BPF_JSET_K, _MSG_FASTOPEN, jt=1, jf=0)
    a.ret(RET_ALLOW)
    a.ret(_errno(errno.EPERM))

    a.label("seccomp")
    a.load(_arg_lo(1))
    a.op(_BPF_JSET_K, _SECCOMP_FILTER_FLAG_NEW_LISTENER, jt=1, jf=0)
    a.ret(RET_ALLOW)
    a.ret(_errno(errno.EPERM))

    # A set-id bit in a mode: chmod family, mknod, and opens that create (O_CREAT, O_TMPFILE).
    for name, (_, flags_arg) in _MODE_ARGS.items():
        if flags_arg is not None and name in nr:
            a.label(f"{name}_flags")
            a.load(_arg_lo(flags_arg))
            a.op(_BPF_JSET_K, _O_CREAT_OR_TMPFILE, jt=f"mode{_MODE_ARGS[name][0]}", jf=0)
            a.ret(RET_ALLOW)
    for mode_arg in sorted({arg for arg, _ in _MODE_ARGS.values()}):
        a.label(f"mode{mode_arg}")
        a.load(_arg_lo(mode_arg))
        a.op(_BPF_JSET_K, _SET_ID_BITS, jt=1, jf=0)
        a.ret(RET_ALLOW)
        a.ret(_errno(errno.EPERM))

    a.label("socketpair")
    a.load(_arg_lo(0))
    a.op(_BPF_JEQ_K, socket.AF_UNIX, jt=1, jf=0)
    a.ret(_errno(errno.EAFNOSUPPORT))
    if not profile.allow_unix_sockets:
        # A datagram pair can sendto()/connect() any path-named datagram socket (/dev/log,
        # journald, sd_notify), which Landlock below ABI 9 does not check: connected kinds only.
        a.load(_arg_lo(1))
        a.op(_BPF_ALU_AND_K, ~_SOCK_TYPE_FLAGS & 0xFFFFFFFF)
        a.jeq(socket.SOCK_STREAM, "socketpair_ok")
        a.jeq(socket.SOCK_SEQPACKET, "socketpair_ok")
        a.ret(_errno(errno.EPERM))
    a.label("socketpair_ok")
    a.ret(RET_ALLOW)

    a.label("socket")
    a.load(_arg_lo(0))
    a.jeq(socket.AF_INET, "inet")
    a.jeq(socket.AF_INET6, "inet")
    if profile.allow_unix_sockets:
        a.jeq(socket.AF_UNIX, "socket_ok")
    a.ret(_errno(errno.EAFNOSUPPORT))
    a.label("inet")
    a.load(_arg_lo(1))
    a.op(_BPF_ALU_AND_K, ~_SOCK_TYPE_FLAGS & 0xFFFFFFFF)
    a.jeq(socket.SOCK_STREAM, "stream")
    if profile.allow_udp:
        a.jeq(socket.SOCK_DGRAM, "dgram")
    a.ret(_errno(errno.EPERM))
    a.label("stream")
    a.load(_arg_lo(2))
    a.jeq(0, "socket_ok")
    a.jeq(_IPPROTO_TCP, "socket_ok")
    a.ret(_errno(errno.EPERM))
    if profile.allow_udp:
        a.label("dgram")
        a.load(_arg_lo(2))
        a.jeq(0, "socket_ok")
        a.jeq(_IPPROTO_UDP, "socket_ok")
        a.ret(_errno(errno.EPERM))
    a.label("socket_ok")
    a.ret(RET_ALLOW)
    return a.assemble()


def decode(program: bytes) -> list[tuple[int, int, int, int]]:
    """``(code, jt, jf, k)`` per instruction: for tests and ``warden doctor --verbose``."""
    return [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _fail(what: str) -> ContainmentError:
    err = ctypes.get_errno()
    return ContainmentError(
        f"seccomp: {what} failed: {errno.errorcode.get(err, err)}: {os.strerror(err)}"
    )


def load_program(program: bytes, *, new_listener: bool = False, arch: str | None = None) -> int:
    """Set no_new_privs and load ``program`` on the calling thread; the listener fd or 0."""
    arch = arch or native_arch()
    if arch not in SYSCALLS:
        raise ContainmentError(f"seccomp: architecture {arch!r} is not supported")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
    # With a listener, WAIT_KILLABLE_RECV (5.19+) keeps a received notification from being
    # interrupted and restarted by a signal (which would record one exec twice); older
    # kernels refuse the flag with EINVAL, and then it is loaded without it.
    attempts = (
        (_SECCOMP_FILTER_FLAG_NEW_LISTENER | _SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
         _SECCOMP_FILTER_FLAG_NEW_LISTENER)
        if new_listener
        else (0,)
    )  # fmt: skip
    for flags in attempts:
        res = _libc.syscall(
            ctypes.c_long(SYSCALLS[arch]["seccomp"]),
            ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
            ctypes.c_uint(flags),
            ctypes.byref(prog),
        )
        if res >= 0:
            return int(res)
        if ctypes.get_errno() != errno.EINVAL:
            break
    raise _fail("seccomp(SECCOMP_SET_MODE_FILTER)")


def install(profile: SeccompProfile, *, program: bytes | None = None) -> int | None:
    """Install the filter for ``profile`` on the calling (single-threaded) process.

    Returns the user-notification listener fd (``O_CLOEXEC``) when ``profile.notify_exec``,
    else None. Pass ``program`` (``build_filter(profile)``, computed in the parent before
    ``fork``, for the same profile) to keep the child's work to a few syscalls. TSYNC is off:
    the child is single-threaded, and a filter on one thread is what it needs.
    """
    code = program if program is not None else build_filter(profile)
    res = load_program(code, new_listener=profile.notify_exec)
    return res if profile.notify_exec else None
