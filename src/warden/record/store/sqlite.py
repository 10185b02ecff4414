"""SQLite audit store: WAL mode, ``synchronous=FULL``, one transaction per batch.

Durability argument: in WAL mode a commit appends the transaction's pages and a commit frame to
the ``-wal`` file; with ``synchronous=FULL`` SQLite fsyncs the WAL at every commit before
``COMMIT`` returns. A batch (entries, node blobs, payloads and its signed checkpoint) is one
transaction, so after ``append`` returns it survives a process kill *and* an OS crash or power
loss, and a crash before that leaves none of it (the WAL frames without a commit frame are
ignored on recovery). ``NORMAL`` would only survive process crashes: a checkpoint already shown
to a witness could then vanish on power loss and look exactly like a rollback attack, so FULL is
the default; ``unsafe_synchronous_normal`` exists for benchmarks.

CPU per appended entry (the writer shares the GIL with the producers, so it counts twice):
entries go in with few multi-row ``INSERT`` statements (:data:`INSERT_ROWS`), and their blobs
are bound as ``bytearray`` (:data:`_BLOB`), which Python's ``sqlite3`` binds directly, where
``bytes`` first goes through its adapter lookup.

The fixed cost of one durable commit (measured 2026-11-21, docs/audit.md §9): SQLite calls
``fdatasync`` once per commit on the WAL (it already prefers it to ``fsync``; the two cost the
same here) after writing ~2.9 frames (the entries table's last leaf and the checkpoints table's
page; every third commit also page 1 and the entries root) with 2 ``pwrite`` calls each. A
commit that extends the WAL file pays more for its ``fdatasync`` than one that rewrites
blocks the file already has, so the WAL is kept at its working size across checkpoints
(:func:`_journal_size_limit`); a new WAL (a process's first ~32 MiB of commits: SQLite deletes
the WAL when the last connection closes) still grows.

A *resident* store (``resident=True``: ``warden serve``, ``warden mcp``, SDK guards that opt
in; processes that commit one decision at a time for hours and whose every commit is on
somebody's critical path) never grows its WAL: before SQLite opens the log, when no ``-wal``
file exists (so no connection anywhere is using one), it puts one in place already written
with zeros
(:func:`_prefill_wal`: a zeroed header is an empty WAL to SQLite, which then writes from its
start), and it checkpoints every :data:`RESIDENT_WAL_CYCLE_BYTES` instead of every
:data:`WAL_AUTOCHECKPOINT_BYTES`, so a cycle fits the file it was given: every commit rewrites
blocks the file already has. Not for short-lived processes (a ``warden hook`` per tool call):
the zeros are written at every open where no other connection holds the log.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import stat
import threading
from collections.abc import Collection, Iterator, Sequence
from itertools import chain
from pathlib import Path

from warden.errors import StoreError
from warden.record.entry import Payload
from warden.record.fsutil import fsync_dir
from warden.record.merkle import HASH_SIZE, NodeId
from warden.record.rehash_chunk import LEAF_ROWS_SQL
from warden.record.store.base import AuditStore, StoreConflict, node_location

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION = "1"
#: How long a writer waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 10_000
#: Page size of a new database (an existing one keeps its own): an entry row is ~300 bytes, and
#: 16 KiB pages (vs the 4 KiB default) cut SQLite's CPU per appended row by ~15 % here (fewer
#: b-tree pages to split and fewer WAL frame headers) while proofs still read one page per node.
PAGE_SIZE = 16384
#: WAL size before SQLite copies it back into the database (the default is 1000 pages): fewer,
#: larger checkpoints keep the copy-back (and its fsync) off most commits.
WAL_AUTOCHECKPOINT_BYTES = 32 << 20
#: Room above a full cycle's WAL for the commit that crosses the checkpoint mark (a 4,096-entry
#: batch writes ~1.5 MB of frames); see :func:`_journal_size_limit`.
WAL_HEADROOM_BYTES = 8 << 20
#: A resident store's checkpoint cycle (see the module docstring): ~90 single-decision commits
#: (~46 KB of frames each at 16 KiB pages) between copy-backs, and a WAL file of ~12 MiB.
RESIDENT_WAL_CYCLE_BYTES = 4 << 20
CACHE_KIB = 65536
#: Readers map the file instead of copying pages (full verification reads every row).
READ_MMAP_BYTES = 1 << 30
#: Rows per fetch when streaming entries (a few MB of memory).
FETCH_ROWS = 8192
#: Largest multi-row INSERT: 768 bound parameters, far below SQLite's limit (32,766), and a
#: statement that takes SQLite ~1 ms, during which the GIL is free for the producers.
INSERT_ROWS = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL,
                                    nodes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS payloads (idx INTEGER PRIMARY KEY, salt BLOB NOT NULL,
                                     body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cosignatures (size INTEGER NOT NULL, witness TEXT NOT NULL,
                                         line TEXT NOT NULL, PRIMARY KEY (size, witness, line))
                                         WITHOUT ROWID;
"""


