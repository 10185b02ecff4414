"""Strict HTTP/1.1 message heads for the egress proxy (pure; RFC 9112, RFC 9110).

Why not h11 (or httptools): a forward proxy that enforces a policy must agree byte for byte with
every upstream on where one request ends and the next begins, so the safe parser is the one that
*refuses* every ambiguous message rather than repairing it. h11 unfolds obsolete line folding and
accepts bare LF line endings; httptools (llhttp) has lenient flags of its own; both would need a
strictness layer in front of them that is most of this module anyway, and neither is a warden
dependency today. This module parses only heads and chunk-size lines (bodies are relayed verbatim),
and refuses:

* bare LF or CR, NUL and other control characters anywhere in the head (request smuggling);
* obsolete line folding (a line starting with SP or HTAB);
* whitespace between a field name and its colon;
* two ``Content-Length`` fields (or a list), ``Content-Length`` with ``Transfer-Encoding``,
  any transfer coding but a single ``chunked``;
* a ``Connection`` header that names ``Host``, ``Content-Length`` or ``Transfer-Encoding`` (a
  proxy that drops fields listed in ``Connection`` would otherwise drop the framing);
* heads over :data:`MAX_HEAD_BYTES` or :data:`MAX_HEADERS` fields (431), request lines over
  :data:`MAX_REQUEST_LINE` (414).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from warden.contain.egress import HostError, normalize_host, parse_ip_literal

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_REQUEST_LINE",
    "Fields",
    "Framing",
    "HttpError",
    "RequestHead",
    "ResponseHead",
    "check_host_header",
    "find_head_end",
    "parse_authority",
    "parse_chunk_size",
    "parse_request_head",
    "parse_response_head",
    "same_host",
]

#: RFC 9112 section 3 recommends supporting request lines of at least 8000 octets.
MAX_REQUEST_LINE = 8192
#: Total head size; real clients send a few KiB, 32 KiB leaves room for big cookies.
MAX_HEAD_BYTES = 32768
#: Field count; browsers send ~20, a hundred is generous and bounds per-request work.
MAX_HEADERS = 100
#: Content-Length digits: 15 digits is ~1 PB, enough, and keeps the int small.
_MAX_LENGTH_DIGITS = 15

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_FIELD = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(.*?)[ \t]*\Z", re.DOTALL)
_VALUE_CHARS = rb"[\t\x20-\x7e\x80-\xff]"
#: A whole field block in one pass: lines start with a token and a colon (no obs-fold, no
#: space before the colon), values hold no control character but HTAB, every line ends in CRLF.
_FIELD_BLOCK = re.compile(rb"(?:" + _TOKEN + rb":" + _VALUE_CHARS + rb"*\r\n)*\r\n")
_FIELD_ITEM = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(" + _VALUE_CHARS + rb"*?)[ \t]*\r\n")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_METHOD = re.compile(_TOKEN + rb"\Z")
_TARGET_CHARS = re.compile(rb"[\x21-\x7e]+\Z")
_ABSOLUTE = re.compile(rb"[hH][tT][tT][pP]://([^/?#]*)([/?][^#]*)?\Z")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: [\t\x20-\x7e\x80-\xff]*)?\Z")
_CHUNK_LINE = re.compile(rb"([0-9a-fA-F]{1,15})(;[\t\x20-\x7e\x80-\xff]*)?\Z")
_DIGITS = re.compile(rb"[0-9]+\Z")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_PORT = re.compile(r"[0-9]{1,5}\Z")

#: Fields that describe one connection, never forwarded (RFC 9110 section 7.6.1), plus the
#: proxy's own credentials and the fields the proxy rewrites (Host) or answers itself (Expect).
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"te",
        b"upgrade",
    }
)
_REQUEST_DROPPED = _HOP_BY_HOP | {b"host", b"expect"}
_FRAMING = frozenset({b"host", b"content-length", b"transfer-encoding"})
_NO_TOKENS: frozenset[bytes] = frozenset()


class HttpError(Exception):
    """A message the proxy refuses; ``status`` is what the client gets back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Heads are NamedTuples, not frozen dataclasses: as immutable, and built several times faster
# (a frozen dataclass pays one object.__setattr__ per field), which matters once per request.


class Framing(NamedTuple):
    """How a body ends: ``none``, ``length`` (``length`` bytes), ``chunked`` or ``close``."""

    kind: str
    length: int = 0


class RequestHead(NamedTuple):
    method: str
    host: str  # as in the target, IP literals without brackets
    port: int
    authority: bytes  # forwarded as Host
    path: bytes  # origin-form for the upstream; empty for CONNECT
    version: bytes  # b"HTTP/1.1" or b"HTTP/1.0"
    fields: Fields
    framing: Framing
    expect_continue: bool
    keep_alive: bool

    def forward_head(self) -> bytes:
        """The head sent upstream: origin-form, Host from the target, hop-by-hop fields removed."""
        first = b"%s %s %s\r\nHost: %s\r\n" % (
            self.method.encode(),
            self.path,
            self.version,
            self.authority,
        )
        return first + self.fields.render(_REQUEST_DROPPED)


