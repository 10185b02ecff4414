"""JSON-RPC 2.0 framing as MCP uses it: one message per line on stdio, bounded, never trusted.

MCP's stdio transport sends each JSON-RPC message as one line of UTF-8 JSON with no embedded
newline (specification, "Transports", stdio; both the 2025-11-25 and 2026-07-28 revisions). The
proxy decodes every line from either side into a :class:`Message` and re-sends the *original
bytes* of anything it does not change, so what it does not understand passes through exactly.

Sources: JSON-RPC 2.0 specification (https://www.jsonrpc.org/specification) for the message
shapes and the reserved error codes; MCP ``schema.ts`` for ``CallToolResult`` (``content``,
``isError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec

from warden.errors import InputError

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_REQUEST",
    "MAX_MESSAGE_BYTES",
    "PARSE_ERROR",
    "SERVER_ERROR",
    "Kind",
    "Message",
    "decode",
    "encode",
    "error_response",
    "guess_id",
    "tool_error_result",
]

#: Largest message accepted from either side. Real MCP messages are small (a tool call, a file's
#: content, a list of tools); a filesystem server returning a large file is the biggest honest
#: case. Past this bound the line is refused as a unit, never parsed at length or passed on.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024

# JSON-RPC 2.0 error codes (specification, section 5.1). -32000..-32019 are implementation
# defined in MCP's allocation policy (2026-07-28 basic/index, "Error codes").
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603
#: warden's own refusal of a request it cannot let through (not a tools/call).
SERVER_ERROR = -32000

_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


class Kind(Enum):
    """What a JSON-RPC message is, by shape."""

    REQUEST = "request"  # method and id
    NOTIFICATION = "notification"  # method, no id
    RESPONSE = "response"  # id and result or error
    BATCH = "batch"  # a JSON array (JSON-RPC batches; removed from MCP in 2025-06-18)


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded message and the exact bytes it came as (without the line end)."""

    kind: Kind
    raw: bytes
    data: Any
    method: str | None = None
    id: Any = None

    @property
    def params(self) -> dict[str, Any]:
        params = self.data.get("params") if isinstance(self.data, dict) else None
        return params if isinstance(params, dict) else {}


def _valid_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def decode(line: bytes) -> Message:
    """Parse one line into a :class:`Message`; :class:`InputError` says what is wrong with it."""
    raw = line.rstrip(b"\r\n")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InputError(f"message of {len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        data = _DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise InputError(f"not valid JSON ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 ({exc.reason})") from exc
    if isinstance(data, list):
        return Message(Kind.BATCH, raw, data)
    if not isinstance(data, dict):
        raise InputError(f"a JSON-RPC message must be an object, not {type(data).__name__}")
    if data.get("jsonrpc") != "2.0":
        raise InputError('not JSON-RPC 2.0 (`"jsonrpc": "2.0"` missing)')
    method = data.get("method")
    has_id = "id" in data
    if method is not None:
        if not isinstance(method, str) or not method:
            raise InputError("`method` must be a non-empty string")
        if not has_id:
            return Message(Kind.NOTIFICATION, raw, data, method=method)
        if not _valid_id(data["id"]):
            raise InputError("a request `id` must be a string or an integer")
        return Message(Kind.REQUEST, raw, data, method=method, id=data["id"])
    if has_id and ("result" in data or "error" in data):
        if data["id"] is not None and not _valid_id(data["id"]):
            raise InputError("a response `id` must be a string, an integer or null")
        return Message(Kind.RESPONSE, raw, data, id=data["id"])
    raise InputError("neither a request, a notification nor a response")


def encode(data: Any) -> bytes:
    """One message as a line (compact JSON and ``\\n``; JSON escapes every newline inside)."""
    return _ENCODER.encode(data) + b"\n"


def error_response(req_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    """A JSON-RPC error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": req_id, "error": error}


def tool_error_result(req_id: Any, text: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """An MCP ``CallToolResult`` with ``isError: true``: the model reads ``text`` as the outcome.

    A tool error (not a JSON-RPC error) is what the specification asks for when a tool call
    fails in a way the model should see and adapt to (``server/tools``, "Error Handling").
    ``resultType: "complete"`` is required by 2026-07-28 and ignored by earlier clients.
    """
    result: dict[str, Any] = {
        "content": [{"type": "text", "text": text}],
        "isError": True,
        "resultType": "complete",
    }
    if meta:
        result["_meta"] = meta
    return {"jsonrpc": "2.0", "id": req_id, "result": result}


_ID_AT_START = re.compile(
    rb'^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*("[^"\\]{0,200}"|-?\d{1,18})'
)
_ID_ANYWHERE = re.compile(rb'"id"\s*:\s*("[^"\\]{0,200}"|-?\d{1,18})\s*[,}]')


def guess_id(raw: bytes) -> Any:
    """The ``id`` of a message too large or too broken to parse, when it can be seen; else None.

    Used only to address a refusal to the request it answers (so the client does not wait for
    ever); the first ``"id"`` seen in the first 4 KiB is taken, which for a request written by a
    normal JSON encoder is its own id.
    """
    head = raw[:4096]
    found = _ID_AT_START.search(head) or _ID_ANYWHERE.search(head)
    if not found:
        return None
    token = found.group(1)
    try:
        value = _DECODER.decode(token)
    except msgspec.DecodeError:
        return None
    return value if _valid_id(value) else None
