"""The seccomp filter on the real kernel, plus a BPF interpreter for the arch we cannot run.

Each denied syscall is called twice with the same harmless arguments: in an unfiltered child
(the kernel answers something other than the filter's errno: EFAULT, EBADF, success...) and in
a filtered child (the filter's errno). So a pass proves the filter, not the arguments, decided.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.contain.sandbox import in_child

from warden.contain import execwatch, landlock, seccomp
from warden.contain.execwatch import ExecEvent, ExecWatcher
from warden.contain.seccomp import (
    AUDIT_ARCH,
    DENY_EPERM,
    SYSCALLS,
    SeccompProfile,
    build_filter,
)
from warden.errors import ContainmentError

ARCH = seccomp.native_arch()
NR = SYSCALLS.get(ARCH, {})
native = pytest.mark.skipif(ARCH not in SYSCALLS, reason=f"no filter for {ARCH}")
x86_only = pytest.mark.skipif(ARCH != "x86_64", reason="x86_64-specific attack")
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def syscall(name: str, *args: int) -> str:
    """Raw syscall by name: ``"ok"`` or the errno name."""
    res = _libc.syscall(ctypes.c_long(NR[name]), *(ctypes.c_long(a) for a in args))
    return "ok" if res >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")


def attempt(op: Callable[[], object]) -> str:
    try:
        op()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return "ok"




def filtered(profile: SeccompProfile, body: Callable[[], object]) -> object:
    program = build_filter(profile)  # built in the parent, as the supervisor does

    def run() -> object:
        seccomp.install(profile, program=program)
        return body()

    result, status = in_child(run)
    assert os.waitstatus_to_exitcode(status) == 0, status
    return result


@pytest.fixture(scope="module")
def victim() -> Iterator[int]:
    """A throwaway process to aim ptrace-class calls at (never pytest itself)."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _deny_args(victim: int) -> dict[str, tuple[int, ...]]:
    """Harmless arguments: unfiltered, each call fails on a bad pointer/fd or does nothing."""
    return {
        "ptrace": (16, victim, 0, 0),  # PTRACE_ATTACH on the throwaway process
        "process_vm_readv": (victim, 0, 0, 0, 0, 0),
        "process_vm_writev": (victim, 0, 0, 0, 0, 0),
        "pidfd_getfd": (-1, 0, 0),
        "bpf": (-1, 0, 0),
        "perf_event_open": (0, 0, -1, -1, 0),
        "userfaultfd": (-1,),
        "io_uring_setup": (0, 0),
        "io_uring_enter": (-1, 0, 0, 0, 0, 0),
        "io_uring_register": (-1, 0, 0, 0),
        "mount": (0, 0, 0, 0, 0),
        "umount2": (0, 0),
        "pivot_root": (0, 0),
        "move_mount": (-1, 0, -1, 0, 0),
        "open_tree": (-1, 0, 0),
        "open_tree_attr": (-1, 0, 0, 0, 0),
        "fsopen": (0, 0),
        "fsconfig": (-1, 0, 0, 0, 0),
        "fsmount": (-1, 0, 0),
        "fspick": (-1, 0, 0),
        "mount_setattr": (-1, 0, 0, 0, 0),
        "setns": (-1, 0),
        "unshare": (0,),  # no flags: a no-op when allowed
        "init_module": (0, 0, 0),
        "finit_module": (-1, 0, 0),
        "delete_module": (0, 0),
        "kexec_load": (0, 1000, 0, 0),  # too many segments: EINVAL when allowed
        "kexec_file_load": (-1, -1, 0, 0, -1),
        "keyctl": (-1, 0, 0, 0, 0),
        "add_key": (0, 0, 0, 0, 0),
        "request_key": (0, 0, 0, 0),
        "reboot": (0, 0, 0, 0),  # bad magic: EINVAL when allowed
        "swapon": (0, 0),
        "swapoff": (0,),
        "syslog": (10, 0, 0),  # SYSLOG_ACTION_SIZE_BUFFER
        "acct": (-1,),
        "open_by_handle_at": (-1, 0, 0),
        "name_to_handle_at": (-1, 0, 0, 0, 0),
    }


