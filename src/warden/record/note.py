"""Signed notes (c2sp.org/signed-note) with Ed25519 keys, and their key encodings.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> <base64(key ID || signature)>``. The key ID is the first four bytes of
``SHA-256(name || 0x0A || type || public key)``, big-endian; ``type`` is ``0x01`` for a log's
Ed25519 key and ``0x04`` for a witness's timestamped Ed25519 cosignature
(c2sp.org/tlog-cosignature), which signs ``"cosignature/v1\\ntime <t>\\n" || text`` and carries
``u64 t`` before the signature.

Keys use the text forms of golang.org/x/mod/sumdb/note, so they interoperate with Go tooling:
verifier key ``<name>+<key ID hex>+<base64(type || public key)>`` and signer key
``PRIVATE+KEY+<name>+<key ID hex>+<base64(type || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from warden.errors import FormatError, KeyError_, VerificationError

__all__ = [
    "MAX_SIGNATURES",
    "SIG_COSIGNATURE",
    "SIG_ED25519",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "SignedNote",
    "key_id",
]

SIG_ED25519 = 0x01
SIG_COSIGNATURE = 0x04
_TYPES = (SIG_ED25519, SIG_COSIGNATURE)
#: The spec asks verifiers to accept at least 16 signatures and to cap them; Go caps at 100.
MAX_SIGNATURES = 100
#: Bounds the work a hostile note can cause (a checkpoint is ~150 bytes, signatures ~100 each).
MAX_NOTE_SIZE = 64 * 1024
_DASH = "\u2014 "
_COSIG_HEADER = b"cosignature/v1\n"


#: What a note may not contain: C0 control characters other than newline, and DEL. One regular
#: expression search (C) rather than a generator over the characters: full verification parses
#: every kept checkpoint (~n/256 of them), and the per-character loop was ~30 us a note, 0.12 s
#: of a 1M-entry log's 3,906 checkpoints (docs/audit.md section 9).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise KeyError_(f"invalid key name {name!r} (must be non-empty, no spaces, no '+')")
    return name


def key_id(name: str, sig_type: int, public: bytes) -> int:
    """c2sp.org/signed-note: ``SHA-256(name || 0x0A || type || public key)[:4]`` big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def b64decode_strict(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise FormatError(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line; ``raw`` is the decoded ``key ID || signature``."""

    name: str
    key_id: int
    raw: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.raw).decode()}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        if not line.startswith(_DASH):
            raise FormatError("signature line does not start with an em dash and a space")
        parts = line[len(_DASH) :].split(" ")
        if len(parts) != 2:
            raise FormatError("signature line must be '— <name> <base64>'")
        name, b64 = parts
        try:
            _check_name(name)
        except KeyError_ as exc:
            raise FormatError(f"signature line has an invalid key name {name!r}") from exc
        raw = b64decode_strict(b64, "signature")
        if len(raw) < 5:
            raise FormatError("signature is too short")
        return cls(name, int.from_bytes(raw[:4], "big"), raw)


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public key that checks note signatures (type 0x01) or cosignatures (type 0x04)."""

    name: str
    sig_type: int
    public: bytes
    _key: Ed25519PublicKey = field(repr=False, compare=False)

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public)

    @property
    def vkey(self) -> str:
        blob = base64.b64encode(bytes([self.sig_type]) + self.public).decode()
        return f"{self.name}+{self.key_id:08x}+{blob}"

    @classmethod
    def from_public(cls, name: str, public: bytes, sig_type: int = SIG_ED25519) -> NoteVerifier:
        if sig_type not in _TYPES:
            raise KeyError_(f"unsupported signature type 0x{sig_type:02x}")
        if len(public) != 32:
            raise KeyError_("an Ed25519 public key is 32 bytes")
        try:
            key = Ed25519PublicKey.from_public_bytes(public)
        except ValueError as exc:
            raise KeyError_(f"invalid Ed25519 public key: {exc}") from exc
        return cls(_check_name(name), sig_type, public, key)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse ``<name>+<hex key ID>+<base64(type || key)>`` and check the key ID."""
        parts = vkey.strip().split("+", 2)  # base64 may contain '+'
        if len(parts) != 3 or len(parts[1]) != 8:
            raise KeyError_("verifier key must be '<name>+<8 hex digits>+<base64 key>'")
        name, hexid, b64 = parts
        try:
            want = int(hexid, 16)
            blob = b64decode_strict(b64, "verifier key")
        except (ValueError, FormatError) as exc:
            raise KeyError_(f"malformed verifier key: {exc}") from exc
        if len(blob) != 33:
            raise KeyError_("verifier key must hold a type byte and a 32-byte Ed25519 key")
        ver = cls.from_public(name, blob[1:], blob[0])
        if ver.key_id != want:
            raise KeyError_(f"verifier key ID {hexid} does not match the key")
        return ver

    def check(self, text: bytes, sig: NoteSignature) -> int | None:
        """Verify one signature over note ``text``; return the cosignature time (or None).

        Raises :class:`VerificationError` if the signature is from this key and does not verify.
        """
        body = sig.raw[4:]
        msg = text
        ts: int | None = None
        if self.sig_type == SIG_COSIGNATURE:
            if len(body) != 8 + 64:
                raise VerificationError(f"cosignature from {self.name} has the wrong length")
            (ts,) = struct.unpack(">Q", body[:8])
            if ts >= 1 << 63:
                raise VerificationError(f"cosignature from {self.name} has an invalid time")
            msg = _COSIG_HEADER + b"time %d\n" % ts + text
            body = body[8:]
        elif len(body) != 64:
            raise VerificationError(f"signature from {self.name} has the wrong length")
        try:
            self._key.verify(body, msg)
        except InvalidSignature:
            raise VerificationError(f"invalid signature from key {self.name}") from None
        return ts

    def matches(self, sig: NoteSignature) -> bool:
        return sig.name == self.name and sig.key_id == self.key_id


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 private key with its name and signature type."""

    name: str
    sig_type: int
    seed: bytes = field(repr=False)
    _key: Ed25519PrivateKey = field(repr=False, compare=False)
    #: The 4-byte key ID, derived once: the writer signs a checkpoint per commit, and deriving
    #: the public key and hashing it again each time cost ~11 µs of a ~57 µs signature.
    _kid: bytes = field(init=False, repr=False, compare=False)
    #: Ed25519 over a message: the key's own (``cryptography``), or libsodium's (:meth:`native`).
    _raw: Callable[[bytes], bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_kid", self.verifier.key_id.to_bytes(4, "big"))
        object.__setattr__(self, "_raw", self._key.sign)

    def native(self) -> NoteSigner:
        """This key, signing through libsodium when the system has it
        (:mod:`warden.record.sodium`): the same signatures (Ed25519 is deterministic; checked
        once against ``cryptography``'s), ~45 % fewer instructions, the GIL released meanwhile.
        For long-lived processes (loading it costs ~10 ms); ``self`` when it is not there."""
        from warden.record.sodium import ed25519_signer

        fast = ed25519_signer(self.seed, self._key.sign)
        if fast is None:
            return self
        signer = NoteSigner(self.name, self.sig_type, self.seed, self._key)
        object.__setattr__(signer, "_raw", fast)
        return signer

    @classmethod
    def generate(cls, name: str, sig_type: int = SIG_ED25519) -> NoteSigner:
        key = Ed25519PrivateKey.generate()
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls.from_seed(name, seed, sig_type)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, sig_type: int = SIG_ED25519) -> NoteSigner:
        if sig_type not in _TYPES:
            raise KeyError_(f"unsupported signature type 0x{sig_type:02x}")
        if len(seed) != 32:
            raise KeyError_("an Ed25519 private key seed is 32 bytes")
        return cls(_check_name(name), sig_type, seed, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def parse(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>``."""
        parts = skey.strip().split("+", 4)  # base64 may contain '+'
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or len(parts[3]) != 8:
            raise KeyError_("signer key must be 'PRIVATE+KEY+<name>+<8 hex digits>+<base64>'")
        _, _, name, hexid, b64 = parts
        try:
            want = int(hexid, 16)
            blob = b64decode_strict(b64, "signer key")
        except (ValueError, FormatError) as exc:
            raise KeyError_(f"malformed signer key: {exc}") from exc
        if len(blob) != 33:
            raise KeyError_("signer key must hold a type byte and a 32-byte Ed25519 seed")
        signer = cls.from_seed(name, blob[1:], blob[0])
        if signer.verifier.key_id != want:
            raise KeyError_(f"signer key ID {hexid} does not match the key")
        return signer

    @property
    def verifier(self) -> NoteVerifier:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        pub = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return NoteVerifier.from_public(self.name, pub, self.sig_type)

    @property
    def skey(self) -> str:
        blob = base64.b64encode(bytes([self.sig_type]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{blob}"

    def sign(self, text: bytes, *, timestamp: int | None = None) -> NoteSignature:
        """Sign note text (type 0x01) or cosign it at ``timestamp`` (type 0x04)."""
        kid = self._kid
        if self.sig_type == SIG_COSIGNATURE:
            if timestamp is None or not 0 <= timestamp < 1 << 63:
                raise KeyError_("a cosignature needs a POSIX timestamp below 2**63")
            msg = _COSIG_HEADER + b"time %d\n" % timestamp + text
            raw = kid + struct.pack(">Q", timestamp) + self._raw(msg)
        else:
            raw = kid + self._raw(text)
        return NoteSignature(self.name, int.from_bytes(kid, "big"), raw)


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A parsed (not yet verified) signed note: text and signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, data: bytes | str) -> SignedNote:
        """Strict parse per c2sp.org/signed-note; :class:`FormatError` on any deviation."""
        if isinstance(data, bytes):
            if len(data) > MAX_NOTE_SIZE:
                raise FormatError("note is too large")
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError("note is not valid UTF-8") from exc
        if len(data) > MAX_NOTE_SIZE:
            raise FormatError("note is too large")
        if _CONTROL.search(data) is not None:
            raise FormatError("note contains control characters")
        if not data.endswith("\n"):
            raise FormatError("note does not end with a newline")
        split = data.rfind("\n\n")
        if split < 0:
            raise FormatError("note has no blank line before its signatures")
        text, sigs = data[: split + 1], data[split + 2 :]
        lines = sigs.split("\n")[:-1]
        if not lines:
            raise FormatError("note has no signatures")
        if len(lines) > MAX_SIGNATURES:
            raise FormatError(f"note has more than {MAX_SIGNATURES} signatures")
        return cls(text, tuple(NoteSignature.parse_line(line) for line in lines))

    def format(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def verify(self, verifier: NoteVerifier) -> int | None:
        """Check the signature of ``verifier``; it must be present and valid.

        Returns the cosignature time for a type-0x04 key. Signatures from other keys are
        ignored, as the spec requires.
        """
        found = [s for s in self.signatures if verifier.matches(s)]
        if not found:
            raise VerificationError(f"note is not signed by {verifier.name}")
        ts: int | None = None
        for sig in found:  # a known key that fails to verify rejects the note
            ts = verifier.check(self.text.encode(), sig)
        return ts

    def with_signatures(self, *extra: NoteSignature) -> SignedNote:
        seen = {s.raw for s in self.signatures}
        return SignedNote(self.text, self.signatures + tuple(s for s in extra if s.raw not in seen))
