"""Lazy package exports (PEP 562): each public name is imported from its module on first use.

``import warden`` (and ``warden.record``, ``warden.record.witness``) must stay cheap: a hook
process is spawned per tool call and imports only what it uses. A package lists its exports
as ``{name: module}`` and gets its module-level ``__getattr__`` and ``__dir__`` from
:func:`lazy_exports`; type checkers see the names through the package's ``TYPE_CHECKING``
imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], namespace: MutableMapping[str, Any],
    names: Sequence[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:  # fmt: skip
    """``(__getattr__, __dir__)`` for ``package``: a name in ``table`` is imported from its
    module once and kept in ``namespace`` (the package's globals); any other is an
    :class:`AttributeError`."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__
