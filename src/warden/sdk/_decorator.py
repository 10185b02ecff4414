"""``@guard.tool``: check a tool function's call before it runs, record what it returned.

::

    @guard.tool(kind="shell", command="cmd")
    def run_shell(cmd: str) -> str:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout

    run_shell("ls")                  # allowed: runs, result scanned and recorded
    run_shell("cat ~/.ssh/id_rsa")   # raises ToolDenied("warden blocked: reads an SSH ...")

The mapping is checked when the decorator is applied: a kind whose required field is not mapped,
or a mapped argument the function does not have, raises at import time. The wrapped function
keeps its name, signature and docstring (``functools.wraps``), so agent frameworks that build
tool schemas from signatures (OpenAI Agents SDK ``function_tool``, LangChain ``@tool``,
PydanticAI) see the same tool.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from warden.action import ActionKind
from warden.errors import WardenError
from warden.sdk._mapping import FieldSource, ToolMap
from warden.sdk._outcome import OnOutput

if TYPE_CHECKING:
    from warden.sdk._guard import Approver, Guard

__all__ = ["guarded", "tool_map_of"]

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute set on a guarded function: its ToolMap, so adapters know it is guarded already.
MARK = "__warden_tool__"


def tool_map_of(fn: Any) -> ToolMap | None:
    """The mapping of a function guarded by ``@guard.tool``, else ``None``."""
    found = getattr(fn, MARK, None)
    return found if isinstance(found, ToolMap) else None


def guarded(
    guard: Guard,
    *,
    kind: ActionKind | str = ActionKind.CUSTOM,
    name: str | None = None,
    approve: Approver | None = None,
    on_output: OnOutput | str = OnOutput.WARN,
    **fields: FieldSource,
) -> Callable[[F], F]:
    """The decorator behind ``@guard.tool``.

    ``kind`` and ``fields`` build the action (:class:`~warden.sdk.ToolMap`); ``name`` is the
    tool name recorded (default: the function's name); ``approve`` answers ``ask`` for this tool
    (default: the guard's approver, else refused); ``on_output`` is what happens to a result that
    carries planted instructions or secrets: ``"warn"`` appends warden's warning, ``"withhold"``
    replaces the result by it.
    """
    tool_map = ToolMap(kind, **fields)
    policy = _on_output(on_output)

    def decorate(fn: F) -> F:
        if not callable(fn):
            raise WardenError(f"@guard.tool decorates a function, not {fn!r}")
        if tool_map_of(fn) is not None:
            raise WardenError(f"{fn.__qualname__} is guarded twice; apply @guard.tool once")
        tool_map.check_signature(fn)
        tool = name or str(getattr(fn, "__name__", "tool"))
        signature = inspect.signature(fn)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_call(*args: Any, **kwargs: Any) -> Any:
                arguments = _bind(signature, args, kwargs)
                ticket = await guard.aauthorize(tool, arguments, tool_map, approve=approve)
                try:
                    result = await fn(*args, **kwargs)
                except Exception as exc:
                    await guard.arecord(ticket, error=exc)
                    raise
                outcome = await guard.arecord(ticket, result)
                return outcome.annotate(result, policy)

            setattr(async_call, MARK, tool_map)
            return async_call  # type: ignore[return-value]

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            arguments = _bind(signature, args, kwargs)
            ticket = guard.authorize(tool, arguments, tool_map, approve=approve)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                guard.record(ticket, error=exc)
                raise
            outcome = guard.record(ticket, result)
            return outcome.annotate(result, policy)

        setattr(call, MARK, tool_map)
        return call  # type: ignore[return-value]

    return decorate


def _bind(signature: inspect.Signature, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[
    str, Any
]:
    """The call's arguments by name, defaults filled in, ``**kwargs`` flattened."""
    bound = signature.bind(*args, **kwargs)  # a bad call raises TypeError before anything runs
    bound.apply_defaults()
    out: dict[str, Any] = {}
    for key, value in bound.arguments.items():
        param = signature.parameters[key]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        else:
            out[key] = value
    return out


def _on_output(value: OnOutput | str) -> OnOutput:
    try:
        return OnOutput(value)
    except ValueError:
        raise WardenError(
            f"on_output={value!r}: use 'warn' (append warden's warning) or 'withhold'"
        ) from None
