"""The egress allowlist: which host:port a contained program may reach through the proxy (pure).

Patterns (one string each, from the policy's ``[network] egress`` list):

* ``pypi.org``          the exact host;
* ``*.github.com``      any subdomain at any depth (``api.github.com``, ``a.b.github.com``), never
                        the apex ``github.com`` (list it separately);
* ``example.com:8443``  a port; without one only :data:`DEFAULT_PORTS` (80 and 443) are allowed;
* ``10.1.2.3``, ``[::1]:8000``, ``::1``, ``192.168.0.0/16``, ``[fd00::/8]:443``: address patterns
  (IP literals and CIDR blocks).

Deny patterns have the same syntax; a deny pattern without a port covers every port, and any deny
match wins over every allow match.

Host names are normalised before matching: lowercase, one trailing dot removed, Unicode labels to
their IDNA A-label (``xn--``). A label whose Unicode form maps onto plain ASCII (fullwidth
``ｐｙｐｉ``) or whose ``xn--`` form does not round-trip is refused, so a look-alike never equals
the ASCII name it imitates; a host with any character outside letters, digits, ``-`` and ``_``
(RFC 1123 plus the underscore some real hosts use) is refused.

IP literals in a request are denied unless an address pattern lists them. Only the canonical forms
count: ``127.0.0.1`` and ``[::1]``; the forms ``inet_aton`` also accepts (``2130706433``,
``0x7f.1``, ``127.1``, ``0177.0.0.1``) are refused outright, as is any host whose last label is
numeric: such a host is not a DNS name (RFC 3696 section 2), and refusing it leaves no parser
disagreement between this check and whatever connects. An IPv4-mapped IPv6 literal
(``::ffff:127.0.0.1``) is an IPv6 address: only an IPv6 pattern covering it allows it.

After the proxy resolves an allowed *name*, :meth:`EgressPolicy.check_address` checks every address:
loopback, link-local (169.254.169.254 is the cloud metadata service), unspecified, multicast,
private, reserved and otherwise non-global addresses are refused unless an address pattern lists
them, also when hidden inside IPv4-mapped, NAT64 (RFC 6052), 6to4 or Teredo IPv6 addresses. That is
the DNS-rebinding defence: an allowed name cannot be pointed at the host's own services.
"""

from __future__ import annotations

import encodings.idna
import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from warden.errors import ConfigIssue, PolicyError

__all__ = [
    "DEFAULT_PORTS",
    "EgressDecision",
    "EgressPolicy",
    "HostError",
    "IPAddress",
    "normalize_host",
    "parse_ip_literal",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Ports a host pattern without an explicit port allows: plain HTTP and HTTPS, nothing else.
DEFAULT_PORTS = frozenset({80, 443})
#: RFC 1035 section 2.3.4: a name is at most 253 characters in text form, a label at most 63.
MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
#: A last label made only of digits, or 0x-hex, is an inet_aton number, never a DNS name.
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
#: RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_PATTERN_SOURCE = "<network egress>"


class HostError(ValueError):
    """A host string that is not a valid, canonical host name or IP literal."""


@dataclass(frozen=True, slots=True)
class EgressDecision:
    """The verdict on one destination: ``rule`` is the pattern that decided, if one did."""

    allowed: bool
    reason: str
    rule: str | None = None


@functools.lru_cache(maxsize=4096)
def normalize_host(host: str) -> str:
    """Return the canonical ASCII form of a host *name*, or raise :class:`HostError`.

    Does not accept IP literals; callers try :func:`parse_ip_literal` first. Pure, so cached: the
    proxy normalises the same few names on every request (errors are not cached, and cost more).
    """
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > MAX_HOST_LENGTH:
        raise HostError("empty or overlong host name")
    labels = []
    for label in name.split("."):
        if label.isascii():
            ascii_label = label.lower()
            if ascii_label.startswith("xn--"):
                _check_a_label(ascii_label)
        else:
            ascii_label = _to_a_label(label)
        if not _LABEL.match(ascii_label):
            raise HostError(f"invalid host name label {label!r}")
        labels.append(ascii_label)
    result = ".".join(labels)
    if len(result) > MAX_HOST_LENGTH:
        raise HostError("host name longer than 253 characters")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise HostError("numeric host is a non-canonical IP literal")
    return result


def _to_a_label(label: str) -> str:
    try:
        encoded = encodings.idna.ToASCII(label).decode("ascii")
    except UnicodeError as exc:
        raise HostError(f"host label {label!r} is not valid IDNA") from exc
    if not encoded.startswith("xn--"):
        # Nameprep folded it onto ASCII (fullwidth letters, ligatures): a look-alike, refused.
        raise HostError(f"host label {label!r} folds onto the ASCII label {encoded!r}")
    return encoded


def _check_a_label(label: str) -> None:
    try:
        encodings.idna.ToUnicode(label)
    except UnicodeError as exc:
        raise HostError(f"host label {label!r} is not a canonical IDNA A-label") from exc


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address if ``host`` is a canonical IP literal (``[v6]`` or bare), else None.

    Raises :class:`HostError` for a bracketed host that is not a plain IPv6 address (zone ids
    such as ``fe80::1%eth0`` included).
    """
    address: IPAddress
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise HostError(f"invalid IPv6 literal {host!r}") from exc
    elif ":" not in host and not host[-1:].isdigit():
        return None
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        raise HostError(f"IPv6 literal with a zone id {host!r}")
    return address


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo client), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _special_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not an ordinary public destination, or None if it is one."""
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    if not address.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True, slots=True)
class _HostRule:
    pattern: str
    name: str
    wildcard: bool
    ports: frozenset[int] | None  # None: DEFAULT_PORTS for allow, every port for deny

    def covers_port(self, port: int, *, deny: bool) -> bool:
        if self.ports is None:
            return deny or port in DEFAULT_PORTS
        return port in self.ports


