"""warden for PydanticAI: a capability that wraps every tool execution of an agent.

::

    from pydantic_ai import Agent
    from warden.sdk import Guard, ToolMap
    from warden.sdk.pydantic_ai import warden_capability

    guard = Guard.open(workspace=".")
    shell = ToolMap("shell", command="cmd")
    agent = Agent(model, tools=[run_shell],
                  capabilities=[warden_capability(guard, {"run_shell": shell})])

The capability implements PydanticAI's ``wrap_tool_execute`` hook, so it covers every tool the
agent runs (``tools=``, ``@agent.tool``, toolsets), after argument validation and before the
tool function:

- allow: the tool runs; its result is scanned, recorded against the decision, and reaches the
  model with warden's warning when flagged (``on_output="warn"``) or replaced by it
  (``"withhold"``).
- deny: the tool does not run; the model receives warden's reason as the tool's result.
- ask: with an approver (``approve=`` or the guard's) it decides; otherwise the call is deferred
  with PydanticAI's own human-in-the-loop flow (``ApprovalRequired``: the run ends with
  ``DeferredToolRequests``; pass ``DeferredToolResults(approvals={id: True})`` to run it). An
  approval is recorded in the audit log.
- kill: :class:`~warden.sdk.ToolDenied` is raised and ends the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import cache
from typing import Any

from warden.decision import Verdict
from warden.sdk._errors import ToolDenied, require
from warden.sdk._guard import Approver, Guard, Ticket
from warden.sdk._mapping import ToolMap
from warden.sdk._outcome import OnOutput

__all__ = ["warden_capability"]

_PIP = "pydantic-ai-slim"


def warden_capability(
    guard: Guard,
    tools: Mapping[str, ToolMap] | None = None,
    *,
    approve: Approver | None = None,
    on_output: OnOutput | str = OnOutput.WARN,
) -> Any:
    """A PydanticAI capability (pass it in ``Agent(capabilities=[...])``) that guards every
    tool call; ``tools`` maps tool names to actions (unmapped: ``custom``)."""
    return _capability_class()(guard, dict(tools or {}), approve, OnOutput(on_output))


@cache
def _capability_class() -> type[Any]:
    capabilities = require("pydantic_ai.capabilities", _PIP, "pydantic_ai")
    exceptions = require("pydantic_ai.exceptions", _PIP, "pydantic_ai")

    base: Any = capabilities.AbstractCapability

    class WardenCapability(base):  # type: ignore[misc]  # the framework's class, typed Any here
        """warden's check before each tool runs, and its record of what the tool returned."""

        def __init__(self, guard: Guard, tools: dict[str, ToolMap], approve: Approver | None,
                     on_output: OnOutput) -> None:  # fmt: skip
            self.guard = guard
            self.tools = tools
            self.approve = approve
            self.on_output = on_output

        async def wrap_tool_execute(
            self, ctx: Any, *, call: Any, tool_def: Any, args: dict[str, Any], handler: Any
        ) -> Any:
            name = str(call.tool_name)
            raw = args if isinstance(args, dict) else call.args_as_dict()
            ticket = await self.guard.adecide_call(name, raw, self.tools.get(name),
                                                   tool_use_id=call.tool_call_id)  # fmt: skip
            try:
                ticket = await asyncio.to_thread(self._settle, ctx, ticket)
            except ToolDenied as exc:
                if exc.killed:
                    raise
                return str(exc)
            try:
                result = await handler(args)
            except Exception as exc:
                if not isinstance(exc, exceptions.ApprovalRequired | exceptions.CallDeferred):
                    await self.guard.arecord(ticket, error=exc)
                raise
            try:
                outcome = await self.guard.arecord(ticket, result)
            except ToolDenied as exc:
                return str(exc)
            return outcome.annotate(result, self.on_output)

        def _settle(self, ctx: Any, ticket: Ticket) -> Ticket:
            if ticket.decision.verdict is not Verdict.ASK:
                return self.guard.settle(ticket, None)
            if getattr(ctx, "tool_call_approved", False) is True:
                return self.guard.record_approval(ticket, True, "pydantic-ai deferred approval")
            approver = self.approve or self.guard.approve
            if approver is not None:
                return self.guard.settle(ticket, approver)
            raise exceptions.ApprovalRequired(metadata={
                "warden": "approve", "reason": ticket.decision.reason,
                "rules": list(ticket.decision.rules),
            })  # fmt: skip

    return WardenCapability
