"""Shared by the tests of the walker's parser-free fast paths (``walker._nested_plain``,
``walker._run_quoted_list``): the attack lines of the bypass assets, a decision with a fast
path switched off, and whether a command took one."""

from __future__ import annotations

from pathlib import Path

import pytest

from warden.action import Action, ActionKind
from warden.check.rules.lint import EXAMPLE_CONTEXT
from warden.check.shell import walker
from warden.decision import Decision

from ..conftest import example_engine

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "bypasses"


def asset_lines(pattern: str) -> list[str]:
    """The command lines of the bypass asset files matching ``pattern``."""
    return [line.replace("\\n", "\n")
            for path in sorted(ASSETS.glob(pattern))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]  # fmt: skip


def check(command: str) -> Decision:
    action = Action(kind=ActionKind.SHELL, command=command, cwd=EXAMPLE_CONTEXT.cwd)
    return example_engine().check(action, EXAMPLE_CONTEXT)


def without(fast_path: str, command: str) -> Decision:
    """The decision with the walker's ``fast_path`` function answering "not mine"."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(walker, fast_path, lambda *_: None)
        return check(command)


def watched(fast_path: str, command: str) -> tuple[Decision, list[bool]]:
    """The decision, and for each call of ``fast_path`` whether it took the command."""
    taken: list[bool] = []
    real = getattr(walker, fast_path)

    def spy(*args: object) -> object:
        out = real(*args)
        taken.append(out is not None)
        return out

    with pytest.MonkeyPatch.context() as m:
        m.setattr(walker, fast_path, spy)
        return check(command), taken
