"""Remote shells and file transfer: ssh, scp, rsync, sftp, ftp, lftp, tftp, ssh-copy-id, ssh-keygen.

A transfer operand is remote when it reads ``host:path``/``user@host:path`` (no ``/`` before the
first ``:``), ``host::module`` or a ``scp://``/``rsync://``/``sftp://`` URL. The destination is
the last operand: a remote destination is an UPLOAD of the local sources, a remote source is a
FETCH into the local destination.
"""

from __future__ import annotations

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import STDIN_NAMES, Acc, Argv, Grammar, Handler, parse, port_of

__all__ = ["HANDLERS", "is_remote"]

_REMOTE_SCHEMES = ("ssh://", "scp://", "sftp://", "rsync://")


def is_remote(word: str) -> bool:
    """True for ``host:path``, ``user@host:path``, ``host::module`` and transfer URLs."""
    if word.lower().startswith(_REMOTE_SCHEMES):
        return True
    if "://" in word or word.startswith(("/", ".", "~", "$")):
        return False
    colon = word.find(":")
    if colon <= 0:
        return False
    slash = word.find("/")
    return not 0 <= slash < colon


def _ssh_options(acc: Acc, options: list[str]) -> bool:
    """Handle ``-o Key=Value``; return True when one of them runs local shell code."""
    local = False
    for option in options:
        cut = min((k for k in (option.find("="), option.find(" ")) if k >= 0), default=-1)
        key, value = (option[:cut], option[cut + 1 :].lstrip("= ")) if cut >= 0 else (option, "")
        lowered = key.strip().lower()
        if lowered in ("proxycommand", "localcommand", "knownhostscommand", "match"):
            if value and value.lower() != "none":
                acc.code(value)
                acc.mark("ssh.local-command", value)
                local = True
        elif lowered in ("identityfile", "userknownhostsfile", "certificatefile", "include"):
            acc.read(value)
        elif lowered in ("localforward", "remoteforward", "dynamicforward"):
            acc.mark("net.expose" if lowered == "remoteforward" else "net.tunnel",
                     f"{key}={value}")  # fmt: skip
        elif lowered == "stricthostkeychecking" and value.lower() in ("no", "off"):
            acc.mark("ssh.no-host-key-check")
    return local


def _transfer_common(acc: Acc, parsed_opts: list[tuple[str, str | None]]) -> int | None:
    """Handle the option set scp/sftp/rsync -e share with ssh; return the port if given."""
    port: int | None = None
    options: list[str] = []
    for opt, value in parsed_opts:
        if value is None:
            continue
        if opt in ("-i", "-F"):
            acc.read(value)
        elif opt == "-o":
            options.append(value)
        elif opt in ("-P", "-p", "--port"):
            port = port_of(value) or port
        elif opt == "-S":
            acc.run(value.split())
        elif opt == "-J":
            acc.link(NetDirection.CONNECT, value)
    _ssh_options(acc, options)
    return port


_SSH = Grammar("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B -P", posix=True)


def _ssh(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SSH)
    if parsed.operands:  # like ssh itself, parse options again after the destination
        again = parse(parsed.operands[1:], _SSH)
        parsed.opts.extend(again.opts)
        parsed.operands[1:] = again.operands
    acc = Acc()
    acc.read(*parsed.values("-i", "-F"))
    acc.write(*parsed.values("-E"))
    for opt in ("-L", "-R", "-D"):
        for spec in parsed.values(opt):  # -R: a port of the far side leads back in here
            acc.mark("net.expose" if opt == "-R" else "net.tunnel", f"{opt} {spec}")
    for jump in parsed.values("-J"):
        for hop in jump.split(","):
            acc.link(NetDirection.CONNECT, hop)
    forward = parsed.value("-W")
    if forward:
        acc.link(NetDirection.CONNECT, forward)
    local_code = _ssh_options(acc, parsed.values("-o"))
    operands = parsed.operands
    if not operands:
        return acc.build()
    destination, command = operands[0], operands[1:]
    port = port_of(parsed.value("-p"))
    user = parsed.value("-l")
    target = f"{user}@{destination}" if user and "@" not in destination else destination
    acc.link(NetDirection.CONNECT, target, port)
    if command:
        acc.code(" ".join(command))
        acc.remote = not local_code  # if local code is present too, analyse everything as local
    if parsed.has("-f"):
        acc.detached = True
        acc.mark("detach.ssh-background")
    acc.outputs_network = True
    return acc.build()


