"""File redirections on the parser-free fast path (``walker._run_quoted_list``): the attacks
written for these shapes take the fast path and keep the parser path's decision, and so does
every disguised attack of the bypass assets."""

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
        m.setattr(walker, "_run_quoted_list", lambda *_: None)
        return _check(command)


@pytest.mark.parametrize("command", _lines("fast_path_redirections.txt"), ids=lambda v: v[:60])
def test_redirected_attack_takes_the_fast_path_and_is_stopped(command: str) -> None:
    taken: list[bool] = []
    quoted = walker._run_quoted_list

    def spy(*args: object) -> object:
        out = quoted(*args)  # type: ignore[arg-type]
        taken.append(out is not None)
        return out

    with pytest.MonkeyPatch.context() as m:
        m.setattr(walker, "_run_quoted_list", spy)
        decision = _check(command)
    assert taken[:1] == [True], "the line was expected to take the fast path"
    assert decision.verdict >= Verdict.DENY, (command, decision.rules)
    assert decision == _parsed(command)


def test_every_disguised_attack_decides_as_without_the_quoted_fast_path() -> None:
    lines = _lines("*.txt")
    assert len(lines) > 200
    for command in lines:
        assert _check(command) == _parsed(command), command
