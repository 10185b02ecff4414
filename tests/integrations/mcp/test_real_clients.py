"""The official ``mcp`` Python client, ``warden mcp``, and the reference filesystem server.

Real parts end to end: ``@modelcontextprotocol/server-filesystem`` from npm (Node), the official
``mcp`` Python SDK client in a venv of its own (the project does not depend on it), and the
proxy in between. The server's root is a stand-in home directory holding a project, a ``.env``
and ``.ssh/id_ed25519``: the server itself would serve all of them. Both protocol generations
are driven: the initialize handshake (``mode="legacy"``) and the 2026-07-28 discovery probe
(``mode="auto"``).

Pinned versions (override with the environment variables to reuse installed copies):
``WARDEN_TEST_MCP_PYTHON`` (a Python with ``mcp`` importable; default: a venv made here with
``mcp==2.3.0``) and ``WARDEN_TEST_MCP_FS_SERVER`` (the server's ``dist/index.js``; default:
``npm install @modelcontextprotocol/server-filesystem@2026.8.31`` into a temp dir). Skips with
the reason when Node/npm, the network or the packages are not available.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.integrations.mcp.proxyproc import FAKE_SERVER, warden_mcp_argv

from warden.record import LogReader

CLIENT = Path(__file__).with_name("official_client.py")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A stand-in home directory: the filesystem server's root, and HOME for warden."""
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    (home / "project" / "notes.md").write_text("# notes\nship on friday\n")
    (home / "project" / ".env").write_text("DATABASE_PASSWORD=hunter2-but-longer\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
                                               "-----END OPENSSH PRIVATE KEY-----\n")  # fmt: skip
    # a rogue agent's detour: a harmless-looking name inside the project, linked to the key
    (home / "project" / "notes-link.md").symlink_to(home / ".ssh" / "id_ed25519")
    # and a key under a name no path rule knows: only the result scan can catch it
    (home / "project" / "deploy-notes.txt").write_text(
        "deploy with:\n" + (home / ".ssh" / "id_ed25519").read_text())
    return home


