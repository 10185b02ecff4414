"""Key files: create with safe permissions, load strictly, refuse keys others can read.

The log's signing key is a golang.org/x/mod/sumdb/note signer key (``PRIVATE+KEY+...``) in a
file of mode 0600 inside a directory of mode 0700; its verifier key (``.vkey``, public) is
written beside it. Whoever holds the signing key can re-sign a rewritten log, so the key must be
outside the agent's reach (the containment layer protects its path) and witnesses must hold
checkpoints in another trust domain.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from warden.errors import KeyError_
from warden.record.note import SIG_COSIGNATURE, SIG_ED25519, NoteSigner, NoteVerifier

__all__ = [
    "create_key",
    "default_key_name",
    "load_signer",
    "load_verifier",
    "vkey_path",
]

_MAX_KEY_FILE = 4096


def default_key_name(prefix: str = "warden.local/audit") -> str:
    """A fresh origin/key name: schema-less URL style with a random suffix (unique per log)."""
    return f"{prefix}-{secrets.token_hex(4)}"


def vkey_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name.removesuffix(".key") + ".vkey")


def create_key(path: Path, name: str | None = None, *, witness: bool = False) -> NoteSigner:
    """Create a new signing key at ``path`` (0600, parent 0700) and its ``.vkey`` beside it.

    Refuses to overwrite an existing key: losing a log key orphans every checkpoint it signed.
    """
    sig_type = SIG_COSIGNATURE if witness else SIG_ED25519
    signer = NoteSigner.generate(name or default_key_name(), sig_type)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise KeyError_(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyError_(f"cannot create key {path}: {exc.strerror}") from exc
    try:
        os.write(fd, (signer.skey + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    vpath = vkey_path(path)
    try:
        vpath.write_text(signer.verifier.vkey + "\n")
    except OSError as exc:
        raise KeyError_(f"cannot write verifier key {vpath}: {exc.strerror}") from exc
    return signer


def load_signer(path: Path, *, unsafe_allow_shared: bool = False) -> NoteSigner:
    """Load a signer key file; refuse symlinks and files readable by group or others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise KeyError_(f"no key at {path} (create one with 'warden audit keygen')") from None
    except OSError as exc:
        raise KeyError_(f"cannot open key {path}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyError_(f"{path} is not a regular file")
        if st.st_mode & 0o077 and not unsafe_allow_shared:
            raise KeyError_(
                f"{path} is accessible by other users (mode {stat.S_IMODE(st.st_mode):o});"
                " chmod 600 it"
            )
        data = os.read(fd, _MAX_KEY_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_KEY_FILE:
        raise KeyError_(f"{path} is too large to be a key")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyError_(f"{path} is not a key file (not ASCII)") from None
    try:
        return NoteSigner.parse(text)
    except KeyError_ as exc:
        raise KeyError_(f"{path}: {exc}") from exc


def load_verifier(spec: str | Path) -> NoteVerifier:
    """A verifier key given inline (``name+hash+base64``) or as a path to a ``.vkey`` file.

    A signer key file is accepted too (its public half is used).
    """
    if isinstance(spec, str) and not Path(spec).exists():
        return NoteVerifier.parse(spec)
    path = Path(spec)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyError_(f"cannot read verifier key {path}: {exc}") from exc
    try:
        if text.startswith("PRIVATE+KEY+"):
            return NoteSigner.parse(text).verifier
        return NoteVerifier.parse(text)
    except KeyError_ as exc:
        raise KeyError_(f"{path}: {exc}") from exc
