"""The hook integration's public surface is pinned, and its layering holds."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import warden
import warden.integrations.hooks as hooks

SRC = Path(warden.__file__).resolve().parent


def test_hooks_api_is_pinned() -> None:
    assert sorted(hooks.__all__) == sorted([
        "PROTOCOLS", "AgentProtocol", "HookAnswer", "HookConfig", "HookError", "Reply",
        "handle", "protocol_for", "read_payload", "refuse",
    ])  # fmt: skip


def _imported(path: Path) -> set[str]:
    out: set[str] = set()
    with warnings.catch_warnings():  # other modules' escape-sequence warnings are not ours
        warnings.simplefilter("ignore")
        tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_core_never_imports_the_integrations() -> None:
    for sub in ("check", "record", "normalize", "action.py", "decision.py", "guard.py"):
        base = SRC / sub
        for path in [base] if base.is_file() else base.rglob("*.py"):
            bad = {m for m in _imported(path) if m.startswith(("warden.integrations",
                                                               "warden.cli"))}
            assert not bad, (path, bad)


def test_integrations_never_import_the_cli() -> None:
    for path in (SRC / "integrations").rglob("*.py"):
        assert not {m for m in _imported(path) if m.startswith("warden.cli")}, path


def test_importing_the_hook_layer_does_not_load_the_engine_or_the_log() -> None:
    code = ("import sys, warden.integrations.hooks, warden.integrations.install; "
            "print(sorted(m for m in sys.modules if m.startswith(('warden.check', "
            "'warden.record', 'warden.guard'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"