def _autossh(name: str, args: Argv) -> Effects:
    """``autossh [-M PORT] SSH-ARGS``: ssh, restarted whenever it drops."""
    rest = list(args)
    if rest[:1] == ["-M"] and len(rest) > 1:
        rest = rest[2:]
    elif rest[:1] and rest[0].startswith("-M"):
        rest = rest[1:]
    return _ssh("ssh", tuple(rest))


_SCP = Grammar("-c -F -i -J -l -o -P -S -X")


def _transfer(acc: Acc, operands: list[str], port: int | None, *, rsync: bool = False) -> None:
    if len(operands) < 2:
        for word in operands:
            if is_remote(word):
                acc.link(NetDirection.FETCH, word, port)
                acc.write(".")
        return
    sources, dest = operands[:-1], operands[-1]
    dest_remote = is_remote(dest)
    for source in sources:
        if is_remote(source):
            acc.link(NetDirection.FETCH, source, port)
        else:
            acc.file(FileOp.READ, source, recursive=True)
    if dest_remote:
        acc.link(NetDirection.UPLOAD, dest, port)
    elif rsync:  # rsync copies SRC into DEST/SRC, and the contents of `SRC/` into DEST
        local = [s if not s.endswith("/") else "." for s in sources if not is_remote(s)]
        acc.copy_into(dest, local or ["."], is_dir=True)
        if len(sources) == 1 and not sources[0].endswith("/") and not dest.endswith("/"):
            acc.write(dest)  # ... but one file copied to a DEST that is no directory is DEST
    else:  # scp -r SRC DEST: DEST/SRC when DEST is a directory (`DEST/` too: see _copy_like)
        local = [s for s in sources if not is_remote(s)]
        is_dir = True if len(sources) > 1 else None
        acc.copy_into(dest, local or ["."], is_dir=is_dir)


def _scp(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SCP)
    acc = Acc()
    port = _transfer_common(acc, parsed.opts)
    _transfer(acc, parsed.operands, port)
    return acc.build()


_RSYNC = Grammar(
    "-e -f -T -B --rsh --rsync-path --filter --exclude --include --exclude-from --include-from"
    " --files-from --temp-dir --partial-dir --backup-dir --suffix --chmod --chown --port"
    " --password-file --log-file --compare-dest --copy-dest --link-dest --bwlimit --timeout"
    " --contimeout --max-size --min-size --info --debug --out-format --usermap --groupmap"
    " --iconv --write-batch --read-batch --only-write-batch --block-size --modify-window -M"
    " --remote-option --outbuf --compress-choice --checksum-choice --max-delete --address"
    " --sockopts --log-file-format --early-input --stop-after --stop-at --skip-compress"
)


def _rsync(name: str, args: Argv) -> Effects:
    parsed = parse(args, _RSYNC)
    acc = Acc()
    for remote_shell in parsed.values("-e", "--rsh"):
        acc.code(remote_shell)
    for path in parsed.values("--rsync-path"):
        acc.mark("ssh.local-command", path)
    lists = parsed.values("--files-from")
    acc.names_on_stdin = not STDIN_NAMES.isdisjoint(lists)
    acc.names_files = tuple(f for f in lists if f not in STDIN_NAMES)
    acc.read(
        *(f for f in lists if f not in STDIN_NAMES),
        *parsed.values("--exclude-from", "--include-from", "--password-file", "--read-batch"),
    )
    acc.write(*parsed.values("--log-file", "--write-batch", "--only-write-batch"))
    operands = parsed.operands
    _transfer(acc, operands, port_of(parsed.value("--port")), rsync=True)
    deleting = any(opt.startswith("--delete") for opt, _ in parsed.opts)
    if deleting and len(operands) >= 2 and not is_remote(operands[-1]):
        acc.file(FileOp.DELETE, operands[-1], recursive=True)
    if parsed.has("--remove-source-files"):
        for source in operands[:-1]:
            if not is_remote(source):
                acc.file(FileOp.DELETE, source, recursive=True)
    return acc.build()


_SFTP = Grammar("-B -b -c -D -F -i -J -l -o -P -R -S -s -X")


