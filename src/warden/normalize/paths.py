"""Absolute paths for actions, computed without touching the filesystem.

Adapters keep every path exactly as the agent wrote it and record the working directory in
``Action.cwd``. Where a caller needs an absolute path (a policy on ``/etc``, a sandbox mount), it
asks :func:`resolve_path`, which is pure: no ``os.getcwd()``, no home-directory lookup, no symlink
resolution. Symlinks are for the layer that can see the filesystem.
"""

from __future__ import annotations

import posixpath

__all__ = ["resolve_path"]


def resolve_path(path: str, cwd: str | None, *, home: str | None = None) -> str | None:
    """``path`` made absolute against ``cwd`` and lexically normalised; ``None`` if impossible.

    ``~`` and ``~/...`` expand to ``home`` when it is given (agents' file tools accept them);
    ``~user`` forms are left alone and need a ``cwd`` like any relative path. ``..`` is folded
    lexically, so ``/work/../../etc/passwd`` becomes ``/etc/passwd``: the result names the file an
    unconfined tool would open, before symlinks.
    """
    if home is not None and (path == "~" or path.startswith("~/")):
        path = home + path[1:]
    if not posixpath.isabs(path):
        if not cwd or not posixpath.isabs(cwd):
            return None
        path = posixpath.join(cwd, path)
    normal = posixpath.normpath(path)
    # POSIX keeps a leading "//" distinct; for judging paths it names the root.
    return "/" + normal.lstrip("/")
