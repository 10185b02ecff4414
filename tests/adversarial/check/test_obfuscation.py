"""Disguised attacks: every line of tests/assets/bypasses/*.txt must be stopped."""

from pathlib import Path

import pytest

from warden.action import Action, ActionKind
from warden.check.rules.lint import EXAMPLE_CONTEXT
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


@pytest.mark.parametrize(("asset", "command"), _lines(), ids=lambda v: str(v)[:60])
def test_disguised_attack_is_stopped(asset: str, command: str) -> None:
    decision = example_engine().check(
        Action(kind=ActionKind.SHELL, command=command, cwd=EXAMPLE_CONTEXT.cwd), EXAMPLE_CONTEXT
    )
    assert decision.verdict >= Verdict.DENY, (command, decision.rules)
