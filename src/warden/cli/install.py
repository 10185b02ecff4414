"""``warden install AGENT`` and ``warden uninstall AGENT``: write or remove warden's hooks.

Two commands in one module: ``register_install`` and ``register_uninstall`` each add their
parser (``warden.cli.main`` lists them as ``install`` and ``uninstall``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["register_install", "register_uninstall"]

AGENTS = ("claude-code", "codex", "gemini", "cursor", "copilot")

#: Agents the thin client and the server do not speak for yet (``warden.hookclient.AGENTS``).
DIRECT_ONLY = frozenset({"cursor", "copilot"})

INSTALL_EPILOG = """\
Registers `warden hook AGENT` for the events warden handles (tool calls, permission requests,
tool results, prompts, session start and end), merging into the existing settings and keeping
everything else; running it again replaces warden's entries rather than adding more. The
original file is kept once as FILE.warden-backup. Settings files:

  claude-code   .claude/settings.json   (project)   ~/.claude/settings.json   (--user)
  codex         .codex/hooks.json       (project)   ~/.codex/hooks.json       (--user)
  gemini        .gemini/settings.json   (project)   ~/.gemini/settings.json   (--user)
  cursor        .cursor/hooks.json      (project)   ~/.cursor/hooks.json      (--user)
  copilot       .github/hooks/warden.json (project) ~/.copilot/hooks/warden.json (--user;
                $COPILOT_HOME/hooks/warden.json when COPILOT_HOME is set)

Claude Code entries carry onFailure: "block" (Claude Code 2.1.295 or later), so a hook that
crashes or times out blocks the action instead of letting it through; Cursor entries carry
failClosed: true for the same reason. Codex, Gemini CLI and Copilot have no such setting: see
docs/integrations.md for what that means.

With a resident `warden serve --hooks` (milliseconds per event instead of a process each):
  --server   Claude Code only: `http` hooks to the server (bearer token from the server's
             token file, onFailure "block": a server that is down blocks, never allows)
  --client   any agent: the thin command client, which asks the server over its unix socket
             and falls back to the full `warden hook` when no server answers

examples:
  warden install claude-code                   this project (the current directory)
  warden install codex --user --dry-run        show the change to ~/.codex/hooks.json
  warden uninstall claude-code --project ~/src/app
  warden install claude-code --user --server   http hooks to `warden serve --hooks`
  warden install codex --user --client         the thin client (falls back to `warden hook`)
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("agent", choices=AGENTS, help="the coding agent")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--project", metavar="DIR", help="the project's settings (default: .)")
    scope.add_argument("--user", action="store_true", help="the user's settings in $HOME")
    p.add_argument("--dry-run", "-n", action="store_true",
                   help="print the change as a diff and write nothing")


def register_install(sub: Any, summary: str) -> None:
    p = sub.add_parser("install", help=summary, description="Install warden's hooks into a "
                       "coding agent's settings.", epilog=INSTALL_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    _common(p)
    p.add_argument("--audit-db", metavar="PATH", type=Path,
                   help="the audit log the hook records in (default: warden's default)")
    p.add_argument("--policy", "-p", action="append", default=[], metavar="FILE",
                   help="extra policy file the hook uses (repeatable)")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--server", action="store_true", help="Claude Code http hooks pointing "
                       "at a resident `warden serve --hooks`")  # fmt: skip
    shape.add_argument("--client", action="store_true", help="the thin client command, which "
                       "asks `warden serve --hooks` and falls back to `warden hook`")  # fmt: skip
    p.add_argument("--listen", metavar="HOST:PORT", help="the server's HTTP address "
                   "(--server; default 127.0.0.1:8765)")  # fmt: skip
    p.add_argument("--socket", metavar="PATH", help="the server's unix socket (default: "
                   "$XDG_RUNTIME_DIR/warden/hooks.sock)")  # fmt: skip
    p.set_defaults(func=run_install)


def register_uninstall(sub: Any, summary: str) -> None:
    p = sub.add_parser("uninstall", help=summary, description="Remove exactly the hook entries "
                       "`warden install` added.")  # fmt: skip
    _common(p)
    p.set_defaults(func=run_uninstall)


def warden_command() -> list[str]:
    """How the agent should start warden: this installation's ``warden`` script, by absolute
    path, or ``python -m warden.cli.hook`` when the ``hook`` command is not registered."""
    from warden.cli.main import COMMANDS

    if "hook" in COMMANDS:
        script = Path(sys.executable).parent / "warden"
        if not script.exists():
            import shutil

            found = shutil.which("warden")
            script = Path(found) if found else script
        if script.exists():
            return [os.path.abspath(script), "hook"]
        return [os.path.abspath(sys.executable), "-m", "warden", "hook"]
    return [os.path.abspath(sys.executable), "-m", "warden.cli.hook"]


