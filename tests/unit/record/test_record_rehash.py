"""The bulk re-hash agrees with the naive tree across chunk boundaries and notices edits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from warden.record import AuditLog
from warden.record.merkle import leaf_hash, mth
from warden.record.rehash import rehash
from warden.record.store.sqlite import SQLiteStore


def make(tmp_path: Path, n: int) -> Path:
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        receipts = [
            log.append_nowait({"type": "x", "n": i}, payload={"p": i} if i % 5 == 0 else None)
            for i in range(n)
        ]
        for r in receipts:
            r.result(30)
    return db


@pytest.mark.parametrize("n", [1, 7, 8, 9, 63, 64, 65, 130])
@pytest.mark.parametrize("chunk_level", [2, 3, 16])
def test_roots_match_naive(tmp_path: Path, n: int, chunk_level: int) -> None:
    db = make(tmp_path, n)
    store = SQLiteStore(db)
    try:
        leaves = [leaf_hash(d) for _, d, _ in store.entries()]
        sizes = set(range(1, n + 1))
        res = rehash(store, n, sizes, store.payloads(), chunk_level=chunk_level)
        assert res.ok, res.problem
        for s in sizes:
            assert res.roots[s] == mth(leaves[:s])
    finally:
        store.close()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), '\"x\"', '\"y\"') AS BLOB)"
        " WHERE idx = 37",
        "UPDATE entries SET nodes = zeroblob(length(nodes)) WHERE idx = 39",
        "UPDATE entries SET nodes = nodes || zeroblob(32) WHERE idx = 38",
        "DELETE FROM entries WHERE idx = 12",
        "UPDATE payloads SET body = CAST('{}' AS BLOB) WHERE idx = 35",
        "UPDATE entries SET nodes = substr(nodes, 1, 224) || zeroblob(32) WHERE idx = 63",
    ],
)
@pytest.mark.parametrize("chunk_level", [2, 3, 5])
def test_edits_are_noticed(tmp_path: Path, sql: str, chunk_level: int) -> None:
    db = make(tmp_path, 70)
    with sqlite3.connect(db) as c:
        c.execute(sql)
    c.close()
    store = SQLiteStore(db)
    try:
        res = rehash(store, 70, {70}, store.payloads(), chunk_level=chunk_level)
        assert not res.ok, f"rehash accepted a tampered log: {sql}"
    finally:
        store.close()
