"""The normaliser: every agent's tool calls and hook payloads, in warden's one action model.

Supported sources: warden's own action JSON, Claude Code hooks (and the ``{"tool", "input"}``
shorthand), Codex CLI hooks (including ``apply_patch`` envelopes), Gemini CLI hooks, Cursor
hooks and GitHub Copilot CLI hooks, with MCP tools of each. Imports stay light (stdlib and
msgspec): this runs in a hook process per tool call.
"""

from __future__ import annotations

from warden.normalize.base import HookEvent, HookKind, Source
from warden.normalize.detect import detect_source
from warden.normalize.normalizer import adapter_for, hook_event, normalize, parse_hook
from warden.normalize.patch import parse_apply_patch

__all__ = [
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
