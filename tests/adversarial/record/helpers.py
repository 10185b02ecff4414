"""Helpers of the tamper suites: build logs, edit the SQLite file behind warden's back."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from warden.record import AuditLog, NoteSigner
from warden.record.checkpoint import Checkpoint
from warden.record.merkle import CompactRange, leaf_hash


def record(i: int) -> dict[str, object]:
    return {
        "type": "decision",
        "time": f"2026-11-21T06:{i // 60:02d}:{i % 60:02d}Z",
        "session": "s-7",
        "action": {"kind": "shell", "command": f"ls /tmp/{i}"},
        "decision": {"verdict": "allow" if i % 3 else "deny"},
    }


def build_log(db: Path, n: int, *, batched: bool = False) -> NoteSigner:
    """A log of ``n`` entries; one checkpoint per entry unless ``batched``."""
    with AuditLog.open(db) as log:
        if batched:
            receipts = [
                log.append_nowait(record(i), payload={"out": f"secret {i}"} if i % 4 == 0 else None)
                for i in range(n)
            ]
            for r in receipts:
                r.result(30)
        else:
            for i in range(n):
                log.append(record(i), payload={"out": f"secret {i}"} if i % 4 == 0 else None)
        return log.signer


SqlRunner = Callable[[Path, str], None]


def run_python(db: Path, sql: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.executescript(sql)
    conn.close()


def run_cli(db: Path, sql: str) -> None:
    subprocess.run(["sqlite3", str(db)], input=sql, text=True, check=True, capture_output=True)


TOOLS: dict[str, SqlRunner] = {"python": run_python}
if shutil.which("sqlite3"):
    TOOLS["sqlite3-cli"] = run_cli


def rewrite(
    db: Path, signer: NoteSigner | None, mutate: Callable[[list[bytes]], list[bytes]]
) -> None:
    """An attacker who recomputes every hash after editing entries (and re-signs if holding
    the key): rows, node blobs and, with ``signer``, every checkpoint."""
    conn = sqlite3.connect(db)
    datas = [bytes(d) for (d,) in conn.execute("SELECT data FROM entries ORDER BY idx")]
    datas = mutate(datas)
    sizes = [s for (s,) in conn.execute("SELECT size FROM checkpoints ORDER BY size")]
    tree = CompactRange()
    rows, roots = [], {}
    for i, d in enumerate(datas):
        rows.append((i, d, b"".join(tree.append(leaf_hash(d)))))
        roots[i + 1] = tree.root()
    conn.execute("DELETE FROM entries")
    conn.executemany("INSERT INTO entries VALUES (?,?,?)", rows)
    if signer is not None:
        origin = signer.name
        conn.execute("DELETE FROM checkpoints")
        conn.execute("DELETE FROM cosignatures")
        kept = [s for s in sizes if s <= len(datas)] or [len(datas)]
        if kept[-1] != len(datas):
            kept.append(len(datas))
        for s in kept:
            cp = Checkpoint(origin, s, roots[s]).sign(signer)
            conn.execute("INSERT INTO checkpoints VALUES (?,?)", (s, cp.text()))
    conn.commit()
    conn.close()
