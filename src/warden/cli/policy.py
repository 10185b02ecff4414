"""``warden policy``: validate policy files and show the effective, merged policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from warden.cli.groups import CommandGroup

__all__ = ["register"]

EPILOG = """\
layers (weakest first): built-in < ~/.config/warden/policy.toml < <workspace>/.warden/policy.toml
< --policy files. A project policy may only tighten unless your own policy sets
trust_project = true; see docs/policy.md.

examples:
  warden policy validate my-policy.toml      exit 0 when valid, else every problem with file:line
  warden policy show                         the effective policy for the current directory
  warden policy show --workspace ~/proj --json
"""


def register(sub: Any, summary: str) -> None:
    group = CommandGroup(sub, "policy", summary, description="Validate and show policies.",
                         epilog=EPILOG)  # fmt: skip
    group.verb("validate", "check policy files (and the packs they name)", run).add_argument(
        "files", nargs="+", type=Path)  # fmt: skip
    show = group.verb("show", "the effective policy after layering", run)
    show.add_argument("--workspace", "-w", default=None)
    show.add_argument("--policy", "-p", action="append", default=[], type=Path)
    show.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from warden.check.policy.load import Layer, builtin_policy_path, default_layers, load_policy

    if args.verb == "validate":
        from warden.check.engine import Engine
        from warden.check.rules.load import load_packs

        for file in args.files:
            if not file.is_file():
                from warden.errors import InputError

                raise InputError(f"{file}: no such file")
        layers = [Layer(builtin_policy_path(), "builtin")]
        layers += [Layer(f, "explicit") for f in args.files]
        policy = load_policy(layers)
        Engine(policy, load_packs(list(policy.extra_packs)))
        for file in args.files:
            print(f"{file}: ok")
        return 0
    import os

    workspace = args.workspace or os.getcwd()
    policy = load_policy(default_layers(workspace, args.policy))
    data = {
        "name": policy.name, "digest": policy.digest, "sources": list(policy.sources),
        "default": str(policy.default), "on_error": str(policy.on_error),
        "workspace": policy.workspace or workspace,
        "paths": {"write_allow": list(policy.write_allow), "write_outside":
                  str(policy.write_outside), "read_deny": list(policy.read_deny),
                  "trusted_read": list(policy.trusted_read)},
        "network": {"allow": list(policy.net_allow), "deny": list(policy.net_deny),
                    "egress": list(policy.egress)},
        "contain": {"read": list(policy.contain.read), "write": list(policy.contain.write),
                    "hide": list(policy.contain.hide), "protect": list(policy.contain.protect),
                    "unix_sockets": policy.contain.unix_sockets,
                    "memory": policy.contain.memory, "pids": policy.contain.pids,
                    "cpu_seconds": policy.contain.cpu_seconds},
        "commands": {"deny": list(policy.cmd_deny), "ask": list(policy.cmd_ask)},
        "verdicts": {k: str(v) for k, v in policy.verdicts.items()},
        "rules": {k: str(v) for k, v in policy.rule_verdicts.items()},
        "rules_enabled": dict(policy.rule_enabled),
        "tools": {"trusted": sorted(policy.trusted_tools), "unknown": str(policy.unknown_tool)},
        "packs": {"extra": [str(p) for p in policy.extra_packs], "disable": list(policy.disabled)},
        "mcp": {"elicitation_secrets": str(policy.mcp_elicitation_secrets)},
        "ignored": list(policy.ignored),
    }  # fmt: skip
    if args.json:
        import json

        print(json.dumps(data, indent=2))
        return 0
    for key, value in data.items():
        print(f"{key}: {value}")
    for note in policy.ignored:
        print(f"warning: {note}", file=sys.stderr)
    return 0
