"""Replay every recorded hook payload in tests/assets/hooks/<agent>/ through the normaliser.

Each agent directory holds realistic payloads (built from the documented shapes cited in the
adapter modules) and ``_expected.json``: for each payload, the hook kind and the fields the
action, prompt or tool response must have. A payload without an expectation fails the suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from warden.action import Action
from warden.normalize import Source, detect_source, hook_event, normalize, parse_hook

ASSETS = Path(__file__).parents[2] / "assets" / "hooks"
AGENTS = {"claude_code": Source.CLAUDE_CODE, "codex": Source.CODEX, "gemini": Source.GEMINI}


def _cases() -> list[Any]:
    cases = []
    for agent in AGENTS:
        expected = json.loads((ASSETS / agent / "_expected.json").read_text())
        for path in sorted((ASSETS / agent).glob("*.json")):
            if path.name.startswith("_"):
                continue
            cases.append(
                pytest.param(agent, path, expected.get(path.stem), id=f"{agent}/{path.stem}")
            )
    return cases


CASES = _cases()


def _assert_subset(action: Action, expected: dict[str, Any]) -> None:
    got = action.to_dict()
    for key, want in expected.items():
        if key == "changes":
            assert len(got["changes"]) == len(want)
            for change, want_change in zip(got["changes"], want, strict=True):
                for ckey, cwant in want_change.items():
                    assert change.get(ckey) == cwant, (ckey, change)
        elif key == "time":
            assert got["time"] == pytest.approx(want)
        else:
            assert got.get(key) == want, key


def test_every_agent_has_fixtures() -> None:
    for agent in AGENTS:
        assert len(list((ASSETS / agent).glob("[!_]*.json"))) >= 10


@pytest.mark.parametrize(("agent", "path", "expected"), CASES)
def test_replay(agent: str, path: Path, expected: dict[str, Any] | None) -> None:
    assert expected is not None, f"{path.name} has no entry in _expected.json"
    payload = json.loads(path.read_text())

    assert detect_source(payload) is AGENTS[agent]
    event = parse_hook(payload)
    assert event.kind.value == expected["hook"]
    assert event.source is AGENTS[agent]
    assert parse_hook(payload, agent) == event  # explicit source agrees with detection
    if "hook_event_name" in payload:
        assert hook_event(payload) == expected["hook"]
        assert event.event == payload["hook_event_name"]
        assert event.session_id == payload.get("session_id")
        assert event.cwd == payload.get("cwd")
    else:
        assert hook_event(payload) is None

    if "action" in expected:
        assert event.action is not None
        _assert_subset(event.action, expected["action"])
        assert event.action.source == agent
        # normalize() gives the same action, and the action survives a JSON round trip.
        assert normalize(payload) == event.action
        assert Action.from_json(json.dumps(event.action.to_dict())) == event.action
        # nothing the agent sent is dropped
        raw_input = payload.get("tool_input", payload.get("input"))
        assert event.action.input == raw_input
    else:
        assert event.action is None
        with pytest.raises(Exception, match="carries no tool call"):
            normalize(payload)
    assert event.prompt == expected.get("prompt")
    assert event.tool_response == expected.get("tool_response")
