"""The supervisor's set-up channel: messages from racing processes are kept, errors fail."""

from __future__ import annotations

import os
import socket

import pytest

from warden.contain.cgroup import CgroupError
from warden.contain.stage import recv_message_from, send_message
from warden.contain.supervisor import SandboxError, _expect, _expect_from, _Mover, _Task


def test_an_exec_listener_arriving_before_init_is_kept_for_later() -> None:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r, w = os.pipe()
    try:
        send_message(child, {"exec_listener": True}, [r])  # the program was faster
        send_message(child, {"init": 42})
        early: list = []
        msg, _ = _expect(parent, "init", early)
        assert msg == {"init": 42}
        assert len(early) == 1 and early[0][0] == {"exec_listener": True}
        assert len(early[0][1]) == 1  # the listener fd travelled with it
        os.close(early[0][1][0])
    finally:
        for fd in (r, w):
            os.close(fd)
        parent.close()
        child.close()


@pytest.mark.parametrize(
    ("msg", "why"),
    [({"error": "mounts: EPERM"}, "set-up failed at mounts"), ({"surprise": 1}, "unexpected")],
)
def test_errors_and_unknown_messages_fail_closed(msg, why) -> None:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        send_message(child, msg)
        with pytest.raises(SandboxError, match=why):
            _expect(parent, "init", [])
    finally:
        parent.close()
        child.close()


def test_a_closed_channel_during_set_up_is_an_error() -> None:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    child.close()
    with pytest.raises(SandboxError, match="ended during set-up"):
        _expect(parent, "proxy")
    parent.close()


def test_the_sender_pid_comes_from_the_kernel() -> None:
    """SO_PASSCRED: the supervisor learns the global pid of a process that may see itself as
    pid 2 in its own namespace, and cannot be told another."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        send_message(child, {"ready": True, "pid": 1})
        os._exit(0)
    try:
        msg, fds, sender = _expect_from(parent, ("init", "ready"))
        assert msg["ready"] and fds == [] and sender == pid
    finally:
        os.waitpid(pid, 0)
        parent.close()
        child.close()


def test_descriptors_still_travel_beside_the_credentials() -> None:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    r, w = os.pipe()
    try:
        send_message(child, {"proxy": 3128}, [r])
        msg, fds, sender = recv_message_from(parent)
        assert msg == {"proxy": 3128} and len(fds) == 1 and sender == os.getpid()
        os.write(w, b"x")
        assert os.read(fds[0], 1) == b"x"  # the same pipe
        os.close(fds[0])
    finally:
        for fd in (r, w):
            os.close(fd)
        parent.close()
        child.close()


class _StubCgroup:
    """Refuses the pids in ``refuse`` with the given cause; records every move."""

    def __init__(self, refuse: dict[int, OSError]) -> None:
        self.refuse = refuse
        self.added: list[int] = []

    def add(self, pid: int) -> None:
        self.added.append(pid)
        if pid in self.refuse:
            raise CgroupError(f"cannot move process {pid}") from self.refuse[pid]


def _mover(cgroup: _StubCgroup) -> _Mover:
    mover = _Mover()
    mover.begin(cgroup, 4242)  # type: ignore[arg-type]
    return mover


def test_the_stage_then_init_then_the_program_are_moved_in_order() -> None:
    cgroup = _StubCgroup({})
    mover = _mover(cgroup)
    mover.add(4243)
    mover.add(4244)
    mover.finish()
    assert cgroup.added == [4242, 4243, 4244]


def test_the_early_move_of_the_stage_may_miss_it() -> None:
    """The stage may have exited (its move only starts the kernel's wait early)."""
    mover = _mover(_StubCgroup({4242: ProcessLookupError(3, "No such process")}))
    mover.add(4243)
    mover.finish()


def test_init_or_the_program_missing_from_the_cgroup_stops_the_run() -> None:
    mover = _mover(_StubCgroup({4243: ProcessLookupError(3, "No such process")}))
    mover.add(4243)
    with pytest.raises(CgroupError, match="4243"):
        mover.finish()


def test_a_cgroup_that_refuses_members_stops_the_run() -> None:
    mover = _mover(_StubCgroup({4243: PermissionError(13, "Permission denied")}))
    mover.add(4243)
    with pytest.raises(CgroupError, match="cannot move"):
        mover.finish()
    mover.finish()  # raised once; the clean-up path may call it again


def test_an_unexpected_error_in_the_mover_stops_the_run_too() -> None:
    """Only CgroupError was caught: any other exception ended the thread with no error set,
    and "go" went out with the program outside the cgroup."""

    class _Broken(_StubCgroup):
        def add(self, pid: int) -> None:
            if pid == 4243:
                raise RuntimeError("unexpected")
            super().add(pid)

    mover = _mover(_Broken({}))
    mover.add(4243)
    with pytest.raises(CgroupError, match="RuntimeError: unexpected"):
        mover.finish()


def test_a_mover_that_never_began_has_nothing_to_finish() -> None:
    _Mover().finish()


def test_a_background_task_hands_back_its_value_or_its_error() -> None:
    assert _Task(sum, [1, 2, 3]).result() == 6
    with pytest.raises(ZeroDivisionError):
        _Task(divmod, 1, 0).result()
