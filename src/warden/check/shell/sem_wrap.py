"""Wrappers: programs that run another program (``nested``) or shell text (``shell_code``).

Privilege (sudo, doas, su, pkexec), environment (env), detachment (nohup, setsid, screen, tmux,
systemd-run, at), resource and timing wrappers (timeout, nice, xargs, ...), tracers (strace, gdb)
and namespace tools (chroot, unshare, nsenter). Wrappers stop option parsing at the first operand:
what follows is the wrapped argv, options and all.
"""

from __future__ import annotations

from collections.abc import Callable

from warden.check.facts import FileOp
from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, Parsed, parse

__all__ = ["HANDLERS", "split_assignments"]


def split_assignments(words: list[str] | Argv) -> tuple[list[tuple[str, str]], list[str]]:
    """Leading ``NAME=value`` words and the argv after them."""
    assignments: list[tuple[str, str]] = []
    index = 0
    for index, word in enumerate(words):  # noqa: B007 - index is used after the loop
        name, eq, value = word.partition("=")
        if not eq or not name.isidentifier():
            break
        assignments.append((name, value))
    else:
        index = len(words)
    return assignments, list(words[index:])


def _wrapper(
    values: str,
    *,
    skip: int = 0,
    marker: str | None = None,
    detached: bool = False,
    extra: Callable[[Acc, Parsed], bool] | None = None,
) -> Handler:
    """A wrapper whose command follows its options and ``skip`` fixed operands.

    ``extra`` may inspect the options; returning False means "no command is run" (``ionice -p``).
    """
    grammar = Grammar(values, posix=True)

    def handle(name: str, args: Argv) -> Effects:
        parsed = parse(args, grammar)
        acc = Acc()
        runs = extra(acc, parsed) if extra is not None else True
        if marker is not None:
            acc.mark(marker)
        acc.detached = detached
        if runs:
            acc.run(parsed.operands[skip:])
        return acc.build()

    return handle


# --- privilege --------------------------------------------------------------------------------

_SUDO = Grammar(
    "-u -g -C -D -h -p -r -t -U -T -R --user --group --close-from --chdir --host --prompt --role"
    " --type --other-user --command-timeout --chroot",
    posix=True,
)


def _root_shell(acc: Acc, user: str) -> None:
    acc.mark("privilege.root-shell", user)
    acc.stdin_is_code = True


def _sudo(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SUDO)
    acc = Acc()
    acc.privileged = True
    user = parsed.value("-u", "--user") or ""
    acc.mark("privilege.sudo", user)
    if parsed.has("-b", "--background"):
        acc.detached = True
    assignments, command = split_assignments(parsed.operands)
    for key, value in assignments:
        acc.assign(key, value)
    if name == "sudoedit" or parsed.has("-e", "--edit"):
        for path in command:
            acc.read(path)
            acc.write(path)
        return acc.build()
    if command:
        acc.run(command)
    elif parsed.has("-s", "--shell", "-i", "--login"):
        _root_shell(acc, user)
    return acc.build()


