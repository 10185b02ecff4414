"""warden's Python SDK: guard the tools of an agent you write.

::

    from warden.sdk import Guard
    guard = Guard.open(workspace=".")

    @guard.tool(kind="shell", command="cmd")
    def run_shell(cmd: str) -> str: ...

A guarded call is judged before it runs (allow runs it; deny and kill raise :class:`ToolDenied`
with warden's reason; ask goes to the approver you give, else it is refused), and its result is
scanned for planted instructions and secrets and recorded in the audit log, linked to the
decision. Adapters for agent frameworks live in submodules that import their framework only
when used: :mod:`warden.sdk.openai_agents`, :mod:`warden.sdk.langchain`,
:mod:`warden.sdk.pydantic_ai` (``docs/sdk.md``).
"""

from __future__ import annotations

from warden.sdk._decorator import guarded, tool_map_of
from warden.sdk._errors import FrameworkMissing, ToolDenied
from warden.sdk._guard import Approver, Guard, Ticket
from warden.sdk._mapping import ToolMap
from warden.sdk._outcome import OnOutput, Outcome

__all__ = [
    "Approver",
    "FrameworkMissing",
    "Guard",
    "OnOutput",
    "Outcome",
    "Ticket",
    "ToolDenied",
    "ToolMap",
    "guarded",
    "tool_map_of",
]
