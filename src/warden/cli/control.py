"""``warden ps|freeze|thaw|kill``: see and stop contained sessions (layer 5).

Each acts on the session's cgroup, so a double-forked or ``setsid`` process is taken with the
rest; ``kill`` also SIGKILLs the pid namespace's init, which ends every process in it even where
no cgroup could be made.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from typing import Any

__all__ = ["register_freeze", "register_kill", "register_ps", "register_thaw"]

EPILOG = """\
examples:
  warden ps                       the contained sessions running now
  warden freeze run-3fa2          stop every process of the session where it stands
  warden thaw run-3fa2
  warden kill run-3fa2            kill the whole tree (the supervisor records the end)
  warden kill --all               stop every contained agent on this machine at once
A unique prefix of a session id is enough.
"""


def _parser(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=summary, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    return p


def register_ps(sub: Any, summary: str) -> None:
    p = _parser(sub, "ps", summary)
    p.add_argument("--json", action="store_true", help="one JSON object per session")
    p.add_argument("--prune", action="store_true",
                   help="forget sessions whose supervisor is gone (killed, crashed) and remove "
                        "their empty cgroups")  # fmt: skip
    p.set_defaults(func=run_ps)


def _control(sub: Any, name: str, summary: str, *, all_flag: bool = False) -> None:
    p = _parser(sub, name, summary)
    if all_flag:
        p.add_argument("session", nargs="?", help="session id (or a unique prefix)")
        p.add_argument("--all", action="store_true", help="every running session")
    else:
        p.add_argument("session", help="session id (or a unique prefix)")
    p.set_defaults(func=run_control, action=name)


def register_freeze(sub: Any, summary: str) -> None:
    _control(sub, "freeze", summary)


def register_thaw(sub: Any, summary: str) -> None:
    _control(sub, "thaw", summary)


def register_kill(sub: Any, summary: str) -> None:
    _control(sub, "kill", summary, all_flag=True)


def run_ps(args: argparse.Namespace) -> int:
    from warden.contain import sessions

    rows = []
    for info in sessions.runs():
        alive = info.alive()
        if not alive and args.prune:
            removed = sessions.prune(info)
            print(f"pruned {info.session} (its supervisor is gone)"
                  + (f"; removed {', '.join(removed)}" if removed else ""),
                  file=sys.stderr)  # fmt: skip
            continue
        rows.append((info, alive))
    if args.json:
        for info, alive in rows:
            print(json.dumps({"session": info.session, "alive": alive, "supervisor":
                              info.supervisor, "processes": info.processes(), "argv": info.argv,
                              "workspace": info.workspace, "started": info.started}))  # fmt: skip
        return 0
    if not rows:
        print("no contained sessions")
        return 0
    print(f"{'SESSION':<16} {'STATE':<7} {'PROCS':>5} {'AGE':>7}  WORKSPACE / COMMAND")
    for info, alive in rows:
        state = "running" if alive else "stale"
        if alive and info.cgroup:
            with contextlib.suppress(OSError), open(
                os.path.join(info.cgroup, "cgroup.events"), encoding="ascii"
            ) as fh:
                if "frozen 1" in fh.read():
                    state = "frozen"
        print(f"{info.session:<16} {state:<7} {info.processes():>5} {sessions.age(info):>7}  "
              f"{info.workspace}: {' '.join(info.argv)[:60]}")  # fmt: skip
    return 0


def run_control(args: argparse.Namespace) -> int:
    from warden.contain import sessions
    from warden.contain.cgroup import Cgroup
    from warden.errors import InputError

    if getattr(args, "all", False):
        targets = [r for r in sessions.runs() if r.alive()]
        if not targets:
            print("no contained sessions")
            return 0
    elif not args.session:
        raise InputError("give a session id (see `warden ps`) or --all")
    else:
        targets = [sessions.find(args.session)]
    status = 0
    for info in targets:
        started = time.monotonic()
        if args.action == "kill":
            survivors: list[int] = []
            if info.cgroup:
                with contextlib.suppress(Exception):
                    survivors = Cgroup.attach(info.cgroup).kill()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info.init, signal.SIGKILL)
            took = (time.monotonic() - started) * 1000
            if survivors:
                print(f"{info.session}: {len(survivors)} processes survived", file=sys.stderr)
                status = 1
            else:
                print(f"{info.session}: killed ({took:.1f} ms)")
            continue
        if not info.cgroup:
            print(f"{info.session}: no cgroup: cannot {args.action}", file=sys.stderr)
            status = 1
            continue
        cg = Cgroup.attach(info.cgroup)
        done = cg.freeze() if args.action == "freeze" else cg.thaw()
        took = (time.monotonic() - started) * 1000
        verb = "frozen" if args.action == "freeze" else "thawed"
        if done:
            print(f"{info.session}: {verb} ({took:.1f} ms)")
        else:
            print(f"{info.session}: not {verb} within the time limit", file=sys.stderr)
            status = 1
    return status
