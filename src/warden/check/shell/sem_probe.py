"""Name lookups, reachability probes, scanners and ad-hoc servers.

dig/nslookup/host/drill/resolvectl/getent (RESOLVE, with a DNS-tunnelling heuristic), ping and
traceroute (CONNECT), nmap/masscan/zmap/rustscan (``net.scan``), http-server (``net.listen``),
tcpdump/tshark/dumpcap (``net.sniff``).
"""

from __future__ import annotations

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import (
    ANY_ADDRESS,
    Acc,
    Argv,
    Grammar,
    Handler,
    names,
    parse,
    port_of,
    split_host_port,
)

__all__ = ["HANDLERS", "check_dns_name", "listen_port"]

# --- DNS --------------------------------------------------------------------------------------

# DNS tunnelling tools (iodine, dnscat2, exfil one-liners) pack data into long labels and deep
# names. RFC 1035 allows 63-byte labels and 253-byte names; legitimate names rarely come close.
DNS_LONG_LABEL = 40
DNS_LONG_NAME = 100
DNS_MANY_LABELS = 8
_DNS_TYPES = names(
    "A AAAA MX TXT NS SOA CNAME PTR SRV ANY CAA DS DNSKEY NSEC TLSA HTTPS SVCB NAPTR AXFR IXFR"
    " SPF HINFO IN CH HS"
)


def check_dns_name(acc: Acc, name: str) -> None:
    """Flag names shaped like DNS-tunnelled data."""
    labels = name.rstrip(".").split(".")
    if (
        len(name) > DNS_LONG_NAME
        or len(labels) > DNS_MANY_LABELS
        or max(len(label) for label in labels) > DNS_LONG_LABEL
    ):
        acc.mark("net.dns-long-label", name)


def _resolve(acc: Acc, name: str) -> None:
    acc.link(NetDirection.RESOLVE, name)
    check_dns_name(acc, name)


_DIG = Grammar("-b -c -f -k -p -q -t -x -y")


def _dig(name: str, args: Argv) -> Effects:
    parsed = parse(args, _DIG)
    acc = Acc()
    acc.read(parsed.value("-f"), parsed.value("-k"))
    for query in parsed.values("-q", "-x"):
        _resolve(acc, query)
    for word in parsed.operands:
        if word.startswith("@"):
            acc.link(NetDirection.CONNECT, word[1:], port_of(parsed.value("-p")) or 53)
        elif not word.startswith("+") and word.upper() not in _DNS_TYPES:
            _resolve(acc, word)
    return acc.build()


_NSLOOKUP_OPTS = Grammar("-c -N -R -t -m -W")


def _nslookup(name: str, args: Argv) -> Effects:
    acc = Acc()
    operands = [w for w in args if not w.startswith("-")]
    if name == "host":
        parsed = parse(args, _NSLOOKUP_OPTS)
        operands = parsed.operands
    if operands:
        _resolve(acc, operands[0])
    if len(operands) > 1:
        acc.link(NetDirection.CONNECT, operands[1], 53)
    return acc.build()


_RESOLVECTL_OPTS = Grammar("-i -p -t -c --interface --protocol --type --class")


def _resolvectl(name: str, args: Argv) -> Effects:
    parsed = parse(args, _RESOLVECTL_OPTS)
    acc = Acc()
    if parsed.operands and parsed.operands[0] in ("query", "service", "openpgp", "tlsa"):
        for word in parsed.operands[1:]:
            _resolve(acc, word)
    return acc.build()


