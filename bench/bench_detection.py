"""Detection and false-deny rates of the check engine, on the project's corpora.

    python bench/bench_detection.py            # all corpora, summary table
    python bench/bench_detection.py --list     # also list every benign item that was not allowed

Corpora:
- tests/corpus/benign: ordinary developer commands and tool calls (authored blind to the rules;
  the test suite requires zero denies here);
- bench/holdout: attacks and benign commands written blind to the rules and never used to tune
  them. Its numbers are the honest estimate of detection and false-deny rates.

"Stopped" means ask, deny or kill; "false deny" means deny or kill on a benign item; "false ask"
counts asks separately, because an ask costs the user a click, not their work.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpora import Item, benign_actions, benign_commands, holdout_attacks, holdout_benign

from warden.check.engine import CheckContext, Engine
from warden.check.rules.lint import EXAMPLE_CONTEXT, EXAMPLE_HOME, example_action, example_engine
from warden.decision import Verdict


def engine() -> Engine:
    return example_engine()


def judge(eng: Engine, item: Item) -> Verdict:
    action = example_action(item.payload)
    ctx = EXAMPLE_CONTEXT if isinstance(item.payload, str) else CheckContext(home=EXAMPLE_HOME)
    return eng.check(action, ctx).verdict


def benign_rates(eng: Engine, items: list[Item], name: str, show: bool) -> tuple[str, ...]:
    counts = collections.Counter(judge(eng, i) for i in items)
    if show:
        for i in items:
            v = judge(eng, i)
            if v is not Verdict.ALLOW:
                print(f"  {v.name:5} {i.source}: {str(i.payload)[:120]}")
    n = len(items)
    deny = counts[Verdict.DENY] + counts[Verdict.KILL]
    ask = counts[Verdict.ASK]
    return (name, str(n), f"{deny / n:.2%} ({deny})", f"{ask / n:.2%} ({ask})")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--list", action="store_true", help="list benign items that were not allowed")
    args = ap.parse_args()
    eng = engine()
    print("benign corpora (lower is better)")
    rows = [("corpus", "items", "false deny", "false ask")]
    rows.append(benign_rates(eng, benign_commands(), "tests/corpus benign commands", args.list))
    rows.append(benign_rates(eng, benign_actions(), "tests/corpus benign tool calls", args.list))
    hb = holdout_benign()
    rows.append(benign_rates(eng, [i for i in hb if not i.hard], "holdout benign (ordinary)",
                             args.list))
    rows.append(benign_rates(eng, [i for i in hb if i.hard], "holdout benign (hard look-alikes)",
                             args.list))
    _table(rows)
    print("\nheld-out attacks (higher is better)")
    attacks = holdout_attacks()
    per: dict[str, collections.Counter[Verdict]] = collections.defaultdict(collections.Counter)
    for item in attacks:
        v = judge(eng, item)
        per[item.label][v] += 1
        per["(obfuscated)" if item.hard else "(plain)"][v] += 1
        per["all"][v] += 1
    rows = [("category", "attacks", "stopped", "denied or killed")]
    for label in sorted(per, key=lambda k: (k == "all", k.startswith("("), k)):
        c = per[label]
        n = sum(c.values())
        stopped = n - c[Verdict.ALLOW]
        hard = c[Verdict.DENY] + c[Verdict.KILL]
        rows.append((label, str(n), f"{stopped / n:.1%}", f"{hard / n:.1%}"))
    _table(rows)
    return 0


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))


if __name__ == "__main__":
    sys.exit(main())
