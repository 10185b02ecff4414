"""EgressPolicy: pattern parsing, matching, normalisation and the address checks (pure)."""

from __future__ import annotations

import ipaddress
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warden.contain.egress import EgressPolicy, normalize_host, parse_ip_literal
from warden.contain.tls import ClientHello, HelloStatus, first_bytes_refusal, parse_client_hello
from warden.errors import PolicyError

POLICY = EgressPolicy.from_patterns(
    [
        "pypi.org",
        "*.github.com",
        "example.com:8443",
        "10.1.2.3",
        "[::1]:8000",
        "192.168.0.0/16",
        "[fd00::/8]:443",
        "bücher.example",
    ],
    ["evil.github.com", "192.168.66.0/24"],
)


@pytest.mark.parametrize(
    ("host", "port", "rule"),
    [
        ("pypi.org", 443, "pypi.org"),
        ("pypi.org", 80, "pypi.org"),
        ("PyPI.ORG.", 443, "pypi.org"),
        ("api.github.com", 443, "*.github.com"),
        ("a.b.github.com", 80, "*.github.com"),
        ("example.com", 8443, "example.com:8443"),
        ("10.1.2.3", 443, "10.1.2.3"),
        ("::1", 8000, "[::1]:8000"),
        ("[::1]", 8000, "[::1]:8000"),
        ("192.168.200.1", 80, "192.168.0.0/16"),
        ("fd12::1", 443, "[fd00::/8]:443"),
        ("xn--bcher-kva.example", 443, "bücher.example"),
        ("bücher.example", 443, "bücher.example"),
    ],
)
def test_allowed(host: str, port: int, rule: str) -> None:
    decision = POLICY.decide(host, port)
    assert decision.allowed, decision
    assert decision.rule == rule


@pytest.mark.parametrize(
    ("host", "port", "why"),
    [
        ("pypi.org", 22, "not in the egress allowlist"),  # no port: only 80 and 443
        ("github.com", 443, "not in the egress allowlist"),  # wildcard never matches the apex
        ("evilgithub.com", 443, "not in the egress allowlist"),
        ("evil.github.com", 443, "matches deny rule"),
        ("evil.github.com", 9999, "matches deny rule"),
        ("example.com", 443, "not in the egress allowlist"),
        ("10.1.2.3", 8080, "is not listed"),
        ("10.1.2.4", 443, "is not listed"),
        ("192.168.66.5", 443, "matches deny rule"),
        ("::ffff:10.1.2.3", 443, "is not listed"),  # mapped v6 is not the v4 pattern
        ("2130706433", 80, "non-canonical"),
        ("0x7f000001", 80, "non-canonical"),
        ("0x7f.1", 80, "non-canonical"),
        ("127.1", 80, "non-canonical"),
        ("010.1.2.3", 443, "non-canonical"),
        ("pypi.org..", 443, "invalid host"),
        ("pyp\u0456.org", 443, "not in the egress allowlist"),  # Cyrillic і: xn--, not pypi
        ("ｐｙｐｉ.org", 443, "folds onto the ASCII label"),  # fullwidth look-alike
        ("xn--pypi-.org", 443, "not a canonical IDNA A-label"),
        ("pypi.org\x00.evil", 443, "invalid host"),
        ("pypi.org/evil", 443, "invalid host"),
        ("pypi.org evil", 443, "invalid host"),
        ("-pypi.org", 443, "invalid host"),
        ("", 443, "invalid host"),
        ("a" * 64 + ".org", 443, "invalid host"),
        ("[fe80::1%eth0]", 80, "zone id"),
        ("pypi.org", 0, "invalid port"),
        ("pypi.org", 70000, "invalid port"),
    ],
)
def test_denied(host: str, port: int, why: str) -> None:
    decision = POLICY.decide(host, port)
    assert not decision.allowed, decision
    assert why in decision.reason


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "private"),
        ("64:ff9b::7f00:1", "address"),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::1", "address"),  # 6to4 of 127.0.0.1
    ],
)
def test_resolved_internal_addresses_are_refused(address: str, kind: str) -> None:
    decision = POLICY.check_address("pypi.org", ipaddress.ip_address(address), 443)
    assert not decision.allowed
    assert kind in decision.reason


def test_resolved_addresses_listed_or_public_are_allowed() -> None:
    policy = EgressPolicy.from_patterns(["app.test:8080", "127.0.0.1:8080"], ["203.0.113.0/24"])
    check = policy.check_address
    assert check("app.test", ipaddress.ip_address("127.0.0.1"), 8080).rule == "127.0.0.1:8080"
    assert not check("app.test", ipaddress.ip_address("127.0.0.1"), 9090).allowed
    assert check("app.test", ipaddress.ip_address("93.184.215.14"), 8080).allowed
    assert check("app.test", ipaddress.ip_address("2606:4700::1111"), 8080).allowed
    assert not check("app.test", ipaddress.ip_address("203.0.113.9"), 8080).allowed


