"""Public surface, detection, hook events, path helper and import weight of warden.normalize."""

from __future__ import annotations

import subprocess
import sys

import pytest

import warden.normalize
from warden.errors import InputError
from warden.normalize import HookKind, Source, detect_source, hook_event, parse_hook


def test_public_surface_is_pinned() -> None:
    assert sorted(warden.normalize.__all__) == [
        "HookEvent",
        "HookKind",
        "Source",
        "adapter_for",
        "detect_source",
        "hook_event",
        "normalize",
        "parse_apply_patch",
        "parse_hook",
    ]
    for name in warden.normalize.__all__:
        assert getattr(warden.normalize, name) is not None


def test_hook_process_imports_stay_light() -> None:
    code = (
        "import sys, warden.normalize; "
        "heavy = {'tree_sitter', 'tree_sitter_bash', 're2', 'cryptography', 'hypothesis', "
        "'jsonschema', 'sqlite3', 'asyncio', 'warden.check', 'warden.cli'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("payload", "source"),
    [
        ({"kind": "shell", "command": "ls"}, Source.WARDEN),
        ({"tool": "Bash", "input": {}}, Source.CLAUDE_CODE),
        ({"tool": "run_shell_command", "input": {}}, Source.GEMINI),
        ({"tool": "apply_patch", "input": {}}, Source.CODEX),
        ({"tool": "exec_command", "input": {}}, Source.CODEX),
        ({"hook_event_name": "BeforeAgent", "prompt": "x"}, Source.GEMINI),
        ({"hook_event_name": "PreToolUse", "tool_name": "Bash", "turn_id": "t"}, Source.CODEX),
        ({"hook_event_name": "StopFailure"}, Source.CODEX),
        ({"hook_event_name": "Stop", "transcript_path": "/h/.codex/s.jsonl"}, Source.CODEX),
        (
            {"hook_event_name": "Stop", "transcript_path": "/h/.claude/p/s.jsonl"},
            Source.CLAUDE_CODE,
        ),
        ({"hook_event_name": "SessionStart", "timestamp": "2026-01-01T00:00:00Z"}, Source.GEMINI),
    ],
)
def test_detect_source(payload: dict[str, object], source: Source) -> None:
    assert detect_source(payload) is source


@pytest.mark.parametrize(
    ("name", "source"),
    [("claude", Source.CLAUDE_CODE), ("Gemini-CLI", Source.GEMINI), ("codex", Source.CODEX)],
)
def test_source_aliases(name: str, source: Source) -> None:
    assert Source.parse(name) is source


def test_hook_event_names() -> None:
    assert hook_event({"tool": "Bash", "input": {"command": "x"}}) is None
    assert hook_event({"kind": "shell", "command": "x"}) is None
    assert hook_event({"hook_event_name": "BeforeAgent", "prompt": "p"}) == "prompt_submit"
    assert hook_event({"hook_event_name": "PreCompact"}) == "other"
    with pytest.raises(InputError, match="unknown hook_event_name"):
        hook_event({"hook_event_name": "BeforeTool"}, "claude_code")


def test_prompt_submit_needs_a_prompt_string() -> None:
    with pytest.raises(InputError, match="`prompt` is missing"):
        parse_hook({"hook_event_name": "UserPromptSubmit"})
    with pytest.raises(InputError, match="`prompt` must be a string"):
        parse_hook({"hook_event_name": "UserPromptSubmit", "prompt": ["x"]})


def test_shorthand_and_warden_json_are_pre_tool_events() -> None:
    event = parse_hook({"tool": "Bash", "input": {"command": "ls"}})
    assert event.kind is HookKind.PRE_TOOL and event.action is not None
    event = parse_hook({"kind": "shell", "command": "ls", "cwd": "/w", "session_id": "s"})
    assert (event.kind, event.cwd, event.session_id, event.source) == (
        HookKind.PRE_TOOL,
        "/w",
        "s",
        Source.WARDEN,
    )
