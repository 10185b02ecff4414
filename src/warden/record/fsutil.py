"""File-system steps that make a change durable (the store and the witness share them)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir"]


def fsync_dir(path: Path) -> None:
    """``fsync`` the directory ``path``: a name created, linked or renamed in it survives a
    crash only once its directory is synced (the file's own ``fsync`` covers its data)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
