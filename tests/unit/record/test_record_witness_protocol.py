"""The add-checkpoint body of c2sp.org/tlog-witness, and the witness's own decisions."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from warden.errors import FormatError
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.merkle import consistency_ranges, leaf_hash, mth
from warden.record.note import SIG_COSIGNATURE, NoteSigner
from warden.record.witness import Witness, WitnessRejected
from warden.record.witness.base import format_request, parse_request

ASSETS = Path(__file__).parents[2] / "assets" / "record"


def test_spec_example_parses() -> None:
    old, proof, note = parse_request((ASSETS / "tlog_witness_example.txt").read_bytes())
    assert old == 20852014
    assert [base64.b64encode(h).decode()[:6] for h in proof] == [
        "PlRNCr",
        "jrJZDm",
        "5+pKlU",
        "/6WVhP",
    ]
    cp = SignedCheckpoint.parse(note)
    assert cp.checkpoint.origin == "example.com/behind-the-sofa" and cp.size == 20852163
    assert len(cp.note.signatures) == 2


def test_roundtrip() -> None:
    h = bytes(range(32))
    body = format_request(7, [h, h], "o\n9\n" + base64.b64encode(h).decode() + "\n\n— o AAAA\n")
    old, proof, _ = parse_request(body)
    assert old == 7 and proof == [h, h]


@pytest.mark.parametrize(
    "body",
    [
        b"old 07\n\nx",
        b"old -1\n\nx",
        b"new 1\n\nx",
        b"old 1\nnot base64!\n\nx",
        b"old 1\nAAAA\n\nx",  # not 32 bytes
        b"old 1\n" + b"".join([base64.b64encode(bytes(32)) + b"\n"] * 64) + b"\nx",
        b"old 1\n",
        b"old 1\xff\n\nx",
        b"x" * (70 * 1024),
    ],
)
def test_malformed_requests(body: bytes) -> None:
    with pytest.raises(FormatError):
        parse_request(body)


def _proof(leaves: list[bytes], old: int, new: int) -> list[bytes]:
    return [mth(leaves[a:b]) for a, b in consistency_ranges(old, new)]


def test_witness_grows_only_consistently(tmp_path: Path) -> None:
    log = NoteSigner.generate("log.test/a")
    w = Witness(
        tmp_path, signer=NoteSigner.generate("w.test/1", SIG_COSIGNATURE), logs=[log.verifier]
    )
    leaves = [leaf_hash(b"%d" % i) for i in range(20)]

    def cp(n: int) -> str:
        return Checkpoint(log.name, n, mth(leaves[:n])).sign(log).text()

    w.add_checkpoint(format_request(0, [], cp(5)))
    w.add_checkpoint(format_request(5, _proof(leaves, 5, 12), cp(12)))
    w.add_checkpoint(format_request(12, [], cp(12)))  # same size, same root: cosigned again
    with pytest.raises(WitnessRejected) as info:
        w.add_checkpoint(format_request(5, _proof(leaves, 5, 20), cp(20)))
    assert info.value.status == 409 and info.value.known_size == 12
    forked = [*leaves[:8], leaf_hash(b"evil"), *leaves[9:]]
    bad = Checkpoint(log.name, 20, mth(forked)).sign(log).text()
    with pytest.raises(WitnessRejected) as info:
        w.add_checkpoint(format_request(12, _proof(forked, 12, 20), bad))
    assert info.value.status == 422
    latest = w.latest(log.name)
    assert latest is not None and latest.size == 12


def test_witness_check_and_update_is_atomic(tmp_path: Path) -> None:
    """Many concurrent submissions of the same old size: exactly one is cosigned."""
    log = NoteSigner.generate("log.test/a")
    w = Witness(
        tmp_path, signer=NoteSigner.generate("w.test/1", SIG_COSIGNATURE), logs=[log.verifier]
    )
    leaves = [leaf_hash(b"%d" % i) for i in range(40)]
    results: list[int] = []

    def submit(n: int) -> None:
        body = format_request(0, [], Checkpoint(log.name, n, mth(leaves[:n])).sign(log).text())
        try:
            w.add_checkpoint(body)
            results.append(n)
        except WitnessRejected:
            pass

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(10, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1
    latest = w.latest(log.name)
    assert latest is not None and latest.size == results[0]