class ResponseHead(NamedTuple):
    status: int
    status_line: bytes
    fields: Fields
    framing: Framing
    keep_alive: bool

    def forward_head(self, *, close: bool) -> bytes:
        extra = b"Connection: close\r\n" if close else b""
        return self.status_line + b"\r\n" + self.fields.render(_HOP_BY_HOP, extra)


def find_head_end(buffer: bytes | bytearray, limit: int = MAX_HEAD_BYTES) -> int:
    """Index just past the blank line ending a head, -1 if incomplete; raises on bare LF, size."""
    end = buffer.find(b"\r\n\r\n", 0, limit + 4)
    if end >= 0:
        return end + 4
    if _BARE_LF.search(buffer):
        raise HttpError(400, "bare LF line ending")
    if len(buffer) > limit:
        line_end = buffer.find(b"\r\n")
        if line_end < 0 or line_end > MAX_REQUEST_LINE:
            raise HttpError(414, "request line too long")
        raise HttpError(431, "request header fields too large")
    return -1


class Fields(NamedTuple):
    """Header fields in order, ``(lowercase name, name, value)``, with an index by name."""

    items: tuple[tuple[bytes, bytes, bytes], ...]
    by_name: dict[bytes, list[bytes]]

    def values(self, name: bytes) -> list[bytes]:
        return self.by_name.get(name, [])

    def tokens(self, name: bytes) -> AbstractSet[bytes]:
        """The comma-separated tokens of every ``name`` field, lowercased."""
        found = self.by_name.get(name)
        if found is None:  # the usual case (Connection, Expect): no set to build
            return _NO_TOKENS
        return {t.strip(b" \t").lower() for v in found for t in v.split(b",") if t.strip()}

    def render(self, dropped: frozenset[bytes], extra: bytes = b"") -> bytes:
        """The fields as a head's tail, without ``dropped`` ones and those Connection names."""
        drop = dropped | self.tokens(b"connection") if b"connection" in self.by_name else dropped
        lines = [b"%s: %s\r\n" % (n, v) for low, n, v in self.items if low not in drop]
        return b"".join(lines) + extra + b"\r\n"


def _split_head(head: bytes) -> tuple[bytes, bytes]:
    """(start line, field block ending in the blank line's CRLF)."""
    if not head.endswith(b"\r\n\r\n"):
        raise HttpError(400, "incomplete head")
    first = head.find(b"\r\n")
    return head[:first], head[first + 2 :]


def _parse_fields(block: bytes, status: int) -> Fields:
    """Parse a field block: one regex validates it all; the slow path only explains a refusal."""
    if not _FIELD_BLOCK.fullmatch(block):
        _explain_bad_block(block, status)
    found = _FIELD_ITEM.findall(block)
    if len(found) > MAX_HEADERS:
        raise HttpError(431 if status == 400 else status, "too many header fields")
    index: dict[bytes, list[bytes]] = {}
    items = []
    for name, value in found:
        low = name.lower()
        items.append((low, name, value))
        index.setdefault(low, []).append(value)
    return Fields(tuple(items), index)


def _explain_bad_block(block: bytes, status: int) -> None:
    for line in block[:-2].split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            raise HttpError(status, "bare CR or LF in head")
        if line[:1] in (b" ", b"\t"):
            raise HttpError(status, "obsolete line folding")
        match = _FIELD.match(line)
        if match is None:
            raise HttpError(status, "malformed header field")
        if _BAD_VALUE.search(match.group(2)):
            raise HttpError(status, "control character in a header value")
    raise HttpError(status, "malformed header block")


def _framing(fields: Fields, status: int) -> Framing:
    encodings = fields.values(b"transfer-encoding")
    lengths = fields.values(b"content-length")
    if encodings:
        if lengths:
            raise HttpError(status, "Content-Length together with Transfer-Encoding")
        codings = [t.strip(b" \t").lower() for v in encodings for t in v.split(b",")]
        if codings != [b"chunked"]:
            raise HttpError(status, "transfer coding other than a single 'chunked'")
        return Framing("chunked")
    if lengths:
        if len(lengths) > 1:
            raise HttpError(status, "more than one Content-Length")
        value = lengths[0]
        if not _DIGITS.match(value) or len(value) > _MAX_LENGTH_DIGITS:
            raise HttpError(status, "invalid Content-Length")
        return Framing("length", int(value))
    return Framing("none")


def parse_authority(text: str, default_port: int | None) -> tuple[str, int]:
    """Split ``host[:port]`` / ``[v6][:port]``; userinfo, empty hosts and bad ports are refused."""
    if "@" in text or not text:
        raise HttpError(400, "invalid authority")
    if text.startswith("["):
        close = text.find("]")
        host, rest = text[: close + 1], text[close + 1 :]
        if close < 0 or (rest and not rest.startswith(":")):
            raise HttpError(400, "invalid IPv6 authority")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_ = text.partition(":")
        port_text = port_text_ if sep else None
    if port_text is None:
        if default_port is None:
            raise HttpError(400, "authority without a port")
        return host, default_port
    if not _PORT.match(port_text) or not 0 < int(port_text) < 65536:
        raise HttpError(400, "invalid port")
    return host, int(port_text)


