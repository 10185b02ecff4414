"""Read the server name out of a TLS ClientHello (pure; RFC 8446 section 4.1.2, RFC 6066 section 3).

The egress proxy does not terminate TLS. It reads the first bytes a client sends into a CONNECT
tunnel and, if they are a ClientHello, takes the ``server_name`` extension so it can refuse a
tunnel to an allowed host that asks for another one (domain fronting by SNI). What it can see:

* the cleartext ``server_name`` (for Encrypted Client Hello, RFC 9849, that is the *outer*
  ClientHello's public name; the inner name the server actually serves is encrypted);
* whether an ``encrypted_client_hello`` extension (0xfe0d) is present, so the proxy can refuse ECH
  by default rather than pretend it checked the inner name.

What it cannot see: anything after the ClientHello (the HTTP ``Host`` inside TLS, a second
virtual host on the same connection, HTTP/2 coalescing). Those are documented limits.

The parser is strict: a ClientHello split over several handshake records is reassembled (up to
:data:`MAX_CLIENT_HELLO`), anything inconsistent (lengths, duplicate extensions, two host names,
a name with bytes outside printable ASCII) is ``MALFORMED`` and the proxy denies it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "MAX_CLIENT_HELLO",
    "ClientHello",
    "HelloStatus",
    "first_bytes_refusal",
    "parse_client_hello",
]

#: A ClientHello with post-quantum key shares is ~2 KiB; 64 KiB is the handshake message bound we
#: wait for (RFC 8446 allows up to 2^24, but no real client sends more than a few records).
MAX_CLIENT_HELLO = 65536
_RECORD_HANDSHAKE = 0x16
_HANDSHAKE_CLIENT_HELLO = 0x01
_EXT_SERVER_NAME = 0x0000
_EXT_ECH = 0xFE0D
_NAME_TYPE_HOST = 0x00
_MAX_RECORD = 2**14 + 256  # RFC 8446 section 5.1 (plaintext) plus slack for old stacks


class HelloStatus(enum.Enum):
    """What the first bytes of a tunnel are."""

    NEED_MORE = "need_more"  # a ClientHello so far, not complete yet
    NOT_TLS = "not_tls"  # the first byte is not a TLS handshake record
    MALFORMED = "malformed"  # claims to be TLS but does not parse
    OK = "ok"


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The result of :func:`parse_client_hello`; ``sni`` and ``ech`` only when ``status`` is OK."""

    status: HelloStatus
    sni: str | None = None
    ech: bool = False
    detail: str = ""


class _Malformed(ValueError):
    pass


def _reassemble(data: bytes) -> bytes | None:
    """The handshake message bytes once complete, None if more records are needed."""
    message = bytearray()
    offset = 0
    while True:
        if len(message) >= 4:
            need = 4 + int.from_bytes(message[1:4], "big")
            if need > MAX_CLIENT_HELLO:
                raise _Malformed("ClientHello larger than the proxy accepts")
            if len(message) > need:
                # More handshake bytes before the server spoke: no honest client sends that.
                raise _Malformed("data after the ClientHello in its records")
            if len(message) == need:
                return bytes(message)
        if len(data) - offset < 5:
            return None
        if data[offset] != _RECORD_HANDSHAKE:
            raise _Malformed("non-handshake record inside the ClientHello")
        if data[offset + 1] != 0x03:
            raise _Malformed("record version is not TLS")
        length = int.from_bytes(data[offset + 3 : offset + 5], "big")
        if length == 0 or length > _MAX_RECORD:
            raise _Malformed("bad record length")
        if len(data) - offset - 5 < length:
            return None
        message += data[offset + 5 : offset + 5 + length]
        offset += 5 + length
        if message[0] != _HANDSHAKE_CLIENT_HELLO:
            raise _Malformed("first handshake message is not a ClientHello")


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _Malformed("length runs past the end")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.uint(length_bytes))

    def done(self) -> bool:
        return self.pos == len(self.data)


