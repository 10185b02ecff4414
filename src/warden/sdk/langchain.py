"""warden for LangChain / LangGraph: a tool-call wrapper for ``ToolNode``, ``interrupt()`` for ask.

::

    from langgraph.prebuilt import ToolNode
    from warden.sdk import Guard, ToolMap
    from warden.sdk.langchain import WardenToolCalls

    guard = Guard.open(workspace=".")
    calls = WardenToolCalls(guard, {"run_shell": ToolMap("shell", command="cmd")})
    node = ToolNode(tools, wrap_tool_call=calls.wrap, awrap_tool_call=calls.awrap)

(or ``guarded_tool_node(guard, tools, {...})``). Every tool call the model makes passes through
warden before the tool runs:

- allow: the tool runs; its result is scanned for planted instructions and secrets, recorded
  against the decision, and reaches the model with warden's warning if flagged
  (``on_output="warn"``) or replaced by it (``"withhold"``).
- deny: the model gets a ``ToolMessage`` with ``status="error"`` and warden's reason.
- ask: an approver given to the wrapper (``approve=``) answers it; otherwise, inside a graph,
  ``interrupt()`` pauses the run with a payload describing the call (``{"warden": "approve",
  "tool", "args", "reason", "rules"}``; the graph needs a checkpointer); resume with
  ``Command(resume=True)`` (or ``{"approved": True}``) to run the tool, anything else refuses
  it. With ``interrupt_on_ask=False`` or outside a graph it goes to the guard's approver, else
  it is refused.
- kill: :class:`~warden.sdk.ToolDenied` is raised and ends the run (``ToolNode`` re-raises it
  under its default error handling).

For LangChain's ``create_agent``, ``warden_middleware(guard, maps)`` is the same wrapper as an
``AgentMiddleware``.
Tools without a mapping are judged as ``custom`` actions (the policy's ``[tools] unknown``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from warden.decision import Verdict
from warden.sdk._errors import ToolDenied, require
from warden.sdk._guard import Approver, Guard, Ticket
from warden.sdk._mapping import ToolMap
from warden.sdk._outcome import OnOutput

__all__ = ["APPROVAL_KEY", "WardenToolCalls", "guarded_tool_node", "warden_middleware"]

_PIP = "langgraph"

#: The key that marks warden's interrupt payload, so an app can tell it from its own interrupts.
APPROVAL_KEY = "warden"


class WardenToolCalls:
    """The ``wrap_tool_call`` / ``awrap_tool_call`` pair for a ``ToolNode``."""

    def __init__(
        self,
        guard: Guard,
        tools: Mapping[str, ToolMap] | None = None,
        *,
        approve: Approver | None = None,
        on_output: OnOutput | str = OnOutput.WARN,
        interrupt_on_ask: bool = True,
    ) -> None:
        require("langchain_core.messages", "langchain-core", "langchain")
        self.guard = guard
        self.tools = dict(tools or {})
        self.approve = approve
        self.on_output = OnOutput(on_output)
        self.interrupt_on_ask = interrupt_on_ask

    # --- the wrappers ------------------------------------------------------------------------

    def wrap(self, request: Any, execute: Callable[[Any], Any]) -> Any:
        call = request.tool_call
        ticket = self.guard.decide_call(call["name"], call.get("args") or {},
                                        self.tools.get(call["name"]),
                                        tool_use_id=call.get("id"))  # fmt: skip
        try:
            ticket = self._settle(ticket, request)
        except ToolDenied as exc:
            if exc.killed:
                raise
            return _refusal(call, str(exc))
        return self._after(ticket, execute, request)

    async def awrap(self, request: Any, execute: Callable[[Any], Awaitable[Any]]) -> Any:
        call = request.tool_call
        ticket = await self.guard.adecide_call(call["name"], call.get("args") or {},
                                               self.tools.get(call["name"]),
                                               tool_use_id=call.get("id"))  # fmt: skip
        try:
            if ticket.decision.verdict is Verdict.ASK and self._can_interrupt(request):
                ticket = self._settle(ticket, request)  # interrupt() must run in this task
            else:
                ticket = await asyncio.to_thread(self._settle, ticket, request)
        except ToolDenied as exc:
            if exc.killed:
                raise
            return _refusal(call, str(exc))
        try:
            result = await execute(request)
        except Exception as exc:
            await self.guard.arecord(ticket, error=exc)
            raise
        return await asyncio.to_thread(self._finish, ticket, result)

    # --- steps -------------------------------------------------------------------------------

    def _settle(self, ticket: Ticket, request: Any) -> Ticket:
        verdict = ticket.decision.verdict
        if verdict is Verdict.ASK and self._can_interrupt(request):
            return self._interrupt(ticket)
        return self.guard.settle(ticket, self.approve or self.guard.approve)

    def _can_interrupt(self, request: Any) -> bool:
        """An approver given to the wrapper answers itself; else a graph run is paused."""
        if self.approve is not None or not self.interrupt_on_ask:
            return False
        return getattr(request, "runtime", None) is not None

    def _interrupt(self, ticket: Ticket) -> Ticket:
        from langgraph.types import interrupt

        action, decision = ticket.action, ticket.decision
        answer = interrupt({
            APPROVAL_KEY: "approve",
            "tool": action.tool,
            "args": action.input,
            "reason": decision.reason,
            "rules": list(decision.rules),
        })  # GraphInterrupt propagates: the run pauses here until resumed
        approved = answer is True or (
            isinstance(answer, Mapping) and answer.get("approved") is True
        )
        settled = self.guard.record_approval(ticket, approved, "langgraph interrupt")
        if settled.decision.verdict is not Verdict.ALLOW:
            raise ToolDenied(settled.decision, settled.action)
        return settled

    def _after(self, ticket: Ticket, execute: Callable[[Any], Any], request: Any) -> Any:
        try:
            result = execute(request)
        except Exception as exc:
            self.guard.record(ticket, error=exc)
            raise
        return self._finish(ticket, result)

    def _finish(self, ticket: Ticket, result: Any) -> Any:
        content = getattr(result, "content", result)
        try:
            outcome = self.guard.record(ticket, content)
        except ToolDenied as exc:
            return _replace_content(result, str(exc), error=True)
        if outcome.warning is None:
            return result
        return _replace_content(result, outcome.annotate(content, self.on_output))


def guarded_tool_node(
    guard: Guard,
    tools: Sequence[Any],
    maps: Mapping[str, ToolMap] | None = None,
    *,
    approve: Approver | None = None,
    on_output: OnOutput | str = OnOutput.WARN,
    **node_options: Any,
) -> Any:
    """A ``langgraph.prebuilt.ToolNode`` for ``tools`` with every call guarded by warden."""
    prebuilt = require("langgraph.prebuilt", _PIP, "langchain")
    calls = WardenToolCalls(guard, maps, approve=approve, on_output=on_output)
    return prebuilt.ToolNode(tools, wrap_tool_call=calls.wrap, awrap_tool_call=calls.awrap,
                             **node_options)  # fmt: skip


def warden_middleware(
    guard: Guard,
    maps: Mapping[str, ToolMap] | None = None,
    *,
    approve: Approver | None = None,
    on_output: OnOutput | str = OnOutput.WARN,
) -> Any:
    """A LangChain ``AgentMiddleware`` for ``create_agent(..., middleware=[...])`` that guards
    every tool call the same way (needs the ``langchain`` package)."""
    middleware = require("langchain.agents.middleware", "langchain", "langchain")
    calls = WardenToolCalls(guard, maps, approve=approve, on_output=on_output)
    base: Any = middleware.AgentMiddleware

    class WardenMiddleware(base):  # type: ignore[misc]  # the framework's class, typed Any here
        """warden's check before each tool call of the agent, and its record of the result."""

        def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
            return calls.wrap(request, handler)

        async def awrap_tool_call(
            self, request: Any, handler: Callable[[Any], Awaitable[Any]]
        ) -> Any:
            return await calls.awrap(request, handler)

    return WardenMiddleware()


def _refusal(call: Mapping[str, Any], reason: str) -> Any:
    from langchain_core.messages import ToolMessage

    return ToolMessage(content=reason, tool_call_id=call.get("id") or "", name=call["name"],
                       status="error")  # fmt: skip


def _replace_content(result: Any, content: Any, *, error: bool = False) -> Any:
    from langchain_core.messages import ToolMessage

    if not isinstance(result, ToolMessage):
        return result  # a Command: its messages are the tool's own, passed on as they are
    text = content if isinstance(content, str | list) else str(content)
    update: dict[str, Any] = {"content": text}
    if error:
        update["status"] = "error"
    return result.model_copy(update=update)
