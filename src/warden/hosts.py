"""Host patterns and host names: one parser and one matcher for every layer (pure).

The check layer (``[network] allow``/``deny``: may an upload, push or raw connection go to this
host?) and the containment proxy (``[network] egress``: may this CONNECT go through?) read the
same pattern syntax and match it the same way; only what a pattern *without* a port admits
differs, and the caller says which (``portless``): the proxy admits 80 and 443 only
(:data:`warden.contain.egress.DEFAULT_PORTS`), the check layer any port, and a deny pattern
without a port covers every port everywhere.

Patterns, one string each:

* ``pypi.org``          the exact host;
* ``*.github.com``      any subdomain at any depth (``api.github.com``, ``a.b.github.com``), never
                        the apex ``github.com`` (list it separately);
* ``example.com:8443``  one port;
* ``10.1.2.3``, ``[::1]:8000``, ``::1``, ``192.168.0.0/16``, ``[fd00::/8]:443``: address patterns
  (IP literals and CIDR blocks).

Host names are normalised before matching (:func:`normalize_host`): lowercase, one trailing dot
removed, Unicode labels to their IDNA A-label (``xn--``). A label whose Unicode form maps onto
plain ASCII (fullwidth ``ｐｙｐｉ``) or whose ``xn--`` form does not round-trip is refused, so a
look-alike never equals the ASCII name it imitates; a host with any character outside letters,
digits, ``-`` and ``_`` (RFC 1123 plus the underscore some real hosts use) is refused.

IP literals: only the canonical forms count (``127.0.0.1``, ``[::1]``, ``::1``); the forms
``inet_aton`` also accepts (``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.1``) are refused
as names, as is any host whose last label is numeric: such a host is not a DNS name (RFC 3696
section 2), and refusing it leaves no parser disagreement between this check and whatever
connects. (The check layer first rewrites those spellings to dotted quads:
:func:`warden.check.shell.netloc.canonical_host`.)
"""

from __future__ import annotations

import encodings.idna
import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "MAX_HOST_LENGTH",
    "AddressRule",
    "HostError",
    "HostRule",
    "HostSet",
    "IPAddress",
    "embedded_ipv4",
    "host_set",
    "normalize_host",
    "parse_ip_literal",
    "parse_pattern",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: RFC 1035 section 2.3.4: a name is at most 253 characters in text form, a label at most 63.
MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
#: A last label made only of digits, or 0x-hex, is an inet_aton number, never a DNS name.
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
#: RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class HostError(ValueError):
    """A host string or pattern that is not a valid, canonical host name or IP literal."""


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


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
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


Ports = frozenset[int] | None  # None: every port


def _covers(ports: Ports, port: int | None, portless: Ports) -> bool:
    """Whether a rule with ``ports`` admits ``port``; ``portless`` is what a rule without a port
    admits (None: every port). An unknown ``port`` (None) is admitted by port-less rules only."""
    if ports is None:
        return portless is None or (port is not None and port in portless)
    return port is not None and port in ports


@dataclass(frozen=True, slots=True)
class HostRule:
    """A host-name pattern: ``name`` exactly, or any subdomain of it when ``wildcard``."""

    pattern: str
    name: str
    wildcard: bool
    ports: Ports


@dataclass(frozen=True, slots=True)
class AddressRule:
    """An IP literal or CIDR block pattern."""

    pattern: str
    network: _Network
    ports: Ports


def _split_port(text: str) -> tuple[str, Ports]:
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


def parse_pattern(pattern: str) -> HostRule | AddressRule:
    """Parse one pattern (syntax in the module docstring), or raise :class:`HostError`."""
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
        return AddressRule(pattern, network, ports)
    address = parse_ip_literal(host)
    if address is not None:
        return AddressRule(pattern, ipaddress.ip_network(address), ports)
    if host.startswith("["):
        raise HostError("brackets around a host name")
    if host.startswith("*."):
        return HostRule(pattern, normalize_host(host[2:]), True, ports)
    if "*" in host:
        raise HostError("'*' is only allowed as a whole first label ('*.example.com')")
    return HostRule(pattern, normalize_host(host), False, ports)


@dataclass(frozen=True)
class HostSet:
    """Compiled patterns, indexed by name; immutable and safe to share between threads."""

    exact: dict[str, tuple[HostRule, ...]] = field(default_factory=dict)
    wildcard: dict[str, tuple[HostRule, ...]] = field(default_factory=dict)
    addresses: tuple[AddressRule, ...] = ()

    @classmethod
    def build(cls, rules: Sequence[HostRule | AddressRule]) -> HostSet:
        exact: dict[str, tuple[HostRule, ...]] = {}
        wildcard: dict[str, tuple[HostRule, ...]] = {}
        addresses: list[AddressRule] = []
        for rule in rules:
            if isinstance(rule, AddressRule):
                addresses.append(rule)
            else:
                table = wildcard if rule.wildcard else exact
                table[rule.name] = (*table.get(rule.name, ()), rule)
        return cls(exact, wildcard, tuple(addresses))

    def match_name(self, name: str, port: int | None, *, portless: Ports) -> HostRule | None:
        """The first rule covering the normalised ``name`` on ``port``, if any."""
        for rule in self.exact.get(name, ()):
            if _covers(rule.ports, port, portless):
                return rule
        # Every proper parent suffix: "a.b.c" is tried against "*.b.c" and "*.c", never "*.a.b.c".
        dot = name.find(".")
        while dot >= 0:
            for rule in self.wildcard.get(name[dot + 1 :], ()):
                if _covers(rule.ports, port, portless):
                    return rule
            dot = name.find(".", dot + 1)
        return None

    def match_address(
        self, address: IPAddress, port: int | None, *, portless: Ports
    ) -> AddressRule | None:
        """The first address rule covering ``address`` on ``port``, if any."""
        for rule in self.addresses:
            same_family = address.version == rule.network.version
            if same_family and address in rule.network and _covers(rule.ports, port, portless):
                return rule
        return None

    def matches(self, host: str, port: int | None = None, *, portless: Ports = None) -> bool:
        """Whether ``host`` (a name or IP literal as written) is listed; an invalid host is not."""
        if not self.exact and not self.wildcard and not self.addresses:
            return False
        try:
            address = parse_ip_literal(host)
            if address is not None:
                return self.match_address(address, port, portless=portless) is not None
            name = normalize_host(host)
        except HostError:
            return False
        return self.match_name(name, port, portless=portless) is not None


@functools.lru_cache(maxsize=64)
def host_set(patterns: tuple[str, ...]) -> HostSet:
    """:class:`HostSet` of already validated ``patterns`` (cached: policies reuse the same lists).

    Raises :class:`HostError` for the first invalid pattern; policy loading reports every invalid
    one with its file and line before this is reached."""
    return HostSet.build([parse_pattern(p) for p in patterns])
