"""Fixtures for the MCP proxy's tests with real clients and servers.

Pinned versions (override with the environment variables to reuse installed copies):
``WARDEN_TEST_MCP_PYTHON`` (a Python with ``mcp`` importable; default: a venv made here with
:data:`MCP_PIN`) and ``WARDEN_TEST_MCP_FS_SERVER`` (the server's ``dist/index.js``; default:
``npm install`` :data:`FS_PIN` into a temp dir). Tests skip with the reason when Node/npm, the
network or the packages are not available.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

MCP_PIN = "mcp==2.3.0"
FS_PIN = "@modelcontextprotocol/server-filesystem@2026.8.31"


@pytest.fixture(scope="session")
def mcp_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    given = os.environ.get("WARDEN_TEST_MCP_PYTHON")
    if given:
        return given
    venv = tmp_path_factory.mktemp("mcp-client") / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", MCP_PIN], check=True,
                       capture_output=True, timeout=400)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot install the official MCP client ({MCP_PIN}): {exc}")
    return str(venv / "bin" / "python")


@pytest.fixture(scope="session")
def fs_server(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (needed for @modelcontextprotocol/server-filesystem)")
    given = os.environ.get("WARDEN_TEST_MCP_FS_SERVER")
    if given:
        return [node, given]
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed (needed to fetch {FS_PIN})")
    prefix = tmp_path_factory.mktemp("mcp-fs")
    try:
        subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", FS_PIN],
                       check=True, capture_output=True, timeout=400)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot install {FS_PIN} from npm: {exc}")
    index = prefix / "node_modules" / "@modelcontextprotocol" / "server-filesystem"
    index = index / "dist" / "index.js"
    if not index.exists():
        pytest.skip(f"{FS_PIN} installed without dist/index.js")
    return [node, str(index)]