def _doas(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-u -C", posix=True))
    acc = Acc()
    acc.privileged = True
    user = parsed.value("-u") or ""
    acc.mark("privilege.sudo", user)
    if parsed.operands:
        acc.run(parsed.operands)
    elif parsed.has("-s"):
        _root_shell(acc, user)
    return acc.build()


_SU = Grammar("-c -s -g -G -w -C --command --shell --group --supp-group"
              " --whitelist-environment --session-command")


def _su(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SU)
    acc = Acc()
    acc.privileged = True
    users = [w for w in parsed.operands if w != "-"]
    user = users[0] if users else ""
    code = parsed.values("-c", "--command", "-C", "--session-command")
    if code:
        for text in code:
            acc.code(text)
        if user not in ("", "root"):
            acc.mark("privilege.sudo", user)
    else:
        _root_shell(acc, "" if user == "root" else user)
    return acc.build()


def _pkexec(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("--user", posix=True))
    acc = Acc()
    acc.privileged = True
    user = parsed.value("--user") or ""
    acc.mark("privilege.sudo", user)
    if parsed.operands:
        acc.run(parsed.operands)
    else:
        _root_shell(acc, user)
    return acc.build()


# --- environment ------------------------------------------------------------------------------


def _env(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            break
        if word in ("-i", "-", "--ignore-environment"):
            acc.mark("env.clear")
        elif word in ("-u", "--unset") and i < len(words):
            acc.mark("env.unset", words[i])
            i += 1
        elif word.startswith(("--unset=", "-u")) and len(word) > 2 and word != "-u":
            acc.mark("env.unset", word.partition("=")[2] if "=" in word else word[2:])
        elif word in ("-C", "--chdir") and i < len(words):
            i += 1
        elif word.startswith(("-S", "--split-string")):
            text = word.partition("=")[2] if "=" in word else word[2:]
            if not text and i < len(words):
                text, i = words[i], i + 1
            words[i:i] = text.split()
        elif word.startswith("-") and len(word) > 1:
            continue
        else:
            i -= 1
            break
    assignments, command = split_assignments(words[i:])
    for key, value in assignments:
        acc.assign(key, value)
    acc.run(command)
    return acc.build()


# --- detachment -------------------------------------------------------------------------------


def _daemon_extra(acc: Acc, parsed: Parsed) -> bool:
    for opt, value in parsed.opts:
        if opt in ("-o", "-e", "-p", "-l") and value is not None:
            acc.write(value)
        elif opt == "-E" and value is not None:
            key, _, val = value.partition("=")
            acc.assign(key, val)
    return True


def _start_stop_daemon(name: str, args: Argv) -> Effects:
    words = list(args)
    tail: list[str] = []
    if "--" in words:
        index = words.index("--")
        words, tail = words[:index], words[index + 1 :]
    parsed = parse(words, Grammar(
        "-x -a -n -p -u -c -g -d -r -N -P -k -s -R --exec --startas --name --pidfile --user"
        " --chuid --group --chdir --chroot --nicelevel --signal --retry --umask --output"
    ))
    acc = Acc()
    if not parsed.has("-S", "--start"):
        return acc.build()
    program = parsed.value("-a", "--startas") or parsed.value("-x", "--exec")
    if program:
        acc.run([program, *tail])
    acc.detached = parsed.has("-b", "--background")
    acc.mark("detach.daemonize", program or "")
    return acc.build()


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
    parsed = parse(words, Grammar("-S -c -e -h -p -T -t -Logfile -x -r -R", posix=True))
    letters = "".join(opt[1:] for opt, _ in parsed.opts)
    if ("d" in letters or "D" in letters) and "m" in letters:
        acc.detached = True
        acc.mark("detach.screen")
    acc.read(parsed.value("-c"))
    acc.run(parsed.operands)
    return acc.build()


_TMUX_RUNNERS = frozenset({"new-session", "new", "new-window", "neww", "split-window", "splitw",
                           "respawn-pane", "respawnp", "respawn-window", "respawnw", "run-shell",
                           "run", "pipe-pane", "pipep", "if-shell", "if"})
_TMUX_SUB = Grammar("-s -n -c -t -x -y -e -F -f -l -p -S -N -T -w")


def _tmux(name: str, args: Argv) -> Effects:
    acc = Acc()
    outer = parse(args, Grammar("-L -S -f -c -T", posix=True))
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
        parsed = parse(rest, Grammar("-t -N"))
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


def _at(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-f -q -t"))
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


# --- process wrappers -------------------------------------------------------------------------


def _command(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("", posix=True))
    acc = Acc()
    if name == "command" and parsed.has("-v", "-V"):
        return acc.build()
    acc.run(parsed.operands)
    return acc.build()


def _exec(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-a", posix=True))
    acc = Acc()
    acc.run(parsed.operands)
    return acc.build()


def _nice(name: str, args: Argv) -> Effects:
    words = list(args)
    if words and words[0][:1] == "-" and words[0][1:].lstrip("-").isdigit():
        words = words[1:]  # historical `nice -10 CMD`
    parsed = parse(words, Grammar("-n --adjustment", posix=True))
    acc = Acc()
    acc.run(parsed.operands)
    return acc.build()


_XARGS = Grammar(
    "-I -n -P -L -d -E -s -a --replace --max-args --max-procs --max-lines --delimiter --eof"
    " --max-chars --arg-file --process-slot-var",
    posix=True,
)


def _xargs(name: str, args: Argv) -> Effects:
    parsed = parse(args, _XARGS)
    acc = Acc()
    acc.read(*parsed.values("-a", "--arg-file"))
    acc.run(parsed.operands or ["echo"])
    return acc.build()


def _flock(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-w -E -c --timeout --conflict-exit-code --command", posix=True))
    acc = Acc()
    operands = parsed.operands
    if operands and not operands[0].isdigit():
        acc.write(operands[0])
    for code in parsed.values("-c", "--command"):
        acc.code(code)
    if len(operands) > 1:
        if operands[1] in ("-c", "--command") and len(operands) > 2:
            acc.code(operands[2])
        else:
            acc.run(operands[1:])
    return acc.build()


def _watch(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-n --interval --equexit", posix=True))
    acc = Acc()
    if parsed.has("-x", "--exec"):
        acc.run(parsed.operands)
    elif parsed.operands:
        acc.code(" ".join(parsed.operands))
    return acc.build()


_PARALLEL = Grammar(
    "-j -S -a -I -d -E -n -N -L --jobs --sshlogin --arg-file --joblog --results --delay"
    " --timeout --colsep --tmpdir --workdir --tagstring --retries --memfree --load",
    posix=True,
)


def _parallel(name: str, args: Argv) -> Effects:
    words = list(args)
    for separator in (":::", "::::", ":::+", "::::+"):
        if separator in words:
            words = words[: words.index(separator)]
    parsed = parse(words, _PARALLEL)
    acc = Acc()
    acc.read(*parsed.values("-a", "--arg-file"))
    if parsed.operands:
        acc.code(" ".join(parsed.operands))
    else:
        acc.stdin_is_code = True  # each input line is a command
    if parsed.has("-S", "--sshlogin"):
        acc.mark("net.remote-exec", parsed.value("-S", "--sshlogin") or "")
    return acc.build()


def _trace_extra(acc: Acc, parsed: Parsed) -> bool:
    pid = parsed.value("-p", "--attach")
    acc.write(parsed.value("-o", "--output"))
    if pid is not None:
        acc.mark("process.trace", pid)
        return False
    return True


def _time_extra(acc: Acc, parsed: Parsed) -> bool:
    acc.write(parsed.value("-o", "--output"))
    return True


def _gdb(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = list(args)
    operands: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        key, eq, value = word.lstrip("-").partition("=")
        needs = key in ("p", "pid", "ex", "eval-command", "x", "command", "iex", "ix", "cd", "d",
                        "directory", "s", "symbols", "c", "core", "se", "init-eval-command")
        if word.startswith("-") and needs and not eq and i < len(words):
            value, i = words[i], i + 1
        if key == "args":
            acc.run(words[i:])
            break
        if not word.startswith("-"):
            operands.append(word)
        elif key in ("p", "pid"):
            acc.mark("process.trace", value)
        elif key in ("ex", "eval-command", "iex", "init-eval-command"):
            command = value.strip()
            if command.startswith("!") or command.startswith("shell "):
                acc.code(command.removeprefix("!").removeprefix("shell "))
            if command.startswith(("!", "shell", "call", "python", "pipe", "|")):
                acc.mark("debugger.exec", command)
        elif key in ("x", "command", "ix"):
            acc.read(value)
    if len(operands) > 1 and operands[1].isdigit():
        acc.mark("process.trace", operands[1])
    return acc.build()


def _chroot(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("--userspec --groups", posix=True))
    acc = Acc()
    if parsed.operands:
        acc.mark("fs.chroot", parsed.operands[0])
    if len(parsed.operands) > 1:
        acc.run(parsed.operands[1:])
    elif parsed.operands:
        acc.stdin_is_code = True
    return acc.build()


def _unshare(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar(
        "-S -G -R -w --setuid --setgid --propagation --root --wd --map-user --map-group"
        " --map-users --map-groups --kill-child",
        posix=True,
    ))
    acc = Acc()
    acc.mark("namespace.unshare", " ".join(opt for opt, _ in parsed.opts))
    if parsed.has("-r", "--map-root-user"):
        acc.mark("privilege.userns-root")
    if parsed.operands:
        acc.run(parsed.operands)
    else:
        acc.stdin_is_code = True
    return acc.build()


def _nsenter(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-t -S -G --target --setuid --setgid", posix=True))
    acc = Acc()
    target = parsed.value("-t", "--target") or ""
    acc.mark("namespace.enter", target)
    if target == "1":
        acc.mark("container.escape", "nsenter -t 1")
    if parsed.operands:
        acc.run(parsed.operands)
    else:
        acc.stdin_is_code = True
    return acc.build()


def _busybox(name: str, args: Argv) -> Effects:
    acc = Acc()
    if args and not args[0].startswith("-"):
        acc.run(args)
    return acc.build()


def _script(name: str, args: Argv) -> Effects:
    parsed = parse(args, Grammar("-c -E -I -O -B -T -m --command --log-in --log-out --log-io"
                                 " --log-timing --echo --logging-format"))
    acc = Acc()
    for code in parsed.values("-c", "--command"):
        acc.code(code)
    acc.write(*parsed.operands[:1])
    acc.write(*parsed.values("-O", "--log-out", "-B", "--log-io", "-T", "--log-timing"))
    if not parsed.has("-c", "--command"):
        acc.stdin_is_code = True
    return acc.build()


def _eval(name: str, args: Argv) -> Effects:
    acc = Acc()
    if args:
        acc.code(" ".join(args))
    return acc.build()


def _disown(name: str, args: Argv) -> Effects:
    acc = Acc()
    acc.detached = True
    acc.mark("detach.disown")
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "sudo": _sudo,
    "sudoedit": _sudo,
    "doas": _doas,
    "su": _su,
    "pkexec": _pkexec,
    "env": _env,
    "nohup": _wrapper("", marker="detach.nohup", detached=True),
    "setsid": _wrapper("", marker="detach.setsid", detached=True),
    "disown": _disown,
    "daemonize": _wrapper("-a? -c -e -E -l -o -p -u", marker="detach.daemonize", detached=True,
                          extra=_daemon_extra),
    "start-stop-daemon": _start_stop_daemon,
    "screen": _screen,
    "tmux": _tmux,
    "systemd-run": _systemd_run,
    "at": _at,
    "batch": _at,
    "atq": _at,
    "atrm": _at,
    "timeout": _wrapper("-s -k --signal --kill-after", skip=1),
    "gtimeout": _wrapper("-s -k --signal --kill-after", skip=1),
    "nice": _nice,
    "renice": _wrapper("-n -g -p -u --priority --relative"),
    "ionice": _wrapper("-c -n -p -P -u --class --classdata --pid --pgid --uid",
                       extra=lambda acc, p: not p.has("-p", "-P", "-u", "--pid", "--pgid")),
    "stdbuf": _wrapper("-i -o -e --input --output --error"),
    "time": _wrapper("-f -o --format --output", extra=_time_extra),
    "chrt": _wrapper("-T -P -D --sched-runtime --sched-period --sched-deadline", skip=1,
                     extra=lambda acc, p: not p.has("-p", "--pid")),
    "taskset": _wrapper("", skip=1, extra=lambda acc, p: not p.has("-p", "--pid")),
    "unbuffer": _wrapper(""),
    "caffeinate": _wrapper("-t -w"),
    "command": _command,
    "builtin": _command,
    "exec": _exec,
    "xargs": _xargs,
    "flock": _flock,
    "watch": _watch,
    "parallel": _parallel,
    "strace": _wrapper("-o -e -p -s -u -a -b -E -I -P -S -X -O --output --attach --user",
                       extra=_trace_extra),
    "ltrace": _wrapper("-o -e -p -s -u -l -n -a -A -D -F --output", extra=_trace_extra),
    "gdb": _gdb,
    "chroot": _chroot,
    "unshare": _unshare,
    "nsenter": _nsenter,
    "busybox": _busybox,
    "toybox": _busybox,
    "script": _script,
    "eval": _eval,
    "firejail": _wrapper("--profile --private --net --whitelist --blacklist --name"),
    "proxychains": _wrapper("-f -q"),
    "proxychains4": _wrapper("-f -q"),
    "torsocks": _wrapper("-u -p -a -P"),
}
