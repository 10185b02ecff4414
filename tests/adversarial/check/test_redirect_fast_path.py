"""File redirections on the parser-free fast path (``walker._run_quoted_list``): the attacks
written for these shapes take the fast path and keep the parser path's decision, and so does
every disguised attack of the bypass assets."""

import pytest

from warden.decision import Verdict

from .fast_paths import asset_lines, check, watched, without

FAST_PATH = "_run_quoted_list"


@pytest.mark.parametrize("command", asset_lines("fast_path_redirections.txt"),
                         ids=lambda v: v[:60])  # fmt: skip
def test_redirected_attack_takes_the_fast_path_and_is_stopped(command: str) -> None:
    decision, taken = watched(FAST_PATH, command)
    assert taken[:1] == [True], "the line was expected to take the fast path"
    assert decision.verdict >= Verdict.DENY, (command, decision.rules)
    assert decision == without(FAST_PATH, command)


def test_every_disguised_attack_decides_as_without_the_quoted_fast_path() -> None:
    lines = asset_lines("*.txt")
    assert len(lines) > 200
    for command in lines:
        assert check(command) == without(FAST_PATH, command), command
