"""Building blocks for per-program semantics: an option parser, an effects builder, word tests.

Every handler in the ``sem_*`` modules has the signature :data:`Handler`: it receives the program
name (the basename of ``argv[0]``, normalised) and the arguments (``argv[1:]``) and returns an
:class:`~warden.check.shell.effects.Effects`. Handlers declare their option grammar once, at
import time, as a :class:`Grammar`; :func:`parse` then splits argv into options and operands the
way getopt/getopt_long would (combined short flags ``-rf``, attached values ``-ofile``,
``--opt=value``, ``--`` ending options), which is what the program itself will do.

Words arrive unquoted. A word that still holds ``$`` or a backquote is a run-time value: it is
kept as an opaque operand and reported raw where a path is expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import msgspec

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects, FileRef, NetRef

__all__ = [
    "ANY_ADDRESS",
    "STDIN_NAMES",
    "Acc",
    "Argv",
    "Grammar",
    "Handler",
    "Parsed",
    "is_pathlike",
    "is_stdout",
    "is_url",
    "matches",
    "names",
    "parse",
    "port_of",
    "split_host_port",
]

Argv = tuple[str, ...]
# The wildcard address a server binds when none is given; reported as the LISTEN target.
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - a description of what the program does, not a bind
Handler = Callable[[str, Argv], Effects]

# Block devices whose raw write destroys a file system (dd of=, tee, cp onto the device).
_BLOCK_DEVICE_PREFIXES = (
    "/dev/sd",
    "/dev/hd",
    "/dev/vd",
    "/dev/xvd",
    "/dev/nvme",
    "/dev/mmcblk",
    "/dev/disk",
    "/dev/rdisk",
    "/dev/dm-",
    "/dev/md",
    "/dev/mapper/",
    "/dev/loop",
    "/dev/mem",
    "/dev/kmem",
    "/dev/port",
)
_NO_EFFECTS = Effects()

# Enum attribute access costs ~100 ns on 3.11; the hot path compares identities instead.
_READ, _WRITE, _APPEND = FileOp.READ, FileOp.WRITE, FileOp.APPEND
_ENV_MARKERS = {
    "LD_PRELOAD": "env.ld-preload",
    "LD_LIBRARY_PATH": "env.ld-preload",
    "LD_AUDIT": "env.ld-preload",
    "DYLD_INSERT_LIBRARIES": "env.ld-preload",
    "PROMPT_COMMAND": "env.prompt-command",
    "BASH_ENV": "env.bash-env",
    "ENV": "env.bash-env",
}
_HISTORY_SIZE_VARS = frozenset({"HISTSIZE", "HISTFILESIZE", "SAVEHIST"})


def _disables_history(name: str, value: str) -> bool:
    """True when an assignment stops the shell from recording commands."""
    if name == "HISTFILE":
        return value in ("", "/dev/null")
    if name in _HISTORY_SIZE_VARS:
        return value in ("", "0")
    if name == "HISTCONTROL":
        return "ignorespace" in value or "ignoreboth" in value
    return name == "HISTIGNORE" and value.strip() in ("*", "*:*")


class Grammar:
    """The option syntax of one program.

    ``values`` lists the options that take a *required* value, short (``-o``) and long
    (``--output``) alike, space-separated; options whose value is optional (``--backup[=X]``)
    must not be listed, or they would swallow the next operand. ``posix`` stops option parsing
    at the first operand, as wrappers do (``sudo -u x CMD -rf`` must leave ``-rf`` to ``CMD``).
    ``long_dash`` makes ``-word`` one option rather than a cluster (``sqlite3 -cmd``).

    Long options may be abbreviated to any unambiguous prefix, as getopt_long and git allow
    (``rm --rec``): :meth:`Parsed.has` matches prefixes, so ``--rec`` counts as
    ``--recursive``, and ``--out=x`` is recorded as ``--output``. An abbreviation without ``=``
    never consumes the next word (only value options are declared, so an exact flag such as
    ``--start`` could otherwise be mistaken for ``--startas``).
    """

    __slots__ = ("_short_rx", "long_dash", "longs", "posix", "short_letters", "values")

    def __init__(self, values: str = "", *, posix: bool = False, long_dash: bool = False) -> None:
        self.values = frozenset(values.split())
        self.longs = tuple(sorted(v for v in self.values if v.startswith("--")))
        # the short options that take a value, in one string (order is irrelevant)
        self.short_letters = "".join(v[1] for v in self.values if len(v) == 2 and v != "--")
        self._short_rx: re.Pattern[str] | None = None
        self.posix = posix
        self.long_dash = long_dash

    def expand(self, name: str) -> str | None:
        """The value option ``name`` abbreviates, if exactly one."""
        if len(name) < 4:
            return None
        found = [full for full in self.longs if full.startswith(name)]
        return found[0] if len(found) == 1 else None

    def short_values(self) -> re.Pattern[str]:
        """A character class of :attr:`short_letters`: one C-level scan finds where a cluster's
        value-taking letter starts. Compiled on first use: hundreds of grammars are declared at
        import time and a hook process parses the options of a few."""
        rx = self._short_rx
        if rx is None:
            rx = self._short_rx = re.compile(f"[{re.escape(self.short_letters)}]")
        return rx


def matches(opt: str, *names: str) -> bool:
    """Whether option ``opt`` as written is one of ``names`` or abbreviates a long one."""
    return _matches(opt, names)


def _matches(opt: str, names: tuple[str, ...]) -> bool:
    if opt in names:
        return True
    return opt[:2] == "--" and len(opt) > 2 and any(n.startswith(opt) for n in names)


class Parsed(msgspec.Struct):
    """Options (in order, ``(name, value-or-None)``) and operands of one invocation.

    A Struct (like :class:`Acc`) so that making one, once per program run, runs no Python
    ``__init__``."""

    opts: list[tuple[str, str | None]]
    operands: list[str]

    def has(self, *names: str) -> bool:
        """Whether any of ``names`` was given (long options also as an abbreviation)."""
        for name, _ in self.opts:  # inlined _matches: this is the hottest loop of the layer
            if name in names:
                return True
            if name[:2] == "--" and len(name) > 2:
                for full in names:
                    if full.startswith(name):
                        return True
        return False

    def value(self, *names: str) -> str | None:
        """The last value given to any of ``names``, or None."""
        for name, val in reversed(self.opts):
            if val is not None and _matches(name, names):
                return val
        return None

    def values(self, *names: str) -> list[str]:
        return [val for name, val in self.opts if val is not None and _matches(name, names)]


#: Option clusters up to this long are scanned for a value-taking letter in Python; longer
#: ones with one regex search (still linear on a hostile `-rrrr...`).
_SHORT_CLUSTER = 8


def parse(args: Sequence[str], grammar: Grammar) -> Parsed:
    """Split ``args`` into options and operands following getopt_long conventions."""
    argv = args
    opts: list[tuple[str, str | None]] = []
    operands: list[str] = []
    takes = grammar.values
    i, n = 0, len(argv)
    while i < n:
        word = argv[i]
        i += 1
        if word == "--":
            operands.extend(argv[i:])
            break
        if len(word) < 2 or word[0] != "-":
            operands.append(word)
            if grammar.posix:
                operands.extend(argv[i:])
                break
            continue
        if word[1] == "-" or grammar.long_dash:
            name, eq, val = word.partition("=")
            if eq and name not in takes and name[:2] == "--":
                # An abbreviation with an attached value names a value option. Without `=` it
                # may be an exact flag we do not list (`--start` vs `--startas`): never consume.
                name = grammar.expand(name) or name
            if eq:
                opts.append((name, val))
            elif name in takes:
                opts.append((name, argv[i] if i < n else None))
                i += 1
            else:
                opts.append((name, None))
            continue
        # A cluster: flags up to the first letter that takes a value, which takes the rest of
        # the word (or the next word). Found with one regex scan so a huge `-rrrr...` is linear;
        # a flag repeated in one cluster is recorded once.
        size = cut = len(word)
        letters = grammar.short_letters
        if letters:
            if size <= _SHORT_CLUSTER:  # `-la`: a few membership tests beat a regex call
                for k in range(1, size):
                    if word[k] in letters:
                        cut = k
                        break
            else:
                found = grammar.short_values().search(word, 1)
                if found is not None:
                    cut = found.start()
        for letter in dict.fromkeys(word[1:cut]):
            opts.append(("-" + letter, None))
        if cut < size:
            if cut + 1 < size:
                opts.append(("-" + word[cut], word[cut + 1 :]))
            else:
                opts.append(("-" + word[cut], argv[i] if i < n else None))
                i += 1
    return Parsed(opts, operands)


def names(text: str) -> frozenset[str]:
    """A frozenset of the space-separated words of ``text`` (option and keyword tables)."""
    return frozenset(text.split())


STDOUT_PATHS = frozenset({"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "/dev/tty"})


def is_stdout(path: str) -> bool:
    """True for output paths that are really the program's stdout."""
    return path in STDOUT_PATHS


