"""Benchmark of the audit log (layer 4): run ``python bench/bench_audit.py [--quick]``.

Measures, on this machine:
  * durable batched appends/s (one producer, append_nowait, synchronous=FULL), the CPU per
    append, and the producer's share of it that is the record's canonical encoding;
  * producers each waiting for their own durable ack: throughput and latency percentiles (one
    producer: the latency a hook or the MCP proxy pays per decision), with the CPU time and the
    context switches per acknowledged record (thread wake-ups bound that rate);
  * full verification (re-hash of every entry, every checkpoint) of N records, beside the raw
    SHA-256 limit (hashlib on the same leaf bytes, and on one large buffer);
  * inclusion and consistency proofs at N records: generation (from SQLite, 2,000 random proofs
    on a fresh reader, so its node cache warms during the run; then the same proofs without
    it) and verification.
Targets from the issue are printed beside each number.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from warden.record import AuditLog, verify_log
from warden.record.entry import encode_entry
from warden.record.merkle import leaf_hash, verify_consistency, verify_inclusion
from warden.record.rehash import CHUNK_LEVEL, rehash
from warden.record.store.sqlite import SQLiteStore


def record(i: int) -> dict[str, object]:
    return {
        "type": "decision",
        "time": 1795248600.123456 + i / 1000,  # a float, as the Guard's records carry
        "session": "s-8f3a2b",
        "action": {"kind": "shell", "command": f"ls -la /tmp/{i}", "cwd": "/home/agent"},
        "decision": {"verdict": "allow", "rules": [], "reason": "no rule matched"},
    }


def bench_batched(tmp: Path, n: int) -> tuple[float, float, float]:
    """Appends/s from one producer that does not wait (``append_nowait``) until the last one
    is durable, the CPU time per append (all threads of this process: the producer, the
    committer and SQLite), which a shared machine disturbs far less than the rate, and the
    producer thread's share of it (encoding and queueing; the rest is the writer thread and
    SQLite, which share the GIL with it). The records are built before the clock starts:
    building the dicts (~1.5-3 µs each here) is the engine's work, not the log's."""
    records = [record(i) for i in range(n)]
    with AuditLog.open(tmp / "batched.db") as log:
        log.append(record(-1))
        append = log.append_nowait
        c0 = time.process_time()
        p0 = time.thread_time()
        t0 = time.perf_counter()
        for rec in records:
            last = append(rec)
        producer = time.thread_time() - p0
        last.result()
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
    return n / dt, cpu / n, producer / n


def native_state() -> str:
    """Whether the optional C extension is in use (docs/audit.md §9): without it the type
    walk, the leaf hashes and the tree folding run as Python, ~4.5 us more CPU a record."""
    try:
        import warden.record._native  # noqa: F401
    except ImportError:
        return "absent: pure Python"
    return "in use"


def bench_encode(n: int) -> float:
    """Seconds of CPU per record to encode it (``encode_entry``: RFC 8785 canonical form and
    the leaf tail), on this thread alone: the producer's share of a batched append."""
    records = [record(i) for i in range(n)]
    c0 = time.process_time()
    for rec in records:
        encode_entry(rec)
    return (time.process_time() - c0) / n


#: producers -> (CPU seconds, voluntary and involuntary context switches) per acked record.
ACKED: dict[int, tuple[float, float, float]] = {}