def _target(args: argparse.Namespace) -> tuple[Path, str | None]:
    from warden.integrations.install import settings_file

    if args.user:
        return settings_file(args.agent), None
    project = os.path.abspath(args.project or ".")
    if not Path(project).is_dir():
        from warden.errors import InputError

        raise InputError(f"no such project directory: {project}")
    return settings_file(args.agent, project=project), project


#: What the user must know after installing, per agent (docs/integrations.md, "Fail closed").
AFTER_INSTALL = {
    "claude-code": "note: onFailure \"block\" needs Claude Code 2.1.295 or later; older versions "
    "let a call through when the hook crashes or times out.",
    "codex": "note: Codex runs only hooks it trusts and skips the others silently: review and "
    "trust warden's hooks in Codex (/hooks) now, or they will not run.",
    "gemini": "note: Gemini CLI lets a call through when a hook cannot start or is killed; "
    "pair the hook with `warden run` for a boundary that holds without it.",
    "cursor": "note: failClosed needs a Cursor release that supports it; restart Cursor (or "
    "reload the window) so it reads hooks.json again.",
    "copilot": "note: Copilot CLI lets a call through when a hook fails or times out; pair "
    "the hook with `warden run` for a boundary that holds without it.",
}


def _finish(change: Any, args: argparse.Namespace, verb: str) -> int:
    if args.dry_run:
        sys.stdout.write(change.diff() or f"{change.path}: no change\n")
        return 0
    if not change.changed:
        print(f"{change.path}: already {verb}")
        return 0
    change.apply()
    print(f"{change.path}: warden hooks {verb}")
    if verb == "installed":
        print(AFTER_INSTALL[args.agent])
    return 0


def run_install(args: argparse.Namespace) -> int:
    from warden.integrations.install import plan_install

    path, project = _target(args)
    options: list[str] = []
    if project is not None:
        options += ["--workspace", project]
    if args.audit_db is not None:
        options += ["--audit-db", os.path.abspath(args.audit_db)]
    for policy in args.policy:
        options += ["--policy", os.path.abspath(policy)]
    if args.server or args.client:
        if args.agent in DIRECT_ONLY:
            from warden.errors import InputError

            raise InputError(f"--server and --client do not support {args.agent} yet; "
                             "install the plain `warden hook` command")  # fmt: skip
        return _install_served(args, path, project, options)
    argv = [*warden_command(), args.agent, *options]
    return _finish(plan_install(args.agent, path, shlex.join(argv)), args, "installed")


def _install_served(
    args: argparse.Namespace, path: Path, project: str | None, options: list[str]
) -> int:
    """``--server`` / ``--client``: hooks answered by ``warden serve --hooks``."""
    from warden.integrations.hooks.serve import (
        DEFAULT_LISTEN,
        load_token,
        parse_listen,
        socket_path,
    )
    from warden.integrations.install import (
        client_command,
        plan_install,
        plan_install_server,
        server_url,
    )

    sock = os.path.abspath(args.socket) if args.socket else str(socket_path())
    # the fallback's options too: with no server, the client runs `warden hook AGENT OPTIONS`
    client = client_command(sys.executable, args.agent, [*options, "--socket", sock])
    if args.client:
        change = plan_install(args.agent, path, client)
    else:
        url = server_url(parse_listen(args.listen or DEFAULT_LISTEN), args.agent, project)
        token = load_token() if not args.dry_run else "<the token in hooks.token>"
        change = plan_install_server(args.agent, path, url, token, client)
    code = _finish(change, args, "installed")
    if not args.dry_run:
        print("note: start the server with `warden serve --hooks` (at login: `warden serve "
              "--hooks --print-unit` writes a systemd user unit); "
              + ("while it is down, Claude Code blocks every call it hooks" if args.server
                 else "while it is down, each hook runs the slow full `warden hook`"))
    return code


def run_uninstall(args: argparse.Namespace) -> int:
    from warden.integrations.install import plan_uninstall

    path, _ = _target(args)
    return _finish(plan_uninstall(args.agent, path), args, "uninstalled")


def main(argv: list[str] | None = None) -> int:
    """``python -m warden.cli.install install|uninstall AGENT ...`` without ``warden.cli.main``."""
    from warden.errors import WardenError

    parser = argparse.ArgumentParser(prog="warden")
    sub = parser.add_subparsers(dest="command", required=True)
    register_install(sub, "install warden's hooks")
    register_uninstall(sub, "remove warden's hooks")
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except WardenError as exc:
        print(f"warden: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