def _sftp(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SFTP)
    acc = Acc()
    port = _transfer_common(acc, parsed.opts)
    acc.read(*[b for b in parsed.values("-b") if b != "-"])
    for operand in parsed.operands[:1]:
        acc.link(NetDirection.CONNECT, operand, port)
    if parsed.values("-b") == ["-"]:
        acc.mark("net.upload-stdin")
    return acc.build()


def _ftp_commands(acc: Acc, script: str, host: str | None) -> None:
    for command in script.replace(";", "\n").splitlines():
        words = command.split()
        if not words:
            continue
        verb = words[0].lower()
        if verb in ("put", "mput", "send", "append", "mirror") and len(words) > 1:
            reverse = verb == "mirror" and ("-R" in words or "--reverse" in words)
            if verb != "mirror" or reverse:
                acc.read(*[w for w in words[1:] if not w.startswith("-")][:1])
                acc.link(NetDirection.UPLOAD, host or "ftp")
            else:
                acc.link(NetDirection.FETCH, host or "ftp")
        elif verb in ("get", "mget", "recv", "pget") and len(words) > 1:
            acc.link(NetDirection.FETCH, host or "ftp")
        elif verb in ("open", "connect") and len(words) > 1:
            acc.link(NetDirection.CONNECT, words[-1])
        elif verb in ("!", "shell", "system") or verb.startswith("!"):
            acc.code(command.strip().lstrip("!").removeprefix("shell").strip())


_LFTP_OPTS = Grammar("-c -e -f -p -u --port --user")


def _lftp(name: str, args: Argv) -> Effects:
    parsed = parse(args, _LFTP_OPTS)
    acc = Acc()
    host = parsed.operands[0] if parsed.operands else None
    acc.link(NetDirection.CONNECT, host, port_of(parsed.value("-p", "--port")))
    for script in parsed.values("-c", "-e"):
        _ftp_commands(acc, script, host)
    acc.read(*parsed.values("-f"))
    return acc.build()


_FTP_OPTS = Grammar("-P -s -T -B -o -c -m -r -q")


def _ftp(name: str, args: Argv) -> Effects:
    parsed = parse(args, _FTP_OPTS)
    acc = Acc()
    operands = parsed.operands
    if operands:
        port = port_of(operands[1]) if len(operands) > 1 else port_of(parsed.value("-P"))
        acc.link(NetDirection.CONNECT, operands[0], port)
    acc.read(parsed.value("-s"))
    if name == "tftp":
        for script in parsed.values("-c"):
            _ftp_commands(acc, script, operands[0] if operands else None)
    return acc.build()


_SSH_COPY_ID_OPTS = Grammar("-i -p -o -F -t")


def _ssh_copy_id(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SSH_COPY_ID_OPTS)
    acc = Acc()
    acc.read(parsed.value("-i"))
    for host in parsed.operands[:1]:
        acc.link(NetDirection.UPLOAD, host, port_of(parsed.value("-p")))
        acc.mark("ssh.copy-id", host)
    return acc.build()


_KEYGEN = Grammar("-b -C -D -E -F -f -I -J -j -m -N -n -O -P -R -r -s -t -V -w -Y -Z -z -a -G -T")


def _ssh_keygen(name: str, args: Argv) -> Effects:
    parsed = parse(args, _KEYGEN)
    acc = Acc()
    path = parsed.value("-f")
    reading = parsed.has(
        "-y", "-l", "-e", "-i", "-B", "-F", "-R", "-H", "-L", "-Y", "-D", "-k", "-Q", "-c", "-p"
    )
    if path is None:
        if not reading:
            acc.mark("ssh.keygen", "")
        return acc.build()
    if reading:
        acc.read(path)
        if parsed.has("-R", "-H", "-p", "-c"):
            acc.write(path)
    else:
        acc.write(path)
        acc.write(path + ".pub")
        acc.mark("ssh.keygen", path)
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "ssh": _ssh,
    "autossh": _autossh,
    "dbclient": _ssh,
    "scp": _scp,
    "rsync": _rsync,
    "sftp": _sftp,
    "lftp": _lftp,
    "ftp": _ftp,
    "tftp": _ftp,
    "ssh-copy-id": _ssh_copy_id,
    "ssh-keygen": _ssh_keygen,
}
