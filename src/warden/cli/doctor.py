"""``warden doctor``: what this kernel offers for containment, and what ``warden run`` needs."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]

EPILOG = """\
warden run needs: user, network, mount and pid namespaces; Landlock; seccomp filters.
It also wants: Landlock ABI >= 6 (signal and abstract-socket scoping), a cgroup v2 it can create
(freeze, kill, limits). Without one of these it refuses to run unless --allow-weaker is given.

examples:
  warden doctor
  warden doctor --json
"""


def register(sub: Any, summary: str) -> None:
    p = sub.add_parser("doctor", help=summary, description=summary, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--json", action="store_true", help="the probe's findings as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from warden.contain.probe import features_text, probe

    features = probe()
    launcher = _launcher()
    if args.json:
        print(json.dumps({**dataclasses.asdict(features), "launcher": launcher}, indent=2,
                         default=str))  # fmt: skip
    else:
        print(features_text(features))
        print(f"warden run starts the sandbox with: {launcher}")
    ok = (features.userns_nested and features.landlock_abi >= 1 and features.seccomp_filter)
    return 0 if ok else 1


def _launcher() -> str:
    """Which of ``warden run``'s two stages this installation uses, and why."""
    import os

    from warden.contain import launch

    try:
        path = launch.executable()
    except launch.LauncherMissing as exc:
        return f"nothing: {exc}"
    if path is not None:
        return f"the native launcher ({path})"
    why = (f"{launch.ENV}=python" if os.environ.get(launch.ENV) == "python"
           else "the native launcher was not built: no C compiler at install time")  # fmt: skip
    return f"the Python stage ({why}; start-up is slower)"
