"""``warden hook cursor`` and ``warden hook copilot``: documented payloads replayed through the
real command, the answer formats, and attempts to get an allow out of a broken input.

The payloads come from the agents' documentation (``tests/assets/hooks/documented/README.md``),
not from recorded sessions: neither client can be run offline here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from warden.decision import Verdict
from warden.integrations.hooks import HookConfig, Reply, handle, protocol_for
from warden.integrations.hooks.base import EXIT_BLOCK
from warden.normalize.base import HookKind

DOCUMENTED = Path(__file__).parent.parent / "assets" / "hooks" / "documented"
AGENTS = ("cursor", "copilot")
SSH = "cat ~/.ssh/id_rsa"


def hook(agent: str, data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "warden", "hook", agent, *args], input=data,
                          capture_output=True, timeout=120, env=dict(os.environ))  # fmt: skip


def _expected(agent: str) -> dict[str, dict[str, Any]]:
    text = (DOCUMENTED / agent / "_expected.json").read_text()
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


def _cases(agent: str) -> list[str]:
    return sorted(p.stem for p in (DOCUMENTED / agent).glob("*.json") if p.stem[0] != "_")


def decision_of(agent: str, stdout: bytes) -> tuple[str, str]:
    """(decision, reason) of a blocking answer, in either agent's format."""
    out = json.loads(stdout)
    if agent == "cursor":
        assert out["user_message"] == out["agent_message"]
        return out["permission"], out["agent_message"]
    return out["permissionDecision"], out["permissionDecisionReason"]


def cursor_payload(**fields: Any) -> dict[str, Any]:
    base = {"hook_event_name": "beforeShellExecution", "conversation_id": "c1",
            "generation_id": "g1", "workspace_roots": ["/tmp"], "command": SSH, "cwd": "/tmp"}
    return {**base, **fields}  # fmt: skip


def copilot_payload(**fields: Any) -> dict[str, Any]:
    base = {"timestamp": 1704614600000, "cwd": "/tmp", "toolName": "bash",
            "toolArgs": json.dumps({"command": SSH})}  # fmt: skip
    return {**base, **fields}


PAYLOADS = {"cursor": cursor_payload, "copilot": copilot_payload}


# -- documented payloads, through the real command ----------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_every_documented_payload_has_an_expectation(agent: str) -> None:
    assert _cases(agent) and set(_cases(agent)) == set(_expected(agent))


