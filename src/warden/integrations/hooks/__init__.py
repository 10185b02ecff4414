"""Coding-agent hooks: ``warden hook AGENT`` for Claude Code, Codex, Gemini CLI, Cursor and
GitHub Copilot CLI (``docs/integrations.md``).

One module per agent renders warden's :class:`Reply` in that agent's documented format;
:func:`handle` runs one invocation end to end and never raises.
"""

from __future__ import annotations

from warden.integrations.hooks.base import AgentProtocol, HookAnswer, HookError, Reply
from warden.integrations.hooks.claude_code import ClaudeCodeProtocol
from warden.integrations.hooks.codex import CodexProtocol
from warden.integrations.hooks.copilot import CopilotProtocol
from warden.integrations.hooks.cursor import CursorProtocol
from warden.integrations.hooks.gemini import GeminiProtocol
from warden.integrations.hooks.handler import HookConfig, handle, read_payload, refuse

__all__ = [
    "PROTOCOLS",
    "AgentProtocol",
    "HookAnswer",
    "HookConfig",
    "HookError",
    "Reply",
    "handle",
    "protocol_for",
    "read_payload",
    "refuse",
]

#: Command-line name -> protocol.
PROTOCOLS: dict[str, AgentProtocol] = {
    p.name: p
    for p in (
        ClaudeCodeProtocol(), CodexProtocol(), GeminiProtocol(), CursorProtocol(),
        CopilotProtocol(),
    )
}  # fmt: skip


def protocol_for(name: str) -> AgentProtocol:
    """The protocol of ``claude-code``, ``codex`` or ``gemini`` (``claude``/``gemini-cli`` too)."""
    aliases = {"claude": "claude-code", "claude_code": "claude-code", "gemini-cli": "gemini",
               "copilot-cli": "copilot", "github-copilot": "copilot"}  # fmt: skip
    key = aliases.get(name, name)
    found = PROTOCOLS.get(key)
    if found is None:
        raise HookError(f"unknown agent {name!r}; expected one of {', '.join(PROTOCOLS)}")
    return found