def _drive(python: str, server: list[str], steps: list[dict[str, Any]], *, home: Path,
           db: Path, mode: str, options: tuple[str, ...] = (),
           elicit: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    proxy = warden_mcp_argv("--audit-db", str(db), "--name", "fs", *options, "--", *server)
    spec = {
        "command": proxy[0], "args": proxy[1:], "mode": mode, "steps": steps,
        "cwd": str(home / "project"),
        # the client passes only a safe subset of the environment; warden needs its venv's path
        "env": {"HOME": str(home), "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    }  # fmt: skip
    if elicit is not None:
        spec["elicit"] = elicit
    spec_file = db.with_suffix(".spec.json")
    spec_file.write_text(json.dumps(spec))
    done = subprocess.run([python, str(CLIENT), str(spec_file)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_filesystem_server_behind_warden(
    mcp_python: str, fs_server: list[str], home: Path, tmp_path: Path, mode: str
) -> None:
    root = str(home)
    steps = [
        {"op": "list"},
        {"op": "call", "name": "read_text_file", "arguments": {"path": f"{root}/project/notes.md"}},
        {"op": "call", "name": "list_directory", "arguments": {"path": f"{root}/project"}},
        {"op": "call", "name": "read_text_file", "arguments": {"path": f"{root}/project/.env"}},
        {"op": "call", "name": "read_text_file", "arguments": {"path": f"{root}/.ssh/id_ed25519"}},
        {"op": "call", "name": "read_multiple_files",
         "arguments": {"paths": [f"{root}/project/notes.md", f"{root}/.ssh/id_ed25519"]}},
        {"op": "call", "name": "write_file",
         "arguments": {"path": f"{root}/project/out.txt", "content": "done\n"}},
        {"op": "call", "name": "write_file",
         "arguments": {"path": "/etc/cron.d/warden-mcp-test", "content": "* * * * * root sh\n"}},
        {"op": "call", "name": "move_file", "arguments": {
            "source": f"{root}/project/notes.md", "destination": "/usr/local/bin/notes"}},
        {"op": "call", "name": "read_text_file",
         "arguments": {"path": f"{root}/project/notes-link.md"}},
        {"op": "call", "name": "read_text_file",
         "arguments": {"path": f"{root}/project/deploy-notes.txt"}},
    ]  # fmt: skip
    db = tmp_path / "audit.db"
    out = _drive(mcp_python, [*fs_server, root], steps, home=home, db=db, mode=mode)
    s = out["steps"]
    if mode == "auto":
        assert out["protocol"] is not None
    tools = s[0]["tools"]
    assert {"read_text_file", "write_file", "move_file"} <= set(tools)  # nothing flagged
    assert s[1] == {"isError": False, "text": "# notes\nship on friday\n"}
    assert not s[2]["isError"] and "notes.md" in s[2]["text"]
    assert s[3]["isError"] and "cred.dotenv" in s[3]["text"]
    assert s[4]["isError"] and "cred.ssh-key" in s[4]["text"]
    assert s[5]["isError"] and "cred.ssh-key" in s[5]["text"]  # one bad path in a batch read
    assert not s[6]["isError"] and (home / "project" / "out.txt").read_text() == "done\n"
    assert s[7]["isError"] and s[7]["text"].startswith("warden blocked")
    assert s[8]["isError"] and s[8]["text"].startswith("warden blocked")
    assert (home / "project" / "notes.md").exists()  # the move never happened
    # a symlink to the key: the engine resolves links, so the request itself is denied
    assert s[9]["isError"] and "cred.ssh-key" in s[9]["text"]
    # a key under an innocent name: allowed, and removed from the result on the way back
    assert not s[10]["isError"] and "BEGIN OPENSSH" not in s[10]["text"]
    assert "[private key removed by warden]" in s[10]["text"] and "deploy with:" in s[10]["text"]
    with LogReader.open(db) as reader:
        records = [e.record for e in reader.entries()]
    verdicts = [(r["tool"], r["verdict"]) for r in records if r["type"] == "decision"]
    assert ("mcp__fs__read_text_file", "deny") in verdicts
    assert ("mcp__fs__write_file", "allow") in verdicts
    listing = next(r for r in records if r.get("kind") == "tools_list")
    assert listing["flagged"] == []


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_poisoned_server_with_the_official_client(
    mcp_python: str, tmp_path: Path, mode: str
) -> None:
    """The stdlib fake server: a poisoned tool, and a description that changes on re-listing.
    It answers ``server/discover``, so ``auto`` runs a stateless 2026-07-28 session."""
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    steps = [
        {"op": "list"},
        {"op": "list"},
        {"op": "call", "name": "echo", "arguments": {"text": "hi"}},
        {"op": "call", "name": "add", "arguments": {"a": 1, "b": 2, "sidenote": "x"}},
        {"op": "call", "name": "get_weather", "arguments": {"city": "Oslo"}},
    ]
    db = tmp_path / "audit.db"
    out = _drive(mcp_python, [sys.executable, str(FAKE_SERVER)], steps, home=home, db=db,
                 mode=mode)  # fmt: skip
    assert out["protocol"] == ("2026-07-28" if mode == "auto" else "2025-11-25")
    first, second = out["steps"][0]["tools"], out["steps"][1]["tools"]
    assert "add" not in first and "get_weather" in first
    assert "get_weather" not in second and "echo" in second
    assert out["steps"][2] == {"isError": False, "text": "hi"}
    for step in out["steps"][3:]:
        # the client may refuse a tool it no longer lists; if it sends the call, warden refuses
        assert step.get("isError") or "error" in step, step
        if "text" in step:
            assert "warden removed tool" in step["text"]
    with LogReader.open(db) as reader:
        records = [e.record for e in reader.entries()]
    flagged = [f for r in records if r.get("kind") == "tools_list" for f in r["flagged"]]
    assert any(f["name"] == "add" and f["poisoned"] for f in flagged)
    assert any(f["name"] == "get_weather" and f["changed"] for f in flagged)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_elicitation_and_listings_with_the_official_client(
    mcp_python: str, tmp_path: Path, mode: str
) -> None:
    """The official client with an elicitation callback (it declares form and URL mode) in
    both generations: ``legacy`` gets ``elicitation/create`` requests, ``auto`` (2026-07-28)
    gets ``input_required`` results and retries with ``inputResponses``. The user is shown the
    benign form and the HTTPS page, never the phishing form or the look-alike URL; poisoned
    resources, templates and prompts are not listed and cannot be read."""
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    steps = [
        {"op": "call", "name": "elicit", "arguments": {"kind": "benign"}},
        {"op": "call", "name": "elicit", "arguments": {"kind": "key"}},
        {"op": "call", "name": "elicit", "arguments": {"kind": "url"}},
        {"op": "call", "name": "elicit", "arguments": {"kind": "url_bad"}},
        {"op": "list_resources"},
        {"op": "list_templates"},
        {"op": "list_prompts"},
        {"op": "read", "uri": "memo://notes"},
        {"op": "get_prompt", "name": "summarize"},
        {"op": "get_prompt", "name": "review", "arguments": {"diff": "x"}},
    ]
    db = tmp_path / "audit.db"
    out = _drive(mcp_python, [sys.executable, str(FAKE_SERVER)], steps, home=home, db=db,
                 mode=mode, elicit={"branch": "main", "note": "ship it"})  # fmt: skip
    assert out["protocol"] == ("2026-07-28" if mode == "auto" else "2025-11-25")
    s = out["steps"]
    assert "elicited" in s[0]["text"] and '"branch": "main"' in s[0]["text"]
    assert "refused" in s[1]["text"] and "api_key" in s[1]["text"]
    assert s[2] == {"isError": False, "text": 'elicited: {"action": "accept"}'}
    assert "url-not-https" in s[3]["text"]
    if mode == "auto":  # a refused input_required is a tool error in its place
        assert s[1]["isError"] and s[3]["isError"]
    assert s[4] == {"resources": ["memo://insights"]}
    assert s[5] == {"templates": ["docs://{library}/{page}"]}
    assert s[6] == {"prompts": ["review"]}
    assert "warden removed resource 'memo://notes'" in s[7]["error"]
    assert "warden removed prompt 'summarize'" in s[8]["error"]
    assert s[9] == {"messages": 1}
    shown = out["elicitations"]
    assert [e.get("mode") for e in shown] == ["form", "url"]
    assert shown[1]["url"] == "https://mcp.example.com/connect?elicitationId=e-1"
    with LogReader.open(db) as reader:
        records = [e.record for e in reader.entries()]
    seen = [(r["via"], r["refused"]) for r in records if r.get("kind") == "elicitation"]
    via = "input_required" if mode == "auto" else "request"
    assert seen == [(via, False), (via, True), (via, False), (via, True)]
    answers = [r for r in records if r.get("kind") == "elicitation_answer"]
    assert [r["action"] for r in answers] == ["accept", "accept"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_completions_and_change_notifications_with_the_official_client(
    mcp_python: str, tmp_path: Path, mode: str
) -> None:
    """The official client asks for completions (a flagged suggestion is not among those it
    gets), receives the server's list_changed notifications through the proxy, and lists again
    (the rug-pulled tool is gone). In a handshake session it also subscribes to a resource:
    the update reaches it, and its re-read of a key file is refused like any read."""
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    steps: list[dict[str, Any]] = [
        {"op": "complete", "prompt": "review", "argument": "branch", "value": "poison"},
        {"op": "list"},
        {"op": "call", "name": "notify"},
        {"op": "list"},
    ]
    key_uri = f"file://{home}/.ssh/id_rsa"
    if mode == "legacy":  # resources/subscribe is gone from 2026-07-28
        steps += [{"op": "subscribe", "uri": key_uri}, {"op": "read", "uri": key_uri}]
    db = tmp_path / "audit.db"
    out = _drive(mcp_python, [sys.executable, str(FAKE_SERVER)], steps, home=home, db=db,
                 mode=mode)  # fmt: skip
    s = out["steps"]
    assert s[0] == {"values": ["poison-main", "poison-dev"], "total": 12}
    assert "get_weather" in s[1]["tools"] and "get_weather" not in s[3]["tools"]
    assert s[2]["text"] == "notified"
    notes = out["notifications"]
    assert "notifications/tools/list_changed" in notes
    if mode == "legacy":
        assert f"notifications/resources/updated {key_uri}" in notes
        assert "cred.ssh-key" in s[5]["error"] or "SSH private key" in s[5]["error"]
    with LogReader.open(db) as reader:
        records = [e.record for e in reader.entries()]
    completion = next(r for r in records if r.get("kind") == "completion")
    assert completion["flagged"] and len(completion["dropped"]) == 2
    assert {r["method"] for r in records if r.get("kind") == "notification"} >= {
        "notifications/tools/list_changed"}
