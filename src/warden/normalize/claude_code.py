"""Claude Code: hook payloads and tool vocabulary.

Sources (checked November 2026):

- Hook envelope and events: Claude Code hooks reference, https://code.claude.com/docs/en/hooks
  ("Hook input": ``session_id``, ``transcript_path``, ``cwd``, ``permission_mode``,
  ``hook_event_name``; ``PreToolUse`` adds ``tool_name``, ``tool_input``, ``tool_use_id``;
  ``PostToolUse`` adds ``tool_response``; ``PostToolUseFailure`` adds ``error``;
  ``UserPromptSubmit`` carries ``prompt``; ``PermissionRequest`` carries ``tool_name`` and
  ``tool_input``; ``SessionStart`` ``source``; ``SessionEnd`` ``reason``; ``Notification``
  ``message``). Subagent payloads add ``agent_id``/``agent_type``.
- Tool inputs: Claude Code settings reference, "Tools available to Claude"
  (https://code.claude.com/docs/en/settings#tools-available-to-claude), and the tool input
  schemas shipped with the Agent SDK (``sdk-tools.d.ts`` in ``@anthropic-ai/claude-agent-sdk``):
  ``Bash {command, description?, timeout?, run_in_background?, dangerouslyDisableSandbox?}``,
  ``Read {file_path, offset?, limit?}``, ``Write {file_path, content}``,
  ``Edit {file_path, old_string, new_string, replace_all?}``,
  ``MultiEdit {file_path, edits: [{old_string, new_string, replace_all?}]}``,
  ``NotebookEdit {notebook_path, cell_id?, new_source, cell_type?, edit_mode?}``,
  ``Grep {pattern, path?, glob?, type?, output_mode?, ...}``, ``Glob {pattern, path?}``,
  ``LS {path, ignore?}``, ``WebFetch {url, prompt}``,
  ``WebSearch {query, allowed_domains?, blocked_domains?}``,
  ``ListMcpResourcesTool {server?}``, ``ReadMcpResourceTool {server, uri}``.
- MCP tool names: ``mcp__<server>__<tool>`` (hooks reference, "Matching MCP tools").

Paths are kept as the model wrote them; Claude Code's file tools take absolute paths, and
:func:`warden.check.paths.normalize` computes the absolute path where one is needed.
"""

from __future__ import annotations

from warden.action import Action, ActionKind, ChangeOp, FileChange
from warden.errors import InputError
from warden.normalize import _fields as f
from warden.normalize.base import (
    AgentAdapter,
    HookKind,
    Source,
    ToolCall,
    ToolMapper,
    split_mcp_name,
)

__all__ = ["EVENTS", "TOOLS", "ClaudeCodeAdapter"]

#: Claude Code hook events (hooks reference, "Hook events").
EVENTS: dict[str, HookKind] = {
    "PreToolUse": HookKind.PRE_TOOL,
    "PostToolUse": HookKind.POST_TOOL,
    "PostToolUseFailure": HookKind.POST_TOOL,
    "PermissionRequest": HookKind.PERMISSION_REQUEST,
    "UserPromptSubmit": HookKind.PROMPT_SUBMIT,
    "SessionStart": HookKind.SESSION_START,
    "SessionEnd": HookKind.SESSION_END,
    "Stop": HookKind.STOP,
    "SubagentStop": HookKind.STOP,
    "Notification": HookKind.NOTIFICATION,
    "PreCompact": HookKind.OTHER,
    "PostCompact": HookKind.OTHER,
    "SubagentStart": HookKind.OTHER,
}

#: Tools that only touch Claude Code's own state (plans, todos, subagents, background shells the
#: model already started): ``CUSTOM``, input kept. ``Task``/``Agent`` start a subagent whose own
#: tool calls are hooked one by one.
INTERNAL_TOOLS = frozenset(
    {
        "Task",
        "Agent",
        "TodoWrite",
        "TodoRead",
        "ExitPlanMode",
        "EnterPlanMode",
        "BashOutput",
        "KillShell",
        "KillBash",
        "SlashCommand",
        "Skill",
        "AskUserQuestion",
    }
)


def _s(call: ToolCall, key: str, *, required: bool = False, ident: bool = False) -> str | None:
    return f.get_str(call.input, key, where=call.where, required=required, identifier=ident)


def _req(call: ToolCall, key: str, *, ident: bool = False) -> str:
    value = _s(call, key, required=True, ident=ident)
    assert value is not None
    return value


