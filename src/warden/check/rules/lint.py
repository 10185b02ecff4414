"""Rule-pack linting: every rule's own examples must behave as the rule says.

Each rule carries ``examples.match`` (actions it must match) and ``examples.no_match`` (actions
it must not). :func:`lint` runs them through an engine built for a fixed, fictional machine (home
``/home/dev``, workspace ``/home/dev/project``) so results do not depend on who runs them, and
reports rules that never match their examples, examples another rule unexpectedly shadows, and
misbehaving no-match examples. ``warden rules lint`` and the test suite both call it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from warden.action import Action, ActionKind
from warden.check.engine import CheckContext, Engine
from warden.check.rules.load import LoadedRule

__all__ = [
    "EXAMPLE_CONTEXT",
    "EXAMPLE_HOME",
    "LintProblem",
    "example_action",
    "example_engine",
    "lint",
]

EXAMPLE_HOME = "/home/dev"
EXAMPLE_CONTEXT = CheckContext(cwd="/home/dev/project", workspace="/home/dev/project",
                               home=EXAMPLE_HOME)  # fmt: skip


@functools.cache
def example_engine() -> Engine:
    """The built-in policy and packs on the fictional example machine (shared, immutable)."""
    return Engine.builtin(home=EXAMPLE_HOME)


@dataclass(frozen=True, slots=True)
class LintProblem:
    rule: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.rule}: {self.message}"


def example_action(example: str | dict[str, Any]) -> Action:
    """A shell command string, or a hook payload / action mapping, as an action."""
    if isinstance(example, str):
        return Action(kind=ActionKind.SHELL, tool="Bash", command=example,
                      cwd=EXAMPLE_CONTEXT.cwd)  # fmt: skip
    from warden.normalize import normalize

    payload = dict(example)
    payload.setdefault("cwd", EXAMPLE_CONTEXT.cwd)
    return normalize(payload)


def lint(engine: Engine, rules: Iterable[LoadedRule]) -> list[LintProblem]:
    problems: list[LintProblem] = []
    active = {r.id for r in (*engine.rules, *engine.combos)}
    for loaded in rules:
        spec = loaded.spec
        if spec.id not in active:
            continue
        for example in spec.examples.match:
            fired = _fired(engine, example)
            if spec.id not in fired:
                problems.append(LintProblem(spec.id, loaded.source, f"does not match its example "
                                            f"{_show(example)} (matched: {sorted(fired)})"))
        for example in spec.examples.no_match:
            fired = _fired(engine, example)
            if spec.id in fired:
                problems.append(LintProblem(spec.id, loaded.source,
                                            f"matches its no_match example {_show(example)}"))
    return problems


def _fired(engine: Engine, example: str | dict[str, Any]) -> set[str]:
    decision = engine.check(example_action(example), EXAMPLE_CONTEXT)
    if decision.error:
        return {f"<error: {decision.error}>"}
    return {f.rule for f in decision.findings}


def _show(example: str | dict[str, Any]) -> str:
    text = example if isinstance(example, str) else str(example)
    return repr(text if len(text) < 90 else text[:87] + "...")
