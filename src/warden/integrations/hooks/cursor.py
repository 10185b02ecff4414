"""Cursor's hook answers (https://cursor.com/docs/agent/hooks; see ``docs/integrations.md``).

* ``beforeShellExecution``, ``beforeMCPExecution``, ``preToolUse``: ``permission`` is
  ``"allow"``, ``"deny"`` or ``"ask"``; ``user_message`` is shown to the user and
  ``agent_message`` sent to the model. warden's ask is ``"ask"``; a deny is ``"deny"`` with
  warden's reason in both messages, and the process exits 2, which Cursor also reads as a
  block, so a deny holds even if Cursor ignored the JSON. Cursor has no way for these hooks to
  end the agent loop, so a kill is a deny whose ``agent_message`` tells the model to stop.
* ``beforeReadFile``: ``permission`` only, and no ``ask``: an ask is a deny there.
* ``beforeSubmitPrompt``: ``continue: false`` with ``user_message`` blocks the prompt.
* After-events, ``stop``, sessions: ``{}`` (``postToolUse`` gets ``additional_context`` when a
  tool's output carried untrusted instructions or secrets).
* No decision: ``{}``, exit 0: Cursor's own permission settings apply.

Failures answer the deny above and exit 2 on any event that can block. A hook that crashes,
hangs past its timeout or cannot start is a block only when its entry has ``failClosed: true``,
which ``warden install cursor`` writes on every blocking event.
"""

from __future__ import annotations

from typing import Any

from warden.decision import Verdict
from warden.integrations.hooks.base import (
    BLOCKABLE,
    EXIT_BLOCK,
    MAX_REASON_CHARS,
    AgentProtocol,
    HookAnswer,
    Reply,
    clip,
    dump_json,
)
from warden.normalize.base import HookKind, Source

__all__ = ["CursorProtocol"]

#: Events whose ``permission`` may be ``"ask"`` (``beforeReadFile`` takes allow/deny only).
ASK_EVENTS = frozenset({"beforeShellExecution", "beforeMCPExecution", "preToolUse"})
#: Events that answer with ``permission`` (the rest of the blockable ones are prompts).
PERMISSION_EVENTS = ASK_EVENTS | {"beforeReadFile"}

ASK_SUFFIX = (
    " This needs the user's approval, which this Cursor hook cannot request: ask the user to "
    "run it themselves or to allow it in warden's policy."
)
KILL_SUFFIX = " warden stopped this session: end the task now and tell the user why."

#: The reason goes out twice (to the user and to the agent): each copy gets half the budget.
MESSAGE_CHARS = MAX_REASON_CHARS // 2


def _deny(reason: str, event: str | None) -> HookAnswer:
    """Deny in every shape Cursor reads for ``event``, and exit 2 (a block on its own)."""
    text = clip(reason, MESSAGE_CHARS)
    out: dict[str, Any] = {"permission": "deny", "user_message": text, "agent_message": text}
    if event not in PERMISSION_EVENTS:  # a prompt, or an event not known: block it too
        out["continue"] = False
    return HookAnswer(dump_json(out), text + "\n", EXIT_BLOCK)


class CursorProtocol(AgentProtocol):
    name = "cursor"
    source = Source.CURSOR

    def render(self, reply: Reply) -> HookAnswer:
        event = reply.event or "preToolUse"
        if reply.kind is HookKind.PRE_TOOL and reply.blocks:
            if reply.verdict is Verdict.ASK and event in ASK_EVENTS and not reply.stop:
                text = clip(reply.reason, MESSAGE_CHARS)
                return HookAnswer(dump_json(
                    {"permission": "ask", "user_message": text, "agent_message": text}
                ))  # fmt: skip
            reason = reply.reason
            if reply.verdict is Verdict.ASK:
                reason += ASK_SUFFIX
            if reply.stop:
                reason += KILL_SUFFIX
            return _deny(reason, event)
        if reply.kind is HookKind.PROMPT_SUBMIT and reply.blocks:
            return _deny(reply.reason, event)
        if reply.kind is HookKind.POST_TOOL and reply.context and event == "postToolUse":
            return HookAnswer(dump_json({"additional_context": clip(reply.context)}))
        return HookAnswer("{}")

    def failure(self, reason: str, kind: HookKind | None, event: str | None) -> HookAnswer:
        text = f"warden could not check this and blocked it: {reason}"
        if kind is None or kind in BLOCKABLE:
            return _deny(text, event)
        return HookAnswer("{}")
