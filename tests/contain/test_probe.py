"""The kernel probe: each answer checked against an independent source where one exists."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from warden.contain import landlock, probe
from warden.contain.probe import KernelFeatures, features_text

HYBRID = """\
25 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
PURE_V2 = """\
25 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw
99 25 0:26 / /mnt/with\\040space rw,relatime shared:4 - cgroup2 cgroup2 rw
"""
CONTAINER = """\
600 500 0:26 /system.slice/box.scope /sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw
"""


@pytest.fixture(scope="module")
def features() -> KernelFeatures:
    return probe.probe()


def test_mountinfo_parsing() -> None:
    assert probe._cgroup2_mount(HYBRID) == ("/sys/fs/cgroup/unified", "/")
    assert probe._cgroup2_mount(PURE_V2) == ("/sys/fs/cgroup", "/")
    assert probe._cgroup2_mount(PURE_V2.splitlines()[2]) == ("/mnt/with space", "/")
    assert probe._cgroup2_mount(CONTAINER) == ("/sys/fs/cgroup", "/system.slice/box.scope")
    assert probe._cgroup2_mount(HYBRID.replace("cgroup2 cgroup2", "cgroup cgroup")) is None
    assert probe._cgroup2_mount("garbage line\n\n") is None


def test_own_cgroup_path() -> None:
    v1_and_v2 = "4:memory:/x\n0::/user.slice/session-1.scope\n"
    own = probe._own_cgroup(v1_and_v2, "/sys/fs/cgroup", "/")
    assert own == "/sys/fs/cgroup/user.slice/session-1.scope"
    assert probe._own_cgroup("0::/\n", "/sys/fs/cgroup/unified", "/") == "/sys/fs/cgroup/unified"
    inside = "0::/system.slice/box.scope/agent\n"
    mount, root = "/sys/fs/cgroup", "/system.slice/box.scope"
    assert probe._own_cgroup(inside, mount, root) == "/sys/fs/cgroup/agent"
    assert probe._own_cgroup("4:memory:/x\n", "/sys/fs/cgroup", "/") is None


def test_probe_is_fast() -> None:
    """Min of three, in a fresh interpreter (what `warden doctor` and `warden run` are): the
    probe forks twice, and a fork copies the page tables of its parent, which for this test
    process, grown by thousands of tests, cost 106-109 ms a probe once (6-8 ms standalone)."""
    code = (
        "import time\n"
        "from warden.contain import probe\n"
        "times = []\n"
        "for _ in range(3):\n"
        "    start = time.perf_counter()\n"
        "    probe.probe()\n"
        "    times.append((time.perf_counter() - start) * 1000)\n"
        "print(min(times))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    assert float(run.stdout) < 100, run.stdout


def test_landlock_and_seccomp_agree_with_independent_sources(features: KernelFeatures) -> None:
    assert features.landlock_abi == landlock.abi_version()
    try:
        with open("/proc/sys/kernel/seccomp/actions_avail") as f:
            actions = f.read().split()
    except OSError:
        pytest.skip("/proc/sys/kernel/seccomp/actions_avail not readable")
    assert features.seccomp_filter == ("errno" in actions)
    assert features.seccomp_user_notif == ("user_notif" in actions)


def test_user_namespace_answers_are_consistent(features: KernelFeatures) -> None:
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            limit = int(f.read())
    except OSError:
        limit = -1
    if limit == 0:
        assert not features.userns
    assert not (features.userns_nested and not features.userns)
    if not features.is_root:
        assert features.userns_unprivileged == features.userns
    assert features.is_root == (os.geteuid() == 0)


def test_cgroup_answers_match_the_filesystem(features: KernelFeatures) -> None:
    if features.cgroup2_mount is None:
        pytest.skip("no cgroup v2 mounted")
    assert os.path.isdir(features.cgroup2_mount)
    own = features.cgroup2_own
    assert own is not None and own.startswith(features.cgroup2_mount)
    with open(own + "/cgroup.controllers") as f:
        assert features.cgroup2_controllers == tuple(f.read().split())
    leftovers = [n for n in os.listdir(own) if n.startswith("warden-probe-")]
    assert leftovers == []  # the probe removes the cgroup it creates
    if features.cgroup_create:
        assert features.cgroup_kill and features.cgroup_freeze  # 6.x kernels have both


def test_doctor_table(features: KernelFeatures) -> None:
    text = features_text(features)
    rows = features.features()
    lines = text.splitlines()
    assert lines[0].startswith(f"kernel {features.kernel}")
    assert len(lines) == 1 + len(rows)
    for row, line in zip(rows, lines[1:], strict=True):
        assert row.name in line and row.why in line
        assert line.lstrip().startswith("yes" if row.present else "NO")
    with pytest.raises(dataclasses.FrozenInstanceError):
        features.landlock_abi = 99  # type: ignore[misc]


def test_missing_features_are_shown_as_missing(features: KernelFeatures) -> None:
    weak = dataclasses.replace(
        features,
        landlock_abi=3,
        userns=False,
        userns_nested=False,
        cgroup2_mount=None,
        cgroup2_controllers=("memory",),
    )
    rows = {r.name: r for r in weak.features()}
    assert rows["landlock"].present and "lacks net.tcp, scope" in rows["landlock"].detail
    assert not rows["user namespaces"].present
    assert not rows["cgroup v2"].present and rows["cgroup v2"].detail.startswith("not mounted")
    assert not rows["cgroup v2 controllers"].present
    assert rows["cgroup v2 controllers"].detail == "memory"


def test_the_pids_limit_row_names_the_mechanism_the_supervisor_picks(
    features: KernelFeatures,
) -> None:
    def row(**changes: object) -> str:
        shown = {r.name: r for r in dataclasses.replace(features, **changes).features()}
        return shown["pids limit"].detail if shown["pids limit"].present else "NO"

    assert row(cgroup2_controllers=("pids",), is_root=False) == "cgroup v2 pids controller"
    own = row(cgroup2_controllers=(), is_root=True, idmapped_mounts=True)
    assert own.startswith("RLIMIT_NPROC")
    v1 = row(cgroup2_controllers=(), is_root=True, idmapped_mounts=False, cgroup1_pids=True)
    assert v1.startswith("cgroup v1 pids")
    assert row(cgroup2_controllers=(), is_root=False, cgroup1_pids=True) == "NO"