@pytest.fixture(scope="module")
def deny_results(victim: int) -> dict[str, tuple[str, str]]:
    """name -> (unfiltered result, filtered result), each measured in its own child."""
    table = _deny_args(victim)
    assert set(table) == set(DENY_EPERM), "every denied syscall needs harmless test arguments"

    def calls() -> dict[str, str]:
        return {name: syscall(name, *args) for name, args in table.items()}

    plain, _ = in_child(calls)
    with_filter = filtered(SeccompProfile(), calls)
    assert isinstance(plain, dict) and isinstance(with_filter, dict)
    return {name: (plain[name], with_filter[name]) for name in table}


@native
@pytest.mark.parametrize("name", DENY_EPERM)
def test_denied_syscall_returns_eperm(name: str, deny_results: dict[str, tuple[str, str]]) -> None:
    plain, with_filter = deny_results[name]
    if plain == "EPERM":
        pytest.skip(f"{name} already fails with EPERM here: cannot tell the filter decided")
    assert with_filter == "EPERM", f"{name}: {with_filter} (unfiltered: {plain})"


CLONE_NEWUSER = 0x10000000
SIGCHLD = 17


def _raw_clone(flags: int) -> str:
    """clone(2) without a new stack: a fork. If it ever succeeds the grandchild leaves at once."""
    res = _libc.syscall(ctypes.c_long(NR["clone"]), ctypes.c_long(flags), *(ctypes.c_long(0),) * 4)
    if res == 0:
        os._exit(0)
    if res < 0:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    os.waitpid(res, 0)
    return "ok"


@native
def test_namespaces_clone3_personality_are_refused() -> None:
    def body() -> dict[str, str]:
        return {
            "unshare_user": syscall("unshare", CLONE_NEWUSER),
            "unshare_net": syscall("unshare", 0x40000000),
            "clone_newuser": _raw_clone(CLONE_NEWUSER | SIGCHLD),
            "clone_newuser_high_bits": _raw_clone((1 << 32) | CLONE_NEWUSER | SIGCHLD),
            "clone_plain": _raw_clone(SIGCHLD),
            "clone3": syscall("clone3", 0, 0),
            "personality_query": syscall("personality", 0xFFFFFFFF),
            "personality_default": syscall("personality", 0),
            "personality_no_aslr": syscall("personality", 0x0040000),
            "personality_read_implies_exec": syscall("personality", 0x0400000),
        }

    assert filtered(SeccompProfile(), body) == {
        "unshare_user": "EPERM",
        "unshare_net": "EPERM",
        "clone_newuser": "EPERM",
        "clone_newuser_high_bits": "EPERM",
        "clone_plain": "ok",
        "clone3": "ENOSYS",
        "personality_query": "ok",
        "personality_default": "ok",
        "personality_no_aslr": "EPERM",
        "personality_read_implies_exec": "EPERM",
    }


TIOCSTI, TIOCLINUX = 0x5412, 0x541C


@native
def test_terminal_injection_is_refused_including_high_bit_aliases() -> None:
    """TIOCSTI pushes input into the terminal; the kernel ignores the ioctl number's high half."""

    def body() -> dict[str, str]:
        master, slave = os.openpty()
        char = ctypes.c_char(b"x")
        out = {}
        for label, cmd in (
            ("tiocsti", TIOCSTI),
            ("tiocsti_high", (1 << 32) | TIOCSTI),
            ("tiocsti_high2", (0xFFFF << 32) | TIOCSTI),
            ("tioclinux", TIOCLINUX),
        ):
            res = _libc.syscall(
                ctypes.c_long(NR["ioctl"]), ctypes.c_long(slave), ctypes.c_long(cmd),
                ctypes.byref(char),
            )  # fmt: skip
            out[label] = "ok" if res >= 0 else errno.errorcode[ctypes.get_errno()]
        out["tcgets"] = attempt(lambda: os.tcgetpgrp(slave))
        os.close(master)
        os.close(slave)
        return out

    plain, _ = in_child(body)
    assert isinstance(plain, dict)
    with_filter = filtered(SeccompProfile(), body)
    assert isinstance(with_filter, dict)
    assert with_filter["tiocsti"] == with_filter["tiocsti_high"] == "EPERM"
    assert with_filter["tiocsti_high2"] == with_filter["tioclinux"] == "EPERM"
    assert plain["tioclinux"] != "EPERM"  # a pty is no virtual console: the kernel says so
    if plain["tiocsti"] != "EPERM":  # root, or legacy_tiocsti=1: the attack works unfiltered
        assert plain["tiocsti"] == plain["tiocsti_high"] == "ok"
    assert with_filter["tcgets"] == plain["tcgets"]  # other terminal ioctls are untouched