def _journal_size_limit(page_size: int, cycle: int = WAL_AUTOCHECKPOINT_BYTES) -> int:
    """The WAL size SQLite truncates back to after a checkpoint resets it (``journal_size_limit``).

    Disk use stays bounded after a burst (SQLite otherwise keeps the largest WAL it ever
    needed), but the limit is above the size a WAL reaches in an ordinary cycle (its header,
    :data:`WAL_AUTOCHECKPOINT_BYTES` of pages with 24 bytes of header per frame, and the commit
    that crossed the mark), so the WAL is *not* shrunk at every reset: once it has wrapped,
    every commit rewrites blocks the file already has. A commit that appends new blocks costs
    more, because its ``fdatasync`` must also journal the file's new size and blocks: measured
    on this VM's ext4, 20 KiB written then synced, 380-459 us appending vs 238-275 us
    overwriting (medians), and a 16-entry commit 675-1127 us on a growing WAL vs 463-783 us on
    a reused one (docs/audit.md section 9). With the limit equal to the checkpoint size, each
    cycle ended by truncating the WAL and the next one grew it again.
    """
    frames = cycle // page_size
    return 32 + frames * (24 + page_size) + WAL_HEADROOM_BYTES


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _prefill_wal(path: Path, size: int) -> bool:
    """Put a WAL of ``size`` zero bytes beside the database at ``path`` if it has none.

    Only while no ``-wal`` file exists: every connection to a WAL-mode database has one open
    (SQLite creates it at the connection's first read and deletes it when the last connection
    closes), so nobody is writing frames that the zeros could overwrite. The zeros are written
    to an unnamed file (``O_TMPFILE``: nothing is left behind if the process dies meanwhile),
    synced, and linked into place with ``linkat(2)``, which fails if a ``-wal`` appeared
    meanwhile (another process opened the log): then that one stays and the zeros are dropped.
    SQLite reads a WAL whose header is not valid as empty, so nothing of the file's content is
    ever taken for a frame. Returns whether the file was put in place; raises ``OSError`` when
    it could not be (a file system without ``O_TMPFILE``, a full disk): the caller goes on
    without it.
    """
    wal = _wal_path(path)
    tmpfile = getattr(os, "O_TMPFILE", 0)  # Linux only; elsewhere SQLite grows its own WAL
    if wal.exists() or not tmpfile:
        return False
    fd = os.open(path.parent, tmpfile | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))  # as SQLite makes it: the db's mode
        zeros = bytes(1 << 20)
        left = size
        while left > 0:
            left -= os.write(fd, zeros[: min(left, len(zeros))])
        os.fsync(fd)
        # linkat(procfd, "N", ..., AT_SYMLINK_FOLLOW): links the open file itself (a plain
        # link(2) of /proc/self/fd/N would try to link the magic symlink)
        procfd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.link(str(fd), wal, src_dir_fd=procfd, follow_symlinks=True)
        except FileExistsError:
            return False
        finally:
            os.close(procfd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)
    return True


