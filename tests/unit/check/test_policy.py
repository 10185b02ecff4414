"""Policy files: validation with lines, layering, and the tighten-only project layer."""

import textwrap

import pytest

from warden.check.policy.load import Layer, builtin_policy_path, load_policy
from warden.decision import Verdict
from warden.errors import PolicyError

BUILTIN = Layer(builtin_policy_path(), "builtin")


def _layer(tmp_path, name: str, kind: str, body: str) -> Layer:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return Layer(path, kind)


def test_builtin_defaults_fail_closed() -> None:
    policy = load_policy([BUILTIN])
    assert policy.default is Verdict.ALLOW
    assert policy.on_error is Verdict.DENY
    assert policy.write_outside is Verdict.ASK
    assert policy.host_allowed("pypi.org")
    assert policy.host_allowed("objects.githubusercontent.com")
    assert not policy.host_allowed("paste.example")
    assert not policy.host_allowed("githubusercontent.com.evil.test")


def test_user_layer_overrides_and_extends(tmp_path) -> None:
    user = _layer(tmp_path, "user.toml", "user", """\
        [policy]
        on_error = "ask"
        [network]
        allow = ["api.mycorp.example", "*.internal.example:8443"]
        [verdicts]
        persistence = "kill"
        [rules."exec.remote-pipe-shell"]
        verdict = "ask"
        """)
    policy = load_policy([BUILTIN, user])
    assert policy.on_error is Verdict.ASK
    assert policy.host_allowed("api.mycorp.example")
    assert policy.host_allowed("db.internal.example", 8443)
    assert not policy.host_allowed("db.internal.example", 443)
    assert policy.host_allowed("pypi.org")  # lists are unions
    assert policy.verdicts["persistence"] is Verdict.KILL
    assert policy.rule_verdicts["exec.remote-pipe-shell"] is Verdict.ASK


def test_project_layer_may_only_tighten(tmp_path) -> None:
    project = _layer(tmp_path, "project.toml", "project", """\
        [policy]
        default = "allow"
        on_error = "allow"
        [network]
        allow = ["evil.test"]
        deny = ["pypi.org"]
        [verdicts]
        exfiltration = "kill"
        [rules."cred.ssh-key"]
        enabled = false
        [tools]
        trusted = ["Bash"]
        """)
    policy = load_policy([BUILTIN, project])
    assert policy.on_error is Verdict.DENY  # loosening ignored
    assert not policy.host_allowed("evil.test")  # allow-list ignored
    assert not policy.host_allowed("pypi.org")  # deny honoured
    assert policy.verdicts["exfiltration"] is Verdict.KILL  # tightening honoured
    assert "cred.ssh-key" not in policy.rule_enabled
    assert "Bash" not in policy.trusted_tools
    assert len(policy.ignored) >= 4


def test_project_layer_trusted_when_user_says_so(tmp_path) -> None:
    user = _layer(tmp_path, "user.toml", "user", "[policy]\ntrust_project = true\n")
    project = _layer(tmp_path, "project.toml", "project", '[network]\nallow = ["evil.test"]\n')
    assert load_policy([BUILTIN, user, project]).host_allowed("evil.test")


def test_every_problem_with_its_line(tmp_path) -> None:
    bad = _layer(tmp_path, "bad.toml", "explicit", """\
        [policy]
        default = "perhaps"
        [verdicts]
        not-a-category = "deny"
        [paths]
        read_deny = ["relative/path"]
        """)
    with pytest.raises(PolicyError) as err:
        load_policy([BUILTIN, bad])
    lines = {issue.line for issue in err.value.issues}
    assert {2, 4, 6} <= lines, err.value.issues


def test_unknown_table_refused(tmp_path) -> None:
    bad = _layer(tmp_path, "bad.toml", "explicit", "[netwrok]\nallow = []\n")
    with pytest.raises(PolicyError, match="netwrok"):
        load_policy([BUILTIN, bad])


def test_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy([BUILTIN, Layer(tmp_path / "nope.toml", "explicit")])


def test_project_may_add_an_allowlist_but_not_widen_one(tmp_path) -> None:
    adds = _layer(tmp_path, "p1.toml", "project", '[commands]\nallow = ["git *"]\n')
    assert load_policy([BUILTIN, adds]).cmd_allow == ("git *",)
    user = _layer(tmp_path, "u.toml", "user", '[commands]\nallow = ["git *"]\n')
    widens = _layer(tmp_path, "p2.toml", "project", '[commands]\nallow = ["curl *"]\n')
    policy = load_policy([BUILTIN, user, widens])
    assert policy.cmd_allow == ("git *",) and policy.ignored


def test_mcp_elicitation_secrets_default_layering_and_validation(tmp_path) -> None:
    """``[mcp] elicitation_secrets``: allow by default (the user's answer is passed on, as the
    docs have always said), deny from the user's policy, a project may tighten but not loosen,
    and only allow or deny is accepted."""
    assert load_policy([BUILTIN]).mcp_elicitation_secrets is Verdict.ALLOW
    deny = _layer(tmp_path, "user.toml", "user", '[mcp]\nelicitation_secrets = "deny"\n')
    loosen = _layer(tmp_path, "p1.toml", "project", '[mcp]\nelicitation_secrets = "allow"\n')
    policy = load_policy([BUILTIN, deny, loosen])
    assert policy.mcp_elicitation_secrets is Verdict.DENY
    assert any("mcp_elicitation_secrets" in note for note in policy.ignored)
    tighten = _layer(tmp_path, "p2.toml", "project", '[mcp]\nelicitation_secrets = "deny"\n')
    assert load_policy([BUILTIN, tighten]).mcp_elicitation_secrets is Verdict.DENY
    bad = _layer(tmp_path, "bad.toml", "explicit", '[mcp]\nelicitation_secrets = "ask"\n')
    with pytest.raises(PolicyError, match="elicitation_secrets must be 'allow' or 'deny'"):
        load_policy([BUILTIN, bad])