@pytest.mark.parametrize(("agent", "name"), [(a, n) for a in AGENTS for n in _cases(a)])
def test_documented_payload(agent: str, name: str, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    run = hook(agent, (DOCUMENTED / agent / f"{name}.json").read_bytes(), "--audit-db", str(db))
    want = _expected(agent)[name]
    assert run.returncode == want["exit"], run.stderr
    assert b"Traceback" not in run.stderr
    if "answer" in want:
        assert (json.loads(run.stdout) if run.stdout.strip() else None) == want["answer"]
    else:
        decision, reason = decision_of(agent, run.stdout)
        assert decision == want["decision"]
        assert want["rule"] in reason
    from warden.record import LogReader

    with LogReader.open(db) as reader:
        assert list(reader.entries()), "every invocation is recorded"


def test_copilot_camel_case_events_are_recorded_under_their_inferred_kind(tmp_path: Path) -> None:
    from warden.record import LogReader

    db = tmp_path / "audit.db"
    kinds = {}
    for name in ("session_start", "session_end", "user_prompt_submitted", "post_tool_use"):
        run = hook("copilot", (DOCUMENTED / "copilot" / f"{name}.json").read_bytes(),
                   "--audit-db", str(db))  # fmt: skip
        assert run.returncode == 0 and run.stdout == b""
    with LogReader.open(db) as reader:
        kinds = [e.record.get("kind") for e in reader.entries()]
    assert kinds == ["session_start", "session_end", "prompt_submit", "post_tool"]


# -- answer formats -------------------------------------------------------------------------------

PRE = HookKind.PRE_TOOL


def test_cursor_allow_is_no_decision() -> None:
    answer = protocol_for("cursor").render(Reply(kind=PRE, event="beforeShellExecution",
                                                 verdict=Verdict.ALLOW))  # fmt: skip
    assert (answer.stdout, answer.exit_code) == ("{}", 0)


def test_cursor_ask_is_ask_where_documented_and_deny_elsewhere() -> None:
    cursor = protocol_for("cursor")
    ask = Reply(kind=PRE, event="beforeShellExecution", verdict=Verdict.ASK, reason="why")
    answer = cursor.render(ask)
    assert json.loads(answer.stdout)["permission"] == "ask" and answer.exit_code == 0
    # beforeReadFile takes allow/deny only: an ask there must not become an allow
    read = Reply(kind=PRE, event="beforeReadFile", verdict=Verdict.ASK, reason="why")
    answer = cursor.render(read)
    assert json.loads(answer.stdout)["permission"] == "deny" and answer.exit_code == EXIT_BLOCK
    assert "approval" in json.loads(answer.stdout)["agent_message"]


def test_cursor_kill_is_a_deny_that_tells_the_agent_to_stop() -> None:
    kill = Reply(kind=PRE, event="preToolUse", verdict=Verdict.KILL, reason="bad",
                 stop=True, stop_reason="stop")  # fmt: skip
    answer = protocol_for("cursor").render(kill)
    out = json.loads(answer.stdout)
    assert out["permission"] == "deny" and answer.exit_code == EXIT_BLOCK
    assert "stopped this session" in out["agent_message"]


def test_cursor_prompt_block_uses_continue_false() -> None:
    reply = Reply(kind=HookKind.PROMPT_SUBMIT, event="beforeSubmitPrompt", verdict=Verdict.DENY,
                  reason="no")  # fmt: skip
    answer = protocol_for("cursor").render(reply)
    assert json.loads(answer.stdout)["continue"] is False and answer.exit_code == EXIT_BLOCK


def test_cursor_post_tool_context_only_on_post_tool_use() -> None:
    cursor = protocol_for("cursor")
    reply = Reply(kind=HookKind.POST_TOOL, event="postToolUse", context="careful")
    assert json.loads(cursor.render(reply).stdout) == {"additional_context": "careful"}
    reply = Reply(kind=HookKind.POST_TOOL, event="afterShellExecution", context="careful")
    assert cursor.render(reply).stdout == "{}"


def test_copilot_answers() -> None:
    copilot = protocol_for("copilot")
    assert copilot.render(Reply(kind=PRE, verdict=Verdict.ALLOW)).stdout == ""
    ask = json.loads(copilot.render(Reply(kind=PRE, verdict=Verdict.ASK, reason="r")).stdout)
    assert ask == {"permissionDecision": "ask", "permissionDecisionReason": "r"}
    kill = copilot.render(Reply(kind=PRE, verdict=Verdict.KILL, reason="r", stop=True,
                                stop_reason="s"))  # fmt: skip
    out = json.loads(kill.stdout)
    assert out["permissionDecision"] == "deny" and "stopped this session" in (
        out["permissionDecisionReason"]
    )
    assert kill.exit_code == 0  # exit 2 is only a warning to Copilot's preToolUse
    perm = copilot.render(Reply(kind=HookKind.PERMISSION_REQUEST, verdict=Verdict.KILL,
                                reason="r", stop=True, stop_reason="s"))  # fmt: skip
    assert json.loads(perm.stdout) == {"behavior": "deny", "message": "r", "interrupt": True}


@pytest.mark.parametrize("agent", AGENTS)
def test_failure_blocks_tool_calls_in_the_agents_own_way(agent: str) -> None:
    proto = protocol_for(agent)
    for kind in (None, PRE):
        answer = proto.failure("boom", kind, None)
        decision, reason = decision_of(agent, answer.stdout.encode())
        assert decision == "deny" and "boom" in reason
        # Cursor: exit 2 blocks as well; Copilot: only the JSON blocks, so exit 0
        assert answer.exit_code == (EXIT_BLOCK if agent == "cursor" else 0)


# -- fail closed, through the real command -----------------------------------------------------

GARBAGE = {
    "empty": b"",
    "truncated": b'{"hook_event_name": "beforeShellExecution", "command": "ca',
    "not json": b"\x00\xff garbage \xfe",
    "array": b"[1, 2, 3]",
    "nan": b'{"toolName": NaN}',
    "deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
}


def assert_blocked(agent: str, run: subprocess.CompletedProcess[bytes], why: str = "") -> None:
    assert b"Traceback" not in run.stderr, run.stderr
    assert run.returncode == (EXIT_BLOCK if agent == "cursor" else 0), run.stderr
    decision, reason = decision_of(agent, run.stdout)
    assert decision == "deny"
    assert why.lower() in reason.lower()


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_input_is_blocked(agent: str, name: str, tmp_path: Path) -> None:
    assert_blocked(agent, hook(agent, GARBAGE[name], "--audit-db", str(tmp_path / "a.db")))


@pytest.mark.parametrize("agent", AGENTS)
def test_huge_input_is_blocked(agent: str, tmp_path: Path) -> None:
    data = json.dumps(PAYLOADS[agent]()).encode() + b" " * (17 * 1024 * 1024)
    assert_blocked(agent, hook(agent, data, "--audit-db", str(tmp_path / "a.db")), "larger")


@pytest.mark.parametrize("agent", AGENTS)
def test_unwritable_audit_log_blocks_a_benign_call(agent: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    if agent == "cursor":
        data = cursor_payload(command="ls")
    else:
        data = copilot_payload(toolArgs=json.dumps({"command": "ls"}))
    run = hook(agent, json.dumps(data).encode(), "--audit-db", str(tmp_path / "f" / "a.db"))
    assert_blocked(agent, run, "audit")


# -- adversarial payloads: a rogue agent trying to slip a call past the hook -------------------


@pytest.mark.parametrize(
    "payload",
    [
        # the JSON-string input of an MCP event is decoded, not judged as an opaque string
        cursor_payload(hook_event_name="preToolUse", tool_name="Shell",
                       tool_input=json.dumps({"command": SSH})),
        # a NUL byte to cut the command short is refused, not truncated
        cursor_payload(command="ls\x00; " + SSH),
        # toolArgs that are not JSON are refused, not read as "no arguments"
        copilot_payload(toolArgs='{"command": "cat ~/.ssh/id_rsa"'),
        # a string that decodes to a non-object
        copilot_payload(toolArgs='["cat ~/.ssh/id_rsa"]'),
        # typing into a running shell is a shell command
        copilot_payload(toolName="write_bash", toolArgs=json.dumps({"shellId": "1", "input": SSH})),
        # a result field on a pre-tool call does not turn it into an unjudged post-tool event
        copilot_payload(hook_event_name="PreToolUse", tool_name="bash",
                        tool_input={"command": SSH}, tool_result={"result_type": "success"}),
    ],
    ids=["cursor-json-string", "cursor-nul", "copilot-bad-json", "copilot-array-args",
         "copilot-write-bash", "copilot-result-on-pre"],
)  # fmt: skip
def test_rogue_payloads_do_not_get_an_allow(payload: dict[str, Any], tmp_path: Path) -> None:
    agent = "cursor" if "conversation_id" in payload else "copilot"
    answer = handle(json.dumps(payload).encode(), protocol_for(agent),
                    HookConfig(audit=tmp_path / "a.db"))  # fmt: skip
    decision, _ = decision_of(agent, answer.stdout.encode())
    assert decision == "deny"


def test_copilot_post_tool_shape_still_judges_when_named_pre(tmp_path: Path) -> None:
    # without an event name, a tool call plus a result field is recorded as a result; with
    # the name (what `warden install copilot` makes Copilot send), it is judged
    named = copilot_payload(hook_event_name="PreToolUse", toolResult={"resultType": "x"})
    answer = handle(json.dumps(named).encode(), protocol_for("copilot"),
                    HookConfig(audit=tmp_path / "a.db"))  # fmt: skip
    assert decision_of("copilot", answer.stdout.encode())[0] == "deny"


@pytest.mark.parametrize("agent", AGENTS)
def test_a_hook_that_hangs_blocks_at_its_deadline(agent: str, tmp_path: Path) -> None:
    """stdin left open: warden blocks by itself at its deadline. For Copilot this matters most:
    its own timeout lets the call through."""
    proc = subprocess.Popen([sys.executable, "-m", "warden", "hook", agent, "--audit-db",
                             str(tmp_path / "a.db"), "--deadline", "1.5"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(PAYLOADS[agent]()).encode()[:40])
    proc.stdin.flush()
    try:
        code = proc.wait(timeout=30)  # stdin still open
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.stdin.close()
    run = subprocess.CompletedProcess(proc.args, code, out, err)
    assert_blocked(agent, run, "no decision within 1.5 s")


def test_copilot_cannot_rewrite_its_own_hook_file(tmp_path: Path) -> None:
    payload = copilot_payload(toolName="create", toolArgs=json.dumps(
        {"path": "/home/dev/project/.github/hooks/warden.json", "file_text": "{}"}
    ))  # fmt: skip
    answer = handle(json.dumps(payload).encode(), protocol_for("copilot"),
                    HookConfig(audit=tmp_path / "a.db"))  # fmt: skip
    assert answer.stdout and decision_of("copilot", answer.stdout.encode())[0] == "deny"


def test_cursor_cannot_rewrite_its_own_hook_file(tmp_path: Path) -> None:
    payload = cursor_payload(hook_event_name="preToolUse", tool_name="Write",
                             tool_input={"file_path": "/home/dev/project/.cursor/hooks.json",
                                         "contents": "{}"})  # fmt: skip
    answer = handle(json.dumps(payload).encode(), protocol_for("cursor"),
                    HookConfig(audit=tmp_path / "a.db"))  # fmt: skip
    decision, reason = decision_of("cursor", answer.stdout.encode())
    assert decision == "deny" and "oversight.agent-settings" in reason