def _connect(
    path: Path, *, synchronous: str, cycle: int = WAL_AUTOCHECKPOINT_BYTES
) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: only a new, empty file takes it
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.execute(f"PRAGMA wal_autocheckpoint={cycle // int(page_size)}")
    conn.execute(f"PRAGMA journal_size_limit={_journal_size_limit(int(page_size), cycle)}")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


#: How a ``bytes`` value is bound as a BLOB parameter. Python 3.11's ``sqlite3`` binds ``int``,
#: ``float``, ``str`` and ``bytearray`` directly but sends ``bytes`` through its adapter protocol
#: first: a registry lookup and two failed attribute lookups, one of which builds (then drops)
#: an ``AttributeError`` message. A ``bytearray`` copy skips all of it and binds the very same
#: BLOB (``sqlite3_bind_blob`` of the same bytes): ~0.7 us less per appended entry, spent with the
#: GIL held (measured 2026-11-21, 256-row INSERTs: 1.7 -> 1.0 us a row, the copies included).
_BLOB = bytearray


def _insert_sql(rows: int) -> str:
    return "INSERT INTO entries VALUES " + ",".join(["(?,?,?)"] * rows)  # noqa: S608 - only '?' marks


#: Multi-row ``INSERT`` statements for 1, 2, 4, ... INSERT_ROWS rows (prepared once, then taken
#: from the connection's statement cache). ``executemany`` releases and re-takes the GIL around
#: every row, and a producer thread holding it makes each re-take wait; one statement per up to
#: INSERT_ROWS rows lets SQLite insert them on the other core while Python keeps running.
_INSERT_SQL = [_insert_sql(1 << k) for k in range(INSERT_ROWS.bit_length())]


def _insert_rows(
    conn: sqlite3.Connection, start: int, datas: Sequence[bytes], blobs: Sequence[bytes]
) -> None:
    """Insert ``(start + k, datas[k], blobs[k])`` with few, large statements (sizes 2**j).

    Blobs are bound as ``bytearray`` copies (see :data:`_BLOB`)."""
    n = len(datas)
    k = 0
    while k < n:
        rows = min(INSERT_ROWS, 1 << ((n - k).bit_length() - 1))
        end = k + rows
        rows_ = zip(
            range(start + k, start + end),
            map(_BLOB, datas[k:end]),
            map(_BLOB, blobs[k:end]),
            strict=True,
        )
        params = list(chain.from_iterable(rows_))
        conn.execute(_INSERT_SQL[rows.bit_length() - 1], params)
        k += rows


_PAYLOAD_SQL = "INSERT INTO payloads VALUES (?,?,?)"
#: A batch's checkpoint (:meth:`SQLiteStore.append`), inserted once the batch's entries are,
#: and only if the highest stored index is now the batch's last (``?3``: nothing was stored
#: beyond it) and the entry before the batch exists (``?4``; ``-1`` for a batch at 0). With the
#: primary key refusing an entry at ``start`` (the insert before), that holds exactly when the
#: store had ``start`` entries (highest index ``start - 1``): the check a ``SELECT max(idx)``
#: made before the inserts, in the statement that writes the checkpoint instead of one of its
#: own (a statement costs ~7 us of Python and SQLite here, ~14 us in a process that slept since
#: the last). SQLite reads both from the ends of the ``entries`` b-tree.
_CHECKPOINT_SQL = (
    "INSERT INTO checkpoints SELECT ?1, ?2 WHERE (SELECT max(idx) FROM entries) = ?3"
    " AND (?4 < 0 OR EXISTS (SELECT 1 FROM entries WHERE idx = ?4))"
)
#: Thinning: the batch's checkpoint takes the place of the one at size ``?5`` (``drop``), which
#: it supersedes, unless a witness cosigned that one; one statement for the ``DELETE`` of the
#: old row and the ``INSERT`` of the new (changes no row when the old one must stay, or does not
#: exist, or the batch is not where it belongs: then :data:`_CHECKPOINT_SQL` decides).
_REPLACE_CHECKPOINT_SQL = (
    "UPDATE checkpoints SET size = ?1, note = ?2 WHERE size = ?5 AND ?5 < ?1 AND NOT EXISTS"
    " (SELECT 1 FROM cosignatures WHERE cosignatures.size = ?5)"
    " AND (SELECT max(idx) FROM entries) = ?3"
    " AND (?4 < 0 OR EXISTS (SELECT 1 FROM entries WHERE idx = ?4))"
)


