"""``warden schema``: print the JSON Schema of actions, decisions, policies or rules."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser("schema", help=summary, description="JSON Schemas (draft 2020-12) of "
                       "warden's data formats.", epilog="example:\n  warden schema action > "
                       "action.schema.json", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", choices=["action", "decision", "policy", "rule"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.which == "action":
        from warden.action import action_json_schema as make
    elif args.which == "decision":
        from warden.decision import decision_json_schema as make
    elif args.which == "policy":
        from warden.check.policy.model import policy_json_schema as make
    else:
        from warden.check.rules.model import pack_json_schema as make
    print(json.dumps(make(), indent=2, sort_keys=True))
    return 0
