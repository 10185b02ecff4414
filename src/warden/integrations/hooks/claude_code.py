"""Claude Code's hook answers (https://code.claude.com/docs/en/hooks, "Hook output").

* ``PreToolUse``: ``hookSpecificOutput.permissionDecision`` ``deny``/``ask`` with
  ``permissionDecisionReason`` (shown to Claude on deny, to the user on ask); a kill adds the
  universal ``continue: false`` and ``stopReason``, which end the session.
* ``PermissionRequest``: ``hookSpecificOutput.decision.behavior = "deny"`` with ``message``; a
  kill adds ``interrupt: true``.
* ``PostToolUse``: ``hookSpecificOutput.additionalContext`` carries the output warnings to Claude.
* Everything else: ``{}`` (no decision). Plain stdout would be added to Claude's context on
  ``UserPromptSubmit`` and ``SessionStart``, so the neutral answer is always the empty object.

Failures exit 2 with the reason on stderr, which blocks ``PreToolUse``, ``PermissionRequest``
and ``UserPromptSubmit`` without depending on JSON; on events where exit 2 means something else
(``Stop``: "keep going") a failure is a ``systemMessage`` warning instead. Exit codes other than
0 and 2 are "non-blocking errors" to Claude Code, so this module never produces them.
"""

from __future__ import annotations

from typing import Any

from warden.decision import Verdict
from warden.integrations.hooks.base import (
    BLOCKABLE,
    EXIT_BLOCK,
    AgentProtocol,
    HookAnswer,
    Reply,
    clip,
)
from warden.integrations.hooks.base import dump_json as _dump
from warden.normalize.base import HookKind, Source

__all__ = ["ClaudeCodeProtocol"]


class ClaudeCodeProtocol(AgentProtocol):
    name = "claude-code"
    source = Source.CLAUDE_CODE

    def render(self, reply: Reply) -> HookAnswer:
        out: dict[str, Any] = {}
        event = reply.event or _DEFAULT_EVENT.get(reply.kind, "PreToolUse")
        if reply.kind is HookKind.PRE_TOOL and reply.blocks:
            decision = "ask" if reply.verdict is Verdict.ASK else "deny"
            out["hookSpecificOutput"] = {
                "hookEventName": event,
                "permissionDecision": decision,
                "permissionDecisionReason": clip(reply.reason),
            }
        elif reply.kind is HookKind.PERMISSION_REQUEST and reply.verdict is not None and (
            reply.verdict >= Verdict.DENY
        ):
            verdict: dict[str, Any] = {"behavior": "deny", "message": clip(reply.reason)}
            if reply.stop:
                verdict["interrupt"] = True
            out["hookSpecificOutput"] = {"hookEventName": event, "decision": verdict}
        elif reply.kind is HookKind.POST_TOOL and reply.context:
            out["hookSpecificOutput"] = {
                "hookEventName": event,
                "additionalContext": clip(reply.context),
            }
        if reply.stop:
            out["continue"] = False
            out["stopReason"] = clip(reply.stop_reason)
        return HookAnswer(_dump(out))

    def failure(self, reason: str, kind: HookKind | None, event: str | None) -> HookAnswer:
        text = clip(f"warden could not check this and blocked it: {reason}")
        if kind is None or kind in BLOCKABLE:
            return HookAnswer("", text + "\n", EXIT_BLOCK)
        return HookAnswer(_dump({"systemMessage": text}))


_DEFAULT_EVENT = {
    HookKind.PRE_TOOL: "PreToolUse",
    HookKind.PERMISSION_REQUEST: "PermissionRequest",
    HookKind.POST_TOOL: "PostToolUse",
}
