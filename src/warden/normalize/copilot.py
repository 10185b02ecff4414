"""GitHub Copilot CLI (and Copilot cloud agent): hook payloads and tool vocabulary.

Sources (checked November 2026): "GitHub Copilot hooks reference",
https://docs.github.com/en/copilot/reference/hooks-reference (``content/copilot/reference/
hooks-reference.md`` in github/docs), and "Hooks configuration",
https://docs.github.com/en/copilot/reference/hooks-configuration.

Copilot sends one of two payload formats, chosen by how the event is spelled in the hooks file:

- **camelCase** (``preToolUse``): ``{sessionId, timestamp (ms), cwd, toolName, toolArgs}``,
  with ``toolArgs`` a JSON-encoded string in the documented examples; ``postToolUse`` adds
  ``toolResult {resultType, textResultForLlm}``, ``postToolUseFailure`` ``error``;
  ``userPromptSubmitted`` ``prompt``; ``sessionStart`` ``source``/``initialPrompt``;
  ``sessionEnd`` ``reason``. **No event name** is in the payload: it is inferred from the
  fields (:func:`infer_event`).
- **VS Code compatible** (``PreToolUse``): the Claude Code envelope, ``{hook_event_name,
  session_id, timestamp (ISO 8601), cwd, tool_name, tool_input, tool_result?}``.
  ``warden install copilot`` registers this form, so every payload names its event.

Tools ("Tool names for hook matching"): ``bash``/``powershell {command, description?}``,
``view {path, view_range?}``, ``create {path, file_text}``, ``edit {path, old_str, new_str}``,
``glob {pattern, path?}``, ``grep {pattern, path?, glob?}``, ``web_fetch {url}``, ``task``,
``ask_user``. ``write_bash {shellId, input}`` types into a running shell, so it is judged as a
shell command, not waved through as internal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
    split_mcp_name,
)
from warden.normalize.cursor import decode_input

__all__ = ["EVENTS", "TOOLS", "CopilotAdapter", "infer_event"]

#: Both spellings of every event ("Hook events"; the PascalCase names of the VS Code format).
EVENTS: dict[str, HookKind] = {
    "preToolUse": HookKind.PRE_TOOL,
    "PreToolUse": HookKind.PRE_TOOL,
    "permissionRequest": HookKind.PERMISSION_REQUEST,
    "PermissionRequest": HookKind.PERMISSION_REQUEST,
    "postToolUse": HookKind.POST_TOOL,
    "PostToolUse": HookKind.POST_TOOL,
    "postToolUseFailure": HookKind.POST_TOOL,
    "PostToolUseFailure": HookKind.POST_TOOL,
    "userPromptSubmitted": HookKind.PROMPT_SUBMIT,
    "UserPromptSubmit": HookKind.PROMPT_SUBMIT,
    "sessionStart": HookKind.SESSION_START,
    "SessionStart": HookKind.SESSION_START,
    "sessionEnd": HookKind.SESSION_END,
    "SessionEnd": HookKind.SESSION_END,
    "agentStop": HookKind.STOP,
    "Stop": HookKind.STOP,
    "subagentStop": HookKind.STOP,
    "SubagentStop": HookKind.STOP,
    "notification": HookKind.NOTIFICATION,
    "Notification": HookKind.NOTIFICATION,
    "errorOccurred": HookKind.OTHER,
    "ErrorOccurred": HookKind.OTHER,
    "preCompact": HookKind.OTHER,
    "PreCompact": HookKind.OTHER,
    "subagentStart": HookKind.OTHER,
}


def infer_event(payload: Mapping[str, Any]) -> HookKind | None:
    """The event of a camelCase payload, which does not name it; ``None`` if nothing fits.

    A payload with a tool and no result is a pre-tool call, the one that must be judged; so
    a tool call with an unexpected extra field is still judged, never recorded as a result.
    """
    if "toolName" in payload or "tool_name" in payload:
        if any(k in payload for k in ("toolResult", "tool_result", "error")):
            return HookKind.POST_TOOL
        return HookKind.PRE_TOOL
    if "prompt" in payload:
        return HookKind.PROMPT_SUBMIT
    if "initialPrompt" in payload or "source" in payload:
        return HookKind.SESSION_START
    if "reason" in payload:
        return HookKind.SESSION_END
    if "stopReason" in payload:
        return HookKind.STOP
    if "error" in payload:
        return HookKind.OTHER
    return None




def _shell(call: ToolCall) -> Action:
    return call.action(ActionKind.SHELL, command=call.require("command"))


def _write_shell(call: ToolCall) -> Action:
    # text typed into a running shell is a command like any other
    return call.action(ActionKind.SHELL, command=call.require("input", "command"))


def _view(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=call.require("path", "file_path"))


def _create(call: ToolCall) -> Action:
    path = call.require("path", "file_path")
    content = call.require("file_text", "content", ident=False)
    return call.action(ActionKind.FILE_WRITE, path=path, content=content)


def _edit(call: ToolCall) -> Action:
    path = call.require("path", "file_path")
    change = FileChange(
        path=path,
        op=ChangeOp.UPDATE,
        old_text=call.first("old_str", "old_string", ident=False),
        new_text=call.require("new_str", "new_string", ident=False),
    )
    return call.action(ActionKind.FILE_EDIT, path=path, changes=(change,))


def _glob(call: ToolCall) -> Action:
    path = call.first("path") or "."
    return call.action(ActionKind.FILE_READ, path=path, pattern=call.require("pattern"))


def _grep(call: ToolCall) -> Action:
    path = call.first("path") or "."
    call.first("glob")
    pattern = call.require("pattern", ident=False)
    return call.action(ActionKind.FILE_READ, path=path, pattern=pattern)


def _web_fetch(call: ToolCall) -> Action:
    return call.action(ActionKind.HTTP, url=call.require("url"), method="GET")


def _custom(call: ToolCall) -> Action:
    return call.action(ActionKind.CUSTOM)


#: Copilot CLI tools that only touch its own state: ``CUSTOM``, input kept.
INTERNAL_TOOLS = frozenset(
    {"task", "ask_user", "report_intent", "think", "update_todo", "read_bash", "stop_bash",
     "list_bash", "fetch_copilot_cli_documentation"}
)  # fmt: skip

TOOLS: dict[str, ToolMapper] = {
    "bash": _shell,
    "powershell": _shell,
    "write_bash": _write_shell,
    "write_powershell": _write_shell,
    "view": _view,
    "create": _create,
    "edit": _edit,
    "str_replace": _edit,
    "glob": _glob,
    "grep": _grep,
    "web_fetch": _web_fetch,
    **dict.fromkeys(INTERNAL_TOOLS, _custom),
}

#: Tool names that identify a Copilot payload when no other field does.
TOOL_NAMES = frozenset({"bash", "powershell", "write_bash", "view", "create", "edit"})


class CopilotAdapter(AgentAdapter):
    """GitHub Copilot CLI hooks, in the camelCase and the VS Code compatible formats."""

    source = Source.COPILOT
    events = EVENTS
    tools = TOOLS

    def hook_kind(self, payload: Mapping[str, Any]) -> HookKind | None:
        if payload.get("hook_event_name") is not None:
            return super().hook_kind(payload)
        return infer_event(payload)

    def context(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        where = "copilot payload"
        return {
            "cwd": f.get_str(payload, "cwd", where=where, identifier=True),
            "session_id": f.get_str(payload, "session_id", where=where)
            or f.get_str(payload, "sessionId", where=where),
            "tool_use_id": f.get_str(payload, "tool_use_id", where=where),
            "agent": f.get_str(payload, "agent_name", where=where)
            or f.get_str(payload, "agentName", where=where),
        }

    def timestamp(self, payload: Mapping[str, Any]) -> float | None:
        value = payload.get("timestamp")
        if value is None:
            return None
        if isinstance(value, bool):
            raise InputError("copilot payload: `timestamp` must be a number or a string")
        if isinstance(value, int | float):
            return float(value) / 1000.0  # camelCase: Unix milliseconds
        if not isinstance(value, str):
            raise InputError(f"copilot payload: `timestamp` is {f.type_name(value)}")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            text = f"copilot payload: `timestamp` {value[:40]!r} is not ISO 8601"
            raise InputError(text) from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()

    def tool_call(self, payload: Mapping[str, Any]) -> ToolCall:
        where = "copilot payload"
        if "tool_name" in payload:
            tool = f.get_str(payload, "tool_name", where=where, required=True, identifier=True)
            raw = payload.get("tool_input", {})
        else:
            tool = f.get_str(payload, "toolName", where=where, required=True, identifier=True)
            raw = payload.get("toolArgs", {})
        assert tool is not None
        args = decode_input({} if raw is None else raw, f"{where} {tool}")
        return ToolCall(
            source=self.source,
            tool=tool,
            input=f.clean_object(args, where=f"copilot {tool} tool_input"),
            time=self.timestamp(payload),
            **self.context(payload),
        )

    def mcp_server(self, call: ToolCall) -> str | None:
        mcp = split_mcp_name(call.tool)
        return mcp[0] if mcp else None

    def parse_hook(self, payload: Mapping[str, Any]) -> HookEvent:
        kind = self.hook_kind(payload)
        if kind is None:
            raise InputError(
                "copilot payload: cannot tell which event this is (no hook_event_name, and "
                "none of toolName, prompt, source, reason)"
            )
        event = f.get_str(payload, "hook_event_name", where="copilot payload")
        ctx = self.context(payload)
        common: dict[str, Any] = {"event": event, "source": self.source,
                                  "session_id": ctx["session_id"], "cwd": ctx["cwd"]}  # fmt: skip
        if kind in (HookKind.PRE_TOOL, HookKind.POST_TOOL, HookKind.PERMISSION_REQUEST):
            action = self.tool_action(self.tool_call(payload))
            response = None
            if kind is HookKind.POST_TOOL:
                for key in ("tool_result", "toolResult", "error"):
                    if payload.get(key) is not None:
                        response = f.clean_value(payload[key], where=f"copilot payload {key}")
                        break
            return HookEvent(kind=kind, action=action, tool_response=response, **common)
        prompt = None
        if kind is HookKind.PROMPT_SUBMIT:
            prompt = f.get_str(payload, "prompt", where="copilot payload", required=True)
        return HookEvent(kind=kind, prompt=prompt, **common)

    def normalize(self, payload: Mapping[str, Any]) -> Action:
        kind = self.hook_kind(payload)
        if kind is not None and kind not in (
            HookKind.PRE_TOOL,
            HookKind.POST_TOOL,
            HookKind.PERMISSION_REQUEST,
        ):
            raise InputError(f"copilot payload: a {kind.value} event carries no tool call")
        return self.tool_action(self.tool_call(payload))
