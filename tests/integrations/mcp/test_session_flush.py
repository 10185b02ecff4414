"""Routine MCP records (unflagged tool results) are written off the call path, by one thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from warden.integrations.mcp.open import open_session
from warden.integrations.mcp.session import DEFER_SECONDS, McpConfig
from warden.record import LogReader


def _kinds(db: Path) -> list[str]:
    with LogReader.open(db) as reader:
        return [str(e.record.get("kind")) for e in reader.entries()]


def test_deferred_results_are_written_without_close_by_one_thread(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    sessions = [open_session(McpConfig(server_name="fs", cwd=str(tmp_path)), audit=db)
                for _ in range(5)]  # fmt: skip
    try:
        for i, session in enumerate(sessions):
            call = (b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":'
                    b'"read_text_file","arguments":{"path":"a.txt"}}}\n' % i)  # fmt: skip
            assert session.from_client(call).to_server  # allowed: forwarded
            result = b'{"jsonrpc":"2.0","id":%d,"result":{"content":[]}}\n' % i
            assert session.from_server(result).to_client
        deadline = time.monotonic() + DEFER_SECONDS + 5
        while _kinds(db).count("tool_result") < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _kinds(db).count("tool_result") == 5  # written, and no session was closed
        flushers = [t for t in threading.enumerate() if t.name == "mcp-audit"]
        assert len(flushers) == 1
    finally:
        for session in sessions:
            session.close()
        for session in sessions:
            assert session.guard is not None and session.guard.log is not None
            session.guard.log.close()