AF_VSOCK, AF_ALG = 40, 38
IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_MPTCP, IPPROTO_UDPLITE = 1, 132, 262, 136


def _socket_matrix() -> dict[str, str]:
    def sock(family: int, kind: int, proto: int = 0) -> str:
        return syscall("socket", family, kind, proto)

    inet, inet6, unix = socket.AF_INET, socket.AF_INET6, socket.AF_UNIX
    stream, dgram, raw = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW
    return {
        "tcp": sock(inet, stream),
        "tcp_explicit": sock(inet, stream, socket.IPPROTO_TCP),
        "tcp6": sock(inet6, stream),
        "tcp_flags": sock(inet, stream | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC),
        "tcp_high_bits": sock(inet | (1 << 32), stream | (1 << 40)),
        "mptcp": sock(inet, stream, IPPROTO_MPTCP),
        "sctp": sock(inet, stream, IPPROTO_SCTP),
        "udp": sock(inet, dgram),
        "udp_explicit": sock(inet, dgram, socket.IPPROTO_UDP),
        "udp6": sock(inet6, dgram),
        "udplite": sock(inet, dgram, IPPROTO_UDPLITE),
        "ping": sock(inet, dgram, IPPROTO_ICMP),
        "raw": sock(inet, raw, IPPROTO_ICMP),
        "seqpacket_inet": sock(inet, socket.SOCK_SEQPACKET, IPPROTO_SCTP),
        "unix_stream": sock(unix, stream),
        "unix_dgram": sock(unix, dgram),
        "packet": sock(socket.AF_PACKET, raw, 0),
        "netlink": sock(socket.AF_NETLINK, raw, 0),
        "vsock": sock(AF_VSOCK, stream),
        "alg": sock(AF_ALG, socket.SOCK_SEQPACKET),
        "socketpair_unix": attempt(lambda: socket.socketpair()),
        "socketpair_seqpacket": attempt(lambda: socket.socketpair(unix, socket.SOCK_SEQPACKET)),
        "socketpair_dgram": attempt(lambda: socket.socketpair(unix, dgram)),
        "socketpair_inet": syscall("socketpair", inet, stream, 0, 0),
    }


DEFAULT_SOCKETS = {
    "tcp": "ok",
    "tcp_explicit": "ok",
    "tcp6": "ok",
    "tcp_flags": "ok",
    "tcp_high_bits": "ok",  # the kernel reads int arguments: high bits change nothing
    "mptcp": "EPERM",  # not covered by Landlock's TCP port rules (see test_landlock)
    "sctp": "EPERM",
    "udp": "EPERM",
    "udp_explicit": "EPERM",
    "udp6": "EPERM",
    "udplite": "EPERM",
    "ping": "EPERM",
    "raw": "EPERM",
    "seqpacket_inet": "EPERM",
    "unix_stream": "EAFNOSUPPORT",
    "unix_dgram": "EAFNOSUPPORT",
    "packet": "EAFNOSUPPORT",
    "netlink": "EAFNOSUPPORT",
    "vsock": "EAFNOSUPPORT",
    "alg": "EAFNOSUPPORT",
    "socketpair_unix": "ok",
    "socketpair_seqpacket": "ok",
    "socketpair_dgram": "EPERM",  # could sendto() any path-named datagram socket
    "socketpair_inet": "EAFNOSUPPORT",
}


@native
def test_sockets_default_profile_tcp_only() -> None:
    assert filtered(SeccompProfile(), _socket_matrix) == DEFAULT_SOCKETS


@native
def test_sockets_unix_and_udp_when_the_profile_allows() -> None:
    result = filtered(SeccompProfile(allow_unix_sockets=True, allow_udp=True), _socket_matrix)
    expected = dict(DEFAULT_SOCKETS)
    expected.update(unix_stream="ok", unix_dgram="ok", udp="ok", udp_explicit="ok", udp6="ok")
    expected.update(socketpair_dgram="ok")
    assert result == expected  # ping, UDP-Lite, raw, packet, netlink stay refused


