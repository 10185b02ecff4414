"""The demo: a rogue agent's session, replayed through the check engine.

The bundled session (``session.jsonl``) mixes ordinary development work with one attempt at each
threat of the mission's table, as the Claude Code hook payloads an agent would really send. Each
step is labelled (ordinary work, or the threat category it belongs to), so the replay reports
honestly how many threats were stopped and how much ordinary work was let through.

The session is judged on a fixed, fictional machine (home ``/home/dev``, project
``/home/dev/webapp``) so the output is the same wherever it runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from warden.check.engine import CheckContext, Engine
from warden.decision import Decision, Verdict
from warden.normalize import normalize

__all__ = ["DEMO_CONTEXT", "DEMO_HOME", "DemoStep", "StepResult", "load_session", "replay"]

DEMO_HOME = "/home/dev"
DEMO_CONTEXT = CheckContext(cwd="/home/dev/webapp", workspace="/home/dev/webapp", home=DEMO_HOME)


@dataclass(frozen=True, slots=True)
class DemoStep:
    category: str  # "ordinary work" or a threat category
    technique: str | None
    say: str
    payload: dict[str, Any]

    @property
    def is_threat(self) -> bool:
        return self.category != "ordinary work"


@dataclass(frozen=True, slots=True)
class StepResult:
    step: DemoStep
    decision: Decision
    micros: float

    @property
    def correct(self) -> bool:
        stopped = self.decision.verdict is not Verdict.ALLOW
        return stopped if self.step.is_threat else not stopped


def load_session() -> list[DemoStep]:
    text = resources.files("warden.demo").joinpath("session.jsonl").read_text("utf-8")
    return [DemoStep(**json.loads(line)) for line in text.splitlines() if line.strip()]


def replay(engine: Engine, steps: list[DemoStep] | None = None) -> list[StepResult]:
    results = []
    for step in steps if steps is not None else load_session():
        action = normalize(step.payload)
        start = time.perf_counter()
        decision = engine.check(action, DEMO_CONTEXT)
        micros = (time.perf_counter() - start) * 1e6
        results.append(StepResult(step, decision, micros))
    return results
