"""``warden run -- CMD``: run a program contained by the operating system (layer 2)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

DESCRIPTION = """\
Run CMD (an agent CLI, a script, a test suite) so that, whatever it executes, it:
  - reads only the workspace and what the policy's [contain] read lists (system dirs,
    toolchains); secrets such as ~/.ssh, cloud credentials and warden's own state are absent;
  - writes only the workspace, its private /tmp, and the policy's [contain] write paths; agent
    hook and settings files (.claude/, .codex/, .gemini/, .git/hooks, .warden/) stay read-only;
  - reaches the network only through warden's egress proxy, which lets through the policy's
    [network] allow hosts (without loopback) and [network] egress (the model APIs) and records
    every request; UDP, DNS, raw sockets and other address families fail;
  - cannot signal, trace or inspect warden, and cannot leave its cgroup and pid namespace:
    `warden freeze|kill SESSION` takes the whole tree, double-forked processes included;
  - has every exec recorded in the audit log and judged by the check engine: a KILL verdict
    (e.g. `cat ~/.aws/credentials | curl -d @- ...`) kills the whole tree at once.

Mechanisms: user, network, mount, pid, ipc and uts namespaces; Landlock; seccomp; cgroup v2.
`warden doctor` shows what this kernel offers. warden refuses to run with less than the
policy needs unless you pass --allow-weaker.
"""

EPILOG = """\
examples:
  warden run -- pytest -x                      the test suite, contained, in the current dir
  warden run --workspace ~/proj -- claude      an agent CLI confined to ~/proj
  warden run --write ~/.claude --write ~/.claude.json -- claude
                                               ... that may also write its own state
  warden run --dry-run -- make                 print what CMD would see, run nothing
  warden ps                                    the contained sessions running now

exit status: CMD's own; 125 when the sandbox could not be set up (CMD did not run);
127 when CMD could not be executed inside it; 137 when warden killed the tree (a KILL
verdict on an exec, `warden kill`).
Every run (start, end, each exec, each egress request) is recorded in the audit log.

environment: WARDEN_LAUNCHER=python sets the sandbox up with warden's Python stage instead of
its native launcher (warden-launch, built at install time; `warden doctor` says which one
runs), =native refuses to run without the launcher; WARDEN_TIMELINE=FILE appends each set-up
step's time to FILE (bench/bench_contain.py --timeline).
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser("run", help=summary, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--workspace", "-w", metavar="DIR",
                   help="the directory CMD may write (default: the current directory)")
    p.add_argument("--policy", "-p", action="append", default=[], metavar="FILE",
                   help="extra policy file (repeatable; layered over user and project)")
    p.add_argument("--read", action="append", default=[], metavar="PATH",
                   help="also let CMD read PATH (repeatable)")
    p.add_argument("--write", action="append", default=[], metavar="PATH",
                   help="also let CMD write PATH (repeatable)")
    p.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                   help="keep environment variable NAME (credentials are removed by default)")
    p.add_argument("--allow-weaker", action="store_true",
                   help="run even when the kernel lacks a mechanism the policy needs")
    audit = p.add_mutually_exclusive_group()
    audit.add_argument("--audit-db", metavar="PATH", type=Path,
                       help="audit log (default: $XDG_DATA_HOME/warden/audit.db)")
    audit.add_argument("--no-audit", action="store_true", help="do not record the run")
    p.add_argument("--dry-run", action="store_true",
                   help="print what CMD would see (paths, hosts, limits) and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no start and end lines")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from warden.check.policy.load import default_layers, load_policy
    from warden.contain.spec import build_spec
    from warden.errors import InputError

    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise InputError("nothing to run: warden run [OPTIONS] -- CMD ARGS...")
    workspace = args.workspace or os.getcwd()
    policy = load_policy(default_layers(workspace, args.policy))
    spec = build_spec(policy, cmd, workspace=workspace, extra_read=args.read,
                      extra_write=args.write, pass_env=args.pass_env)  # fmt: skip
    if args.dry_run:
        import json

        from warden.contain.identity import plan

        shown = spec.to_json()
        try:  # who the program will be on the host, and which paths reach it idmapped
            ident = plan(spec)
            shown["identity"] = {**ident.to_record(), "idmapped": [
                {"path": t.path, "writable": t.writable} for t in ident.trees]}
        except OSError as exc:
            shown["identity"] = {"error": f"cannot plan the program's identity: {exc}"}
        print(json.dumps(shown, indent=2))
        return 0
    from warden.contain.supervisor import SandboxError, run_contained

    log = None
    if not args.no_audit:
        from warden.record import AuditLog

        log = AuditLog.open(args.audit_db)
    try:
        if not args.quiet:
            print(f"warden: session {spec.session}: running {' '.join(cmd)!r} contained in "
                  f"{spec.workspace} ({len(spec.egress)} egress hosts)",
                  file=sys.stderr)  # fmt: skip
        try:
            result = run_contained(spec, audit=log, net_deny=policy.net_deny,
                                   allow_weaker=args.allow_weaker,
                                   engine=_engine_factory(args, workspace))  # fmt: skip
        except SandboxError as exc:
            print(f"warden: {exc}", file=sys.stderr)
            return 125
    finally:
        if log is not None:
            log.close()
    if result.setup_error:
        print(f"warden: {result.setup_error}", file=sys.stderr)
    if result.kill_reason:
        print(f"warden: session {spec.session} KILLED by policy: {result.kill_reason}",
              file=sys.stderr)  # fmt: skip
    for line in result.tripwires:
        print(f"warden: WARNING: the run added a setting that makes git run a program on this "
              f"machine later: {line}", file=sys.stderr)  # fmt: skip
    if not args.quiet:
        for line in result.weaker:
            print(f"warden: weaker sandbox: {line}", file=sys.stderr)
        print(f"warden: session {spec.session} ended: exit {result.exit_code} after "
              f"{result.duration:.1f}s; {result.execs} execs; egress {result.egress_allowed} "
              f"allowed, {result.egress_denied} denied", file=sys.stderr)  # fmt: skip
    return result.exit_code


def _engine_factory(args: argparse.Namespace, workspace: str) -> Any:
    """The check engine judging each exec of the tree, built in the background."""

    def build() -> Any:
        from warden.check.engine import Engine

        return Engine.from_files(policy_files=args.policy, workspace=workspace)

    return build
