"""The performance paths give the same answers as the simple ones, and fail closed.

* the two-process re-hash equals the one-process re-hash, notices edits wherever they fall
  (its own chunks or the helper's), and survives the helper dying or answering garbage;
* the multi-row INSERT stores every row of batches of awkward sizes at the right index, and
  blobs bound as ``bytearray`` are stored as the very BLOBs ``bytes`` would give;
* acknowledged producers (waiter locks, gather window) each get their own durable index;
* the digit-run check of the canonical fast path only ever costs the slow path.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import rfc8785

from warden.record import AuditLog, canonical_json, rehash_chunk
from warden.record import rehash as rehash_mod
from warden.record.entry import Payload
from warden.record.merkle import CompactRange, leaf_hash, mth
from warden.record.rehash import rehash
from warden.record.rehash_chunk import (
    ChunkSummary,
    check_chunk,
    decode_result,
    encode_result,
)
from warden.record.store.base import StoreConflict
from warden.record.store.sqlite import INSERT_ROWS, SQLiteStore


def make(tmp_path: Path, n: int) -> Path:
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        receipts = [
            log.append_nowait({"type": "x", "n": i}, payload={"p": i} if i % 9 == 0 else None)
            for i in range(n)
        ]
        for r in receipts:
            r.result(30)
    return db


@pytest.fixture(scope="module")
def db130(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make(tmp_path_factory.mktemp("fast"), 130)


#: Longest a chunk of this process waits for the helper's first answer (see helper_answers).
HELPER_WAIT = 5.0


@pytest.fixture
def helper_answers(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Slow this process's chunks down (a small log is otherwise done before the helper has
    started) and record every answer the helper process gives. Until the helper has answered
    once (at most HELPER_WAIT seconds), this process's chunks wait for it: on a busy machine
    (load 12+) starting the helper's interpreter took longer than all of this process's
    chunks, and the helper then answered nothing."""
    answers: list[object] = []
    local, decode = rehash_mod._local, rehash_mod.decode_result

    def slow_local(*args: object) -> bool:
        deadline = time.monotonic() + HELPER_WAIT
        while not answers and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.02)
        return local(*args)  # type: ignore[arg-type]

    def counted(stream: object) -> object:
        res = decode(stream)  # type: ignore[arg-type]
        answers.append(res)
        return res

    monkeypatch.setattr(rehash_mod, "_local", slow_local)
    monkeypatch.setattr(rehash_mod, "decode_result", counted)
    return answers


@pytest.mark.parametrize("chunk_level", [2, 3, 4])
def test_parallel_equals_sequential(
    db130: Path, chunk_level: int, helper_answers: list[object]
) -> None:
    store = SQLiteStore(db130)
    try:
        leaves = [leaf_hash(d) for _, d, _ in store.entries()]
        sizes = set(range(1, 131))
        par = rehash(store, 130, sizes, store.payloads(), chunk_level=chunk_level)
        assert helper_answers, "the helper process answered no chunk"
        seq = rehash(store, 130, sizes, store.payloads(), chunk_level=chunk_level, parallel=False)
        assert par.ok and seq.ok, (par.problem, seq.problem)
        assert par.roots == seq.roots
        assert all(par.roots[s] == mth(leaves[:s]) for s in sizes)
    finally:
        store.close()


