"""Nested code of plain words (``sh -c CODE``, a decoded payload piped to a shell, ``eval``,
code in variables) runs without the parser (``walker._nested_plain``): every disguised attack
keeps the parser path's decision, and the attacks written for this shape take it."""

import pytest

from warden.decision import Verdict

from .fast_paths import asset_lines, check, watched, without

FAST_PATH = "_nested_plain"


@pytest.mark.parametrize("command", asset_lines("nested_plain.txt"), ids=lambda v: v[:60])
def test_nested_plain_attack_takes_the_fast_path_and_is_stopped(command: str) -> None:
    decision, taken = watched(FAST_PATH, command)
    assert any(taken), "the nested code was expected to be plain words"
    assert decision.verdict >= Verdict.DENY, (command, decision.rules)
    assert decision == without(FAST_PATH, command)


def test_every_disguised_attack_decides_as_on_the_parser_path() -> None:
    lines = asset_lines("*.txt")
    assert len(lines) > 200
    for command in lines:
        assert check(command) == without(FAST_PATH, command), command
