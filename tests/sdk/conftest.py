"""Shared fixtures of the SDK tests: a workspace, a guard with its own audit log, log reading."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warden.record import LogReader
from warden.sdk import Guard


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "README.md").write_text("# project\n")
    return ws


@pytest.fixture
def guard(workspace: Path, tmp_path: Path) -> Iterator[Guard]:
    g = Guard.open(workspace=str(workspace), audit=tmp_path / "audit.db", agent="test-agent")
    yield g
    g.close()


def ask_policy(tmp_path: Path) -> str:
    """A policy layer that makes ``rm -r...`` an ask (the default policy asks about little)."""
    path = tmp_path / "ask.toml"
    path.write_text('[commands]\nask = ["rm -r*"]\n')
    return str(path)


@pytest.fixture
def ask_guard(workspace: Path, tmp_path: Path) -> Iterator[Guard]:
    g = Guard.open(workspace=str(workspace), audit=tmp_path / "audit.db",
                   policy_files=[ask_policy(tmp_path)])  # fmt: skip
    yield g
    g.close()


def records(guard: Guard) -> list[tuple[int, dict[str, Any], dict[str, Any] | None]]:
    """Every entry of the guard's audit log, read back through a separate reader."""
    assert guard.log is not None
    path = Path(guard.log.store.path)  # type: ignore[attr-defined]
    with LogReader.open(path) as reader:
        return [(e.index, e.record, e.payload) for e in reader.entries()]


def need(module: str, pip_name: str) -> None:
    """Skip (the test, or the whole module when called at import) if a framework is missing."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"{pip_name} is not installed (pip install {pip_name}): {exc}",
                    allow_module_level=True)  # fmt: skip
