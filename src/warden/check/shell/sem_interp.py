"""Shells and language interpreters.

``sh -c CODE`` yields ``shell_code``; ``python -c CODE`` and other one-liners yield
``inline_code`` as ``(language, code)`` with language one of ``python``, ``perl``, ``node``
(node, bun, deno), ``ruby``, ``php``, ``lua``, ``awk``, ``applescript``, ``jxa``, ``powershell``,
``r``;
a script operand is ``FileRef(EXEC)``; reading the program from stdin sets ``stdin_is_code``.
"""

from __future__ import annotations

import base64
import binascii

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.makefile import MAKES, SHELL_ASSIGNMENT, makefile_code
from warden.check.shell.sem_core import (
    ANY_ADDRESS,
    STDIN_NAMES,
    Acc,
    Argv,
    Grammar,
    Handler,
    parse,
)
from warden.check.shell.sem_pkg import package_manager
from warden.check.shell.sem_probe import listen_port

__all__ = ["HANDLERS"]

# --- shells -----------------------------------------------------------------------------------

_SHELL_FILE_OPTS = frozenset({"--rcfile", "--init-file"})


def _shell(name: str, args: Argv) -> Effects:
    acc = Acc()
    command_mode = from_stdin = interactive = False
    i, n = 0, len(args)
    while i < n:
        word = args[i]
        if word in ("--", "-"):
            i += 1
            from_stdin = from_stdin or word == "-"
            break
        if word.startswith("--"):
            i += 1
            key, eq, value = word.partition("=")
            if key in _SHELL_FILE_OPTS or key in ("--command", "--init-command"):
                if not eq and i < n:
                    value, i = args[i], i + 1
                if key in _SHELL_FILE_OPTS:
                    acc.file(FileOp.EXEC, value)
                else:
                    acc.code(value)
                    command_mode = command_mode or key == "--command"
            interactive = interactive or key == "--interactive"
            continue
        if len(word) > 1 and word[0] in "-+":
            i += 1
            letters = word[1:]
            if word[0] == "-":
                command_mode = command_mode or "c" in letters
                from_stdin = from_stdin or "s" in letters
                interactive = interactive or "i" in letters
                if "C" in letters and name == "fish" and i < n:
                    acc.code(args[i])
                    i += 1
            i += letters.count("o") + letters.count("O")  # -o OPTION, -O SHOPT take a value
            continue
        break
    operands = args[i:]
    if command_mode:
        if operands:
            acc.code(operands[0])
            acc.shell_args = tuple(operands[1:])  # $0, $1, ...: `sh -c 'cat "$1"' _ FILE`
    elif from_stdin or not operands:
        acc.stdin_is_code = True
    else:
        acc.file(FileOp.EXEC, operands[0])
    if interactive:
        acc.mark("shell.interactive")
        acc.stdin_is_code = not command_mode
    return acc.build()


def _source(name: str, args: Argv) -> Effects:
    acc = Acc()
    if args:
        acc.file(FileOp.EXEC, args[0])
    return acc.build()


# --- python -----------------------------------------------------------------------------------

_PY_LISTENERS = {
    "http.server": "8000",
    "SimpleHTTPServer": "8000",
    "smtpd": "8025",
    "pyftpdlib": "2121",
    "uploadserver": "8000",
    "aiosmtpd": "8025",
    "wsgiref.simple_server": "8000",
    "xmlrpc.server": "8000",
}


_PYTHON_MODULE_OPTS = Grammar("-b -d -p --bind --directory --port")


def _python_module(acc: Acc, module: str, rest: Argv) -> None:
    acc.mark("python.module", module)
    if module in _PY_LISTENERS:
        port = next((w for w in rest if w.isdigit()), _PY_LISTENERS[module])
        parsed = parse(rest, _PYTHON_MODULE_OPTS)
        listen_port(
            acc, parsed.value("-p", "--port") or port, parsed.value("-b", "--bind") or ANY_ADDRESS
        )
    elif module in ("pip", "pip3", "uv", "pipx", "poetry"):
        acc.run([module, *rest])
    elif module in ("venv", "virtualenv"):
        acc.files_of(FileOp.WRITE, [w for w in rest if not w.startswith("-")], recursive=True)
    elif module == "ensurepip":
        acc.mark("pkg.install", "pip")
    elif module in ("base64", "binascii") and ("-d" in rest or "--decode" in rest):
        acc.outputs_decoded = True
        acc.files_of(FileOp.READ, [w for w in rest if not w.startswith("-")])
    elif module in ("json.tool", "tokenize", "pickletools", "tarfile", "zipfile", "gzip"):
        acc.files_of(FileOp.READ, [w for w in rest if not w.startswith("-")][:1])


