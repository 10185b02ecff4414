"""Running ``warden run`` sessions, so ``warden ps|freeze|thaw|kill`` can find them.

One small JSON file per session under ``$XDG_STATE_HOME/warden/runs/`` (default
``~/.local/state/warden/runs``), directory 0700, written by the supervisor when the sandbox is up
and removed when it ends. The directory is hidden from the contained program (the default
policy's ``[contain] hide``), so it can neither read its own entry nor forge one. A file whose
supervisor is gone (crash, SIGKILL) is stale: listed as such and removed by ``warden ps --prune``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from warden.errors import InputError

__all__ = [
    "RunInfo", "age", "find", "prune", "register", "runs", "runs_dir", "start_ticks", "unregister",
]  # fmt: skip


def runs_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "warden" / "runs"


@dataclass(frozen=True)
class RunInfo:
    session: str
    supervisor: int
    init: int
    cgroup: str | None
    argv: list[str]
    workspace: str
    started: float
    #: the supervisor's start time in clock ticks since boot (/proc/PID/stat field 22), so a
    #: recycled pid is not mistaken for it
    ticks: int
    #: the session's cgroup v1 limit groups (hybrid hosts), if any
    cgroups_v1: tuple[str, ...] = ()

    def alive(self) -> bool:
        """Whether the supervisor still runs (and is the same process)."""
        return start_ticks(self.supervisor) == self.ticks

    def processes(self) -> int:
        if self.cgroup:
            procs = os.path.join(self.cgroup, "cgroup.procs")
            with contextlib.suppress(OSError), open(procs, encoding="ascii") as fh:
                return len(fh.read().split())
        return 0


def start_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 else None


def register(info: RunInfo) -> Path:
    d = runs_dir()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = d / f"{info.session}.json"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(info), fh)
    os.replace(tmp, path)
    return path


def unregister(session: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (runs_dir() / f"{session}.json").unlink()


def prune(info: RunInfo) -> list[str]:
    """Forget a session whose supervisor is gone (crash, SIGKILL: it could not clean up), and
    remove its cgroups once empty (a cgroup with a process in it cannot be removed); the
    cgroup directories removed. Only directories named after the session inside a ``warden``
    directory are touched, whatever the entry says."""
    removed = []
    for path in (info.cgroup, *info.cgroups_v1):
        if not path or os.path.basename(path) != info.session:
            continue
        if os.path.basename(os.path.dirname(path)) != "warden":
            continue
        try:
            os.rmdir(path)
        except OSError:
            continue
        removed.append(path)
    unregister(info.session)
    return removed


def runs() -> Iterator[RunInfo]:
    d = runs_dir()
    if not d.is_dir():
        return
    for path in sorted(d.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["cgroups_v1"] = tuple(data.get("cgroups_v1", ()))
            yield RunInfo(**data)
        except (OSError, ValueError, TypeError):
            continue


def find(session: str) -> RunInfo:
    """The live session named ``session`` (or a unique prefix of it)."""
    matches = [r for r in runs() if r.alive() and r.session.startswith(session)]
    if not matches:
        raise InputError(f"no running session {session!r} (see `warden ps`)")
    if len(matches) > 1:
        raise InputError(f"{session!r} matches {len(matches)} sessions; give more of the id")
    return matches[0]


def age(info: RunInfo) -> str:
    secs = int(time.time() - info.started)
    if secs >= 3600:
        return f"{secs // 3600}h{secs % 3600 // 60:02d}m"
    return f"{secs // 60}m{secs % 60:02d}s"
