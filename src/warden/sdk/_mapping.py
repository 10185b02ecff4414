"""How a tool's arguments become a warden action: a declared, validated mapping.

::

    ToolMap("shell", command="cmd")            # run_shell(cmd=...)   -> shell action
    ToolMap("file_read", path="file")          # read(file=...)       -> file_read action
    ToolMap("http", url="url", method=lambda a: a.get("method", "GET"))

Each keyword names an action field; its value is the name of the tool argument that fills it,
or a function of all the arguments. The mapping is checked when it is declared (unknown field,
a field the kind needs left out, an argument the function does not have), so a typo fails at
import time rather than turning a guarded tool into an unguarded one.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from warden.action import _REQUIRED, Action, ActionKind
from warden.errors import InputError, WardenError

__all__ = ["MAPPABLE_FIELDS", "FieldSource", "ToolMap", "jsonable"]

#: Action fields a tool argument may fill. Context fields (agent, session, tool_use_id) come from
#: the guard and the framework, never from the model's arguments.
MAPPABLE_FIELDS = frozenset(
    {"command", "path", "content", "pattern", "paths", "url", "urls", "method", "body",
     "query", "mcp_server", "cwd"}
)  # fmt: skip
_SEQUENCE_FIELDS = frozenset({"paths", "urls"})

#: Depth and size followed when copying arguments into ``Action.input``: enough for any real
#: tool call, bounded so a hostile structure cannot make the copy itself the attack.
MAX_DEPTH = 16
MAX_ITEMS = 10_000

FieldSource = str | Callable[[Mapping[str, Any]], Any]


def _kind(kind: ActionKind | str) -> ActionKind:
    if isinstance(kind, ActionKind):
        return kind
    try:
        return ActionKind(kind)
    except ValueError:
        names = ", ".join(repr(k.value) for k in ActionKind)
        raise WardenError(f"unknown action kind {kind!r}; use one of {names}") from None


@dataclass(frozen=True)
class ToolMap:
    """The action kind of a tool and where each action field comes from."""

    kind: ActionKind
    fields: Mapping[str, FieldSource] = field(default_factory=dict)

    def __init__(self, kind: ActionKind | str = ActionKind.CUSTOM, **fields: FieldSource) -> None:
        resolved = _kind(kind)
        unknown = sorted(set(fields) - MAPPABLE_FIELDS)
        if unknown:
            raise WardenError(
                f"cannot map {', '.join(unknown)}: an argument can fill "
                f"{', '.join(sorted(MAPPABLE_FIELDS))}"
            )
        for name, source in fields.items():
            if not (isinstance(source, str) and source) and not callable(source):
                raise WardenError(f"{name}= must be an argument name or a function of the "
                                  f"arguments, not {source!r}")  # fmt: skip
        missing = [f for f in _REQUIRED[resolved] if f not in fields]
        if resolved is ActionKind.FILE_EDIT and "path" not in fields:
            missing.append("path")
        if missing:
            need = missing[0]
            raise WardenError(
                f"a {resolved.value} tool needs {need}=<argument name> so warden can see what it "
                f"does, e.g. ToolMap({resolved.value!r}, {need}={need!r}) or "
                f"@guard.tool(kind={resolved.value!r}, {need}={need!r})"
            )
        object.__setattr__(self, "kind", resolved)
        object.__setattr__(self, "fields", dict(fields))

    def check_signature(self, fn: Callable[..., Any]) -> None:
        """Refuse a mapping that names an argument ``fn`` does not take."""
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return  # builtins without a signature: nothing to check against
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        for name, source in self.fields.items():
            if isinstance(source, str) and source not in params:
                have = ", ".join(params) or "no arguments"
                raise WardenError(
                    f"{name}={source!r}: {getattr(fn, '__qualname__', fn)!r} has no argument "
                    f"{source!r} (it takes {have})"
                )

    def action(
        self,
        tool: str,
        args: Mapping[str, Any],
        *,
        agent: str | None = None,
        session_id: str | None = None,
        tool_use_id: str | None = None,
        cwd: str | None = None,
        source: str = "sdk",
    ) -> Action:
        """The action for one call; :class:`InputError` if the arguments do not make one."""
        values: dict[str, Any] = {}
        for name, src in self.fields.items():
            try:
                raw = src(args) if callable(src) else args.get(src)
            except Exception as exc:  # the user's mapping function: its failure is a refusal
                raise InputError(f"mapping for {name} failed: {type(exc).__name__}: {exc}") from exc
            if raw is None:
                continue
            values[name] = _field_value(name, raw)
        values.setdefault("cwd", cwd)
        try:
            return Action(kind=self.kind, tool=tool, input=jsonable(dict(args)), agent=agent,
                          session_id=session_id, tool_use_id=tool_use_id, source=source,
                          **values)  # fmt: skip
        except (TypeError, ValueError) as exc:
            raise InputError(f"tool {tool!r}: {exc}") from exc


def _field_value(name: str, raw: Any) -> Any:
    if name in _SEQUENCE_FIELDS:
        if isinstance(raw, str | PurePath):
            return (str(raw),)
        return tuple(_text(name, item) for item in raw)
    return _text(name, raw)


def _text(name: str, raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, PurePath):
        return str(raw)
    if isinstance(raw, list | tuple):  # argv-style command: quote it so the shell parser sees it
        import shlex

        return shlex.join(str(part) for part in raw)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    if isinstance(raw, int | float):
        return str(raw)
    raise InputError(f"{name} must be text, not {type(raw).__name__}")


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of tool arguments or results (unknown objects become their ``str``)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_ITEMS]
        return {str(k): jsonable(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    dump = getattr(value, "model_dump", None)  # pydantic models, common in tool arguments
    if callable(dump):
        try:
            dumped = dump()
        except Exception:  # a model that cannot dump itself is recorded as its text
            dumped = None
        if dumped is not None:
            return jsonable(dumped, depth + 1)
    return str(value)
