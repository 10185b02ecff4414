"""The egress allowlist: which host:port a contained program may reach through the proxy (pure).

Patterns come from the policy's ``[network] egress`` list (plus ``allow`` minus loopback) and
``[network] deny``, in the syntax of :mod:`warden.hosts`, the one parser and matcher the check
layer shares. What is particular to the proxy:

* an allow pattern without a port admits only :data:`DEFAULT_PORTS` (80 and 443); a deny pattern
  without a port covers every port, and any deny match wins over every allow match;
* IP literals in a request are denied unless an address pattern lists them; the non-canonical
  spellings ``inet_aton`` accepts are refused outright (:func:`warden.hosts.normalize_host`). An
  IPv4-mapped IPv6 literal (``::ffff:127.0.0.1``) is an IPv6 address: only an IPv6 pattern
  covering it allows it.

After the proxy resolves an allowed *name*, :meth:`EgressPolicy.check_address` checks every address:
loopback, link-local (169.254.169.254 is the cloud metadata service), unspecified, multicast,
private, reserved and otherwise non-global addresses are refused unless an address pattern lists
them, also when hidden inside IPv4-mapped, NAT64 (RFC 6052), 6to4 or Teredo IPv6 addresses. That is
the DNS-rebinding defence: an allowed name cannot be pointed at the host's own services.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from warden.errors import ConfigIssue, PolicyError
from warden.hosts import (
    AddressRule,
    HostError,
    HostRule,
    HostSet,
    IPAddress,
    embedded_ipv4,
    normalize_host,
    parse_ip_literal,
    parse_pattern,
)

# Re-exported: the proxy's HTTP parser and tests take host handling from here.
__all__ = [
    "DEFAULT_PORTS",
    "EgressDecision",
    "EgressPolicy",
    "HostError",
    "IPAddress",
    "normalize_host",
    "parse_ip_literal",
]

#: Ports a host pattern without an explicit port allows: plain HTTP and HTTPS, nothing else.
DEFAULT_PORTS = frozenset({80, 443})
_PATTERN_SOURCE = "<network egress>"


@dataclass(frozen=True, slots=True)
class EgressDecision:
    """The verdict on one destination: ``rule`` is the pattern that decided, if one did."""

    allowed: bool
    reason: str
    rule: str | None = None


@functools.lru_cache(maxsize=4096)
def _special_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not an ordinary public destination, or None if it is one.

    Cached: ``ipaddress`` answers ``is_private`` and friends by walking lists of networks in
    Python (3 us per IPv4 address, 7 us per IPv6 one), and a program reaches few addresses.
    """
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


@dataclass(frozen=True)
class EgressPolicy:
    """A compiled allowlist; immutable and safe to share between threads."""

    allow: HostSet
    deny: HostSet

    @classmethod
    def from_patterns(cls, allow: Sequence[str], deny: Sequence[str] = ()) -> EgressPolicy:
        """Compile the patterns; every invalid one is reported in one :class:`PolicyError`."""
        issues: list[ConfigIssue] = []
        compiled: dict[str, list[HostRule | AddressRule]] = {"allow": [], "deny": []}
        for kind, patterns in (("allow", allow), ("deny", deny)):
            if isinstance(patterns, str):
                issues.append(ConfigIssue(_PATTERN_SOURCE, None, f"{kind}: a list, not a string"))
                continue
            for pattern in patterns:
                if not isinstance(pattern, str):
                    issues.append(ConfigIssue(_PATTERN_SOURCE, None, f"{kind}: {pattern!r}"))
                    continue
                try:
                    compiled[kind].append(parse_pattern(pattern))
                except HostError as exc:
                    issues.append(ConfigIssue(_PATTERN_SOURCE, None, f"{kind} {pattern!r}: {exc}"))
        if issues:
            raise PolicyError(issues)
        return cls(HostSet.build(compiled["allow"]), HostSet.build(compiled["deny"]))

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
        denied = self.deny.match_name(name, port, portless=None)
        if denied is not None:
            return EgressDecision(False, f"{name}:{port} matches deny rule", denied.pattern)
        allowed = self.allow.match_name(name, port, portless=DEFAULT_PORTS)
        if allowed is not None:
            return EgressDecision(True, f"{name}:{port} allowed", allowed.pattern)
        return EgressDecision(False, f"{name}:{port} is not in the egress allowlist")

    def _decide_literal(self, address: IPAddress, port: int) -> EgressDecision:
        denied = self._deny_address(address, port)
        if denied is not None:
            return denied
        allowed = self.allow.match_address(address, port, portless=DEFAULT_PORTS)
        if allowed is not None:
            return EgressDecision(True, f"{address} port {port} allowed", allowed.pattern)
        return EgressDecision(False, f"IP literal {address} port {port} is not listed")

    def _deny_address(self, address: IPAddress, port: int) -> EgressDecision | None:
        for candidate in (address, embedded_ipv4(address)):
            if candidate is None:
                continue
            denied = self.deny.match_address(candidate, port, portless=None)
            if denied is not None:
                return EgressDecision(False, f"{address} matches deny rule", denied.pattern)
        return None

    def check_address(self, host: str, addr: IPAddress, port: int) -> EgressDecision:
        """Check one address that an allowed ``host`` resolved to, before connecting to it."""
        denied = self._deny_address(addr, port)
        if denied is not None:
            return denied
        allowed = self.allow.match_address(addr, port, portless=DEFAULT_PORTS)
        if allowed is not None:
            return EgressDecision(True, f"{host} -> {addr} listed", allowed.pattern)
        for candidate in (addr, embedded_ipv4(addr)):
            kind = None if candidate is None else _special_kind(candidate)
            if kind is not None:
                return EgressDecision(
                    False, f"{host} resolved to {kind} address {addr}, which is not listed"
                )
        return EgressDecision(True, f"{host} -> {addr} is a public address")
