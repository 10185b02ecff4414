"""Benchmark of containment (layer 2): run ``python bench/bench_contain.py [--quick]``.

Measures, on this machine (targets from issue 4 beside each number):
  * added start-up of ``warden run`` over a plain exec of ``true``: the sandbox set-up alone
    (in process: fork, namespaces, mounts, cgroup, Landlock, seccomp, exec, exit and clean-up),
    and the whole ``warden run -q --no-audit -- true`` command (Python start-up included);
  * freeze and kill of a 1,000-process tree, half of it setsid'd and double-forked: time until
    the kernel reports the whole cgroup frozen / empty, and the survivors (must be 0).
``--timeline`` instead prints where start-up goes: the median time of each step of 30 runs,
from the stamps every process of a run writes when ``WARDEN_TIMELINE`` names a file.
Needs what ``warden run`` needs (``warden doctor``); run as root or in a delegated cgroup.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from warden.check.policy.load import default_layers, load_policy
from warden.contain import sessions
from warden.contain.cgroup import Cgroup, cgroup2_root
from warden.contain.spec import build_spec
from warden.contain.supervisor import run_contained

SWARM = """
import os, sys, time
n, exec_sleep = int(sys.argv[1]), sys.argv[2] == "exec"
for i in range(n):
    if os.fork() == 0:
        if i % 2:
            os.setsid()
            if os.fork():
                os._exit(0)
        if exec_sleep:
            os.execv("/bin/sleep", ["sleep", "600"])
        time.sleep(600)
        os._exit(0)
open("ready", "w").close()
time.sleep(600)
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_startup(ws: Path, runs: int) -> None:
    policy = load_policy(default_layers(str(ws)))
    plain, inproc, command = [], [], []
    warden = str(Path(sys.executable).with_name("warden"))
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(["/bin/true"], check=True)
        plain.append((time.perf_counter() - t) * 1000)
        spec = build_spec(policy, ["/bin/true"], workspace=str(ws))
        t = time.perf_counter()
        result = run_contained(spec, audit=None, net_deny=policy.net_deny)
        inproc.append((time.perf_counter() - t) * 1000)
        assert result.exit_code == 0
        t = time.perf_counter()
        subprocess.run([warden, "run", "-q", "--no-audit", "--workspace", str(ws), "--",
                        "/bin/true"], check=True)  # fmt: skip
        command.append((time.perf_counter() - t) * 1000)
    base = statistics.median(plain)
    print(f"start-up ({runs} runs; target: added median <= 10 ms; {_favordynmods()})")
    print(f"  plain exec of true:               median {base:6.2f} ms")
    print(f"  sandbox set-up, in process:       median {statistics.median(inproc):6.2f} ms "
          f"(added {statistics.median(inproc) - base:6.2f} ms), p90 {_pct(inproc, 0.9):6.2f} ms")
    print(f"  `warden run -- true` command:     median {statistics.median(command):6.2f} ms "
          f"(added {statistics.median(command) - base:6.2f} ms; Python start-up included)")


def bench_timeline(ws: Path, runs: int, gap: float = 0.0) -> None:
    """Where start-up goes: every process of a run stamps its steps (``WARDEN_TIMELINE``,
    ``stage.stamp``); the median time of each step since ``run_contained`` was called.
    ``gap``: seconds between runs (back to back, the kernel skips the cgroup move's grace
    period; a real run seldom follows another within one)."""
    policy = load_policy(default_layers(str(ws)))
    steps: dict[str, list[float]] = {}
    with tempfile.NamedTemporaryFile(prefix="warden-timeline-", dir="/var/tmp") as fh:
        os.environ["WARDEN_TIMELINE"] = fh.name
        try:
            for _ in range(runs):
                time.sleep(gap)
                spec = build_spec(policy, ["/bin/true"], workspace=str(ws))
                os.truncate(fh.name, 0)
                assert run_contained(spec, audit=None, net_deny=policy.net_deny).exit_code == 0
                lines = [line.rsplit(" ", 1) for line in Path(fh.name).read_text().splitlines()]
                start = int(lines[0][1])
                for step, ns in lines:
                    steps.setdefault(step, []).append((int(ns) - start) / 1e6)
        finally:
            del os.environ["WARDEN_TIMELINE"]
    print(f"start-up timeline ({runs} runs of true, {gap:g} s apart; ms since run_contained, "
          "median [p10 p90])")
    for step, values in sorted(steps.items(), key=lambda kv: statistics.median(kv[1])):
        spread = f"[{_pct(values, 0.1):6.2f} {_pct(values, 0.9):6.2f}]"
        some = f"  (in {len(values)} runs)" if len(values) != runs else ""
        print(f"  {statistics.median(values):7.2f} {spread}  {step}{some}")


def _favordynmods() -> str:
    """Whether cgroup moves skip the RCU grace period (cgroup.Cgroup.add): 4-13 ms here."""
    root = cgroup2_root()
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) > 4 and parts[4] == root:
                return "cgroup2 favordynmods" + ("" if "favordynmods" in line else ": no")
    return "no cgroup2"


def bench_tree(ws: Path, n: int, kind: str) -> None:
    """``kind``: "fork" (copies of a Python process) or "exec" (each exec's /bin/sleep)."""
    policy = load_policy(default_layers(str(ws)))
    read = sorted({sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)})
    (ws / "ready").unlink(missing_ok=True)
    spec = build_spec(policy, [sys.executable, "-c", SWARM, str(n), kind], workspace=str(ws),
                      extra_read=read)  # fmt: skip
    # n processes, plus the unreaped zombies of the n/2 intermediate parents of double forks
    spec = type(spec)(**{**spec.__dict__, "pids": 2 * n + 100})
    done: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: done.update(r=run_contained(spec, audit=None, net_deny=())), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 120
    while not (ws / "ready").exists():
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the process tree did not start")
        time.sleep(0.01)
    info = next(r for r in sessions.runs() if r.session == spec.session)
    assert info.cgroup is not None
    cg = Cgroup.attach(info.cgroup)
    count = len(cg.pids())
    t = time.perf_counter()
    frozen = cg.freeze()
    freeze_ms = (time.perf_counter() - t) * 1000
    cg.thaw()
    t = time.perf_counter()
    survivors = cg.kill()
    kill_ms = (time.perf_counter() - t) * 1000
    thread.join(30)
    what = "Python forks" if kind == "fork" else "/bin/sleep each"
    print(f"process tree of {count} processes ({what}; {n // 2} setsid'd and double-forked)")
    print(f"  freeze: {freeze_ms:7.2f} ms until the kernel reports it frozen ({frozen}); "
          "target <= 20 ms")
    print(f"  kill:   {kill_ms:7.2f} ms until the cgroup is empty; {len(survivors)} survivors; "
          "target <= 100 ms, none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, a smaller tree")
    parser.add_argument("--timeline", action="store_true",
                        help="only the start-up timeline (where each step of a run ends)")
    parser.add_argument("--gap", type=float, default=0.0, metavar="SECONDS",
                        help="with --timeline: pause between runs (default 0: back to back)")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="warden-bench-", dir="/var/tmp") as tmp:
        ws = Path(tmp)
        if args.timeline:
            bench_timeline(ws, 5 if args.quick else 30, args.gap)
            return 0
        bench_startup(ws, 5 if args.quick else 30)
        for kind in ("exec", "fork"):
            bench_tree(ws, 200 if args.quick else 1000, kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
