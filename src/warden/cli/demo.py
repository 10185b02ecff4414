"""``warden demo``: a rogue agent, contained, tries every escape; or (``--replay``) a rogue
session replayed through the check engine."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from warden.cli.render import use_color

__all__ = ["register"]

EPILOG = """\
Live (the default): a scripted rogue agent runs under `warden run` (layer 2: namespaces,
Landlock, seccomp, cgroup, egress proxy) and, between ordinary work that must succeed (edit,
test, commit, fetch from an allowed host), tries each escape of the threat model: read keys and
.env files, exfiltrate over HTTP, raw TCP, UDP and DNS to sinks on this machine, copy itself
out, kill or trace its supervisor, rewrite the policy and its hooks, truncate the audit log,
persist (cron, systemd, authorized_keys, shell rc, git hooks), detach, fork-bomb. The demo then
checks from outside that the sinks received nothing, the files are untouched and nothing
survived, and verifies the run's audit log. Needs Linux with user namespaces, Landlock and
seccomp (`warden doctor`).

--replay: the check engine (layer 1) judges a recorded session of Claude Code hook payloads,
ordinary work mixed with one attempt at each threat; no kernel features needed.

Exit status 0 when every threat was stopped and every ordinary step went through.

examples:
  warden demo
  warden demo --keep /tmp/demo     keep the world and its audit log to inspect
  warden demo --replay --explain   the check-engine replay, every matching rule per step
  warden demo --replay --json      one JSON object per step
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser("demo", help=summary, description="A rogue agent under warden: it "
                       "tries every escape; warden stops and records each one.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--replay", action="store_true",
                   help="replay a recorded session through the check engine instead")
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
    if not args.replay:
        return _live(args)
    return _replay(args)


def _live(args: argparse.Namespace) -> int:
    from warden.contain.probe import probe
    from warden.demo.live import run_live_demo

    features = probe()
    if not (features.userns_nested and features.landlock_abi and features.seccomp_filter):
        print("warden demo: this kernel cannot run the live demo (see `warden doctor`); "
              "showing the check-engine replay instead\n", file=sys.stderr)  # fmt: skip
        return _replay(args)
    color = use_color(sys.stdout) and not args.json

    def started(spec: Any) -> None:
        if not args.json:
            print("warden demo: a rogue agent runs contained by `warden run` and tries every "
                  "escape,\nbetween ordinary work that must succeed.\n")  # fmt: skip
            print(f"session {spec.session}, workspace {spec.workspace}")
            print(f"kernel: Landlock ABI {features.landlock_abi}, seccomp, user/net/mount/pid "
                  f"namespaces, cgroup v2; the egress proxy allows {len(spec.egress)} hosts "
                  "(the package index on this machine among them)\n")  # fmt: skip

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    result = run_live_demo(keep=args.keep, progress=started)
    if args.json:
        for step in result.steps:
            print(json.dumps({"kind": step.kind, "category": step.category, "step": step.say,
                              "succeeded": step.succeeded, "correct": step.correct,
                              "detail": step.detail}))  # fmt: skip
        return 0 if result.ok else 1
    for i, step in enumerate(result.steps, 1):
        if step.kind == "work":
            label, code = ("done" if step.succeeded else "FAILED"), "32"
            what = f"ordinary: {step.say}"
        else:
            label, code = ("STOPPED" if not step.succeeded else "ESCAPED"), "31"
            what = f"{step.category}: {step.say}"
        if not step.correct:
            code = "1;33"
        label = label.ljust(7)
        if color:
            label = f"\x1b[{code}m{label}\x1b[0m"
        print(f"{i:>3}  {label}  {what}")
        print(f"              {step.detail[:100]}")
    attacks = [s for s in result.steps if s.kind == "attack"]
    work = [s for s in result.steps if s.kind == "work"]
    touched = [name for name, ok in result.untouched.items() if not ok]
    print()
    print(f"attacks stopped:        {sum(s.correct for s in attacks)}/{len(attacks)}")
    print(f"ordinary work done:     {sum(s.correct for s in work)}/{len(work)}")
    print(f"egress through proxy:   {result.egress.get('allow', 0)} allowed, "
          f"{result.egress.get('deny', 0)} denied (each recorded)")  # fmt: skip
    print(f"sinks outside received: {result.sink_bytes} bytes")
    print(f"files outside checked:  {len(result.untouched)} untouched"
          + (f"; CHANGED: {', '.join(touched)}" if touched else ""))  # fmt: skip
    print(f"audit log:              {result.audit}")
    return 0 if result.ok else 1


def _replay(args: argparse.Namespace) -> int:
    from warden.check.engine import Engine
    from warden.cli.render import decision_json
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
