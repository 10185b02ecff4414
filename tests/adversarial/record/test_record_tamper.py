"""Tamper suite: edit the SQLite file directly (python sqlite3 and the sqlite3 CLI) at random
positions; every edit must be detected, at the right index.

Witness-only attacks (truncation, rollback to an older copy, a rewrite re-signed with the real
key) are in test_record_rollback.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from warden.errors import VerificationError
from warden.record import verify_log, writer
from warden.record.store.sqlite import SQLiteStore

from .helpers import SqlRunner, build_log, rewrite

N = 40
SEEDS = range(4)


def verify(db: Path, signer) -> None:  # type: ignore[no-untyped-def]
    store = SQLiteStore(db)
    try:
        verify_log(store, signer.verifier)
    finally:
        store.close()


def expect(db: Path, signer, index: int | None, match: str | None = None) -> VerificationError:  # type: ignore[no-untyped-def]
    with pytest.raises(VerificationError, match=match) as info:
        verify(db, signer)
    assert info.value.index == index, str(info.value)
    return info.value


@pytest.fixture(params=[False, True], ids=["per-entry", "batched"])
def log(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``per-entry``: every entry has its own signed checkpoint (no thinning), so even a rewrite
    with recomputed hashes is localised exactly; ``batched``: real batches, default thinning."""
    if not request.param:
        monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 1)
    db = tmp_path / "audit.db"
    signer = build_log(db, N, batched=request.param)
    verify(db, signer)  # the untouched log verifies
    return db, signer, request.param