def _python(name: str, args: Argv) -> Effects:
    acc = Acc()
    i, n = 0, len(args)
    interactive = False
    while i < n:
        word = args[i]
        i += 1
        if word == "--":
            break
        if word == "-":
            acc.stdin_is_code = True
            return acc.build()
        if not word.startswith("-") or len(word) < 2:
            i -= 1
            break
        if word.startswith("--"):
            if word == "--check-hash-based-pycs":
                i += 1
            continue
        cut = min((k for k in (word.find(c, 1) for c in "cmWXQ") if k != -1), default=0)
        interactive = interactive or "i" in (word[1:cut] if cut else word)
        if not cut:
            continue
        letter, attached = word[cut], word[cut + 1 :]
        if letter in "cm":
            value = attached or (args[i] if i < n else "")
            rest = args[i + (0 if attached else 1) :]
            if letter == "c":
                acc.inline.append(("python", value))
            else:
                _python_module(acc, value, rest)
            return acc.build()
        i += 0 if attached else 1  # -W/-X/-Q take a value
    operands = args[i:]
    if operands:
        acc.file(FileOp.EXEC, operands[0])
    if not operands or interactive:
        acc.stdin_is_code = True
    return acc.build()


# --- perl / ruby ------------------------------------------------------------------------------


def _cluster_interp(
    args: Argv,
    *,
    code_letters: str,
    value_letters: str,
    rest_letters: str,
) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Parse perl/ruby-style clusters (``-lane``, ``-pi.bak``, ``-Mstrict``).

    Returns (code pieces, other options with values, operands).
    """
    code: list[str] = []
    opts: list[tuple[str, str]] = []
    i, n = 0, len(args)
    while i < n:
        word = args[i]
        i += 1
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            i -= 1
            break
        j, size, seen = 1, len(word), ""
        while j < size:
            letter = word[j]
            j += 1
            if letter in code_letters or letter in value_letters:
                attached = word[j:]
                value = attached or (args[i] if i < n else "")
                i += 0 if attached else 1
                if letter in code_letters:
                    code.append(value)
                else:
                    opts.append(("-" + letter, value))
                break
            if letter in rest_letters and j < size and not word[j].isalpha():
                # -i.bak / -0777: an attached value, unless the rest is more flags (-pie).
                opts.append(("-" + letter, word[j:]))
                break
            if letter not in seen:
                seen += letter
                opts.append(("-" + letter, ""))
    return code, opts, list(args[i:])


def _perl_like(name: str, args: Argv, language: str) -> Effects:
    acc = Acc()
    if language == "perl":
        code, opts, operands = _cluster_interp(
            args, code_letters="eE", value_letters="MmIFxCdD", rest_letters="i0l"
        )
    else:
        code, opts, operands = _cluster_interp(
            args, code_letters="e", value_letters="rIFECWTKx", rest_letters="i0l"
        )
    flags = {opt for opt, _ in opts}
    per_line = bool(flags & {"-n", "-p", "-i"})
    if code:
        acc.inline.append((language, "\n".join(code)))
    elif operands:
        acc.file(FileOp.EXEC, operands[0])
        operands = operands[1:]
    else:
        acc.stdin_is_code = True
    for raw in operands:
        if per_line or "/" in raw or raw.startswith((".", "~")):
            acc.read(raw)
        if "-i" in flags:
            acc.write(raw)
    libraries = [value for opt, value in opts if opt == "-r"]
    if language == "ruby" and "un" in libraries and any("httpd" in c for c in code):
        port = next(
            (operands[k + 1] for k, w in enumerate(operands[:-1]) if w in ("-p", "--port")), "8080"
        )
        listen_port(acc, port)
    return acc.build()


def _perl(name: str, args: Argv) -> Effects:
    return _perl_like(name, args, "perl")


def _ruby(name: str, args: Argv) -> Effects:
    return _perl_like(name, args, "ruby")


# --- JavaScript runtimes ----------------------------------------------------------------------

_NODE = Grammar(
    "-e -p -r --eval --print --require --import --input-type --loader --experimental-loader"
    " --conditions -C --env-file --title",
    posix=True,
)


def _node(name: str, args: Argv) -> Effects:
    parsed = parse(args, _NODE)
    acc = Acc()
    for code in parsed.values("-e", "--eval", "-p", "--print"):
        acc.inline.append(("node", code))
    acc.read(*parsed.values("--env-file"))
    for module in parsed.values("-r", "--require", "--import", "--loader", "--experimental-loader"):
        if module.startswith((".", "/", "~")):
            acc.file(FileOp.EXEC, module)
    for opt, value in parsed.opts:
        if opt.startswith("--inspect"):
            host, _, port = (value or "127.0.0.1:9229").rpartition(":")
            listen_port(acc, port or "9229", host or "127.0.0.1")
    if acc.inline:
        return acc.build()
    operands = parsed.operands
    if operands and operands[0] != "-":
        acc.file(FileOp.EXEC, operands[0])
    else:
        acc.stdin_is_code = True
    return acc.build()


def _deno(name: str, args: Argv) -> Effects:
    acc = Acc()
    words = [w for w in args if not w.startswith("-")]
    if not words:
        acc.stdin_is_code = True
        return acc.build()
    verb = words[0]
    if verb == "eval" and len(words) > 1:
        acc.inline.append(("node", words[1]))  # JavaScript: the node analyser applies
    elif verb in ("run", "install", "compile") and len(words) > 1:
        _script_or_url(acc, words[1])
    elif verb not in ("eval", "run", "fmt", "lint", "test", "check", "task", "info"):
        _script_or_url(acc, verb)
    return acc.build()


def _script_or_url(acc: Acc, script: str) -> None:
    if "://" in script:
        acc.link(NetDirection.FETCH, script)
        acc.mark("exec.remote-code", script)
    else:
        acc.file(FileOp.EXEC, script)


_BUN_OPTS = Grammar("-e -p --eval --print -r --preload", posix=True)


def _bun(name: str, args: Argv) -> Effects:
    words = list(args)
    if words and words[0] in ("add", "install", "i", "x", "publish"):
        return package_manager(name, args)
    if words and words[0] == "run":
        words = words[1:]
    parsed = parse(words, _BUN_OPTS)
    acc = Acc()
    for code in parsed.values("-e", "--eval", "-p", "--print"):
        acc.inline.append(("node", code))
    if not acc.inline and parsed.operands:
        _script_or_url(acc, parsed.operands[0])
    return acc.build()


# --- others -----------------------------------------------------------------------------------


_PHP_OPTS = Grammar("-r -S -t -f -d -c -B -R -F -E -z", posix=True)


def _php(name: str, args: Argv) -> Effects:
    parsed = parse(args, _PHP_OPTS)
    acc = Acc()
    for code in parsed.values("-r", "-B", "-R", "-E"):
        acc.inline.append(("php", code))
    server = parsed.value("-S")
    if server is not None:
        listen_port(acc, server.rpartition(":")[2], server.rpartition(":")[0] or ANY_ADDRESS)
        acc.read(parsed.value("-t"))
        return acc.build()
    script = parsed.value("-f", "-F") or (parsed.operands[0] if parsed.operands else None)
    if script is not None and not acc.inline:
        acc.file(FileOp.EXEC, script)
    elif not acc.inline:
        acc.stdin_is_code = True
    acc.read(parsed.value("-c"))
    return acc.build()


_LUA_OPTS = Grammar("-e -l", posix=True)


def _lua(name: str, args: Argv) -> Effects:
    parsed = parse(args, _LUA_OPTS)
    acc = Acc()
    for code in parsed.values("-e"):
        acc.inline.append(("lua", code))
    if parsed.operands and parsed.operands[0] != "-":
        acc.file(FileOp.EXEC, parsed.operands[0])
    elif not acc.inline or parsed.operands[:1] == ["-"] or parsed.has("-i"):
        acc.stdin_is_code = True
    return acc.build()


_OSASCRIPT_OPTS = Grammar("-e -l -s", posix=True)


def _osascript(name: str, args: Argv) -> Effects:
    parsed = parse(args, _OSASCRIPT_OPTS)
    acc = Acc()
    language = "jxa" if (parsed.value("-l") or "").lower() == "javascript" else "applescript"
    code = parsed.values("-e")
    if code:
        acc.inline.append((language, "\n".join(code)))
    elif parsed.operands and parsed.operands[0] != "-":
        acc.file(FileOp.EXEC, parsed.operands[0])
    else:
        acc.stdin_is_code = True
    return acc.build()


def _decode_powershell(text: str) -> str | None:
    """Decode a PowerShell ``-EncodedCommand`` (base64 of UTF-16LE)."""
    try:
        return base64.b64decode(text, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _pwsh(name: str, args: Argv) -> Effects:
    acc = Acc()
    i, n = 0, len(args)
    while i < n:
        word = args[i]
        i += 1
        key = word.lstrip("-/").lower()
        value = args[i] if i < n else ""
        if not word.startswith(("-", "/")):
            acc.file(FileOp.EXEC, word)
            break
        if key in ("c", "command"):
            acc.inline.append(("powershell", " ".join(args[i:])))
            break
        if key in ("e", "ec", "enc", "encodedcommand", "en", "encoded"):
            acc.mark("obfuscation.encoded-command", value)
            decoded = _decode_powershell(value)
            if decoded is not None:
                acc.inline.append(("powershell", decoded))
            break
        if key in ("f", "file"):
            acc.file(FileOp.EXEC, value)
            break
        if key in ("executionpolicy", "ep", "ex", "exec") and value.lower() == "bypass":
            acc.mark("powershell.bypass", value)
            i += 1
        elif key in (
            "windowstyle",
            "w",
            "configurationname",
            "workingdirectory",
            "wd",
            "outputformat",
            "of",
            "inputformat",
            "if",
            "settingsfile",
            "custompipename",
            "executionpolicy",
            "ep",
            "version",
            "v",
        ):
            i += 1
    return acc.build()


_MAKE = Grammar(
    "-f -C -I -o -W --file --makefile --directory --include-dir --old-file --assume-old"
    " --new-file --what-if --assume-new --eval -E"
)


def _make(name: str, args: Argv) -> Effects:
    """make/just run recipes from a file the agent may have written: report it as executed.
    make's ``--eval TEXT`` (``-E``) is a makefile given inline: its recipes are walked as shell
    code (:mod:`.makefile`); a makefile on stdin (``-f -``, ``-f /dev/stdin``) is code on
    stdin, and one the analysis knows the text of (``-f <(...)``) is followed by the walker."""
    parsed = parse(args, _MAKE)
    acc = Acc()
    directory = parsed.value("-C", "--directory")
    default = "justfile" if name == "just" else "Makefile"
    makefiles = parsed.values("-f", "--file", "--makefile")
    for makefile in makefiles or [default]:
        joined = (
            makefile if directory is None or makefile.startswith("/") else f"{directory}/{makefile}"
        )
        acc.file(FileOp.EXEC, joined)
    if name in MAKES:
        evals = parsed.values("--eval", "-E")
        for code in evals:
            acc.mark("make.eval", code)
        if evals:  # read in order, as one text (`--eval '.RECIPEPREFIX=>' --eval ...`)
            acc.code(makefile_code("\n".join(evals)))
        for operand in parsed.operands:  # `make SHELL=PROGRAM`: every recipe runs by PROGRAM
            if "=" in operand and (found := SHELL_ASSIGNMENT.fullmatch(operand)) is not None:
                acc.code(found.group(1))
        acc.stdin_is_code = any(makefile in STDIN_NAMES for makefile in makefiles)
    return acc.build()


def _rscript(name: str, args: Argv) -> Effects:
    acc = Acc()
    code = [args[k + 1] for k, w in enumerate(args[:-1]) if w in ("-e", "--expr")]
    if code:
        acc.inline.append(("r", "\n".join(code)))
    else:
        script = next((w for w in args if not w.startswith("-")), None)
        if script is not None and script != "-":
            acc.file(FileOp.EXEC, script)
        else:
            acc.stdin_is_code = True
    return acc.build()


def _tcl(name: str, args: Argv) -> Effects:
    """``tclsh [SCRIPT [ARG...]]``, ``wish``, ``expect [-c CODE] [SCRIPT]``: a script operand
    runs; without one the program reads its code on stdin (``tclsh <<< 'exec ...'``)."""
    acc = Acc()
    code = [args[k + 1] for k, w in enumerate(args[:-1]) if w == "-c" and name == "expect"]
    if code:
        acc.inline.append(("tcl", "\n".join(code)))
    script = next((w for k, w in enumerate(args) if not w.startswith("-")
                   and not (k and args[k - 1] == "-c")), None)  # fmt: skip
    if script is not None and script != "-":
        acc.file(FileOp.EXEC, script)
    elif not code:
        acc.stdin_is_code = True
    return acc.build()


HANDLERS: dict[str, Handler] = {
    "sh": _shell,
    "bash": _shell,
    "zsh": _shell,
    "dash": _shell,
    "ksh": _shell,
    "mksh": _shell,
    "pdksh": _shell,
    "ash": _shell,
    "fish": _shell,
    "csh": _shell,
    "tcsh": _shell,
    "yash": _shell,
    "rbash": _shell,
    "source": _source,
    ".": _source,
    "python": _python,
    "pypy": _python,
    "perl": _perl,
    "ruby": _ruby,
    "node": _node,
    "nodejs": _node,
    "deno": _deno,
    "bun": _bun,
    "php": _php,
    "lua": _lua,
    "luajit": _lua,
    "osascript": _osascript,
    "pwsh": _pwsh,
    "powershell": _pwsh,
    "Rscript": _rscript,
    "tclsh": _tcl,
    "wish": _tcl,
    "jimsh": _tcl,
    "expect": _tcl,
    "make": _make,
    "gmake": _make,
    "just": _make,
}
