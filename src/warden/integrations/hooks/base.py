"""The interface of the hook-protocol family: what warden answers, and how an agent hears it.

A hook invocation ends in a :class:`Reply`, warden's answer in its own terms (a verdict or no
decision, a reason for the agent, context to add, whether to stop the session). Each agent module
(``claude_code``, ``codex``, ``gemini``) implements :class:`AgentProtocol`, which renders a
reply as a :class:`HookAnswer`: the exact stdout, stderr and exit code that agent documents.

Two rules shape every protocol:

* **No silent allow.** ``ALLOW`` is rendered as *no decision*: the agent's own permission flow
  still applies (warden only ever tightens it), and a hook answer can never widen what the user
  configured.
* **Failures deny in the agent's own format.** :meth:`AgentProtocol.failure` is the answer for
  anything that went wrong before a decision existed (unreadable input, an unopenable policy or
  audit log, a bug); it is a block wherever the event can be blocked, never a traceback and never
  an exit code the agent treats as "non-blocking error, carry on".
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from warden.decision import Verdict
from warden.errors import HookError
from warden.normalize.base import HookKind, Source

__all__ = [
    "BLOCKABLE",
    "EXIT_BLOCK",
    "MAX_REASON_CHARS",
    "AgentProtocol",
    "HookAnswer",
    "HookError",
    "Reply",
    "clip",
    "dump_json",
]

#: Longest reason or context text put in an answer. The agents show it to the model and the
#: user; a reason is one or two sentences, and a payload-sized echo (a 10 MB command quoted in an
#: error) must not be sent back into the model's context.
MAX_REASON_CHARS = 2000

#: Events whose action an agent lets a hook block (a tool call, a permission, a prompt).
BLOCKABLE = frozenset(
    {HookKind.PRE_TOOL, HookKind.PERMISSION_REQUEST, HookKind.PROMPT_SUBMIT}
)


#: The exit code Claude Code, Codex and Gemini CLI all read as "block; stderr is the reason".
#: Any other non-zero code is a non-blocking error to all three, so no answer ever uses one.
EXIT_BLOCK = 2


def clip(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker when it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def dump_json(obj: dict[str, Any]) -> str:
    """Compact JSON for an answer (non-ASCII kept: the agents read UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """warden's answer to one hook event, before any agent's format is applied.

    ``verdict`` is ``None`` for *no decision* (events that only get recorded, and allowed
    actions); ``reason`` is written for the agent; ``context`` is text to add to the model's
    context (a warning about a tool's output); ``stop`` asks the agent to end the session
    (warden's ``KILL``), with ``stop_reason`` for the user.
    """

    kind: HookKind
    event: str | None = None
    verdict: Verdict | None = None
    reason: str = ""
    context: str | None = None
    stop: bool = False
    stop_reason: str = ""

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict >= Verdict.ASK and not self.reason:
            raise ValueError("an ask, deny or kill reply needs a reason")
        if self.stop and not self.stop_reason:
            raise ValueError("a stop reply needs a stop_reason")

    @property
    def blocks(self) -> bool:
        """Whether the action must not go ahead unasked (ask, deny or kill)."""
        return self.verdict is not None and self.verdict >= Verdict.ASK


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """What the hook process writes and how it exits: exactly what the agent reads."""

    stdout: str
    stderr: str = ""
    exit_code: int = 0


class AgentProtocol(ABC):
    """One agent's hook wire format."""

    #: The name on the command line (``warden hook claude-code``).
    name: str
    #: The normaliser vocabulary of the agent's payloads.
    source: Source

    @abstractmethod
    def render(self, reply: Reply) -> HookAnswer:
        """The agent's answer for a decided (or merely recorded) event."""

    @abstractmethod
    def failure(self, reason: str, kind: HookKind | None, event: str | None) -> HookAnswer:
        """Fail closed: the answer when no decision could be made.

        ``kind`` is ``None`` when the payload could not even be read; the answer must then
        block as if it were a tool call, because that is what a hook is most often asked.
        """