@pytest.mark.parametrize("seed", SEEDS)
def test_delete_row(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    i = random.Random(seed).randrange(N - 1)
    sql(db, f"DELETE FROM entries WHERE idx = {i};")
    expect(db, signer, i, "missing")


def test_delete_last_row(log, sql: SqlRunner) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    sql(db, f"DELETE FROM entries WHERE idx = {N - 1};")
    expect(db, signer, N - 1, "truncated")


@pytest.mark.parametrize("seed", SEEDS)
def test_modify_row(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    i = random.Random(seed).randrange(N)
    sql(
        db,
        f"UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), 'ls /tmp', 'rm -rf')"
        f" AS BLOB) WHERE idx = {i};",
    )
    expect(db, signer, i, "edited")


@pytest.mark.parametrize("seed", SEEDS)
def test_change_one_character(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    rng = random.Random(seed)
    i = rng.randrange(N)
    pos = rng.randrange(1, 60)
    sql(
        db,
        f"UPDATE entries SET data = substr(data, 1, {pos - 1}) ||"
        f" CAST(char(unicode(substr(CAST(data AS TEXT), {pos}, 1)) + 1) AS BLOB) ||"
        f" substr(data, {pos + 1}) WHERE idx = {i};",
    )
    expect(db, signer, i)


@pytest.mark.parametrize("seed", SEEDS)
def test_flip_one_bit_keep_blob_type(log, seed: int) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    db, signer, _ = log
    rng = random.Random(seed)
    i = rng.randrange(N)
    with sqlite3.connect(db) as conn:
        (data,) = conn.execute("SELECT data FROM entries WHERE idx = ?", (i,)).fetchone()
        pos = rng.randrange(len(data))
        data = data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1 :]
        conn.execute("UPDATE entries SET data = ? WHERE idx = ?", (data, i))
    conn.close()
    expect(db, signer, i, "edited")
    expect(db, signer, i)


@pytest.mark.parametrize("seed", SEEDS)
def test_edit_tree_node_only(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, batched = log
    i = random.Random(seed).choice([k for k in range(N) if (k + 1) % 2 == 0])  # has parents
    sql(
        db,
        f"UPDATE entries SET nodes = substr(nodes, 1, 32) || zeroblob(length(nodes) - 32)"
        f" WHERE idx = {i};",
    )
    with pytest.raises(VerificationError, match="tree nodes") as info:
        verify(db, signer)
    got = info.value.index
    assert got is not None
    if batched:  # localised to the subtree the node covers, never after the edit
        span = (i + 1) & -(i + 1)  # the largest subtree completed at i
        assert i + 1 - span <= got <= i
    else:  # a signed checkpoint vouches for the entries: the node itself is the culprit
        assert got == i


@pytest.mark.parametrize("seed", SEEDS)
def test_swap_rows(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    i, j = sorted(random.Random(seed).sample(range(N), 2))
    sql(
        db,
        f"""UPDATE entries SET idx = -1 WHERE idx = {i};
                UPDATE entries SET idx = {i} WHERE idx = {j};
                UPDATE entries SET idx = {j} WHERE idx = -1;""",
    )
    expect(db, signer, i)


@pytest.mark.parametrize("seed", SEEDS)
def test_swap_data_only(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    i, j = sorted(random.Random(seed).sample(range(N), 2))
    sql(
        db,
        f"""CREATE TEMP TABLE t AS SELECT idx, data FROM entries WHERE idx IN ({i},{j});
                UPDATE entries SET data = (SELECT data FROM t WHERE idx = {j}) WHERE idx = {i};
                UPDATE entries SET data = (SELECT data FROM t WHERE idx = {i}) WHERE idx = {j};""",
    )
    expect(db, signer, i)


def test_insert_at_end(log, sql: SqlRunner) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    sql(db, f"INSERT INTO entries SELECT {N}, data, nodes FROM entries WHERE idx = 3;")
    expect(db, signer, N)


@pytest.mark.parametrize("seed", SEEDS)
def test_insert_in_middle(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    i = random.Random(seed).randrange(1, N)
    sql(
        db,
        f"""UPDATE entries SET idx = -(idx + 1) WHERE idx >= {i};
                UPDATE entries SET idx = -idx WHERE idx < 0;
                INSERT INTO entries SELECT {i}, data, nodes FROM entries WHERE idx = 0;""",
    )
    expect(db, signer, i)


@pytest.mark.parametrize("seed", SEEDS)
def test_truncate_tail_rows(log, sql: SqlRunner, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    i = random.Random(seed).randrange(1, N)
    sql(db, f"DELETE FROM entries WHERE idx >= {i};")
    expect(db, signer, i, "truncated")


@pytest.mark.parametrize("seed", SEEDS)
def test_rehashed_edit_without_key(log, seed: int) -> None:  # type: ignore[no-untyped-def]
    """The attacker recomputes every leaf and node hash but cannot sign."""
    db, signer, batched = log
    i = random.Random(seed).randrange(N)

    def edit(datas: list[bytes]) -> list[bytes]:
        datas[i] = datas[i].replace(b"ls /tmp", b"rm -rf")
        return datas

    rewrite(db, None, edit)
    with pytest.raises(VerificationError, match="signed checkpoint") as info:
        verify(db, signer)
    err = info.value
    assert err.index is not None
    if batched:
        assert err.index <= i  # localised to the batch (the signed checkpoint) holding it
    else:
        assert err.index == i


def test_forged_checkpoint_signature(log, sql: SqlRunner) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    sql(
        db,
        f"UPDATE checkpoints SET note = replace(note, '\n{N}\n', '\n{N}\n') || ''"
        f" WHERE size = {N};"
        "UPDATE checkpoints SET note = substr(note, 1, length(note) - 6) || 'AAAA=\n'"
        f" WHERE size = {N};",
    )
    with pytest.raises(VerificationError, match=f"size {N}"):
        verify(db, signer)


def test_payload_edit(log, sql: SqlRunner) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    sql(db, 'UPDATE payloads SET body = CAST(\'{"out":"nothing to see"}\' AS BLOB) WHERE idx = 8;')
    expect(db, signer, 8, "payload")


def test_payload_purge_is_not_tampering(log, sql: SqlRunner) -> None:  # type: ignore[no-untyped-def]
    db, signer, _ = log
    sql(db, "DELETE FROM payloads;")
    verify(db, signer)
