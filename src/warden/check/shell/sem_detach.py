"""Detaching wrappers: what keeps running after the agent's command returns.

nohup, setsid, disown, daemonize, start-stop-daemon, screen, tmux, systemd-run, at/batch. Each
sets ``detached`` and a ``detach.*`` (or ``systemd.transient``/``at.schedule``) marker.
"""

from __future__ import annotations

from warden.check.facts import FileOp
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, Parsed, parse
from warden.check.shell.sem_wrap import wrapper

__all__ = ["HANDLERS"]


def _daemon_extra(acc: Acc, parsed: Parsed) -> bool:
    for opt, value in parsed.opts:
        if opt in ("-o", "-e", "-p", "-l") and value is not None:
            acc.write(value)
        elif opt == "-E" and value is not None:
            key, _, val = value.partition("=")
            acc.assign(key, val)
    return True


_START_STOP_DAEMON_OPTS = Grammar(
    "-x -a -n -p -u -c -g -d -r -N -P -k -s -R --exec --startas --name --pidfile --user"
    " --chuid --group --chdir --chroot --nicelevel --signal --retry --umask --output"
)


def _start_stop_daemon(name: str, args: Argv) -> Effects:
    words = list(args)
    tail: list[str] = []
    if "--" in words:
        index = words.index("--")
        words, tail = words[:index], words[index + 1 :]
    parsed = parse(
        words,
        _START_STOP_DAEMON_OPTS,
    )
    acc = Acc()
    if not parsed.has("-S", "--start"):
        return acc.build()
    program = parsed.value("-a", "--startas") or parsed.value("-x", "--exec")
    if program:
        acc.run([program, *tail])
    acc.detached = parsed.has("-b", "--background")
    acc.mark("detach.daemonize", program or "")
    return acc.build()


_SCREEN_OPTS = Grammar("-S -c -e -h -p -T -t -Logfile -x -r -R", posix=True)


def _screen(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    if "-X" in words:
        command = words[words.index("-X") + 1 :]
        if command[:1] == ["stuff"] and len(command) > 1:
            acc.code(command[1].replace("^M", "\n").rstrip("\n\r"))
        elif command[:1] in (["exec"], ["screen"]):
            acc.run(command[1:])
        return acc.build()
    parsed = parse(words, _SCREEN_OPTS)
    letters = "".join(opt[1:] for opt, _ in parsed.opts)
    if ("d" in letters or "D" in letters) and "m" in letters:
        acc.detached = True
        acc.mark("detach.screen")
    acc.read(parsed.value("-c"))
    acc.run(parsed.operands)
    return acc.build()


_TMUX_RUNNERS = frozenset(
    {
        "new-session",
        "new",
        "new-window",
        "neww",
        "split-window",
        "splitw",
        "respawn-pane",
        "respawnp",
        "respawn-window",
        "respawnw",
        "run-shell",
        "run",
        "pipe-pane",
        "pipep",
        "if-shell",
        "if",
    }
)
_TMUX_SUB = Grammar("-s -n -c -t -x -y -e -F -l -p -S -T")


_TMUX_OPTS = Grammar("-L -S -f -c -T", posix=True)
_TMUX_OPTS2 = Grammar("-t -N")


def _tmux(name: str, args: Argv) -> Effects:
    acc = Acc()
    outer = parse(args, _TMUX_OPTS)
    for code in outer.values("-c"):
        acc.code(code)
    acc.read(outer.value("-f"))
    words = outer.operands
    if not words:
        return acc.build()
    verb, rest = words[0], words[1:]
    if verb in _TMUX_RUNNERS:
        parsed = parse(rest, _TMUX_SUB)
        if parsed.has("-d") and verb in ("new-session", "new", "new-window", "neww"):
            acc.detached = True
            acc.mark("detach.tmux")
        if parsed.operands:
            acc.code(" ".join(parsed.operands))
    elif verb in ("send-keys", "send"):
        parsed = parse(rest, _TMUX_OPTS2)
        keys = [k for k in parsed.operands if k not in ("Enter", "C-m", "KPEnter")]
        if keys:
            acc.code(" ".join(keys))
    return acc.build()


_SYSTEMD_RUN = Grammar(
    "-u -p -E -M -H -G --unit --property --description --slice --setenv --uid --gid --nice"
    " --working-directory --machine --host --on-active --on-boot --on-startup --on-unit-active"
    " --on-unit-inactive --on-calendar --on-clock-change --timer-property --path-property"
    " --socket-property --service-type --send-sighup",
    posix=True,
)


def _systemd_run(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SYSTEMD_RUN)
    acc = Acc()
    timer = any(opt.startswith("--on-") for opt, _ in parsed.opts)
    acc.mark("systemd.transient", "timer" if timer else parsed.value("-u", "--unit") or "")
    acc.detached = not parsed.has("--scope", "--pty", "-t", "--wait", "-P", "--pipe")
    for value in parsed.values("-E", "--setenv"):
        key, _, val = value.partition("=")
        acc.assign(key, val)
    acc.run(parsed.operands)
    if parsed.has("-H", "--host"):
        acc.remote = True
    return acc.build()


_AT_OPTS = Grammar("-f -q -t")


def _at(name: str, args: Argv) -> Effects:
    parsed = parse(args, _AT_OPTS)
    acc = Acc()
    if name in ("atq", "atrm") or parsed.has("-l", "-d", "-r", "-c"):
        return acc.build()
    acc.mark("at.schedule", "")
    acc.detached = True
    script = parsed.value("-f")
    if script is None:
        acc.stdin_is_code = True
    else:
        acc.file(FileOp.EXEC, script)
    return acc.build()


def _disown(name: str, args: Argv) -> Effects:
    acc = Acc()
    acc.detached = True
    acc.mark("detach.disown")
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "nohup": wrapper("", marker="detach.nohup", detached=True),
    "setsid": wrapper("", marker="detach.setsid", detached=True),
    "disown": _disown,
    "daemonize": wrapper(
        "-c -e -E -l -o -p -u", marker="detach.daemonize", detached=True, extra=_daemon_extra
    ),
    "start-stop-daemon": _start_stop_daemon,
    "screen": _screen,
    "tmux": _tmux,
    "systemd-run": _systemd_run,
    "at": _at,
    "batch": _at,
    "atq": _at,
    "atrm": _at,
}
