"""Untrusted payloads: anything JSON-like gives an Action or an InputError, nothing else."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warden.action import Action
from warden.errors import InputError
from warden.normalize import hook_event, normalize, parse_apply_patch, parse_hook
from warden.normalize._fields import MAX_DEPTH, MAX_PAYLOAD_CHARS

PATCH = "*** Begin Patch\n*** Update File: a\n@@\n-x\n+y\n*** End Patch"
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "/etc/passwd", "../x", "https://e.example/", PATCH, "ls\x00"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

TOOLS = [
    "Bash",
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "Grep",
    "Glob",
    "LS",
    "WebFetch",
    "WebSearch",
    "Task",
    "TodoWrite",
    "ReadMcpResourceTool",
    "mcp__s__t",
    "mcp__",
    "apply_patch",
    "shell",
    "local_shell",
    "exec_command",
    "write_stdin",
    "NetworkAccess",
    "read_file",
    "list_dir",
    "grep_files",
    "view_image",
    "web_search",
    "run_shell_command",
    "read_many_files",
    "write_file",
    "replace",
    "glob",
    "grep_search",
    "search_file_content",
    "list_directory",
    "web_fetch",
    "google_web_search",
    "save_memory",
    "mcp_srv_tool",
    "srv__tool",
    "Unknown",
]
EVENTS = [
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionRequest",
    "UserPromptSubmit",
    "SessionStart",
    "Stop",
    "BeforeTool",
    "AfterTool",
    "BeforeAgent",
    "Nope",
    "",
]
ARG_KEYS = [
    "command",
    "cmd",
    "file_path",
    "path",
    "content",
    "old_string",
    "new_string",
    "edits",
    "notebook_path",
    "new_source",
    "pattern",
    "url",
    "prompt",
    "query",
    "include",
    "dir_path",
    "workdir",
    "input",
    "server",
    "run_in_background",
    "timeout",
    "edit_mode",
    "chars",
]
ENVELOPE_KEYS = ["cwd", "session_id", "tool_use_id", "timestamp", "turn_id", "model", "mcp_context"]


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    tool_input = draw(
        st.dictionaries(st.sampled_from(ARG_KEYS), json_values, max_size=5) | json_values
    )
    shape = draw(st.sampled_from(["hook", "bare", "short", "warden"]))
    if shape == "warden":
        base: dict[str, Any] = {"kind": draw(json_values | st.sampled_from(["shell", "mcp"]))}
        base.update(
            draw(
                st.dictionaries(
                    st.sampled_from(["command", "path", "input", "changes", "v"]),
                    json_values,
                    max_size=3,
                )
            )
        )
        return base
    if shape == "short":
        base = {"tool": draw(st.sampled_from(TOOLS) | json_values), "input": tool_input}
    else:
        base = {"tool_name": draw(st.sampled_from(TOOLS) | json_values), "tool_input": tool_input}
    if shape == "hook":
        base["hook_event_name"] = draw(st.sampled_from(EVENTS) | json_values)
    base.update(draw(st.dictionaries(st.sampled_from(ENVELOPE_KEYS), json_values, max_size=3)))
    return base


def _check(payload: Any, source: str | None = None) -> None:
    try:
        action = normalize(payload, source=source)
    except InputError:
        pass
    else:
        assert isinstance(action, Action)
        Action.from_json(msgspec.json.encode(action))  # still a valid action
    with contextlib.suppress(InputError):
        parse_hook(payload, source)
    with contextlib.suppress(InputError):
        hook_event(payload, source)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(payloads(), st.sampled_from([None, "claude_code", "codex", "gemini", "warden"]))
def test_structured_payloads_never_raise_anything_else(
    payload: dict[str, Any], source: str | None
) -> None:
    _check(payload, source)


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_never_raises_anything_else(value: Any) -> None:
    _check(value)


PATCH_TOKENS = [
    *"*+- @\n\r\tEOF<>'ab:\x00\u2028",
    "*** Begin Patch",
    "*** End Patch",
    "*** Add File: ",
    "*** Update File: ",
    "*** Move to: ",
    "*** Delete File: ",
    "*** End of File",
    "@@",
    "@@ ",
    "<<'EOF'",
    "\n",
    "\n",
]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(PATCH_TOKENS), max_size=40) | st.text(max_size=200).map(list))
def test_arbitrary_patch_text_never_raises_anything_else(tokens: list[str]) -> None:
    text = "".join(tokens)
    for body in (text, "*** Begin Patch\n" + text + "\n*** End Patch"):
        payload = {"tool_name": "apply_patch", "tool_input": {"command": body}, "turn_id": "t"}
        _check(payload)
        try:
            changes = parse_apply_patch(body)
        except InputError:
            continue
        assert changes and all(c.path and "\x00" not in c.path for c in changes)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"tool": "Bash", "input": "ls"}, "must be an object, not string"),
        (
            {"tool": "Bash", "input": {"command": ["ls", "-l"]}},
            "`command` must be a string, not array",
        ),
        ({"tool": "Bash", "input": {"command": None}}, "`command` is null"),
        ({"tool": "Bash", "input": {}}, "`command` is missing"),
        ({"tool": "Bash", "input": {"command": "ls\x00-la"}}, "NUL byte at offset 2"),
        ({"tool": "Read", "input": {"file_path": "/etc/passwd\x00.txt"}}, "NUL"),
        (
            {"tool_name": "Bash", "tool_input": None, "hook_event_name": "PreToolUse"},
            "`tool_input` is null",
        ),
        ({"tool_name": "Bash", "hook_event_name": "PreToolUse"}, "`tool_input` is missing"),
        ({"tool_name": 7, "tool_input": {}}, "`tool_name` must be a string, not integer"),
        ({"tool_name": "", "tool_input": {}}, "`tool_name` is empty"),
        (
            {"hook_event_name": "Explode", "tool_name": "Bash", "tool_input": {"command": "x"}},
            "no supported agent fires the hook event 'Explode'",
        ),
        ({"hook_event_name": "UserPromptSubmit", "prompt": "hi"}, "carries no tool call"),
        (
            {"tool": "Bash", "input": {"command": "x", "run_in_background": "yes"}},
            "must be a boolean",
        ),
        ({"tool": "Bash", "input": {"command": "x", "timeout": "10"}}, "must be a number"),
        ({"tool": "MultiEdit", "input": {"file_path": "/a", "edits": []}}, "non-empty array"),
        (
            {"tool": "MultiEdit", "input": {"file_path": "/a", "edits": ["x"]}},
            r"edits\[0\]: must be an object",
        ),
        ({"tool": "Write", "input": {"file_path": "/a"}}, "`content` is missing"),
        ({"tool": "Bash", "input": {"command": "x"}, "cwd": 3}, "`cwd` must be a string"),
        ({"nothing": "here"}, "cannot tell what this payload is"),
        ({"hook_event_name": "Explode"}, "no supported agent fires the hook event 'Explode'"),
        ({"tool": "Read", "input": {"file_path": ""}}, "`file_path` is empty"),
        ({"tool": "Edit", "input": {"file_path": "", "old_string": "", "new_string": ""}}, "empty"),
        ({"tool": "read_file", "input": {"file_path": ""}}, "`file_path` is empty"),
        ({"kind": "shell"}, "invalid warden action"),
        ({"kind": "shell", "command": "ls", "extra": 1}, "invalid warden action"),
        ({"kind": "shell", "command": "rm\x00"}, "NUL"),
        ({"tool": "Bash", "input": {1: "x"}}, "object key 1 is not a string"),
        ({"tool": "Bash", "input": {"command": "x", "b": b"bytes"}}, "bytes is not a JSON value"),
    ],
)
def test_bad_payloads_get_precise_messages(payload: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        normalize(payload)


@pytest.mark.parametrize("payload", [None, "Bash", 3, ["Bash"], b"{}"])
def test_non_objects_are_refused(payload: Any) -> None:
    with pytest.raises(InputError, match="must be a JSON object"):
        normalize(payload)
    with pytest.raises(InputError, match="must be a JSON object"):
        parse_hook(payload)


def test_unknown_source_is_refused() -> None:
    with pytest.raises(InputError, match="unknown source 'windsurf'"):
        normalize({"tool": "Bash", "input": {"command": "ls"}}, source="windsurf")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    deep: Any = "x"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(InputError, match="nested deeper"):
        normalize({"tool": "mcp__s__t", "input": {"a": deep}})


def test_a_10mb_command_is_legal() -> None:
    command = "echo " + "a" * 10_000_000
    assert normalize({"tool": "Bash", "input": {"command": command}}).command == command


def test_strings_past_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import warden.normalize._fields as fields

    monkeypatch.setattr(fields, "MAX_PAYLOAD_CHARS", 1000)
    with pytest.raises(InputError, match="exceed 1000 characters"):
        normalize({"tool": "Bash", "input": {"command": "x" * 600, "description": "y" * 600}})
    assert MAX_PAYLOAD_CHARS > 1000


def test_nul_is_allowed_in_file_content() -> None:
    action = normalize({"tool": "Write", "input": {"file_path": "/tmp/b", "content": "a\x00b"}})
    assert action.content == "a\x00b"


def test_action_input_is_a_copy() -> None:
    raw = {"command": "ls", "env": {"A": "1"}}
    action = normalize({"tool": "Bash", "input": raw})
    raw["env"]["A"] = "2"
    assert action.input == {"command": "ls", "env": {"A": "1"}}
