"""Each agent's rendering of warden's replies, against the documented formats."""

from __future__ import annotations

import json

import pytest

from warden.decision import Verdict
from warden.integrations.hooks import PROTOCOLS, Reply, protocol_for
from warden.integrations.hooks.base import EXIT_BLOCK, HookError
from warden.normalize.base import HookKind

PRE = HookKind.PRE_TOOL
PERM = HookKind.PERMISSION_REQUEST
POST = HookKind.POST_TOOL


def _reply(kind: HookKind, verdict: Verdict | None, **kw: object) -> Reply:
    reason = "warden blocked: because (rule x.y)." if verdict and verdict >= Verdict.ASK else ""
    stop = verdict is Verdict.KILL
    return Reply(kind=kind, verdict=verdict, reason=reason, stop=stop,
                 stop_reason="warden stopped the session: because" if stop else "",
                 **kw)  # type: ignore[arg-type]


def _out(agent: str, reply: Reply) -> dict[str, object] | None:
    answer = protocol_for(agent).render(reply)
    assert answer.exit_code == 0 and answer.stderr == ""
    return json.loads(answer.stdout) if answer.stdout else None


def test_reply_invariants() -> None:
    with pytest.raises(ValueError):
        Reply(kind=PRE, verdict=Verdict.DENY)
    with pytest.raises(ValueError):
        Reply(kind=PRE, verdict=Verdict.KILL, reason="x", stop=True)


def test_protocol_names() -> None:
    assert set(PROTOCOLS) == {"claude-code", "codex", "gemini", "cursor", "copilot"}
    assert protocol_for("claude") is PROTOCOLS["claude-code"]
    with pytest.raises(HookError):
        protocol_for("windsurf")


@pytest.mark.parametrize("agent", ["claude-code", "gemini"])
def test_allow_is_no_decision_json(agent: str) -> None:
    assert _out(agent, _reply(PRE, Verdict.ALLOW)) == {}


def test_codex_allow_is_empty_output() -> None:
    # Codex calls permissionDecision "allow" without updatedInput unsupported (a failed hook)
    assert _out("codex", _reply(PRE, Verdict.ALLOW)) is None


def test_claude_code_pre_tool() -> None:
    deny = _out("claude-code", _reply(PRE, Verdict.DENY))
    assert deny == {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "permissionDecision": "deny",
                                           "permissionDecisionReason":
                                               "warden blocked: because (rule x.y)."}}
    ask = _out("claude-code", _reply(PRE, Verdict.ASK))
    assert ask["hookSpecificOutput"]["permissionDecision"] == "ask"  # type: ignore[index]
    kill = _out("claude-code", _reply(PRE, Verdict.KILL))
    assert kill["continue"] is False and "stopped" in kill["stopReason"]  # type: ignore[index]
    assert kill["hookSpecificOutput"]["permissionDecision"] == "deny"  # type: ignore[index]


def test_claude_code_permission_request() -> None:
    assert _out("claude-code", _reply(PERM, Verdict.ALLOW, event="PermissionRequest")) == {}
    assert _out("claude-code", _reply(PERM, Verdict.ASK, event="PermissionRequest")) == {}
    deny = _out("claude-code", _reply(PERM, Verdict.DENY, event="PermissionRequest"))
    assert deny["hookSpecificOutput"]["decision"] == {  # type: ignore[index]
        "behavior": "deny", "message": "warden blocked: because (rule x.y)."}
    kill = _out("claude-code", _reply(PERM, Verdict.KILL, event="PermissionRequest"))
    assert kill["hookSpecificOutput"]["decision"]["interrupt"] is True  # type: ignore[index]


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini"])
def test_post_tool_context(agent: str) -> None:
    out = _out(agent, Reply(kind=POST, context="careful"))
    assert out["hookSpecificOutput"]["additionalContext"] == "careful"  # type: ignore[index]


def test_codex_never_sends_unsupported_fields() -> None:
    """Codex fails open on continue/stopReason/ask at PreToolUse: warden must not send them."""
    for verdict in (Verdict.ASK, Verdict.DENY, Verdict.KILL):
        out = _out("codex", _reply(PRE, verdict))
        assert set(out) == {"hookSpecificOutput"}  # type: ignore[arg-type]
        spec = out["hookSpecificOutput"]  # type: ignore[index]
        assert spec["permissionDecision"] == "deny" and spec["permissionDecisionReason"]
    assert "approval" in _out("codex", _reply(PRE, Verdict.ASK))[  # type: ignore[index]
        "hookSpecificOutput"]["permissionDecisionReason"]
    perm = _out("codex", _reply(PERM, Verdict.KILL, event="PermissionRequest"))
    assert perm["hookSpecificOutput"]["decision"]["behavior"] == "deny"  # type: ignore[index]
    assert "interrupt" not in perm["hookSpecificOutput"]["decision"]  # type: ignore[index]


def test_gemini_before_tool() -> None:
    deny = _out("gemini", _reply(PRE, Verdict.DENY, event="BeforeTool"))
    assert deny == {"decision": "deny", "reason": "warden blocked: because (rule x.y)."}
    ask = _out("gemini", _reply(PRE, Verdict.ASK, event="BeforeTool"))
    assert ask["decision"] == "deny" and "approval" in ask["reason"]  # type: ignore[index]
    kill = _out("gemini", _reply(PRE, Verdict.KILL, event="BeforeTool"))
    assert kill["continue"] is False and kill["decision"] == "deny"  # type: ignore[index]


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini"])
@pytest.mark.parametrize("kind", [None, PRE, PERM, HookKind.PROMPT_SUBMIT])
def test_failure_blocks_with_exit_2(agent: str, kind: HookKind | None) -> None:
    answer = protocol_for(agent).failure("the audit log is gone", kind, None)
    assert answer.exit_code == EXIT_BLOCK
    assert "the audit log is gone" in answer.stderr and answer.stdout == ""


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini"])
@pytest.mark.parametrize("kind", [HookKind.STOP, HookKind.SESSION_END, POST])
def test_failure_on_events_that_cannot_block_warns(agent: str, kind: HookKind) -> None:
    # exit 2 on Stop means "keep going" to Claude Code: a failure there must not loop the agent
    answer = protocol_for(agent).failure("x", kind, None)
    assert answer.exit_code == 0 and "x" in json.loads(answer.stdout)["systemMessage"]


def test_reasons_are_clipped() -> None:
    reply = Reply(kind=PRE, verdict=Verdict.DENY, reason="r" * 100_000)
    for agent in PROTOCOLS:
        assert len(protocol_for(agent).render(reply).stdout) < 3000
