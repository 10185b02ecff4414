"""Gemini CLI's hook answers (https://geminicli.com/docs/hooks/reference, "Common output
fields", "BeforeTool", "AfterTool").

* ``BeforeTool``: ``decision: "deny"`` with ``reason`` (sent to the model as the tool's error).
  Gemini hooks have no ``ask``, so warden's ask is a deny whose reason says the user must
  approve. A kill adds ``continue: false`` and ``stopReason``, which end the agent loop.
* ``AfterTool``: ``hookSpecificOutput.additionalContext`` is appended to the tool result.
* ``BeforeAgent`` (prompt submit), sessions, notifications: ``{}`` (advisory events).

Failures exit 2 with the reason on stderr: Gemini blocks the tool (``BeforeTool``) or the turn
(``BeforeAgent``). Any other exit code is a warning and the action goes ahead, and no setting
changes that (``docs/integrations.md``). Gemini CLI passes its API key to hook processes in the
environment; warden never records the environment.
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
    dump_json,
)
from warden.normalize.base import HookKind, Source

__all__ = ["GeminiProtocol"]

ASK_SUFFIX = (
    " This needs the user's approval, which Gemini CLI hooks cannot request: ask the user to "
    "run it themselves or to allow it in warden's policy."
)


class GeminiProtocol(AgentProtocol):
    name = "gemini"
    source = Source.GEMINI

    def render(self, reply: Reply) -> HookAnswer:
        out: dict[str, Any] = {}
        if reply.kind is HookKind.PRE_TOOL and reply.blocks:
            reason = reply.reason + (ASK_SUFFIX if reply.verdict is Verdict.ASK else "")
            out["decision"] = "deny"
            out["reason"] = clip(reason)
        elif reply.kind is HookKind.POST_TOOL and reply.context:
            out["hookSpecificOutput"] = {
                "hookEventName": reply.event or "AfterTool",
                "additionalContext": clip(reply.context),
            }
        if reply.stop:
            out["continue"] = False
            out["stopReason"] = clip(reply.stop_reason)
        return HookAnswer(dump_json(out))

    def failure(self, reason: str, kind: HookKind | None, event: str | None) -> HookAnswer:
        text = clip(f"warden could not check this and blocked it: {reason}")
        if kind is None or kind in BLOCKABLE:
            return HookAnswer("", text + "\n", EXIT_BLOCK)
        return HookAnswer(dump_json({"systemMessage": text}))