@dataclass(frozen=True, slots=True)
class _AddressRule:
    pattern: str
    network: _Network
    ports: frozenset[int] | None

    def covers_port(self, port: int, *, deny: bool) -> bool:
        if self.ports is None:
            return deny or port in DEFAULT_PORTS
        return port in self.ports


_Rule = _HostRule | _AddressRule


def _split_port(text: str) -> tuple[str, frozenset[int] | None]:
    """Split ``host[:port]`` or ``[v6][:port]``; a bare IPv6 address (2+ colons) has no port."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise HostError("unclosed '['")
        rest = text[close + 1 :]
        if rest and not rest.startswith(":"):
            raise HostError("text after ']' is not a port")
        return text[: close + 1], _parse_port(rest[1:]) if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _parse_port(port)
    return text, None


def _parse_port(text: str) -> frozenset[int]:
    if not _PORT.match(text) or not 0 < int(text) < 65536:
        raise HostError(f"invalid port {text!r}")
    return frozenset({int(text)})


def _parse_rule(pattern: str) -> _Rule:
    text = pattern.strip()
    if not text or text != pattern:
        raise HostError("empty pattern or surrounding whitespace")
    host, ports = _split_port(text)
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "/" in bare:
        try:
            network = ipaddress.ip_network(bare, strict=True)
        except ValueError as exc:
            raise HostError(f"invalid CIDR block {bare!r}") from exc
        return _AddressRule(pattern, network, ports)
    address = parse_ip_literal(host)
    if address is not None:
        return _AddressRule(pattern, ipaddress.ip_network(address), ports)
    if host.startswith("["):
        raise HostError("brackets around a host name")
    if host.startswith("*."):
        return _HostRule(pattern, normalize_host(host[2:]), True, ports)
    if "*" in host:
        raise HostError("'*' is only allowed as a whole first label ('*.example.com')")
    return _HostRule(pattern, normalize_host(host), False, ports)


@dataclass(frozen=True)
class _RuleSet:
    exact: dict[str, tuple[_HostRule, ...]] = field(default_factory=dict)
    wildcard: dict[str, tuple[_HostRule, ...]] = field(default_factory=dict)
    addresses: tuple[_AddressRule, ...] = ()

    @classmethod
    def build(cls, rules: Sequence[_Rule]) -> _RuleSet:
        exact: dict[str, tuple[_HostRule, ...]] = {}
        wildcard: dict[str, tuple[_HostRule, ...]] = {}
        addresses: list[_AddressRule] = []
        for rule in rules:
            if isinstance(rule, _AddressRule):
                addresses.append(rule)
            else:
                table = wildcard if rule.wildcard else exact
                table[rule.name] = (*table.get(rule.name, ()), rule)
        return cls(exact, wildcard, tuple(addresses))

    def match_name(self, name: str, port: int, *, deny: bool) -> _HostRule | None:
        for rule in self.exact.get(name, ()):
            if rule.covers_port(port, deny=deny):
                return rule
        # Every proper parent suffix: "a.b.c" is tried against "*.b.c" and "*.c", never "*.a.b.c".
        dot = name.find(".")
        while dot >= 0:
            for rule in self.wildcard.get(name[dot + 1 :], ()):
                if rule.covers_port(port, deny=deny):
                    return rule
            dot = name.find(".", dot + 1)
        return None

    def match_address(self, address: IPAddress, port: int, *, deny: bool) -> _AddressRule | None:
        for rule in self.addresses:
            same_family = address.version == rule.network.version
            if same_family and address in rule.network and rule.covers_port(port, deny=deny):
                return rule
        return None


@dataclass(frozen=True)
class EgressPolicy:
    """A compiled allowlist; immutable and safe to share between threads."""

    allow: _RuleSet
    deny: _RuleSet

    @classmethod
    def from_patterns(cls, allow: Sequence[str], deny: Sequence[str] = ()) -> EgressPolicy:
        """Compile the patterns; every invalid one is reported in one :class:`PolicyError`."""
        issues: list[ConfigIssue] = []
        compiled: dict[str, list[_Rule]] = {"allow": [], "deny": []}
        for kind, patterns in (("allow", allow), ("deny", deny)):
            if isinstance(patterns, str):
                issues.append(ConfigIssue(_PATTERN_SOURCE, None, f"{kind}: a list, not a string"))
                continue
            for pattern in patterns:
                if not isinstance(pattern, str):
                    issues.append(ConfigIssue(_PATTERN_SOURCE, None, f"{kind}: {pattern!r}"))
                    continue
                try:
                    compiled[kind].append(_parse_rule(pattern))
                except HostError as exc:
                    issues.append(ConfigIssue(_PATTERN_SOURCE, None, f"{kind} {pattern!r}: {exc}"))
        if issues:
            raise PolicyError(issues)
        return cls(_RuleSet.build(compiled["allow"]), _RuleSet.build(compiled["deny"]))

    def decide(self, host: str, port: int) -> EgressDecision:
        """Decide a destination as the client named it (before any resolution). Never raises."""
        if not 0 < port < 65536:
            return EgressDecision(False, f"invalid port {port}")
        try:
            address = parse_ip_literal(host)
            if address is not None:
                return self._decide_literal(address, port)
            name = normalize_host(host)
        except HostError as exc:
            return EgressDecision(False, f"invalid host: {exc}")
        denied = self.deny.match_name(name, port, deny=True)
        if denied is not None:
            return EgressDecision(False, f"{name}:{port} matches deny rule", denied.pattern)
        allowed = self.allow.match_name(name, port, deny=False)
        if allowed is not None:
            return EgressDecision(True, f"{name}:{port} allowed", allowed.pattern)
        return EgressDecision(False, f"{name}:{port} is not in the egress allowlist")

    def _decide_literal(self, address: IPAddress, port: int) -> EgressDecision:
        denied = self._deny_address(address, port)
        if denied is not None:
            return denied
        allowed = self.allow.match_address(address, port, deny=False)
        if allowed is not None:
            return EgressDecision(True, f"{address} port {port} allowed", allowed.pattern)
        return EgressDecision(False, f"IP literal {address} port {port} is not listed")

    def _deny_address(self, address: IPAddress, port: int) -> EgressDecision | None:
        for candidate in (address, _embedded_ipv4(address)):
            if candidate is None:
                continue
            denied = self.deny.match_address(candidate, port, deny=True)
            if denied is not None:
                return EgressDecision(False, f"{address} matches deny rule", denied.pattern)
        return None

    def check_address(self, host: str, addr: IPAddress, port: int) -> EgressDecision:
        """Check one address that an allowed ``host`` resolved to, before connecting to it."""
        denied = self._deny_address(addr, port)
        if denied is not None:
            return denied
        allowed = self.allow.match_address(addr, port, deny=False)
        if allowed is not None:
            return EgressDecision(True, f"{host} -> {addr} listed", allowed.pattern)
        for candidate in (addr, _embedded_ipv4(addr)):
            kind = None if candidate is None else _special_kind(candidate)
            if kind is not None:
                return EgressDecision(
                    False, f"{host} resolved to {kind} address {addr}, which is not listed"
                )
        return EgressDecision(True, f"{host} -> {addr} is a public address")