def test_invalid_patterns_are_all_reported_at_once() -> None:
    bad = ["*", "a b", "x.com:0", "x.com:99999", "*.", "foo*.com", "[::1", "1.2.3.4/8", "[x.com]"]
    with pytest.raises(PolicyError) as info:
        EgressPolicy.from_patterns(bad, ["ok.com", "bad host"])
    assert len(info.value.issues) == len(bad) + 1


def test_default_policy_network_list_compiles() -> None:
    import tomllib
    from importlib.resources import files

    text = files("warden.check.policy").joinpath("default.toml").read_text()
    allow = tomllib.loads(text)["network"]["allow"]
    policy = EgressPolicy.from_patterns(allow)
    assert policy.decide("api.github.com", 443).allowed
    assert not policy.decide("github.com.evil.com", 443).allowed


def test_normalisation_helpers() -> None:
    assert normalize_host("Example.COM.") == "example.com"
    assert parse_ip_literal("[::1]") == ipaddress.ip_address("::1")
    assert parse_ip_literal("example.com") is None
    assert parse_ip_literal("1.2.3.4") == ipaddress.ip_address("1.2.3.4")


# -- properties ----------------------------------------------------------------------------------

_LABEL_CHARS = string.ascii_letters + string.digits + "-_"
labels = st.text(_LABEL_CHARS, min_size=1, max_size=12)
hosts = st.one_of(
    st.lists(labels, min_size=1, max_size=5).map(".".join),
    st.text(max_size=40),  # anything at all, including unicode and control characters
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
ports = st.integers(min_value=-5, max_value=70000)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(hosts, ports, st.lists(hosts, max_size=4), st.lists(hosts, max_size=4))
def test_decide_never_raises_and_deny_wins(
    host: str, port: int, allow: list[str], deny: list[str]
) -> None:
    try:
        policy = EgressPolicy.from_patterns(allow, deny)
    except PolicyError:
        return
    decision = policy.decide(host, port)
    assert isinstance(decision.allowed, bool) and decision.reason
    # Denying the same host on top of any allowlist always refuses it.
    try:
        both = EgressPolicy.from_patterns([*allow, host], [*deny, host])
    except PolicyError:
        return
    assert not both.decide(host, port).allowed


@settings(max_examples=300)
@given(st.lists(labels, min_size=1, max_size=4).map(".".join), ports)
def test_wildcard_never_matches_its_apex(apex: str, port: int) -> None:
    try:
        policy = EgressPolicy.from_patterns([f"*.{apex}"])
    except PolicyError:
        return
    assert not policy.decide(apex, port).allowed
    assert not policy.decide(apex + ".", port).allowed
    if port in (80, 443) and not policy.decide(f"sub.{apex}", port).reason.startswith("invalid"):
        assert policy.decide(f"sub.{apex}", port).allowed


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_client_hello_parser_never_raises(data: bytes) -> None:
    result = parse_client_hello(data)
    assert result.status in HelloStatus
    assert parse_client_hello(b"\x16\x03\x01" + data).status in HelloStatus


# -- the tunnel's first-bytes table (docs/containment.md, "CONNECT tunnels and TLS") ---------

_OK_SNI = ClientHello(HelloStatus.OK, sni="allowed.test")
_OK_OTHER = ClientHello(HelloStatus.OK, sni="evil.test")
_OK_NONE = ClientHello(HelloStatus.OK)
_ECH = ClientHello(HelloStatus.OK, sni="allowed.test", ech=True)
_BAD = ClientHello(HelloStatus.MALFORMED, detail="x")
_PLAIN = ClientHello(HelloStatus.NOT_TLS)
_WAIT = ClientHello(HelloStatus.NEED_MORE)


@pytest.mark.parametrize(
    ("hello", "strict", "has_data", "ended", "refused"),
    [
        (_OK_SNI, True, True, "", None),
        (_OK_SNI, False, True, "", None),
        (_OK_OTHER, True, True, "", "does not match"),
        (_OK_OTHER, False, True, "", "does not match"),
        (_OK_NONE, True, True, "", "without SNI"),
        (_OK_NONE, False, True, "", None),
        (_ECH, False, True, "", "Encrypted Client Hello"),
        (_BAD, False, True, "", "malformed"),
        (_PLAIN, True, True, "", "non-TLS"),
        (_PLAIN, False, True, "", None),
        (_WAIT, True, True, "the client closed", "incomplete"),
        (_WAIT, False, True, "no data within 10s", "incomplete"),
        (_WAIT, True, False, "no data within 10s", "no TLS ClientHello"),
        (_WAIT, False, False, "no data within 10s", None),  # server speaks first
        (_WAIT, True, False, "the client closed", None),  # nothing to forward anyway
    ],
)
def test_first_bytes_table(
    hello: ClientHello, strict: bool, has_data: bool, ended: str, refused: str | None
) -> None:
    reason = first_bytes_refusal(
        hello,
        "allowed.test",
        strict=strict,
        has_data=has_data,
        ended=ended,
        matches=lambda sni: sni == "allowed.test",
    )
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason
