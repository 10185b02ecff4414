"""Cursor and GitHub Copilot CLI payloads -> warden actions (the tool vocabularies mapped onto
warden's kinds), and detection of the two agents from a payload's shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from warden.action import ActionKind, ChangeOp
from warden.errors import InputError
from warden.normalize import detect_source, normalize, parse_hook
from warden.normalize.base import HookKind, Source

DOCUMENTED = Path(__file__).parents[2] / "assets" / "hooks" / "documented"
CURSOR_ENV = {"conversation_id": "conv-1", "generation_id": "gen-1",
              "workspace_roots": ["/w"], "cursor_version": "2.0.77"}  # fmt: skip


def cursor(event: str, **fields: Any) -> dict[str, Any]:
    return {"hook_event_name": event, **CURSOR_ENV, **fields}


def copilot(tool: str, args: dict[str, Any], *, as_string: bool = True) -> dict[str, Any]:
    return {"timestamp": 1704614600000, "cwd": "/w", "sessionId": "s1", "toolName": tool,
            "toolArgs": json.dumps(args) if as_string else args}  # fmt: skip


# -- Cursor ---------------------------------------------------------------------------------------


def test_cursor_shell_event() -> None:
    action = normalize(cursor("beforeShellExecution", command="rm -rf build", cwd="/w/sub"),
                       source="cursor")  # fmt: skip
    assert action.kind is ActionKind.SHELL and action.command == "rm -rf build"
    assert action.cwd == "/w/sub" and action.session_id == "conv-1"
    assert action.tool == "Shell" and action.source == "cursor"


def test_cursor_read_event_judges_the_path_and_drops_the_content() -> None:
    action = normalize(cursor("beforeReadFile", file_path="/w/.env", content="SECRET=1"),
                       source="cursor")  # fmt: skip
    assert action.kind is ActionKind.FILE_READ and action.path == "/w/.env"
    assert "content" not in action.input and action.cwd == "/w"  # cwd from workspace_roots


@pytest.mark.parametrize("tool_input", ['{"query": "SELECT 1"}', {"query": "SELECT 1"}])
def test_cursor_mcp_event(tool_input: object) -> None:
    action = normalize(cursor("beforeMCPExecution", tool_name="database_query",
                              tool_input=tool_input, command="npx mcp-server"),
                       source="cursor")  # fmt: skip
    assert action.kind is ActionKind.MCP and action.mcp_server == "npx mcp-server"
    assert action.input == {"query": "SELECT 1"}


def test_cursor_mcp_tool_name_names_its_server() -> None:
    action = normalize(cursor("preToolUse", tool_name="MCP:github:create_issue",
                              tool_input={"title": "x"}), source="cursor")  # fmt: skip
    assert action.kind is ActionKind.MCP and action.mcp_server == "github"


@pytest.mark.parametrize(
    ("tool", "tool_input", "kind", "path"),
    [
        ("Shell", {"command": "ls"}, ActionKind.SHELL, None),
        ("Read", {"file_path": "/w/a"}, ActionKind.FILE_READ, "/w/a"),
        ("Write", {"file_path": "/w/a", "contents": "x"}, ActionKind.FILE_WRITE, "/w/a"),
        ("StrReplace", {"file_path": "/w/a", "old_string": "a", "new_string": "b"},
         ActionKind.FILE_EDIT, "/w/a"),
        ("Delete", {"file_path": "/w/a"}, ActionKind.FILE_EDIT, "/w/a"),
        ("Grep", {"pattern": "x", "path": "/w"}, ActionKind.FILE_READ, "/w"),
        ("Glob", {"glob_pattern": "*.py"}, ActionKind.FILE_READ, "."),
        ("WebFetch", {"url": "https://example.com"}, ActionKind.HTTP, None),
        ("TodoWrite", {"todos": []}, ActionKind.CUSTOM, None),
        ("Bash", {"command": "ls"}, ActionKind.SHELL, None),  # Claude Code's table, as fallback
    ],
)  # fmt: skip
def test_cursor_pre_tool_use_vocabulary(tool: str, tool_input: dict[str, Any], kind: ActionKind,
                                        path: str | None) -> None:  # fmt: skip
    action = normalize(cursor("preToolUse", tool_name=tool, tool_input=tool_input),
                       source="cursor")  # fmt: skip
    assert action.kind is kind and action.path == path
    if tool == "Delete":
        assert action.changes[0].op is ChangeOp.DELETE


def test_cursor_after_file_edit_and_results() -> None:
    edits = [{"old_string": "1", "new_string": "2"}]
    event = parse_hook(cursor("afterFileEdit", file_path="/w/a.ts", edits=edits), "cursor")
    assert event.kind is HookKind.POST_TOOL and event.action is not None
    assert event.action.changes[0].new_text == "2"
    shell = parse_hook(cursor("afterShellExecution", command="ls", output="a\nb"), "cursor")
    assert shell.tool_response == "a\nb"
    prompt = parse_hook(cursor("beforeSubmitPrompt", prompt="hi", attachments=[]), "cursor")
    assert prompt.kind is HookKind.PROMPT_SUBMIT and prompt.prompt == "hi"


@pytest.mark.parametrize(
    "payload",
    [
        cursor("beforeShellExecution"),  # no command
        cursor("beforeShellExecution", command=["ls"]),
        cursor("beforeMCPExecution", tool_name="q", tool_input="{not json"),
        cursor("beforeMCPExecution", tool_name="q", tool_input="[1]"),
        cursor("beforeReadFile", file_path="/w/a\x00b"),
        cursor("preToolUse", tool_name="Write", tool_input={"file_path": "/w/a"}),
        cursor("beforeFutureThing", command="ls"),
    ],
)
def test_cursor_bad_payloads_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        parse_hook(payload, "cursor")


# -- Copilot --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "kind", "field", "value"),
    [
        ("bash", {"command": "rm -rf dist", "description": "clean"}, ActionKind.SHELL,
         "command", "rm -rf dist"),
        ("powershell", {"command": "dir"}, ActionKind.SHELL, "command", "dir"),
        ("write_bash", {"shellId": "1", "input": "curl x | sh"}, ActionKind.SHELL, "command",
         "curl x | sh"),
        ("view", {"path": "/w/a", "view_range": [1, 5]}, ActionKind.FILE_READ, "path", "/w/a"),
        ("create", {"path": "/w/b", "file_text": "x"}, ActionKind.FILE_WRITE, "content", "x"),
        ("edit", {"path": "src/a", "old_str": "a", "new_str": "b"}, ActionKind.FILE_EDIT,
         "path", "src/a"),
        ("glob", {"pattern": "**/*.ts"}, ActionKind.FILE_READ, "path", "."),
        ("grep", {"pattern": "TODO", "path": "/w"}, ActionKind.FILE_READ, "pattern", "TODO"),
        ("web_fetch", {"url": "https://example.com"}, ActionKind.HTTP, "url",
         "https://example.com"),
        ("task", {"prompt": "x"}, ActionKind.CUSTOM, "command", None),
    ],
)  # fmt: skip
def test_copilot_vocabulary(tool: str, args: dict[str, Any], kind: ActionKind, field: str,
                            value: object) -> None:  # fmt: skip
    for as_string in (True, False):
        action = normalize(copilot(tool, args, as_string=as_string), source="copilot")
        assert action.kind is kind and getattr(action, field) == value
        assert action.session_id == "s1" and action.time == 1704614600.0


def test_copilot_vscode_format() -> None:
    payload = {"hook_event_name": "PreToolUse", "session_id": "s", "cwd": "/w",
               "timestamp": "2026-11-21T10:00:00Z", "tool_name": "bash",
               "tool_input": {"command": "ls"}}  # fmt: skip
    event = parse_hook(payload, "copilot")
    assert event.kind is HookKind.PRE_TOOL and event.event == "PreToolUse"
    assert event.action is not None and event.action.command == "ls"
    assert event.action.time is not None


@pytest.mark.parametrize(
    ("name", "kind"),
    [("session_start", HookKind.SESSION_START), ("session_end", HookKind.SESSION_END),
     ("user_prompt_submitted", HookKind.PROMPT_SUBMIT), ("post_tool_use", HookKind.POST_TOOL),
     ("pre_tool_use_camel_allow", HookKind.PRE_TOOL), ("error_occurred", HookKind.OTHER)],
)  # fmt: skip
def test_copilot_camel_case_events_are_inferred(name: str, kind: HookKind) -> None:
    payload = json.loads((DOCUMENTED / "copilot" / f"{name}.json").read_text())
    event = parse_hook(payload, "copilot")
    assert event.kind is kind
    if kind is HookKind.POST_TOOL:
        assert event.tool_response == {"resultType": "success",
                                       "textResultForLlm": "All tests passed (15/15)"}  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [
        {"cwd": "/w", "timestamp": 1},  # no way to tell the event
        copilot("bash", {}),  # no command
        {**copilot("bash", {"command": "ls"}), "toolArgs": "{oops"},
        {**copilot("bash", {"command": "ls"}), "toolArgs": 3},
        {**copilot("bash", {"command": "ls"}), "timestamp": "yesterday"},
        {**copilot("bash", {"command": "ls"}), "timestamp": True},
        {**copilot("bash", {"command": "ls"}), "toolArgs": "x" * (17 * 1024 * 1024)},
    ],
    ids=["unknown", "no-command", "bad-json", "number-args", "bad-time", "bool-time", "huge"],
)
def test_copilot_bad_payloads_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        parse_hook(payload, "copilot")


# -- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((DOCUMENTED / "cursor").glob("[!_]*.json")),
                         ids=lambda p: p.stem)  # fmt: skip
def test_documented_cursor_payloads_are_detected(path: Path) -> None:
    assert detect_source(json.loads(path.read_text())) is Source.CURSOR


def test_copilot_payloads_are_detected() -> None:
    assert detect_source(copilot("bash", {"command": "ls"})) is Source.COPILOT
    vscode = {"hook_event_name": "PreToolUse", "session_id": "s", "cwd": "/w",
              "tool_name": "bash", "tool_input": {"command": "ls"}}  # fmt: skip
    assert detect_source(vscode) is Source.COPILOT
    # Claude Code's own payload is still Claude Code's
    claude = {**vscode, "tool_name": "Bash"}
    assert detect_source(claude) is Source.CLAUDE_CODE
