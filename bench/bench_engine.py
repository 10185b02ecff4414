"""In-process decision latency of the check engine over a mixed corpus.

    python bench/bench_engine.py [--passes 3] [--quick]

The corpus mixes every benign command and tool call of tests/corpus/benign, the held-out
attacks and benign commands of bench/holdout, and every rule example: several thousand distinct
actions, each judged once per pass (no result caching: every decision is computed from scratch).
Reported per stage:

- parse:   tree-sitter parse of shell commands alone (no walking);
- facts:   the whole lift from action to facts (parse, walk, semantics, secrets);
- rules:   rule and policy evaluation over ready facts;
- check:   Engine.check end to end, what a caller pays.

Percentiles come from the best of ``--passes`` passes (the one with the lowest median), which
filters out noise from other processes on a shared machine; the machine's load is printed.
Memory is the resident-set growth from a bare interpreter to a loaded, warmed engine.

The engine keeps a few bounded memos keyed on pieces that recur across *different* actions:
rule candidates per set of program / marker / operation names, path-index hits per path
string, host-allowlist answers per host. On pass 2 and later those also hit because the same
action was judged before, which flatters the best pass. So the first pass, where every action
is judged for the first time (``first`` below; it also pays one-time costs: lazy imports,
regex and RE2-set compilation, which land in its p99 and max), is timed and printed too.

``--buckets`` adds check-time percentiles per action shape: shell commands on the parser-free
fast path (``sh:simple``, ``sh:plain-list``), shell commands that need the parser
(``sh:parser``), and each tool-call kind.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one pass over 1,000 actions")
    ap.add_argument("--buckets", action="store_true", help="check percentiles per action shape")
    args = ap.parse_args()
    base_rss = rss_mb()
    t0 = time.perf_counter()
    from corpora import benign_actions, benign_commands, holdout_attacks, holdout_benign

    from warden.action import Action
    from warden.check.analyze import analyze
    from warden.check.engine import CheckContext, Engine
    from warden.check.policy.load import Layer, builtin_policy_path, load_policy
    from warden.check.rules.lint import EXAMPLE_CONTEXT, EXAMPLE_HOME, example_action
    from warden.check.rules.load import load_packs
    from warden.check.shell.walker import _PLAIN_LIST, _is_simple, _parser

    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rules = load_packs()
    engine = Engine(load_policy([Layer(builtin_policy_path(), "builtin")]), rules,
                    home=EXAMPLE_HOME)
    load_s = time.perf_counter() - t0

    items = benign_commands() + benign_actions() + holdout_attacks() + holdout_benign()
    examples = [ex for r in rules for ex in (*r.spec.examples.match, *r.spec.examples.no_match)]
    payloads = [i.payload for i in items] + examples
    actions = []
    for p in payloads:
        try:
            actions.append(example_action(p))
        except Exception:
            continue
    if args.quick:
        actions, args.passes = actions[:1000], 1
    contexts = [EXAMPLE_CONTEXT if a.kind.value == "shell" else CheckContext(home=EXAMPLE_HOME)
                for a in actions]
    paths = [engine.paths_for(a, c) for a, c in zip(actions, contexts, strict=False)]
    first: list[float] = []  # the cold pass: each action judged for the first time
    clock = time.perf_counter
    for a, c in zip(actions, contexts, strict=False):  # warms code paths and the memos above
        s = clock()
        engine.check(a, c)
        first.append(clock() - s)
    warm_rss = rss_mb()
    gc.collect()
    gc.freeze()  # what a long-lived engine process does after start-up

    parser = _parser()
    shell = [(a.command or "").encode() for a in actions if a.command is not None]

    def run_pass() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {"parse": [], "facts": [], "rules": [], "check": []}
        for src in shell:
            s = clock()
            parser.parse(src)
            out["parse"].append(clock() - s)
        for a, p in zip(actions, paths, strict=False):
            s = clock()
            facts = analyze(a, p)
            out["facts"].append(clock() - s)
            s = clock()
            engine.decide(a, facts, p)
            out["rules"].append(clock() - s)
        for a, c in zip(actions, contexts, strict=False):
            s = clock()
            engine.check(a, c)
            out["check"].append(clock() - s)
        return out

    passes = [run_pass() for _ in range(args.passes)]
    best = min(passes, key=lambda p: statistics.median(p["check"]))
    load = os.getloadavg()[0]
    print(f"engine: {len(engine.rules) + len(engine.combos)} rules; import {import_s * 1e3:.0f} ms,"
          f" load+compile {load_s * 1e3:.0f} ms; corpus {len(actions)} actions "
          f"({len(shell)} shell); load average {load:.2f}; best of {args.passes} passes")
    print(f"{'stage':<8} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'max us':>9} {'mean us':>9}")
    for stage, ts in best.items():
        ts = sorted(ts)
        n = len(ts)
        print(f"{stage:<8} {ts[n // 2] * 1e6:9.1f} {ts[int(n * 0.9)] * 1e6:9.1f} "
              f"{ts[min(n - 1, int(n * 0.99))] * 1e6:9.1f} {ts[-1] * 1e6:9.1f} "
              f"{statistics.fmean(ts) * 1e6:9.1f}")
    ts = sorted(first)
    n = len(ts)
    print(f"{'first':<8} {ts[n // 2] * 1e6:9.1f} {ts[int(n * 0.9)] * 1e6:9.1f} "
          f"{ts[min(n - 1, int(n * 0.99))] * 1e6:9.1f} {ts[-1] * 1e6:9.1f} "
          f"{statistics.fmean(ts) * 1e6:9.1f}   (check, cold pass: each action new)")
    if args.buckets:
        def shape(a: Action) -> str:
            if a.kind.value != "shell":
                return a.kind.value
            text = a.command or ""
            if _is_simple(text):
                return "sh:simple"
            return "sh:plain-list" if _PLAIN_LIST.fullmatch(text) else "sh:parser"

        shapes = [shape(a) for a in actions]
        print(f"{'shape':<14} {'n':>5} {'p50 us':>9} {'p99 us':>9} {'first p50':>10} "
              f"{'first p99':>10}")
        for name in sorted(set(shapes), key=lambda b: -shapes.count(b)):
            got = sorted(t for t, b in zip(best["check"], shapes, strict=True) if b == name)
            cold = sorted(t for t, b in zip(first, shapes, strict=True) if b == name)
            k = len(got)
            print(f"{name:<14} {k:>5} {got[k // 2] * 1e6:9.1f} "
                  f"{got[min(k - 1, int(k * 0.99))] * 1e6:9.1f} {cold[k // 2] * 1e6:10.1f} "
                  f"{cold[min(k - 1, int(k * 0.99))] * 1e6:10.1f}")
    total = sum(best["check"])
    print(f"throughput: {len(best['check']) / total:,.0f} decisions/s on one thread")
    print(f"memory: {warm_rss - base_rss:.1f} MB resident for imports, loaded engine and warm "
          f"caches (max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
