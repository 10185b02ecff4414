"""Which agent sent a payload, told from its shape.

Most agents share Claude Code's hook envelope, so detection looks at what differs:

1. ``kind`` -> warden's own action JSON.
2. The event name narrows the candidates to the agents that fire it (``BeforeTool`` is Gemini
   CLI's, ``StopFailure`` Codex's; ``PreToolUse`` is Claude Code's and Codex's). An event no agent
   fires is refused.
3. Among the candidates, the first envelope hint that names one of them wins:
   Gemini's ``timestamp``/``mcp_context`` (``docs/hooks/reference.md``, "Base input schema");
   Codex's ``turn_id``, or ``model`` next to ``tool_name`` (required in every Codex tool-event
   schema, ``codex-rs/hooks/schema/generated/*.input.schema.json``); a tool name only one
   vocabulary uses (``run_shell_command``, ``apply_patch``...); the agent's home directory in
   ``transcript_path`` (``~/.codex/``, ``~/.gemini/``, ``~/.claude/``).
   Cursor's ``conversation_id``/``workspace_roots`` (every Cursor payload has them); Copilot's
   camelCase ``toolName``/``toolArgs``/``sessionId``.
4. Otherwise the first candidate, Claude Code before Codex before Gemini, because Claude Code's
   envelope is the common one; the ``{"tool": ..., "input": ...}`` shorthand lands here too.

A wrong guess is contained: each adapter falls back on the other agents' tool tables before
mapping a tool to ``CUSTOM``, so a file write stays a file write.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from warden.errors import InputError
from warden.normalize import _fields as f
from warden.normalize import claude_code, codex, copilot, cursor, gemini
from warden.normalize.base import Source

__all__ = ["detect_source"]

_EVENTS = (
    (Source.CLAUDE_CODE, claude_code.EVENTS),
    (Source.CODEX, codex.EVENTS),
    (Source.GEMINI, gemini.EVENTS),
    (Source.CURSOR, cursor.EVENTS),
    (Source.COPILOT, copilot.EVENTS),
)
_TRANSCRIPT_DIRS = (
    ("/.codex/", Source.CODEX),
    ("/.gemini/", Source.GEMINI),
    ("/.claude/", Source.CLAUDE_CODE),
)


def detect_source(payload: Mapping[str, Any]) -> Source:
    """The :class:`Source` whose vocabulary ``payload`` speaks."""
    if not isinstance(payload, Mapping):
        raise InputError(f"a payload must be a JSON object, not {f.type_name(payload)}")
    if "kind" in payload:
        return Source.WARDEN
    event = payload.get("hook_event_name")
    tool = payload.get("tool_name", payload.get("tool", payload.get("toolName")))
    if event is None and tool is None:
        raise InputError(
            "cannot tell what this payload is: expected `kind` (warden action), "
            "`hook_event_name` (agent hook), or `tool_name`/`tool` (a tool call)"
        )
    if event is not None and not isinstance(event, str):
        raise InputError(f"payload: `hook_event_name` must be a string, not {f.type_name(event)}")
    candidates = [source for source, events in _EVENTS if event is None or event in events]
    if not candidates:
        raise InputError(f"payload: no supported agent fires the hook event {event!r}")
    for hint in _hints(payload, tool):
        if hint in candidates:
            return hint
    return candidates[0]


def _hints(payload: Mapping[str, Any], tool: object) -> Iterator[Source]:
    """Sources the envelope points at, strongest first."""
    if "conversation_id" in payload or "workspace_roots" in payload or "cursor_version" in payload:
        yield Source.CURSOR
    if "toolName" in payload or "toolArgs" in payload or "sessionId" in payload:
        yield Source.COPILOT
    if "timestamp" in payload or "mcp_context" in payload:
        yield Source.GEMINI
    if "turn_id" in payload or ("model" in payload and "tool_name" in payload):
        yield Source.CODEX
    if isinstance(tool, str):
        if tool in gemini.TOOL_NAMES:
            yield Source.GEMINI
        if tool in codex.TOOL_NAMES:
            yield Source.CODEX
        if tool in copilot.TOOL_NAMES:
            yield Source.COPILOT
        if tool in cursor.TOOL_NAMES or tool.startswith(cursor.MCP_PREFIX):
            yield Source.CURSOR
    transcript = payload.get("transcript_path")
    if isinstance(transcript, str):
        for marker, source in _TRANSCRIPT_DIRS:
            if marker in transcript:
                yield source
