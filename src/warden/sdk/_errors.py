"""The SDK's errors: a blocked tool call, and a framework that is not installed.

Both are :class:`~warden.errors.WardenError` subclasses, so one ``except WardenError`` catches
everything warden raises on purpose. ``ToolDenied`` carries the decision, so a caller can show the
reason, branch on the verdict (a ``kill`` should end the agent's run, not just this call) or log
the rules that matched.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from warden.decision import Verdict
from warden.errors import WardenError

if TYPE_CHECKING:
    from warden.action import Action
    from warden.decision import Decision

__all__ = ["FrameworkMissing", "ToolDenied", "require"]


class ToolDenied(WardenError):
    """warden did not let a tool call run (deny, kill, or an ask nobody approved).

    ``str(exc)`` is the reason written for the agent (what happened and what to do instead);
    ``decision`` is the full decision; ``killed`` says the session must stop.
    """

    def __init__(self, decision: Decision, action: Action | None = None) -> None:
        self.decision = decision
        self.action = action
        super().__init__(decision.agent_reason or f"warden blocked this call: {decision.reason}")

    @property
    def verdict(self) -> Verdict:
        return self.decision.verdict

    @property
    def killed(self) -> bool:
        """The verdict is ``kill``: stop the agent's run, do not hand the reason back to it."""
        return self.decision.verdict is Verdict.KILL


class FrameworkMissing(WardenError):
    """An adapter's agent framework is not installed; the message says what to install."""


def require(module: str, pip_name: str, adapter: str) -> ModuleType:
    """Import a framework module lazily, or raise :class:`FrameworkMissing` with the pip hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise FrameworkMissing(
            f"warden.sdk.{adapter} needs the `{pip_name}` package, which is not installed "
            f"(import {module!r} failed: {exc}). Install it with: pip install {pip_name}"
        ) from exc
