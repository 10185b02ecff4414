"""Try to get an allow, a traceback or a non-blocking exit out of ``warden hook``.

Every case runs the real command in a process, as the agent does, and checks the agent-visible
result: the exit code (2 is the block all three agents honour; anything else but 0 is a
"non-blocking error" to them), stdout (only the agent's JSON) and stderr (a reason, never a
traceback).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

AGENTS = ("claude-code", "codex", "gemini")

PAYLOADS = {
    "claude-code": {"session_id": "s1", "cwd": "/tmp", "hook_event_name": "PreToolUse",
                    "tool_name": "Bash", "tool_use_id": "toolu_1",
                    "tool_input": {"command": "cat ~/.ssh/id_rsa"}},
    "codex": {"session_id": "s1", "turn_id": "t1", "cwd": "/tmp", "model": "gpt-5",
              "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "c1",
              "tool_input": {"command": "cat ~/.ssh/id_rsa"}},
    "gemini": {"session_id": "s1", "cwd": "/tmp", "hook_event_name": "BeforeTool",
               "timestamp": "2026-11-21T08:00:00Z", "tool_name": "run_shell_command",
               "tool_input": {"command": "cat ~/.ssh/id_rsa"}},
}
BENIGN = {"claude-code": "ls -la", "codex": "ls -la", "gemini": "ls -la"}


def hook(agent: str, data: bytes, *args: str, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "warden", "hook", agent, *args], input=data,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def assert_blocked(run: subprocess.CompletedProcess[bytes], *needles: str) -> None:
    err = run.stderr.decode()
    assert run.returncode == 2, (run.returncode, run.stdout, err)
    assert run.stdout.strip() == b""
    assert "Traceback" not in err and err.strip()
    for needle in needles:
        assert needle in err, err


def payload(agent: str, **changes: object) -> bytes:
    return json.dumps({**PAYLOADS[agent], **changes}).encode()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "audit.db")


@pytest.mark.parametrize("agent", AGENTS)
def test_decisions_in_each_format(agent: str, db: str) -> None:
    run = hook(agent, payload(agent), "--audit-db", db)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    text = json.dumps(out)
    assert "cred.ssh-key" in text
    if agent == "gemini":
        assert out["decision"] == "deny"
    else:
        assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    benign = payload(agent, tool_input={"command": BENIGN[agent]})
    run = hook(agent, benign, "--audit-db", db)
    assert run.returncode == 0 and run.stdout.strip() in (b"", b"{}"), run.stdout


BAD_INPUT = {
    "truncated": lambda a: payload(a)[:-7],
    "not-an-object": lambda a: b"[1, 2, 3]",
    "empty": lambda a: b"",
    "whitespace": lambda a: b" \n\t ",
    "invalid-utf8": lambda a: payload(a).replace(b"cat", b"c\xff\xfet"),
    "tool-input-not-object": lambda a: payload(a, tool_input="cat ~/.ssh/id_rsa"),
    "event-not-string": lambda a: payload(a, hook_event_name=7),
    "no-tool-name": lambda a: json.dumps({k: v for k, v in PAYLOADS[a].items()
                                          if k != "tool_name"}).encode(),
    "deep-nesting": lambda a: b'{"hook_event_name":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nul-in-command": lambda a: payload(a, tool_input={"command": "cat ~/.ssh/id_rsa\x00"}),
}


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_blocked(agent: str, case: str, db: str) -> None:
    run = hook(agent, BAD_INPUT[case](agent), "--audit-db", db)
    if case == "nul-in-command" and run.returncode == 0:
        # understood despite the NUL: it must then still be the key read's deny
        assert b"cred.ssh-key" in run.stdout
        return
    assert_blocked(run, "warden")


@pytest.mark.parametrize("agent", AGENTS)
def test_huge_payload_is_blocked_quickly(agent: str, db: str) -> None:
    big = payload(agent, tool_input={"command": "echo " + "A" * (50 * 1024 * 1024)})
    run = hook(agent, big, "--audit-db", db, timeout=60)
    assert_blocked(run, "larger than")


def test_policy_that_does_not_parse(tmp_path: Path, db: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[paths\nread_deny = 3\n")
    for agent in AGENTS:
        assert_blocked(hook(agent, payload(agent), "--audit-db", db, "--policy", str(bad)),
                       "policy")
        benign = payload(agent, tool_input={"command": "ls"})
        assert_blocked(hook(agent, benign, "--audit-db", db, "--policy", str(bad)), "policy")


def test_missing_policy_file(tmp_path: Path, db: str) -> None:
    for agent in AGENTS:
        run = hook(agent, payload(agent, tool_input={"command": "ls"}), "--audit-db", db,
                   "--policy", str(tmp_path / "nope.toml"))
        assert_blocked(run)


def _broken_stores(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "dir.db").mkdir()
    (tmp_path / "garbage.db").write_bytes(os.urandom(4096))
    (tmp_path / "file").write_text("x")
    return {"directory": str(tmp_path / "dir.db"), "garbage": str(tmp_path / "garbage.db"),
            "under-a-file": str(tmp_path / "file" / "audit.db")}


@pytest.mark.parametrize("agent", AGENTS)
def test_unusable_audit_log_blocks_even_benign_calls(agent: str, tmp_path: Path) -> None:
    for name, store in _broken_stores(tmp_path).items():
        benign = payload(agent, tool_input={"command": "ls"})
        run = hook(agent, benign, "--audit-db", store)
        assert_blocked(run, "audit")
        assert name  # (for the failure message)


def test_tampered_audit_log_blocks(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    agent = "claude-code"
    benign = payload(agent, tool_input={"command": "ls"})
    assert hook(agent, benign, "--audit-db", str(db)).returncode == 0
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if "entr" in t or "leaf" in t)
        con.execute(f"delete from {table}")
    assert_blocked(hook(agent, benign, "--audit-db", str(db)), "audit")


@pytest.mark.parametrize("agent", AGENTS)
def test_prompt_is_blocked_when_it_cannot_be_recorded(agent: str, tmp_path: Path) -> None:
    event = {"claude-code": "UserPromptSubmit", "codex": "UserPromptSubmit",
             "gemini": "BeforeAgent"}[agent]
    data = payload(agent, hook_event_name=event, prompt="fix the build")
    (tmp_path / "a-file").write_text("x")
    assert_blocked(hook(agent, data, "--audit-db", str(tmp_path / "a-file" / "audit.db")),
                   "audit")


def test_stop_event_with_broken_log_warns_instead_of_looping(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    data = json.dumps({"session_id": "s", "hook_event_name": "Stop", "cwd": "/tmp",
                       "stop_hook_active": False}).encode()
    run = hook("claude-code", data, "--audit-db", str(tmp_path / "f" / "a.db"))
    assert run.returncode == 0
    assert "audit" in json.loads(run.stdout)["systemMessage"]


@pytest.mark.parametrize("agent", AGENTS)
def test_unknown_event_is_recorded_and_neutral(agent: str, db: str) -> None:
    data = json.dumps({"session_id": "s", "cwd": "/tmp", "hook_event_name": "FutureEvent",
                       "detail": {"x": 1}}).encode()
    run = hook(agent, data, "--audit-db", db)
    assert run.returncode == 0 and run.stderr == b""
    assert run.stdout.strip() in (b"", b"{}")
    from warden.record import LogReader

    with LogReader.open(Path(db)) as reader:
        assert [e.record["event"] for e in reader.entries()] == ["FutureEvent"]


@pytest.mark.parametrize("agent", AGENTS)
def test_unknown_event_carrying_a_dangerous_tool_call_is_blocked(agent: str, db: str) -> None:
    run = hook(agent, payload(agent, hook_event_name="PreToolUseV2"), "--audit-db", db)
    assert_blocked(run, "cred.ssh-key")


def test_unknown_tool_follows_the_policy(tmp_path: Path, db: str) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text('[tools]\nunknown = "deny"\n')
    data = payload("claude-code", tool_name="FrobnicateTool", tool_input={"x": 1})
    run = hook("claude-code", data, "--audit-db", db, "--policy", str(strict))
    out = json.loads(run.stdout)
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "FrobnicateTool" in out["hookSpecificOutput"]["permissionDecisionReason"]


def test_secrets_and_environment_never_reach_the_log(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    token = "ghp_" + "Zq8Xw3Lm9Tn2Rv7Ks4Hb6Yc1Jd5Fg0Pa8Ue3"
    api_key = "AIzaSyD-planted-gemini-key-0123456789abc"
    env = {"GEMINI_API_KEY": api_key}
    prompt = {"session_id": "s", "cwd": "/tmp", "hook_event_name": "BeforeAgent",
              "timestamp": "2026-11-21T08:00:00Z", "prompt": f"use token {token} to push"}
    assert hook("gemini", json.dumps(prompt).encode(), "--audit-db", str(db),
                env=env).returncode == 0
    after = {"session_id": "s", "cwd": "/tmp", "hook_event_name": "AfterTool",
             "timestamp": "2026-11-21T08:00:00Z", "tool_name": "run_shell_command",
             "tool_input": {"command": "cat .env"},
             "tool_response": {"llmContent": f"GITHUB_TOKEN={token}\n"}}
    run = hook("gemini", json.dumps(after).encode(), "--audit-db", str(db), env=env)
    assert "secret material" in json.loads(run.stdout)["hookSpecificOutput"]["additionalContext"]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert token.encode() not in raw and api_key.encode() not in raw
    assert b"github-token" in raw or b"ghp_" in raw  # the redacted form is kept


def test_no_audit_still_decides(tmp_path: Path) -> None:
    run = hook("claude-code", payload("claude-code"), "--no-audit")
    assert json.loads(run.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("agent", AGENTS)
def test_a_hook_that_hangs_blocks_before_the_agent_gives_up(agent: str, db: str) -> None:
    """stdin left open (a stuck writer): warden answers a block at its deadline by itself,
    before the agent's own timeout, which for Codex and Gemini CLI would let the call run."""
    proc = subprocess.Popen([sys.executable, "-m", "warden", "hook", agent, "--audit-db", db,
                             "--deadline", "1.5"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(payload(agent)[:40])
    proc.stdin.flush()
    try:
        code = proc.wait(timeout=30)  # stdin still open
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.stdin.close()
    run = subprocess.CompletedProcess(proc.args, code, out, err)
    assert_blocked(run, "no decision within 1.5 s")