@pytest.mark.parametrize("index", [0, 5, 64, 101, 127, 128, 129])
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), '\"x\"', '\"y\"') AS BLOB)"
        " WHERE idx = {i}",
        "UPDATE entries SET nodes = zeroblob(length(nodes)) WHERE idx = {i}",
        "UPDATE entries SET nodes = nodes || zeroblob(32) WHERE idx = {i}",
        "UPDATE entries SET data = NULL WHERE idx = {i}",  # the schema forbids it: an edit may not
        "UPDATE entries SET nodes = 7 WHERE idx = {i}",
        "DELETE FROM entries WHERE idx = {i}",
    ],
)
def test_edits_noticed_in_either_worker(
    tmp_path: Path, index: int, sql: str, helper_answers: list[object]
) -> None:
    db = make(tmp_path, 130)
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA ignore_check_constraints=1")
        try:
            c.execute(sql.format(i=index))
        except sqlite3.IntegrityError:  # NOT NULL: rebuild the table without it
            c.executescript(
                "CREATE TABLE e2 (idx INTEGER PRIMARY KEY, data BLOB, nodes BLOB);"
                "INSERT INTO e2 SELECT * FROM entries; DROP TABLE entries;"
                "ALTER TABLE e2 RENAME TO entries;"
            )
            c.execute(sql.format(i=index))
    c.close()
    store = SQLiteStore(db)
    try:
        for parallel in (True, False):
            res = rehash(store, 130, {130}, store.payloads(), chunk_level=3, parallel=parallel)
            assert not res.ok, f"rehash (parallel={parallel}) accepted: {sql} at {index}"
        # and the helper alone finds it in its chunk: run it on that chunk directly (the last
        # blob of a full chunk holds hashes above the chunk: the caller checks that one)
        if index < 128 and (index + 1) % 8:
            c = index >> 3
            proc = subprocess.Popen(
                [sys.executable, "-I", rehash_chunk.__file__, str(db)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            out, _ = proc.communicate(f"{c << 3} 8 3 \n\n".encode(), timeout=30)
            assert isinstance(decode_result(io.BytesIO(out)), str), "the helper accepted it"
    finally:
        store.close()


def test_helper_killed_or_lying_falls_back(db130: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper that dies, or whose answers are garbage, never makes a bad log pass or a good
    log fail: its chunks are re-hashed in the calling process."""
    store = SQLiteStore(db130)
    want = rehash(store, 130, {7, 64, 130}, store.payloads(), chunk_level=2, parallel=False)
    start = rehash_mod._Helper.start
    seen: list[subprocess.Popen[bytes]] = []

    def killed(store_: SQLiteStore, job: object) -> object:
        helper = start(store_, job)  # type: ignore[arg-type]
        assert helper is not None
        helper._proc.kill()
        seen.append(helper._proc)
        return helper

    try:
        monkeypatch.setattr(rehash_mod._Helper, "start", staticmethod(killed))
        got = rehash(store, 130, {7, 64, 130}, store.payloads(), chunk_level=2)
        assert seen and got.ok and got.roots == want.roots
        for junk in (b"\x00\x00\x00\x02", b"\x00\x00\x00\x01\x00\x00\x00\x05abc", b""):
            with pytest.raises(ValueError):
                decode_result(io.BytesIO(junk))
    finally:
        store.close()


def test_silent_helper_is_awaited_only_for_its_grace(
    db130: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper that never answers (here: a process that only sleeps) holds its chunks: this
    process takes over the queued one, awaits the one in flight for a bounded grace, kills the
    helper and re-hashes it; the result is the one-process result."""
    store = SQLiteStore(db130)
    want = rehash(store, 130, {7, 64, 130}, store.payloads(), chunk_level=2, parallel=False)
    started: list[rehash_mod._Helper] = []

    def silent(store_: SQLiteStore, job: object) -> object:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        started.append(rehash_mod._Helper(proc, job))  # type: ignore[arg-type]
        return started[-1]

    try:
        monkeypatch.setattr(rehash_mod._Helper, "start", staticmethod(silent))
        t0 = time.monotonic()
        got = rehash(store, 130, {7, 64, 130}, store.payloads(), chunk_level=2)
        assert time.monotonic() - t0 < 10
        assert got.ok and got.roots == want.roots
        assert started and started[0]._proc.poll() is not None, "the helper was not reaped"
    finally:
        store.close()


def test_chunk_answer_round_trip() -> None:
    summary = ChunkSummary({5: b"a" * 32, 8: b"b" * 64}, b"t" * 32, b"l" * 96, b"i" * 64)
    assert decode_result(io.BytesIO(encode_result(summary))) == summary
    assert decode_result(io.BytesIO(encode_result("payload 3 differs"))) == "payload 3 differs"
    assert check_chunk([], 0, 4, 2, [], []) == "rows missing in 0..3"


@pytest.mark.parametrize("sizes", [[1], [INSERT_ROWS - 1, 1], [INSERT_ROWS + 3, 2 * INSERT_ROWS]])
def test_multi_row_insert(tmp_path: Path, sizes: list[int]) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    try:
        tree = CompactRange()
        start = 0
        for n in sizes:
            datas = [b'{"i":%d,"x":1}' % i for i in range(start, start + n)]
            blobs = tree.append_many([leaf_hash(d) for d in datas])
            store.append(start, datas, blobs, [], f"cp {start + n}\n")
            start += n
        rows = list(store.entries())
        assert [r[0] for r in rows] == list(range(start))
        assert all(r[1] == b'{"i":%d,"x":1}' % r[0] for r in rows)
        assert store.bounds() == (0, start - 1)
    finally:
        store.close()


def _batch(start: int, n: int) -> tuple[list[bytes], list[bytes]]:
    datas = [b'{"i":%d,"x":1}' % i for i in range(start, start + n)]
    return datas, [bytes(32)] * n  # node blobs: the store does not read them


def _rows(db: Path) -> tuple[list[object], ...]:
    conn = sqlite3.connect(db)
    try:
        return tuple(conn.execute(q).fetchall() for q in (
            "SELECT * FROM entries ORDER BY idx", "SELECT * FROM payloads ORDER BY idx",
            "SELECT * FROM checkpoints ORDER BY size"))  # fmt: skip
    finally:
        conn.close()


@pytest.mark.parametrize("drop", [None, 5])
@pytest.mark.parametrize(("start", "n"), [(3, 1), (4, 2), (0, 1), (0, 6), (6, 1), (7, 3)])
def test_a_batch_not_at_the_store_end_is_refused_whole(
    tmp_path: Path, start: int, n: int, drop: int | None
) -> None:
    """The store's conflict check (no SELECT before the inserts: the primary key and the
    checkpoint's condition): a batch that does not start at the store's size writes nothing
    and names the size, whether it overlaps stored entries or leaves a gap after them."""
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    try:
        store.append(0, *_batch(0, 5), [(2, Payload(b"s", b"b"))], "cp 5\n")
        before = _rows(db)
        datas, blobs = _batch(start, n)
        with pytest.raises(StoreConflict) as info:
            store.append(start, datas, blobs, [(start, Payload(b"t", b"c"))], "cp x\n", drop=drop)
        assert (info.value.expected, info.value.actual) == (start, 5)
        assert _rows(db) == before
        store.append(5, *_batch(5, 1), [], "cp 6\n", drop=drop)  # the right start still goes in
        assert [r[0] for r in _rows(db)[2]] == ([6] if drop == 5 else [5, 6])
    finally:
        store.close()


def test_a_batch_is_refused_when_an_entry_lies_beyond_it(tmp_path: Path) -> None:
    """A store whose highest entry is past the batch (a hole below it) has that many more
    entries than the batch's start says, as ``SELECT max(idx)`` counted them: refused."""
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    try:
        store.append(0, *_batch(0, 5), [], "cp 5\n")
        with sqlite3.connect(db) as conn:
            conn.execute("INSERT INTO entries VALUES (9, x'00', x'00')")
        conn.close()
        for drop in (None, 5):
            with pytest.raises(StoreConflict) as info:
                store.append(5, *_batch(5, 1), [], "cp 6\n", drop=drop)
            assert info.value.actual == 10
        assert [r[0] for r in _rows(db)[0]] == [0, 1, 2, 3, 4, 9]
    finally:
        store.close()


def test_thinning_keeps_a_cosigned_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SQLiteStore(db)
    try:
        store.append(0, *_batch(0, 1), [], "cp 1\n")
        store.append(1, *_batch(1, 1), [], "cp 2\n", drop=1)  # replaces 1
        store.add_cosignatures("cp 2\n", 2, "w", ["- w sig\n"])
        store.append(2, *_batch(2, 1), [], "cp 3\n", drop=2)  # 2 is cosigned: stays
        store.append(3, *_batch(3, 2), [], "cp 5\n", drop=3)  # replaces 3
        assert store.checkpoints() == [(2, "cp 2\n"), (5, "cp 5\n")]
    finally:
        store.close()


def test_blobs_bound_as_bytearray_are_stored_as_the_same_blobs(tmp_path: Path) -> None:
    """Entries, node blobs and payloads are bound as bytearray copies (the cheap path of
    Python's sqlite3): SQLite must hold exactly the BLOBs a bytes binding gives."""
    db = tmp_path / "a.db"
    with AuditLog.open(db) as log:
        for i in range(5):
            log.append({"type": "t", "i": i}, payload={"secret": i} if i % 2 else None)
        expected = [(i, log.leaf(i)) for i in range(5)]
        payloads = log.store.payloads()
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT idx, data, typeof(data), typeof(nodes) FROM entries").fetchall()
        assert [(i, d) for i, d, _, _ in rows] == expected
        assert {(t, u) for _, _, t, u in rows} == {("blob", "blob")}
        prow = conn.execute("SELECT idx, salt, body, typeof(salt), typeof(body) FROM payloads")
        got = {i: (s, b, ts, tb) for i, s, b, ts, tb in prow.fetchall()}
        assert got == {i: (p.salt, p.body, "blob", "blob") for i, p in payloads.items()}
        assert sorted(got) == [1, 3]
    finally:
        conn.close()


def test_acked_producers_get_their_own_index(tmp_path: Path) -> None:
    got: dict[int, int] = {}
    lock = threading.Lock()
    with AuditLog.open(tmp_path / "a.db") as log:

        def producer(k: int) -> None:
            for i in range(40):
                idx = log.append({"type": "t", "k": k, "i": i}, timeout=30)
                with lock:
                    got[idx] = k * 1000 + i

        threads = [threading.Thread(target=producer, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == list(range(12 * 40))
        for idx, ident in got.items():
            rec = log.entry(idx).record
            assert rec["k"] * 1000 + rec["i"] == ident


@pytest.mark.parametrize(
    "obj",
    [
        {"n": 10**15, "m": -(10**15)},  # 16 digits, inside the exact range
        {"s": "0123456789012345678", "t": "no digits"},  # a digit run inside a string
        {"n": 2**53 - 1},
    ],
)
def test_digit_runs_take_the_reference_path(obj: dict[str, object]) -> None:
    assert canonical_json(obj) == rfc8785.dumps(obj)


@pytest.mark.parametrize("parallel", [False, True])
def test_meanwhile_runs_once_and_its_error_stops_the_rehash(db130: Path, parallel: bool) -> None:
    """``rehash(meanwhile=...)`` (verification's signature checks) runs once, before this
    process's chunks; if it raises, the exception comes out and the helper is stopped."""
    store = SQLiteStore(db130)
    try:
        calls: list[int] = []
        res = rehash(
            store, 130, {130}, store.payloads(), chunk_level=2, parallel=parallel,
            meanwhile=lambda: calls.append(1),
        )  # fmt: skip
        assert res.ok and calls == [1]

        def boom() -> None:
            raise RuntimeError("bad signature")

        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="bad signature"):
            rehash(store, 130, {130}, store.payloads(), chunk_level=2, parallel=parallel,
                   meanwhile=boom)  # fmt: skip
        assert time.monotonic() - t0 < 10
    finally:
        store.close()
