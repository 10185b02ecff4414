"""warden for the OpenAI Agents SDK: tool guardrails on each function tool.

::

    from agents import function_tool
    from warden.sdk import Guard
    from warden.sdk.openai_agents import protect

    guard = Guard.open(workspace=".")
    run_shell = protect(guard, function_tool(run_shell), kind="shell", command="cmd")

:func:`protect` adds a tool *input* guardrail and a tool *output* guardrail (the SDK's
``tool_input_guardrails`` / ``tool_output_guardrails``; they run on function tools):

- input: the call's arguments become an action and warden decides. Allow runs the tool; deny is
  ``reject_content`` with warden's reason (the model reads it instead of a result and can change
  course); ask goes to the approver (``approve=`` or the guard's), else it is refused the same
  way; kill is ``raise_exception``: the run ends with ``ToolInputGuardrailTripwireTriggered``
  whose ``output.output_info`` is the decision.
- output: the result is scanned for planted instructions and secrets and recorded against the
  decision; a flagged result reaches the model with warden's warning (``on_output="warn"``) or
  is replaced by it (``"withhold"``); a result the audit log cannot record is withheld.
"""

from __future__ import annotations

import json
from typing import Any

from warden.decision import Verdict
from warden.errors import WardenError
from warden.sdk._errors import ToolDenied, require
from warden.sdk._guard import Approver, Guard, Ticket
from warden.sdk._mapping import FieldSource, ToolMap
from warden.sdk._outcome import OnOutput
from warden.sdk._pending import Pending

__all__ = ["guardrails", "protect"]

_PIP = "openai-agents"


def _agents() -> Any:
    return require("agents", _PIP, "openai_agents")


def guardrails(
    guard: Guard,
    tool_map: ToolMap | None = None,
    *,
    approve: Approver | None = None,
    on_output: OnOutput | str = OnOutput.WARN,
) -> tuple[Any, Any]:
    """The ``(ToolInputGuardrail, ToolOutputGuardrail)`` pair for tools mapped by ``tool_map``
    (``None``: a ``custom`` action, judged by the policy's ``[tools] unknown``)."""
    agents = _agents()
    policy = OnOutput(on_output)
    pending = Pending()

    async def warden_input(data: Any) -> Any:
        out = agents.ToolGuardrailFunctionOutput
        ctx = data.context
        call_id = str(ctx.tool_call_id)
        try:
            args = json.loads(ctx.tool_arguments or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            args = {"arguments": str(ctx.tool_arguments)}  # judged as given; unmapped fields
        ticket = await guard.adecide_call(ctx.tool_name, args, tool_map, tool_use_id=call_id)
        if ticket.decision.verdict is Verdict.KILL:
            return out.raise_exception(output_info=ticket.decision.to_dict())
        try:
            ticket = await _settle(guard, ticket, approve)
        except ToolDenied as exc:
            if exc.killed:
                return out.raise_exception(output_info=exc.decision.to_dict())
            return out.reject_content(str(exc), output_info=exc.decision.to_dict())
        pending.put(call_id, ticket)
        return out.allow(output_info=ticket.decision.to_dict())

    async def warden_output(data: Any) -> Any:
        out = agents.ToolGuardrailFunctionOutput
        ctx = data.context
        ticket = pending.pop(str(ctx.tool_call_id))
        if ticket is None:  # output without an allowed input: never hand it over unchecked
            return out.reject_content("warden withheld this tool's output: the call was not "
                                      "checked before it ran.")  # fmt: skip
        try:
            outcome = await guard.arecord(ticket, data.output)
        except ToolDenied as exc:
            return out.reject_content(str(exc), output_info=exc.decision.to_dict())
        if outcome.warning is None:
            return out.allow(output_info=outcome._asdict())
        shown = outcome.annotate(_text(data.output), policy)
        return out.reject_content(str(shown), output_info=outcome._asdict())

    return (
        agents.ToolInputGuardrail(guardrail_function=warden_input, name="warden"),
        agents.ToolOutputGuardrail(guardrail_function=warden_output, name="warden"),
    )


def protect(
    guard: Guard,
    tool: Any,
    tool_map: ToolMap | None = None,
    *,
    kind: str | None = None,
    approve: Approver | None = None,
    on_output: OnOutput | str = OnOutput.WARN,
    **fields: FieldSource,
) -> Any:
    """Add warden's guardrails to a ``FunctionTool`` (in place; returned for chaining).

    Give either ``tool_map`` or ``kind`` and the fields (``kind="shell", command="cmd"``)."""
    agents = _agents()
    if not isinstance(tool, agents.FunctionTool):
        raise WardenError(f"protect() takes a FunctionTool (from @function_tool), not "
                           f"{type(tool).__name__}")  # fmt: skip
    if tool_map is None:
        tool_map = ToolMap(kind or "custom", **fields)
    elif kind is not None or fields:
        raise WardenError("give protect() either tool_map or kind=/fields, not both")
    before, after = guardrails(guard, tool_map, approve=approve, on_output=on_output)
    tool.tool_input_guardrails = [*(tool.tool_input_guardrails or []), before]
    tool.tool_output_guardrails = [*(tool.tool_output_guardrails or []), after]
    return tool


async def _settle(guard: Guard, ticket: Ticket, approve: Approver | None) -> Ticket:
    if ticket.decision.verdict is Verdict.ALLOW:
        return ticket
    import asyncio

    return await asyncio.to_thread(guard.settle, ticket, approve or guard.approve)


def _text(output: Any) -> Any:
    return output if isinstance(output, str) else str(output)
