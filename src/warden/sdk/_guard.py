"""The SDK's Guard: decide before a tool runs, record what it returned, guard functions.

::

    from warden.sdk import Guard
    guard = Guard.open(workspace=".")

    @guard.tool(kind="shell", command="cmd")
    def run_shell(cmd: str) -> str: ...

It is :class:`warden.guard.Guard` (engine + durable audit log, fail closed) plus what a program
that calls tools itself needs: the audit index of each decision, so the tool's result can be
recorded against it; ``ask`` resolved by an approver the program supplies (none: refused);
and the decorator. Every step fails closed: an action that cannot be built from the arguments,
a decision or approval that cannot be recorded, an approver that raises, and a result that
cannot be recorded all end as :class:`ToolDenied`, never as a call that ran unrecorded.

The async twins (``adecide``, ``adecide_call``, ``aauthorize``, ``arecord``) judge on the event
loop's thread and await the durable append (``AuditLog.append_async``): the audit writer thread
commits and one hand-off to the loop acknowledges all of its coroutines in the batch, where
``asyncio.to_thread`` paid a thread hand-off each way per call and a thread wake-up per record.
Measured (docs/sdk.md): 64 coroutines 1.7-2.1k calls/s against 0.5-0.8k, CPU per call about
halved. Large actions or results (> :data:`INLINE_CHARS`) and approvers still run in a worker
thread, so the loop is not stalled.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from warden.action import Action, ActionKind
from warden.check.engine import CheckContext, Engine
from warden.decision import Decision, Severity, Verdict
from warden.errors import InputError, WardenError
from warden.guard import Guard as _CoreGuard
from warden.guard import decision_record, unrecorded
from warden.sdk._errors import ToolDenied
from warden.sdk._mapping import FieldSource, ToolMap
from warden.sdk._outcome import Outcome, outcome_record, warning_for

if TYPE_CHECKING:
    from warden.record import AuditLog

__all__ = ["APPROVAL_RECORD", "INLINE_CHARS", "Approver", "Guard", "Ticket"]

APPROVAL_RECORD = "approval"

#: Decides an ``ask``: called with the action and the decision, returns True to let it run.
Approver = Callable[[Action, Decision], bool]


class Ticket(NamedTuple):
    """One decided tool call: the action, warden's decision, and its audit record's index."""

    action: Action
    decision: Decision
    audit_index: int | None  # the decision's audit record; None when recording is off

    @property
    def allowed(self) -> bool:
        return self.decision.verdict is Verdict.ALLOW


class Guard(_CoreGuard):
    """Engine + audit log + the calls a tool-running program makes. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        log: AuditLog | None,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        workspace: str | None = None,
        approve: Approver | None = None,
    ) -> None:
        super().__init__(engine, log)
        self.agent = agent
        self.session_id = session_id or f"sdk-{uuid.uuid4().hex[:16]}"
        self.context = CheckContext(workspace=workspace)
        self.approve = approve

    @classmethod
    def open(  # same keywords as the core Guard, plus the SDK's own
        cls,
        *,
        workspace: str | None = None,
        policy_files: Iterable[str] = (),
        packs: Iterable[str] = (),
        audit: Path | bool = True,
        home: str | None = None,
        resident: bool = False,
        agent: str | None = None,
        session_id: str | None = None,
        approve: Approver | None = None,
    ) -> Guard:
        """The layered policy's engine and the audit log (``audit``: ``True`` the default
        location, a path that database, ``False`` no recording; ``resident=True`` for an agent
        process that runs for long: each durable record then costs less, at a ~12 MiB write
        when the log is opened, see ``docs/audit.md`` section 5); ``agent`` and ``session_id``
        label every record; ``approve`` answers ``ask`` verdicts (default: refuse them)."""
        core = _CoreGuard.open(workspace=workspace, policy_files=policy_files, packs=packs,
                               audit=audit, home=home, resident=resident)  # fmt: skip
        return cls(core.engine, core.log, agent=agent, session_id=session_id,
                   workspace=workspace, approve=approve)  # fmt: skip

    # --- before the call ---------------------------------------------------------------------

    def check(self, action: Action, context: CheckContext | None = None) -> Decision:
        """The core ``check`` (judged, recorded, fail closed), in this guard's workspace."""
        return super().check(action, context or self.context)

    def action_for(
        self, tool: str, args: Mapping[str, Any], tool_map: ToolMap | None = None,
        *, tool_use_id: str | None = None,
    ) -> Action:  # fmt: skip
        """The action for a call of ``tool`` (an unmapped tool is a ``custom`` action, judged
        by the policy's ``[tools] unknown``); :class:`InputError` if the arguments don't fit."""
        return (tool_map or ToolMap()).action(
            tool, args, agent=self.agent, session_id=self.session_id,
            tool_use_id=tool_use_id or uuid.uuid4().hex,
        )  # fmt: skip

    def decide(self, action: Action) -> Ticket:
        """Judge and record; never raises (a failure to record is a deny, as in ``check``)."""
        decision = self.engine.check(action, self.context)
        if self.log is None:
            return Ticket(action, decision, None)
        try:
            record, payload = decision_record(action, decision)
            index = self.log.append(record, payload=payload)
        except (WardenError, OSError) as exc:
            return Ticket(action, unrecorded(decision, exc), None)
        return Ticket(action, decision, index)

    def decide_call(
        self, tool: str, args: Mapping[str, Any], tool_map: ToolMap | None = None,
        *, tool_use_id: str | None = None,
    ) -> Ticket:  # fmt: skip
        """Build the action from a tool call and judge it; arguments that do not make an
        action are refused (recorded as a deny of the raw call), never let through."""
        try:
            action = self.action_for(tool, args, tool_map, tool_use_id=tool_use_id)
        except InputError as exc:
            raw = ToolMap().action(tool, args, agent=self.agent, session_id=self.session_id,
                                   tool_use_id=tool_use_id)  # fmt: skip
            return self._record_refusal(raw, _invalid(tool, exc))
        return self.decide(action)

    def authorize(
        self, tool: str, args: Mapping[str, Any], tool_map: ToolMap | None = None,
        *, tool_use_id: str | None = None, approve: Approver | None = None,
    ) -> Ticket:  # fmt: skip
        """Decide a call and return its ticket if it may run; raise :class:`ToolDenied` if not.

        ``ask`` goes to ``approve`` (else the guard's approver); with none, it is refused."""
        ticket = self.decide_call(tool, args, tool_map, tool_use_id=tool_use_id)
        return self.settle(ticket, approve or self.approve)

    def settle(self, ticket: Ticket, approve: Approver | None) -> Ticket:
        """Allow passes; ask goes to ``approve`` (recorded); anything else raises."""
        verdict = ticket.decision.verdict
        if verdict is Verdict.ALLOW:
            return ticket
        if verdict is Verdict.ASK:
            return self._ask(ticket, approve)
        raise ToolDenied(ticket.decision, ticket.action)

    def record_approval(self, ticket: Ticket, approved: bool, by: str) -> Ticket:
        """Record a person's (or approver's) answer to an ``ask``; the ticket to act on."""
        decision = ticket.decision if approved else _refused(ticket.decision, by)
        if self.log is not None:
            record = {
                "type": APPROVAL_RECORD, "v": 1, "time": round(time.time(), 6),
                "session": ticket.action.session_id, "agent": ticket.action.agent,
                "source": ticket.action.source, "tool": ticket.action.tool,
                "tool_use_id": ticket.action.tool_use_id, "decision": ticket.audit_index,
                "approved": approved, "by": by,
            }  # fmt: skip
            try:
                self.log.append(record)
            except (WardenError, OSError) as exc:
                return Ticket(ticket.action, unrecorded(_refused(ticket.decision, by), exc),
                              ticket.audit_index)  # fmt: skip
        allowed = Decision(verdict=Verdict.ALLOW, reason=f"approved by {by}: "
                           f"{ticket.decision.reason}", rules=ticket.decision.rules,
                           policy=ticket.decision.policy)  # fmt: skip
        return Ticket(ticket.action, allowed if approved else decision, ticket.audit_index)

    def _ask(self, ticket: Ticket, approve: Approver | None) -> Ticket:
        if approve is None:
            raise ToolDenied(_refused(ticket.decision, None), ticket.action)
        by = getattr(approve, "__qualname__", type(approve).__name__)
        try:
            approved = approve(ticket.action, ticket.decision) is True
        except Exception as exc:  # an approver that fails has not approved
            ticket = self.record_approval(ticket, False, f"{by} (raised {type(exc).__name__})")
            raise ToolDenied(ticket.decision, ticket.action) from exc
        settled = self.record_approval(ticket, approved, by)
        if settled.decision.verdict is not Verdict.ALLOW:
            raise ToolDenied(settled.decision, settled.action)
        return settled

    def _record_refusal(self, action: Action, decision: Decision) -> Ticket:
        if self.log is None:
            return Ticket(action, decision, None)
        try:
            record, payload = decision_record(action, decision)
            return Ticket(action, decision, self.log.append(record, payload=payload))
        except (WardenError, OSError) as exc:
            return Ticket(action, unrecorded(decision, exc), None)

    # --- after the call ----------------------------------------------------------------------

    def record(
        self, ticket: Ticket, result: Any = None, *, error: BaseException | None = None
    ) -> Outcome:
        """Record what the tool returned (or the error it raised), linked to its decision.

        Raises :class:`ToolDenied` if the result cannot be recorded: the output is then
        withheld from the agent, as an unrecorded decision is never an allow."""
        output, record, payload = outcome_record(ticket, result, error)
        note = warning_for(output)
        index = None
        if self.log is not None:
            try:
                index = self.log.append(record, payload=payload)
            except (WardenError, OSError) as exc:
                raise ToolDenied(_unrecorded_output(ticket.decision, exc), ticket.action) from exc
        return Outcome(audit_index=index, ok=error is None, secrets=output.secrets,
                       injection=tuple(h.signal for h in output.injection.hits),
                       flagged=note is not None, warning=note)  # fmt: skip

    # --- async twins: judged on the event loop, the durable write awaited, never blocked on -

    async def adecide(self, action: Action) -> Ticket:
        """``decide`` for a coroutine: judged on the loop's thread (a small action costs
        ~0.1-0.3 ms of CPU, less than a thread hand-off each way), then the record's durable
        append is awaited (:meth:`~warden.record.AuditLog.append_async`: the audit writer
        thread commits and one loop hand-off acknowledges every coroutine of the batch). A
        large action (> ``INLINE_CHARS`` of text) is judged in a worker thread, so the loop
        keeps serving its other coroutines meanwhile. Never raises: a failure to record is a
        deny."""
        if _weight(_action_text(action)) > INLINE_CHARS:
            decision, made = await asyncio.to_thread(self._judged, action)
        else:
            decision, made = self._judged(action)
        return await self._arecord_decision(action, decision, made)

    def _judged(self, action: Action) -> tuple[Decision, tuple[dict[str, Any], dict[str, Any]]
                                                | Exception | None]:  # fmt: skip
        """The decision and its audit record (or why the record could not be made)."""
        decision = self.engine.check(action, self.context)
        if self.log is None:
            return decision, None
        try:
            return decision, decision_record(action, decision)
        except (WardenError, OSError) as exc:
            return decision, exc

    async def _arecord_decision(
        self, action: Action, decision: Decision,
        made: tuple[dict[str, Any], dict[str, Any]] | Exception | None,
    ) -> Ticket:  # fmt: skip
        if self.log is None or made is None:
            return Ticket(action, decision, None)
        if isinstance(made, Exception):
            return Ticket(action, unrecorded(decision, made), None)
        record, payload = made
        try:
            index = await self.log.append_async(record, payload=payload)
        except (WardenError, OSError) as exc:
            return Ticket(action, unrecorded(decision, exc), None)
        return Ticket(action, decision, index)

    async def adecide_call(
        self, tool: str, args: Mapping[str, Any], tool_map: ToolMap | None = None,
        *, tool_use_id: str | None = None,
    ) -> Ticket:  # fmt: skip
        """``decide_call`` for a coroutine (see :meth:`adecide`)."""
        try:
            action = self.action_for(tool, args, tool_map, tool_use_id=tool_use_id)
        except InputError as exc:
            raw = ToolMap().action(tool, args, agent=self.agent, session_id=self.session_id,
                                   tool_use_id=tool_use_id)  # fmt: skip
            decision = _invalid(tool, exc)
            made: tuple[dict[str, Any], dict[str, Any]] | Exception | None = None
            if self.log is not None:
                try:
                    made = decision_record(raw, decision)
                except (WardenError, OSError) as err:
                    made = err
            return await self._arecord_decision(raw, decision, made)
        return await self.adecide(action)

    async def aauthorize(
        self, tool: str, args: Mapping[str, Any], tool_map: ToolMap | None = None,
        *, tool_use_id: str | None = None, approve: Approver | None = None,
    ) -> Ticket:  # fmt: skip
        """``authorize`` for a coroutine. An ``ask`` with an approver is settled in a worker
        thread: the approver is a plain function that may block (a person answering)."""
        ticket = await self.adecide_call(tool, args, tool_map, tool_use_id=tool_use_id)
        approver = approve or self.approve
        if ticket.decision.verdict is Verdict.ASK and approver is not None:
            return await asyncio.to_thread(self.settle, ticket, approver)
        return self.settle(ticket, approver)  # allow, deny, kill, unanswerable ask: no I/O

    async def arecord(
        self, ticket: Ticket, result: Any = None, *, error: BaseException | None = None
    ) -> Outcome:
        """``record`` for a coroutine: the result is scanned on the loop's thread (in a worker
        thread if it is large) and its record's durable append awaited."""
        if _weight(result if error is None else str(error)) > INLINE_CHARS:
            output, record, payload = await asyncio.to_thread(outcome_record, ticket, result,
                                                              error)  # fmt: skip
        else:
            output, record, payload = outcome_record(ticket, result, error)
        note = warning_for(output)
        index = None
        if self.log is not None:
            try:
                index = await self.log.append_async(record, payload=payload)
            except (WardenError, OSError) as exc:
                raise ToolDenied(_unrecorded_output(ticket.decision, exc), ticket.action) from exc
        return Outcome(audit_index=index, ok=error is None, secrets=output.secrets,
                       injection=tuple(h.signal for h in output.injection.hits),
                       flagged=note is not None, warning=note)  # fmt: skip

    # --- the decorator -----------------------------------------------------------------------

    def tool(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        kind: ActionKind | str = ActionKind.CUSTOM,
        name: str | None = None,
        approve: Approver | None = None,
        on_output: str = "warn",
        **fields: FieldSource,
    ) -> Any:
        """Guard a tool function (sync or async); see :func:`warden.sdk.guarded`."""
        from warden.sdk._decorator import guarded

        deco = guarded(self, kind=kind, name=name, approve=approve, on_output=on_output,
                       **fields)  # fmt: skip
        return deco if fn is None else deco(fn)


