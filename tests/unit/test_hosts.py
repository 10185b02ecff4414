"""warden.hosts: the one host-pattern parser and matcher shared by the check layer and the proxy.

The proxy's own semantics (80/443 default, DNS-rebinding checks) are tested in
tests/contain/test_egress.py; here: the port rule each caller picks, and that the check layer now
reads every pattern form the proxy does (CIDR, IP literals, IDNA, trailing dots, case).
"""

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warden.check.engine import CheckContext, Engine
from warden.check.policy.load import Layer, builtin_policy_path, load_policy
from warden.check.rules.load import load_packs
from warden.decision import Verdict
from warden.errors import PolicyError
from warden.hosts import HostError, HostSet, host_set, parse_pattern

WEB = frozenset({80, 443})


def test_portless_rule_follows_the_callers_default() -> None:
    hosts = host_set(("pypi.org", "*.example.com:8443"))
    assert hosts.matches("pypi.org", 22)  # check layer: any port
    assert hosts.matches("pypi.org")  # port unknown
    assert hosts.matches("pypi.org", 443, portless=WEB)
    assert not hosts.matches("pypi.org", 22, portless=WEB)  # proxy: web ports only
    assert hosts.matches("a.b.example.com", 8443)
    assert not hosts.matches("a.b.example.com", 443)
    assert not hosts.matches("a.b.example.com")  # a port rule needs a known port
    assert not hosts.matches("example.com", 8443)  # a wildcard never covers the apex


def test_names_are_normalised_before_matching() -> None:
    hosts = host_set(("pypi.org", "bücher.example"))
    assert hosts.matches("PyPI.org.")
    assert hosts.matches("xn--bcher-kva.example")
    assert hosts.matches("BÜCHER.example")
    assert not hosts.matches("ｐｙｐｉ.org")  # fullwidth look-alike is refused, not folded
    assert not hosts.matches("pypi.org.evil.test")
    assert not hosts.matches("")
    assert not hosts.matches("$HOST")


def test_addresses_and_cidr_blocks() -> None:
    hosts = host_set(("10.0.0.0/8", "[::1]:8000", "192.0.2.7"))
    assert hosts.matches("10.200.3.4", 5432)
    assert hosts.matches("::1", 8000)
    assert hosts.matches("[::1]", 8000)
    assert not hosts.matches("::1", 8001)
    assert hosts.matches("192.0.2.7")
    assert not hosts.matches("192.0.2.8")
    assert not hosts.matches("::ffff:10.0.0.1")  # a v6 address is matched by v6 patterns only


@pytest.mark.parametrize("bad", ["", " pypi.org", "*", "*.", "a*.example.com", "[pypi.org]",
                                 "host:99999", "host:", "10.0.0.1/33", "10.0.0.1/8", "bad host",
                                 "127.1", "ｐｙｐｉ.org"])  # fmt: skip
def test_invalid_patterns_are_refused(bad: str) -> None:
    with pytest.raises(HostError):
        parse_pattern(bad)


@given(st.text(max_size=40), st.one_of(st.none(), st.integers(-5, 70000)))
def test_matching_never_raises(host: str, port: int | None) -> None:
    hosts = host_set(("pypi.org", "*.github.com", "10.0.0.0/8", "[fd00::/8]:443"))
    assert hosts.matches(host, port) in (True, False)
    assert HostSet().matches(host, port) is False


def _policy(tmp_path, body: str) -> list[Layer]:
    path = tmp_path / "user.toml"
    path.write_text(textwrap.dedent(body))
    return [Layer(builtin_policy_path(), "builtin"), Layer(path, "user")]


def test_policy_reports_each_invalid_host_pattern_with_its_line(tmp_path) -> None:
    layers = _policy(tmp_path, """\
        [network]
        allow = ["ok.example",
                 "*bad.example"]
        deny = ["10.0.0.1/33"]
        """)
    with pytest.raises(PolicyError) as err:
        load_policy(layers)
    text = str(err.value)
    assert "'*bad.example'" in text and "'10.0.0.1/33'" in text
    assert "user.toml:2" in text and "user.toml:4" in text  # the line of the key


def test_check_layer_denies_a_cidr_block_and_matches_hosts_as_the_proxy_does(tmp_path) -> None:
    policy = load_policy(_policy(tmp_path, """\
        [network]
        deny = ["10.0.0.0/8", "Tracker.Example"]
        """))
    engine = Engine(policy, load_packs())
    ctx = CheckContext(cwd=str(tmp_path), workspace=str(tmp_path))
    from warden.action import Action, ActionKind

    def check(cmd: str) -> tuple[Verdict, set[str]]:
        d = engine.check(Action(tool="Bash", kind=ActionKind.SHELL, command=cmd), ctx)
        return d.verdict, set(d.rules)

    verdict, rules = check("curl -s http://10.20.30.40:8080/status")
    assert verdict is Verdict.DENY and "policy.host-denied" in rules
    verdict, rules = check("curl -s https://tracker.example./pixel.gif")
    assert verdict is Verdict.DENY and "policy.host-denied" in rules
    verdict, rules = check("curl -s http://11.0.0.1/")
    assert "policy.host-denied" not in rules
