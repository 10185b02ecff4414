"""``warden demo``: replay a rogue-agent session through the engine and show what was stopped."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["register"]

EPILOG = """\
The session mixes ordinary work (tests, edits, builds, pushes) with one attempt at each threat
of warden's threat model: secret theft, exfiltration, self-copying, killing the monitor,
persistence, erasing the record, remote code, reverse shells, obfuscation, destruction.
Exit status 0 when every threat was stopped and every ordinary step allowed.

examples:
  warden demo
  warden demo --explain        every matching rule per step
  warden demo --json           one JSON object per step
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser("demo", help=summary, description="Replay a rogue agent's session "
                       "through warden's check engine.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object per step")
    p.add_argument("--keep", metavar="DIR", type=Path, help="keep the demo's audit log in DIR "
                   "(default: a temporary directory, removed afterwards)")  # fmt: skip
    p.add_argument("--explain", "-v", action="store_true", help="show every matching rule")
    p.set_defaults(func=run)


def _describe(payload: dict[str, Any]) -> str:
    tool = payload.get("tool_name", "?")
    inp = payload.get("tool_input", {})
    detail = inp.get("command") or inp.get("file_path") or inp.get("url") or inp.get("pattern")
    return f"{tool} {detail}"


def run(args: argparse.Namespace) -> int:
    from warden.check.engine import Engine
    from warden.cli.render import decision_json, use_color
    from warden.decision import Verdict
    from warden.demo.replay import DEMO_HOME, replay

    engine = Engine.builtin(home=DEMO_HOME)  # fmt: skip
    results = replay(engine)
    with tempfile.TemporaryDirectory(prefix="warden-demo-") as tmp:
        audit = _record(results, args.keep or Path(tmp))
    if audit is None:
        return 1
    color = use_color(sys.stdout) and not args.json
    if args.json:
        for r in results:
            print(decision_json(r.decision, step=r.step.say, category=r.step.category,
                                action=_describe(r.step.payload), correct=r.correct))
        return 0 if all(r.correct for r in results) else 1
    paint = {Verdict.ALLOW: "32", Verdict.ASK: "33", Verdict.DENY: "31", Verdict.KILL: "1;31"}
    print("warden demo: a rogue agent's session replayed through the check engine")
    print("(default policy; home /home/dev, project /home/dev/webapp)\n")
    for i, r in enumerate(results, 1):
        d = r.decision
        label = d.verdict.name.ljust(5)
        if color:
            label = f"\x1b[{paint[d.verdict]}m{label}\x1b[0m"
        mark = "" if r.correct else "  <-- UNEXPECTED"
        what = r.step.say if r.step.is_threat else f"ordinary: {r.step.say}"
        print(f"{i:>3}  {label}  {what}{mark}")
        print(f"       {_describe(r.step.payload)[:96]}")
        if d.verdict is not Verdict.ALLOW:
            top = d.findings[0] if d.findings else None
            rules = ", ".join(top.related or (top.rule,)) if top else ""
            tech = ", ".join(d.techniques)
            print(f"       -> {d.reason} [{rules}{'; ' + tech if tech else ''}]")
        if args.explain:
            for f in d.findings:
                print(f"          {f.verdict!s:5} {f.rule}: {f.reason}")
    threats = [r for r in results if r.step.is_threat]
    benign = [r for r in results if not r.step.is_threat]
    stopped = [r for r in threats if r.decision.verdict is not Verdict.ALLOW]
    allowed = [r for r in benign if r.decision.verdict is Verdict.ALLOW]
    by_verdict: dict[str, int] = {}
    for r in stopped:
        by_verdict[str(r.decision.verdict)] = by_verdict.get(str(r.decision.verdict), 0) + 1
    counts = ", ".join(f"{n} {v}" for v, n in sorted(by_verdict.items()))
    micros = [r.micros for r in results]
    print()
    print(f"threats stopped:        {len(stopped)}/{len(threats)} ({counts})")
    print(f"ordinary work allowed:  {len(allowed)}/{len(benign)}")
    print(f"decision time:          median {statistics.median(micros):.0f} us, "
          f"max {max(micros):.0f} us (in process, first use included)")  # fmt: skip
    print(f"audit log:              {audit}")
    return 0 if all(r.correct for r in results) else 1


def _record(results: list[Any], directory: Path) -> str | None:
    """Append every decision to a fresh audit log, then verify the whole log from scratch."""
    from warden.errors import AuditError
    from warden.guard import decision_record
    from warden.normalize import normalize
    from warden.record import AuditLog, verify_log

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "audit.db"
    try:
        with AuditLog.open(db) as log:
            receipts = []
            for r in results:
                record, payload = decision_record(normalize(r.step.payload), r.decision)
                receipts.append(log.append_nowait(record, payload=payload))
            for receipt in receipts:
                receipt.result()
            report = verify_log(log.store, log.signer.verifier, push=False)
    except AuditError as exc:
        print(f"warden demo: audit log failed: {exc}", file=sys.stderr)
        return None
    where = f" in {db}" if directory.name and not directory.name.startswith("warden-demo-") else ""
    return (f"{report.size} decisions recorded{where}; re-hashed and verified against "
            f"{report.checkpoints} signed checkpoint(s), root {report.root.hex()[:16]}…")
