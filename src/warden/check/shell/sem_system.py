"""System administration: processes, services, security controls, users, disks, scheduling.

kill/pkill/killall, systemctl/service/launchctl, audit/SELinux/AppArmor/firewall switches,
history and environment builtins, journal/log tools, kernel modules, user management, mkfs and
partitioning, mount, crontab, power.
"""

from __future__ import annotations

from warden.check.facts import FileOp
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, Parsed, parse

__all__ = ["HANDLERS"]

# --- processes --------------------------------------------------------------------------------


def _kill(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    if words[:1] in (["-l"], ["-L"], ["--list"], ["--table"]):
        return acc.build()
    if words and words[0] in ("-s", "-n", "--signal"):
        words = words[2:]
    elif len(words) > 1 and words[0].startswith("-") and words[0] != "--":
        words = words[1:]  # the signal: -9, -KILL, -SIGTERM; `kill -9 -1` leaves -1 a target
    if words[:1] == ["--"]:
        words = words[1:]
    if "-1" in words:
        acc.mark("process.kill-all")
    acc.mark("process.kill", " ".join(words))
    return acc.build()


_PKILL = Grammar(
    "-s -u -U -g -G -P -t -F --signal --euid --uid --pgroup --group --parent --terminal"
    " --pidfile --session --ns --nslist --older --younger --user --process-group"
)


_KILLALL = Grammar("-s -u -o -y -n --signal --user --older-than --younger-than --ns --context")


#: How warden's own long-running processes look to pkill and killall: the command lines (``-f``)
#: and the names (``comm``: the console script's name, or the interpreter's for ``python -m``).
_WARDEN_CMDLINES = (
    "/usr/bin/python3 /usr/local/bin/warden serve --hooks",
    "/home/dev/.venv/bin/python /home/dev/.venv/bin/warden mcp -- npx server",
    "python3 -m warden run -- claude",
)
_WARDEN_NAMES = ("warden", "python3", "python", "python3.11", "python3.12", "python3.13")


def _hits_warden(name: str, parsed: Parsed, pattern: str) -> bool:
    """Whether a pkill/killall of ``pattern`` also signals warden's own processes (a broad
    pattern such as ``python`` or ``pkill -f .``): the POSIX regex read by RE2, in linear time
    whatever the agent wrote; one RE2 cannot read (a back-reference) counts as broad."""
    if name == "killall" and not parsed.has("-r", "--regexp"):
        exact = parsed.has("-e", "--exact")
        return any(pattern == n or (not exact and n.startswith(pattern) and len(pattern) >= 15)
                   for n in _WARDEN_NAMES)  # fmt: skip
    import re2

    flags = "(?i)" if parsed.has("-i", "--ignore-case") else ""
    try:
        regex = re2.compile(flags + pattern)
    except re2.error:
        return True
    full = name != "killall" and parsed.has("-f", "--full")
    subjects = _WARDEN_CMDLINES if full else _WARDEN_NAMES
    exact = parsed.has("-x", "--exact")
    return any((regex.fullmatch if exact else regex.search)(s) for s in subjects)


def _pkill(name: str, args: Argv) -> Effects:
    words = [w for w in args if not (w.startswith("-") and w[1:].isdigit())]
    parsed = parse(words, _KILLALL if name == "killall" else _PKILL)
    acc = Acc()
    # `-P PID` / `--parent PID` signals PID's children: `pkill -P $PPID` stops the agent's
    # siblings under the process that started it (oversight.kill-parent reads the detail)
    targets = parsed.operands + parsed.values(
        "-u", "--user", "-U", "--uid", "--euid", "-P", "--parent"
    )
    acc.mark("process.kill", " ".join(targets))
    for pattern in parsed.operands:
        if _hits_warden(name, parsed, pattern):
            acc.mark("process.kill-broad", pattern)  # oversight.kill-broad
    return acc.build()


def _killall5(name: str, args: Argv) -> Effects:
    acc = Acc()
    acc.mark("process.kill-all")
    return acc.build()


# --- services ---------------------------------------------------------------------------------

_SYSTEMCTL = Grammar(
    "-H -M -t -p -P -s -n -o --host --machine --type --property --signal --lines --output --root"
    " --state --kill-whom --job-mode --what --timestamp --message --image --reboot-argument"
)
_STOP = frozenset({"stop", "kill", "freeze"})
_DISABLE = frozenset({"disable", "mask"})
_ENABLE = frozenset({"enable", "reenable", "link", "preset", "add-wants", "add-requires"})
_START = frozenset({"start", "restart", "reload-or-restart", "try-restart", "reload"})
_POWER = frozenset(
    {
        "poweroff",
        "reboot",
        "halt",
        "kexec",
        "suspend",
        "hibernate",
        "rescue",
        "emergency",
        "soft-reboot",
    }
)


def _systemctl(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SYSTEMCTL)
    acc = Acc()
    if not parsed.operands:
        return acc.build()
    verb, units = parsed.operands[0], parsed.operands[1:]
    for unit in units:
        if verb in _STOP or (verb in _DISABLE and parsed.has("--now")):
            acc.mark("service.stop", unit)
        if verb in _DISABLE:
            acc.mark("service.disable", unit)
        elif verb in _ENABLE:
            acc.mark("service.enable", unit)
            if "/" in unit:
                acc.read(unit)
        elif verb in _START:
            acc.mark("service.start", unit)
            if (
                "/" in unit
            ):  # starting a unit *file* installs it; restarting a known unit is routine
                acc.mark("service.enable", unit)
                acc.read(unit)
        elif verb in ("edit", "set-property", "revert"):
            acc.mark("service.edit", unit)
    if verb == "daemon-reload":
        acc.mark("service.daemon-reload")
    elif verb in _POWER:
        acc.mark("system.power", verb)
    elif verb == "isolate" and units:
        acc.mark("system.power", f"isolate {units[0]}")
    return acc.build()


def _service(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if len(words) >= 2:
        unit, verb = words[0], words[1]
        if verb in _STOP:
            acc.mark("service.stop", unit)
        elif verb in _START:
            acc.mark("service.start", unit)
    return acc.build()


def _launchctl(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if not words:
        return acc.build()
    verb, rest = words[0], words[1:]
    if verb in ("load", "bootstrap", "enable", "kickstart", "submit"):
        plists = [w for w in rest if w.endswith(".plist") or "/" in w] or rest[-1:]
        for plist in plists:
            acc.mark("service.enable", plist)
            if plist.endswith(".plist"):
                acc.read(plist)
        if verb == "submit" and "--" in args:
            acc.run(args[args.index("--") + 1 :])
    elif verb in ("unload", "bootout", "disable", "remove", "stop"):
        for target in rest[-1:]:
            acc.mark("service.disable" if verb != "stop" else "service.stop", target)
    return acc.build()


# --- security controls ------------------------------------------------------------------------


def _auditctl(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if (word == "-e" and following == "0") or word == "-D":
            acc.mark("audit.disable", " ".join(words))
            break
    return acc.build()


def _setenforce(name: str, args: Argv) -> Effects:
    acc = Acc()
    if args and args[0].lower() in ("0", "permissive"):
        acc.mark("security.selinux-off")
    return acc.build()


def _apparmor(name: str, args: Argv) -> Effects:
    acc = Acc()
    if name == "aa-teardown" or args or name in ("aa-disable", "aa-complain"):
        acc.mark("security.apparmor-off", " ".join(args) or name)
    return acc.build()


def _ufw(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if words and words[0] not in ("status", "show", "app", "version"):
        acc.mark("firewall.change", " ".join(words))
    return acc.build()


_IPTABLES_CHANGE = frozenset(
    {
        "-F",
        "--flush",
        "-X",
        "--delete-chain",
        "-Z",
        "--zero",
        "-P",
        "--policy",
        "-D",
        "--delete",
        "-A",
        "--append",
        "-I",
        "--insert",
        "-R",
        "--replace",
        "-N",
        "--new-chain",
        "-E",
        "--rename-chain",
    }
)


def _iptables(name: str, args: Argv) -> Effects:
    acc = Acc()
    if name.endswith("-restore") or any(w in _IPTABLES_CHANGE for w in args):
        acc.mark("firewall.change", " ".join(args))
    return acc.build()


def _nft(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    text = " ".join(words)
    changing = ("flush", "delete", "add", "insert", "replace", "destroy", "create")
    if "-f" in args or (words and words[0] in changing):
        acc.mark("firewall.change", text)
    return acc.build()


def _firewall_cmd(name: str, args: Argv) -> Effects:
    acc = Acc()
    if any(
        w.startswith(("--add", "--remove", "--set", "--panic", "--reload", "--change"))
        for w in args
    ):
        acc.mark("firewall.change", " ".join(args))
    return acc.build()


# --- shell state builtins ---------------------------------------------------------------------


def _history(name: str, args: Argv) -> Effects:
    acc = Acc()
    if any(w.startswith("-") and set(w[1:]) & set("cwd") for w in args):
        acc.mark("history.clear", "")
    return acc.build()


def _unset(name: str, args: Argv) -> Effects:
    acc = Acc()
    functions = "-f" in args
    for word in args:
        if word.startswith("-") or functions:
            continue
        acc.mark("env.unset", word)
        if word.startswith("HIST"):
            acc.mark("history.disable", word)
    return acc.build()


def _export(name: str, args: Argv) -> Effects:
    acc = Acc()
    for word in args:
        if word.startswith(("-", "+")):
            continue
        key, eq, value = word.partition("=")
        if eq and key.isidentifier():
            acc.assign(key, value)
    return acc.build()


def _set(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word == "+o" and following == "history":
            acc.mark("history.disable", "set +o history")
        elif word.startswith("+") and "H" in word[1:]:
            acc.mark("history.disable", word)
    return acc.build()


def _trap(name: str, args: Argv) -> Effects:
    """``trap CODE SIGNALS``: CODE runs later, on the signal or at exit."""
    acc = Acc()
    words = [w for w in args if w != "--"]
    if words and not words[0].startswith("-") and len(words) > 1 and words[0]:
        acc.code(words[0])
        acc.mark("shell.trap", " ".join(words[1:]))
    return acc.build()


# --- logs, modules, users ---------------------------------------------------------------------


def _journalctl(name: str, args: Argv) -> Effects:
    acc = Acc()
    if any(w.startswith(("--vacuum-", "--rotate", "--flush")) for w in args):
        acc.mark("log.vacuum", " ".join(args))
    return acc.build()


_LOGROTATE_OPTS = Grammar("-s -l -m --state --log --mail")


def _logrotate(name: str, args: Argv) -> Effects:
    acc = Acc()
    parsed = parse(args, _LOGROTATE_OPTS)
    acc.read(*parsed.operands)
    if parsed.has("-f", "--force"):
        acc.mark("log.vacuum", "logrotate -f")
    return acc.build()


_SYSCTL_OPTS = Grammar("-p -f --load --pattern")


def _sysctl(name: str, args: Argv) -> Effects:
    """``sysctl [-w] KEY=VALUE`` writes /proc/sys/KEY (dots or slashes as separators);
    ``sysctl KEY`` reads it; ``sysctl -p [FILE]`` / ``--system`` applies a settings file
    (read) to settings unknown here (a write of /proc/sys taken whole)."""
    acc = Acc()
    parsed = parse(args, _SYSCTL_OPTS)
    for operand in parsed.operands:
        key, eq, _ = operand.partition("=")
        path = "/proc/sys/" + key.strip().replace(".", "/").lstrip("/")
        if eq:
            acc.write(path)
        else:
            acc.read(path)
    if parsed.has("-p", "-f", "--load", "--system"):
        acc.read(*parsed.values("-p", "-f", "--load"))
        acc.file(FileOp.WRITE, "/proc/sys", recursive=True)
    return acc.build()


_MODULE_OPTS = Grammar("-C -d -S -o --config --dirname --set-version --options")


def _module(name: str, args: Argv) -> Effects:
    acc = Acc()
    parsed = parse(args, _MODULE_OPTS)
    operands = parsed.operands
    target = operands[0] if operands else ""
    if name == "insmod":
        acc.read(target)
    acc.mark("kernel.module", target)
    return acc.build()


def _user_change(name: str, args: Argv) -> Effects:
    acc = Acc()
    acc.mark("user.change", " ".join((name, *args)))
    if name in ("visudo", "vipw", "vigr"):
        acc.read("/etc/sudoers" if name == "visudo" else "/etc/passwd")
    return acc.build()


def _setcap(name: str, args: Argv) -> Effects:
    """``setcap CAPS FILE``: file capabilities are setuid by another name (cap_setuid+ep)."""
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if name == "getcap":
        acc.files_of(FileOp.LIST, words, recursive="-r" in args)
        return acc.build()
    for caps, path in zip(words[::2], words[1::2], strict=False):
        acc.file(FileOp.CHMOD, path)
        acc.mark("privilege.setcap", f"{caps} {path}")
    return acc.build()


# --- disks ------------------------------------------------------------------------------------


def _device_of(args: Argv) -> str:
    candidates = [w for w in args if not w.startswith("-") and ("/" in w or w.startswith("$"))]
    if candidates:
        return candidates[0]
    plain = [w for w in args if not w.startswith("-") and not w.isdigit()]
    return plain[-1] if plain else ""


def _format(name: str, args: Argv) -> Effects:
    acc = Acc()
    if name in ("fdisk", "sfdisk", "gdisk", "sgdisk", "parted") and (
        "-l" in args or "--list" in args or "print" in args or "-p" in args
    ):
        acc.files_of(FileOp.LIST, [w for w in args if w.startswith("/")])
        return acc.build()
    if name == "wipefs" and not any(w.startswith(("-a", "--all", "-o", "--offset")) for w in args):
        acc.files_of(FileOp.LIST, [w for w in args if w.startswith("/")])
        return acc.build()
    device = _device_of(args)
    acc.write(device)
    acc.mark("fs.format", device)
    return acc.build()


_MOUNT_OPTS = Grammar(
    "-t -o -O -L -U -T -N --types --options --source --target --fstab --namespace"
)


def _mount(name: str, args: Argv) -> Effects:
    acc = Acc()
    parsed = parse(
        args,
        _MOUNT_OPTS,
    )
    if name == "mount" and not parsed.operands and not parsed.has("-a", "--all"):
        return acc.build()
    detail = " ".join(parsed.operands)
    options = parsed.value("-o", "--options")
    if options:
        detail = f"{detail} -o {options}".strip()
    acc.mark("fs.mount", detail)
    return acc.build()


_CRONTAB_OPTS = Grammar("-u")


def _crontab(name: str, args: Argv) -> Effects:
    parsed = parse(args, _CRONTAB_OPTS)
    acc = Acc()
    if parsed.has("-e"):
        acc.mark("cron.edit", "")
    elif parsed.has("-r"):
        acc.mark("cron.remove", "")
    elif parsed.has("-l"):
        return acc.build()
    else:
        source = parsed.operands[0] if parsed.operands else "-"
        acc.mark("cron.install", source)
        if source != "-":
            acc.read(source)
    return acc.build()


def _power(name: str, args: Argv) -> Effects:
    acc = Acc()
    if "-c" not in args:
        acc.mark("system.power", " ".join((name, *args)))
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "sysctl": _sysctl,
    "kill": _kill,
    "pkill": _pkill,
    "killall": _pkill,
    "killall5": _killall5,
    "skill": _pkill,
    "systemctl": _systemctl,
    "service": _service,
    "launchctl": _launchctl,
    "auditctl": _auditctl,
    "setenforce": _setenforce,
    "aa-disable": _apparmor,
    "aa-teardown": _apparmor,
    "aa-complain": _apparmor,
    "ufw": _ufw,
    "iptables": _iptables,
    "ip6tables": _iptables,
    "iptables-restore": _iptables,
    "ip6tables-restore": _iptables,
    "iptables-legacy": _iptables,
    "iptables-nft": _iptables,
    "nft": _nft,
    "firewall-cmd": _firewall_cmd,
    "history": _history,
    "unset": _unset,
    "export": _export,
    "declare": _export,
    "typeset": _export,
    "local": _export,
    "readonly": _export,
    "set": _set,
    "trap": _trap,
    "journalctl": _journalctl,
    "logrotate": _logrotate,
    "insmod": _module,
    "modprobe": _module,
    "rmmod": _module,
    "useradd": _user_change,
    "adduser": _user_change,
    "usermod": _user_change,
    "userdel": _user_change,
    "deluser": _user_change,
    "groupadd": _user_change,
    "groupmod": _user_change,
    "gpasswd": _user_change,
    "passwd": _user_change,
    "chpasswd": _user_change,
    "newusers": _user_change,
    "visudo": _user_change,
    "chsh": _user_change,
    "chfn": _user_change,
    "setcap": _setcap,
    "getcap": _setcap,
    "vipw": _user_change,
    "vigr": _user_change,
    "mkfs": _format,
    "mke2fs": _format,
    "mkswap": _format,
    "wipefs": _format,
    "fdisk": _format,
    "sfdisk": _format,
    "cfdisk": _format,
    "gdisk": _format,
    "sgdisk": _format,
    "parted": _format,
    "blkdiscard": _format,
    "mount": _mount,
    "umount": _mount,
    "crontab": _crontab,
    "shutdown": _power,
    "reboot": _power,
    "poweroff": _power,
    "halt": _power,
}
