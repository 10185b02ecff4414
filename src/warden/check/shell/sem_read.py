"""Programs that read, search or list files: cat, grep, sed, awk, jq, find, ls, editors.

Most readers are declared as a :class:`ReadSpec` (grammar plus which operands are files); the
few whose argv needs care (sed, awk, jq, yq, xxd, find) have their own handler.
"""

from __future__ import annotations

import re

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects
from warden.check.shell.inline_sink import is_secret_env
from warden.check.shell.sem_core import Acc, Argv, Grammar, Handler, parse

__all__ = ["HANDLERS"]


class ReadSpec:
    """Declarative semantics of a reader.

    - ``pattern_first``: the first operand is a pattern or program, not a file, unless one of
      ``pattern_opts`` supplied it (``grep -e PAT``).
    - ``file_opts``: options whose value is a file, with what is done to it.
    - ``recursive_opts`` make operand access recursive; ``recursive`` always is (rg, ag).
      A recursive search with no operand searches ``.``.
    - ``ops``: what is done to each operand file (editors read and write).
    - ``decode_opts``: options that make stdout decoded data (``base64 -d``).
    - ``code_opts``: options whose value runs as shell code (``split --filter=CMD``).
    """

    __slots__ = (
        "code_opts",
        "decode_opts",
        "file_opts",
        "grammar",
        "ops",
        "pattern_first",
        "pattern_opts",
        "recursive",
        "recursive_opts",
    )

    def __init__(
        self,
        values: str = "",
        *,
        pattern_first: bool = False,
        pattern_opts: tuple[str, ...] = (),
        file_opts: dict[str, FileOp] | None = None,
        recursive_opts: tuple[str, ...] = (),
        recursive: bool = False,
        ops: tuple[FileOp, ...] = (FileOp.READ,),
        decode_opts: tuple[str, ...] = (),
        code_opts: tuple[str, ...] = (),
        long_dash: bool = False,
    ) -> None:
        self.grammar = Grammar(values, long_dash=long_dash)
        self.pattern_first = pattern_first
        self.pattern_opts = pattern_opts
        self.file_opts = file_opts or {}
        self.recursive_opts = recursive_opts
        self.recursive = recursive
        self.ops = ops
        self.decode_opts = decode_opts
        self.code_opts = code_opts


def reader(spec: ReadSpec) -> Handler:
    """Turn a :class:`ReadSpec` into a handler."""

    def handle(name: str, args: Argv) -> Effects:
        parsed = parse(args, spec.grammar)
        acc = Acc()
        operands = parsed.operands
        if spec.pattern_first and operands and not parsed.has(*spec.pattern_opts):
            operands = operands[1:]
        recursive = spec.recursive or parsed.has(*spec.recursive_opts)
        if recursive and not operands:
            operands = ["."]
        for raw in operands:
            for op in spec.ops:
                acc.file(op, raw, recursive=recursive)
        for opt, val in parsed.opts:
            file_op = spec.file_opts.get(opt)
            if file_op is not None and val is not None:
                acc.file(file_op, val)
            elif val is not None and opt in spec.code_opts:
                acc.code(val)
        if spec.decode_opts and parsed.has(*spec.decode_opts):
            acc.outputs_decoded = True
        return acc.build()

    return handle


_GREP = ReadSpec(
    "-e -f -m -A -B -C -d -D --regexp --file --max-count --after-context --before-context"
    " --context --include --exclude --exclude-dir --exclude-from --label --binary-files"
    " --devices --directories --group-separator",
    pattern_first=True,
    pattern_opts=("-e", "-f", "--regexp", "--file"),
    file_opts={"-f": FileOp.READ, "--file": FileOp.READ, "--exclude-from": FileOp.READ},
    recursive_opts=("-r", "-R", "--recursive", "--dereference-recursive"),
)
_RG_VALUES = (
    "-e -f -g -t -T -m -A -B -C -j -M -r -E --regexp --file --glob --iglob --type --type-not"
    " --max-count --replace --max-depth --threads --type-add --pre --pre-glob --sort --sortr"
    " --encoding --engine --max-columns --colors --context-separator --path-separator"
    " --ignore-file --max-filesize --dfa-size-limit --regex-size-limit"
)
_SUMS = ReadSpec("-a --algorithm")
_EDIT = (FileOp.READ, FileOp.WRITE)

