"""Start-up cost of a hook: one ``warden check`` process, from process start to the answer.

    python bench/bench_startup.py [--runs 40] [--no-audit] [--hook] [--against DIR]
                                  [--payload JSON]

Coding agents start one hook process per tool call, so this is the latency an agent feels. Each
run starts ``warden check`` (as the ``warden`` console script does: ``from warden.cli.main
import main``) with a Claude Code ``PreToolUse`` payload on stdin (by default a ``Bash`` call
of ``ls``) under the default policy, with the audit log enabled, in a fresh home (``XDG_*``
directories in a temporary directory, so no user policy is read). ``--hook`` measures ``warden
hook claude-code`` (the command agents' settings run) instead. The first run of each variant
fills the compiled-engine cache and is reported apart ("cold"); the rest are "warm", the steady
state of an agent session.

``--against DIR`` measures a second source tree (a copy of ``src/`` from before a change) in
the same window, interleaving the two run by run, so that load from other processes on a
shared machine hits both alike. ``python -c pass`` is measured too: the floor no Python hook
goes below, and ``import msgspec`` (the models' serialisation library, which every path of
warden needs): the floor of any warden process. Bytecode is cached in the temporary directory
(as an installed package has its ``.pyc`` files), whatever ``PYTHONDONTWRITEBYTECODE`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: What the ``warden`` console script runs (no ``runpy``, unlike ``python -m warden``).
_WARDEN = [sys.executable, "-c", "import sys; from warden.cli.main import main; sys.exit(main())"]

DEFAULT_PAYLOAD = {
    "session_id": "bench",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "ls"},
    "cwd": "/tmp",
}


def _env(root: Path, src: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "WARDEN_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    home = root / name
    for sub in ("config", "data", "cache", "state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"), "PYTHONPATH": str(src),
        "PYTHONPYCACHEPREFIX": str(root / ("pyc-" + name)),
    })  # fmt: skip
    return env


def _once(argv: list[str], env: dict[str, str], stdin: bytes) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(argv, input=stdin, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 10, 20, 30):
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        raise SystemExit(f"{argv}: exit {proc.returncode}")
    return elapsed, proc.returncode


def _summary(label: str, times: list[float]) -> str:
    ts = sorted(times)
    n = len(ts)
    p99 = ts[min(n - 1, round(0.99 * (n - 1)))]
    return (f"{label:<24} median {statistics.median(ts) * 1e3:7.1f} ms   p99 {p99 * 1e3:7.1f} ms"
            f"   min {ts[0] * 1e3:7.1f} ms   (n={n})")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=40, help="warm runs per variant")
    ap.add_argument("--no-audit", action="store_true", help="also measure --no-audit")
    ap.add_argument("--hook", action="store_true", help="run `warden hook claude-code`")
    ap.add_argument("--against", type=Path, metavar="DIR", help="a second src/ tree to compare")
    ap.add_argument("--payload", help="hook payload JSON (default: Bash `ls`)")
    args = ap.parse_args()
    payload = (args.payload or json.dumps(DEFAULT_PAYLOAD)).encode()
    trees = {"this tree": SRC}
    if args.against:
        trees["against"] = args.against.resolve()
    with tempfile.TemporaryDirectory(prefix="warden-bench-") as tmp:
        root = Path(tmp)
        variants: dict[str, tuple[list[str], dict[str, str]]] = {}
        command = ["hook", "claude-code"] if args.hook else ["check"]
        for i, (name, src) in enumerate(trees.items()):
            env = _env(root, src, f"t{i}")
            variants[f"{name}: audit"] = ([*_WARDEN, *command], env)
            if args.no_audit:
                variants[f"{name}: no audit"] = ([*_WARDEN, *command, "--no-audit"], env)
        floor_env = _env(root, SRC, "floor")
        variants["python -c pass"] = ([sys.executable, "-c", "pass"], floor_env)
        variants["import msgspec"] = ([sys.executable, "-c", "import msgspec"], floor_env)
        cold: dict[str, float] = {}
        codes: dict[str, int] = {}
        for label, (argv, env) in variants.items():
            cold[label], codes[label] = _once(argv, env, payload)
        warm: dict[str, list[float]] = {label: [] for label in variants}
        for _ in range(args.runs):  # interleaved: load spikes hit every variant alike
            for label, (argv, env) in variants.items():
                warm[label].append(_once(argv, env, payload)[0])
        load = os.getloadavg()
        print(f"warden {' '.join(command)}; payload {payload.decode()[:50]}...; "
              f"load average {load[0]:.2f} {load[1]:.2f}; {os.cpu_count()} CPUs")  # fmt: skip
        for label in variants:
            print(_summary(label, warm[label]) + f"   cold {cold[label] * 1e3:6.1f} ms"
                  f"   exit {codes[label]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
