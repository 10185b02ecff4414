"""``warden audit`` and ``warden witness`` as a user runs them: exit codes and messages."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from warden.cli.main import main
from warden.record import AuditLog, writer


def run(*argv: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "warden", *argv], capture_output=True, text=True, timeout=60
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 1)  # every size signed: cut-backs are clean
    path = tmp_path / "audit.db"
    assert main(["audit", "keygen", "--db", str(path)]) == 0
    with AuditLog.open(path) as log:
        for i in range(12):
            log.append(
                {"type": "decision", "time": f"t{i}", "session": "s", "i": i},
                payload={"stdout": "x" * i},
            )
    return path


def test_keygen_permissions_and_refuses_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "keys" / "audit.key"
    assert main(["audit", "keygen", "--key", str(key), "--name", "example.com/log"]) == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert "example.com/log+" in capsys.readouterr().out
    assert main(["audit", "keygen", "--key", str(key)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err


def test_verify_ok_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 12 entries") and "12 entries not witnessed" in out
    assert main(["audit", "verify", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["size"] == 12 and doc["unwitnessed"] == 12


def test_verify_failure_names_the_index(db: Path) -> None:
    with sqlite3.connect(db) as c:
        c.execute(
            "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), 'decision', 'nothing')"
            " AS BLOB) WHERE idx = 7"
        )
    c.close()
    code, out, err = run("audit", "verify", "--db", str(db))
    assert code == 1
    assert out.startswith("FAILED at entry 7:") and "Traceback" not in err
    code, out, _ = run("audit", "verify", "--db", str(db), "--json")
    assert code == 1 and json.loads(out)["index"] == 7


def test_verify_progress_on_stderr(db: Path) -> None:
    code, _, err = run("audit", "verify", "--db", str(db), "--progress")
    assert code == 0 and "verifying: 12/12 entries (100%)" in err


def test_show_tail_prove(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "--db", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["size"] == 12 and info["checkpoint"].split("\n")[1] == "12"
    assert main(["audit", "show", "3", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out)["payload"] == {"stdout": "xxx"}
    assert main(["audit", "tail", "-n", "3", "--db", str(db), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["index"] for x in lines] == [9, 10, 11]
    assert main(["audit", "tail", "-n", "2", "--db", str(db)]) == 0
    assert "t11 decision s" in capsys.readouterr().out
    assert main(["audit", "prove", "5", "--db", str(db), "--json"]) == 0
    proof = json.loads(capsys.readouterr().out)
    import base64

    from warden.record.checkpoint import SignedCheckpoint
    from warden.record.merkle import leaf_hash, verify_inclusion

    cp = SignedCheckpoint.parse(proof["checkpoint"])
    verify_inclusion(
        5,
        12,
        leaf_hash(proof["leaf"].encode()),
        [base64.b64decode(h) for h in proof["proof"]],
        cp.root,
    )
    assert main(["audit", "prove", "--consistency", "4", "--db", str(db), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["proof"]) > 0


def test_export_and_offline_bundle_verify(db: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    assert (
        main(["audit", "export", str(bundle), "--db", str(db), "--start", "2", "--end", "6"]) == 0
    )
    vkey = db.with_suffix(".vkey")
    code, out, _ = run(
        "audit", "verify", "--bundle", str(bundle), "--vkey", str(vkey), "--db", "/nonexistent/x.db"
    )
    assert code == 0 and "OK: 4 entries" in out
    doc = json.loads(bundle.read_text())
    doc["entries"][1]["leaf"] = doc["entries"][1]["leaf"].replace("decision", "nothing!")
    bundle.write_text(json.dumps(doc))
    code, out, err = run("audit", "verify", "--bundle", str(bundle), "--vkey", str(vkey))
    assert code == 1 and "FAILED at entry 3" in out and "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        "[]",
        '{"format":"warden-audit-bundle/v1"}',
        '{"format":"x","checkpoint":"","entries":[]}',
    ],
)
def test_malformed_bundles_are_readable_errors(db: Path, tmp_path: Path, content: str) -> None:
    bundle = tmp_path / "b.json"
    bundle.write_text(content)
    code, _, err = run(
        "audit", "verify", "--bundle", str(bundle), "--vkey", str(db.with_suffix(".vkey"))
    )
    assert code == 1 and err.startswith("warden: ") and "Traceback" not in err


def test_bad_keys_are_readable_errors(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("PRIVATE+KEY+nope\n")
    os.chmod(bad, 0o600)
    code, _, err = run("audit", "verify", "--db", str(db), "--key", str(bad))
    assert code == 1 and "Traceback" not in err and "key" in err
    code, _, err = run("audit", "verify", "--db", str(db), "--vkey", "x+y+z")
    assert code == 1 and "Traceback" not in err
    other = tmp_path / "other.key"
    assert main(["audit", "keygen", "--key", str(other)]) == 0
    code, out, err = run("audit", "verify", "--db", str(db), "--key", str(other))
    assert code == 1 and "is not the log" in out + err


def test_witness_cli_serve_and_checkpoint(db: Path, tmp_path: Path) -> None:
    wdir = tmp_path / "wit"
    vkey = db.with_suffix(".vkey").read_text().strip()
    code, out, _ = run(
        "witness", "init", "--dir", str(wdir), "--name", "witness.test/w1", "--log-vkey", vkey
    )
    assert code == 0
    wvkey = out.split("cosigner key: ")[1].strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "warden", "witness", "serve", "--dir", str(wdir), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        proc.stderr.readline()
        url = proc.stderr.readline().split("listening on ")[1].strip()
        spec = f"{url}={wvkey}"
        code, out, err = run("audit", "checkpoint", "--db", str(db), "--witness", spec)
        assert code == 0, err
        assert "\u2014 witness.test/w1 " in out
        code, out, _ = run("audit", "verify", "--db", str(db), "--witness", spec)
        assert code == 0 and "witness witness.test/w1: size 12, 0 entries not yet witnessed" in out
        with sqlite3.connect(db) as c:
            c.execute("DELETE FROM entries WHERE idx >= 10")
            c.execute("DELETE FROM checkpoints WHERE size > 10")
            c.execute("DELETE FROM meta WHERE key LIKE 'witness-size:%'")
        c.close()
        code, out, _ = run("audit", "verify", "--db", str(db), "--witness", spec)
        assert code == 1 and "FAILED at entry 10" in out and "rolled back" in out
    finally:
        proc.terminate()
        proc.wait(10)


def test_dir_witness_from_witnesses_file(db: Path, tmp_path: Path) -> None:
    wdir = tmp_path / "usb" / "wit"
    vkey = db.with_suffix(".vkey").read_text().strip()
    assert (
        main(["witness", "init", "--dir", str(wdir), "--name", "w.test/usb", "--log-vkey", vkey])
        == 0
    )
    db.with_suffix(".witnesses").write_text(f"# other disk\n{wdir}\n")
    assert main(["audit", "checkpoint", "--db", str(db)]) == 0
    code, out, _ = run("audit", "verify", "--db", str(db))
    assert code == 0 and "witness w.test/usb: size 12" in out


def test_help_has_examples() -> None:
    code, out, _ = run("audit", "--help")
    assert code == 0 and "examples:" in out and "warden audit verify" in out
    code, out, _ = run("witness", "serve", "--help")
    assert code == 0 and "--log-vkey" in out


def test_missing_log_is_readable(tmp_path: Path) -> None:
    code, _, err = run("audit", "show", "--db", str(tmp_path / "none.db"))
    assert code == 1 and "no audit log" in err and "Traceback" not in err
