"""``warden hook claude-code|codex|gemini|cursor|copilot``: what an agent runs per hook event.

It reads one hook payload on stdin and answers in that agent's format. It must never crash in a
way the agent reads as "carry on": every failure is answered by the agent's block (see
``warden.integrations.hooks.base``), so this module catches everything itself rather than
leaving it to ``warden.cli.main``'s handler, whose exit code 1 the agents treat as non-blocking.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["DEADLINE_SECONDS", "register"]

#: warden answers within this many seconds whatever happens: past it, the decision is abandoned
#: and the call blocked. It sits below the 30 s timeout ``warden install`` gives the agents, so
#: warden's own block arrives before Codex or Gemini CLI give up on the hook, which for them
#: would let the call through (docs/integrations.md, "Fail closed").
DEADLINE_SECONDS = 20.0

AGENTS = ("claude-code", "codex", "gemini", "cursor", "copilot")

#: Environment variables in which an agent names the project root of the session. Set by the
#: agent process itself, not by the model, so they are a sounder workspace than the payload's
#: ``cwd``, which follows the agent's ``cd``.
PROJECT_ENV = {"claude-code": "CLAUDE_PROJECT_DIR", "gemini": "GEMINI_PROJECT_DIR"}

EPILOG = """\
The agent runs this command; `warden install AGENT` writes the settings that make it do so.
The payload is judged against the layered policy (like `warden check`), recorded in the audit
log, and answered in the agent's format: a deny or ask with warden's reason, a kill that also
stops the session, context about untrusted instructions or secrets in a tool's output.

Fail closed: unreadable or oversized input, a policy that does not load and an audit log that
cannot be written are all answered with a block (exit 2, reason on stderr; for Copilot, whose
preToolUse ignores exit codes, a JSON deny), never an allow.

examples:
  echo '{"hook_event_name":"PreToolUse","tool_name":"Bash",
         "tool_input":{"command":"cat ~/.ssh/id_rsa"}}' | warden hook claude-code
  warden hook gemini --audit-db /var/lib/warden/audit.db < payload.json
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser(
        "hook", help=summary, description="Answer one coding-agent hook event on stdin.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("agent", choices=AGENTS, help="the agent whose hook protocol to speak")
    p.add_argument("--policy", "-p", action="append", default=[], metavar="FILE",
                   help="extra policy file (repeatable; layered over user and project)")
    p.add_argument("--pack", action="append", default=[], metavar="FILE",
                   help="extra rule pack (repeatable)")
    p.add_argument("--workspace", "-w", metavar="DIR", help="project root (default: the "
                   "agent's project directory, else the payload's cwd)")  # fmt: skip
    audit = p.add_mutually_exclusive_group()
    audit.add_argument("--audit-db", metavar="PATH", type=Path,
                       help="audit log (default: $XDG_DATA_HOME/warden/audit.db)")
    audit.add_argument("--no-audit", action="store_true", help="do not record anything")
    p.add_argument("--deadline", type=float, default=DEADLINE_SECONDS, metavar="SECONDS",
                   help="block the call if no decision is reached in this time (default "
                   f"{DEADLINE_SECONDS:g}; keep it below the agent's hook timeout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from warden.integrations.hooks import HookConfig, handle, protocol_for, read_payload, refuse

    protocol = protocol_for(args.agent)
    workspace = args.workspace or os.environ.get(PROJECT_ENV.get(args.agent, "")) or None
    config = HookConfig(
        workspace=workspace,
        policy_files=tuple(args.policy),
        packs=tuple(args.pack),
        audit=False if args.no_audit else (args.audit_db or True),
    )

    def work() -> Any:
        try:
            raw = read_payload(sys.stdin.buffer)
        except Exception as exc:  # oversized or unreadable stdin: still an answer, not a crash
            return refuse(f"invalid hook input: {exc}", protocol, config)
        return handle(raw, protocol, config)

    answer = _within(args.deadline, work)
    late = answer is None
    if answer is None:
        answer = protocol.failure(f"no decision within {args.deadline:g} s", None, None)
    if answer.stdout:
        sys.stdout.write(answer.stdout + "\n")
    if answer.stderr:
        sys.stderr.write(answer.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    if late:  # the abandoned decision may still hold the audit log: leave without waiting
        os._exit(answer.exit_code)
    code: int = answer.exit_code
    return code


def _within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()``'s result, or ``None`` if it has not returned after ``seconds``."""
    box: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            box.append(work())
        finally:
            done.set()

    threading.Thread(target=run, name="warden-hook", daemon=True).start()
    if done.wait(max(seconds, 0.0)) and box:
        return box[0]
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m warden.cli.hook AGENT``: the same command without ``warden.cli.main``."""
    parser = argparse.ArgumentParser(prog="warden")
    register(parser.add_subparsers(dest="command", required=True), "answer a hook event")
    args = parser.parse_args(["hook", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
