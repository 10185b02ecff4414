"""The policy's [contain] section, its layering, and the resolved SandboxSpec."""

from __future__ import annotations

from pathlib import Path

import pytest

from warden.check.policy.load import Layer, builtin_policy_path, load_policy, parse_memory
from warden.contain.spec import build_spec
from warden.errors import InputError, PolicyError


def _policy(tmp_path: Path, *layers: tuple[str, str]):
    out = [Layer(builtin_policy_path(), "builtin")]
    for i, (kind, text) in enumerate(layers):
        f = tmp_path / f"layer{i}.toml"
        f.write_text(text)
        out.append(Layer(f, kind))
    return load_policy(out)


def test_default_egress_is_the_allowlist_without_loopback(tmp_path) -> None:
    p = _policy(tmp_path)
    assert "pypi.org" in p.egress
    assert not {"localhost", "127.0.0.1", "::1"} & set(p.egress)


def test_egress_adds_to_the_allowlist(tmp_path) -> None:
    p = _policy(tmp_path, ("user", '[network]\negress = ["api.mycorp.example"]\n'
                           'allow = ["git.mycorp.example"]\n'))  # fmt: skip
    assert "api.mycorp.example" in p.egress and "git.mycorp.example" in p.egress
    assert "api.anthropic.com" in p.egress  # the model APIs, from the default policy
    assert "api.anthropic.com" not in p.net_allow  # ... which the check layer does not trust


def test_project_layer_may_only_tighten_containment(tmp_path) -> None:
    project = (
        '[network]\negress = ["evil.example"]\n'
        '[contain]\nread = ["/"]\nwrite = ["~"]\nhide = ["~/clients"]\n'
        'protect = ["$WORKSPACE/Makefile"]\nunix_sockets = true\npids = 100000\n'
    )
    p = _policy(tmp_path, ("project", project))
    assert "evil.example" not in p.egress
    assert "/" not in p.contain.read and "~" not in p.contain.write
    assert "~/clients" in p.contain.hide and "$WORKSPACE/Makefile" in p.contain.protect
    assert p.contain.unix_sockets is False
    assert p.contain.pids == 4096
    assert len([i for i in p.ignored if "contain" in i or "egress" in i]) == 5
    lowered = _policy(tmp_path, ("project", "[contain]\npids = 64\nmemory = '1G'\n"))
    assert lowered.contain.pids == 64
    # a memory limit where there was none lowers it from "unlimited": a project may set it
    assert lowered.contain.memory == 1 << 30


def test_user_layer_may_loosen(tmp_path) -> None:
    p = _policy(tmp_path, ("user", "[contain]\nunix_sockets = true\nwrite = ['~/.claude']\n"
                           "memory = '2G'\n"))  # fmt: skip
    assert p.contain.unix_sockets and "~/.claude" in p.contain.write
    assert p.contain.memory == 2 << 30


@pytest.mark.parametrize(("text", "expect"), [("512M", 512 << 20), ("4G", 4 << 30),
                                              ("1GiB", 1 << 30), ("100", 100)])  # fmt: skip
def test_parse_memory(text, expect) -> None:
    assert parse_memory(text) == expect


@pytest.mark.parametrize("bad", ["", "lots", "-1G", "0", "1.5G"])
def test_bad_memory_is_a_policy_error_with_its_line(tmp_path, bad) -> None:
    with pytest.raises(PolicyError) as err:
        _policy(tmp_path, ("user", f"[contain]\nmemory = '{bad}'\n"))
    assert "layer0.toml:2" in str(err.value)


def test_relative_contain_path_is_refused(tmp_path) -> None:
    with pytest.raises(PolicyError, match="must start with"):
        _policy(tmp_path, ("user", "[contain]\nread = ['etc']\n"))


def test_unknown_contain_key_is_refused(tmp_path) -> None:
    with pytest.raises(PolicyError):
        _policy(tmp_path, ("user", "[contain]\nreadd = ['/etc']\n"))


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    home, ws = tmp_path / "home", tmp_path / "home" / "proj"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("k")
    (home / ".cache").mkdir()
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / "sub").mkdir()
    return home, ws


def test_spec_resolves_home_and_workspace(tmp_path, world) -> None:
    home, ws = world
    policy = _policy(tmp_path, ("user", "[contain]\nread = ['~']\n"))
    spec = build_spec(policy, ["make"], workspace=str(ws), cwd=str(ws / "sub"), home=str(home),
                      environ={})  # fmt: skip
    assert spec.workspace == str(ws) and spec.cwd == str(ws / "sub")
    assert str(ws) in spec.write and str(home / ".cache") in spec.write
    assert str(home) in spec.read
    assert str(home / ".ssh") in spec.hide  # beneath a readable path: hidden
    assert str(ws / ".git" / "hooks") in spec.protect
    assert str(ws / ".claude") in spec.create_protected
    assert all(Path(p).exists() for p in spec.read + spec.write)


def test_hide_is_limited_to_what_the_program_could_see(tmp_path, world) -> None:
    home, ws = world
    spec = build_spec(_policy(tmp_path), ["make"], workspace=str(ws), home=str(home), environ={})
    assert str(home / ".ssh") not in spec.hide  # not readable anyway: nothing to mount


def test_cwd_outside_the_workspace_falls_back_to_it(tmp_path, world) -> None:
    home, ws = world
    spec = build_spec(_policy(tmp_path), ["x"], workspace=str(ws), cwd="/", home=str(home),
                      environ={})  # fmt: skip
    assert spec.cwd == str(ws)


def test_environment_credentials_are_stripped_unless_passed(tmp_path, world) -> None:
    home, ws = world
    env = {"PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "x", "GITHUB_TOKEN": "y", "DB_PASSWORD": "z",
           "ANTHROPIC_API_KEY": "k", "SSH_AUTH_SOCK": "/run/s", "HTTPS_PROXY": "http://corp"}
    spec = build_spec(_policy(tmp_path), ["x"], workspace=str(ws), home=str(home), environ=env,
                      pass_env=["GITHUB_TOKEN"])  # fmt: skip
    assert set(spec.env) == {"PATH", "GITHUB_TOKEN", "ANTHROPIC_API_KEY"}
    assert "AWS_SECRET_ACCESS_KEY" in spec.stripped_env
    assert spec.to_json()["env"] == sorted(spec.env)  # names only, never values


@pytest.mark.parametrize("workspace", ["/", "/nonexistent-dir-xyz"])
def test_bad_workspace_is_refused(tmp_path, workspace) -> None:
    with pytest.raises(InputError):
        build_spec(_policy(tmp_path), ["x"], workspace=workspace, environ={})


def test_empty_command_is_refused(tmp_path, world) -> None:
    _, ws = world
    with pytest.raises(InputError, match="nothing to run"):
        build_spec(_policy(tmp_path), [], workspace=str(ws), environ={})


def test_missing_hidden_dirs_under_a_writable_path_are_created_then_hidden(tmp_path, world) -> None:
    """The engine cache (~/.cache/warden) must not be creatable by the program: a poisoned
    cache entry would weaken the hook decisions made outside the sandbox."""
    home, ws = world
    spec = build_spec(_policy(tmp_path), ["x"], workspace=str(ws), home=str(home), environ={})
    assert str(home / ".cache" / "warden") in spec.hide
    assert str(home / ".cache" / "warden") in spec.create_hidden
    assert str(home / ".aws") not in spec.create_hidden  # not beneath a writable path
