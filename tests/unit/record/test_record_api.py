"""The public surface of warden.record is pinned, and the layer imports only downward."""

from __future__ import annotations

import ast
from pathlib import Path

import warden.record
import warden.record.witness

SRC = Path(warden.record.__file__).parent


def test_record_exports() -> None:
    assert sorted(warden.record.__all__) == [
        "AuditLog",
        "BundleReport",
        "Checkpoint",
        "Entry",
        "LogReader",
        "NoteSigner",
        "NoteVerifier",
        "Receipt",
        "SignedCheckpoint",
        "SignedNote",
        "VerifyReport",
        "WitnessStatus",
        "canonical_json",
        "create_key",
        "default_db_path",
        "default_key_path",
        "export_bundle",
        "load_signer",
        "load_verifier",
        "verify_bundle",
        "verify_log",
    ]
    for name in warden.record.__all__:
        assert getattr(warden.record, name) is not None


def test_witness_exports() -> None:
    assert sorted(warden.record.witness.__all__) == [
        "DirWitness",
        "HttpWitness",
        "Witness",
        "WitnessClient",
        "WitnessRejected",
        "WitnessResult",
        "init_witness_dir",
        "load_witness_file",
        "make_server",
        "parse_witness_spec",
        "push_checkpoint",
    ]


def test_record_imports_no_edges() -> None:
    """Layer 4 depends on errors and itself only: never on cli, check, watch or integrations.
    (``warden._lazy``, the lazy-export helper, is a leaf like errors: it imports no warden.)"""
    allowed = ("warden.errors", "warden.record", "warden._lazy")
    lazy = ast.parse((SRC.parent / "_lazy.py").read_text())
    assert not any(isinstance(n, ast.ImportFrom | ast.Import) and "warden" in ast.dump(n)
                   for n in ast.walk(lazy))  # fmt: skip
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("warden")
            ):
                assert node.module.startswith(allowed), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("warden") or alias.name.startswith(allowed)


def test_no_unsafe_calls() -> None:
    for path in [
        *SRC.rglob("*.py"),
        SRC.parent / "cli" / "audit.py",
        SRC.parent / "cli" / "witness.py",
    ]:
        text = path.read_text()
        for bad in ("import pickle", "os.system", "shell=True", "yaml.load", "eval(", "exec("):
            assert bad not in text, f"{path.name} uses {bad}"
