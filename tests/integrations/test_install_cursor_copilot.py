"""``warden install|uninstall cursor|copilot`` on real files in temporary directories.

Both agents list handlers directly under each event (no matcher groups) in a ``"version": 1``
file: Cursor's ``.cursor/hooks.json``, and for Copilot a file of warden's own in
``.github/hooks/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from warden.integrations.hooks.base import HookError
from warden.integrations.install import (
    AGENTS,
    BACKUP_SUFFIX,
    is_warden_hook,
    plan_install,
    plan_uninstall,
    settings_file,
)

FILES = {"cursor": ".cursor/hooks.json", "copilot": ".github/hooks/warden.json"}
KEY = {"cursor": "command", "copilot": "bash"}
USER_HOOK = {
    "cursor": {"command": "./hooks/format.sh"},
    "copilot": {"type": "command", "bash": "./scripts/audit.sh", "timeoutSec": 10},
}


def warden(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warden", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=60)  # fmt: skip


def ours(doc: dict[str, object], agent: str) -> list[dict[str, object]]:
    hooks = doc["hooks"]
    assert isinstance(hooks, dict)
    found = [h for handlers in hooks.values() for h in handlers]
    return [h for h in found if is_warden_hook(h.get(KEY[agent]), agent)]


@pytest.mark.parametrize("agent", sorted(FILES))
def test_install_merges_and_uninstall_restores(agent: str, tmp_path: Path) -> None:
    path = tmp_path / FILES[agent]
    path.parent.mkdir(parents=True)
    event = {"cursor": "beforeShellExecution", "copilot": "PreToolUse"}[agent]
    original_doc = {"version": 1, "hooks": {event: [USER_HOOK[agent]],
                                            "stop": [USER_HOOK[agent]]}, "zeta": [1]}  # fmt: skip
    original = json.dumps(original_doc, indent=4) + "\n"
    path.write_text(original)

    run = warden("install", agent, "--project", str(tmp_path))
    assert run.returncode == 0, run.stderr
    doc = json.loads(path.read_text())
    assert list(doc) == ["version", "hooks", "zeta"] and doc["version"] == 1
    mine = ours(doc, agent)
    assert len(mine) == len(AGENTS[agent].events)
    assert all(f"--workspace {tmp_path}" in str(h[KEY[agent]]) for h in mine)
    assert doc["hooks"][event][0] == USER_HOOK[agent]  # the user's hook stays first
    assert (path.parent / (path.name + BACKUP_SUFFIX)).read_text() == original

    once = path.read_text()
    assert warden("install", agent, "--project", str(tmp_path)).returncode == 0
    assert path.read_text() == once  # idempotent

    assert warden("uninstall", agent, "--project", str(tmp_path)).returncode == 0
    assert json.loads(path.read_text()) == original_doc


def test_cursor_blocking_events_fail_closed(tmp_path: Path) -> None:
    path = tmp_path / FILES["cursor"]
    plan_install("cursor", path, "/usr/bin/warden hook cursor").apply()
    hooks = json.loads(path.read_text())["hooks"]
    for event, _matcher, blocking in AGENTS["cursor"].events:
        (entry,) = hooks[event]
        assert entry.get("failClosed", False) is blocking
    assert hooks["preToolUse"][0]["failClosed"] is True
    assert hooks["beforeShellExecution"][0]["failClosed"] is True


def test_copilot_uses_the_payload_format_that_names_its_event(tmp_path: Path) -> None:
    path = tmp_path / FILES["copilot"]
    plan_install("copilot", path, "/usr/bin/warden hook copilot").apply()
    doc = json.loads(path.read_text())
    assert set(doc["hooks"]) >= {"PreToolUse", "PostToolUse", "UserPromptSubmit"}
    entry = doc["hooks"]["PreToolUse"][0]
    assert entry == {"type": "command", "bash": "/usr/bin/warden hook copilot",
                     "timeoutSec": 30}  # fmt: skip


@pytest.mark.parametrize("agent", sorted(FILES))
def test_uninstall_of_a_file_install_created_removes_it(agent: str, tmp_path: Path) -> None:
    assert warden("install", agent, "--project", str(tmp_path)).returncode == 0
    path = tmp_path / FILES[agent]
    assert path.exists()
    assert warden("uninstall", agent, "--project", str(tmp_path)).returncode == 0
    assert not path.exists()


@pytest.mark.parametrize("agent", sorted(FILES))
def test_dry_run_prints_a_diff_and_writes_nothing(agent: str, tmp_path: Path) -> None:
    run = warden("install", agent, "--project", str(tmp_path), "--dry-run")
    assert run.returncode == 0 and f"hook {agent}" in run.stdout
    assert not (tmp_path / FILES[agent]).exists()


def test_user_scope(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    for agent, rel in (("cursor", ".cursor/hooks.json"), ("copilot", ".copilot/hooks/warden.json")):
        run = warden("install", agent, "--user", env={**env, "COPILOT_HOME": ""})
        assert run.returncode == 0, run.stderr
        assert ours(json.loads((home / rel).read_text()), agent)
    copilot_home = tmp_path / "ch"
    assert settings_file("copilot", home=None).name == "warden.json"
    run = warden("install", "copilot", "--user", env={**env, "COPILOT_HOME": str(copilot_home)})
    assert run.returncode == 0 and (copilot_home / "hooks" / "warden.json").exists()


def test_uninstall_keeps_the_users_entries_and_unrelated_warden_agents(tmp_path: Path) -> None:
    path = tmp_path / FILES["cursor"]
    path.parent.mkdir(parents=True)
    other = {"command": "/usr/bin/warden hook claude-code"}  # not Cursor's: left alone
    doc = {"version": 1, "hooks": {"preToolUse": [USER_HOOK["cursor"], other]}}
    path.write_text(json.dumps(doc))
    plan_install("cursor", path, "/usr/bin/warden hook cursor").apply()
    plan_uninstall("cursor", path).apply()
    assert json.loads(path.read_text()) == doc


@pytest.mark.parametrize("doc", [{"version": 1, "hooks": []},
                                 {"version": 1, "hooks": {"preToolUse": {}}}])  # fmt: skip
def test_malformed_shapes_are_refused(doc: object, tmp_path: Path) -> None:
    path = tmp_path / FILES["cursor"]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    with pytest.raises(HookError):
        plan_install("cursor", path, "/usr/bin/warden hook cursor")


@pytest.mark.parametrize("agent", sorted(FILES))
def test_server_and_client_shapes_are_refused(agent: str, tmp_path: Path) -> None:
    for flag in ("--server", "--client"):
        run = warden("install", agent, "--project", str(tmp_path), flag, "--dry-run")
        assert run.returncode != 0 and "not support" in run.stderr
    assert not (tmp_path / FILES[agent]).exists()
