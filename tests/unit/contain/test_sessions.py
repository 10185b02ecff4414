"""``warden ps --prune``: a session whose supervisor is gone is forgotten and its empty cgroups
removed, but nothing outside a session's own ``warden/<session>`` directories is touched,
whatever its registry entry says (sessions.prune)."""

from __future__ import annotations

from pathlib import Path

import pytest

from warden.contain import sessions


@pytest.fixture
def state(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def _info(session: str, cgroup: str | None, v1: tuple[str, ...] = ()) -> sessions.RunInfo:
    return sessions.RunInfo(session=session, supervisor=2**22 + 7, init=0, cgroup=cgroup,
                            argv=["true"], workspace="/w", started=0.0, ticks=1,
                            cgroups_v1=v1)  # fmt: skip


def test_prune_removes_the_sessions_empty_directories_and_its_entry(state: Path) -> None:
    v2, v1 = state / "v2" / "warden" / "run-abc", state / "v1" / "warden" / "run-abc"
    v2.mkdir(parents=True)
    v1.mkdir(parents=True)
    info = _info("run-abc", str(v2), (str(v1),))
    sessions.register(info)
    [listed] = sessions.runs()
    assert listed == info and not listed.alive()  # the v1 groups survive the JSON round trip
    assert sessions.prune(listed) == [str(v2), str(v1)]
    assert not v2.exists() and not v1.exists()
    assert list(sessions.runs()) == []


def test_prune_touches_nothing_but_the_sessions_own_directories(state: Path) -> None:
    """A forged or damaged entry cannot make ``warden ps --prune`` remove other directories."""
    elsewhere = state / "project" / "build"  # not named after the session
    other = state / "x" / "warden" / "run-other"  # another session's
    not_warden = state / "x" / "run-abc"  # the session's name, not under warden/
    full = state / "y" / "warden" / "run-abc"  # not empty: rmdir refuses
    for d in (elsewhere, other, not_warden, full):
        d.mkdir(parents=True)
    (full / "cgroup.procs").write_text("1234\n")
    info = _info("run-abc", str(elsewhere), (str(other), str(not_warden), str(full)))
    sessions.register(info)
    assert sessions.prune(info) == []
    assert all(d.exists() for d in (elsewhere, other, not_warden, full))
    assert list(sessions.runs()) == []  # forgotten all the same


def test_an_entry_written_before_v1_groups_were_recorded_still_reads(state: Path) -> None:
    import json

    d = sessions.runs_dir()
    d.mkdir(parents=True)
    old = {"session": "run-old", "supervisor": 1, "init": 0, "cgroup": None, "argv": ["true"],
           "workspace": "/w", "started": 0.0, "ticks": 1}  # fmt: skip
    (d / "run-old.json").write_text(json.dumps(old))
    [info] = sessions.runs()
    assert info.cgroups_v1 == ()
