"""Ed25519 signatures through libsodium, when the system has it (``ctypes``).

The audit writer signs a checkpoint at every commit, and in a process that commits one
decision at a time (a resident log: the MCP proxy, ``warden serve``) that signature is on the
path of every call: with ``cryptography`` (OpenSSL's Ed25519) ~458k instructions, a quarter of
an allowed MCP call's, and the GIL held throughout; libsodium's takes ~246k (callgrind,
2026-11-22: 51 -> 33 us warm here), and ``ctypes`` releases the GIL around the call, so the
proxy's other thread can inspect a server's answer meanwhile.

Ed25519 signatures are deterministic (RFC 8032, 5.1.6): both libraries give the same bytes for
the same key and message, so nothing that reads the log can tell them apart. Each signer made
here is checked against the reference (``cryptography``) once before it is used; no libsodium,
or any difference, leaves the reference in place. Loading costs ~10 ms (``ctypes`` and the
library), so only long-lived processes ask for it (:meth:`NoteSigner.native`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["ed25519_signer"]

#: The shared library's names: Debian/Ubuntu's runtime package ships only the versioned one.
_NAMES = ("libsodium.so.23", "libsodium.so.26", "libsodium.so", "libsodium.dylib")
#: What a new signer signs once with both implementations before it is trusted.
_CHECK = b"warden: libsodium against the reference\n" + bytes(range(256))


@functools.cache
def _library() -> Any | None:
    """libsodium, initialised, with the two functions' C types declared; None without it."""
    try:
        import ctypes
    except ImportError:  # pragma: no cover - a Python built without ctypes
        return None
    for name in _NAMES:
        try:
            lib = ctypes.CDLL(name)  # CDLL: the GIL is released during every call
            if lib.sodium_init() < 0:
                return None
        except (OSError, AttributeError):
            continue
        buf, ull = ctypes.c_char_p, ctypes.c_ulonglong
        lib.crypto_sign_seed_keypair.argtypes = [buf, buf, buf]
        lib.crypto_sign_seed_keypair.restype = ctypes.c_int
        lib.crypto_sign_detached.argtypes = [buf, ctypes.c_void_p, buf, ull, buf]
        lib.crypto_sign_detached.restype = ctypes.c_int
        return lib
    return None


def ed25519_signer(
    seed: bytes, reference: Callable[[bytes], bytes]
) -> Callable[[bytes], bytes] | None:
    """``sign(message) -> 64-byte signature`` by libsodium for the Ed25519 key ``seed``, or
    None (no libsodium, or its signature of a test message differs from ``reference``'s)."""
    lib = _library()
    if lib is None or len(seed) != 32:
        return None
    import ctypes

    public, secret = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
    if lib.crypto_sign_seed_keypair(public, secret, seed) != 0:
        return None
    detached, new_buffer = lib.crypto_sign_detached, ctypes.create_string_buffer

    def sign(message: bytes) -> bytes:
        out = new_buffer(64)  # one per call: signers may be shared between threads
        if detached(out, None, message, len(message), secret) != 0:
            raise RuntimeError("libsodium could not sign")
        return out.raw

    if sign(_CHECK) != reference(_CHECK):
        return None
    return sign
