"""Guard: the check engine and the audit log together, as every integration uses them.

::

    from warden.guard import Guard
    with Guard.open(workspace=".") as guard:       # default audit log under the data directory
        decision = guard.check(action)            # decided, recorded durably, then returned

The engine (layer 1) stays pure; recording (layer 4) happens here, at the edge. Each decision
becomes one audit record: a small hashed record (who, what kind, verdict, rules, reason, policy
digest) plus a purgeable payload (the redacted action and the full decision) of which only a
salted hash enters the tree, so large commands and anything secret can be purged later without
breaking the log (docs/audit.md). Both are plain JSON values (dicts, lists, strings, numbers),
the shape the log's canonical encoder handles on its fast path.

Recording fails closed: if the log cannot be written, the caller gets a deny that says so,
never an unrecorded allow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from warden.action import Action
from warden.check.engine import CheckContext, Engine
from warden.decision import Decision, Severity, Verdict
from warden.errors import WardenError

if TYPE_CHECKING:
    from warden.record import AuditLog
    from warden.telemetry import DecisionTracer

__all__ = ["RECORD_TYPE", "Guard", "decision_record", "unrecorded"]

RECORD_TYPE = "decision"

#: Text fields of an action that are redacted before they are stored in a payload.
_TEXT_FIELDS = ("command", "content", "body", "query", "url")


def _redacted_action(action: Action) -> dict[str, Any]:
    from warden.check.secrets import redact_text

    data = action.to_dict()
    for key in _TEXT_FIELDS:
        value = data.get(key)
        if isinstance(value, str):
            data[key] = redact_text(value)
    for change in data.get("changes", []):
        for key in ("old_text", "new_text"):
            if isinstance(change.get(key), str):
                change[key] = redact_text(change[key])
    if data.get("input"):
        import json

        data["input"] = redact_text(json.dumps(data["input"], sort_keys=True, default=str))
    return data


def decision_record(
    action: Action, decision: Decision, *, when: float | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The hashed record and the purgeable payload for one decision."""
    record: dict[str, Any] = {
        "type": RECORD_TYPE,
        "v": 1,
        "time": round(when if when is not None else time.time(), 6),
        "session": action.session_id,
        "agent": action.agent,
        "source": action.source,
        "tool": action.tool,
        "tool_use_id": action.tool_use_id,
        "kind": action.kind.value,
        "verdict": str(decision.verdict),
        "rules": list(decision.rules),
        "reason": decision.reason,
        "policy": decision.policy,
        "error": decision.error,
    }
    payload = _json_shaped({"action": _redacted_action(action), "decision": decision.to_dict()})
    return record, payload


_CONTAINERS = frozenset({dict, list, tuple})


def _json_shaped(value: Any) -> Any:
    """``value`` with every tuple made a list: the same JSON, in the shape the audit log's
    canonical encoder takes its fast path for (``to_dict`` gives tuples, which it cannot prove
    it decodes back to; the RFC 8785 reference path cost ~140 µs a decision, this walk ~15).
    Nothing else is touched, so the log accepts or refuses a payload exactly as before.
    Leaves (most values) are kept without a call each: half the walk's time."""
    kind = type(value)
    if kind is dict:
        return {k: _json_shaped(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_json_shaped(v) if type(v) in _CONTAINERS else v for v in value]
    return value


class Guard:
    """Decide, record, answer. Thread-safe: the engine is immutable and the log serialises."""

    def __init__(
        self, engine: Engine, log: AuditLog | None, *, tracer: DecisionTracer | None = None
    ) -> None:
        self.engine = engine
        self.log = log
        #: OpenTelemetry export of each decision (warden.telemetry), None when off
        self.tracer = tracer

    @classmethod
    def open(
        cls,
        *,
        workspace: str | None = None,
        policy_files: Iterable[str] = (),
        packs: Iterable[str] = (),
        audit: Path | bool = True,
        home: str | None = None,
        resident: bool = False,
    ) -> Guard:
        """The layered policy's engine, and the audit log (``True``: the default location;
        a path: that database; ``False``: no recording; ``resident``: see
        :meth:`AuditLog.open`). Decisions are also exported as OpenTelemetry spans when
        ``WARDEN_OTEL=1`` (see :mod:`warden.telemetry`)."""
        engine = Engine.from_files(policy_files=policy_files, workspace=workspace, packs=packs,
                                   home=home)  # fmt: skip
        log = None
        if audit is not False:
            from warden.record import AuditLog

            log = AuditLog.open(None if audit is True else Path(audit), resident=resident)
        tracer = None
        if os.environ.get("WARDEN_OTEL"):
            from warden.telemetry import DecisionTracer

            tracer = DecisionTracer.from_env()
        return cls(engine, log, tracer=tracer)

    def check(self, action: Action, context: CheckContext | None = None) -> Decision:
        start = time.time_ns()
        decision = self.engine.check(action, context)
        if self.log is not None:
            try:
                record, payload = decision_record(action, decision)
                self.log.append(record, payload=payload)
            except (WardenError, OSError) as exc:
                decision = unrecorded(decision, exc)
        if self.tracer is not None:
            self.tracer.export(action, decision, start_ns=start, end_ns=time.time_ns())
        return decision

    def check_many(
        self, actions: list[Action], context: CheckContext | None = None
    ) -> list[Decision]:
        """Judge a batch; records are committed together (one durable write per batch)."""
        decisions = [self.engine.check(action, context) for action in actions]
        if self.log is None:
            return decisions
        receipts: list[Any] = []
        for action, decision in zip(actions, decisions, strict=True):
            try:
                record, payload = decision_record(action, decision)
                receipts.append(self.log.append_nowait(record, payload=payload))
            except (WardenError, OSError) as exc:
                receipts.append(exc)
        out = []
        for decision, receipt in zip(decisions, receipts, strict=True):
            if isinstance(receipt, Exception):
                out.append(unrecorded(decision, receipt))
                continue
            try:
                receipt.result()
                out.append(decision)
            except (WardenError, OSError) as exc:
                out.append(unrecorded(decision, exc))
        return out

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def __enter__(self) -> Guard:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def unrecorded(decision: Decision, exc: Exception) -> Decision:
    """Fail closed: an action that cannot be recorded is not allowed to run (the decision,
    turned into a deny that says why; a deny or kill stays as it is)."""
    if decision.verdict >= Verdict.DENY:
        return decision
    return Decision(
        verdict=Verdict.DENY,
        severity=Severity.HIGH,
        reason="the audit log could not record this action",
        agent_reason="warden blocked this action because its audit log is unavailable; "
        "ask the user to check `warden audit verify`.",
        rules=decision.rules,
        findings=decision.findings,
        error=f"audit: {type(exc).__name__}: {exc}",
        policy=decision.policy,
    )
