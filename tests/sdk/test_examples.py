"""The examples in ``examples/`` run as real processes, offline, and show what they claim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import need

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SSH_REASON = "warden blocked: reads an SSH private key (rule cred.ssh-key)"
EXFIL_REASON = "warden blocked: sends data to a host outside the allowlist (rule exfil.http-upload)"


def run_example(name: str, tmp_path: Path) -> str:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "OPENAI_API_KEY": ""}
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "data").exists()  # the examples keep their audit log to themselves
    return done.stdout


def test_plain_sdk_example(tmp_path: Path) -> None:
    out = run_example("sdk_guarded_tools.py", tmp_path)
    assert "run_shell  ALLOW  hello from the agent" in out
    assert f"run_shell  DENY   {SSH_REASON}" in out
    assert f"run_shell  DENY   {EXFIL_REASON}" in out
    assert f"post       DENY   {EXFIL_REASON}" in out
    assert "instructions aimed at you" in out
    assert "audit records: 9" in out


def test_openai_agents_example(tmp_path: Path) -> None:
    need("agents", "openai-agents")
    out = run_example("openai_agents_guarded.py", tmp_path)
    lines = out.splitlines()
    assert "RESULT  hello from the agent" in lines
    assert lines.index("CALL    run_shell('cat ~/.ssh/id_rsa')") + 1 == next(
        i for i, line in enumerate(lines) if SSH_REASON in line)
    assert any(EXFIL_REASON in line for line in lines)


@pytest.mark.parametrize("name,module,pip_name", [
    ("langgraph_guarded.py", "langgraph", "langgraph"),
    ("pydantic_ai_guarded.py", "pydantic_ai", "pydantic-ai-slim"),
])  # fmt: skip
def test_examples_with_approval(tmp_path: Path, name: str, module: str, pip_name: str) -> None:
    need(module, pip_name)
    out = run_example(name, tmp_path)
    assert "RESULT  hello from the agent" in out
    assert SSH_REASON in out and EXFIL_REASON in out
    assert "ASK     run_shell({'cmd': 'rm -rf build'})" in out
    assert "build/ still there: False" in out  # approved, so it ran
    assert "audit records: 8" in out


@pytest.mark.parametrize("module,call,pip_name", [
    ("agents", "from warden.sdk.openai_agents import protect; protect(g, None)", "openai-agents"),
    ("langchain_core", "from warden.sdk.langchain import WardenToolCalls; WardenToolCalls(g)",
     "langchain-core"),
    ("pydantic_ai", "from warden.sdk.pydantic_ai import warden_capability; warden_capability(g)",
     "pydantic-ai-slim"),
    ("langchain", "from warden.sdk.langchain import warden_middleware; warden_middleware(g)",
     "langchain"),
])  # fmt: skip
def test_missing_framework_gives_the_install_hint(tmp_path: Path, module: str, call: str,
                                                  pip_name: str) -> None:  # fmt: skip
    script = (
        f"import sys; sys.modules[{module!r}] = None  # as if not installed\n"
        "from warden.sdk import Guard, FrameworkMissing\n"
        "g = Guard.open(audit=False)\n"
        f"try:\n    {call}\nexcept FrameworkMissing as exc:\n    print(exc); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert f"pip install {pip_name}" in done.stdout


def test_importing_the_sdk_does_not_import_frameworks(tmp_path: Path) -> None:
    script = ("import sys, warden.sdk, warden.sdk.openai_agents, warden.sdk.langchain, "
              "warden.sdk.pydantic_ai\n"
              "print(sorted(m for m in ('agents', 'langchain_core', 'langgraph', 'pydantic_ai') "
              "if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