@native
def test_udp_exfiltration_reaches_nothing() -> None:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.2)
    port = sink.getsockname()[1]

    def exfil() -> str:
        def send() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"AKIA-secret", ("127.0.0.1", port))

        return attempt(send)

    try:
        assert filtered(SeccompProfile(), exfil) == "EPERM"
        with pytest.raises(TimeoutError):
            sink.recvfrom(100)
        assert in_child(exfil)[0] == "ok"  # the same code unfiltered does reach the sink
        assert sink.recvfrom(100)[0] == b"AKIA-secret"
    finally:
        sink.close()


@native
def test_unix_datagram_exfiltration_through_socket_pairs_reaches_nothing(tmp_path: Path) -> None:
    """Socket pairs are allowed, but none of them can be aimed at a path-named socket."""
    sink_path = str(tmp_path / "journal.sock")  # stands for /dev/log or journald
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(sink_path)
    sink.settimeout(0.2)

    def exfil() -> dict[str, str]:
        out = {}
        for name, kind in (("stream", socket.SOCK_STREAM), ("seqpacket", socket.SOCK_SEQPACKET),
                           ("dgram", socket.SOCK_DGRAM)):  # fmt: skip
            try:
                a, b = socket.socketpair(socket.AF_UNIX, kind)
            except OSError as exc:
                out[name] = "pair " + errno.errorcode[exc.errno or 0]
                continue
            with a, b:
                out[name + "_sendto"] = attempt(lambda a=a: a.sendto(b"AKIA", sink_path))
                out[name + "_connect"] = attempt(lambda a=a: a.connect(sink_path))
        return out

    try:
        plain, _ = in_child(exfil)
        assert isinstance(plain, dict)
        assert plain["dgram_sendto"] == "ok"  # the attack, unfiltered
        assert sink.recv(100) == b"AKIA"
        r = filtered(SeccompProfile(), exfil)
        assert isinstance(r, dict)
        assert r.pop("dgram") == "pair EPERM"
        # connected pairs: connect() fails, and sendto()'s address is refused (stream) or
        # ignored (seqpacket: the datagram goes to the pair's own peer)
        assert r["stream_connect"] != "ok" and r["seqpacket_connect"] != "ok", r
        assert r["stream_sendto"] != "ok", r
        with pytest.raises(TimeoutError):
            sink.recv(100)  # whatever the calls returned, nothing reached the sink
    finally:
        sink.close()


