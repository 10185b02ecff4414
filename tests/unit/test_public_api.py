"""The public surface is explicit and pinned; the core never imports the edges."""

import ast
from pathlib import Path

import warden
import warden.check
import warden.normalize

SRC = Path(warden.__file__).resolve().parent


def test_top_level_api_is_pinned() -> None:
    assert sorted(warden.__all__) == sorted([
        "Action", "ActionKind", "CheckContext", "ConfigError", "Decision", "Engine", "Evidence",
        "FileChange", "Finding", "Guard", "InputError", "Severity", "ToolDenied", "ToolMap",
        "Verdict", "WardenError", "__version__", "load_engine", "normalize",
    ])
    for name in warden.__all__:
        assert getattr(warden, name) is not None


def test_check_api() -> None:
    assert sorted(warden.check.__all__) == ["CheckContext", "Engine", "load_engine"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


#: package -> packages it must never import (imports point down only)
FORBIDDEN = {
    "check": ("warden.cli", "warden.record", "warden.demo"),
    "normalize": ("warden.cli", "warden.record", "warden.check", "warden.demo"),
    "record": ("warden.cli", "warden.check", "warden.demo"),
    "contain": ("warden.cli", "warden.demo", "warden.integrations", "warden.sdk"),
    "integrations": ("warden.cli", "warden.demo", "warden.contain"),
    "sdk": ("warden.cli", "warden.demo", "warden.contain"),
}


def test_imports_point_down_only() -> None:
    for package, forbidden in FORBIDDEN.items():
        for path in (SRC / package).rglob("*.py"):
            bad = [m for m in _imports(path) if m.startswith(forbidden)]
            assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_models_import_nothing_heavy() -> None:
    for name in ("action.py", "decision.py", "errors.py"):
        mods = _imports(SRC / name)
        assert not any(m.startswith(("warden.check", "tree_sitter", "re2")) for m in mods), name
