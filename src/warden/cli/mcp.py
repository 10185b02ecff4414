"""``warden mcp -- SERVER_CMD ARGS...``: put warden between an MCP client and its server.

The client's MCP configuration runs ``warden mcp -- npx @modelcontextprotocol/server-filesystem
/work`` where it ran ``npx @modelcontextprotocol/server-filesystem /work``. Everything else is
``docs/mcp.md``. Like ``warden hook``, this command answers failures to the client itself (as
JSON-RPC errors on stdout) rather than leaving them to ``warden.cli.main``'s handler: the client
reads stdout, and a proxy that dies with a traceback is a server that vanished without a reason.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "register", "run"]

EPILOG = """\
Each tools/call is judged against the layered policy (like `warden check`) and recorded in the
audit log: a refused call's decision is durable before the refusal is answered; an allowed
call is forwarded while its decision is being made durable, and the server's answer reaches
the client only after that (with --write-ahead the call is forwarded only after). A deny or
kill is answered by warden with an MCP tool error (isError) that gives the reason; an ask is
denied too unless --on-ask allow. Tool results are scanned for secrets (redacted) and planted
instructions (a warning is added). Tools whose description carries hidden instructions, or that
change during the session, are removed from tools/list, and poisoned resources, resource
templates and prompts from their listings, unless --keep-flagged. A server's elicitation request
that asks the user for a secret in a form, carries planted instructions or sends the user to an
unsafe URL is refused to the server unless --keep-flagged; the user's answers are recorded with
secrets redacted. Everything else passes through unchanged.

examples:
  warden mcp -- npx -y @modelcontextprotocol/server-filesystem /work/project
  warden mcp --name fs --audit-db ~/audit.db -- uvx mcp-server-fetch
  claude mcp add fs -- warden mcp --name fs -- npx -y @modelcontextprotocol/server-filesystem .
  warden mcp --http --upstream https://mcp.example/mcp --listen 127.0.0.1:8931
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser(
        "mcp", help=summary, description="Proxy an MCP server, judging every tool call.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _arguments(p)
    p.set_defaults(func=run)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", "-p", action="append", default=[], metavar="FILE",
                   help="extra policy file (repeatable; layered over user and project)")
    p.add_argument("--workspace", "-w", metavar="DIR",
                   help="project root for the policy (default: the current directory)")
    p.add_argument("--name", metavar="NAME", help="the server's name in tool names "
                   "(mcp__NAME__tool; default: the name the server gives, else the command)")
    p.add_argument("--on-ask", choices=("deny", "allow"), default="deny",
                   help="what to do with an `ask` verdict (default: deny, with the reason)")
    p.add_argument("--keep-flagged", action="store_true", help="keep poisoned or changed tools "
                   "in tools/list, poisoned resources and prompts in theirs, and let flagged "
                   "elicitation requests reach the user (all still recorded and reported on "
                   "stderr)")
    p.add_argument("--unsafe-pass-secrets", action="store_true", help="do not redact secrets "
                   "found in tool results (a warning is still added)")  # fmt: skip
    p.add_argument("--write-ahead", action="store_true", help="forward an allowed call only "
                   "once its decision is durable in the audit log: nothing runs unrecorded, "
                   "and every call waits for the log's fsync (about 1 ms) before it starts. "
                   "Default: the call is forwarded as soon as its decision is queued, the fsync "
                   "runs while the server works, and the answer is held until the decision is "
                   "durable (an error if it cannot be): the agent never sees a result whose "
                   "decision is not on disk, but a warden crash in that window can leave a "
                   "call that ran unrecorded (docs/mcp.md, Durability)")  # fmt: skip
    audit = p.add_mutually_exclusive_group()
    audit.add_argument("--audit-db", metavar="PATH", type=Path,
                       help="audit log (default: $XDG_DATA_HOME/warden/audit.db)")
    audit.add_argument("--no-audit", action="store_true", help="do not record anything")
    p.add_argument("--http", action="store_true",
                   help="proxy a Streamable HTTP server (with --upstream and --listen)")
    p.add_argument("--upstream", metavar="URL", help="with --http: the server's MCP endpoint")
    p.add_argument("--listen", metavar="HOST:PORT", help="with --http: where to listen")
    p.add_argument("server", nargs=argparse.REMAINDER, metavar="-- SERVER_CMD ARGS",
                   help="the stdio server to run, after --")