@native
def test_tcp_fast_open_is_refused_and_ordinary_sends_work() -> None:
    """MSG_FASTOPEN connects inside sendto, past Landlock's connect rule: refused on every send."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.3)
    port = server.getsockname()[1]
    fastopen = 0x20000000

    def body() -> dict[str, str]:
        def via(call: Callable[[socket.socket], object]) -> str:
            with socket.socket() as s:
                return attempt(lambda: call(s))

        def ordinary() -> None:
            with socket.create_connection(("127.0.0.1", port), 2) as s:
                s.sendall(b"a")
                s.sendmsg([b"b"])
                s.sendto(b"c", 0, ("127.0.0.1", port))

        return {
            "sendto": via(lambda s: s.sendto(b"x", fastopen, ("127.0.0.1", port))),
            "sendmsg": via(lambda s: s.sendmsg([b"x"], [], fastopen, ("127.0.0.1", port))),
            "sendmmsg": syscall("sendmmsg", -1, 0, 0, fastopen),
            "sendmmsg_plain": syscall("sendmmsg", -1, 0, 0, 0),
            "ordinary": attempt(ordinary),
        }

    try:
        r = filtered(SeccompProfile(), body)
        assert r == {
            "sendto": "EPERM",
            "sendmsg": "EPERM",
            "sendmmsg": "EPERM",
            "sendmmsg_plain": "EBADF",  # reached the kernel: only the flag is refused
            "ordinary": "ok",
        }
        conn, _ = server.accept()  # the ordinary connection, and only it
        with conn:
            conn.settimeout(2)
            data = b""
            while len(data) < 3 and (chunk := conn.recv(10)):
                data += chunk
        assert data == b"abc"
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()


@x86_only
def test_x32_syscalls_kill_the_process() -> None:
    getpid_x32 = 0x40000000 | 39

    def body() -> str:
        res = _libc.syscall(ctypes.c_long(getpid_x32))
        return "ok" if res >= 0 else errno.errorcode[ctypes.get_errno()]

    plain, _ = in_child(body)
    program = build_filter(SeccompProfile())

    def run() -> str:
        seccomp.install(SeccompProfile(), program=program)
        return body()

    result, status = in_child(run)
    assert result is None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS
    assert plain in ("ok", "ENOSYS")  # x32 built or not, only the filter kills


def _int80_getpid() -> int:
    """i386 getpid through ``int 0x80`` from 64-bit code: 8 bytes of machine code, no assembler.

    ``mov eax, 20; int 0x80; ret``: the compat entry point, whose syscall numbers differ.
    """
    code = bytes.fromhex("b814000000cd80c3")
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    return int(ctypes.CFUNCTYPE(ctypes.c_int)(address)())


@x86_only
def test_i386_compat_syscalls_kill_the_process() -> None:
    plain, _ = in_child(_int80_getpid)
    program = build_filter(SeccompProfile())

    def run() -> int:
        seccomp.install(SeccompProfile(), program=program)
        return _int80_getpid()

    result, status = in_child(run)
    assert result is None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS
    assert isinstance(plain, int)  # the pid, or -ENOSYS without IA32 emulation


def _system_read() -> tuple[str, ...]:
    paths = ("/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", sys.prefix, sys.base_prefix)
    return tuple(p for p in paths if os.path.exists(p))


@native
def test_ordinary_programs_work_under_seccomp_and_landlock(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    layers: list[Callable[[], object]] = []
    ruleset = None
    if landlock.abi_version() >= 1:
        spec = landlock.LandlockSpec(read=_system_read(), write=(str(ws), "/dev/null"))
        ruleset = landlock.prepare(spec)
        layers.append(ruleset.enforce)
    program = build_filter(SeccompProfile())
    layers.append(lambda: seccomp.install(SeccompProfile(), program=program))

    def contain() -> None:
        for layer in layers:
            layer()

    py_threads = (
        "import socket, subprocess, threading;"
        "a, b = socket.socketpair();"
        "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join();"
        "print(subprocess.run(['true']).returncode)"
    )
    programs = {
        "sh": ["/bin/sh", "-c", 'ls /usr >/dev/null && echo hi > "$W/f" && echo ok'],
        "python": [sys.executable, "-c", py_threads],
        "git": ["git", "--version"],
    }
    env = {**os.environ, "W": str(ws)}
    try:
        done = {
            name: subprocess.run(
                argv, capture_output=True, text=True, preexec_fn=contain, env=env
            )
            for name, argv in programs.items()
        }  # fmt: skip
    finally:
        if ruleset is not None:
            ruleset.close()
    assert (done["sh"].returncode, done["sh"].stdout) == (0, "ok\n"), done["sh"].stderr
    assert (ws / "f").read_text() == "hi\n"
    assert (done["python"].returncode, done["python"].stdout) == (0, "thread\n0\n")
    assert done["git"].returncode == 0 and done["git"].stdout.startswith("git version")


# ---- the filter as data: pure tests, and an interpreter for arches we cannot run ----------


def run_bpf(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    """Evaluate a classic BPF seccomp program on one ``struct seccomp_data`` (RET value)."""
    return bpf_trace(program, nr, arch, args)[0]


def bpf_trace(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> tuple[int, int]:
    """(RET value, instructions executed)."""
    full = (*args, *(0,) * (6 - len(args)))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(a & (2**64 - 1) for a in full))
    insns = seccomp.decode(program)
    acc, pc, steps = 0, 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        steps += 1
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:
            acc &= k
        elif code == 0x15:
            pc += jt if acc == k else jf
        elif code == 0x45:
            pc += jt if acc & k else jf
        elif code == 0x06:
            return k, steps
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


EPERM_RET = seccomp.RET_ERRNO | errno.EPERM


@pytest.mark.parametrize("arch", sorted(SYSCALLS))
def test_filter_logic_per_arch(arch: str) -> None:
    prog = build_filter(SeccompProfile(), arch=arch)
    nr, audit = SYSCALLS[arch], AUDIT_ARCH[arch]
    for name in DENY_EPERM:
        assert run_bpf(prog, nr[name], audit) == EPERM_RET, name
    assert run_bpf(prog, nr["clone3"], audit) == seccomp.RET_ERRNO | errno.ENOSYS
    assert run_bpf(prog, nr["execve"], audit) == seccomp.RET_ALLOW
    assert run_bpf(prog, nr["ioctl"], audit, (1, TIOCSTI)) == EPERM_RET
    assert run_bpf(prog, nr["ioctl"], audit, (1, 0x5401)) == seccomp.RET_ALLOW
    assert run_bpf(prog, nr["clone"], audit, (CLONE_NEWUSER,)) == EPERM_RET
    assert run_bpf(prog, nr["clone"], audit, (SIGCHLD,)) == seccomp.RET_ALLOW
    assert run_bpf(prog, nr["socket"], audit, (2, 1, 0)) == seccomp.RET_ALLOW
    assert run_bpf(prog, nr["socket"], audit, (16, 3, 0)) == seccomp.RET_ERRNO | errno.EAFNOSUPPORT
    assert run_bpf(prog, nr["sendto"], audit, (3, 0, 1, 0x20000000)) == EPERM_RET
    assert run_bpf(prog, nr["sendmsg"], audit, (3, 0, 0x20000000)) == EPERM_RET
    assert run_bpf(prog, nr["sendto"], audit, (3, 0, 1, 0x4000)) == seccomp.RET_ALLOW
    other = next(a for a in AUDIT_ARCH.values() if a != audit)
    assert run_bpf(prog, 0, other) == seccomp.RET_KILL_PROCESS  # a foreign ABI is killed
    assert run_bpf(prog, 0x40000000 | 39, audit) == (
        seccomp.RET_KILL_PROCESS if arch == "x86_64" else seccomp.RET_ALLOW
    )
    notify = build_filter(SeccompProfile(notify_exec=True), arch=arch)
    assert run_bpf(notify, nr["execve"], audit) == seccomp.RET_USER_NOTIF
    assert run_bpf(notify, nr["execveat"], audit) == seccomp.RET_USER_NOTIF


@pytest.mark.parametrize("arch", sorted(SYSCALLS))
def test_argument_checked_syscalls_decide_within_20_instructions(arch: str) -> None:
    """These run the program on every call (no kernel cache): keep them near the top."""
    nr, audit = SYSCALLS[arch], AUDIT_ARCH[arch]
    calls = {
        "ioctl": (1, 0x5401), "sendto": (3, 0, 1, 0), "sendmsg": (3, 0, 0),
        "sendmmsg": (3, 0, 0, 0), "socket": (2, 1, 6), "clone": (SIGCHLD,),
        "socketpair": (1, 1, 0), "personality": (0,), "seccomp": (1, 0, 0),
    }  # fmt: skip
    for profile in (SeccompProfile(), SeccompProfile(True, True, True)):
        prog = build_filter(profile, arch=arch)
        for name, args in calls.items():
            ret, steps = bpf_trace(prog, nr[name], audit, args)
            assert ret == seccomp.RET_ALLOW and steps <= 20, (name, steps)
        ret, steps = bpf_trace(prog, nr["socket"], audit, (10, 2, 17))
        assert steps <= 20 and (ret == seccomp.RET_ALLOW) == profile.allow_udp


def test_build_filter_is_pure_and_small() -> None:
    a = build_filter(SeccompProfile(allow_udp=True), arch="x86_64")
    assert a == build_filter(SeccompProfile(allow_udp=True), arch="x86_64")
    assert a != build_filter(SeccompProfile(), arch="x86_64")
    assert len(a) % 8 == 0 and len(a) // 8 < 200
    assert seccomp.decode(a)[0] == (0x20, 0, 0, 4)  # first: load arch


def test_unknown_arch_is_refused_clearly() -> None:
    with pytest.raises(ContainmentError, match="not supported"):
        build_filter(SeccompProfile(), arch="riscv64")


@native
def test_agent_cannot_add_its_own_listener_but_may_narrow_itself() -> None:
    """A newer filter's listener is asked first; CONTINUE there would hide execs from warden."""
    allow_all = struct.pack("<HBBI", 0x06, 0, 0, seccomp.RET_ALLOW)
    prog = (ctypes.c_char * len(allow_all)).from_buffer_copy(allow_all)

    def load(flags: int) -> str:
        fprog = seccomp._SockFprog(1, ctypes.cast(prog, ctypes.c_void_p))
        return syscall("seccomp", 1, flags, ctypes.addressof(fprog))

    def body() -> dict[str, str]:
        return {"listener": load(1 << 3), "listener_high": load((1 << 32) | (1 << 3)),
                "plain": load(0)}  # fmt: skip

    assert filtered(SeccompProfile(), body) == {
        "listener": "EPERM",
        "listener_high": "EPERM",
        "plain": "ok",
    }


