"""Entry points: pick the adapter for a payload and run it.

``normalize`` is what the engine calls for every tool call; ``parse_hook`` is for the hook
integration, which also needs the event, the prompt and the tool response. Both refuse anything
they cannot understand with :class:`~warden.errors.InputError` and raise nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warden.action import Action
from warden.errors import InputError
from warden.normalize import _fields as f
from warden.normalize import claude_code, codex, copilot, cursor, gemini
from warden.normalize.base import AgentAdapter, HookEvent, Source
from warden.normalize.detect import detect_source
from warden.normalize.warden_json import WardenJsonAdapter

__all__ = ["adapter_for", "hook_event", "normalize", "parse_hook"]

_ADAPTERS: dict[Source, AgentAdapter] = {
    Source.CLAUDE_CODE: claude_code.ClaudeCodeAdapter(fallbacks=(codex.TOOLS, gemini.TOOLS)),
    Source.CODEX: codex.CodexAdapter(fallbacks=(claude_code.TOOLS, gemini.TOOLS)),
    Source.GEMINI: gemini.GeminiAdapter(fallbacks=(claude_code.TOOLS, codex.TOOLS)),
    Source.CURSOR: cursor.CursorAdapter(fallbacks=(claude_code.TOOLS,)),
    Source.COPILOT: copilot.CopilotAdapter(fallbacks=(claude_code.TOOLS, codex.TOOLS)),
}
_WARDEN = WardenJsonAdapter()


def adapter_for(source: str | Source) -> AgentAdapter | WardenJsonAdapter:
    """The adapter of a source name (``claude_code``, ``claude``, ``codex``, ``gemini-cli``...)."""
    if not isinstance(source, str):
        raise InputError(f"source must be a string, not {f.type_name(source)}")
    found = source if isinstance(source, Source) else Source.parse(source)
    return _WARDEN if found is Source.WARDEN else _ADAPTERS[found]


def _adapter(payload: Mapping[str, Any], source: str | None) -> AgentAdapter | WardenJsonAdapter:
    if not isinstance(payload, Mapping):
        raise InputError(f"a payload must be a JSON object, not {f.type_name(payload)}")
    return adapter_for(detect_source(payload) if source is None else source)


def normalize(payload: Mapping[str, Any], *, source: str | None = None) -> Action:
    """The :class:`Action` of one tool call, from any supported agent's payload.

    ``source`` names the agent when the caller knows it (the hook command line does); otherwise
    the payload's shape decides (:func:`warden.normalize.detect.detect_source`). Payloads of
    events that carry no tool call (a prompt, a session start) are refused.
    """
    return _adapter(payload, source).normalize(payload)


def parse_hook(payload: Mapping[str, Any], source: str | None = None) -> HookEvent:
    """The :class:`HookEvent` of one hook invocation, tool call or not."""
    return _adapter(payload, source).parse_hook(payload)


def hook_event(payload: Mapping[str, Any], source: str | None = None) -> str | None:
    """The normalised event name (``pre_tool``, ``prompt_submit``...), ``None`` if none is named.

    Unknown event names raise :class:`InputError`; documented events warden does not act on are
    ``"other"``.
    """
    adapter = _adapter(payload, source)
    if isinstance(adapter, WardenJsonAdapter):
        return None
    kind = adapter.hook_kind(payload)
    return None if kind is None else kind.value
