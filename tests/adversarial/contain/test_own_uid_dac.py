"""Without Landlock, what does the contained uid still stop? (``contain/identity.py``)

Landlock is what confines the program's files; this test takes it away to see the layer below.
It enters a running sandbox's user and mount namespaces with nsenter(1) (as uid 0 there, with
every capability of that namespace, no Landlock, no seccomp: more than the program ever has)
and attacks host root's files outside the grants. With the program's own uid, the kernel
refuses: those files belong to an id the namespace does not map, so neither ownership nor
CAP_DAC_OVERRIDE applies. The same entry writes the workspace (the idmapped mount), so the
refusals are not an artefact of a broken entry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.contain.sandbox import needs_sandbox
from tests.contain.test_own_uid import NOT_ROOT, _no_idmap, _running

pytestmark = [
    needs_sandbox,
    pytest.mark.skipif(NOT_ROOT, reason="a uid of its own is given only when warden is root"),
    pytest.mark.skipif(not NOT_ROOT and _no_idmap(), reason="this kernel has no idmapped mounts"),
    pytest.mark.skipif(shutil.which("nsenter") is None, reason="nsenter(1) is not installed"),
]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="warden-test-", dir="/var/tmp"))
    base.chmod(0o755)  # reachable: the attacks below must fail on the files, not on the way
    home, ws = base / "home", tmp_path / "ws"
    home.mkdir(mode=0o755)
    ws.mkdir()
    yield ws, home
    shutil.rmtree(base, ignore_errors=True)


def _inside(pid: int, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", "-t", str(pid), "-U", "-m", "--", "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=30)  # fmt: skip


def test_host_roots_files_outside_the_grants_resist_even_without_landlock(box) -> None:
    ws, home = box
    target = home / "root-owned.conf"
    target.write_text("root's\n")
    target.chmod(0o644)
    world = home / "notes"  # a root-owned directory the program could read into
    world.mkdir(mode=0o755)
    with _running(ws, home, f"dac-{os.getpid()}") as pid:
        r = _inside(pid, f"cat {target}; echo evil >> {target}; chmod 666 {target}; "
                         f"touch {world}/planted; echo ok > {ws}/written; id -u")  # fmt: skip
    # it reads the file (reachable, world-readable) as uid 0 of the namespace with every
    # capability there, and still cannot change it
    assert r.stdout.split() == ["root's", "0"], r.stderr
    assert r.stderr.count("Permission denied") + r.stderr.count("Operation not permitted") >= 3
    assert target.read_text() == "root's\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert not (world / "planted").exists()
    assert (ws / "written").read_text() == "ok\n"
    assert (ws / "written").stat().st_uid == 0  # the workspace owner's, through the idmap