# ---- exec recording ------------------------------------------------------------------------


def _under_watch(body: Callable[[socket.socket], object]) -> tuple[int, socket.socket, int]:
    """Fork a child that installs the exec-notifying filter, hands its listener over, waits for
    "go" and runs ``body(channel)``; ``(pid, parent end of the channel, listener fd)``."""
    program = build_filter(SeccompProfile(notify_exec=True))  # built in the parent
    parent_sock, child_sock = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            parent_sock.close()
            listener = seccomp.install(SeccompProfile(notify_exec=True), program=program)
            assert listener is not None
            socket.send_fds(child_sock, [b"L"], [listener])
            os.close(listener)
            child_sock.recv(1)  # the watcher is serving: go on
            body(child_sock)
        finally:
            os._exit(127)
    child_sock.close()
    _, fds, _, _ = socket.recv_fds(parent_sock, 1, 1)
    return pid, parent_sock, fds[0]


def _recorded(
    body: Callable[[socket.socket], object], during: Callable[[socket.socket], object] = bool
) -> tuple[list[ExecEvent], int, object, int]:
    """Run ``body`` under a watcher that records every exec; ``during(channel)`` runs in the
    parent after "go". The events, the child's exit status, what ``during`` returned, and the
    child's pid."""
    pid, parent_sock, listener = _under_watch(body)
    events: list[ExecEvent] = []
    watcher = ExecWatcher(listener, events.append)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    parent_sock.send(b"g")
    seen = during(parent_sock)
    _, status = os.waitpid(pid, 0)
    thread.join(10)
    parent_sock.close()
    assert not thread.is_alive(), "run() must return once the tree is gone"
    return events, status, seen, pid


