"""Codex CLI's hook answers (https://developers.openai.com/codex/hooks; the parser is
``codex-rs/hooks/src/engine/output_parser.rs`` in github.com/openai/codex).

Codex copied Claude Code's wire format but accepts less of it, and **an output it calls
unsupported is a failed hook, and a failed hook does not block**. So:

* ``PreToolUse``: deny is ``hookSpecificOutput.permissionDecision = "deny"`` with a non-empty
  ``permissionDecisionReason``. ``ask`` is unsupported (the call would run), so warden's ask is
  sent as a deny whose reason says the user must approve it. ``continue: false`` and
  ``stopReason`` are unsupported on ``PreToolUse`` too, so a kill is a deny whose reason says
  the session must stop. ``allow`` without ``updatedInput`` is unsupported: allow is no output.
* ``PermissionRequest``: ``hookSpecificOutput.decision.behavior = "deny"`` with ``message``
  (``interrupt`` is unsupported).
* ``PostToolUse``: ``hookSpecificOutput.additionalContext``.
* No decision: empty stdout, exit 0.

Failures exit 2 with the reason on stderr (Codex requires a non-empty stderr for exit 2 to
block). Codex has no setting that makes a crashed or timed-out hook block
(``docs/integrations.md``).
"""

from __future__ import annotations

from warden.decision import Verdict
from warden.integrations.hooks.base import (
    BLOCKABLE,
    EXIT_BLOCK,
    AgentProtocol,
    HookAnswer,
    Reply,
    clip,
    dump_json,
)
from warden.normalize.base import HookKind, Source

__all__ = ["CodexProtocol"]

ASK_SUFFIX = (
    ". This needs the user's approval, which Codex hooks cannot request: ask the user to run it "
    "themselves or to allow it in warden's policy"
)
KILL_SUFFIX = ". warden stopped this session: end the task now and tell the user why"


class CodexProtocol(AgentProtocol):
    name = "codex"
    source = Source.CODEX

    def render(self, reply: Reply) -> HookAnswer:
        event = reply.event or "PreToolUse"
        if reply.kind is HookKind.PRE_TOOL and reply.blocks:
            # Codex shows "<reason>. Command: <command>": no trailing period of our own
            reason = reply.reason.rstrip(". ")
            if reply.verdict is Verdict.ASK:
                reason += ASK_SUFFIX
            if reply.stop:
                reason += KILL_SUFFIX
            return HookAnswer(dump_json({"hookSpecificOutput": {
                "hookEventName": event,
                "permissionDecision": "deny",
                "permissionDecisionReason": clip(reason),
            }}))  # fmt: skip
        if reply.kind is HookKind.PERMISSION_REQUEST and reply.verdict is not None and (
            reply.verdict >= Verdict.DENY
        ):
            message = reply.reason.rstrip(". ") + (KILL_SUFFIX if reply.stop else "")
            return HookAnswer(dump_json({"hookSpecificOutput": {
                "hookEventName": event,
                "decision": {"behavior": "deny", "message": clip(message)},
            }}))  # fmt: skip
        if reply.kind is HookKind.POST_TOOL and reply.context:
            return HookAnswer(dump_json({"hookSpecificOutput": {
                "hookEventName": event, "additionalContext": clip(reply.context),
            }}))  # fmt: skip
        return HookAnswer("")

    def failure(self, reason: str, kind: HookKind | None, event: str | None) -> HookAnswer:
        text = clip(f"warden could not check this and blocked it: {reason}")
        if kind is None or kind in BLOCKABLE:
            return HookAnswer("", text + "\n", EXIT_BLOCK)
        return HookAnswer(dump_json({"systemMessage": text}))