def is_url(word: str) -> bool:
    return "://" in word


def is_pathlike(word: str) -> bool:
    """A word an unknown program most likely treats as a path."""
    if not word or "://" in word:
        return False
    return "/" in word or word[0] in "~."


def port_of(text: str | None) -> int | None:
    if text is None or not (text.isascii() and text.isdigit()):  # "¹".isdigit() is True
        return None
    number = int(text)
    return number if 0 < number < 65536 else None


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host:port`` / ``[v6]:port`` / ``host`` -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, port_of(rest.lstrip(":")) if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port_of(port)
    return text, None


#: Spellings of "read the list from stdin" for a file-list option (``tar -T -``).
STDIN_NAMES = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def _copied_name(source: str) -> str:
    """The name a recursive copy of ``source`` takes in a target directory, or ``""`` when the
    source stands for many names (``.``, ``src/.``, ``src/*``, ``~``, ``$X``)."""
    name = source.rstrip("/").rpartition("/")[2]
    if name in ("", ".", "..", "~") or any(c in name for c in "*?[{$`"):
        return ""
    return name


class Acc(msgspec.Struct):
    """A mutable accumulator for one handler's findings; :meth:`build` freezes it.

    A Struct: its lists and flags are set up in C, with no Python ``__init__`` (one per program
    run)."""

    files: list[FileRef] = msgspec.field(default_factory=list)
    net: list[NetRef] = msgspec.field(default_factory=list)
    nested: list[Argv] = msgspec.field(default_factory=list)
    shell: list[str] = msgspec.field(default_factory=list)
    shell_args: tuple[str, ...] = ()
    inline: list[tuple[str, str]] = msgspec.field(default_factory=list)
    env: list[tuple[str, str]] = msgspec.field(default_factory=list)
    markers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    stdin_is_code: bool = False
    outputs_network: bool = False
    outputs_decoded: bool = False
    names_on_stdin: bool = False
    names_files: tuple[str, ...] = ()
    args_files: tuple[str, ...] = ()
    args_delimiter: str = ""
    privileged: bool = False
    detached: bool = False
    remote: bool = False

    def file(self, op: FileOp, raw: str | None, *, recursive: bool = False, into: str = "") -> None:
        if not raw:
            return
        self.files.append(FileRef(op, raw, recursive, into))
        if (
            (op is _WRITE or op is _APPEND)
            and raw.startswith("/dev/")
            and raw.startswith(_BLOCK_DEVICE_PREFIXES)
        ):
            self.markers.append(("fs.device-write", raw))

    def copy_into(self, dest: str, sources: Sequence[str], *, is_dir: bool | None) -> None:
        """The recursive write of copying ``sources`` into ``dest``. A copy lands in
        ``dest/NAME`` when ``dest`` is a directory (``is_dir``: known from the command line,
        ``None``: looked up on disk), so only NAME is written there; a source that stands for
        a directory's contents (``src/.``, ``src/*``; rsync's ``src/``) writes any name in
        ``dest``, which is then taken whole, as is ``dest`` that is not a directory."""
        for source in sources:
            name = _copied_name(source)
            if not name:
                self.file(_WRITE, dest, recursive=True)
            elif is_dir:
                self.file(_WRITE, dest.rstrip("/") + "/" + name, recursive=True)
            elif is_dir is None:
                self.file(_WRITE, dest, recursive=True, into=name)
            else:
                self.file(_WRITE, dest, recursive=True)

    def files_of(self, op: FileOp, raws: Iterable[str], *, recursive: bool = False) -> None:
        for raw in raws:
            self.file(op, raw, recursive=recursive)

    def read(self, *raws: str | None) -> None:
        for raw in raws:
            self.file(_READ, raw)

    def write(self, *raws: str | None) -> None:
        for raw in raws:
            self.file(_WRITE, raw)

    def link(self, direction: NetDirection, target: str | None, port: int | None = None) -> None:
        if target:
            self.net.append(NetRef(direction, target, port))

    def mark(self, name: str, detail: str = "") -> None:
        self.markers.append((name, detail))

    def run(self, argv: Iterable[str]) -> None:
        vector = tuple(argv)
        if vector:
            self.nested.append(vector)

    def code(self, text: str | None) -> None:
        if text is not None:
            self.shell.append(text)

    def assign(self, name: str, value: str) -> None:
        """An environment assignment, with markers for the variables rules care about."""
        self.env.append((name, value))
        marker = _ENV_MARKERS.get(name)
        if marker is not None:
            self.markers.append((marker, value))
        if (name.startswith("HIST") or name == "SAVEHIST") and _disables_history(name, value):
            self.markers.append(("history.disable", name))

    def build(self) -> Effects:
        files, net, nested, shell = self.files, self.net, self.nested, self.shell
        inline, env, markers = self.inline, self.env, self.markers
        if not (files or net or nested or shell or inline or env or markers or self.stdin_is_code
                or self.outputs_network or self.outputs_decoded or self.names_on_stdin
                or self.names_files or self.args_files or self.privileged
                or self.detached or self.remote):  # fmt: skip
            return _NO_EFFECTS  # nothing found (`ls -la`): the shared empty answer
        return Effects(  # skip tuple() for the (common) empty lists
            files=tuple(files) if files else (),
            net=tuple(net) if net else (),
            nested=tuple(nested) if nested else (),
            shell_code=tuple(shell) if shell else (),
            shell_args=self.shell_args,
            inline_code=tuple(inline) if inline else (),
            env_set=tuple(env) if env else (),
            markers=tuple(markers) if markers else (),
            stdin_is_code=self.stdin_is_code,
            outputs_network=self.outputs_network,
            outputs_decoded=self.outputs_decoded,
            names_on_stdin=self.names_on_stdin,
            names_files=self.names_files,
            args_files=self.args_files,
            args_delimiter=self.args_delimiter,
            privileged=self.privileged,
            detached=self.detached,
            remote=self.remote,
        )
