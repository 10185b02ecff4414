"""Tamper suite, second worker: the same edits as test_record_tamper.py on a log big enough
(in small chunks) that verification splits the re-hash with its helper process, so edits land
in chunks hashed by either process. Every edit must be detected at the right index."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import pytest

from warden.errors import VerificationError
from warden.record import rehash as rehash_mod
from warden.record import verify_log
from warden.record.store.sqlite import SQLiteStore

from .helpers import build_log, run_python

N = 300
CHUNK_LEVEL = 3  # 38 chunks: both workers get many


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("par") / "audit.db"
    signer = build_log(db, N, batched=True)
    return db, signer


@pytest.fixture
def log(pristine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A copy of the log; chunks of 8 entries; this process slowed down per chunk so that the
    helper (which takes ~30 ms to start) re-hashes a good share of them."""
    monkeypatch.setattr(rehash_mod, "CHUNK_LEVEL", CHUNK_LEVEL)
    local = rehash_mod._local

    def slow_local(*args):  # type: ignore[no-untyped-def]
        time.sleep(0.005)
        return local(*args)

    monkeypatch.setattr(rehash_mod, "_local", slow_local)
    src, signer = pristine
    db = tmp_path / "audit.db"
    db.write_bytes(src.read_bytes())  # the builder closed it: no -wal to copy
    return db, signer


def verify(db: Path, signer) -> None:  # type: ignore[no-untyped-def]
    store = SQLiteStore(db)
    try:
        verify_log(store, signer.verifier)
    finally:
        store.close()


def test_untouched_log_verifies_in_parallel(log, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    db, signer = log
    answers = []
    decode = rehash_mod.decode_result

    def spy(stream):  # type: ignore[no-untyped-def]
        answers.append(decode(stream))
        return answers[-1]

    monkeypatch.setattr(rehash_mod, "decode_result", spy)
    verify(db, signer)
    assert answers, "the helper process re-hashed no chunk"


EDITS = {
    "delete": ("DELETE FROM entries WHERE idx = {i};", "missing"),
    "edit": (
        "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), 'ls /tmp', 'rm /tmp')"
        " AS BLOB) WHERE idx = {i};",
        "edited",
    ),
    "nodes": ("UPDATE entries SET nodes = zeroblob(length(nodes)) WHERE idx = {i};", None),
    "payload": ("UPDATE payloads SET body = CAST('{{}}' AS BLOB) WHERE idx = {p};", "payload"),
}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", sorted(EDITS))
def test_edit_detected_at_its_index(log, kind: str, seed: int) -> None:  # type: ignore[no-untyped-def]
    db, signer = log
    rng = random.Random(seed * 31 + len(kind))
    i = rng.randrange(N - 1)
    p = i - i % 4  # build_log stores a payload on every 4th entry
    sql, match = EDITS[kind]
    run_python(db, sql.format(i=i, p=p))
    with pytest.raises(VerificationError, match=match) as info:
        verify(db, signer)
    want = p if kind == "payload" else i
    if kind == "nodes":  # the stored nodes of entry i; reported at i or where they start
        assert info.value.index is not None and info.value.index <= i, str(info.value)
    else:
        assert info.value.index == want, str(info.value)


def test_swap_detected(log) -> None:  # type: ignore[no-untyped-def]
    db, signer = log
    run_python(
        db,
        "UPDATE entries SET idx = -1 WHERE idx = 250; UPDATE entries SET idx = 250 WHERE idx = 17;"
        " UPDATE entries SET idx = 17 WHERE idx = -1;",
    )
    with pytest.raises(VerificationError) as info:
        verify(db, signer)
    assert info.value.index == 17, str(info.value)


FORGE = (
    "UPDATE checkpoints SET note = substr(note, 1, length(note) - 6) || 'AAAA=\n'"
    " WHERE size = (SELECT min(size) FROM checkpoints);"
)


@pytest.mark.parametrize("also", ["", "negative", "node"])
def test_forged_signature_found_while_the_helper_hashes(log, also: str) -> None:  # type: ignore[no-untyped-def]
    """Signatures are checked while the helper re-hashes (``rehash``'s ``meanwhile``), yet a
    forged one is reported, and ahead of a problem found before the pass (a negative index)
    or during it (an edited node), as when they were checked before anything else."""
    db, signer = log
    extra = {
        "": "",
        "negative": "INSERT INTO entries SELECT -5, data, nodes FROM entries WHERE idx = 3;",
        "node": "UPDATE entries SET nodes = zeroblob(length(nodes)) WHERE idx = 200;",
    }[also]
    run_python(db, FORGE + extra)
    with sqlite3.connect(db) as conn:
        (first,) = conn.execute("SELECT min(size) FROM checkpoints").fetchone()
    conn.close()
    with pytest.raises(VerificationError, match=f"checkpoint of size {first}: invalid signature"):
        verify(db, signer)


MALFORM = (
    "UPDATE checkpoints SET note = CAST('not a note' AS BLOB)"
    " WHERE size = (SELECT max(size) FROM checkpoints);"
)


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A log appended one entry at a time: it keeps more than one checkpoint (a batched
    build may commit everything at once)."""
    db = tmp_path_factory.mktemp("single") / "audit.db"
    return db, build_log(db, N)


@pytest.mark.parametrize("also", ["", "negative", "node", "forged"])
def test_malformed_checkpoint_found_while_the_helper_hashes(  # type: ignore[no-untyped-def]
    one_at_a_time, log, tmp_path: Path, also: str
) -> None:
    """Checkpoints are parsed while the helper re-hashes too (the roots are computed at the
    stored sizes), yet a malformed one is reported ahead of a problem found before the pass
    (a negative index) or during it (an edited node), and behind a forged signature on an
    earlier checkpoint: the order of one pass over the checkpoints, in size order, first."""
    src, signer = one_at_a_time  # ``log`` only for its small chunks and slowed-down worker
    db = tmp_path / "single.db"
    db.write_bytes(src.read_bytes())
    extra = {
        "": "",
        "negative": "INSERT INTO entries SELECT -5, data, nodes FROM entries WHERE idx = 3;",
        "node": "UPDATE entries SET nodes = zeroblob(length(nodes)) WHERE idx = 200;",
        "forged": FORGE,
    }[also]
    run_python(db, MALFORM + extra)
    with sqlite3.connect(db) as conn:
        (first,) = conn.execute("SELECT min(size) FROM checkpoints").fetchone()
        (last,) = conn.execute("SELECT max(size) FROM checkpoints").fetchone()
    conn.close()
    assert first < last
    match = (
        f"checkpoint of size {first}: invalid signature"
        if also == "forged"
        else f"checkpoint of size {last} is malformed"
    )
    with pytest.raises(VerificationError, match=match):
        verify(db, signer)
