"""Network targets as written in commands, reduced to (host, port, scheme, url).

Accepts URLs (``https://u:p@host:8443/x``), scp/rsync remotes (``user@host:path``),
``host:port``, bare hosts and git remote names. Hosts are lower-cased, stripped of a trailing
dot, and numeric IPv4 spellings that resolvers accept (``0x7f000001``, ``2130706433``,
``0177.0.0.1``) are rewritten to dotted quads so that an allowlist cannot be dodged by spelling.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["canonical_host", "parse_target"]

_SCP = re.compile(r"^(?:[^@/\s]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?!//)(.*)$")
_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ssh": 22, "git": 9418, "ws": 80, "wss": 443}


def _ipv4_part(part: str) -> int | None:
    try:
        if part.lower().startswith("0x"):
            return int(part, 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part, 8)
        return int(part, 10)
    except ValueError:
        return None


#: An ASCII host name with a character that is in no IP literal and no numeric IPv4 spelling
#: (those hold only digits, ``.``, ``:``, the hex letters a-f and the ``x`` of ``0x``): it is
#: its own canonical form. :func:`ipaddress.ip_address` and the numeric test refuse it, and the
#: ``idna`` codec returns ASCII input as it is (or raises, which also keeps it), so the fast
#: path answers what the slow one would, without an exception per name.
_PLAIN_NAME = re.compile(r"[a-z0-9._-]*[g-wyz_-][a-z0-9._-]*")


def canonical_host(host: str) -> str:
    """Lower-case, no trailing dot, no brackets, numeric IPv4 forms as dotted quads."""
    h = host.strip().strip("[]").rstrip(".").lower()
    if not h or _PLAIN_NAME.fullmatch(h):
        return h
    import ipaddress  # here, not at the top: most hook processes see no host at all

    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        pass
    parts = h.split(".")
    if 1 <= len(parts) <= 4 and all(p and re.fullmatch(r"0x[0-9a-f]+|\d+", p) for p in parts):
        nums = [_ipv4_part(p) for p in parts]
        if all(n is not None for n in nums):
            vals = [n for n in nums if n is not None]
            last_bits = 8 * (5 - len(vals))
            if all(v < 256 for v in vals[:-1]) and vals[-1] < (1 << last_bits):
                value = 0
                for v in vals[:-1]:
                    value = (value << 8) | v
                value = (value << last_bits) | vals[-1]
                if value < (1 << 32):
                    return str(ipaddress.IPv4Address(value))
    try:
        return h.encode("idna").decode("ascii")
    except UnicodeError:
        return h


def parse_target(target: str, by: str = "") -> tuple[str, int | None, str, str]:
    """(host, port, scheme, url) for a target; git remote names get scheme ``git-remote``."""
    t = target.strip()
    if "://" in t:
        try:
            parts = urlsplit(t)
            port = parts.port
        except ValueError:
            return "", None, "", t
        scheme = parts.scheme.lower()
        host = canonical_host(parts.hostname or "")
        return host, port or _DEFAULT_PORTS.get(scheme), scheme, t
    if by == "git" and "@" not in t and ":" not in t:
        return "", None, "git-remote", t
    m = _HOSTPORT.match(t)
    if m:
        return canonical_host(m.group(1)), int(m.group(2)), "", t
    m = _SCP.match(t)
    if m and "/" not in m.group(1):
        return canonical_host(m.group(1)), 22, "ssh", t
    host = t.split("@")[-1].split("/")[0]
    return canonical_host(host), None, "", t
