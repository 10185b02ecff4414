"""Run ``warden mcp`` as a real process and talk JSON-RPC lines to it (test helper)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from warden.record import LogReader

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "mcp"
FAKE_SERVER = ASSETS / "fake_server.py"


def warden_mcp_argv(*options: str) -> list[str]:
    """The proxy command: the CLI module itself (``warden mcp`` minus the top-level dispatch)."""
    return [sys.executable, "-m", "warden.cli.mcp", *options]


class Proxy:
    """``warden mcp [options] -- SERVER...`` with line-level access to both of its ends."""

    def __init__(self, tmp: Path, *options: str, server: list[str] | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:  # fmt: skip
        self.server_log = tmp / "server-received.jsonl"
        self.db = tmp / "audit.db"
        audit = () if "--no-audit" in options or any(o.startswith("--audit-db") for o in options) \
            else ("--audit-db", str(self.db))  # fmt: skip
        server = server or [sys.executable, str(FAKE_SERVER)]
        full_env = {**os.environ, "FAKE_MCP_LOG": str(self.server_log), **(env or {})}
        self.proc = subprocess.Popen(
            [*warden_mcp_argv(*audit, *options), "--", *server],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=full_env, cwd=str(cwd or tmp),
        )  # fmt: skip
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, obj: Any) -> None:
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def recv_raw(self, timeout: float = 20.0) -> bytes:
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise EOFError("the proxy closed its stdout")
        return line

    def recv(self, timeout: float = 20.0) -> Any:
        return json.loads(self.recv_raw(timeout))

    def request(self, req_id: Any, method: str, params: dict[str, Any] | None = None) -> Any:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return self.recv()

    def call(self, req_id: Any, tool: str, arguments: dict[str, Any] | None = None,
             meta: dict[str, Any] | None = None) -> Any:  # fmt: skip
        params: dict[str, Any] = {"name": tool, "arguments": arguments or {}}
        if meta:
            params["_meta"] = meta
        return self.request(req_id, "tools/call", params)

    def initialize(self) -> Any:
        answer = self.request(0, "initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "proxy-test", "version": "1"}})  # fmt: skip
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    def server_received(self) -> list[dict[str, Any]]:
        if not self.server_log.exists():
            return []
        return [json.loads(line) for line in self.server_log.read_text().splitlines()]

    def close(self, timeout: float = 20.0) -> int:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._err_reader.join(timeout)  # self.stderr is complete once the proxy is gone

    def records(self) -> list[dict[str, Any]]:
        with LogReader.open(self.db) as reader:
            return [e.record for e in reader.entries()]


def text_of(answer: Any) -> str:
    """All text items of a tools/call result, joined."""
    content = answer["result"]["content"]
    return "\n".join(item["text"] for item in content if item.get("type") == "text")
