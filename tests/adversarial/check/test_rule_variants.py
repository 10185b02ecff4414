"""Every blocking rule's shell examples, disguised five ways, are still stopped.

Wrappings that keep the command's meaning (``sh -c``, ``eval``, ``base64 -d | sh``) must still
fire the same rule; disguises of the program name (split quotes, ANSI-C escapes) must at least
be denied, by the rule or by the obfuscation rules.
"""

import base64
import shlex

import pytest

from warden.action import Action, ActionKind
from warden.check.rules.lint import EXAMPLE_CONTEXT
from warden.check.rules.load import load_packs
from warden.decision import Verdict

from ..conftest import example_engine


def _sh_c(command: str) -> str:
    return "sh -c " + shlex.quote(command)


def _eval(command: str) -> str:
    return "eval " + shlex.quote(command)


def _b64(command: str) -> str:
    return f"echo {base64.b64encode(command.encode()).decode()} | base64 -d | sh"


def _split_quotes(command: str) -> str | None:
    first, _, rest = command.partition(" ")
    if len(first) < 2 or not first.isalnum():
        return None
    return f"{first[0]}''{first[1:]} {rest}"


def _ansi_c(command: str) -> str | None:
    first, _, rest = command.partition(" ")
    if not first.isalnum():
        return None
    return "$'" + "".join(f"\\x{ord(c):02x}" for c in first) + "' " + rest


KEEP_MEANING = {"sh -c": _sh_c, "eval": _eval, "base64": _b64}
DISGUISE_NAME = {"split-quotes": _split_quotes, "ansi-c": _ansi_c}

#: Rules whose examples depend on the exact syntax a wrapping changes (the pipeline evidence of
#: a here-doc, the `$@` of a function): their disguised forms are still checked for a deny.
SYNTAX_BOUND = {"analysis.parse-error", "analysis.incomplete", "analysis.dynamic-command",
                "obf.command-name", "obf.escaped-text", "obf.unicode", "obf.parameter-tricks"}


def _cases() -> list[tuple[str, str, str, str]]:
    out = []
    for loaded in load_packs():
        spec = loaded.spec
        if Verdict.parse(spec.verdict) < Verdict.DENY:
            continue
        for example in spec.examples.match:
            if not isinstance(example, str) or "\n" in example:
                continue
            for name in (*KEEP_MEANING, *DISGUISE_NAME):
                out.append((spec.id, example, name, spec.category))
    return out


def _judge(command: str):
    return example_engine().check(
        Action(kind=ActionKind.SHELL, command=command, cwd=EXAMPLE_CONTEXT.cwd), EXAMPLE_CONTEXT
    )


@pytest.mark.parametrize(("rule", "example", "variant", "category"), _cases(),
                         ids=lambda v: str(v)[:40])
def test_disguised_positive_is_stopped(rule: str, example: str, variant: str,
                                       category: str) -> None:
    if variant in KEEP_MEANING:
        command = KEEP_MEANING[variant](example)
    else:
        disguised = DISGUISE_NAME[variant](example)
        if disguised is None:
            pytest.skip("the example does not start with a plain program name")
        command = disguised
    decision = _judge(command)
    assert decision.verdict >= Verdict.DENY, (command, decision.rules)
    if variant in KEEP_MEANING and rule not in SYNTAX_BOUND and category != "resource-exhaustion":
        fired = {f.rule for f in decision.findings} | {r for f in decision.findings
                                                       for r in f.related}
        assert rule in fired, (command, sorted(fired))
