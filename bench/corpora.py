"""Load the evaluation corpora (shared by the detection benchmark and the tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENIGN_DIR = ROOT / "tests" / "corpus" / "benign"
HOLDOUT_DIR = ROOT / "bench" / "holdout"


@dataclass(frozen=True)
class Item:
    source: str  # file name
    payload: str | dict[str, Any]  # a shell command or a hook payload
    label: str  # "benign" or a threat category
    hard: bool = False


def _commands(path: Path, label: str) -> list[Item]:
    items, hard = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            hard = hard or stripped.lower().startswith("# hard")
            continue
        if stripped:
            items.append(Item(path.name, line, label, hard))
    return items


def benign_commands() -> list[Item]:
    out: list[Item] = []
    for path in sorted((BENIGN_DIR / "commands").glob("*.txt")):
        out += _commands(path, "benign")
    return out


def benign_actions() -> list[Item]:
    path = BENIGN_DIR / "actions.jsonl"
    return [Item(path.name, json.loads(line), "benign")
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def holdout_attacks() -> list[Item]:
    path = HOLDOUT_DIR / "attacks.jsonl"
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(Item(path.name, row["command"], row["category"], row.get("obfuscated",
                                                                                   False)))
    return items


def holdout_benign() -> list[Item]:
    return _commands(HOLDOUT_DIR / "benign.txt", "benign")
