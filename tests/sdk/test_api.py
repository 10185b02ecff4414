"""The SDK's public surface is pinned, and it imports only downwards."""

from __future__ import annotations

import ast
from pathlib import Path

import warden.sdk
from warden.errors import WardenError

SDK = Path(warden.sdk.__file__).resolve().parent


def test_sdk_api_is_pinned() -> None:
    assert sorted(warden.sdk.__all__) == [
        "Approver", "FrameworkMissing", "Guard", "OnOutput", "Outcome", "Ticket", "ToolDenied",
        "ToolMap", "guarded", "tool_map_of",
    ]  # fmt: skip
    for name in warden.sdk.__all__:
        assert getattr(warden.sdk, name) is not None


def test_errors_are_warden_errors() -> None:
    assert issubclass(warden.sdk.ToolDenied, WardenError)
    assert issubclass(warden.sdk.FrameworkMissing, WardenError)


def test_sdk_imports_point_down_only() -> None:
    forbidden = ("warden.cli", "warden.demo", "warden.contain")
    for path in SDK.rglob("*.py"):
        tree = ast.parse(path.read_text())
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        bad = sorted(m for m in mods if m.startswith(forbidden))
        assert not bad, f"{path.name} imports {bad}"


def test_frameworks_are_imported_lazily() -> None:
    # module level of each adapter: no framework import (they happen inside functions)
    for name in ("openai_agents.py", "langchain.py", "pydantic_ai.py"):
        tree = ast.parse((SDK / name).read_text())
        top = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import)
               for a in n.names}  # fmt: skip
        top |= {n.module.split(".")[0] for n in tree.body
                if isinstance(n, ast.ImportFrom) and n.module}  # fmt: skip
        assert top <= {"__future__", "warden", "asyncio", "json", "collections", "typing",
                       "functools"}, (name, top)  # fmt: skip
