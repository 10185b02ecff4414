"""Symlinks: a path is judged by the file the kernel would open, at the moment of the check."""

import os

from warden.action import Action, ActionKind
from warden.check.engine import CheckContext, Engine
from warden.decision import Verdict


def _engine(home: str) -> Engine:
    return Engine.builtin(home=home)


def _setup(tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    project = home / "project"
    project.mkdir()
    (project / "notes.txt").write_text("hello")
    return home, project


def test_symlink_to_private_key_is_caught(tmp_path) -> None:
    home, project = _setup(tmp_path)
    os.symlink(home / ".ssh" / "id_rsa", project / "innocent.txt")
    engine = _engine(str(home))
    ctx = CheckContext(cwd=str(project), workspace=str(project), home=str(home))
    shell = Action(kind=ActionKind.SHELL, command="cat innocent.txt", cwd=str(project))
    read = Action(kind=ActionKind.FILE_READ, tool="Read", path=str(project / "innocent.txt"))
    assert engine.check(shell, ctx).verdict is Verdict.DENY
    assert "cred.ssh-key" in engine.check(read, ctx).rules


def test_repointed_symlink_is_seen_on_the_next_check(tmp_path) -> None:
    home, project = _setup(tmp_path)
    link = project / "link.txt"
    os.symlink(project / "notes.txt", link)
    engine = _engine(str(home))
    ctx = CheckContext(cwd=str(project), workspace=str(project), home=str(home))
    action = Action(kind=ActionKind.SHELL, command="cat link.txt", cwd=str(project))
    assert engine.check(action, ctx).verdict is Verdict.ALLOW
    link.unlink()
    os.symlink(home / ".ssh" / "id_rsa", link)  # the agent re-points it between two actions
    assert engine.check(action, ctx).verdict is Verdict.DENY


def test_symlinked_directory_out_of_the_workspace(tmp_path) -> None:
    home, project = _setup(tmp_path)
    os.symlink(home / ".ssh", project / "keys")
    engine = _engine(str(home))
    ctx = CheckContext(cwd=str(project), workspace=str(project), home=str(home))
    decision = engine.check(Action(kind=ActionKind.SHELL, command="cat keys/id_rsa",
                                   cwd=str(project)), ctx)
    assert decision.verdict is Verdict.DENY
    assert "cred.ssh-key" in decision.rules
    # writes through the link leave the workspace too
    write = engine.check(Action(kind=ActionKind.SHELL, command="echo x > keys/authorized_keys",
                                cwd=str(project)), ctx)
    assert write.verdict is Verdict.DENY
    assert "persist.authorized-keys" in write.rules