def _bash(call: ToolCall) -> Action:
    # run_in_background, dangerouslyDisableSandbox, timeout and description stay in `input`;
    # the flags are type-checked so that the engine can rely on them.
    f.get_bool(call.input, "run_in_background", where=call.where)
    f.get_bool(call.input, "dangerouslyDisableSandbox", where=call.where)
    timeout = call.input.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
        raise InputError(f"{call.where}: `timeout` must be a number, not {f.type_name(timeout)}")
    return call.action(ActionKind.SHELL, command=_req(call, "command", ident=True))


def _read(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=_req(call, "file_path", ident=True))


def _notebook_read(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=_req(call, "notebook_path", ident=True))


def _write(call: ToolCall) -> Action:
    path = _req(call, "file_path", ident=True)
    return call.action(ActionKind.FILE_WRITE, path=path, content=_req(call, "content"))


def _edit(call: ToolCall) -> Action:
    path = _req(call, "file_path", ident=True)
    f.get_bool(call.input, "replace_all", where=call.where)
    change = FileChange(
        path=path,
        op=ChangeOp.UPDATE,
        old_text=_req(call, "old_string"),
        new_text=_req(call, "new_string"),
    )
    return call.action(ActionKind.FILE_EDIT, path=path, changes=(change,))


def _multi_edit(call: ToolCall) -> Action:
    path = _req(call, "file_path", ident=True)
    edits = f.require(call.input, "edits", where=call.where)
    if not isinstance(edits, list) or not edits:
        raise InputError(f"{call.where}: `edits` must be a non-empty array")
    changes = []
    for i, edit in enumerate(edits):
        where = f"{call.where} edits[{i}]"
        if not isinstance(edit, dict):
            raise InputError(f"{where}: must be an object, not {f.type_name(edit)}")
        f.get_bool(edit, "replace_all", where=where)
        old = f.get_str(edit, "old_string", where=where, required=True)
        new = f.get_str(edit, "new_string", where=where, required=True)
        changes.append(FileChange(path=path, op=ChangeOp.UPDATE, old_text=old, new_text=new))
    return call.action(ActionKind.FILE_EDIT, path=path, changes=tuple(changes))


def _notebook_edit(call: ToolCall) -> Action:
    path = _req(call, "notebook_path", ident=True)
    mode = _s(call, "edit_mode") or "replace"
    source = _s(call, "new_source", required=mode != "delete")
    change = FileChange(path=path, op=ChangeOp.UPDATE, new_text=source)
    return call.action(ActionKind.FILE_EDIT, path=path, changes=(change,))


def _grep(call: ToolCall) -> Action:
    # No path means the working directory; "." keeps that explicit and resolvable against cwd.
    path = _s(call, "path", ident=True) or "."
    _s(call, "glob", ident=True)
    return call.action(ActionKind.FILE_READ, path=path, pattern=_req(call, "pattern"))


def _glob(call: ToolCall) -> Action:
    path = _s(call, "path", ident=True) or "."
    return call.action(ActionKind.FILE_READ, path=path, pattern=_req(call, "pattern", ident=True))


def _ls(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=_req(call, "path", ident=True))


def _web_fetch(call: ToolCall) -> Action:
    return call.action(ActionKind.HTTP, url=_req(call, "url", ident=True), method="GET")


def _web_search(call: ToolCall) -> Action:
    return call.action(ActionKind.WEB_SEARCH, query=_req(call, "query"))


def _mcp_resource(call: ToolCall) -> Action:
    server = _s(call, "server", ident=True)
    return call.action(ActionKind.MCP, mcp_server=server or None)


def _custom(call: ToolCall) -> Action:
    return call.action(ActionKind.CUSTOM)


TOOLS: dict[str, ToolMapper] = {
    "Bash": _bash,
    "Read": _read,
    "NotebookRead": _notebook_read,
    "Write": _write,
    "Edit": _edit,
    "MultiEdit": _multi_edit,
    "NotebookEdit": _notebook_edit,
    "Grep": _grep,
    "Glob": _glob,
    "LS": _ls,
    "WebFetch": _web_fetch,
    "WebSearch": _web_search,
    "ListMcpResourcesTool": _mcp_resource,
    "ReadMcpResourceTool": _mcp_resource,
    **dict.fromkeys(INTERNAL_TOOLS, _custom),
}

#: Tool names that identify a Claude Code payload when no other field does.
TOOL_NAMES = frozenset(TOOLS)


class ClaudeCodeAdapter(AgentAdapter):
    """Claude Code hooks (``PreToolUse`` and friends) and the ``{"tool", "input"}`` shorthand."""

    source = Source.CLAUDE_CODE
    events = EVENTS
    tools = TOOLS

    def mcp_server(self, call: ToolCall) -> str | None:
        mcp = split_mcp_name(call.tool)
        return mcp[0] if mcp else None
