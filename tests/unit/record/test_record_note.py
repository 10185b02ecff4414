"""Signed notes, keys and checkpoints against Go's x/mod/sumdb/note vectors and the C2SP specs."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from warden.errors import FormatError, KeyError_, VerificationError
from warden.record.checkpoint import Checkpoint, SignedCheckpoint
from warden.record.note import (
    SIG_COSIGNATURE,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    SignedNote,
    key_id,
)

ASSETS = Path(__file__).parents[2] / "assets" / "record"
G = json.loads((ASSETS / "signed_note_vectors.json").read_text())


def test_go_vkey_and_key_id() -> None:
    v = NoteVerifier.parse(G["vkey"])
    assert v.name == "PeterNeumann"
    assert f"{v.key_id:08x}" == G["key_id"]
    assert v.vkey == G["vkey"]
    # key ID = SHA-256(name || 0x0A || 0x01 || pubkey)[:4], recomputed independently here
    raw = base64.b64decode(G["vkey"].split("+", 2)[2])
    assert hashlib.sha256(b"PeterNeumann\n" + raw).digest()[:4].hex() == G["key_id"]


def test_go_skey_signs_like_go() -> None:
    signer = NoteSigner.parse(G["skey"])
    assert signer.skey == G["skey"]
    assert signer.verifier.vkey == G["vkey"]
    note = SignedNote(G["text"], (signer.sign(G["text"].encode()),))
    assert note.format() == G["signed"]  # Ed25519 is deterministic: byte-exact with Go


def test_go_open() -> None:
    peter = NoteVerifier.parse(G["vkey"])
    enoch = NoteVerifier.parse(G["other_vkey"])
    note = SignedNote.parse(G["signed"] + G["other_sig_line"])
    assert note.text == G["text"]
    note.verify(peter)
    note.verify(enoch)
    with pytest.raises(VerificationError):
        SignedNote.parse(G["signed"]).verify(enoch)
    tampered = G["signed"].replace("problem,", "problem;")
    with pytest.raises(VerificationError):
        SignedNote.parse(tampered).verify(peter)


@pytest.mark.parametrize("bad", G["bad_vkeys"])
def test_go_bad_vkeys(bad: str) -> None:
    with pytest.raises(KeyError_):
        NoteVerifier.parse(bad)


def test_mangled_vkeys_rejected() -> None:
    vk = G["vkey"]
    for i in range(len(vk)):
        mangled = vk[:i] + chr(ord(vk[i]) + 1) + vk[i + 1 :]
        with pytest.raises((KeyError_, FormatError)):
            NoteVerifier.parse(mangled)
    for cut in (vk[:-1], vk[1:], vk[:20]):
        with pytest.raises(KeyError_):
            NoteVerifier.parse(cut)


def test_mangled_skeys_rejected() -> None:
    sk = G["skey"]
    for i in range(len(sk)):
        mangled = sk[:i] + chr(ord(sk[i]) + 1) + sk[i + 1 :]
        with pytest.raises(KeyError_):
            NoteSigner.parse(mangled)


@pytest.mark.parametrize(
    "bad",
    [
        G["text"],
        G["text"] + "\n",
        G["signed"][:-1],
        "\x01" + G["signed"],
        G["text"] + "\n" + G["signed"].split("\n\n")[1].replace("PeterNeumann", "Bad Name"),
        G["signed"] + "Unexpected line.\n",
        G["text"] + "\n" + G["other_sig_line"] * 101,
    ],
)
def test_go_malformed_notes(bad: str) -> None:
    with pytest.raises(FormatError):
        SignedNote.parse(bad)


def test_not_utf8() -> None:
    with pytest.raises(FormatError):
        SignedNote.parse(b"\xff" + G["signed"].encode())



@pytest.mark.parametrize("pos", ["start", "text", "signature"])
def test_control_characters_rejected_exactly(pos: str) -> None:
    """The one-regex control check refuses exactly what the per-character rule it replaced did
    (C0 controls but newline, and DEL), wherever the character stands; anything else in
    U+0020..U+00A0 (C1 controls included) and beyond is left to the other checks."""
    signed = G["signed"]
    cut = {"start": 0, "text": 5, "signature": len(signed) - 3}[pos]
    for cp in [*range(0xA1), 0x2028, 0xFEFF, 0x1F600]:
        c = chr(cp)
        bad = signed[:cut] + c + signed[cut:]
        old_rule = any(ord(x) < 0x20 and x != "\n" for x in bad) or "\x7f" in bad
        try:
            SignedNote.parse(bad)
            refused = ""
        except FormatError as exc:
            refused = str(exc)
        assert (refused == "note contains control characters") == old_rule, (cp, refused)

def test_cosignature_spec_example_layout() -> None:
    # c2sp.org/tlog-cosignature example: key ID, then u64 timestamp 1679315147, then signature
    line = (
        "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OW"
        "XEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    sig = NoteSignature.parse_line(line)
    assert int.from_bytes(sig.raw[4:12], "big") == 1679315147
    assert len(sig.raw) == 4 + 8 + 64


def test_cosign_roundtrip_and_message() -> None:
    w = NoteSigner.generate("witness.example/w1", SIG_COSIGNATURE)
    log = NoteSigner.generate("example.com/log")
    cp = Checkpoint("example.com/log", 5, b"\x07" * 32).sign(log)
    sig = w.sign(cp.checkpoint.text().encode(), timestamp=1679315147)
    assert sig.key_id == key_id("witness.example/w1", 0x04, w.verifier.public)
    cosigned = cp.add(sig)
    assert cosigned.cosigned_by(w.verifier) == 1679315147
    # the signed message is "cosignature/v1\ntime <t>\n" + body: check with the raw key
    msg = b"cosignature/v1\ntime 1679315147\n" + cp.checkpoint.text().encode()
    w.verifier._key.verify(sig.raw[12:], msg)
    again = SignedCheckpoint.parse(cosigned.text())
    again.verify(log.verifier)
    assert again.cosigned_by(w.verifier) == 1679315147
    assert base64.b64decode(w.verifier.vkey.split("+", 2)[2])[0] == 0x04


def test_checkpoint_text_and_parse() -> None:
    log = NoteSigner.generate("example.com/behind-the-sofa")
    cp = Checkpoint.from_text(
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cp.size == 20852163
    signed = cp.sign(log)
    text = signed.text()
    assert text.startswith(cp.text() + "\n\u2014 example.com/behind-the-sofa ")
    SignedCheckpoint.open(text, log.verifier)
    ext = Checkpoint("o", 1, b"\x00" * 32, ("ext line",))
    assert Checkpoint.from_text(ext.text()) == ext


@pytest.mark.parametrize(
    "text",
    [
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",
        "o\n1\nAAAA\n",
        "o\n1\n",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ],
)
def test_malformed_checkpoints(text: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.from_text(text)


def test_checkpoint_origin_must_match_key() -> None:
    log = NoteSigner.generate("example.com/log")
    other = NoteSigner.generate("example.com/other")
    cp = Checkpoint("example.com/other", 1, b"\x01" * 32).sign(log)
    with pytest.raises(VerificationError):
        cp.verify(log.verifier)
    with pytest.raises(VerificationError):
        Checkpoint("example.com/log", 1, b"\x01" * 32).sign(other).verify(log.verifier)


def _libsodium() -> bool:
    from warden.record import sodium

    return sodium._library() is not None


@pytest.mark.skipif(not _libsodium(), reason="libsodium is not installed")
@pytest.mark.parametrize("sig_type", [0x01, SIG_COSIGNATURE])
def test_native_signer_gives_the_reference_signatures(sig_type: int) -> None:
    """libsodium's Ed25519 (a resident log's checkpoints) must give exactly cryptography's
    signatures: Ed25519 is deterministic, and a log must not depend on which one signed."""
    import os

    for i in range(40):
        signer = NoteSigner.from_seed(f"example.com/log{i}", os.urandom(32), sig_type)
        fast = signer.native()
        assert fast._raw is not signer._raw  # libsodium in use, not the reference again
        assert fast == signer and fast.verifier == signer.verifier and fast.skey == signer.skey
        for msg in (b"", b"\x00", os.urandom(i * 97), b"example.com/log\n%d\nroot\n" % i):
            if sig_type == SIG_COSIGNATURE:
                assert fast.sign(msg, timestamp=i) == signer.sign(msg, timestamp=i)
            else:
                assert fast.sign(msg) == signer.sign(msg)
                assert signer.verifier.check(msg, fast.sign(msg)) is None


def test_native_signer_is_not_used_when_it_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A libsodium whose signature of the test message is not the reference's (or none at
    all) leaves the reference in place."""
    from warden.record import sodium

    signer = NoteSigner.generate("example.com/log")
    assert sodium.ed25519_signer(signer.seed, lambda m: bytes(64)) is None
    monkeypatch.setattr(sodium, "_library", lambda: None)
    assert signer.native() is signer
