"""How decisions look on a terminal and as JSON. Pure functions returning strings."""

from __future__ import annotations

import os
import sys

import msgspec

from warden.decision import Decision, Verdict

__all__ = ["decision_json", "decision_line", "use_color"]

_COLORS = {Verdict.ALLOW: "32", Verdict.ASK: "33", Verdict.DENY: "31", Verdict.KILL: "1;31"}


def use_color(stream: object = sys.stdout) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _label(verdict: Verdict, color: bool) -> str:
    text = verdict.name.ljust(5)
    return f"\x1b[{_COLORS[verdict]}m{text}\x1b[0m" if color else text


def decision_line(decision: Decision, *, color: bool = False, explain: bool = False) -> str:
    """``DENY  reason (rule id, T1234)`` plus an evidence line; every finding with ``explain``."""
    label = _label(decision.verdict, color)
    if decision.verdict is Verdict.ALLOW and not explain:
        return label.rstrip()
    if decision.error:
        return f"{label} {decision.reason}\n      error: {decision.error}"
    if decision.verdict is Verdict.ALLOW and not decision.findings:
        return label.rstrip()
    top = decision.findings[0] if decision.findings else None
    lines = []
    if top is None:
        lines.append(f"{label} {decision.reason}")
    else:
        rules = list(top.related) or [top.rule]
        prefix = "rule " if len(rules) == 1 else ""
        tags = ", ".join(rules)
        if top.techniques:
            tags += ("; " if len(rules) > 1 else ", ") + ", ".join(top.techniques)
        lines.append(f"{label} {decision.reason} ({prefix}{tags})")
        for ev in decision.evidence[:3]:
            lines.append(f"      evidence: `{ev.text}`")
    if explain:
        for f in decision.findings:
            tech = f" [{', '.join(f.techniques)}]" if f.techniques else ""
            lines.append(f"      - {f.verdict!s:5} {f.rule}: {f.reason}{tech}")
    return "\n".join(lines)


def decision_json(decision: Decision, **extra: object) -> str:
    data = decision.to_dict()
    data.update(extra)
    return msgspec.json.encode(data).decode()
