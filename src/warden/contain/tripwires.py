"""After-the-run checks for persistence the sandbox lets through because ordinary work needs it.

A contained program may write ``.git/config`` (``git remote add``, ``git push -u`` and
``git config`` are ordinary work), and some keys there make *git on the host, later, outside the
sandbox* run a program of the agent's choosing: ``core.hooksPath`` pointing at a directory it
filled, ``core.fsmonitor``, ``core.sshCommand``, an alias starting with ``!``, a filter driver.
Making the file read-only would break ordinary work, and reverting would break legitimate set-ups
(husky sets ``core.hooksPath``). So warden snapshots the config files before the run and reports,
and records, every one of these keys that appeared or changed: the person decides.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

__all__ = ["CODE_RUNNING_GIT_KEYS", "git_config_changes", "snapshot_git_configs"]

#: git configuration keys (a regular expression over ``section[.subsection].name``, lower-case)
#: whose value git runs as a program or uses to find programs to run; compiled on first use
#: (:func:`_code_running`, ``CODE_RUNNING_GIT_KEYS``): a run whose config files did not change
#: never needs it.
_CODE_RUNNING = (
    r"^(core\.(hookspath|fsmonitor|sshcommand|pager|editor|askpass|gitproxy)"
    r"|sequence\.editor|diff\.external|diff\..+\.(textconv|command)"
    r"|filter\..+\.(clean|smudge|process)|merge\..+\.driver|alias\..+"
    r"|credential\.(helper|.+\.helper)|gpg\.(program|.+\.program)|uploadpack\.packobjectshook"
    r"|include\.path|includeif\..+\.path|remote\..+\.(uploadpack|receivepack)"
    r"|pager\..+|man\..+\.(cmd|path)|web\.browser|browser\..+\.(cmd|path))$"
)
if TYPE_CHECKING:
    CODE_RUNNING_GIT_KEYS: re.Pattern[str]  # module __getattr__ below
#: At most this many repositories are watched per run (nested repos, vendored checkouts).
MAX_REPOS = 64
#: A config file kept before the run is read no further than this (git's own are a few KiB):
#: one that a previous run grew past it is kept as unreadable, so every code-running key it
#: holds after the run is reported as new - more to read for the person, never less.
MAX_CONFIG_BYTES = 1 << 20

#: config path -> its bytes before the run (None: it could not be read, so it had no keys)
Snapshot = dict[str, bytes | None]


@functools.cache
def _code_running() -> re.Pattern[str]:
    return re.compile(_CODE_RUNNING)


def __getattr__(name: str) -> Any:
    """``CODE_RUNNING_GIT_KEYS``, compiled (PEP 562)."""
    if name == "CODE_RUNNING_GIT_KEYS":
        return _code_running()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _listing(path: str) -> tuple[list[str], bool]:
    """The directories in ``path`` (symbolic links to directories too) whose names do not
    start with a dot, as ``glob``'s ``*`` matches them, and whether ``path`` may hold a
    ``.git`` (it has one, or it cannot be listed)."""
    subdirs: list[str] = []
    has_git = False
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    has_git = has_git or entry.name == ".git"
                    continue
                try:
                    if entry.is_dir():
                        subdirs.append(entry.path)
                except OSError:
                    pass
    except OSError:
        return [], True
    return subdirs, has_git


def _configs(workspace: str) -> Iterator[str]:
    """``.git/config`` of the workspace and of repositories up to two levels below it.

    The files ``glob`` finds for ``WS/.git/config``, ``WS/*/.git/config`` and
    ``WS/*/*/.git/config`` (each level sorted) that are regular files, with one listing of
    the workspace and of each directory in it (which also tells whether that directory has a
    ``.git``) and one ``stat`` per directory below those. ``glob`` made the same listings but
    checked every candidate path twice, in more Python.
    """
    subdirs, _ = _listing(workspace)
    depth1: list[str] = []
    depth2: list[str] = []
    for directory in subdirs:
        below, has_git = _listing(directory)
        if has_git:
            depth1.append(os.path.join(directory, ".git", "config"))
        depth2 += [os.path.join(sub, ".git", "config") for sub in below]
    count = 0
    for candidates in ([os.path.join(workspace, ".git", "config")], depth1, depth2):
        for cfg in sorted(candidates):
            if os.path.isfile(cfg) and not os.path.islink(cfg):
                yield cfg
                count += 1
                if count >= MAX_REPOS:
                    return


def _keys(config: str, git: str, content: bytes | None = None) -> dict[str, str]:
    """The code-running keys of the file ``config``, or (``content`` given) of those bytes,
    which ``git config --file -`` reads from its standard input (``config`` then only names
    them)."""
    if content is not None and not content:
        return {}
    import subprocess  # here: only a changed file needs git (and ``warden run`` no import)

    source = "-" if content is not None else config
    try:
        out = subprocess.run([git, "config", "--file", source, "--list", "--null"], input=content,
                             capture_output=True, timeout=5, check=False).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}
    keys: dict[str, str] = {}
    for item in out.split(b"\0"):
        name, _, value = item.decode("utf-8", "replace").partition("\n")
        if name and _code_running().match(name.lower()):
            if name.lower().startswith("alias.") and not value.startswith("!"):
                continue  # a git alias to a git command runs nothing else
            keys[name.lower()] = value
    return keys


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_CONFIG_BYTES else None


def _unchanged(path: str, before: bytes) -> bool:
    """Whether ``path`` still holds exactly ``before`` (read no further than its length)."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size != len(before):
                return False
            return fh.read(len(before) + 1) == before
    except OSError:
        return False


def snapshot_git_configs(workspace: str) -> Snapshot:
    """The bytes of every git config file in the workspace, before the run.

    No git process here: the keys are a function of a file's bytes (``git config --file``
    follows no include), so :func:`git_config_changes` asks git only about the files whose
    bytes changed, for both versions. Before, every file cost one ``git config`` before the
    run and one after (19 repositories under ``/tmp``: 38 processes, about 150 ms each way).
    """
    if shutil.which("git") is None:
        return {}
    return {cfg: _read(cfg) for cfg in _configs(workspace)}


def git_config_changes(before: Snapshot, workspace: str) -> list[str]:
    """One line per code-running key that appeared or changed since ``before``."""
    git = shutil.which("git")
    if git is None:
        return []
    changes: list[str] = []
    for cfg in _configs(workspace):
        old = before.get(cfg)
        if old is not None and _unchanged(cfg, old):
            continue  # the same bytes: the same keys
        old_keys = _keys(cfg, git, old) if old is not None else {}
        rel = os.path.relpath(cfg, workspace)
        for key, value in sorted(_keys(cfg, git).items()):
            if old_keys.get(key) != value:
                changes.append(f"{rel}: {key} = {value[:200]}")
    return changes
