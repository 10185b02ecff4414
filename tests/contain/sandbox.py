"""Shared helpers for tests that run programs under ``warden run`` (real processes, real kernel)."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

WARDEN = str(Path(sys.executable).with_name("warden"))
#: what an interpreter inside the sandbox needs to read: the venv and the base installation
PYTHON_READ = sorted({sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)})


@functools.cache
def sandbox_missing() -> str | None:
    """Why `warden run` cannot work here, or None."""
    from warden.contain.probe import probe

    f = probe()
    if not f.userns_nested:
        return "user/net/mount/pid namespaces unavailable"
    if f.landlock_abi < 1:
        return "Landlock unavailable"
    if not f.seccomp_filter:
        return "seccomp filters unavailable"
    if not f.cgroup_create:
        return "cannot create a cgroup v2 (run as root or in a delegated scope)"
    return None


needs_sandbox = pytest.mark.skipif(
    sandbox_missing() is not None, reason=f"warden run unavailable: {sandbox_missing()}"
)


def run(
    *cmd: str,
    ws: Path,
    home: Path,
    opts: tuple[str, ...] = (),
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``warden run [opts] -- cmd`` in workspace ``ws`` with HOME=``home``."""
    full_env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"),
                "XDG_STATE_HOME": str(home / ".local/state"),
                "XDG_CONFIG_HOME": str(home / ".config"), **(env or {})}  # fmt: skip
    read = [a for p in PYTHON_READ for a in ("--read", p)]
    return subprocess.run(
        [WARDEN, "run", "--workspace", str(ws), *read, *opts, "--", *cmd],
        cwd=ws, env=full_env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def py(code: str) -> tuple[str, ...]:
    """argv running ``code`` with this interpreter inside the sandbox."""
    return (sys.executable, "-c", code)


class TcpSink:
    """A loopback TCP server on the host that records every byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    while data := conn.recv(65536):
                        self.received += data
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


class UdpSink:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def received(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def close(self) -> None:
        self.sock.close()


def in_child(body: Callable[[], object]) -> tuple[object, int]:
    """Run ``body`` in a forked child; its JSON-able result (or exception text) and wait status."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.close(r)
            try:
                out: object = {"ok": body()}
            except BaseException as exc:
                out = {"exc": f"{type(exc).__name__}: {exc}"}
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    data = json.loads(b"".join(chunks)) if chunks else {}
    if "exc" in data:
        raise AssertionError(f"child raised {data['exc']}")
    return data.get("ok"), status