def run(args: argparse.Namespace) -> int:
    from warden.integrations.mcp import McpConfig, open_session, run_stdio

    argv = list(args.server)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if args.http:
        return _run_http(args, argv)
    if not argv:
        print("warden mcp: give the server command after --, e.g. "
              "warden mcp -- npx -y @modelcontextprotocol/server-filesystem .",
              file=sys.stderr)  # fmt: skip
        return 2
    cwd = os.getcwd()
    config = McpConfig(
        server_name=args.name,
        default_server_name=_command_name(argv),
        workspace=os.path.abspath(args.workspace) if args.workspace else cwd,
        cwd=cwd,
        on_ask_allow=args.on_ask == "allow",
        keep_flagged=args.keep_flagged,
        unsafe_pass_secrets=args.unsafe_pass_secrets,
        write_ahead=args.write_ahead,
    )
    session = open_session(config, policy_files=tuple(args.policy),
                           audit=False if args.no_audit else (args.audit_db or True))  # fmt: skip
    if session.refuse_reason is not None:
        print(f"warden mcp: {session.refuse_reason}", file=sys.stderr)
    try:
        return run_stdio(argv, session, stdin=sys.stdin.buffer, stdout=sys.stdout.buffer)
    finally:
        if session.guard is not None:
            session.guard.close()


def _run_http(args: argparse.Namespace, argv: list[str]) -> int:
    import urllib.parse

    from warden.integrations.mcp import McpConfig, McpSession
    from warden.integrations.mcp.http import parse_listen, serve
    from warden.integrations.mcp.open import open_guard

    if argv or not args.upstream or not args.listen:
        print("warden mcp: --http takes --upstream URL and --listen HOST:PORT, and no server "
              "command", file=sys.stderr)  # fmt: skip
        return 2
    try:
        host, _port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"warden mcp: {exc}", file=sys.stderr)
        return 2
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warden mcp: --listen {host} is not a loopback address; the proxy would let "
              "anyone who can reach it use the server", file=sys.stderr)  # fmt: skip
        return 2
    cwd = os.getcwd()
    name = args.name or (urllib.parse.urlsplit(args.upstream).hostname or "mcp")
    config = McpConfig(
        server_name=args.name, default_server_name=name.replace("__", "_")[:64],
        workspace=os.path.abspath(args.workspace) if args.workspace else cwd, cwd=cwd,
        on_ask_allow=args.on_ask == "allow", keep_flagged=args.keep_flagged,
        unsafe_pass_secrets=args.unsafe_pass_secrets, write_ahead=args.write_ahead,
    )  # fmt: skip
    guard, reason = open_guard(config, policy_files=tuple(args.policy),
                               audit=False if args.no_audit else (args.audit_db or True))
    if reason is not None:
        print(f"warden mcp: {reason}", file=sys.stderr)
    try:
        proxy = serve(args.upstream, args.listen, config,
                      lambda cfg: McpSession(cfg, guard, refuse_reason=reason))  # fmt: skip
    except (ValueError, OSError) as exc:
        print(f"warden mcp: {exc}", file=sys.stderr)
        return 2
    bound_host, bound_port = proxy.address
    print(f"warden mcp: listening on http://{bound_host}:{bound_port}/ for {args.upstream}",
          file=sys.stderr, flush=True)  # fmt: skip
    import signal

    from warden._signals import on_signals

    restore = on_signals((signal.SIGTERM,), lambda _: proxy.shutdown())
    try:
        proxy.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        if guard is not None:
            guard.close()
    return 0


def _command_name(argv: list[str]) -> str:
    """``npx -y @modelcontextprotocol/server-filesystem /x`` -> ``server-filesystem``: the
    package or program, not the launcher."""
    launchers = {"npx", "uvx", "pipx", "bunx", "node", "python", "python3", "uv", "deno", "bun",
                 "docker", "run", "-m", "exec", "dlx", "pnpm", "yarn"}  # fmt: skip
    for word in argv:
        if word.startswith("-") or os.path.basename(word) in launchers:
            continue
        name = os.path.basename(word.rstrip("/")).split("@")[0] or word
        for suffix in (".py", ".js", ".mjs", ".ts"):
            name = name.removesuffix(suffix)
        return name.replace("__", "_")[:64] or "mcp"
    return "mcp"


def main(argv: list[str] | None = None) -> int:
    """``python -m warden.cli.mcp ...``: the same command without the top-level dispatcher."""
    parser = argparse.ArgumentParser(prog="warden mcp", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
