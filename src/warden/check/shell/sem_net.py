"""HTTP clients and raw network tools: curl, wget, nc/ncat/netcat, socat, telnet.

ssh and the file-transfer tools live in :mod:`warden.check.shell.sem_remote`; DNS tools, ping
and scanners in :mod:`warden.check.shell.sem_probe`.
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
    is_stdout,
    parse,
    port_of,
)

__all__ = ["HANDLERS"]

# --- curl -------------------------------------------------------------------------------------

_CURL = Grammar(
    "-o -d -F -T -X -H -u -A -e -b -c -K -x -m -r -w -D -E -C -Y -y -z -t -U -P -Q"
    " --output --data --data-ascii --data-binary --data-raw --data-urlencode --json --form"
    " --form-string --upload-file --request --header --user --user-agent --referer --cookie"
    " --cookie-jar --config --proxy --url --max-time --connect-timeout --range --write-out"
    " --dump-header --cacert --cert --key --continue-at --retry --retry-delay --retry-max-time"
    " --speed-limit --speed-time --time-cond --resolve --connect-to --interface --limit-rate"
    " --max-filesize --output-dir --quote --proto --proto-redir --telnet-option --unix-socket"
    " --abstract-unix-socket --netrc-file --trace --trace-ascii --stderr --ciphers"
    " --pinnedpubkey --preproxy --proxy-user --capath --crlfile --hsts --alt-svc --etag-save"
    " --etag-compare --variable --mail-from --mail-rcpt --oauth2-bearer --aws-sigv4"
    " --local-port --dns-servers --doh-url --max-redirs --expect100-timeout --keepalive-time"
    " --tls-max --tlsuser --tlspassword --login-options --socks4 --socks4a --socks5"
    " --socks5-hostname --ftp-port --cert-type --key-type --pass --proxy-header --request-target"
    " --happy-eyeballs-timeout-ms --sasl-authzid --service-name --krb --delegation"
    " --create-file-mode --libcurl --url-query --noproxy --curves --engine --ftp-account"
    " --ftp-method --proxy-cacert --proxy-cert --proxy-key --proxy-ciphers --mail-auth"
    " --trace-config --ipfs-gateway --haproxy-clientip --proxy-service-name --dns-interface"
    " --dns-ipv4-addr --dns-ipv6-addr --random-file --egd-file --tls13-ciphers"
    " --proxy-pinnedpubkey --ssl-sessions --proxy-capath --proxy-crlfile --proxy-pass"
)
_CURL_DATA = frozenset(
    {"-d", "--data", "--data-ascii", "--data-binary", "--data-raw", "--data-urlencode", "--json"}
)
_CURL_FORM = frozenset({"-F", "--form", "--form-string"})
_CURL_SENDING_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _data_file(acc: Acc, opt: str, value: str) -> None:
    """The file a curl ``-d``/``-F``/``--data-urlencode`` value reads, if any."""
    if opt in ("--data-raw", "--form-string"):
        return
    if opt in _CURL_FORM:
        content = value.partition("=")[2]
        source = content[1:] if content[:1] in ("@", "<") else None
        if source is not None:
            source = source.partition(";")[0]
    elif opt == "--data-urlencode":
        name, at, path = value.partition("@")
        source = path if at and "=" not in name else None
    else:
        source = value[1:] if value.startswith("@") else None
    if source in ("-", ""):
        acc.mark("net.upload-stdin")
    elif source is not None:
        acc.read(source)


def _url_name(url: str) -> str:
    path = url.partition("://")[2].partition("?")[0].partition("#")[0]
    _, slash, tail = path.partition("/")
    return tail.rpartition("/")[2] if slash and tail.rpartition("/")[2] else "index.html"


def _curl(name: str, args: Argv) -> Effects:
    parsed = parse(args, _CURL)
    acc = Acc()
    urls = parsed.operands + parsed.values("--url")
    sending = False
    for opt, value in parsed.opts:
        if value is None:
            continue
        if opt in _CURL_DATA or opt in _CURL_FORM:
            sending = True
            _data_file(acc, opt, value)
        elif opt in ("-T", "--upload-file"):
            sending = True
            if value in ("-", "."):
                acc.mark("net.upload-stdin")
            else:
                acc.read(value)
        elif opt in ("-X", "--request") and value.upper() in _CURL_SENDING_METHODS:
            sending = True
        elif opt in (
            "-K",
            "--config",
            "--netrc-file",
            "--cacert",
            "--cert",
            "--key",
            "--capath",
            "--crlfile",
        ):
            acc.read(value)
            if opt in ("-K", "--config"):
                acc.mark("net.config-file", value)
        elif opt in ("-b", "--cookie") and "=" not in value:
            acc.read(value)
        elif opt in (
            "-c",
            "--cookie-jar",
            "-D",
            "--dump-header",
            "--trace",
            "--trace-ascii",
            "--stderr",
            "--libcurl",
            "--etag-save",
            "--hsts",
            "--alt-svc",
        ):
            if value != "-":
                acc.write(value)
        elif opt in ("--unix-socket", "--abstract-unix-socket"):
            acc.mark("net.unix-socket", value)
            if value.endswith("docker.sock"):
                acc.mark("container.escape", value)
    if parsed.has("-k", "--insecure", "--proxy-insecure"):
        acc.mark("net.insecure-tls")
    direction = NetDirection.UPLOAD if sending else NetDirection.FETCH
    for url in urls:
        if url.lower().startswith("file://"):
            acc.read(url[7:] if url[7:8] == "/" else url[7:].partition("/")[2])
            continue
        acc.link(direction, url)
    outputs = parsed.values("-o", "--output")
    out_dir = parsed.value("--output-dir")
    remote_names = parsed.has("-O", "--remote-name", "--remote-name-all")
    for index, url in enumerate(urls):
        target = outputs[index] if index < len(outputs) else None
        if target is None and remote_names:
            target = _url_name(url)
        if target is None or is_stdout(target):
            acc.outputs_network = True
        else:
            acc.write(f"{out_dir}/{target}" if out_dir and not target.startswith("/") else target)
    if not urls and outputs:
        acc.write(*[o for o in outputs if o != "-"])
    return acc.build()


# --- wget -------------------------------------------------------------------------------------

_WGET = Grammar(
    "-O -o -a -P -i -e -U -t -T -w -l -A -R -D -B -Q -I -X --output-document --output-file"
    " --append-output --directory-prefix --input-file --execute --user-agent --tries --timeout"
    " --wait --level --accept --reject --domains --base --quota --include-directories"
    " --exclude-directories --post-data --post-file --body-data --body-file --method --header"
    " --user --password --http-user --http-password --load-cookies --save-cookies"
    " --ca-certificate --certificate --private-key --bind-address --limit-rate --referer"
    " --use-askpass --config --rejected-log --warc-file --default-page"
)


def _wget(name: str, args: Argv) -> Effects:
    parsed = parse(args, _WGET)
    acc = Acc()
    sending = parsed.has("--post-data", "--post-file", "--body-data", "--body-file")
    method = parsed.value("--method")
    sending = sending or (method is not None and method.upper() in _CURL_SENDING_METHODS)
    acc.read(
        *parsed.values(
            "--post-file",
            "--body-file",
            "-i",
            "--input-file",
            "--config",
            "--load-cookies",
            "--ca-certificate",
            "--certificate",
            "--private-key",
        )
    )
    acc.write(*parsed.values("-o", "--output-file", "--save-cookies", "--rejected-log"))
    acc.files_of(FileOp.APPEND, parsed.values("-a", "--append-output"))
    for command in parsed.values("--use-askpass"):
        acc.run(command.split())
    if parsed.values("-e", "--execute"):
        acc.mark("net.config-file", " ".join(parsed.values("-e", "--execute")))
    direction = NetDirection.UPLOAD if sending else NetDirection.FETCH
    for url in parsed.operands:
        acc.link(direction, url)
    document = parsed.value("-O", "--output-document")
    prefix = parsed.value("-P", "--directory-prefix")
    if document is not None and is_stdout(document):
        acc.outputs_network = True
    elif document is not None:
        acc.write(document)
    elif parsed.has("-r", "--recursive", "-m", "--mirror"):
        acc.file(FileOp.WRITE, prefix or ".", recursive=True)
    else:
        for url in parsed.operands:
            leaf = _url_name(url if "://" in url else "http://" + url)
            acc.write(f"{prefix}/{leaf}" if prefix else leaf)
    if parsed.has("--no-check-certificate"):
        acc.mark("net.insecure-tls")
    return acc.build()


# --- netcat family ----------------------------------------------------------------------------

_NC = Grammar(
    "-e -c -p -s -w -i -q -x -X -I -O -T -V -W -M -m -o --exec --sh-exec --lua-exec --source"
    " --source-port --wait --idle-timeout --proxy --proxy-type --proxy-auth --output --hex-dump"
    " --max-conns --allow --allowfile --deny --denyfile"
)


def _nc(name: str, args: Argv) -> Effects:
    parsed = parse(args, _NC)
    acc = Acc()
    operands = parsed.operands
    listening = parsed.has("-l", "--listen")
    for opt, value in parsed.opts:
        if value is None:
            continue
        if opt in ("-e", "--exec"):
            acc.mark("net.exec-on-connect", value)
            acc.run(value.split())
        elif opt in ("-c", "--sh-exec"):
            acc.mark("net.exec-on-connect", value)
            acc.code(value)
        elif opt == "--lua-exec":
            acc.mark("net.exec-on-connect", value)
            acc.read(value)
        elif opt in ("-o", "--output"):
            acc.write(value)
    if parsed.has("-u", "--udp"):
        acc.mark("net.udp")
    if parsed.has("-z"):
        acc.mark("net.scan", "")
    port_flag = parsed.value("-p", "--source-port")
    if listening:
        port_text = port_flag or (operands[-1] if operands else "")
        acc.mark("net.listen", port_text)
        host = operands[0] if len(operands) > 1 else ANY_ADDRESS
        acc.link(NetDirection.LISTEN, host, port_of(port_text))
    elif operands:
        host = operands[0]
        port = port_of(operands[1]) if len(operands) > 1 else None
        acc.link(NetDirection.CONNECT, host, port)
    acc.outputs_network = True
    return acc.build()


# --- socat ------------------------------------------------------------------------------------

_SOCAT_CONNECT = (
    "TCP",
    "TCP4",
    "TCP6",
    "TCP-CONNECT",
    "OPENSSL",
    "OPENSSL-CONNECT",
    "SSL",
    "UDP",
    "UDP4",
    "UDP6",
    "UDP-CONNECT",
    "UDP-SENDTO",
    "SCTP",
    "SCTP-CONNECT",
    "SOCKS4",
    "SOCKS4A",
    "SOCKS5",
    "PROXY",
    "DCCP-CONNECT",
)
_SOCAT_LISTEN = (
    "TCP-LISTEN",
    "TCP4-LISTEN",
    "TCP6-LISTEN",
    "TCP-L",
    "UDP-LISTEN",
    "UDP4-LISTEN",
    "UDP-RECV",
    "UDP-RECVFROM",
    "OPENSSL-LISTEN",
    "SSL-L",
    "SCTP-LISTEN",
    "DCCP-LISTEN",
)
_SOCAT_FILES = (
    "OPEN",
    "CREATE",
    "CREAT",
    "FILE",
    "GOPEN",
    "PIPE",
    "UNIX-CONNECT",
    "UNIX-CLIENT",
    "UNIX-LISTEN",
    "UNIX-SENDTO",
)


def _socat_address(acc: Acc, address: str) -> str:
    """Record one socat address; return its kind: net, listen, exec or other."""
    kind, colon, rest = address.partition(":")
    upper = kind.upper()
    if not colon:
        return "other"
    spec = rest.partition(",")[0]
    if upper in _SOCAT_CONNECT:
        parts = spec.rsplit(":", 1)
        host = parts[0]
        port = port_of(parts[1]) if len(parts) > 1 else None
        if upper.startswith(("SOCKS", "PROXY")):
            fields = [*spec.split(":"), "", ""]
            host, port = fields[1] or fields[0], port_of(fields[2])
        acc.link(NetDirection.CONNECT, host, port)
        return "net"
    if upper in _SOCAT_LISTEN:
        acc.link(NetDirection.LISTEN, ANY_ADDRESS, port_of(spec))
        acc.mark("net.listen", spec)
        return "net"
    if upper == "EXEC":
        acc.code(spec)  # socat splits and execs it; shell parsing yields the same argv
        return "exec"
    if upper == "SYSTEM":
        acc.code(
            rest.rpartition(",")[0] if "," in rest and "=" in rest.rpartition(",")[2] else rest
        )
        return "exec"
    if upper in _SOCAT_FILES:
        acc.read(spec)
        if upper in ("CREATE", "CREAT", "OPEN", "FILE", "GOPEN"):
            acc.write(spec)
        if spec.endswith("docker.sock"):
            acc.mark("container.escape", spec)
    return "other"


def _socat(name: str, args: Argv) -> Effects:
    acc = Acc()
    addresses = [w for w in args if not w.startswith("-") or w == "-"][:2]
    kinds = [_socat_address(acc, address) for address in addresses]
    if "net" in kinds and "exec" in kinds:
        acc.mark(
            "net.exec-on-connect",
            next(a for a, k in zip(addresses, kinds, strict=True) if k == "exec"),
        )
    if "net" in kinds:
        acc.outputs_network = True
    return acc.build()


_TELNET_OPTS = Grammar("-b -e -l -n -k -X")


def _telnet(name: str, args: Argv) -> Effects:
    parsed = parse(args, _TELNET_OPTS)
    acc = Acc()
    if parsed.operands:
        port = port_of(parsed.operands[1]) if len(parsed.operands) > 1 else None
        acc.link(NetDirection.CONNECT, parsed.operands[0], port)
    acc.outputs_network = True
    return acc.build()


# --- tunnels and file drops -------------------------------------------------------------------

#: Programs that publish a local port on the internet or open a tunnel back in, and the
#: verbs that do it (``()``: any invocation that is not a help or version query).
_EXPOSERS: dict[str, tuple[str, ...]] = {
    "ngrok": ("http", "tcp", "tls", "start", "tunnel"),
    "cloudflared": ("tunnel",),
    "bore": ("local",),
    "lt": (),
    "localtunnel": (),
    "frpc": (),
    "zrok": ("share",),
    "tailscale": ("funnel", "serve"),
    "pinggy": (),
}
_QUERIES = frozenset({"-h", "--help", "help", "version", "--version", "-v", "login", "logout",
                      "status", "list", "info", "config", "authtoken", "diagnose"})  # fmt: skip


def _expose(name: str, args: Argv) -> Effects:
    """``ngrok http 8000``, ``cloudflared tunnel --url http://localhost:8000``, ``bore local
    8000 --to bore.pub``, ``lt --port 8000``, ``chisel client HOST R:...``: a port of this
    machine reachable from the internet, or a channel back in: ``net.expose``."""
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    verbs = _EXPOSERS.get(name, ())
    if name == "chisel":
        if words[:1] == ["client"] and any(w.startswith("R:") for w in words[2:]):
            acc.mark("net.expose", " ".join(args)[:200])
        elif words[:1] == ["client"]:
            acc.mark("net.tunnel", " ".join(args)[:200])
        if words[1:2]:
            acc.link(NetDirection.CONNECT, words[1])
    elif _QUERIES.isdisjoint(args[:1]) and (not verbs or (words[:1] and words[0] in verbs)) and (
        name != "cloudflared"  # `cloudflared tunnel list` and `create` publish nothing
        or bool({"--url", "run"} & set(args))
        or any(a.startswith("--url=") for a in args)
    ):
        acc.mark("net.expose", f"{name} {' '.join(args)}"[:200])
    return acc.build()


#: File-drop tools and the relay each sends through by default.
_DROPS = {"croc": "croc.schollz.com", "wormhole": "relay.magic-wormhole.io",
          "magic-wormhole": "relay.magic-wormhole.io"}  # fmt: skip


def _drop(name: str, args: Argv) -> Effects:
    """``croc send FILE``, ``wormhole send FILE``: the files leave through the tool's relay
    (``--relay``/``--transit-helper`` names another); ``receive`` fetches."""
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    options = ("--relay", "--transit-helper", "--relay-url")
    relay = next((args[k + 1] for k, w in enumerate(args[:-1]) if w in options), _DROPS[name])
    if words[:1] == ["send"]:
        acc.files_of(FileOp.READ, words[1:], recursive=True)
        acc.link(NetDirection.UPLOAD, relay)
    elif words[:1] in (["receive"], ["recv"]) or (name == "croc" and words and words[0] != "send"):
        acc.link(NetDirection.FETCH, relay)
    return acc.build()


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys((*_EXPOSERS, "chisel"), _expose),
    **dict.fromkeys(_DROPS, _drop),
    "curl": _curl,
    "wget": _wget,
    "wget2": _wget,
    "nc": _nc,
    "ncat": _nc,
    "netcat": _nc,
    "nc.traditional": _nc,
    "nc.openbsd": _nc,
    "socat": _socat,
    "telnet": _telnet,
}
