"""Find or install the real agent CLIs for end-to-end tests (never into the project venv).

Order: an environment variable with the path of the binary (``$WARDEN_CLAUDE_CODE``,
``$WARDEN_CODEX``, ``$WARDEN_GEMINI_CLI``); a cached npm install of the pinned version under
``$XDG_CACHE_HOME/warden-tests/`` (``~/.cache`` by default); else an ``npm install`` of the
pinned version into that cache. Both npm packages ship a native binary in an optional
per-platform dependency (``@anthropic-ai/claude-code-linux-x64``, ``@openai/codex-linux-x64``),
so nothing is downloaded at run time. Each finder returns ``(path, None)`` or
``(None, reason to skip)``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = [
    "CLAUDE_CODE_VERSION",
    "CODEX_VERSION",
    "GEMINI_CLI_VERSION",
    "find_claude",
    "find_codex",
    "find_gemini",
]

#: The versions these tests were written and run against (``onFailure`` needs >= 2.1.295).
CLAUDE_CODE_VERSION = "2.1.328"
CODEX_VERSION = "0.169.0"
GEMINI_CLI_VERSION = "0.61.0"

_NPM_TIMEOUT = 600


def _cache(name: str, version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "warden-tests" / f"{name}-{version}"


def _claude_binary(root: Path) -> Path | None:
    mods = root / "node_modules" / "@anthropic-ai"
    for name in ("claude-code-linux-x64", "claude-code-linux-arm64", "claude-code-linux-x64-musl",
                 "claude-code-linux-arm64-musl"):
        cand = mods / name / "claude"
        if cand.exists():
            return cand
    cand = mods / "claude-code" / "bin" / "claude.exe"
    return cand if cand.exists() else None


def _codex_binary(root: Path) -> Path | None:
    cand = root / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"
    native = root / "node_modules" / "@openai" / "codex-linux-x64"
    return cand if cand.exists() and (native.exists() or shutil.which("node")) else None


def _gemini_binary(root: Path) -> Path | None:
    cand = root / "node_modules" / ".bin" / "gemini"
    return cand if cand.exists() and shutil.which("node") else None


def _works(path: Path, marker: str) -> str | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} does not start: {exc}"
    if out.returncode != 0 or marker not in out.stdout:
        return f"{path} --version failed: {out.stdout.strip()} {out.stderr.strip()[:200]}"
    return None


def _find(env: str, package: str, version: str, binary: Any, marker: str
          ) -> tuple[Path | None, str | None]:  # fmt: skip
    given = os.environ.get(env)
    if given:
        path = Path(given)
        problem = _works(path, marker)
        return (None, problem) if problem else (path, None)
    root = _cache(package.rsplit("/", 1)[-1], version)
    found = binary(root)
    if found is None:
        npm = shutil.which("npm")
        if npm is None:
            return None, f"npm is not installed, so {package} cannot be installed"
        root.mkdir(parents=True, exist_ok=True)
        (root / "package.json").write_text("{}\n")  # keep npm from using a parent's
        try:
            out = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(root),
                 f"{package}@{version}"],
                capture_output=True, text=True, timeout=_NPM_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"npm install of {package} failed: {exc}"
        found = binary(root)
        if found is None:
            return None, f"npm install of {package} failed: {out.stderr.strip()[-300:]}"
    problem = _works(found, marker)
    return (None, problem) if problem else (found, None)


def find_claude() -> tuple[Path | None, str | None]:
    return _find("WARDEN_CLAUDE_CODE", "@anthropic-ai/claude-code", CLAUDE_CODE_VERSION,
                 _claude_binary, "Claude Code")


def find_codex() -> tuple[Path | None, str | None]:
    return _find("WARDEN_CODEX", "@openai/codex", CODEX_VERSION, _codex_binary, "codex-cli")


def find_gemini() -> tuple[Path | None, str | None]:
    return _find("WARDEN_GEMINI_CLI", "@google/gemini-cli", GEMINI_CLI_VERSION, _gemini_binary,
                 GEMINI_CLI_VERSION)