def _write_batch(
    conn: sqlite3.Connection,
    start: int,
    datas: Sequence[bytes],
    blobs: Sequence[bytes],
    payloads: Sequence[tuple[int, Payload]],
    where: tuple[int, str, int, int],
    drop: int | None,
) -> bool:
    """(In a write transaction.) Write one batch: its entries, payloads and checkpoint (taking
    the place of the one at ``drop``, see :data:`_REPLACE_CHECKPOINT_SQL`). False when the
    store did not have ``start`` entries: an entry at ``start`` refused by the primary key, or
    the checkpoint's condition (:data:`_CHECKPOINT_SQL`) false; the transaction is then to be rolled
    back. Four statements for a batch of one with a payload, where a ``SELECT max(idx)`` before
    and a thinning ``DELETE`` after made six."""
    try:
        _insert_rows(conn, start, datas, blobs)
    except sqlite3.IntegrityError:
        return False
    if len(payloads) == 1:  # execute: executemany costs more for one row
        ((i, p),) = payloads
        conn.execute(_PAYLOAD_SQL, (i, _BLOB(p.salt), _BLOB(p.body)))
    elif payloads:
        conn.executemany(_PAYLOAD_SQL, [(i, _BLOB(p.salt), _BLOB(p.body)) for i, p in payloads])
    if drop is not None and conn.execute(_REPLACE_CHECKPOINT_SQL, (*where, drop)).rowcount == 1:
        return True
    return bool(conn.execute(_CHECKPOINT_SQL, where).rowcount == 1)


#: Node locations per :meth:`SQLiteStore.node_hashes` statement (two bound parameters each).
_NODE_LOCATIONS = 400


@functools.cache
def _node_sql(n: int) -> str:
    """``(idx, offset, hash)`` of ``n`` node locations bound as ``(idx, offset)`` pairs."""
    marks = ",".join(["(?,?)"] * n)
    return (
        f"WITH w(i, o) AS (VALUES {marks}) SELECT e.idx, w.o,"  # noqa: S608 - only '?' marks
        " CAST(substr(e.nodes, w.o + 1, 32) AS BLOB) FROM w JOIN entries e ON e.idx = w.i"
    )


def _int(value: object) -> int:
    if type(value) is not int:
        raise StoreError(f"audit store holds a non-integer size {value!r}")
    return value


