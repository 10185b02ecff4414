"""Cursor: hook payloads and tool vocabulary.

Sources (checked November 2026): Cursor's hooks documentation, https://cursor.com/docs/agent/hooks
(the page the ``cursor-hooks`` type package on npm links to), as reproduced in
https://cupcake.eqtylab.io/reference/harnesses/cursor and
https://cdot65.github.io/prisma-airs-cursor-hooks/reference/cursor-hooks-api:

- Envelope of every event: ``hook_event_name``, ``conversation_id``, ``generation_id``,
  ``workspace_roots``, and optionally ``model``, ``cursor_version``, ``user_email``,
  ``transcript_path``. There is no ``session_id`` (the conversation is the session) and no
  ``cwd`` except on shell events.
- Unlike the Claude Code family, most events carry no ``tool_name``: the event *is* the tool.
  ``beforeShellExecution``/``afterShellExecution`` ``{command, cwd, output?, duration?}``;
  ``beforeReadFile`` ``{file_path, content, attachments}``; ``afterFileEdit``
  ``{file_path, edits: [{old_string, new_string}]}``; ``beforeMCPExecution``/
  ``afterMCPExecution`` ``{tool_name, tool_input, url?|command?, result_json?}`` where
  ``tool_input`` is an object or a JSON-encoded string; ``beforeSubmitPrompt``
  ``{prompt, attachments}``. Newer releases add the generic ``preToolUse``/``postToolUse``/
  ``postToolUseFailure`` with ``tool_name`` (``Shell``, ``Read``, ``Write``, ``StrReplace``,
  ``Delete``, ``Grep``, ``Glob``, ``MCP:<server>:<tool>``...), ``tool_input`` and
  ``tool_output``.

Each event is turned into a :class:`ToolCall` with a synthetic tool name (``Shell``, ``Read``,
``Edit``) so the one tool table serves both the specific and the generic events. The file
``content`` of ``beforeReadFile`` is not kept: warden judges which file is read, and the content
is the file the agent has not been allowed to see yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from warden.action import Action, ActionKind, ChangeOp, FileChange
from warden.errors import InputError
from warden.normalize import _fields as f
from warden.normalize.base import (
    AgentAdapter,
    HookEvent,
    HookKind,
    Source,
    ToolCall,
    ToolMapper,
)

__all__ = ["EVENTS", "TOOLS", "CursorAdapter", "decode_input"]

#: Cursor's agent hook events (hooks documentation, "Hook events"). Tab events are listed so
#: they are understood, not acted on: warden does not install them.
EVENTS: dict[str, HookKind] = {
    "beforeShellExecution": HookKind.PRE_TOOL,
    "beforeMCPExecution": HookKind.PRE_TOOL,
    "beforeReadFile": HookKind.PRE_TOOL,
    "preToolUse": HookKind.PRE_TOOL,
    "afterShellExecution": HookKind.POST_TOOL,
    "afterMCPExecution": HookKind.POST_TOOL,
    "afterFileEdit": HookKind.POST_TOOL,
    "postToolUse": HookKind.POST_TOOL,
    "postToolUseFailure": HookKind.POST_TOOL,
    "beforeSubmitPrompt": HookKind.PROMPT_SUBMIT,
    "sessionStart": HookKind.SESSION_START,
    "sessionEnd": HookKind.SESSION_END,
    "stop": HookKind.STOP,
    "subagentStop": HookKind.STOP,
    "subagentStart": HookKind.OTHER,
    "preCompact": HookKind.OTHER,
    "afterAgentResponse": HookKind.OTHER,
    "afterAgentThought": HookKind.OTHER,
    "beforeTabFileRead": HookKind.OTHER,
    "afterTabFileEdit": HookKind.OTHER,
}

#: Events whose payload names the tool by the event itself: event -> synthetic tool name.
EVENT_TOOLS = {
    "beforeShellExecution": "Shell",
    "afterShellExecution": "Shell",
    "beforeReadFile": "Read",
    "afterFileEdit": "Edit",
}
MCP_EVENTS = frozenset({"beforeMCPExecution", "afterMCPExecution"})

#: Where each post-tool event carries the tool's result.
RESULT_FIELDS = ("tool_output", "output", "result_json", "error")

MCP_PREFIX = "MCP:"


def decode_input(raw: object, where: str) -> Mapping[str, Any]:
    """A tool input sent as an object or as a JSON-encoded object (Cursor's MCP events and
    Copilot's ``toolArgs`` use both)."""
    if isinstance(raw, str):
        if len(raw) > f.MAX_PAYLOAD_CHARS:
            raise InputError(f"{where}: tool input of {len(raw)} characters is too large")
        try:
            raw = msgspec.json.decode(raw) if raw.strip() else {}
        except msgspec.DecodeError as exc:
            raise InputError(f"{where}: tool input is a string but not JSON ({exc})") from exc
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: tool input must be an object, not {f.type_name(raw)}")
    return raw




def _shell(call: ToolCall) -> Action:
    cwd = call.first("cwd", "working_directory") or call.cwd
    return call.action(ActionKind.SHELL, command=call.require("command"), cwd=cwd)


def _read(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=call.require("file_path", "target_file", "path"))


def _write(call: ToolCall) -> Action:
    path = call.require("file_path", "target_file", "path")
    content = call.require("contents", "content", ident=False)
    return call.action(ActionKind.FILE_WRITE, path=path, content=content)


def _edit(call: ToolCall) -> Action:
    path = call.require("file_path", "target_file", "path")
    edits = call.input.get("edits")
    if edits is None:
        change = FileChange(
            path=path,
            op=ChangeOp.UPDATE,
            old_text=call.require("old_string", ident=False),
            new_text=call.require("new_string", ident=False),
        )
        return call.action(ActionKind.FILE_EDIT, path=path, changes=(change,))
    if not isinstance(edits, list) or not edits:
        raise InputError(f"{call.where}: `edits` must be a non-empty array")
    changes = []
    for i, edit in enumerate(edits):
        where = f"{call.where} edits[{i}]"
        if not isinstance(edit, dict):
            raise InputError(f"{where}: must be an object, not {f.type_name(edit)}")
        old = f.get_str(edit, "old_string", where=where)
        new = f.get_str(edit, "new_string", where=where, required=True)
        changes.append(FileChange(path=path, op=ChangeOp.UPDATE, old_text=old, new_text=new))
    return call.action(ActionKind.FILE_EDIT, path=path, changes=tuple(changes))


def _delete(call: ToolCall) -> Action:
    path = call.require("file_path", "target_file", "path")
    change = FileChange(path=path, op=ChangeOp.DELETE)
    return call.action(ActionKind.FILE_EDIT, path=path, changes=(change,))


def _grep(call: ToolCall) -> Action:
    path = call.first("path", "target_directory") or "."
    pattern = call.require("pattern", ident=False)
    return call.action(ActionKind.FILE_READ, path=path, pattern=pattern)


def _glob(call: ToolCall) -> Action:
    path = call.first("target_directory", "path") or "."
    return call.action(ActionKind.FILE_READ, path=path,
                       pattern=call.require("glob_pattern", "pattern"))  # fmt: skip


def _list_dir(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=call.require("target_directory", "path"))


def _web_fetch(call: ToolCall) -> Action:
    return call.action(ActionKind.HTTP, url=call.require("url"), method="GET")


def _web_search(call: ToolCall) -> Action:
    return call.action(ActionKind.WEB_SEARCH,
                       query=call.require("search_term", "query", ident=False))  # fmt: skip


def _custom(call: ToolCall) -> Action:
    return call.action(ActionKind.CUSTOM)


#: Cursor's agent tools that only touch Cursor's own state: ``CUSTOM``, input kept.
INTERNAL_TOOLS = frozenset({"Task", "TodoWrite", "ReadLints", "AskQuestion", "SwitchMode"})

TOOLS: dict[str, ToolMapper] = {
    "Shell": _shell,
    "Terminal": _shell,
    "Read": _read,
    "Write": _write,
    "TabWrite": _write,
    "Edit": _edit,
    "StrReplace": _edit,
    "MultiEdit": _edit,
    "Delete": _delete,
    "Grep": _grep,
    "Glob": _glob,
    "LS": _list_dir,
    "WebFetch": _web_fetch,
    "WebSearch": _web_search,
    **dict.fromkeys(INTERNAL_TOOLS, _custom),
}

#: Tool names that identify a Cursor payload when no other field does.
TOOL_NAMES = frozenset({"Shell", "StrReplace", "Delete", "TabWrite"})


def split_mcp_tool(name: str) -> tuple[str, str] | None:
    """``MCP:server:tool`` -> ``(server, tool)``; ``None`` for any other name."""
    if not name.startswith(MCP_PREFIX):
        return None
    server, sep, tool = name[len(MCP_PREFIX) :].partition(":")
    return (server, tool) if sep and server and tool else None


class CursorAdapter(AgentAdapter):
    """Cursor agent hooks (``beforeShellExecution`` and friends, ``preToolUse``)."""

    source = Source.CURSOR
    events = EVENTS
    tools = TOOLS

    def context(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        where = "cursor payload"
        cwd = f.get_str(payload, "cwd", where=where, identifier=True)
        if not cwd:
            roots = f.get_str_list(payload, "workspace_roots", where=where, identifier=True)
            cwd = roots[0] if roots else None
        return {
            "cwd": cwd or None,
            "session_id": f.get_str(payload, "conversation_id", where=where)
            or f.get_str(payload, "session_id", where=where),
            "tool_use_id": f.get_str(payload, "tool_use_id", where=where)
            or f.get_str(payload, "generation_id", where=where),
            "agent": None,
        }

    def tool_call(self, payload: Mapping[str, Any]) -> ToolCall:
        where = "cursor payload"
        event = f.get_str(payload, "hook_event_name", where=where)
        synthetic = EVENT_TOOLS.get(event or "")
        if synthetic is not None:
            keys = ("command", "cwd") if synthetic == "Shell" else ("file_path", "edits")
            raw: Mapping[str, Any] = {k: payload[k] for k in keys if payload.get(k) is not None}
            tool = synthetic
        else:
            tool_name = f.get_str(payload, "tool_name", where=where, required=True,
                                  identifier=True)  # fmt: skip
            assert tool_name is not None
            tool = tool_name
            raw = decode_input(payload.get("tool_input", {}), f"{where} {tool}")
        call = ToolCall(
            source=self.source,
            tool=tool,
            input=f.clean_object(raw, where=f"cursor {tool} tool_input"),
            **self.context(payload),
        )
        if event in MCP_EVENTS:
            server = self._server(payload, tool)
            return msgspec.structs.replace(call, mcp_server=server)
        return call

    @staticmethod
    def _server(payload: Mapping[str, Any], tool: str) -> str:
        """The MCP server of a ``before/afterMCPExecution`` event: from ``MCP:server:tool``,
        else the server's ``url`` or ``command`` (all Cursor says about it)."""
        named = split_mcp_tool(tool)
        if named:
            return named[0]
        for key in ("server_name", "server", "url", "command"):
            value = f.get_str(payload, key, where="cursor payload", identifier=True)
            if value:
                return value
        return "unknown"

    def mcp_server(self, call: ToolCall) -> str | None:
        if call.mcp_server:
            return call.mcp_server
        named = split_mcp_tool(call.tool)
        return named[0] if named else None

    def tool_action(self, call: ToolCall) -> Action:
        if call.mcp_server:
            return call.action(ActionKind.MCP, mcp_server=call.mcp_server)
        return super().tool_action(call)

    def parse_hook(self, payload: Mapping[str, Any]) -> HookEvent:
        event = super().parse_hook(payload)
        if event.kind is not HookKind.POST_TOOL:
            return event
        for key in RESULT_FIELDS:
            if payload.get(key) is not None:
                response = f.clean_value(payload[key], where=f"cursor payload {key}")
                return msgspec.structs.replace(event, tool_response=response)
        return event
