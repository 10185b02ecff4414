"""The HTTP witness over a real loopback socket: protocol statuses, cosignatures, rollbacks."""

from __future__ import annotations

import base64
import http.client
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.errors import VerificationError
from warden.record import AuditLog, NoteSigner, verify_log, writer
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.merkle import EMPTY_ROOT
from warden.record.witness import HttpWitness, Witness, init_witness_dir, make_server
from warden.record.witness.base import format_request
from warden.record.witness.http import WitnessServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[WitnessServer, NoteSigner, str]]:
    log_key = NoteSigner.generate("warden.test/log")
    wdir = tmp_path / "witness"
    init_witness_dir(wdir, "witness.test/w1", [log_key.verifier.vkey])
    srv = make_server(Witness(wdir), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port = srv.server_address[:2]
    try:
        yield srv, log_key, f"http://{host!s}:{port}"
    finally:
        srv.shutdown()
        srv.server_close()


def post(url: str, body: bytes, path: str = "/add-checkpoint") -> tuple[int, str, str]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("Content-Type") or "", data


def test_protocol_statuses(server) -> None:  # type: ignore[no-untyped-def]
    srv, log_key, url = server
    wkey = srv.witness.signer.verifier
    root1 = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    cp = Checkpoint(log_key.name, 1, root1).sign(log_key)
    # 200 with a cosignature that verifies, from old size 0 with an empty proof
    status, _, body = post(url, format_request(0, [], cp.text()))
    assert status == 200 and body.startswith("\u2014 witness.test/w1 ")
    SignedCheckpoint.parse(cp.text() + body).cosigned_by(wkey)
    # 409: old size does not match, body is the known size as text/x.tlog.size
    status, ctype, body = post(url, format_request(0, [], cp.text()))
    assert (status, ctype, body) == (409, "text/x.tlog.size", "1\n")
    # 409: same size, different root
    other = Checkpoint(log_key.name, 1, EMPTY_ROOT).sign(log_key)
    assert post(url, format_request(1, [], other.text()))[0] == 409
    # 422: bad consistency proof
    cp2 = Checkpoint(log_key.name, 2, EMPTY_ROOT).sign(log_key)
    assert post(url, format_request(1, [EMPTY_ROOT], cp2.text()))[0] == 422
    # 400: old size larger than the checkpoint; malformed body
    assert post(url, format_request(5, [], cp.text()))[0] == 400
    assert post(url, b"garbage")[0] == 400
    # 403: not signed by the trusted log key
    forged = Checkpoint(log_key.name, 1, root1).sign(NoteSigner.generate(log_key.name))
    assert post(url, format_request(1, [], forged.text()))[0] == 403
    # 404: unknown origin, unknown path
    stranger = NoteSigner.generate("someone/else")
    assert (
        post(
            url, format_request(0, [], Checkpoint("someone/else", 1, root1).sign(stranger).text())
        )[0]
        == 404
    )
    assert post(url, b"x", "/nope")[0] == 404


def test_log_pushes_and_verify_detects_rollback(
    server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 1)  # every size signed: cut-backs are clean  # type: ignore[no-untyped-def]
    srv, log_key, url = server
    http_w = HttpWitness(url, srv.witness.signer.verifier)
    db = tmp_path / "audit.db"
    with AuditLog.open(db, key=log_key, witnesses=[http_w]) as log:
        for i in range(9):
            log.append({"type": "decision", "i": i})
        assert log.witness() == []
        report = verify_log(log.store, log_key.verifier, witnesses=[http_w])
        assert report.unwitnessed == 0
        cosigs = log.store.cosignatures()
        assert 9 in cosigs
    import sqlite3

    with sqlite3.connect(db) as c:  # roll the log back to 5 entries
        c.execute("DELETE FROM entries WHERE idx >= 5")
        c.execute("DELETE FROM checkpoints WHERE size > 5")
        c.execute("DELETE FROM cosignatures")
        c.execute("DELETE FROM meta WHERE key LIKE 'witness-size:%'")
    c.close()
    from warden.record.store.sqlite import SQLiteStore

    store = SQLiteStore(db)
    try:
        with pytest.raises(VerificationError, match="rolled back") as info:
            verify_log(store, log_key.verifier, witnesses=[http_w])
        assert info.value.index == 5
    finally:
        store.close()


def test_unreachable_witness_is_reported_not_fatal(tmp_path: Path) -> None:
    log_key = NoteSigner.generate("warden.test/log")
    w = HttpWitness("http://127.0.0.1:9", NoteSigner.generate("w/x", 0x04).verifier, timeout=1)
    with AuditLog.open(tmp_path / "a.db", key=log_key, witnesses=[w]) as log:
        assert log.append({"type": "x"}) == 0  # appends never wait for witnesses
        problems = log.witness()
    assert problems and "unreachable" in problems[0]
