"""What the start-up's shortcuts must not change (docs/containment.md, "Start-up"):

* the bounding set is emptied while the program waits for "go", the rest after it: the program
  still execs with no capability at all;
* tasks are created beside their parent (``ns.on_this_cpu``): the program, init and warden's
  threads get back every CPU the caller had;
* ``WARDEN_TIMELINE`` stamps come from each of the four processes, in order.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.contain.sandbox import needs_sandbox, run

from warden.contain import ns


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="warden-test-", dir="/var/tmp"))
    home, ws = base / "home", tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    yield ws, home
    shutil.rmtree(base, ignore_errors=True)


def _cpu_list(cpus: set[int]) -> str:
    """``/proc/PID/status`` ``Cpus_allowed_list`` spelling: ``0-3,6``."""
    out: list[str] = []
    ordered = sorted(cpus)
    start = prev = ordered[0]
    for cpu in [*ordered[1:], -2]:
        if cpu != prev + 1:
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = cpu
        prev = cpu
    return ",".join(out)


def _status(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


@needs_sandbox
def test_the_program_execs_with_no_capability_and_every_cpu_of_the_caller(box) -> None:
    ws, home = box
    r = run("/bin/sh", "-c", "cat /proc/self/status; echo ===; cat /proc/1/status",
            ws=ws, home=home)  # fmt: skip
    assert r.returncode == 0, r.stderr
    program, init = (_status(part) for part in r.stdout.split("===\n"))
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(program[field], 16) == 0, (field, program[field])
    assert program["NoNewPrivs"].strip() == "1"
    mine = _cpu_list(os.sched_getaffinity(0))
    assert program["Cpus_allowed_list"].strip() == mine
    assert init["Cpus_allowed_list"].strip() == mine


@needs_sandbox
def test_the_timeline_has_each_process_in_order(box, tmp_path) -> None:
    ws, home = box
    timeline = tmp_path / "timeline"
    r = run("/bin/true", ws=ws, home=home, env={"WARDEN_TIMELINE": str(timeline)})
    assert r.returncode == 0, r.stderr
    stamps = dict(line.rsplit(" ", 1) for line in timeline.read_text().splitlines())
    # each step happens-before the next (a message or a fork between them); "sent 'go'" is
    # not in the list: the program may stamp its "go received" before the sender stamps
    # the native launcher is started before the run is planned, the Python stage after
    started = "supervisor: spawn launcher" if "supervisor: spawn launcher" in stamps else (
        "supervisor: fork stage")  # fmt: skip
    order = ["supervisor: run_contained", started, "stage: forked",
             "init: forked", "program: forked", "supervisor: stage reaped, git snapshot",
             "program: go received",
             "program: execve", "init: program reaped", "supervisor: init reaped",
             "clean-up: done"]  # fmt: skip
    assert [int(stamps[step]) for step in order] == sorted(int(stamps[step]) for step in order)


def test_without_the_variable_nothing_is_stamped(monkeypatch, tmp_path) -> None:
    from warden.contain import stage

    monkeypatch.delenv("WARDEN_TIMELINE", raising=False)
    stage.timeline_begin()
    assert stage._timeline_fd == -1
    stage.stamp("nothing")  # no file, no error
    monkeypatch.setenv("WARDEN_TIMELINE", str(tmp_path / "t"))
    stage.timeline_begin()
    try:
        stage.stamp("one")
    finally:
        stage.timeline_end()
    assert (tmp_path / "t").read_text().startswith("one ")
    assert stage._timeline_fd == -1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_on_this_cpu_pins_for_the_block_only_and_children_get_every_cpu_back() -> None:
    before = os.sched_getaffinity(0)
    seen: dict[str, set[int]] = {}
    with ns.on_this_cpu() as cpus:
        assert cpus == before
        seen["block"] = os.sched_getaffinity(0)

        def thread() -> None:
            ns.restore_cpus(cpus)
            seen["thread"] = os.sched_getaffinity(0)

        t = threading.Thread(target=thread)
        t.start()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            ns.restore_cpus(cpus)
            os.write(w, b"ok" if os.sched_getaffinity(0) == before else b"no")
            os._exit(0)
    t.join()
    os.close(w)
    assert os.read(r, 2) == b"ok"
    os.close(r)
    os.waitpid(pid, 0)
    assert len(seen["block"]) == 1 and seen["block"] <= before
    assert seen["thread"] == before
    assert os.sched_getaffinity(0) == before
