"""The git-config tripwire: which code-running keys a run added or changed (tripwires.py)."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest

from warden.contain import tripwires

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

# quoting, escapes, a continuation line, comments, a key without a value, subsections of
# both syntaxes, upper case: whatever the bytes say, git decides what the keys are
TRICKY = (
    b'[core]\n\thooksPath = "a b" ; comment\n\tfsmonitor\n'
    b'[alias]\n\tst = "!sh -c \\"x\\"" # c\n\tco = checkout\n\tLong = !echo \\\n more\n'
    b'[diff "Pdf"]\n\ttextconv = pdf2txt\n[filter.lfs]\n\tsmudge = x\n'
)


def _config(repo: Path, text: bytes) -> Path:
    cfg = repo / ".git" / "config"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_bytes(text)
    return cfg


def test_keys_from_bytes_are_the_keys_from_the_file(tmp_path: Path) -> None:
    cfg = _config(tmp_path, TRICKY)
    git = shutil.which("git")
    assert git is not None
    from_file = tripwires._keys(str(cfg), git)
    assert from_file == tripwires._keys(str(cfg), git, TRICKY)
    assert from_file["core.hookspath"] == "a b"
    assert from_file["alias.st"] == '!sh -c "x"'
    assert "alias.co" not in from_file


def test_changes_are_reported_per_key_and_unchanged_files_cost_no_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, TRICKY)
    same = _config(tmp_path / "same", b"[core]\n\tpager = less\n")
    _config(tmp_path / "a" / "b", b"[user]\n\tname = x\n")
    before = tripwires.snapshot_git_configs(str(tmp_path))
    assert len(before) == 3
    _config(tmp_path, TRICKY + b"[core]\n\tsshCommand = evil\n[alias]\n\tst = !changed\n")
    _config(tmp_path / "a" / "b", b"[user]\n\tname = y\n")  # changed, nothing code-running
    _config(tmp_path / "new", b"[core]\n\teditor = vi\n")  # a repository made during the run
    asked: list[str] = []
    real = tripwires._keys
    monkeypatch.setattr(tripwires, "_keys", lambda cfg, git, content=None: (
        asked.append(cfg), real(cfg, git, content))[1])  # fmt: skip
    changes = tripwires.git_config_changes(before, str(tmp_path))
    assert changes == [
        ".git/config: alias.st = !changed",
        ".git/config: core.sshcommand = evil",
        "new/.git/config: core.editor = vi",
    ]
    assert str(same) not in asked  # the same bytes: git is not asked


def test_the_files_watched_are_those_glob_finds(tmp_path: Path) -> None:
    for repo in ("", "a", "b", "a-b", "a/x", "a/.hidden", ".hidden/y", "c/d/e", "f/g"):
        _config(tmp_path / repo, b"")
    (tmp_path / "f" / "g" / ".git" / "config").unlink()
    (tmp_path / "f" / "g" / ".git" / "config").mkdir()  # not a regular file
    (tmp_path / "link").symlink_to(tmp_path / "a")  # a link to a directory is followed
    (tmp_path / "s" / ".git").mkdir(parents=True)
    os.symlink(tmp_path / "b" / ".git" / "config", tmp_path / "s" / ".git" / "config")
    expected = []
    for pattern in ("", "*", "*/*"):
        found = sorted(glob.glob(os.path.join(str(tmp_path), pattern, ".git", "config")))
        expected += [p for p in found if os.path.isfile(p) and not os.path.islink(p)]
    assert list(tripwires._configs(str(tmp_path))) == expected
    assert len(expected) == 7  # the workspace, a, a-b, b, link, a/x, link/x


def test_an_oversized_config_is_not_kept_and_its_keys_count_as_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config a previous run grew huge is not read into memory whole before the run; after
    it, every code-running key it holds is reported (as if the file were new), never hidden."""
    monkeypatch.setattr(tripwires, "MAX_CONFIG_BYTES", 64)
    cfg = _config(tmp_path, b"[core]\n\thooksPath = h\n" + b"# pad\n" * 20)
    before = tripwires.snapshot_git_configs(str(tmp_path))
    assert before == {str(cfg): None}
    changes = tripwires.git_config_changes(before, str(tmp_path))
    assert changes == [".git/config: core.hookspath = h"]
