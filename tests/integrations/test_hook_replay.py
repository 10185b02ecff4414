"""Replay the hook payloads recorded from the real agents through warden's hook handler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from warden.integrations.hooks import HookConfig, handle, protocol_for

RECORDED = Path(__file__).parent.parent / "assets" / "hooks" / "recorded"
AGENTS = ("claude-code", "codex", "gemini")


def _expected(agent: str) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(
        (RECORDED / agent / "_expected.json").read_text()
    )
    return data


def _cases(agent: str) -> list[str]:
    return sorted(p.stem for p in (RECORDED / agent).glob("*.json") if not p.stem.startswith("_"))


CASES = [(agent, name) for agent in AGENTS for name in _cases(agent)]


@pytest.mark.parametrize("agent", AGENTS)
def test_every_recording_has_an_expectation(agent: str) -> None:
    assert _cases(agent) and set(_cases(agent)) == set(_expected(agent))


@pytest.mark.parametrize(("agent", "name"), CASES)
def test_recorded_payload(agent: str, name: str, tmp_path: Path) -> None:
    raw = (RECORDED / agent / f"{name}.json").read_bytes()
    answer = handle(raw, protocol_for(agent), HookConfig(audit=tmp_path / "a.db"))
    assert answer.exit_code == 0, answer.stderr
    assert answer.stderr == ""
    want = _expected(agent)[name]
    if "answer" in want:
        assert (json.loads(answer.stdout) if answer.stdout else None) == want["answer"]
        return
    out = json.loads(answer.stdout)
    if "context" in want:
        assert want["context"] in out["hookSpecificOutput"]["additionalContext"]
    if "decision" in want:
        if agent == "gemini":
            decision, reason = out["decision"], out["reason"]
        else:
            spec = out["hookSpecificOutput"]
            assert spec["hookEventName"] == "PreToolUse"
            decision, reason = spec["permissionDecision"], spec["permissionDecisionReason"]
        assert decision == want["decision"]
        assert str(want["rule"]) in reason
        assert (out.get("continue") is False) is want["stop"]
        assert bool(out.get("stopReason")) is want["stop"]


@pytest.mark.parametrize("agent", AGENTS)
def test_recorded_session_through_the_cli_is_recorded(agent: str, tmp_path: Path) -> None:
    """The whole recorded session, one process per payload as the agent runs it."""
    db = tmp_path / "audit.db"
    for name in _cases(agent):
        run = subprocess.run(
            [sys.executable, "-m", "warden", "hook", agent, "--audit-db", str(db)],
            input=(RECORDED / agent / f"{name}.json").read_bytes(), capture_output=True,
            timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, (name, run.stderr)
        if run.stdout.strip():
            json.loads(run.stdout)
    from warden.record import LogReader

    with LogReader.open(db) as reader:
        records = [e.record for e in reader.entries()]
    kinds = [r.get("event") or r["verdict"] for r in records]
    assert kinds.count("kill") == 1 and kinds.count("deny") == 1
    assert "SessionStart" in kinds
    assert {"UserPromptSubmit", "BeforeAgent"} & set(kinds)
    assert {"PostToolUse", "AfterTool"} & set(kinds)
    assert len(records) == len(_cases(agent))
