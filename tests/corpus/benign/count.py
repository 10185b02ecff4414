#!/usr/bin/env python3
"""Count and sanity-check the benign corpus (stdlib only).

Usage: python3 tests/corpus/benign/count.py

Prints the number of commands per commands/*.txt file and the number of tool
calls per tool in actions.jsonl, then checks that:
  * no command appears twice (within a file or across files),
  * no command line contains a raw control character other than tab,
  * every actions.jsonl line parses as a JSON object with a string
    "tool_name" and an object "tool_input" (and hook_event_name PreToolUse),
  * no action appears twice,
  * the minimum sizes (2,600 commands, 300 actions) are met.
Exits with status 1 if any check fails.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMANDS_DIR = HERE / "commands"
ACTIONS = HERE / "actions.jsonl"
MIN_COMMANDS = 2600
MIN_ACTIONS = 300


def iter_commands(path: Path):
    """Yield (line_number, command) for non-blank, non-comment lines."""
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            yield lineno, line


def main() -> int:
    problems: list[str] = []

    # ---- commands
    seen: dict[str, str] = {}
    per_file: dict[str, int] = {}
    for path in sorted(COMMANDS_DIR.glob("*.txt")):
        n = 0
        for lineno, cmd in iter_commands(path):
            n += 1
            where = f"{path.name}:{lineno}"
            if any(ord(c) < 32 and c != "\t" for c in cmd):
                problems.append(f"{where}: control character in command")
            if cmd != cmd.strip():
                problems.append(f"{where}: leading/trailing whitespace")
            key = " ".join(cmd.split())
            if key in seen:
                problems.append(f"{where}: duplicate of {seen[key]}: {cmd}")
            else:
                seen[key] = where
        per_file[path.name] = n

    total_cmds = sum(per_file.values())
    width = max((len(k) for k in per_file), default=10)
    print("commands/")
    for name, n in per_file.items():
        print(f"  {name:<{width}}  {n:5d}")
    print(f"  {'TOTAL':<{width}}  {total_cmds:5d}")
    if total_cmds < MIN_COMMANDS:
        problems.append(f"only {total_cmds} commands (< {MIN_COMMANDS})")

    # ---- actions
    tools: Counter[str] = Counter()
    seen_actions: dict[str, int] = {}
    n_actions = 0
    if not ACTIONS.exists():
        problems.append("actions.jsonl missing")
    else:
        with ACTIONS.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                n_actions += 1
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    problems.append(f"actions.jsonl:{lineno}: invalid JSON ({exc})")
                    continue
                if not isinstance(obj, dict):
                    problems.append(f"actions.jsonl:{lineno}: not a JSON object")
                    continue
                name = obj.get("tool_name")
                if not isinstance(name, str) or not name:
                    problems.append(f"actions.jsonl:{lineno}: missing tool_name")
                if not isinstance(obj.get("tool_input"), dict):
                    problems.append(f"actions.jsonl:{lineno}: missing/invalid tool_input")
                if obj.get("hook_event_name") != "PreToolUse":
                    problems.append(f"actions.jsonl:{lineno}: hook_event_name is not PreToolUse")
                key = json.dumps([name, obj.get("tool_input")], sort_keys=True)
                if key in seen_actions:
                    first = seen_actions[key]
                    problems.append(f"actions.jsonl:{lineno}: duplicate of line {first}")
                else:
                    seen_actions[key] = lineno
                tools[str(name)] += 1

    print("actions.jsonl")
    for name, n in sorted(tools.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {name:<{width}}  {n:5d}")
    print(f"  {'TOTAL':<{width}}  {n_actions:5d}")
    if n_actions < MIN_ACTIONS:
        problems.append(f"only {n_actions} actions (< {MIN_ACTIONS})")

    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("\nOK: no duplicates, all actions valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
