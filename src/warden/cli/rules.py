"""``warden rules``: list, show and lint the threat rule packs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from warden.cli.groups import CommandGroup

__all__ = ["register"]

EPILOG = """\
examples:
  warden rules list                          every rule, one line each
  warden rules list --category exfiltration  one category
  warden rules show exec.remote-pipe-shell   a rule with its examples
  warden rules lint --pack my-rules.toml     run every rule's examples (built-in and yours)
"""


def register(sub: Any, summary: str) -> None:
    group = CommandGroup(sub, "rules", summary, description="The threat rule packs: data files "
                         "of rules over facts.", epilog=EPILOG)  # fmt: skip
    group.parser.add_argument("--pack", action="append", default=[], metavar="FILE", type=Path,
                              help="also load this pack (repeatable)")  # fmt: skip
    ls = group.verb("list", "one line per rule", run)
    ls.add_argument("--category", help="only this category")
    ls.add_argument("--json", action="store_true")
    group.verb("show", "one rule in full", run).add_argument("id")
    group.verb("lint", "check that every rule matches its examples and not its counter-examples",
               run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from warden.check.rules.load import load_packs

    rules = load_packs(list(args.pack))
    if args.verb == "list":
        chosen = [r for r in rules if not args.category or r.spec.category == args.category]
        if args.json:
            import msgspec

            for r in chosen:
                print(msgspec.json.encode({"id": r.spec.id, "category": r.spec.category,
                                           "verdict": r.spec.verdict, "severity": r.spec.severity,
                                           "technique": r.spec.technique,
                                           "reason": r.spec.reason, "source": r.source}).decode())
            return 0
        width = max((len(r.spec.id) for r in chosen), default=10)
        for r in chosen:
            s = r.spec
            tech = s.technique if isinstance(s.technique, str) else ",".join(s.technique)
            print(f"{s.id:<{width}}  {s.verdict:<5}  {s.severity:<8}  {tech:<18}  {s.reason}")
        print(f"{len(chosen)} rules", file=sys.stderr)
        return 0
    if args.verb == "show":
        for r in rules:
            if r.spec.id == args.id:
                _show(r)
                return 0
        from warden.errors import InputError

        raise InputError(f"no rule {args.id!r} (see `warden rules list`)")
    from warden.check.engine import Engine
    from warden.check.policy.load import Layer, builtin_policy_path, load_policy
    from warden.check.rules.lint import EXAMPLE_HOME, lint

    engine = Engine(load_policy([Layer(builtin_policy_path(), "builtin")]), rules,
                    home=EXAMPLE_HOME)  # fmt: skip
    problems = lint(engine, rules)
    for problem in problems:
        print(problem)
    examples = sum(len(r.spec.examples.match) + len(r.spec.examples.no_match) for r in rules)
    print(f"{len(rules)} rules, {examples} examples, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


def _show(r: Any) -> None:
    s = r.spec
    print(f"{s.id}  ({r.source})")
    print(f"  category:  {s.category}")
    print(f"  technique: {s.technique}")
    print(f"  verdict:   {s.verdict}   severity: {s.severity}")
    print(f"  reason:    {s.reason}")
    print(f"  {s.description}")
    if s.advice:
        print(f"  advice:    {s.advice}")
    if s.requires:
        print(f"  requires:  {', '.join(s.requires)}")
    for ex in s.examples.match:
        print(f"  matches:      {ex}")
    for ex in s.examples.no_match:
        print(f"  does not:     {ex}")