#: Text (characters, summed over an action's fields or a tool's result) above which the async
#: twins judge or scan in a worker thread instead of on the event loop: at 64 Ki characters a
#: decision costs ~1 ms here, at 1 Mi characters ~15 ms (check 3 ms, redaction 12 ms), which
#: would stall every other coroutine of the loop.
INLINE_CHARS = 64 * 1024


def _action_text(action: Action) -> list[Any]:
    changes = [(c.old_text, c.new_text) for c in action.changes]
    return [action.command, action.content, action.body, action.query, action.url,
            action.pattern, changes, action.input]  # fmt: skip


def _weight(value: Any, limit: int = INLINE_CHARS) -> int:
    """How much text ``value`` holds (strings, bytes, nested containers; anything else counts
    by its ``str``), counted until it exceeds ``limit``."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if item is None or isinstance(item, bool | int | float):
            continue
        if isinstance(item, str | bytes | bytearray):
            total += len(item)
        elif isinstance(item, Mapping):
            total += len(item)
            for key, sub in item.items():
                stack.append(key)
                stack.append(sub)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            stack.extend(item)
        else:
            total += len(str(item))
    return total


def _invalid(tool: str, exc: InputError) -> Decision:
    return Decision(
        verdict=Verdict.DENY,
        severity=Severity.MEDIUM,
        reason=f"the call's arguments do not make a checkable action: {exc}",
        agent_reason=f"warden blocked this call: its arguments could not be checked ({exc}). "
        "Call the tool with plain text arguments.",
        error=f"input: {exc}",
    )


def _refused(decision: Decision, by: str | None) -> Decision:
    why = "no approver is configured" if by is None else f"{by} did not approve it"
    return Decision(
        verdict=Verdict.DENY,
        severity=decision.severity,
        reason=f"needs approval and {why}: {decision.reason}",
        agent_reason=f"warden: this call needs the user's approval and {why}. "
        f"({decision.agent_reason or decision.reason}) Ask the user, or do without it.",
        rules=decision.rules,
        categories=decision.categories,
        techniques=decision.techniques,
        findings=decision.findings,
        policy=decision.policy,
    )


def _unrecorded_output(decision: Decision, exc: Exception) -> Decision:
    return Decision(
        verdict=Verdict.DENY,
        severity=Severity.HIGH,
        reason="the audit log could not record this tool's result; the result is withheld",
        agent_reason="warden withheld this tool's result because its audit log is unavailable; "
        "ask the user to check `warden audit verify`.",
        rules=decision.rules,
        error=f"audit: {type(exc).__name__}: {exc}",
        policy=decision.policy,
    )
