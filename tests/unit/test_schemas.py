"""The shipped JSON Schemas match the models, and real documents validate against them."""

import json
from pathlib import Path

import jsonschema
import pytest

from warden.action import Action, ActionKind, action_json_schema
from warden.check.policy.model import policy_json_schema
from warden.check.rules.model import pack_json_schema
from warden.decision import decision_json_schema

from .check.conftest import example_engine

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
MAKERS = {"action": action_json_schema, "decision": decision_json_schema,
          "policy": policy_json_schema, "rule": pack_json_schema}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_shipped_schema_is_current(name: str) -> None:
    shipped = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    current = json.loads(json.dumps(MAKERS[name]()))
    assert shipped == current, f"run: warden schema {name} > schemas/{name}.schema.json"


def test_actions_and_decisions_validate() -> None:
    action = Action(kind=ActionKind.SHELL, tool="Bash", command="cat ~/.ssh/id_rsa")
    jsonschema.validate(json.loads(json.dumps(action.to_dict())), action_json_schema())
    decision = example_engine().check(action)
    jsonschema.validate(json.loads(json.dumps(decision.to_dict())), decision_json_schema())
