"""The supervisor's set-up channel: messages from racing processes are kept, errors fail."""

from __future__ import annotations

import os
import socket

import pytest

from warden.contain.stage import send_message
from warden.contain.supervisor import SandboxError, _expect


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
