"""Precision: the benign corpus of ordinary developer work passes with no deny.

Asks are allowed (a user approving a global git config change is friction, not a broken
workflow) but counted, and the README reports both rates (bench/bench_detection.py).
"""

import sys
from pathlib import Path

from warden.check.engine import CheckContext
from warden.check.rules.lint import EXAMPLE_CONTEXT, EXAMPLE_HOME, example_action
from warden.decision import Verdict

from .conftest import example_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from corpora import benign_actions, benign_commands

#: Asks above this share of the corpus mean the default policy has become a nag.
MAX_ASK_RATE = 0.02


def _judge(items) -> tuple[list[str], int]:
    denied, asked = [], 0
    for item in items:
        ctx = EXAMPLE_CONTEXT if isinstance(item.payload, str) else CheckContext(home=EXAMPLE_HOME)
        d = example_engine().check(example_action(item.payload), ctx)
        if d.verdict >= Verdict.DENY:
            denied.append(f"{item.source}: {item.payload} -> {d.rules} {d.error or ''}")
        elif d.verdict is Verdict.ASK:
            asked += 1
    return denied, asked


def test_benign_commands_are_never_denied() -> None:
    items = benign_commands()
    assert len(items) >= 2000
    denied, asked = _judge(items)
    assert not denied, "\n".join(denied)
    assert asked / len(items) <= MAX_ASK_RATE


def test_benign_tool_calls_are_never_denied() -> None:
    items = benign_actions()
    denied, asked = _judge(items)
    assert not denied, "\n".join(denied)
    assert asked == 0
