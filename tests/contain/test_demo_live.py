"""``warden demo`` (live): every escape stopped, every ordinary step done, checked from outside."""

from __future__ import annotations

import json
import subprocess

from tests.contain.sandbox import WARDEN, needs_sandbox

pytestmark = needs_sandbox


def test_live_demo_stops_every_attack_and_does_the_work() -> None:
    r = subprocess.run([WARDEN, "demo"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ESCAPED" not in r.stdout and "FAILED" not in r.stdout
    assert "attacks stopped:        25/25" in r.stdout
    assert "ordinary work done:     5/5" in r.stdout
    assert "sinks outside received: 0 bytes" in r.stdout
    assert "re-hashed and verified" in r.stdout
    assert "warden killed the whole tree" in r.stdout  # the tripwire: a KILL verdict on an exec


def test_live_demo_json_is_one_object_per_step() -> None:
    r = subprocess.run([WARDEN, "demo", "--json"], capture_output=True, text=True, timeout=120)
    steps = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 0
    assert len(steps) == 30 and all(s["correct"] for s in steps)
    assert {s["category"] for s in steps} >= {
        "credential-access", "exfiltration", "self-exfiltration", "oversight-subversion",
        "defense-evasion", "persistence", "resource-exhaustion", "ordinary work",
    }