def _acked_result(
    into: dict[int, tuple[float, float, float]],
    producers: int,
    lat: list[float],
    dt: float,
    r0: resource.struct_rusage,
    r1: resource.struct_rusage,
) -> tuple[float, float, float, float]:
    """Rate and latency median / p95 / p99 (ms) of one acked run; its CPU time and voluntary /
    involuntary context switches per acknowledged record go to ``into[producers]``."""
    n = max(len(lat), 1)
    into[producers] = (
        (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / n,
        (r1.ru_nvcsw - r0.ru_nvcsw) / n,
        (r1.ru_nivcsw - r0.ru_nivcsw) / n,
    )
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    return len(lat) / dt, statistics.median(lat) * 1e3, q[94] * 1e3, q[98] * 1e3


def bench_acked(tmp: Path, producers: int, seconds: float) -> tuple[float, float, float, float]:
    """Acknowledged appends/s and latency median / p95 / p99 (ms); also records, in ``ACKED``,
    the CPU time (all threads) and the context switches of this process per acknowledged
    record, which say where the time goes when the rate is bound by thread wake-ups."""
    lat: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    with AuditLog.open(tmp / "acked.db") as log:
        log.append(record(-1))

        def producer(k: int) -> None:
            mine = []
            i = 0
            while time.perf_counter() < stop:
                t = time.perf_counter()
                log.append(record(k * 10_000_000 + i))
                mine.append(time.perf_counter() - t)
                i += 1
            with lock:
                lat.extend(mine)

        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        threads = [threading.Thread(target=producer, args=(k,)) for k in range(producers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    return _acked_result(ACKED, producers, lat, dt, r0, r1)


def bench_acked_async(
    tmp: Path, producers: int, seconds: float
) -> tuple[float, float, float, float]:
    """As :func:`bench_acked`, with the producers coroutines on one event loop awaiting
    ``AuditLog.append_async`` (the writer thread commits; one loop hand-off per batch). CPU and
    context switches go to ``ACKED_ASYNC``."""
    lat: list[float] = []
    with AuditLog.open(tmp / "acked-async.db") as log:
        log.append(record(-1))

        async def producer(k: int, stop: float) -> None:
            mine = []
            i = 0
            while time.perf_counter() < stop:
                t = time.perf_counter()
                await log.append_async(record(k * 10_000_000 + i))
                mine.append(time.perf_counter() - t)
                i += 1
            lat.extend(mine)

        async def run() -> float:
            t0 = time.perf_counter()
            stop = t0 + seconds
            await asyncio.gather(*(producer(k, stop) for k in range(producers)))
            return time.perf_counter() - t0

        r0 = resource.getrusage(resource.RUSAGE_SELF)
        dt = asyncio.run(run())
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    return _acked_result(ACKED_ASYNC, producers, lat, dt, r0, r1)


#: producers -> the same three figures for the coroutine producers of ``bench_acked_async``.
ACKED_ASYNC: dict[int, tuple[float, float, float]] = {}


def build(db: Path, n: int) -> None:
    with AuditLog.open(db, unsafe_synchronous_normal=True) as log:
        receipts = [log.append_nowait(record(i)) for i in range(n)]
        receipts[-1].result()


def bench_verify(db: Path) -> dict[str, float]:
    """Full verification, and what bounds it: the same re-hash in one process, reading the
    rows alone, and SHA-256 alone (one call per leaf and per interior node, as RFC 9162 needs)."""
    store = SQLiteStore(db)
    out: dict[str, float] = {}
    try:
        vkey = _vkey(db)
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0, c0 = time.perf_counter(), time.process_time()
        report = verify_log(store, vkey)
        out["verify_s"] = time.perf_counter() - t0
        out["verify_cpu_s"] = time.process_time() - c0
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the re-hash helper, once reaped
        out["helper_cpu_s"] = (kids.ru_utime + kids.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        out["size"] = report.size
        t0 = time.perf_counter()
        res = rehash(store, report.size, set(), store.payloads(), parallel=False)
        out["one_process_s"] = time.perf_counter() - t0
        assert res.ok
        step = 1 << CHUNK_LEVEL
        sha = hashlib.sha256
        out["read_s"] = out["leaf_s"] = out["node_s"] = 0.0
        big: list[bytes] = []
        for c in range(0, report.size, step):  # chunk by chunk, as verification reads them
            t0 = time.perf_counter()
            rows = store.leaf_rows(c, c + step)
            t1 = time.perf_counter()
            leaves = [sha(d).digest() for d, _ in rows]
            t2 = time.perf_counter()
            it = iter(leaves)  # as many interior hashes as leaves (a tree has n - 1)
            nodes = [sha(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=False)]
            it = iter(leaves)
            nodes += [sha(b"\x01" + b + a).digest() for a, b in zip(it, it, strict=False)]
            t3 = time.perf_counter()
            out["read_s"] += t1 - t0
            out["leaf_s"] += t2 - t1
            out["node_s"] += t3 - t2
            if c < 4 * step:
                big += [d for d, _ in rows]
    finally:
        store.close()
    buf = b"".join(big)
    t0 = time.perf_counter()
    hashlib.sha256(buf).digest()
    out["mbps"] = len(buf) / (time.perf_counter() - t0) / 1e6
    return out


def _vkey(db: Path):  # type: ignore[no-untyped-def]
    from warden.record import load_verifier

    return load_verifier(db.with_suffix(".key"))


def bench_proofs(db: Path, reps: int) -> dict[str, float]:
    from warden.record import LogReader

    out: dict[str, float] = {}
    with LogReader.open(db) as reader:
        size = reader.size()
        cp = reader.checkpoint(_vkey(db))
        import random

        rng = random.Random(7)
        idxs = [rng.randrange(size) for _ in range(reps)]
        olds = [rng.randrange(1, size) for _ in range(reps)]
        leaves = {i: leaf_hash(reader.leaf(i)) for i in idxs}
        t = []
        proofs = []
        for i in idxs:
            t0 = time.perf_counter()
            proofs.append(reader.inclusion_proof(i, size))
            t.append(time.perf_counter() - t0)
        out["inclusion_gen_us"] = statistics.median(t) * 1e6
        t = []
        for i, p in zip(idxs, proofs, strict=True):
            t0 = time.perf_counter()
            verify_inclusion(i, size, leaves[i], p, cp.root)
            t.append(time.perf_counter() - t0)
        out["inclusion_verify_us"] = statistics.median(t) * 1e6
        roots = {}
        from warden.record.proofs import root_at

        for o in olds:
            roots[o] = root_at(reader.store, o)
        t, cproofs = [], []
        for o in olds:
            t0 = time.perf_counter()
            cproofs.append(reader.consistency_proof(o, size))
            t.append(time.perf_counter() - t0)
        out["consistency_gen_us"] = statistics.median(t) * 1e6
        t = []
        for o, p in zip(olds, cproofs, strict=True):
            t0 = time.perf_counter()
            verify_consistency(o, size, roots[o], cp.root, p)
            t.append(time.perf_counter() - t0)
        out["consistency_verify_us"] = statistics.median(t) * 1e6
        # the same proofs from a reader without the node cache (every node read from SQLite)
        from warden.record.proofs import NodeCache

        reader.node_cache = NodeCache(min_level=64)
        t = []
        for i in idxs:
            t0 = time.perf_counter()
            reader.inclusion_proof(i, size)
            t.append(time.perf_counter() - t0)
        out["inclusion_gen_nocache_us"] = statistics.median(t) * 1e6
        t = []
        for o in olds:
            t0 = time.perf_counter()
            reader.consistency_proof(o, size)
            t.append(time.perf_counter() - t0)
        out["consistency_gen_nocache_us"] = statistics.median(t) * 1e6
    return out


def tree_rows(tmp: Path, n_tree: int, rows: list[tuple[str, str, str]]) -> None:
    """Build a tree of ``n_tree`` records; add the verification and proof rows."""
    db = tmp / "tree.db"
    t0 = time.perf_counter()
    build(db, n_tree)
    print(f"(built {n_tree:,} records in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    v = bench_verify(db)
    size = int(v["size"])
    scale = 1_000_000 / size
    rows.append((f"full verify, {size:,} records", f"{v['verify_s']:.2f} s", "<= 2 s at 1M"))
    if size != 1_000_000:
        rows.append(("  scaled to 1M", f"{v['verify_s'] * scale:.2f} s", "<= 2 s"))
    rows.append(
        (
            "  CPU: this process / re-hash helper",
            f"{v['verify_cpu_s']:.2f} / {v['helper_cpu_s']:.2f} s",
            "",
        )
    )
    rows.append(("  the same re-hash in one process", f"{v['one_process_s']:.2f} s", ""))
    rows.append(("  floor, one core: read every row", f"{v['read_s']:.2f} s", ""))
    rows.append(("  floor, one core: SHA-256 of every leaf", f"{v['leaf_s']:.2f} s", ""))
    rows.append(("  floor, one core: SHA-256 of as many nodes", f"{v['node_s']:.2f} s", ""))
    floor = v["read_s"] + v["leaf_s"] + v["node_s"]
    rows.append(("  floor: those three split over two cores", f"{floor / 2:.2f} s", ""))
    rows.append(("  raw SHA-256 throughput (one buffer)", f"{v['mbps']:,.0f} MB/s", ""))
    p = bench_proofs(db, 2000)
    rows.append(
        (f"inclusion proof generate @ {size:,}", f"{p['inclusion_gen_us']:.0f} us", "<= 200 us")
    )
    rows.append(("inclusion proof verify", f"{p['inclusion_verify_us']:.1f} us", "<= 20 us"))
    rows.append(
        (
            f"consistency proof generate @ {size:,}",
            f"{p['consistency_gen_us']:.0f} us",
            "<= 200 us",
        )
    )
    rows.append(("consistency proof verify", f"{p['consistency_verify_us']:.1f} us", "<= 20 us"))
    rows.append(
        (
            "  generate without the node cache: incl. / cons.",
            f"{p['inclusion_gen_nocache_us']:.0f} / {p['consistency_gen_nocache_us']:.0f} us",
            "",
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    ap.add_argument("--records", type=int, help="records for verify/proof benchmarks")
    ap.add_argument(
        "--acked-only", action="store_true", help="only the acknowledged-append rows (A/B runs)"
    )
    args = ap.parse_args()
    n_batch = 50_000 if args.quick else 200_000
    n_tree = args.records or (100_000 if args.quick else 1_000_000)
    secs = 2.0 if args.quick else 5.0
    rows: list[tuple[str, str, str]] = []
    load0 = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="warden-bench-") as d:
        tmp = Path(d)
        rate, cpu, producer = bench_batched(tmp, n_batch)
        rows.append((f"durable batched appends ({n_batch:,})", f"{rate:,.0f} /s", ">= 100,000 /s"))
        rows.append(("  CPU per batched append (all threads)", f"{cpu * 1e6:.2f} us", ""))
        rows.append(("  of which the producer thread", f"{producer * 1e6:.2f} us", ""))
        enc = bench_encode(n_batch)
        rows.append(("  of which canonical encoding (producer)", f"{enc * 1e6:.2f} us", ""))
        rows.append(("  C extension warden.record._native", native_state(), "(setup.py builds it)"))
        thr, med, p95, p99 = bench_acked(tmp, 1, secs)
        rows.append(("acked appends, 1 producer", f"{thr:,.0f} /s", ""))
        rows.append(
            (
                "  latency of one acked append p50 / p99",
                f"{med * 1e3:.0f} / {p99 * 1e3:.0f} us",
                "(paid per hook/MCP decision)",
            )
        )
        for producers in (16, 64):
            thr, med, p95, p99 = bench_acked(tmp, producers, secs)
            rows.append((f"acked appends, {producers} producers", f"{thr:,.0f} /s", ">= 20,000 /s"))
            rows.append(
                (
                    "  latency median / p95 / p99",
                    f"{med:.2f} / {p95:.2f} / {p99:.2f} ms",
                    "median <= 3 ms",
                )
            )
            cpu_rec, vcs, ivcs = ACKED[producers]
            rows.append(
                (
                    "  per record: CPU / context switches",
                    f"{cpu_rec * 1e6:.0f} us / {vcs:.2f} + {ivcs:.2f}",
                    "(voluntary + involuntary)",
                )
            )
        for producers in (16, 64):
            thr, med, p95, p99 = bench_acked_async(tmp, producers, secs)
            rows.append(
                (
                    f"acked appends, {producers} async producers (one event loop)",
                    f"{thr:,.0f} /s",
                    ">= 20,000 /s",
                )
            )
            rows.append(
                (
                    "  latency median / p95 / p99",
                    f"{med:.2f} / {p95:.2f} / {p99:.2f} ms",
                    "median <= 3 ms",
                )
            )
            cpu_rec, vcs, ivcs = ACKED_ASYNC[producers]
            rows.append(
                (
                    "  per record: CPU / context switches",
                    f"{cpu_rec * 1e6:.0f} us / {vcs:.2f} + {ivcs:.2f}",
                    "(voluntary + involuntary)",
                )
            )
        if not args.acked_only:
            tree_rows(tmp, n_tree, rows)
    w = max(len(r[0]) for r in rows)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"# {os.cpu_count()} CPUs, load average before/after: {load0} / {load}")
    print(f"{'benchmark':<{w}}  {'measured':>24}  target")
    for name, value, target in rows:
        print(f"{name:<{w}}  {value:>24}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