def _server_name(data: bytes) -> str:
    cursor = _Cursor(data)
    names = _Cursor(cursor.vector(2))
    if not cursor.done():
        raise _Malformed("bytes after the server_name list")
    host: str | None = None
    while not names.done():
        name_type = names.uint(1)
        name = names.vector(2)
        if name_type != _NAME_TYPE_HOST:
            continue
        if host is not None:
            raise _Malformed("two host names in server_name")  # RFC 6066 section 3
        if not name or any(b < 0x21 or b > 0x7E for b in name):
            raise _Malformed("server_name is not printable ASCII")
        host = name.decode("ascii")
    if host is None:
        raise _Malformed("server_name extension without a host name")
    return host


def _parse_hello(message: bytes) -> ClientHello:
    cursor = _Cursor(message[4:])
    cursor.take(2 + 32)  # legacy_version, random
    if len(cursor.vector(1)) > 32:
        raise _Malformed("session id longer than 32 bytes")
    suites = cursor.vector(2)
    if not suites or len(suites) % 2:
        raise _Malformed("bad cipher_suites")
    cursor.vector(1)  # legacy_compression_methods
    if cursor.done():
        return ClientHello(HelloStatus.OK)  # no extensions at all (very old client): no SNI
    extensions = _Cursor(cursor.vector(2))
    if not cursor.done():
        raise _Malformed("bytes after the extensions")
    seen: set[int] = set()
    sni: str | None = None
    ech = False
    while not extensions.done():
        ext_type = extensions.uint(2)
        ext_data = extensions.vector(2)
        if ext_type in seen:
            raise _Malformed(f"duplicate extension {ext_type:#06x}")  # RFC 8446 section 4.2
        seen.add(ext_type)
        if ext_type == _EXT_SERVER_NAME:
            sni = _server_name(ext_data)
        elif ext_type == _EXT_ECH:
            ech = True
    return ClientHello(HelloStatus.OK, sni=sni, ech=ech)


def parse_client_hello(data: bytes) -> ClientHello:
    """Classify the first bytes of a tunnel and, for a complete ClientHello, return its SNI."""
    if not data:
        return ClientHello(HelloStatus.NEED_MORE)
    if data[0] != _RECORD_HANDSHAKE:
        return ClientHello(HelloStatus.NOT_TLS)
    try:
        message = _reassemble(data)
        if message is None:
            if len(data) > MAX_CLIENT_HELLO + 5 * (MAX_CLIENT_HELLO // 2**14 + 2):
                raise _Malformed("ClientHello larger than the proxy accepts")
            return ClientHello(HelloStatus.NEED_MORE)
        return _parse_hello(message)
    except _Malformed as exc:
        return ClientHello(HelloStatus.MALFORMED, detail=str(exc))


def first_bytes_refusal(
    hello: ClientHello,
    host: str,
    *,
    strict: bool,
    has_data: bool,
    ended: str,
    matches: Callable[[str], bool],
) -> str | None:
    """Why a CONNECT tunnel must not carry its first bytes, or None when they may go upstream.

    ``hello`` is what :func:`parse_client_hello` made of them (``NEED_MORE`` when the client
    stopped or closed early, ``ended`` saying which); ``strict`` is a port-443 tunnel to a host
    name (no SNI or no TLS there is refused); ``matches`` says whether an SNI names the CONNECT
    host. The table in docs/containment.md ("CONNECT tunnels and TLS") is this function.
    """
    if hello.status is HelloStatus.OK:
        if hello.ech:
            return "TLS Encrypted Client Hello: the inner server name cannot be checked"
        if hello.sni is None:
            return "TLS ClientHello without SNI on port 443" if strict else None
        if not matches(hello.sni):
            return f"TLS SNI {hello.sni!r} does not match CONNECT host {host!r}"
        return None
    if hello.status is HelloStatus.MALFORMED:
        return f"malformed TLS ClientHello: {hello.detail}"
    if hello.status is HelloStatus.NOT_TLS:
        return "non-TLS data in a port-443 tunnel" if strict else None
    if has_data:  # a ClientHello begun, then the client stopped or closed
        return f"incomplete TLS ClientHello ({ended})"
    if strict and not ended.startswith("the client closed"):
        return f"no TLS ClientHello on port 443 ({ended})"
    return None
