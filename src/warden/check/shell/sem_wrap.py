"""Wrappers: programs that run another program (``nested``) or shell text (``shell_code``).

Privilege (sudo, doas, su, pkexec), environment (env), detachment (nohup, setsid, screen, tmux,
systemd-run, at), resource and timing wrappers (timeout, nice, xargs, ...), tracers (strace, gdb)
and namespace tools (chroot, unshare, nsenter). Wrappers stop option parsing at the first operand:
what follows is the wrapped argv, options and all.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from warden.check.shell.effects import Effects
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, Parsed, parse

__all__ = ["HANDLERS", "split_assignments", "wrapper"]


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


def wrapper(
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
    "-u -g -C -D -p -r -t -U -T -R --user --group --close-from --chdir --host --prompt --role"
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


_DOAS_OPTS = Grammar("-u -C", posix=True)


def _doas(name: str, args: Argv) -> Effects:
    parsed = parse(args, _DOAS_OPTS)
    acc = Acc()
    acc.privileged = True
    user = parsed.value("-u") or ""
    acc.mark("privilege.sudo", user)
    if parsed.operands:
        acc.run(parsed.operands)
    elif parsed.has("-s"):
        _root_shell(acc, user)
    return acc.build()


_SU = Grammar(
    "-c -s -g -G -w -C --command --shell --group --supp-group"
    " --whitelist-environment --session-command"
)


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


_PKEXEC_OPTS = Grammar("--user", posix=True)


def _pkexec(name: str, args: Argv) -> Effects:
    parsed = parse(args, _PKEXEC_OPTS)
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


# --- process wrappers -------------------------------------------------------------------------


_COMMAND_OPTS = Grammar("", posix=True)


def _command(name: str, args: Argv) -> Effects:
    parsed = parse(args, _COMMAND_OPTS)
    acc = Acc()
    if name == "command" and parsed.has("-v", "-V"):
        return acc.build()
    acc.run(parsed.operands)
    return acc.build()


_EXEC_OPTS = Grammar("-a", posix=True)


def _exec(name: str, args: Argv) -> Effects:
    parsed = parse(args, _EXEC_OPTS)
    acc = Acc()
    acc.run(parsed.operands)
    return acc.build()


_NICE_OPTS = Grammar("-n --adjustment", posix=True)


def _nice(name: str, args: Argv) -> Effects:
    words = list(args)
    if words and words[0][:1] == "-" and words[0][1:].lstrip("-").isdigit():
        words = words[1:]  # historical `nice -10 CMD`
    parsed = parse(words, _NICE_OPTS)
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
    lists = parsed.values("-a", "--arg-file")
    acc.read(*lists)
    acc.args_files = tuple(lists)
    if parsed.has("-0", "--null"):
        acc.args_delimiter = "\0"
    delimiter = parsed.value("-d", "--delimiter")
    if delimiter:
        acc.args_delimiter = _delimiter(delimiter)
    command = parsed.operands or ["echo"]
    replace = parsed.value("-I", "--replace") or ("{}" if parsed.has("-i") else None)
    if replace and replace != "{}":  # `xargs -I % cp % /tmp`: as `{}`, which the walker fills in
        command = [word.replace(replace, "{}") for word in command]
    acc.run(command)
    return acc.build()


def _delimiter(spelling: str) -> str:
    r"""The character ``xargs -d`` splits at: ``,``, ``'\n'``, ``'\t'``, ``'\x00'``, ``'\0'``."""
    if spelling.startswith("\\") and len(spelling) > 1:
        escape = spelling[1:]
        simple = {"n": "\n", "t": "\t", "0": "\0", "r": "\r", "\\": "\\"}
        if escape in simple:
            return simple[escape]
        try:
            if escape[0] == "x":
                return chr(int(escape[1:], 16))
            if escape.isdigit():
                return chr(int(escape, 8))
        except ValueError:
            pass
    return spelling[:1]


_FLOCK_OPTS = Grammar("-w -E -c --timeout --conflict-exit-code --command", posix=True)


def _flock(name: str, args: Argv) -> Effects:
    parsed = parse(args, _FLOCK_OPTS)
    acc = Acc()
    operands = parsed.operands
    if operands and not operands[0].isdigit():
        acc.read(operands[0])  # the lock file: opened (created if missing), never written
    for code in parsed.values("-c", "--command"):
        acc.code(code)
    if len(operands) > 1:
        if operands[1] in ("-c", "--command") and len(operands) > 2:
            acc.code(operands[2])
        else:
            acc.run(operands[1:])
    return acc.build()


_WATCH_OPTS = Grammar("-n --interval --equexit", posix=True)


def _watch(name: str, args: Argv) -> Effects:
    parsed = parse(args, _WATCH_OPTS)
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
    """GNU parallel runs its command (shell code) once per argument: the arguments after
    ``:::`` (filled in here), those on stdin or in ``-a``/``::::`` files (filled in by the
    walker, as for ``xargs -I``). An argument goes where ``{}`` (or ``{.}``, ``{/}``, ...)
    is, else at the end. Without a command, each argument is itself a command."""
    words = list(args)
    cut = next((i for i, w in enumerate(words) if w in _PARALLEL_SEPARATORS), len(words))
    words, sources = words[:cut], words[cut:]
    parsed = parse(words, _PARALLEL)
    acc = Acc()
    listed: list[str] = []
    lists = list(parsed.values("-a", "--arg-file"))
    kind = ""
    for word in sources:
        if word in _PARALLEL_SEPARATORS:
            kind = word
        elif kind.startswith("::::"):
            lists.append(word)
        else:
            listed.append(word)
    acc.read(*lists)
    listed = list(dict.fromkeys(listed))
    if len(listed) > MAX_PARALLEL_ARGS:  # an argument past the cap would go unseen
        acc.mark("analysis.incomplete", f"more than {MAX_PARALLEL_ARGS} arguments after :::")
    if parsed.has("-S", "--sshlogin"):
        acc.mark("net.remote-exec", parsed.value("-S", "--sshlogin") or "")
    if not parsed.operands:
        if listed:
            for word in listed[:MAX_PARALLEL_ARGS]:
                acc.code(word)
        acc.stdin_is_code = not listed and not lists  # each input line is a command
        return acc.build()
    template = _PARALLEL_SLOT.sub("{}", " ".join(parsed.operands))
    if "{}" not in template:
        template += " {}"
    if listed:
        for word in listed[:MAX_PARALLEL_ARGS]:
            acc.code(template.replace("{}", _shell_word(word)))
    else:
        acc.args_files = tuple(lists)
        acc.args_delimiter = "\n"
        acc.run(("sh", "-c", template))  # `{}` filled in with each line by the walker
    return acc.build()


_PARALLEL_SEPARATORS = frozenset({":::", "::::", ":::+", "::::+"})
#: Replacement strings of GNU parallel (``{}``, ``{.}``, ``{/}``, ``{//}``, ``{/.}``, ``{#}``,
#: ``{%}``, ``{1}``, ``{2.}`` ...), each analysed as the whole argument.
_PARALLEL_SLOT = re.compile(r"\{(?:\d*(?:\.|/|//|/\.)?|#|%)\}")
#: Distinct arguments after ``:::`` analysed, one command each; more make the analysis
#: incomplete (rare in a typed command: a long list comes from a file or a pipe).
MAX_PARALLEL_ARGS = 32


def _shell_word(word: str) -> str:
    """``word`` as one shell word (GNU parallel quotes each argument); a leading ``~`` kept
    unquoted so that the path still names the home directory."""
    if _PLAIN_WORD.fullmatch(word):
        return word
    return shlex.quote(word)


_PLAIN_WORD = re.compile(r"[\w@%+=:,./~-]+")


def _trace_extra(acc: Acc, parsed: Parsed) -> bool:
    pid = parsed.value("-p", "--attach")
    acc.write(parsed.value("-o", "--output"))
    if pid is not None:
        acc.mark("process.trace", pid)
        return False
    return True


#: valgrind's options naming a file it writes (always ``--opt=FILE``): its tools' reports.
_VALGRIND_FILES = (
    "--log-file", "--xml-file", "--massif-out-file", "--callgrind-out-file",
    "--cachegrind-out-file", "--dhat-out-file", "--xtree-memory-file", "--xtree-leak-file",
)  # fmt: skip


def _valgrind_extra(acc: Acc, parsed: Parsed) -> bool:
    acc.write(*parsed.values(*_VALGRIND_FILES))
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
        needs = key in (
            "p",
            "pid",
            "ex",
            "eval-command",
            "x",
            "command",
            "iex",
            "ix",
            "cd",
            "d",
            "directory",
            "s",
            "symbols",
            "c",
            "core",
            "se",
            "init-eval-command",
        )
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
            if command.startswith(("!", "shell ")):
                acc.code(command.removeprefix("!").removeprefix("shell "))
            if command.startswith(("!", "shell", "call", "python", "pipe", "|")):
                acc.mark("debugger.exec", command)
            if command.startswith(("python ", "py ", "python-interactive ")):
                acc.inline.append(("python", command.partition(" ")[2]))
        elif key in ("x", "command", "ix"):
            acc.read(value)
    if len(operands) > 1 and operands[1].isdigit():
        acc.mark("process.trace", operands[1])
    return acc.build()


_CHROOT_OPTS = Grammar("--userspec --groups", posix=True)


def _chroot(name: str, args: Argv) -> Effects:
    parsed = parse(args, _CHROOT_OPTS)
    acc = Acc()
    if parsed.operands:
        acc.mark("fs.chroot", parsed.operands[0])
    if len(parsed.operands) > 1:
        acc.run(parsed.operands[1:])
    elif parsed.operands:
        acc.stdin_is_code = True
    return acc.build()


_UNSHARE_OPTS = Grammar(
    "-S -G -R -w --setuid --setgid --propagation --root --wd --map-user --map-group"
    " --map-users --map-groups --kill-child",
    posix=True,
)


def _unshare(name: str, args: Argv) -> Effects:
    parsed = parse(
        args,
        _UNSHARE_OPTS,
    )
    acc = Acc()
    acc.mark("namespace.unshare", " ".join(opt for opt, _ in parsed.opts))
    if parsed.has("-r", "--map-root-user"):
        acc.mark("privilege.userns-root")
    if parsed.operands:
        acc.run(parsed.operands)
    else:
        acc.stdin_is_code = True
    return acc.build()


_NSENTER_OPTS = Grammar("-t -S -G --target --setuid --setgid", posix=True)


def _nsenter(name: str, args: Argv) -> Effects:
    parsed = parse(args, _NSENTER_OPTS)
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


_SCRIPT_OPTS = Grammar(
    "-c -E -I -O -B -T -m --command --log-in --log-out --log-io"
    " --log-timing --echo --logging-format"
)


def _script(name: str, args: Argv) -> Effects:
    parsed = parse(
        args,
        _SCRIPT_OPTS,
    )
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


def _alias(name: str, args: Argv) -> Effects:
    """``alias NAME=TEXT``: TEXT runs wherever NAME is later typed as a command (a script may
    turn expansion on: ``shopt -s expand_aliases``), so it is walked as the code it is,
    once, here: ``alias c='cat ~/.ssh/id_rsa'`` reads the key."""
    acc = Acc()
    for arg in args:
        _, equals, text = arg.partition("=")
        if equals and text.strip():
            acc.code(text)
    return acc.build()


def _setarch(name: str, args: Argv) -> Effects:
    """``setarch ARCH [OPTIONS] [PROGRAM [ARGS]]``: its options (all flags) come after the
    architecture."""
    words = list(args)[1:]
    while words and words[0].startswith("-"):
        if words.pop(0) == "--":
            break
    acc = Acc()
    acc.run(words)
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "alias": _alias,
    "sudo": _sudo,
    "sudoedit": _sudo,
    "doas": _doas,
    "su": _su,
    "pkexec": _pkexec,
    "env": _env,
    "timeout": wrapper("-s -k --signal --kill-after", skip=1),
    "gtimeout": wrapper("-s -k --signal --kill-after", skip=1),
    "nice": _nice,
    "ionice": wrapper(
        "-c -n -p -P -u --class --classdata --pid --pgid --uid",
        extra=lambda acc, p: not p.has("-p", "-P", "-u", "--pid", "--pgid"),
    ),
    "stdbuf": wrapper("-i -o -e --input --output --error"),
    "time": wrapper("-f -o --format --output", extra=_time_extra),
    "chrt": wrapper(
        "-T -P -D --sched-runtime --sched-period --sched-deadline",
        skip=1,
        extra=lambda acc, p: not p.has("-p", "--pid"),
    ),
    "taskset": wrapper("", skip=1, extra=lambda acc, p: not p.has("-p", "--pid")),
    "unbuffer": wrapper(""),
    "caffeinate": wrapper("-t -w"),
    "command": _command,
    "builtin": _command,
    "exec": _exec,
    "xargs": _xargs,
    "flock": _flock,
    "watch": _watch,
    "parallel": _parallel,
    "strace": wrapper(
        "-o -e -p -s -u -a -b -E -I -P -S -X -O --output --attach --user", extra=_trace_extra
    ),
    "ltrace": wrapper("-o -e -p -s -u -l -n -a -A -D -F --output", extra=_trace_extra),
    "valgrind": wrapper(" ".join(_VALGRIND_FILES), extra=_valgrind_extra),
    "gdb": _gdb,
    "chroot": _chroot,
    "unshare": _unshare,
    "nsenter": _nsenter,
    "busybox": _busybox,
    "toybox": _busybox,
    "script": _script,
    "eval": _eval,
    "firejail": wrapper("--profile --private --net --whitelist --blacklist --name"),
    "proxychains": wrapper("-f -q"),
    "proxychains4": wrapper("-f -q"),
    "torsocks": wrapper("-u -p -a -P"),
    # programs that change how their command runs, not what it does (moreutils, util-linux,
    # libfaketime, numactl, libcgroup, fakeroot, eatmydata, nocache)
    "chronic": wrapper(""),
    "ifne": wrapper(""),
    "eatmydata": wrapper(""),
    "nocache": wrapper(""),
    "setarch": _setarch,
    "linux32": wrapper(""),
    "linux64": wrapper(""),
    "faketime": wrapper("--date-prog", skip=1),
    "prlimit": wrapper("-p --pid -o --output", extra=lambda acc, p: not p.has("-p", "--pid")),
    "numactl": wrapper(
        "-C -N -m -i -p -P -w --cpunodebind --physcpubind --membind --interleave --preferred"
        " --preferred-many --weighted-interleave"
    ),
    "cgexec": wrapper("-g"),
    "fakeroot": wrapper("-l --lib --faked -i -s -b --fd-base"),
    "setpriv": wrapper(
        "--reuid --regid --ruid --rgid --euid --egid --groups --inh-caps --ambient-caps"
        " --bounding-set --securebits --pdeathsig --selinux-label --apparmor-profile"
        " --landlock-access --landlock-rule"
    ),
}
