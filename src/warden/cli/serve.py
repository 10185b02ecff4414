"""``warden serve --hooks``: the resident hook engine (``warden.integrations.hooks.serve``).

The server runs in the foreground until SIGINT or SIGTERM (a systemd user unit or a terminal
keeps it alive); ``--print-unit`` writes such a unit to stdout and exits.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "register", "run", "systemd_unit"]

EPILOG = """\
One process loads the policy and opens the audit log once, then answers every hook event:
over HTTP on loopback for Claude Code's `http` hook type (POST /warden/hook/claude-code with
`Authorization: Bearer TOKEN`), and over a unix socket for the thin command client
(`python -I -S .../warden/hookclient.py AGENT`) that Codex, Gemini CLI and Claude Code command
hooks run. Answers are exactly what `warden hook AGENT` gives for the same payload.

The socket (0600) is in $XDG_RUNTIME_DIR/warden/, else ~/.local/state/warden/hooks/; the
token (0600) is in $XDG_STATE_HOME/warden/hooks/ (~/.local/state/warden/hooks/), where it
survives a reboot, so the hooks `warden install --server` wrote keep working. Only loopback
addresses are accepted for --listen.

examples:
  warden serve --hooks                              HTTP on 127.0.0.1:8765 and the socket
  warden serve --hooks --print-unit > ~/.config/systemd/user/warden-hooks.service
  warden install claude-code --server               point Claude Code's hooks at it
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser("serve", help=summary, description="Run warden's resident hook server.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hooks", action="store_true", required=True,
                   help="serve coding-agent hooks (the only service for now)")
    p.add_argument("--listen", metavar="HOST:PORT", default=None,
                   help="loopback address for the HTTP side (default: 127.0.0.1:8765)")
    p.add_argument("--no-http", action="store_true", help="serve the unix socket only")
    p.add_argument("--socket", metavar="PATH", type=Path,
                   help="unix socket (default: $XDG_RUNTIME_DIR/warden/hooks.sock)")
    p.add_argument("--no-socket", action="store_true", help="serve HTTP only")
    p.add_argument("--token-file", metavar="PATH", type=Path,
                   help="bearer token file (default: ~/.local/state/warden/hooks/hooks.token)")
    p.add_argument("--policy", "-p", action="append", default=[], metavar="FILE",
                   help="extra policy file (repeatable; layered over user and project)")
    p.add_argument("--pack", action="append", default=[], metavar="FILE",
                   help="extra rule pack (repeatable)")
    audit = p.add_mutually_exclusive_group()
    audit.add_argument("--audit-db", metavar="PATH", type=Path,
                       help="audit log (default: $XDG_DATA_HOME/warden/audit.db)")
    audit.add_argument("--no-audit", action="store_true", help="do not record anything")
    p.add_argument("--print-unit", action="store_true",
                   help="print a systemd user unit that runs this command, and exit")
    p.set_defaults(func=run)


def _argv(args: argparse.Namespace) -> list[str]:
    """This invocation as an absolute command line (for the unit file)."""
    script = Path(sys.executable).parent / "warden"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "warden"]
    argv += ["serve", "--hooks"]
    if args.listen:
        argv += ["--listen", args.listen]
    for flag in ("no_http", "no_socket", "no_audit"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    for name in ("socket", "token_file", "audit_db"):
        value = getattr(args, name)
        if value is not None:
            argv += ["--" + name.replace("_", "-"), os.path.abspath(value)]
    for policy in args.policy:
        argv += ["--policy", os.path.abspath(policy)]
    for pack in args.pack:
        argv += ["--pack", os.path.abspath(pack)]
    return argv


def systemd_unit(argv: list[str]) -> str:
    """A systemd user unit running ``argv`` (``systemctl --user enable --now``)."""
    return (
        "[Unit]\n"
        "Description=warden resident hook server (warden serve --hooks)\n"
        "\n"
        "[Service]\n"
        f"ExecStart={shlex.join(argv)}\n"
        "Restart=on-failure\n"
        "RestartSec=1\n"
        "UMask=0077\n"
        "NoNewPrivileges=yes\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def run(args: argparse.Namespace) -> int:
    from warden._signals import on_signals
    from warden.integrations.hooks.serve import (
        DEFAULT_LISTEN,
        HookServer,
        ServeConfig,
        load_token,
        parse_listen,
        socket_path,
        token_path,
    )

    if args.print_unit:
        sys.stdout.write(systemd_unit(_argv(args)))
        return 0
    listen = None if args.no_http else parse_listen(args.listen or DEFAULT_LISTEN)
    sock = None if args.no_socket else (args.socket or socket_path())
    token = load_token(args.token_file or token_path())
    config = ServeConfig(policy_files=tuple(args.policy), packs=tuple(args.pack),
                         audit=False if args.no_audit else (args.audit_db or True))  # fmt: skip
    server = HookServer(config, listen=listen, sock=sock, token=token)

    restore = on_signals((signal.SIGTERM, signal.SIGINT), lambda _: server.shutdown())
    where = []
    if server.http_address is not None:
        host, port = server.http_address
        where.append(f"http://{host}:{port}/warden/hook/claude-code")
    if sock is not None:
        where.append(str(sock))
    print(f"warden serve: answering hooks on {' and '.join(where)}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
        restore()
        if server.http is not None:
            print(f"warden serve: answered {server.http.requests} HTTP requests on "
                  f"{server.http.connections} connections", file=sys.stderr, flush=True)
        if server.unix is not None:
            print(f"warden serve: answered {server.unix.requests} requests on the socket",
                  file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m warden.cli.serve --hooks ...`` without ``warden.cli.main``."""
    from warden.errors import WardenError

    parser = argparse.ArgumentParser(prog="warden")
    register(parser.add_subparsers(dest="command", required=True), "resident hook server")
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.func(args)
    except WardenError as exc:
        print(f"warden: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