def _getent(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if words and words[0] in ("hosts", "ahosts", "ahostsv4", "ahostsv6"):
        for word in words[1:]:
            _resolve(acc, word)
    elif words and words[0] in ("shadow", "gshadow"):
        acc.read("/etc/" + words[0])
    return acc.build()


# --- ping / traceroute / scanners -------------------------------------------------------------

_PING = Grammar("-c -i -s -W -w -I -t -p -l -m -M -Q -S -T -F -z -N -g -P")


def _ping(name: str, args: Argv) -> Effects:
    parsed = parse(args, _PING)
    acc = Acc()
    for host in parsed.operands[:1]:
        acc.link(NetDirection.CONNECT, host)
        check_dns_name(acc, host)
    pattern = parsed.value("-p")
    if pattern is not None and name.startswith("ping"):
        acc.mark("net.ping-pattern", pattern)
    return acc.build()


_NMAP = Grammar(
    "-p -iL -iR -oN -oX -oG -oA -oS -e -S -D -g --script --script-args --exclude --excludefile"
    " --top-ports --max-rate --min-rate --source-port --data --data-string --data-length"
    " --ttl --spoof-mac --proxies --dns-servers --resume --stylesheet -T -sI -b"
)


def _nmap(name: str, args: Argv) -> Effects:
    words = args  # nmap spells options as multi-letter single-dash words: scan by hand
    acc = Acc()
    targets: list[str] = []
    i, n = 0, len(words)
    values = _NMAP.values | {
        "-a",
        "--addresses",
        "--ports",
        "-r",
        "--rate",
        "-i",
        "--interface",
        "-w",
        "--output-file",
        "-o",
        "-b",
        "--range",
        "--ulimit",
    }
    while i < n:
        word = words[i]
        i += 1
        if word in values:
            if i < n and word in ("-iL", "--excludefile"):
                acc.read(words[i])
            elif i < n and word.startswith("-o") and word != "-o":
                acc.write(words[i])
            elif i < n and word == "--script":
                for script in words[i].split(","):
                    if "/" in script or script.endswith(".nse"):
                        acc.file(FileOp.EXEC, script)
            elif i < n and word in ("-a", "--addresses"):
                targets.extend(words[i].split(","))
            i += 1
        elif word.startswith("-"):
            continue
        else:
            targets.append(word)
    acc.mark("net.scan", " ".join(targets))
    for target in targets:
        acc.link(NetDirection.CONNECT, target)
    return acc.build()


_HTTP_SERVER_OPTS = Grammar("-p -a --port --address")


def _http_server(name: str, args: Argv) -> Effects:
    acc = Acc()
    parsed = parse(args, _HTTP_SERVER_OPTS)
    port = parsed.value("-p", "--port") or "8080"
    acc.mark("net.listen", port)
    acc.link(NetDirection.LISTEN, parsed.value("-a", "--address") or ANY_ADDRESS, port_of(port))
    return acc.build()


_TCPDUMP = Grammar(
    "-i -w -r -z -Z -c -C -G -W -s -E -F -T -y -B -M -V -j --interface --snapshot-length"
    " --time-stamp-type --buffer-size -f --print-file"
)


def _tcpdump(name: str, args: Argv) -> Effects:
    """Packet capture: sniffing is sensitive; ``-z CMD`` runs a program on each saved file."""
    parsed = parse(args, _TCPDUMP)
    acc = Acc()
    acc.mark("net.sniff", parsed.value("-i", "--interface") or "")
    acc.write(*parsed.values("-w"))
    acc.read(*parsed.values("-r", "-F", "-V", "--print-file"))
    for command in parsed.values("-z"):
        acc.run([command])
    return acc.build()


def _arp_host(name: str, args: Argv) -> Effects:
    acc = Acc()
    host = next((w for w in args if not w.startswith("-")), None)
    acc.link(NetDirection.CONNECT, host)
    return acc.build()


def listen_port(acc: Acc, port: str, host: str = ANY_ADDRESS) -> None:
    """Record a listening socket (used by the interpreter handlers)."""
    acc.mark("net.listen", port)
    acc.link(NetDirection.LISTEN, host, port_of(port) or split_host_port(port)[1])


HANDLERS: dict[str, Handler] = {
    "dig": _dig,
    "drill": _dig,
    "nslookup": _nslookup,
    "host": _nslookup,
    "resolvectl": _resolvectl,
    "getent": _getent,
    "ping": _ping,
    "ping6": _ping,
    "traceroute": _ping,
    "traceroute6": _ping,
    "tracepath": _ping,
    "mtr": _ping,
    "arping": _arp_host,
    "nmap": _nmap,
    "masscan": _nmap,
    "zmap": _nmap,
    "rustscan": _nmap,
    "http-server": _http_server,
    "tcpdump": _tcpdump,
    "tshark": _tcpdump,
    "dumpcap": _tcpdump,
}
