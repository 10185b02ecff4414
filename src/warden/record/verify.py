"""Full verification of a stored log: re-hash everything, check every checkpoint and witness.

What is checked, in one pass over the entries in index order:

1. indexes are contiguous from 0 (a deleted row shows as the first missing index);
2. each entry's bytes hash to the leaf hash stored beside them, and the stored subtree hashes
   equal the ones recomputed from the entries (an edited row shows at its index);
3. a stored payload matches the salted hash committed in its entry;
4. at every checkpoint size the recomputed root equals the signed root, and every checkpoint
   carries a valid signature of the log key (an edit with recomputed hashes shows as the first
   entry after the last checkpoint that still matches);
5. the last checkpoint covers exactly the stored entries (truncation, insertion at the end);
6. every witness's latest checkpoint is signed by the log, no larger than the log, and has the
   root recomputed at its size (a rollback to an older copy, or a rewrite re-signed with the real
   key, fails here); stored cosignatures from known witnesses must verify.

The first failure raises :class:`VerificationError` with the first bad index where one exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from warden.errors import FormatError, VerificationError
from warden.record.checkpoint import SignedCheckpoint
from warden.record.entry import Payload, payload_digest
from warden.record.merkle import EMPTY_ROOT, HASH_SIZE, CompactRange
from warden.record.note import NoteSignature, NoteVerifier
from warden.record.rehash import rehash
from warden.record.store.base import AuditStore
from warden.record.witness.base import WitnessClient
from warden.record.witness.push import push_checkpoint

__all__ = ["VerifyReport", "WitnessStatus", "verify_log"]

Progress = Callable[[int, int], None]
_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class WitnessStatus:
    name: str
    witnessed_size: int
    unwitnessed: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    size: int
    root: bytes
    checkpoints: int
    payloads: int
    witnesses: tuple[WitnessStatus, ...] = field(default=())

    @property
    def unwitnessed(self) -> int:
        """Entries not covered by any witness (all of them when there is no witness)."""
        if not self.witnesses:
            return self.size
        return min(w.unwitnessed for w in self.witnesses)


def _load_checkpoints(
    stored: list[tuple[int, str]], log_key: NoteVerifier, *, signatures: bool = True
) -> dict[int, SignedCheckpoint]:
    """The stored checkpoints (``store.checkpoints()``), parsed and, with ``signatures``,
    checked against ``log_key``.

    Without ``signatures`` the caller checks them next with :func:`_check_signatures` (both
    overlap the re-hash helper); a checkpoint that fails to parse still raises here, after the
    signatures of the checkpoints before it are checked, so the error reported is the same as
    with one pass in size order.
    """
    out: dict[int, SignedCheckpoint] = {}
    for size, text in stored:
        try:
            cp = SignedCheckpoint.parse(text)
            if cp.size != size:
                raise VerificationError(f"checkpoint stored as size {size} signs size {cp.size}")
        except (FormatError, VerificationError) as exc:
            if not signatures:
                _check_signatures(out, log_key)
            if isinstance(exc, VerificationError):
                raise
            raise VerificationError(f"checkpoint of size {size} is malformed: {exc}") from exc
        if signatures:
            _check_signatures({size: cp}, log_key)
        out[size] = cp
    return out


def _check_signatures(checkpoints: dict[int, SignedCheckpoint], log_key: NoteVerifier) -> None:
    """The log signature (and origin) of each checkpoint, in the order given.

    ~0.07-0.3 ms each on the development VM (Ed25519 in ``cryptography``, which keeps the GIL),
    and a log written one entry at a time keeps ~n/256 checkpoints: ~0.3-1.1 s at 1M entries,
    which is why :func:`verify_log` runs them while the re-hash helper is already hashing.
    """
    for size, cp in checkpoints.items():
        try:
            cp.verify(log_key)
        except VerificationError as exc:
            raise VerificationError(f"checkpoint of size {size}: {exc}") from exc


def verify_log(
    store: AuditStore,
    log_key: NoteVerifier,
    *,
    witnesses: Sequence[WitnessClient] = (),
    progress: Progress | None = None,
    push: bool = True,
) -> VerifyReport:
    """Verify everything in ``store``; raise :class:`VerificationError` at the first problem."""
    # parsed and their signatures checked while the re-hash helper hashes (rehash's
    # ``meanwhile``): the sizes to compute roots at are the stored ones (a checkpoint that
    # signs another size fails its parse). Anything that fails before that parses and checks
    # them all first, so a malformed checkpoint or a bad signature is still reported ahead of
    # whatever the steps below find, as in one pass in this order.
    stored = store.checkpoints()
    checkpoints: dict[int, SignedCheckpoint] = {}
    try:
        witnessed = {}
        for w in witnesses:  # read before the pass so their sizes get roots computed too
            cp = w.latest(log_key.name)
            if cp is not None:
                try:
                    cp.verify(log_key)
                    cp.cosigned_by(w.verifier)
                except VerificationError as exc:
                    msg = f"witness {w.name} holds a bad checkpoint: {exc}"
                    raise VerificationError(msg) from exc
                witnessed[w.name] = cp
        want = {size for size, _ in stored} | {cp.size for cp in witnessed.values()}
        payloads = store.payloads()
        low, high = store.bounds()
        if low is not None and low < 0:
            raise VerificationError(f"rows with negative indexes (from {low}) were inserted")
    except Exception:
        _load_checkpoints(stored, log_key)
        raise

    def meanwhile() -> None:
        checkpoints.update(_load_checkpoints(stored, log_key, signatures=False))
        _check_signatures(checkpoints, log_key)

    total = 0 if high is None else high + 1
    fast = rehash(store, total, want, payloads, progress, meanwhile=meanwhile)  # + every row
    ok = fast.ok and all(fast.roots[s] == cp.root for s, cp in checkpoints.items() if s <= total)
    if ok:
        size, roots, last_good = (
            total,
            fast.roots,
            max((s for s in checkpoints if s <= total), default=0),
        )
    else:  # something is wrong: the row-by-row pass says where and what
        size, roots, last_good = _locate(store, checkpoints, want, payloads, total)
        if size == total:  # the careful pass found nothing the fast one did: still fail
            raise VerificationError(f"log does not re-hash: {fast.problem or 'rows missing'}")
    if not checkpoints:
        if size:
            raise VerificationError("entries exist but no signed checkpoint covers them", index=0)
    else:
        top = max(checkpoints)
        if top > size:
            raise VerificationError(
                f"log has {size} entries but a checkpoint signs {top} (truncated)", index=size
            )
        if top < size:
            raise VerificationError(
                f"entries {top}..{size - 1} are not covered by a signed checkpoint: appended"
                " without the key, or the log was cut back and newer checkpoints deleted",
                index=top,
            )
    root = roots.get(size, EMPTY_ROOT)
    statuses = [_check_witness(w, witnessed.get(w.name), roots, size, last_good) for w in witnesses]
    _check_cosignatures(store, checkpoints, witnesses, size)
    if push and size:
        latest = checkpoints[size]
        for w in witnesses:
            if w.name not in witnessed:  # a remote witness: its state is learnt by submitting
                res = push_checkpoint(_Reader(store), w, latest)
                statuses = [
                    WitnessStatus(w.name, res.size, size - res.size) if s.name == w.name else s
                    for s in statuses
                ]
    return VerifyReport(size, root, len(checkpoints), len(payloads), tuple(statuses))


def _locate(
    store: AuditStore,
    checkpoints: dict[int, SignedCheckpoint],
    want: set[int],
    payloads: dict[int, Payload],
    total: int,
) -> tuple[int, dict[int, bytes], int]:
    """Row by row: raise at the first bad entry, with the reason (slow, only after a failure)."""
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    last_good = 0
    tree = CompactRange()
    expected = 0
    for idx, data, blob in store.entries():
        if idx != expected:
            raise VerificationError("entry is missing (deleted)", index=expected)
        if type(data) is not bytes or type(blob) is not bytes:
            raise VerificationError("entry is not stored as bytes (edited)", index=idx)
        leaf = _sha256(b"\x00" + data).digest()
        if blob[:HASH_SIZE] != leaf:
            raise VerificationError("entry bytes do not match their leaf hash (edited)", index=idx)
        prefix = b'{"i":%d,' % idx
        if not data.startswith(prefix):
            raise VerificationError("entry holds another index (moved or inserted)", index=idx)
        nodes = tree.append(leaf)
        pay = payloads.get(idx)
        if pay is not None:
            digest = data[len(prefix) + 11 : len(prefix) + 75]  # after '"payload":"'
            if digest.decode("ascii", "replace") != payload_digest(pay.salt, pay.body):
                raise VerificationError(
                    "stored payload does not match its committed hash", index=idx
                )
        expected = idx + 1
        if expected in want:
            root = tree.root()
            roots[expected] = root
            cp = checkpoints.get(expected)
            if cp is not None:
                if cp.root != root:
                    raise VerificationError(
                        f"entries {last_good}..{idx} do not match the signed checkpoint of"
                        f" size {expected} (rewritten)",
                        index=last_good,
                    )
                last_good = expected
        if (len(nodes) > 1 or len(blob) != HASH_SIZE) and blob != b"".join(nodes):
            start = idx + 1 - (1 << (len(nodes) - 1))
            # the entries up to a matching signed checkpoint are authentic: then it is the node
            raise VerificationError(
                f"stored tree nodes over entries {start}..{idx} do not match the entries",
                index=idx if last_good == expected else max(start, last_good),
            )
    return expected, roots, last_good


def _check_witness(
    w: WitnessClient, cp: SignedCheckpoint | None, roots: dict[int, bytes], size: int, good: int
) -> WitnessStatus:
    if cp is None:
        return WitnessStatus(w.name, 0, size)
    if cp.size > size:
        raise VerificationError(
            f"witness {w.name} holds a signed checkpoint of size {cp.size} but the log has only"
            f" {size} entries: the log was truncated or rolled back to an older copy",
            index=size,
        )
    if roots[cp.size] != cp.root:
        raise VerificationError(
            f"witness {w.name} holds a different root for size {cp.size}: the log was rewritten"
            " and re-signed (fork)",
            index=min(good, cp.size - 1) if good < cp.size else None,
        )
    return WitnessStatus(w.name, cp.size, size - cp.size)


def _check_cosignatures(
    store: AuditStore,
    checkpoints: dict[int, SignedCheckpoint],
    witnesses: Sequence[WitnessClient],
    log_size: int,
) -> None:
    known = {w.name: w.verifier for w in witnesses}
    for size, lines in store.cosignatures().items():
        if size > log_size:
            raise VerificationError(
                f"witnesses cosigned size {size} but the log has only {log_size} entries:"
                " truncated or rolled back",
                index=log_size,
            )
        cp = checkpoints.get(size)
        if cp is None:
            raise VerificationError(f"the cosigned checkpoint of size {size} was deleted")
        for line in lines:
            try:
                sig = NoteSignature.parse_line(line)
            except FormatError as exc:
                raise VerificationError(f"stored cosignature for size {size}: {exc}") from exc
            ver = known.get(sig.name)
            if ver is not None and ver.matches(sig):
                try:
                    cp.add(sig).cosigned_by(ver)
                except VerificationError as exc:
                    raise VerificationError(
                        f"cosignature of {ver.name} on size {size} no longer verifies: the"
                        " checkpoint was re-signed (rewritten log)"
                    ) from exc


class _Reader:
    """The slice of LogReader that :func:`push_checkpoint` needs, over a bare store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        from warden.record.proofs import consistency_proof

        return consistency_proof(self.store, old, new)

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        text = self.store.latest_checkpoint()
        return SignedCheckpoint.parse(text) if text else None