_SPECS: dict[str, ReadSpec] = {
    "cat": ReadSpec(),
    "tac": ReadSpec("-s --separator"),
    "less": ReadSpec(
        "-b -h -j -k -o -O -p -P -t -T -x -y -z -#",
        file_opts={"-o": FileOp.WRITE, "-O": FileOp.WRITE, "-k": FileOp.READ},
    ),
    "more": ReadSpec("-n"),
    "most": ReadSpec(),
    "head": ReadSpec("-n -c --lines --bytes"),
    "tail": ReadSpec("-n -c -s --lines --bytes --sleep-interval --pid --max-unchanged-stats"),
    "nl": ReadSpec("-b -d -f -h -i -l -n -s -v -w"),
    "od": ReadSpec("-A -j -N -S -t --address-radix --skip-bytes --read-bytes --format"),
    "hexdump": ReadSpec("-e -f -n -s", file_opts={"-f": FileOp.READ}),
    "hd": ReadSpec("-e -f -n -s", file_opts={"-f": FileOp.READ}),
    "strings": ReadSpec("-n -t -e -T --bytes --radix --encoding --target"),
    "grep": _GREP,
    "egrep": _GREP,
    "fgrep": _GREP,
    "zgrep": _GREP,
    "rg": ReadSpec(
        _RG_VALUES,
        pattern_first=True,
        pattern_opts=("-e", "-f", "--regexp", "--file", "--files", "--type-list"),
        file_opts={"-f": FileOp.READ, "--file": FileOp.READ, "--ignore-file": FileOp.READ},
        recursive=True,
    ),
    "ag": ReadSpec(
        "-A -B -C -G -g -m -p --ignore --ignore-dir --depth --path-to-ignore --file-search-regex",
        pattern_first=True,
        pattern_opts=("-g", "-l"),
        file_opts={"-p": FileOp.READ, "--path-to-ignore": FileOp.READ},
        recursive=True,
    ),
    "ack": ReadSpec(
        "-A -B -C -m -g --type --ignore-dir --ignore-file --output --match",
        pattern_first=True,
        pattern_opts=("-f", "-g", "--match"),
        recursive=True,
    ),
    "cut": ReadSpec("-b -c -d -f --bytes --characters --delimiter --fields --output-delimiter"),
    "sort": ReadSpec(
        "-k -t -o -S -T --key --field-separator --output --buffer-size --temporary-directory"
        " --parallel --batch-size --compress-program --files0-from --random-source",
        file_opts={
            "-o": FileOp.WRITE,
            "--output": FileOp.WRITE,
            "--files0-from": FileOp.READ,
            "--random-source": FileOp.READ,
        },
    ),
    "wc": ReadSpec("--files0-from", file_opts={"--files0-from": FileOp.READ}),
    "diff": ReadSpec(
        "-C -U -I -x -X -F -L -S --label --starting-file --from-file --to-file --exclude"
        " --exclude-from --ignore-matching-lines --line-format",
        file_opts={
            "-X": FileOp.READ,
            "--exclude-from": FileOp.READ,
            "--from-file": FileOp.READ,
            "--to-file": FileOp.READ,
        },
        recursive_opts=("-r", "--recursive"),
    ),
    "cmp": ReadSpec("-i -n --ignore-initial --bytes"),
    "comm": ReadSpec("--output-delimiter"),
    "paste": ReadSpec("-d --delimiters"),
    "join": ReadSpec("-a -e -j -o -t -v -1 -2"),
    "fold": ReadSpec("-w --width"),
    "rev": ReadSpec(),
    "expand": ReadSpec("-t --tabs"),
    "column": ReadSpec("-c -s -o -N -R -T -H -W -E -n -l -C"),
    "file": ReadSpec(
        "-m -f -e -F -P --magic-file --files-from --separator --exclude --parameter",
        file_opts={"-f": FileOp.READ, "--files-from": FileOp.READ, "-m": FileOp.READ},
    ),
    "stat": ReadSpec("-c --format --printf", ops=(FileOp.LIST,)),
    "md5sum": _SUMS,
    "sha1sum": _SUMS,
    "sha224sum": _SUMS,
    "sha256sum": _SUMS,
    "sha384sum": _SUMS,
    "sha512sum": _SUMS,
    "b2sum": _SUMS,
    "shasum": _SUMS,
    "cksum": _SUMS,
    "sum": _SUMS,
    "base64": ReadSpec("-w --wrap", decode_opts=("-d", "-D", "--decode")),
    "base32": ReadSpec("-w --wrap", decode_opts=("-d", "--decode")),
    "basenc": ReadSpec("-w --wrap", decode_opts=("-d", "--decode")),
    "bat": ReadSpec(
        "-l -H -r -m --language --highlight-line --line-range --map-syntax --theme --style"
        " --tabs --wrap --terminal-width --pager --decorations --paging --file-name"
    ),
    "batcat": ReadSpec("-l -H -r -m --language --highlight-line --line-range --theme --style"),
    "view": ReadSpec("-c -S -u -U -i -w -W -s -t -T --cmd"),
    "zcat": ReadSpec(),
    "bzcat": ReadSpec(),
    "xzcat": ReadSpec(),
    "zstdcat": ReadSpec(),
    "zless": ReadSpec(),
    "readelf": ReadSpec("-x -p -R --hex-dump --string-dump"),
    "objdump": ReadSpec("-j -b -m -M --section --target --architecture"),
    "nm": ReadSpec("-t --radix --format"),
    "iconv": ReadSpec("-f -t -o --from-code --to-code --output", file_opts={"-o": FileOp.WRITE}),
    "split": ReadSpec("-a -b -C -l -n -t --additional-suffix --filter", code_opts=("--filter",)),
    "ls": ReadSpec(
        "-I -T -w --ignore --tabsize --width --hide --format --sort --time --time-style"
        " --block-size --quoting-style --indicator-style",
        ops=(FileOp.LIST,),
        recursive_opts=("-R", "--recursive"),
    ),
    "dir": ReadSpec("-I -T -w --ignore", ops=(FileOp.LIST,), recursive_opts=("-R",)),
    "vdir": ReadSpec("-I -T -w --ignore", ops=(FileOp.LIST,), recursive_opts=("-R",)),
    "tree": ReadSpec(
        "-L -P -I -o --filelimit --timefmt --charset --sort",
        ops=(FileOp.LIST,),
        recursive=True,
        file_opts={"-o": FileOp.WRITE},
    ),
    "du": ReadSpec(
        "-B -d -t -X --block-size --max-depth --threshold --exclude --exclude-from --time-style"
        " --files0-from",
        ops=(FileOp.LIST,),
        recursive=True,
        file_opts={
            "-X": FileOp.READ,
            "--exclude-from": FileOp.READ,
            "--files0-from": FileOp.READ,
        },
    ),
    "exa": ReadSpec("-L -I --level --ignore-glob --sort --time", ops=(FileOp.LIST,)),
    "eza": ReadSpec("-L -I --level --ignore-glob --sort --time", ops=(FileOp.LIST,)),
    "lsd": ReadSpec("--depth --blocks --date --sort", ops=(FileOp.LIST,)),
    "realpath": ReadSpec("--relative-to --relative-base", ops=(FileOp.LIST,)),
    "readlink": ReadSpec(ops=(FileOp.LIST,)),
    "lsattr": ReadSpec(ops=(FileOp.LIST,), recursive_opts=("-R",)),
    "getfacl": ReadSpec(ops=(FileOp.LIST,), recursive_opts=("-R", "--recursive")),
    # Editors: they read the file and usually save it.
    "nano": ReadSpec("-o -Q -r -s -T -X -Y --operatingdir --speller --syntax", ops=_EDIT),
    "pico": ReadSpec(ops=_EDIT),
    "micro": ReadSpec("-config-dir -plugin", ops=_EDIT, long_dash=True),
    "gedit": ReadSpec(ops=_EDIT),
    "kate": ReadSpec(ops=_EDIT),
    "subl": ReadSpec(ops=_EDIT),
    "ed": ReadSpec("-p --prompt", ops=_EDIT),
    "joe": ReadSpec(ops=_EDIT),
    "mcedit": ReadSpec(ops=_EDIT),
}


