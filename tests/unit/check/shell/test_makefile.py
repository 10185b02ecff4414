"""The shell code in a makefile's text (``make --eval``, a makefile on stdin)."""

from __future__ import annotations

import pytest

from warden.check.shell.makefile import makefile_code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("all:;echo hi", "echo hi"),
        ("all: dep ; @echo $$HOME", "echo $HOME"),
        ("all:\n\t-rm -f x\n\t+@make sub", "rm -f x\nmake sub"),
        ("X := $(shell git rev-parse HEAD)", "git rev-parse HEAD"),
        ("Y = ${shell date}", "date"),
        ("# a: ;b\nCFLAGS = -O2", ""),
        ("all: \\\n dep; echo joined", "echo joined"),
        ("", ""),
        # .RECIPEPREFIX changes what starts a recipe; an empty value restores the tab
        (".RECIPEPREFIX = >\nall:\n> echo a\n\techo no", "echo a"),
        (".RECIPEPREFIX := >\n.RECIPEPREFIX =\nall:\n\techo b\n> no", "echo b"),
        # SHELL runs every recipe
        ("SHELL := /bin/bash -eo pipefail\nall:\n\ttrue", "/bin/bash -eo pipefail\ntrue"),
        ("override SHELL = ./sh\nMYSHELL = x", "./sh"),
    ],
)
def test_recipes_and_shell_calls_are_code(text: str, code: str) -> None:
    assert makefile_code(text) == code
