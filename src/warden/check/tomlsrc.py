"""TOML files with line numbers: parse with :mod:`tomllib`, locate keys for error messages.

``tomllib`` (stdlib, TOML 1.0) gives values but no positions; rule and policy errors must point to
``file:line``. :class:`Locator` scans the text once and maps key paths (``("rule", 3, "match",
"file")``) to the line that defines them, following table headers, arrays of tables and dotted
keys. A path that is not found falls back to its nearest located ancestor.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from warden.errors import ConfigIssue

__all__ = ["Locator", "TomlDoc", "msgspec_path", "read_toml"]

PathKey = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+(?:\s*\.\s*[A-Za-z0-9_\-\"']+)*)\s*=")
_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _split_key(raw: str) -> list[str]:
    return [part.strip().strip("\"'") for part in raw.split(".")]


class Locator:
    """Key path -> line number for one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[PathKey, int] = {}
        counters: dict[PathKey, int] = {}
        table: PathKey = ()
        for number, line in enumerate(text.splitlines(), start=1):
            m = _HEADER.match(line)
            if m:
                keys = _split_key(m.group(2))
                path: list[str | int] = []
                for key in keys[:-1]:
                    path.append(key)
                    idx = counters.get(tuple(path))
                    if idx is not None:
                        path.append(idx)
                path.append(keys[-1])
                if m.group(1) == "[[":
                    base = tuple(path)
                    counters[base] = counters.get(base, -1) + 1
                    path.append(counters[base])
                table = tuple(path)
                self._lines.setdefault(table, number)
                continue
            k = _KEY.match(line)
            if k:
                self._lines.setdefault((*table, *_split_key(k.group(1))), number)

    def line_of(self, path: PathKey) -> int | None:
        for end in range(len(path), 0, -1):
            line = self._lines.get(path[:end])
            if line is not None:
                return line
        return None


class TomlDoc:
    """A parsed TOML file with its locator."""

    def __init__(self, name: str, data: dict[str, Any], locator: Locator) -> None:
        self.name = name
        self.data = data
        self.locator = locator

    def issue(self, path: PathKey, message: str) -> ConfigIssue:
        return ConfigIssue(self.name, self.locator.line_of(path), message)


def read_toml(source: str | Path, *, text: str | None = None) -> TomlDoc | ConfigIssue:
    """Parse a TOML file (or ``text`` named ``source``); a syntax error comes back as an issue."""
    name = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            return ConfigIssue(name, None, f"cannot read: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            return ConfigIssue(name, None, f"not UTF-8: {exc}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _AT_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
        return ConfigIssue(name, line, f"TOML syntax error: {_AT_LINE.sub('', str(exc)).strip()}")
    return TomlDoc(name, data, Locator(text))


_MSGSPEC_AT = re.compile(r"\s*-\s*at `\$([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


def msgspec_path(message: str) -> tuple[PathKey, str]:
    """Split a msgspec validation message into (key path, message without the path)."""
    m = _MSGSPEC_AT.search(message)
    path: list[str | int] = []
    if m:
        for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", m.group(1)):
            path.append(part[0] if part[0] else int(part[1]))
    unknown = _UNKNOWN.search(message)
    if unknown:
        path.append(unknown.group(1))
    return tuple(path), _MSGSPEC_AT.sub("", message)
