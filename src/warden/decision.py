"""The decision model: what warden concluded about an action, and why.

A :class:`Verdict` is ordered (``ALLOW < ASK < DENY < KILL``) so combining findings is ``max``.
Each :class:`Finding` is one rule that matched with its evidence; the :class:`Decision` carries
the strongest verdict, every finding, and one-line reasons for the person and for the agent.
An internal error is itself a decision (``DENY`` with ``error`` set), never an exception that a
caller might turn into an allow.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import msgspec

__all__ = [
    "DECISION_SCHEMA_VERSION",
    "EXIT_ALLOW",
    "EXIT_ASK",
    "EXIT_DENY",
    "EXIT_ERROR",
    "EXIT_INVALID",
    "EXIT_KILL",
    "Decision",
    "Evidence",
    "Finding",
    "Severity",
    "Verdict",
    "decision_json_schema",
    "exit_code",
]

DECISION_SCHEMA_VERSION = 1

#: Process exit codes of ``warden check`` (and of hooks that use exit codes). Distinct per verdict
#: so scripts can branch on them; 2 is the conventional code for bad usage or unreadable input.
EXIT_ALLOW = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_ASK = 10
EXIT_DENY = 20
EXIT_KILL = 30


class Verdict(IntEnum):
    """What to do with an action; ordered so that the strongest wins."""

    ALLOW = 0
    ASK = 1
    DENY = 2
    KILL = 3

    @classmethod
    def parse(cls, text: str) -> Verdict:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(v.name.lower() for v in cls)
            raise ValueError(f"unknown verdict {text!r} (expected one of {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


class Severity(IntEnum):
    """How bad a match is if it is what it looks like."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(v.name.lower() for v in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """The part of the action that made a rule match.

    ``field`` names the action field (``command``, ``path``, ``content``, ``url``, ``body``...);
    ``start``/``end`` are character offsets into it when known, ``text`` the matched text
    (truncated to a readable length; secrets are redacted before they get here).
    """

    field: str
    text: str
    start: int | None = None
    end: int | None = None


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One rule that matched."""

    rule: str
    verdict: Verdict
    severity: Severity
    category: str
    reason: str
    techniques: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    related: tuple[str, ...] = ()  # for combination rules: the findings combined


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The engine's answer for one action."""

    verdict: Verdict
    reason: str
    agent_reason: str = ""
    severity: Severity = Severity.INFO
    rules: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    policy: str = ""
    v: int = DECISION_SCHEMA_VERSION

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        seen: dict[tuple[str, str], Evidence] = {}
        for finding in self.findings:
            if finding.verdict < self.verdict:
                continue
            for ev in finding.evidence:
                seen.setdefault((ev.field, ev.text), ev)
        return tuple(seen.values())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["verdict"] = str(self.verdict)
        out["severity"] = str(self.severity)
        for finding in out["findings"]:
            finding["verdict"] = str(Verdict(finding["verdict"]))
            finding["severity"] = str(Severity(finding["severity"]))
        return out


def exit_code(verdict: Verdict) -> int:
    """The documented exit code for a verdict."""
    return {
        Verdict.ALLOW: EXIT_ALLOW,
        Verdict.ASK: EXIT_ASK,
        Verdict.DENY: EXIT_DENY,
        Verdict.KILL: EXIT_KILL,
    }[verdict]


def decision_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Decision` as ``Decision.to_dict`` renders it."""
    schema: dict[str, Any] = msgspec.json.schema(Decision)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "warden decision"
    verdict_enum = {"type": "string", "enum": [str(v) for v in Verdict]}
    severity_enum = {"type": "string", "enum": [str(s) for s in Severity]}
    defs = schema.get("$defs", {})
    defs["Verdict"] = verdict_enum
    defs["Severity"] = severity_enum
    return schema