def _text(value: object) -> str:
    """Stored text, decoded leniently: a bad byte becomes U+FFFD and fails signature checks."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class SQLiteStore(AuditStore):
    """An :class:`AuditStore` in one SQLite file (plus its ``-wal`` and ``-shm``)."""

    def __init__(
        self, path: Path, *, unsafe_synchronous_normal: bool = False, resident: bool = False
    ) -> None:
        self.path = path
        sync = "NORMAL" if unsafe_synchronous_normal else "FULL"
        cycle = RESIDENT_WAL_CYCLE_BYTES if resident else WAL_AUTOCHECKPOINT_BYTES
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            if resident:
                if path.stat().st_size == 0:
                    # not a WAL database until a connection makes it one: made, then closed
                    # (the last connection to close deletes the WAL), then prefilled
                    self._connect(sync, cycle)
                    self._w.close()
                    self._r.close()
                with contextlib.suppress(OSError):  # only a speed-up: SQLite grows its own
                    _prefill_wal(path, _journal_size_limit(PAGE_SIZE, cycle))
            self._connect(sync, cycle)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open audit store {path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create audit store {path}: {exc.strerror}") from exc
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()

    def _connect(self, sync: str, cycle: int) -> None:
        """The writer and reader connections, and the schema."""
        self._w = _connect(self.path, synchronous=sync, cycle=cycle)
        self._r = _connect(self.path, synchronous=sync, cycle=cycle)
        self._r.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        self._w.executescript(_SCHEMA)
        version = self._w.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if version is None:
            self._w.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif version[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: unsupported audit schema {version[0]!r}")

    # -- writes ---------------------------------------------------------------------------
    def append(
        self,
        start: int,
        datas: Sequence[bytes],
        blobs: Sequence[bytes],
        payloads: Sequence[tuple[int, Payload]],
        checkpoint: str,
        *,
        drop: int | None = None,
    ) -> None:
        if len(datas) != len(blobs):
            raise StoreError("audit store append: one node blob per entry is required")
        where = (start + len(datas), checkpoint, start + len(datas) - 1, start - 1)
        with self._wlock:
            conn = self._w
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    placed = _write_batch(conn, start, datas, blobs, payloads, where, drop)
                    conn.execute("COMMIT" if placed else "ROLLBACK")
                except BaseException:
                    # a signal can land after COMMIT returned (the caller's thread may be the
                    # main thread: see warden.record.writer): then there is nothing to undo
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                if not placed:
                    (high,) = conn.execute("SELECT max(idx) FROM entries").fetchone()
                    actual = 0 if high is None else high + 1
                    if actual != start:
                        raise StoreConflict(start, actual)
                    # the entries refused for another reason (a NOT NULL column)
                    raise StoreError(f"audit store write failed: batch at {start} refused")
            except sqlite3.Error as exc:
                raise StoreError(f"audit store write failed: {exc}") from exc

    def add_cosignatures(
        self, checkpoint: str, size: int, witness: str, lines: Sequence[str]
    ) -> None:
        with self._wlock:
            conn = self._w
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT OR IGNORE INTO checkpoints VALUES (?,?)", (size, checkpoint))
                conn.executemany(
                    "INSERT OR IGNORE INTO cosignatures VALUES (?,?,?)",
                    [(size, witness, x) for x in lines],
                )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"audit store write failed: {exc}") from exc

    def purge_payloads(self, before: int) -> int:
        with self._wlock:
            try:
                cur = self._w.execute("DELETE FROM payloads WHERE idx < ?", (before,))
                return cur.rowcount
            except sqlite3.Error as exc:
                raise StoreError(f"audit store write failed: {exc}") from exc

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?,?)", [(key, value)])

    def _write(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        with self._wlock:
            try:
                self._w.execute("BEGIN IMMEDIATE")
                self._w.executemany(sql, rows)
                self._w.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._w.in_transaction:
                    self._w.execute("ROLLBACK")
                raise StoreError(f"audit store write failed: {exc}") from exc

    # -- reads ----------------------------------------------------------------------------
    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._rlock:
            try:
                return self._r.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"audit store read failed: {exc}") from exc

    def size(self) -> int:
        (value,) = self._query("SELECT max(idx) FROM entries")[0]
        return 0 if value is None else int(value) + 1  # type: ignore[call-overload]

    def nodes(self, ids: Collection[NodeId]) -> dict[NodeId, bytes]:
        where = {node: node_location(node) for node in ids}
        rows = sorted({idx for idx, _ in where.values()})
        blobs: dict[int, bytes] = {}
        for i in range(0, len(rows), 500):  # stay below SQLite's bound-parameter limit
            chunk = rows[i : i + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT idx, CAST(nodes AS BLOB) FROM entries WHERE idx IN ({marks})"  # noqa: S608 - only '?' marks
            for idx, blob in self._query(sql, chunk):
                blobs[idx] = blob  # type: ignore[index,assignment]
        out: dict[NodeId, bytes] = {}
        for node, (idx, off) in where.items():
            blob = blobs.get(idx)
            if blob is not None and len(blob) >= off + HASH_SIZE:
                out[node] = blob[off : off + HASH_SIZE]
        return out

    def node_hashes(self, locations: Sequence[tuple[int, int]]) -> list[bytes | None]:
        # one statement: SQLite reads each row by its primary key (EXPLAIN QUERY PLAN: "SCAN w",
        # "SEARCH e USING INTEGER PRIMARY KEY") and copies out only the 32 bytes asked for
        got: dict[tuple[int, int], bytes] = {}
        for i in range(0, len(locations), _NODE_LOCATIONS):
            chunk = locations[i : i + _NODE_LOCATIONS]
            args = [x for row, off in chunk for x in (row, off)]
            for row, off, h in self._query(_node_sql(len(chunk)), args):
                if len(h) == HASH_SIZE:  # type: ignore[arg-type]
                    got[row, off] = h  # type: ignore[index,assignment]
        return [got.get(loc) for loc in locations]

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
        stop = (1 << 63) - 1 if end is None else end
        with self._rlock:
            try:
                cur = self._r.execute(
                    "SELECT idx, CAST(data AS BLOB), CAST(nodes AS BLOB) FROM entries"
                    " WHERE idx >= ? AND idx < ? ORDER BY idx",
                    (start, stop),
                )
                rows = cur.fetchmany(FETCH_ROWS)
            except sqlite3.Error as exc:
                raise StoreError(f"audit store read failed: {exc}") from exc
        # the cursor is read outside the lock in chunks; WAL gives it a stable snapshot
        while rows:
            yield from rows
            try:
                with self._rlock:
                    rows = cur.fetchmany(FETCH_ROWS)
            except sqlite3.Error as exc:
                raise StoreError(f"audit store read failed: {exc}") from exc

    def leaf_rows(self, start: int, end: int) -> list[tuple[bytes, bytes]]:
        return self._query(LEAF_ROWS_SQL, (start, end))  # type: ignore[return-value]

    def bounds(self) -> tuple[int | None, int | None]:
        # two subqueries: SQLite answers a lone min() or max() from the b-tree edge, but
        # min() and max() in one SELECT make it scan every row
        low, high = self._query(
            "SELECT (SELECT min(idx) FROM entries), (SELECT max(idx) FROM entries)"
        )[0]
        return low, high  # type: ignore[return-value]

    def payloads(self, start: int = 0, end: int | None = None) -> dict[int, Payload]:
        stop = (1 << 63) - 1 if end is None else end
        rows = self._query(
            "SELECT idx, CAST(salt AS BLOB), CAST(body AS BLOB) FROM payloads"
            " WHERE idx >= ? AND idx < ?",
            (start, stop),
        )
        return {int(i): Payload(bytes(s), bytes(b)) for i, s, b in rows}  # type: ignore[call-overload]

    def checkpoints(self) -> list[tuple[int, str]]:
        rows = self._query("SELECT size, CAST(note AS BLOB) FROM checkpoints ORDER BY size")
        return [(_int(s), _text(n)) for s, n in rows]

    def latest_checkpoint(self) -> str | None:
        rows = self._query("SELECT CAST(note AS BLOB) FROM checkpoints ORDER BY size DESC LIMIT 1")
        return _text(rows[0][0]) if rows else None

    def cosignatures(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        rows = self._query("SELECT size, CAST(line AS BLOB) FROM cosignatures ORDER BY size")
        for size, line in rows:
            out.setdefault(_int(size), []).append(_text(line))
        return out

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._wlock, self._rlock:
            try:
                self._w.close()
                self._r.close()
            except sqlite3.Error as exc:
                raise StoreError(f"closing audit store failed: {exc}") from exc