# GNU sed's `e` command and `s///e` flag run shell commands; `w FILE` writes a file. Scripts are
# not parsed in full: these scans catch the forms an attacker would write, in linear time.
MAX_SED_SCRIPT = 16384  # worst case (unique delimiters) stays under ~5 ms
_SED_EXEC = re.compile(r"(?:^|[;{}\n])[ \t]*(?:(?:\d+|\$|/[^/\n]*/)[ \t]*)?e(?:\s|;|$)")
_SED_WRITE = re.compile(r"(?:^|[;{}\n])[ \t]*(?:(?:\d+|\$|/[^/\n]*/)[ \t]*)?w[ \t]+([^;\n}]+)")
#: An address or a range (`1`, `$`, `/re/`, `1,5`, `/a/,$`, with `!`) before a command.
_SED_ADDRESS = r"(?:(?:\d+|\$|/[^/\n]*/)(?:,(?:\d+|\$|/[^/\n]*/))?[ \t]*(?:![ \t]*)?)?"
#: `r FILE` / `R FILE` read FILE into the output; `e COMMAND` runs COMMAND (to the line's end).
_SED_READ = re.compile(r"(?:^|[;{}\n])[ \t]*" + _SED_ADDRESS + r"[rR][ \t]+([^;\n}]+)")
_SED_RUN = re.compile(r"(?:^|[;{}\n])[ \t]*" + _SED_ADDRESS + r"e[ \t]+([^\n]+)")
_SED_COMMAND_START = frozenset(";{}\n \t0123456789$/!,")
_SED_S_FLAGS = frozenset("gpiImM0123456789")