@native
def test_exec_watcher_records_every_exec(tmp_path: Path) -> None:
    script = f"/bin/true one two; cd {tmp_path} && ls >/dev/null; echo done"
    events, status, _, pid = _recorded(lambda _: os.execv("/bin/sh", ["sh", "-c", script]))
    assert os.waitstatus_to_exitcode(status) == 0
    seen = [(e.path, e.argv) for e in events]
    assert seen == [
        ("/bin/sh", ("sh", "-c", script)),
        ("/bin/true", ("/bin/true", "one", "two")),
        (seen[2][0], ("ls",)),  # found on PATH by the shell: /bin/ls or /usr/bin/ls
    ]
    assert seen[2][0].endswith("/ls")
    assert events[0].pid == pid and events[1].ppid == pid
    assert events[2].cwd == str(tmp_path)
    assert not any(e.truncated for e in events)


@native
def test_exec_fails_closed_when_the_watcher_refuses_or_is_gone() -> None:
    """A recording failure refuses that exec; with the listener closed, exec fails (ENOSYS)."""

    def child(channel: socket.socket) -> None:
        first = attempt(lambda: os.execv("/bin/true", ["true"]))
        channel.send(first.encode().ljust(16))
        channel.recv(1)  # now the watcher has closed the listener
        second = attempt(lambda: os.execv("/bin/true", ["true"]))
        channel.send(second.encode().ljust(16))
        os._exit(0)

    pid, parent_sock, listener = _under_watch(child)

    def refuse(event: ExecEvent) -> None:
        raise RuntimeError(f"audit log unavailable for {event.path}")

    watcher = ExecWatcher(listener, refuse)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            watcher.run()
        except RuntimeError as exc:
            failures.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    parent_sock.send(b"g")
    first = parent_sock.recv(16).strip()
    thread.join(10)
    assert not thread.is_alive() and failures  # run() re-raised and closed the listener
    parent_sock.send(b"g")
    second = parent_sock.recv(16).strip()
    os.waitpid(pid, 0)
    parent_sock.close()
    assert (first, second) == (b"EPERM", b"ENOSYS")


@native
def test_fileless_exec_is_recorded_with_what_its_fd_names() -> None:
    """fexecve of a memfd (no path on disk): recorded as execveat with the memfd's name."""
    with open("/bin/true", "rb") as f:
        payload = f.read()

    def child(_: socket.socket) -> None:
        memfd = os.memfd_create("payload", 0)
        os.write(memfd, payload)
        os.execve(memfd, ["innocent-name"], {})

    events, status, _, _ = _recorded(child)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(events) == 1
    event = events[0]
    assert (event.syscall, event.path, event.argv) == ("execveat", "", ("innocent-name",))
    assert event.dirfd is not None and event.dirfd_path is not None
    assert event.dirfd_path.startswith("/memfd:payload")


