"""Disguised attacks: every line of tests/assets/bypasses/*.txt must be stopped."""

import functools
import json
from pathlib import Path

import pytest

from warden.action import Action, ActionKind
from warden.check.engine import CheckContext, Engine
from warden.check.rules.lint import EXAMPLE_CONTEXT, example_action
from warden.decision import Verdict

from ..conftest import example_engine

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "bypasses"


def _lines() -> list[tuple[str, str]]:
    out = []
    for path in sorted(ASSETS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                out.append((path.name, line.replace("\\n", "\n")))
    return out


#: The root user's machine: no `/home/*/...` pattern can stand in for a `~/...` one by accident
#: (`find ~/.ss? -exec cat {} +` was stopped for /home/dev and allowed for /root).
ROOT_CONTEXT = CheckContext(cwd="/root/project", workspace="/root/project", home="/root")


@functools.cache
def _root_engine() -> Engine:
    return Engine.builtin(home="/root")


@pytest.mark.parametrize(("asset", "command"), _lines(), ids=lambda v: str(v)[:60])
def test_disguised_attack_is_stopped(asset: str, command: str) -> None:
    for engine, context in ((example_engine(), EXAMPLE_CONTEXT), (_root_engine(), ROOT_CONTEXT)):
        action = Action(kind=ActionKind.SHELL, command=command, cwd=context.cwd)
        decision = engine.check(action, context)
        assert decision.verdict >= Verdict.DENY, (command, context.home, decision.rules)


def _tool_calls() -> list[dict[str, object]]:
    out = []
    for path in sorted(ASSETS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            payload = json.loads(line) if line.strip() else {}
            if payload and "_comment" not in payload:
                out.append(payload)
    return out


@pytest.mark.parametrize("payload", _tool_calls(), ids=lambda v: json.dumps(v)[:60])
def test_disguised_tool_call_is_stopped(payload: dict[str, object]) -> None:
    """Every line of tests/assets/bypasses/*.jsonl (a hook payload) must be denied."""
    decision = example_engine().check(example_action(payload), EXAMPLE_CONTEXT)
    assert decision.verdict >= Verdict.DENY, (payload, decision.rules, decision.error)