def same_host(a: str, b: str) -> bool:
    """Whether two hosts from the wire name the same destination after normalisation."""
    if a == b:
        return True
    try:
        left, right = parse_ip_literal(a), parse_ip_literal(b)
        if left is not None or right is not None:
            return left == right
        return normalize_host(a) == normalize_host(b)
    except HostError:
        # Not a valid name (the policy refuses it anyway): equal only as the same text.
        return a.lower().rstrip(".") == b.lower().rstrip(".")


def check_host_header(request: RequestHead) -> None:
    """Raise unless the Host header names the request target (after normalisation).

    Kept apart from :func:`parse_request_head` so the proxy can record the target it refuses.
    """
    fields, version, host, port = request.fields, request.version, request.host, request.port
    connect = request.method == "CONNECT"
    hosts = fields.values(b"host")
    if len(hosts) > 1:
        raise HttpError(400, "more than one Host header")
    if not hosts:
        # RFC 9112 section 3.2; a CONNECT names its authority in the target, which is all the
        # proxy uses, and some clients omit Host there.
        if version == b"HTTP/1.1" and not connect:
            raise HttpError(400, "HTTP/1.1 request without Host")  # RFC 9112 section 3.2
        return
    if hosts[0] == request.authority and not hosts[0].startswith(b"["):
        return  # the target's own text (what clients send): it parsed above, so it matches
    header = hosts[0].decode("latin-1")
    # "Host: example.com" on a CONNECT means the target's port; on a GET it means port 80.
    header_host, header_port = parse_authority(header, port if connect else 80)
    if header_port != port or not same_host(header_host, host):
        raise HttpError(403, "Host header does not match the request target")


def parse_request_head(head: bytes) -> RequestHead:
    """Parse one request head (ending in CRLF CRLF) a client sent to the proxy."""
    request_line, block = _split_head(head)
    if len(request_line) > MAX_REQUEST_LINE:
        raise HttpError(414, "request line too long")
    parts = request_line.split(b" ")
    if len(parts) != 3 or not _METHOD.match(parts[0]) or not _TARGET_CHARS.match(parts[1]):
        raise HttpError(400, "malformed request line")
    method_b, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(505 if version.startswith(b"HTTP/") else 400, "unsupported HTTP version")
    fields = _parse_fields(block, 400)
    method = method_b.decode("ascii")
    connection = fields.tokens(b"connection")
    if connection & _FRAMING:
        raise HttpError(400, "Connection names a framing header")
    if method == "CONNECT":
        authority, path = target, b""
        host, port = parse_authority(authority.decode("ascii"), None)
    else:
        match = _ABSOLUTE.match(target)
        if match is None:
            raise HttpError(400, "a proxy request needs an absolute http:// target")
        authority, path = match.group(1), match.group(2) or b"/"
        if path.startswith(b"?"):
            path = b"/" + path
        host, port = parse_authority(authority.decode("ascii"), 80)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    framing = _framing(fields, 400)
    if framing.kind == "chunked" and version == b"HTTP/1.0":
        raise HttpError(400, "chunked body in an HTTP/1.0 request")
    expect = fields.tokens(b"expect")
    return RequestHead(
        method=method,
        host=host,
        port=port,
        authority=authority,
        path=path,
        version=version,
        fields=fields,
        framing=framing,
        expect_continue=b"100-continue" in expect,
        keep_alive=version == b"HTTP/1.1" and b"close" not in connection,
    )


def parse_response_head(head: bytes, *, method: str) -> ResponseHead:
    """Parse an upstream response head; anything ambiguous is a 502 for the client."""
    status_line, block = _split_head(head)
    match = _STATUS_LINE.match(status_line)
    if match is None:
        raise HttpError(502, "malformed status line from upstream")
    status = int(match.group(2))
    fields = _parse_fields(block, 502)
    connection = fields.tokens(b"connection")
    if connection & _FRAMING:
        raise HttpError(502, "upstream Connection header names a framing header")
    if status < 200 or status in (204, 304) or method == "HEAD":
        framing = Framing("none")
    else:
        framing = _framing(fields, 502)
        if framing.kind == "none":
            framing = Framing("close")  # RFC 9112 section 6.3 rule 8: read until close
    keep_alive = match.group(1) == b"1" and b"close" not in connection and framing.kind != "close"
    return ResponseHead(status, status_line, fields, framing, keep_alive)


def parse_chunk_size(line: bytes) -> int:
    """The size in one chunk-size line (without CRLF); extensions allowed, nothing else."""
    match = _CHUNK_LINE.match(line)
    if match is None:
        raise HttpError(400, "malformed chunk size line")
    return int(match.group(1), 16)
