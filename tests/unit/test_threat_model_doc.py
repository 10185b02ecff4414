"""docs/threat-model.md lists every rule of the packs under its category (it fell behind by 12
rules over three sessions before this test)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_rule_is_listed_under_its_category() -> None:
    listed: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "threat-model.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| ([a-z-]+) \| [^|]* \| (.*) \|$", line)
        if m:
            listed.setdefault(m.group(1), set()).update(re.findall(r"`([^`]+)`", m.group(2)))
    missing = []
    for pack in sorted((ROOT / "src" / "warden" / "check" / "rules" / "packs").glob("*.toml")):
        for rule in tomllib.loads(pack.read_text(encoding="utf-8")).get("rule", []):
            if rule["id"] not in listed.get(rule["category"], set()):
                missing.append(f"{rule['category']}: {rule['id']}")
    assert not missing, missing