def _find_delimiter(script: str, delimiter: str, start: int) -> int:
    index = script.find(delimiter, start)
    while index > 0 and script[index - 1] == "\\":
        index = script.find(delimiter, index + 1)
    return index


def _sed_substitute_executes(script: str) -> list[str]:
    """The replacements of the ``s`` commands in ``script`` that carry the ``e`` flag: the
    pattern space, once replaced, is run as a command (``s/.*/cat ~\\/.ssh\\/id_rsa/e``)."""
    found: list[str] = []
    size = len(script)
    k = script.find("s")
    while k != -1 and k + 1 < size:
        delimiter = script[k + 1]
        if (k == 0 or script[k - 1] in _SED_COMMAND_START) and delimiter not in "\\\n":
            middle = _find_delimiter(script, delimiter, k + 2)
            end = _find_delimiter(script, delimiter, middle + 1) if middle != -1 else -1
            if end != -1:
                j = end + 1
                while j < size and script[j] in _SED_S_FLAGS:
                    j += 1
                if j < size and script[j] == "e":
                    found.append(script[middle + 1 : end].replace("\\" + delimiter, delimiter))
        k = script.find("s", k + 1)
    return found


_SED = Grammar("-e -f -l --expression --file --line-length")


def _sed(name: str, args: Argv) -> Effects:
    parsed = parse(args, _SED)
    acc = Acc()
    operands = parsed.operands
    if operands and not parsed.has("-e", "-f", "--expression", "--file"):
        operands = operands[1:]
    in_place = parsed.has("-i", "--in-place")
    scripts = parsed.values("-e", "--expression") or parsed.operands[:1]
    for script in scripts if not parsed.has("-f", "--file") else ():
        if len(script) > MAX_SED_SCRIPT:
            acc.mark("analysis.incomplete", "sed script too long to scan")
            continue
        commands = [*_SED_RUN.findall(script), *_sed_substitute_executes(script)]
        if commands or _SED_EXEC.search(script):
            acc.mark("sed.exec", script)
            for command in commands:
                acc.code(command)
        acc.files_of(FileOp.WRITE, [path.strip() for path in _SED_WRITE.findall(script)])
        acc.read(*(path.strip() for path in _SED_READ.findall(script)))
    for raw in operands:
        acc.read(raw)
        if in_place:
            acc.write(raw)
    acc.read(*parsed.values("-f", "--file"))
    return acc.build()


