"""Installing the resident-server shapes of warden's hook: Claude Code ``http`` hooks and the
thin client, on real settings files; idempotent, and removed exactly by uninstall."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from warden.errors import HookError
from warden.integrations.install import (
    COMMAND_ONLY_EVENTS,
    client_command,
    is_warden_hook,
    is_warden_http_hook,
    plan_install,
    plan_install_server,
    plan_uninstall,
    server_url,
)

TOKEN = "t" * 43
URL = server_url(("127.0.0.1", 8765), "claude-code", "/src/my app")
CLIENT = client_command(sys.executable, "claude-code", ["--workspace", "/src/my app"])
OTHER = {"type": "http", "url": "http://127.0.0.1:9000/audit", "headers": {"X": "1"}}


def _handlers(path: Path) -> list[dict[str, object]]:
    doc = json.loads(path.read_text())
    return [h for groups in doc.get("hooks", {}).values() for g in groups for h in g["hooks"]]


def test_server_url_and_client_command_shapes() -> None:
    assert URL == "http://127.0.0.1:8765/warden/hook/claude-code?workspace=/src/my%20app"
    assert server_url(("::1", 1), "claude-code") == "http://[::1]:1/warden/hook/claude-code"
    assert is_warden_hook(CLIENT, "claude-code") and not is_warden_hook(CLIENT, "codex")
    assert " -I -S " in CLIENT and CLIENT.split()[3].endswith("warden/hookclient.py")
    assert is_warden_hook("python -m warden.hookclient gemini", "gemini")
    assert not is_warden_hook("python /tmp/hookclient.py claude-code", "claude-code")


def test_server_install_is_idempotent_and_fail_closed(tmp_path: Path) -> None:
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"model": "x", "hooks": {"Stop": [{"hooks": [OTHER]}]}}))
    first = plan_install_server("claude-code", path, URL, TOKEN, CLIENT)
    first.apply()
    again = plan_install_server("claude-code", path, URL, TOKEN, CLIENT)
    assert not again.changed
    doc = json.loads(path.read_text())
    assert doc["model"] == "x" and doc["hooks"]["Stop"] == [{"hooks": [OTHER]}]
    pre = doc["hooks"]["PreToolUse"][0]["hooks"][0]
    assert pre == {"type": "http", "url": URL,
                   "headers": {"Authorization": f"Bearer {TOKEN}",
                               "X-Warden-Project-Dir": "$CLAUDE_PROJECT_DIR"},
                   "allowedEnvVars": ["CLAUDE_PROJECT_DIR"], "timeout": 30,
                   "onFailure": "block"}  # fmt: skip
    for event in ("PermissionRequest", "UserPromptSubmit"):
        assert doc["hooks"][event][0]["hooks"][0]["onFailure"] == "block"
    assert "onFailure" not in doc["hooks"]["PostToolUse"][0]["hooks"][0]
    for event in COMMAND_ONLY_EVENTS:
        assert doc["hooks"][event][0]["hooks"][0] == {"type": "command", "command": CLIENT,
                                                      "timeout": 30}  # fmt: skip
    plan_uninstall("claude-code", path).apply()
    assert json.loads(path.read_text()) == {"model": "x", "hooks": {"Stop": [{"hooks": [OTHER]}]}}


def test_switching_shapes_replaces_never_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    hook = "/usr/bin/warden hook claude-code"
    plan_install("claude-code", path, hook).apply()
    plan_install_server("claude-code", path, URL, TOKEN, CLIENT).apply()
    handlers = _handlers(path)
    assert all(h.get("command") != hook for h in handlers)
    assert sum(1 for h in handlers if h["type"] == "http") == 6
    plan_install("claude-code", path, CLIENT).apply()
    handlers = _handlers(path)
    assert [h["command"] for h in handlers] == [CLIENT] * 7
    plan_uninstall("claude-code", path).apply()
    assert not path.exists()


@pytest.mark.parametrize("url", [
    "http://10.0.0.5:8765/warden/hook/claude-code",
    "http://evil.example/warden/hook/claude-code",
    "http://127.0.0.1:8765/warden/hook/codex",
    "http://127.0.0.1:8765/other",
    "not a url",
])  # fmt: skip
def test_only_loopback_warden_urls_are_installed_or_removed(url: str, tmp_path: Path) -> None:
    with pytest.raises(HookError):
        plan_install_server("claude-code", tmp_path / "s.json", url, TOKEN, CLIENT)
    assert not is_warden_http_hook({"type": "http", "url": url}, "claude-code")
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"hooks": {"PreToolUse": [{"hooks": [{"type": "http",
                                                                      "url": url}]}]}}))
    assert not plan_uninstall("claude-code", path).changed  # someone else's hook stays


def test_server_install_is_for_claude_code_only(tmp_path: Path) -> None:
    with pytest.raises(HookError, match="no http hook"):
        plan_install_server("codex", tmp_path / "h.json", URL, TOKEN, CLIENT)
    with pytest.raises(HookError, match="not a warden hook command"):
        plan_install_server("claude-code", tmp_path / "s.json", URL, TOKEN, "curl x")


def test_client_install_for_codex_and_gemini(tmp_path: Path) -> None:
    for agent in ("codex", "gemini"):
        cmd = client_command(sys.executable, agent, [])
        path = tmp_path / f"{agent}.json"
        plan_install(agent, path, cmd).apply()
        assert not plan_install(agent, path, cmd).changed
        assert {h["command"] for h in _handlers(path)} == {cmd}
        plan_uninstall(agent, path).apply()
        assert not path.exists()
