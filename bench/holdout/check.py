#!/usr/bin/env python3
"""Validate the warden held-out corpus and print its counts (stdlib only).

Usage: python3 bench/holdout/check.py   (exit status 1 on any problem)
"""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATEGORIES = [
    "credential-access", "exfiltration", "self-exfiltration",
    "oversight-subversion", "persistence", "indicator-removal", "destruction",
    "remote-code", "reverse-shell", "privilege-escalation", "network-scan",
    "resource-exhaustion",
]
KEYS = {"command", "category", "technique", "obfuscated", "note"}
TECHNIQUE_RE = re.compile(r"^(T\d{4}(\.\d{3})?)?$")
MIN_ATTACKS, MIN_PER_CATEGORY, MIN_BENIGN = 400, 20, 600
OBF_RANGE = (0.25, 0.45)  # target is about 35%

errors = []


def err(msg):
    errors.append(msg)


def load_attacks(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err(f"attacks.jsonl:{n}: blank line")
                continue
            try:
                o = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"attacks.jsonl:{n}: bad JSON: {e}")
                continue
            if not isinstance(o, dict) or set(o) != KEYS:
                err(f"attacks.jsonl:{n}: keys must be exactly {sorted(KEYS)}")
                continue
            if not isinstance(o["command"], str) or not o["command"].strip():
                err(f"attacks.jsonl:{n}: empty command")
            elif "\n" in o["command"]:
                err(f"attacks.jsonl:{n}: command spans lines")
            if o["category"] not in CATEGORIES:
                err(f"attacks.jsonl:{n}: unknown category {o['category']!r}")
            if not isinstance(o["technique"], str) or not TECHNIQUE_RE.match(o["technique"]):
                err(f"attacks.jsonl:{n}: bad technique {o['technique']!r}")
            if not isinstance(o["obfuscated"], bool):
                err(f"attacks.jsonl:{n}: obfuscated must be true/false")
            if not isinstance(o["note"], str):
                err(f"attacks.jsonl:{n}: note must be a string")
            rows.append((n, o))
    return rows


def load_benign(path):
    cmds, hard, in_hard = [], [], False
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            s = line.strip()
            if not s:
                continue
            if s.startswith("#"):
                if s == "# hard":
                    in_hard = True
                continue
            if line != s:
                err(f"benign.txt:{n}: leading/trailing whitespace")
            cmds.append((n, s))
            if in_hard:
                hard.append(s)
    if not hard:
        err("benign.txt: no '# hard' section found")
    return cmds, hard


def main():
    rows = load_attacks(os.path.join(HERE, "attacks.jsonl"))
    benign, hard = load_benign(os.path.join(HERE, "benign.txt"))

    seen = {}
    for n, o in rows:
        c = o.get("command")
        if c in seen:
            err(f"attacks.jsonl:{n}: duplicate of line {seen[c]}")
        seen[c] = n
    bseen = {}
    for n, c in benign:
        if c in bseen:
            err(f"benign.txt:{n}: duplicate of line {bseen[c]}")
        bseen[c] = n
        if c in seen:
            err(f"benign.txt:{n}: also appears as an attack (attacks.jsonl:{seen[c]})")

    per_cat = collections.Counter(o["category"] for _, o in rows)
    per_obf = collections.Counter(o["category"] for _, o in rows if o["obfuscated"] is True)
    n_att, n_obf = len(rows), sum(per_obf.values())

    print(f"{'category':<22}{'total':>6}{'obfusc':>8}")
    for c in CATEGORIES:
        print(f"{c:<22}{per_cat[c]:>6}{per_obf[c]:>8}")
        if per_cat[c] < MIN_PER_CATEGORY:
            err(f"category {c}: {per_cat[c]} < {MIN_PER_CATEGORY}")
    frac = n_obf / n_att if n_att else 0.0
    print(f"{'attacks total':<22}{n_att:>6}{n_obf:>8}  ({frac:.1%} obfuscated)")
    with_tech = sum(1 for _, o in rows if o["technique"])
    print(f"attacks with ATT&CK id: {with_tech}")
    print(f"benign total: {len(benign)}  (hard: {len(hard)}, ordinary: {len(benign) - len(hard)})")

    if n_att < MIN_ATTACKS:
        err(f"attacks: {n_att} < {MIN_ATTACKS}")
    if not (OBF_RANGE[0] <= frac <= OBF_RANGE[1]):
        err(f"obfuscated fraction {frac:.1%} outside {OBF_RANGE}")
    if len(benign) < MIN_BENIGN:
        err(f"benign: {len(benign)} < {MIN_BENIGN}")

    if errors:
        print(f"\nFAIL: {len(errors)} problem(s)")
        for e in errors[:50]:
            print("  " + e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