_AWK = Grammar(
    "-f -v -F -i -l -E -e --file --assign --field-separator --include --load --exec --source"
)


def _awk(name: str, args: Argv) -> Effects:
    parsed = parse(args, _AWK)
    acc = Acc()
    operands = parsed.operands
    sources = parsed.values("-f", "--file", "-E", "--exec")
    acc.read(*sources)
    programs = parsed.values("-e", "--source")
    if not sources and not programs and operands:
        programs, operands = [operands[0]], operands[1:]
    for program in programs:
        acc.inline.append(("awk", program))
        if "system(" in program or '| "' in program or "|&" in program:
            acc.mark("awk.exec", program)
    in_place = "inplace" in parsed.values("-i", "--include")
    for raw in operands:
        if "=" in raw and raw.partition("=")[0].isidentifier():
            continue  # var=value assignment operand
        acc.read(raw)
        if in_place:
            acc.write(raw)
    return acc.build()


_JQ = Grammar("-f -L --from-file --indent --tab --arg --argjson --slurpfile --rawfile")


#: jq's environment: the builtin ``env`` and ``$ENV``, whole or one member (``$ENV.TOKEN``,
#: ``env["TOKEN"]``). A ``.env`` field or ``$envx`` is not it.
_JQ_ENV = re.compile(r"""(?<![\w$.])(?:\$ENV|env)(?![\w(])(?:\s*(?:\.|\[\s*")([A-Za-z_]\w*))?""")


def _jq_env(acc: Acc, program: str) -> None:
    """``jq -n env`` / ``'$ENV'`` prints the whole environment, as ``env`` does (``env.dump``);
    ``$ENV.NAME`` reads one variable (``env.read`` for a secret-looking name, as inline
    code's reads are reported)."""
    for found in _JQ_ENV.finditer(program):
        if found.group(1) is None:
            acc.mark("env.dump", "jq")
        elif is_secret_env(found.group(1)):
            acc.mark("env.read", found.group(1))


def _jq(name: str, args: Argv) -> Effects:
    acc = Acc()
    operands: list[str] = []
    from_file = False
    i, n = 0, len(args)
    while i < n:
        word = args[i]
        i += 1
        if word in ("--arg", "--argjson"):
            i += 2
        elif word in ("--slurpfile", "--rawfile"):
            acc.read(args[i + 1] if i + 1 < n else None)
            i += 2
        elif word in ("-f", "--from-file"):
            acc.read(args[i] if i < n else None)
            from_file = True
            i += 1
        elif word in ("-L", "--indent"):
            i += 1
        elif word in ("--args", "--jsonargs"):
            break  # remaining operands are positional values, not files
        elif word == "--":
            operands.extend(args[i:])
            break
        elif word.startswith("-") and len(word) > 1:
            continue
        else:
            operands.append(word)
    if operands and not from_file:
        _jq_env(acc, operands[0])
        operands = operands[1:]
    acc.files_of(FileOp.READ, operands)
    return acc.build()


_YQ = Grammar("-I -o -p --indent --output-format --input-format --from-file --front-matter")


def _yq(name: str, args: Argv) -> Effects:
    parsed = parse(args, _YQ)
    acc = Acc()
    operands = parsed.operands
    if operands and operands[0] in ("e", "eval", "ea", "eval-all"):
        operands = operands[1:]
    if operands and not parsed.has("--from-file"):
        operands = operands[1:]
    in_place = parsed.has("-i", "--inplace")
    for raw in operands:
        acc.read(raw)
        if in_place:
            acc.write(raw)
    acc.read(parsed.value("--from-file"))
    return acc.build()


_XXD = Grammar("-c -g -l -s -o -n --cols --groupsize --len --seek --name")


def _xxd(name: str, args: Argv) -> Effects:
    parsed = parse(args, _XXD)
    acc = Acc()
    operands = parsed.operands
    if operands:
        acc.read(operands[0])
    if len(operands) > 1:
        acc.write(operands[1])
    acc.outputs_decoded = parsed.has("-r", "--revert")
    return acc.build()


_UNIQ = Grammar("-f -s -w --skip-fields --skip-chars --check-chars")


