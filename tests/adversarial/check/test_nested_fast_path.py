"""Nested code of plain words (``sh -c CODE``, a decoded payload piped to a shell, ``eval``,
code in variables) runs without the parser (``walker._nested_plain``): every disguised attack
keeps the parser path's decision, and the attacks written for this shape take it."""

from pathlib import Path

import pytest

from warden.action import Action, ActionKind
from warden.check.rules.lint import EXAMPLE_CONTEXT
from warden.check.shell import walker
from warden.decision import Decision, Verdict

from ..conftest import example_engine

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "bypasses"


def _lines(pattern: str) -> list[str]:
    return [line.replace("\\n", "\n")
            for path in sorted(ASSETS.glob(pattern))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]  # fmt: skip


def _check(command: str) -> Decision:
    action = Action(kind=ActionKind.SHELL, command=command, cwd=EXAMPLE_CONTEXT.cwd)
    return example_engine().check(action, EXAMPLE_CONTEXT)


def _parsed(command: str) -> Decision:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(walker, "_nested_plain", lambda *_: None)
        return _check(command)


@pytest.mark.parametrize("command", _lines("nested_plain.txt"), ids=lambda v: v[:60])
def test_nested_plain_attack_takes_the_fast_path_and_is_stopped(command: str) -> None:
    taken: list[bool] = []
    plain = walker._nested_plain

    def spy(*args: object) -> object:
        out = plain(*args)  # type: ignore[arg-type]
        taken.append(out is not None)
        return out

    with pytest.MonkeyPatch.context() as m:
        m.setattr(walker, "_nested_plain", spy)
        decision = _check(command)
    assert any(taken), "the nested code was expected to be plain words"
    assert decision.verdict >= Verdict.DENY, (command, decision.rules)
    assert decision == _parsed(command)


def test_every_disguised_attack_decides_as_on_the_parser_path() -> None:
    lines = _lines("*.txt")
    assert len(lines) > 200
    for command in lines:
        assert _check(command) == _parsed(command), command