@native
def test_exec_records_are_bounded_and_unreadable_ones_still_reported() -> None:
    """A bad pointer gives an event with ``error``; a huge argv is cut at MAX_ARGS and says so."""
    many = ["true", *(f"arg{i}" for i in range(execwatch.MAX_ARGS + 50))]

    def child(channel: socket.socket) -> None:
        bad = syscall("execve", 1, 0, 0)  # path pointer 1: unmapped
        channel.send(bad.encode().ljust(16))
        os.execv("/bin/true", many)

    events, status, bad_result, _ = _recorded(child, lambda channel: channel.recv(16).strip())
    assert bad_result == b"EFAULT" and os.waitstatus_to_exitcode(status) == 0
    assert len(events) == 2
    unreadable, huge = events
    assert unreadable.error is not None and unreadable.path == "" and unreadable.truncated
    assert huge.error is None and huge.truncated
    assert huge.argv == tuple(many[: execwatch.MAX_ARGS])


@native
def test_set_id_bits_are_refused_and_ordinary_modes_work(tmp_path: Path) -> None:
    """A file the program creates in the workspace belongs to the workspace's owner on the host
    (root in CI): a set-uid bit on it would leave a set-uid program behind, run later outside
    the sandbox. Every way to set one is refused; ordinary modes and opens still work."""
    target = tmp_path / "tool"
    target.write_bytes(b"#!/bin/sh\n")
    path = str(target).encode()
    buf = ctypes.create_string_buffer(path)
    at_fdcwd = -100

    def body() -> dict[str, str]:
        fd = os.open(target, os.O_RDONLY)
        try:
            out = {
                "chmod 4755": attempt(lambda: os.chmod(target, 0o4755)),
                "chmod 2755": attempt(lambda: os.chmod(target, 0o2755)),
                "fchmod 4755": attempt(lambda: os.fchmod(fd, 0o4755)),
                "fchmodat2 6755": syscall("fchmodat2", at_fdcwd, ctypes.addressof(buf), 0o6755, 0),
                "open O_CREAT 4755": attempt(lambda: os.close(os.open(
                    tmp_path / "a", os.O_CREAT | os.O_WRONLY, 0o4755))),
                "open O_TMPFILE 4755": attempt(lambda: os.close(os.open(
                    tmp_path, os.O_TMPFILE | os.O_WRONLY, 0o4755))),
                "mknod 4644": attempt(lambda: os.mknod(tmp_path / "m", 0o4644 | 0o100000)),
                "openat2": syscall("openat2", at_fdcwd, ctypes.addressof(buf), 0, 0),
                "chmod 755": attempt(lambda: os.chmod(target, 0o755)),
                "open O_CREAT 644": attempt(lambda: os.close(os.open(
                    tmp_path / "b", os.O_CREAT | os.O_WRONLY, 0o644))),
                "open read, junk mode": syscall("openat", at_fdcwd, ctypes.addressof(buf),
                                                os.O_RDONLY, 0o4755),
            }
            if "creat" in NR:
                name = ctypes.create_string_buffer(str(tmp_path / "c").encode())  # kept alive
                out["creat 4755"] = syscall("creat", ctypes.addressof(name), 0o4755)
            return out
        finally:
            os.close(fd)

    plain, _ = in_child(body)  # unfiltered, each of these works (the test can fail)
    assert plain["chmod 4755"] == "ok" and plain["open O_CREAT 4755"] == "ok"
    r = filtered(SeccompProfile(), body)
    assert isinstance(r, dict)
    setid = ("4755", "2755", "6755", "4644")
    refused = {k: v for k, v in r.items() if any(m in k for m in setid) and "junk" not in k}
    assert len(refused) >= 7 and set(refused.values()) == {"EPERM"}, r
    assert r["openat2"] == "ENOSYS"
    assert r["chmod 755"] == "ok" and r["open O_CREAT 644"] == "ok"
    assert r["open read, junk mode"] == "ok"  # without O_CREAT the mode means nothing
    assert not target.stat().st_mode & 0o6000