def _uniq(name: str, args: Argv) -> Effects:
    operands = parse(args, _UNIQ).operands
    acc = Acc()
    if operands:
        acc.read(operands[0])
    if len(operands) > 1:
        acc.write(operands[1])
    return acc.build()


_VIM = Grammar("-c -S -u -U -i -w -W -s -t -T -q --cmd")


# Vim's interface commands that run their argument as code in another language.
_VIM_LANGUAGES = {
    "py": "python",
    "py3": "python",
    "python": "python",
    "python3": "python",
    "pyx": "python",
    "pythonx": "python",
    "lua": "lua",
    "perl": "perl",
    "ruby": "ruby",
}


#: In Ex mode (``ex``, ``vim -e``/``-es``) ``-s`` is silent mode, not ``-s SCRIPTIN``.
_VIM_EX = Grammar("-c -S -u -U -i -w -W -t -T -q --cmd")


def _vim(name: str, args: Argv) -> Effects:
    ex_mode = name in ("ex", "exim") or any(a in ("-e", "-E", "-es", "-Es") for a in args)
    parsed = parse(args, _VIM_EX if ex_mode else _VIM)
    acc = Acc()
    commands = parsed.values("-c", "--cmd")
    files: list[str] = []
    for raw in parsed.operands:
        if raw.startswith("+"):
            commands.append(raw[1:])
        else:
            files.append(raw)
    for command in commands:
        text = command.lstrip(": ")
        if not text.startswith(("py", "lua", "perl", "ruby")):
            text = _ex_commands(acc, text, command)
        if text.startswith("!"):
            acc.code(text[1:])
            acc.mark("editor.exec", command)
        elif text.startswith(("py", "lua", "perl", "ruby", "call system", "term", "sh")):
            acc.mark("editor.exec", command)
            verb, _, code = text.partition(" ")
            language = _VIM_LANGUAGES.get(verb)
            if language is not None and code:
                acc.inline.append((language, code))
    for script in parsed.values("-S", "-u", "-s", "-W", "-w"):
        acc.read(script)
    for raw in files:
        acc.read(raw)
        acc.write(raw)
    return acc.build()


#: An Ex command's line range (``%``, ``1,$``, ``'a,'b``, ``.,+3``) before its name.
_EX_RANGE = re.compile(r"[\s:]*(?:%|[0-9.$,;+\-]|'[a-z<>])*\s*")
#: Ex commands that name a file they read, or write (``w >> F`` appends).
_EX_READS = frozenset({"r", "re", "rea", "read", "e", "ed", "edi", "edit", "e!", "sp", "split",
                       "vs", "vsp", "vsplit", "new", "vne", "vnew", "tabe", "tabedit", "tabnew",
                       "vie", "view", "sv", "sview", "bad", "badd", "so", "sou", "source",
                       "argadd", "arga", "fin", "find"})  # fmt: skip
_EX_WRITES = frozenset({"w", "wr", "wri", "writ", "write", "w!", "write!", "wq", "wq!", "x",
                        "xi", "xit", "exi", "exit", "x!", "sav", "saveas", "sav!", "saveas!",
                        "up", "update", "wa", "wall"})  # fmt: skip


def _ex_commands(acc: Acc, text: str, command: str) -> str:
    """The file reads and writes of Ex commands (``-c 'r F'``, ``+'w F'``, several joined by
    ``|``; ``redir > F``); returns what is left to read as a shell escape: the first command
    that runs the shell (``!cmd``, ``%!cmd``, ``r !cmd``, ``w !cmd``), without its range or
    verb, whose ``|`` belong to the shell. Linear: one pass over the commands."""
    rest = text
    while rest:
        m = _EX_RANGE.match(rest)
        body = rest[m.end() :] if m else rest
        if body.startswith("!"):
            return body  # `%!cmd`: a filter through the shell
        verb, _, arg = body.partition(" ")
        arg = arg.lstrip()
        if arg.startswith("!") and verb.rstrip("!") in ("r", "re", "rea", "read", "w", "write"):
            return arg  # `r !cmd`, `w !cmd`: the shell
        head, bar, rest = arg.partition("|")
        target = head.strip()
        if verb in ("redir", "redi", "redir!", "redi!") and target.startswith(">"):
            append = target.startswith(">>")
            acc.file(FileOp.APPEND if append else FileOp.WRITE, target.lstrip(">! ").strip())
        elif verb in _EX_READS and target:
            acc.read(target)
        elif verb in _EX_WRITES and target:
            if target.startswith(">>"):
                acc.file(FileOp.APPEND, target[2:].strip())
            else:
                acc.write(target)
        if not bar:
            break
        rest = rest.lstrip()
    return text


