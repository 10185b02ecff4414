"""GitHub Copilot CLI's hook answers (https://docs.github.com/en/copilot/reference/hooks-reference,
"``preToolUse`` decision control", "``permissionRequest`` decision control", "Exit codes").

* ``preToolUse``: ``{"permissionDecision": "deny"|"ask", "permissionDecisionReason": ...}`` on
  stdout, exit 0. The reason is required for a deny. No output is the default behaviour (the
  user's own permission rules), which is how warden's allow is sent. ``preToolUse`` cannot stop
  the session, so a kill is a deny whose reason tells the model to stop.
* ``permissionRequest``: ``{"behavior": "deny", "message": ...}``; a kill adds
  ``interrupt: true``, which "stops the agent entirely".
* ``postToolUse``, prompts, sessions: their output is ignored by Copilot; warden prints nothing.

**Exit code 2 is not a block for ``preToolUse``** (only a warning; for ``permissionRequest``
it is a deny), and any other failure, a timeout included, is "logged and skipped". So warden's
failures are answered with the JSON deny and exit 0, never with an exit code; and a warden
that does not answer at all lets the call through (``docs/integrations.md``, "Fail closed").
"""

from __future__ import annotations

from warden.decision import Verdict
from warden.integrations.hooks.base import (
    BLOCKABLE,
    AgentProtocol,
    HookAnswer,
    Reply,
    clip,
    dump_json,
)
from warden.normalize.base import HookKind, Source

__all__ = ["CopilotProtocol"]

KILL_SUFFIX = " warden stopped this session: end the task now and tell the user why."


class CopilotProtocol(AgentProtocol):
    name = "copilot"
    source = Source.COPILOT

    def render(self, reply: Reply) -> HookAnswer:
        if reply.kind is HookKind.PRE_TOOL and reply.blocks:
            ask = reply.verdict is Verdict.ASK and not reply.stop
            reason = reply.reason + (KILL_SUFFIX if reply.stop else "")
            return HookAnswer(dump_json({
                "permissionDecision": "ask" if ask else "deny",
                "permissionDecisionReason": clip(reason),
            }))  # fmt: skip
        if (
            reply.kind is HookKind.PERMISSION_REQUEST
            and reply.verdict is not None
            and (reply.verdict >= Verdict.DENY)
        ):
            out: dict[str, object] = {"behavior": "deny", "message": clip(reply.reason)}
            if reply.stop:
                out["interrupt"] = True
            return HookAnswer(dump_json(out))
        return HookAnswer("")

    def failure(self, reason: str, kind: HookKind | None, event: str | None) -> HookAnswer:
        text = clip(f"warden could not check this and blocked it: {reason}")
        if kind is HookKind.PERMISSION_REQUEST:
            return HookAnswer(dump_json({"behavior": "deny", "message": text}))
        if kind is None or kind in BLOCKABLE:
            # a prompt cannot be blocked (its output is ignored); the deny is harmless there
            return HookAnswer(dump_json(
                {"permissionDecision": "deny", "permissionDecisionReason": text}
            ))  # fmt: skip
        return HookAnswer("")
