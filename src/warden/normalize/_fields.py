"""Strict readers for untrusted, JSON-decoded payloads.

Every value an adapter lifts out of a payload goes through these helpers, so a wrong type, an
over-long string or a NUL byte in a name is refused with a message that says which field of which
payload was wrong, and no ``TypeError``/``AttributeError`` can escape an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warden.action import MAX_ACTION_BYTES
from warden.errors import InputError

__all__ = [
    "MAX_DEPTH",
    "MAX_PAYLOAD_CHARS",
    "check_identifier",
    "clean_object",
    "clean_value",
    "get_bool",
    "get_str",
    "get_str_list",
    "require",
    "type_name",
]

#: Largest total of string lengths accepted in one payload. The same bound as a serialised action:
#: a 10 MB command is legal and must get a decision, past this the input is refused.
MAX_PAYLOAD_CHARS = MAX_ACTION_BYTES

#: Deepest nesting of objects and arrays accepted. Real tool inputs nest a few levels (MultiEdit
#: ``edits``, MCP arguments); a deeper payload is an attack on the parser, not a tool call.
MAX_DEPTH = 64

_JSON_NAMES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def type_name(value: object) -> str:
    """The JSON name of ``value``'s type (``array``, ``null``), else its Python type name."""
    for kind, name in _JSON_NAMES.items():
        if type(value) is kind:
            return name
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "array"
    return type(value).__name__


def check_identifier(value: str, *, where: str, key: str) -> str:
    """Refuse NUL in a name warden judges (command, path, URL, tool): a truncation trick."""
    if "\x00" in value:
        raise InputError(f"{where}: `{key}` contains a NUL byte at offset {value.index(chr(0))}")
    return value


def require(obj: Mapping[str, Any], key: str, *, where: str) -> Any:
    """``obj[key]``, refusing a missing key or an explicit ``null``."""
    if key not in obj:
        raise InputError(f"{where}: `{key}` is missing")
    value = obj[key]
    if value is None:
        raise InputError(f"{where}: `{key}` is null")
    return value


def get_str(
    obj: Mapping[str, Any],
    key: str,
    *,
    where: str,
    required: bool = False,
    identifier: bool = False,
) -> str | None:
    """A string field; ``None`` when absent or null unless ``required``.

    ``identifier`` marks fields warden judges by name (command, path, URL): they may not hold NUL,
    and when ``required`` they may not be empty either.
    """
    value = require(obj, key, where=where) if required else obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: `{key}` must be a string, not {type_name(value)}")
    if identifier:
        check_identifier(value, where=where, key=key)
        if required and not value:
            raise InputError(f"{where}: `{key}` is empty")
    return value


def get_bool(obj: Mapping[str, Any], key: str, *, where: str) -> bool | None:
    """A boolean field; ``None`` when absent or null."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise InputError(f"{where}: `{key}` must be a boolean, not {type_name(value)}")


def get_str_list(
    obj: Mapping[str, Any], key: str, *, where: str, identifier: bool = False
) -> list[str] | None:
    """An array of strings; ``None`` when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InputError(f"{where}: `{key}` must be an array of strings, not {type_name(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InputError(f"{where}: `{key}[{i}]` must be a string, not {type_name(item)}")
        if identifier:
            check_identifier(item, where=where, key=f"{key}[{i}]")
    return list(value)


class _Budget:
    """Characters left for the strings of one payload."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_PAYLOAD_CHARS


def clean_object(obj: Mapping[Any, Any], *, where: str) -> dict[str, Any]:
    """A deep, JSON-typed copy of ``obj``, refusing anything JSON cannot express.

    The copy makes the action independent of the caller's mutable payload. Keys must be strings;
    values must be objects, arrays, strings, numbers, booleans or null; nesting and total string
    length are bounded (:data:`MAX_DEPTH`, :data:`MAX_PAYLOAD_CHARS`).
    """
    out = _clean(obj, where, 0, _Budget())
    assert isinstance(out, dict)
    return out


def clean_value(value: Any, *, where: str) -> Any:
    """Like :func:`clean_object` for any JSON value (a tool response, for instance)."""
    return _clean(value, where, 0, _Budget())


def _clean(value: Any, where: str, depth: int, budget: _Budget) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        budget.left -= len(value)
        if budget.left < 0:
            raise InputError(
                f"{where}: the payload's strings exceed {MAX_PAYLOAD_CHARS} characters"
            )
        return value
    if depth >= MAX_DEPTH:
        raise InputError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"{where}: object key {key!r} is not a string")
            budget.left -= len(key)
            out[key] = _clean(item, where, depth + 1, budget)
        return out
    if isinstance(value, list | tuple):
        return [_clean(item, where, depth + 1, budget) for item in value]
    raise InputError(f"{where}: {type_name(value)} is not a JSON value")
