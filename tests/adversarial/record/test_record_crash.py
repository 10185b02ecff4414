"""Crash suite: a writer subprocess is kill -9'd mid-batch many times; afterwards the log
verifies and every entry acknowledged to a producer is present with its content."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warden.record import AuditLog, LogReader, verify_log

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 20


def run_and_kill(db: Path, tag: str, rng: random.Random, *mode: str) -> dict[int, str]:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), tag, *mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"child did not start: {line!r} {err}")
    acked: dict[int, str] = {}
    deadline = time.monotonic() + rng.uniform(0.05, 0.4)
    while time.monotonic() < deadline:  # let it run, reading acks as they come
        ready, _, _ = select.select([proc.stdout], [], [], 0.01)
        if ready:
            line = proc.stdout.readline()
            idx, ident = line.split()
            acked[int(idx)] = ident
    os.kill(proc.pid, signal.SIGKILL)
    # read through the text wrapper: communicate() reads the pipe's file descriptor directly
    # and would skip what readline() above had already buffered (cutting a line in two)
    rest = proc.stdout.read()
    assert proc.stderr is not None
    proc.stderr.read()
    proc.wait(timeout=30)
    for line in rest.splitlines():  # printed before the kill: acknowledged too
        idx, ident = line.split()
        acked[int(idx)] = ident
    assert proc.returncode == -signal.SIGKILL
    return acked


@pytest.mark.parametrize("mode", ["threads", "async", "resident"])
def test_kill_9_mid_batch(tmp_path: Path, mode: str) -> None:
    """``async``: 16 coroutines on one event loop, acknowledged by ``append_async``.
    ``resident``: one record at a time into a prefilled WAL with a short checkpoint cycle (the
    first round starts on the zeros; later ones recover the WAL the killed one left)."""
    db = tmp_path / "audit.db"
    rng = random.Random(1234)
    acked: dict[int, str] = {}
    for round_ in range(KILLS):
        got = run_and_kill(db, f"r{round_}", rng, *([mode] if mode != "threads" else []))
        assert not set(got) & set(acked), "an index was acknowledged twice"
        acked.update(got)
    assert len(acked) > KILLS  # the suite really exercised appends
    with AuditLog.open(db) as log:  # reopening a crashed log works and it still appends
        log.append({"type": "after-crash"})
        report = verify_log(log.store, log.signer.verifier)
    assert report.size >= len(acked) + 1
    with LogReader.open(db) as reader:
        for idx, ident in acked.items():
            assert reader.entry(idx).record["id"] == ident
