"""After-the-run checks for persistence the sandbox lets through because ordinary work needs it.

A contained program may write ``.git/config`` (``git remote add``, ``git push -u`` and
``git config`` are ordinary work), and some keys there make *git on the host, later, outside the
sandbox* run a program of the agent's choosing: ``core.hooksPath`` pointing at a directory it
filled, ``core.fsmonitor``, ``core.sshCommand``, an alias starting with ``!``, a filter driver.
Making the file read-only would break ordinary work, and reverting would break legitimate set-ups
(husky sets ``core.hooksPath``). So warden snapshots these keys before the run and reports, and
records, every one that appeared or changed: the person decides.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator

__all__ = ["CODE_RUNNING_GIT_KEYS", "git_config_changes", "snapshot_git_configs"]

#: git configuration keys (regular expressions over ``section[.subsection].name``, lower-case)
#: whose value git runs as a program or uses to find programs to run.
CODE_RUNNING_GIT_KEYS = re.compile(
    r"^(core\.(hookspath|fsmonitor|sshcommand|pager|editor|askpass|gitproxy)"
    r"|sequence\.editor|diff\.external|diff\..+\.(textconv|command)"
    r"|filter\..+\.(clean|smudge|process)|merge\..+\.driver|alias\..+"
    r"|credential\.(helper|.+\.helper)|gpg\.(program|.+\.program)|uploadpack\.packobjectshook"
    r"|include\.path|includeif\..+\.path|remote\..+\.(uploadpack|receivepack)"
    r"|pager\..+|man\..+\.(cmd|path)|web\.browser|browser\..+\.(cmd|path))$"
)
#: At most this many repositories are watched per run (nested repos, vendored checkouts).
MAX_REPOS = 64

Snapshot = dict[str, dict[str, str]]


def _configs(workspace: str) -> Iterator[str]:
    """``.git/config`` of the workspace and of repositories up to two levels below it."""
    count = 0
    for depth in range(3):
        pattern = os.path.join(workspace, *(["*"] * depth), ".git", "config")
        for cfg in sorted(glob.glob(pattern)):
            if os.path.isfile(cfg) and not os.path.islink(cfg):
                yield cfg
                count += 1
                if count >= MAX_REPOS:
                    return


def _keys(config: str, git: str) -> dict[str, str]:
    try:
        out = subprocess.run([git, "config", "--file", config, "--list", "--null"],
                             capture_output=True, timeout=5, check=False).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}
    keys: dict[str, str] = {}
    for item in out.split(b"\0"):
        name, _, value = item.decode("utf-8", "replace").partition("\n")
        if name and CODE_RUNNING_GIT_KEYS.match(name.lower()):
            if name.lower().startswith("alias.") and not value.startswith("!"):
                continue  # a git alias to a git command runs nothing else
            keys[name.lower()] = value
    return keys


def snapshot_git_configs(workspace: str) -> Snapshot:
    """The code-running keys of every git repository in the workspace."""
    git = shutil.which("git")
    if git is None:
        return {}
    return {cfg: _keys(cfg, git) for cfg in _configs(workspace)}


def git_config_changes(before: Snapshot, workspace: str) -> list[str]:
    """One line per code-running key that appeared or changed since ``before``."""
    after = snapshot_git_configs(workspace)
    changes: list[str] = []
    for cfg, keys in after.items():
        old = before.get(cfg, {})
        rel = os.path.relpath(cfg, workspace)
        for key, value in sorted(keys.items()):
            if old.get(key) != value:
                changes.append(f"{rel}: {key} = {value[:200]}")
    return changes