_UUDECODE = Grammar("-o --output-file")


def _uudecode(name: str, args: Argv) -> Effects:
    """``uudecode [-o FILE] [IN]``: ``-o /dev/stdout`` (or ``-``) prints the decoded data,
    another FILE is written (without ``-o``, the name the input's header gives: unknown)."""
    parsed = parse(args, _UUDECODE)
    acc = Acc()
    acc.files_of(FileOp.READ, parsed.operands)
    out = parsed.value("-o", "--output-file")
    if out in ("/dev/stdout", "-"):
        acc.outputs_decoded = True
    elif out:
        acc.write(out)
    return acc.build()


_EMACS = Grammar("-l -f -L --load --funcall --directory --eval --insert --chdir --user")


def _emacs(name: str, args: Argv) -> Effects:
    parsed = parse(args, _EMACS)
    acc = Acc()
    for code in parsed.values("--eval"):
        acc.mark("editor.exec", code)
    acc.read(*parsed.values("-l", "--load", "--insert"))
    for raw in parsed.operands:
        if raw.startswith("+"):
            continue
        acc.read(raw)
        acc.write(raw)
    return acc.build()


_CODE = Grammar(
    "-g -a --goto --add --install-extension --uninstall-extension"
    " --user-data-dir --extensions-dir --profile --locale --category --sync"
)


def _code(name: str, args: Argv) -> Effects:
    parsed = parse(args, _CODE)
    acc = Acc()
    for ext in parsed.values("--install-extension"):
        acc.mark("pkg.install", ext)
        if "/" in ext or ext.endswith(".vsix"):
            acc.read(ext)
        else:
            acc.link(NetDirection.FETCH, "marketplace.visualstudio.com")
    targets = parsed.operands + parsed.values("-g", "--goto", "-a", "--add")
    for raw in targets:
        acc.read(raw)
        acc.write(raw)
    return acc.build()


_TREE_LISTS = reader(_SPECS["tree"])
# `tree --fromfile FILE` prints the lines of FILE as a tree: it reads its operands
_TREE_READS = reader(
    ReadSpec("-L -P -I -o --filelimit --timefmt --charset --sort", file_opts={"-o": FileOp.WRITE})
)


def _tree(name: str, args: Argv) -> Effects:
    return (_TREE_READS if "--fromfile" in args else _TREE_LISTS)(name, args)


def _locate(name: str, args: Argv) -> Effects:
    """``locate PATTERN`` prints names from its database of the whole file system: a listing
    of ``/``, so ``locate id_rsa | xargs cat`` reads files anywhere (as ``find / ...`` does)."""
    acc = Acc()
    acc.files_of(FileOp.LIST, ["/"], recursive=True)
    return acc.build()


HANDLERS: dict[str, Handler] = {name: reader(spec) for name, spec in _SPECS.items()}
HANDLERS["tree"] = _tree
HANDLERS.update(
    {
        "locate": _locate,
        "plocate": _locate,
        "mlocate": _locate,
        "slocate": _locate,
        "sed": _sed,
        "gsed": _sed,
        "awk": _awk,
        "gawk": _awk,
        "mawk": _awk,
        "nawk": _awk,
        "jq": _jq,
        "gojq": _jq,
        "yq": _yq,
        "xxd": _xxd,
        "uniq": _uniq,
        "vim": _vim,
        "uudecode": _uudecode,
        "vi": _vim,
        "nvim": _vim,
        "gvim": _vim,
        "ex": _vim,
        "emacs": _emacs,
        "code": _code,
        "codium": _code,
        "cursor": _code,
    }
)
