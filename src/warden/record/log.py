"""The audit log as the engine sees it: open, append, close.

::

    with AuditLog.open() as log:                      # ~/.local/share/warden/audit.db
        index = log.append({"type": "decision", "time": ..., "session": ...,
                            "action": {...}, "decision": {...}}, payload={...})

``append`` returns once the entry, its tree nodes and a signed checkpoint covering it are
durable; unless another thread is committing at that moment, the caller's own thread makes
that commit (no hand-off to the writer thread, see :mod:`warden.record.writer`).
``append_nowait`` returns a :class:`~warden.record.writer.Receipt` for batching.
``await append_async(...)`` is ``append`` for coroutines: the writer thread commits (never
the event loop's thread) and resolves every waiter of one loop in a batch with one
``call_soon_threadsafe``, so many coroutines on one loop are acknowledged without a thread
wake-up each.
Reading, proving and verifying need no private key: :class:`LogReader`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from warden.errors import AuditError, KeyError_, VerificationError
from warden.record.checkpoint import SignedCheckpoint
from warden.record.entry import Entry, encode_entry
from warden.record.keys import create_key, load_signer
from warden.record.merkle import EMPTY_ROOT
from warden.record.note import NoteSignature, NoteSigner, NoteVerifier
from warden.record.proofs import NodeCache, compact_range, consistency_proof, inclusion_proof
from warden.record.store.base import AuditStore
from warden.record.store.sqlite import SQLiteStore
from warden.record.writer import Receipt, Writer

if TYPE_CHECKING:
    from warden.record.witness.base import WitnessClient

__all__ = ["AuditLog", "LogReader", "default_db_path", "default_key_path"]


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/warden/audit.db``, else ``~/.local/share/warden/audit.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "warden" / "audit.db"


def default_key_path(db: Path) -> Path:
    """The signing key beside the database: ``audit.db`` -> ``audit.key``."""
    return db.with_suffix(".key")


class LogReader:
    """Read, prove and check a log without its private key."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        #: upper tree nodes already read, for proofs (exact: see :class:`NodeCache`)
        self.node_cache = NodeCache()

    @classmethod
    def open(cls, path: Path | None = None) -> LogReader:
        path = path or default_db_path()
        if not path.exists():
            raise AuditError(f"no audit log at {path}")
        return cls(SQLiteStore(path))

    @property
    def origin(self) -> str | None:
        return self.store.get_meta("origin")

    def size(self) -> int:
        return self.store.size()

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The latest checkpoint with any stored cosignatures attached (not yet verified)."""
        text = self.store.latest_checkpoint()
        if text is None:
            return None
        cp = SignedCheckpoint.parse(text)
        extra = [NoteSignature.parse_line(x) for x in self.store.cosignatures().get(cp.size, [])]
        return cp.add(*extra)

    def checkpoint(self, verifier: NoteVerifier) -> SignedCheckpoint:
        """The latest checkpoint, checked against the log key."""
        cp = self.latest_checkpoint()
        if cp is None:
            raise VerificationError("the log has no checkpoint yet (it is empty)")
        cp.verify(verifier)
        return cp

    def entry(self, index: int) -> Entry:
        for idx, data, _ in self.store.entries(index, index + 1):
            payload = self.store.payloads(idx, idx + 1).get(idx)
            return Entry.decode(idx, data, payload)
        raise AuditError(f"no entry {index} (the log has {self.size()} entries)")

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[Entry]:
        payloads = self.store.payloads(start, end)
        for idx, data, _ in self.store.entries(start, end):
            yield Entry.decode(idx, data, payloads.get(idx))

    def leaf(self, index: int) -> bytes:
        for _, data, _ in self.store.entries(index, index + 1):
            return data
        raise AuditError(f"no entry {index}")

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        have = self.size()
        if not 0 <= index < size <= have:
            raise AuditError(f"cannot prove entry {index} in a tree of size {size}")
        self.node_cache.observe_size(have)
        return inclusion_proof(self.store, index, size, self.node_cache)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        have = self.size()
        if not 0 <= old <= new <= have:
            raise AuditError(f"cannot prove consistency from size {old} to size {new}")
        self.node_cache.observe_size(have)
        return consistency_proof(self.store, old, new, self.node_cache)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AuditLog(LogReader):
    """An append-only, signed, witnessed log of what agents did and what warden decided."""

    def __init__(
        self,
        store: AuditStore,
        signer: NoteSigner,
        *,
        witnesses: Sequence[WitnessClient] = (),
    ) -> None:
        super().__init__(store)
        self.signer = signer
        self._check_head()
        self._pusher = None
        if witnesses:
            from warden.record.witness.push import WitnessPusher

            self._pusher = WitnessPusher(self, witnesses)
        self._writer = Writer(
            store, signer, on_commit=self._pusher.notify if self._pusher else None
        )
        self._closed = False
        self._close_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        key: Path | NoteSigner | None = None,
        witnesses: Sequence[WitnessClient] = (),
        unsafe_synchronous_normal: bool = False,
        resident: bool = False,
    ) -> AuditLog:
        """Open (creating if needed) the log at ``path`` signed by ``key``.

        ``key`` defaults to ``audit.key`` beside the database; it is created (0600, directory
        0700) only for a new, empty log: a missing key for an existing log is an error.
        ``resident``: the caller is a long-lived process committing decisions one at a time
        (the hook server, the MCP proxy, an SDK guard that opts in), whose commits rewrite a
        WAL made at its full size up front instead of growing it (:class:`SQLiteStore`), and
        whose checkpoints are signed through libsodium when the system has it
        (:meth:`NoteSigner.native`: the same signatures, cheaper).
        """
        path = path or default_db_path()
        store = SQLiteStore(path, unsafe_synchronous_normal=unsafe_synchronous_normal,
                            resident=resident)  # fmt: skip
        try:
            signer = cls._signer(store, path, key)
            if resident:  # a signature per commit, on somebody's path: libsodium's if there
                signer = signer.native()
            return cls(store, signer, witnesses=witnesses)
        except BaseException:
            store.close()
            raise

    @staticmethod
    def _signer(store: AuditStore, path: Path, key: Path | NoteSigner | None) -> NoteSigner:
        if isinstance(key, NoteSigner):
            signer = key
        else:
            key_path = key or default_key_path(path)
            if not key_path.exists() and store.size() == 0 and store.get_meta("vkey") is None:
                try:
                    signer = create_key(key_path)
                except KeyError_:  # another process created it first
                    signer = load_signer(key_path)
            else:
                signer = load_signer(key_path)
        vkey = store.get_meta("vkey")
        if vkey is None:
            store.set_meta("origin", signer.name)
            store.set_meta("vkey", signer.verifier.vkey)
        elif vkey != signer.verifier.vkey:
            raise KeyError_(f"this log is signed by {vkey}, not by the key given")
        return signer

    def _check_head(self) -> None:
        """Refuse to extend a log whose stored edge does not match its latest checkpoint."""
        size = self.store.size()
        cp = self.latest_checkpoint()
        if cp is None:
            if size:
                raise VerificationError("entries without any checkpoint", index=0)
            return
        cp.verify(self.signer.verifier)
        if cp.size != size:
            raise VerificationError(
                f"log has {size} entries but its latest checkpoint signs {cp.size}"
                " (run 'warden audit verify')",
                index=min(size, cp.size),
            )
        root = compact_range(self.store, size).root() if size else EMPTY_ROOT
        if root != cp.root:
            raise VerificationError("stored tree does not match the latest checkpoint")

    def append(
        self,
        record: Mapping[str, Any],
        *,
        payload: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> int:
        """Append a record; return its index once it is durable and signed.

        Without a ``timeout`` the calling thread usually makes the commit itself (no thread
        hand-off, see :mod:`warden.record.writer`).
        """
        data, pay = encode_entry(record, payload)
        if timeout is None:
            return self._writer.append(data, pay)
        return self._writer.submit(data, pay).result(timeout)

    async def append_async(
        self,
        record: Mapping[str, Any],
        *,
        payload: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> int:
        """``append`` for a coroutine: its index once the entry is durable and signed.

        The record is encoded on the calling (loop) thread, so a bad record raises
        ``FormatError`` before anything is queued; the commit is made by the writer thread (or
        a producer thread leading a group commit), never on the loop's thread, and the
        acknowledgements of one loop in one batch come back in one ``call_soon_threadsafe``.
        A coroutine cancelled while it waits does not stop its entry from being written.
        ``timeout`` bounds the wait (``AuditError``); the entry may still be committed later.
        """
        data, pay = encode_entry(record, payload)
        fut = await self._writer.submit_async(data, pay)
        if timeout is None:
            return await fut
        import asyncio

        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise AuditError(f"audit append not durable after {timeout} s") from None

    def append_nowait(
        self, record: Mapping[str, Any], *, payload: Mapping[str, Any] | None = None,
        wake: bool = True,
    ) -> Receipt:
        """Queue a record; the :class:`Receipt` resolves to its index once durable.

        ``wake=False``: the caller promises to wait for the receipt soon from a thread other
        than the main one, which then commits it itself (see :meth:`Writer.submit`)."""
        data, pay = encode_entry(record, payload)
        return self._writer.submit(data, pay, wake=wake)

    def purge_payloads(self, before: int) -> int:
        """Delete stored payloads of entries below ``before`` (the tree is not affected)."""
        return self.store.purge_payloads(before)

    def witness(self) -> list[str]:
        """Push the latest checkpoint to every witness now; return per-witness problems."""
        if self._pusher is None:
            return []
        return self._pusher.push_now()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._writer.close()
            if self._pusher is not None:
                self._pusher.close()
        finally:
            self.store.close()

    def __enter__(self) -> AuditLog:
        return self
