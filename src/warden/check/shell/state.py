"""Shared state of one shell analysis: limits, the parser, and the walker's working records.

:class:`_Sink` collects facts across the whole analysis (nested code included); :class:`_Frame`
says how the text being walked relates to the command the person sees; :class:`_Out` is what a
construct writes to stdout. The traversal (:mod:`.walker`), word expansion (:mod:`.expand`) and
program runs (:mod:`.run`) share them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import NamedTuple

import msgspec
import tree_sitter

from warden.check.facts import Exec, Facts, FileAccess, FileOp, Marker, NetAccess, Origin, Span
from warden.check.paths import PathContext
from warden.check.shell.effects import Effects

#: Commands longer than this are analysed up to this length and marked incomplete: nothing an
#: agent legitimately types is longer, and the parse must stay bounded in time.
MAX_COMMAND_CHARS = 512 * 1024

#: Nesting of ``sh -c`` / ``eval`` / decoded payloads followed before giving up (marked).
MAX_DEPTH = 8

#: Syntax nodes visited per analysis before giving up (marked): bounds time on huge inputs.
MAX_NODES = 200_000

#: Syntactic nesting ($( $( ... ))), ((( ))) ...) followed before giving up (marked). Each level
#: costs a few Python frames; this stays far below the interpreter's recursion limit.
MAX_SYNTAX_DEPTH = 100

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox"})

_INTERPRETERS = {
    "python": "python", "python2": "python", "python3": "python", "perl": "perl",
    "node": "node", "nodejs": "node", "ruby": "ruby", "php": "php", "lua": "lua",
    "Rscript": "r", "tclsh": "tcl", "wish": "tcl", "jimsh": "tcl", "expect": "tcl",
}  # fmt: skip

_KNOWN_VARS = frozenset({"HOME", "PWD", "IFS", "USER", "LOGNAME", "SHELL", "OLDPWD", "TMPDIR"})

_local = threading.local()

EffectsFn = Callable[[tuple[str, ...]], Effects]

InlineFn = Callable[[str, str], Effects]


def _parser() -> tree_sitter.Parser:
    """One parser per thread: tree-sitter parsers are not thread-safe, languages are."""
    parser: tree_sitter.Parser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = tree_sitter.Parser(tree_sitter.Language(_bash_language()))
        _local.parser = parser
    return parser


def _bash_language() -> object:
    """The tree-sitter-bash grammar, loaded on first use (simple commands need no parser).

    Its compiled binding is loaded without the package's ``__init__``, which imports
    :mod:`importlib.resources` (a dozen modules, ~15 ms of a hook's start) only to serve
    highlight queries warden never reads. Should the package layout change, the ordinary
    import is the fallback.
    """
    binding = sys.modules.get("tree_sitter_bash._binding")
    if binding is None:
        try:
            from importlib.machinery import PathFinder
            from importlib.util import module_from_spec

            package = PathFinder.find_spec("tree_sitter_bash")
            where = package.submodule_search_locations if package is not None else None
            spec = PathFinder.find_spec("tree_sitter_bash._binding", where) if where else None
            if spec is None or spec.loader is None:
                raise ImportError("tree_sitter_bash._binding not found")
            binding = module_from_spec(spec)
            spec.loader.exec_module(binding)
        except Exception:  # any surprise: the package's own import path
            import tree_sitter_bash

            return tree_sitter_bash.language()
    return binding.language()


class _Out(msgspec.Struct):
    """What a construct writes to stdout: where it came from, and its text when known.

    ``listing`` holds directories whose file names the output lists (``find DIR``, ``ls DIR``):
    a consumer that takes names as arguments (``xargs cat``) reads files inside them.
    """

    origins: frozenset[Origin] = frozenset()
    value: str | None = None
    listing: tuple[str, ...] = ()

    def listed(self) -> tuple[str, ...]:
        """The listed directories as names (:func:`inside`)."""
        return inside(self.listing)


def inside(directories: tuple[str, ...]) -> tuple[str, ...]:
    """Directories standing for the names found in them: a trailing slash, which path rules
    read as "something inside" (``find ~/.ssh | xargs cat`` reads ``~/.ssh/``). The root
    becomes ``//``: a bare ``/`` is the directory itself (``cat /`` reads no file), while
    ``find / -name id_rsa -exec cat {} +`` reads files anywhere."""
    return tuple(d.rstrip("/") + "/" if d.strip("/") else "//" for d in directories)


_NONE = _Out()
#: Origins that make a file's unknown text worth remembering: run, it is remote or hidden code.
_RUNNABLE_ORIGINS = frozenset({Origin.NETWORK, Origin.DECODED})


class _Sink(msgspec.Struct):
    """Facts collected across the whole analysis, nested code included."""

    paths: PathContext
    effects_of: EffectsFn
    inline: InlineFn
    execs: list[Exec] = msgspec.field(default_factory=list)
    files: list[FileAccess] = msgspec.field(default_factory=list)
    net: list[NetAccess] = msgspec.field(default_factory=list)
    markers: list[Marker] = msgspec.field(default_factory=list)
    env_read: list[str] = msgspec.field(default_factory=list)
    env_set: list[tuple[str, str]] = msgspec.field(default_factory=list)
    live_globs: set[str] = msgspec.field(default_factory=set)  # words the shell would glob-expand
    listed_glob: bool = False  # some program listed a glob (see shown_listings)
    loop_walks: int = 0  # loop bodies walked with a bound variable (see loops.py)
    loop_vars: set[str] | None = None  # variables a loop or `read` bound (see loops.py)
    glob_cwd: bool = False  # the cwd is a globbed directory (`cd ~/.a?s`)
    fd_outs: dict[str, _Out] | None = None  # what each `<(...)` prints, by the path it stands for
    links: dict[str, str] | None = None  # links the command made: link path -> target path
    written: dict[str, _Out] | None = None  # files written with a known text, by path
    stdout_file: tuple[str, bool] | None = None  # the last `> FILE` (path, append) redirected
    nodes: int = 0
    nesting: int = 0
    shlexed: int = 0  # characters of error regions split by shlex (see walker._error_fallback)

    def fd_path(self, out: _Out) -> str:
        """The path a process substitution ``<(...)`` is given (``/dev/fd/63``, then 62, ...),
        remembering what its commands print when that is known, for a program that reads file
        names from it (``tar -T <(find ~/.ssh)``, ``xargs -a <(echo ~/.npmrc) cat``), or
        where it came from when that is the network or a decoder (``BASH_ENV=<(curl URL)``
        sources remote code)."""
        if out.value is None and not out.listing and not (out.origins & _RUNNABLE_ORIGINS):
            return "/dev/fd/63"
        if self.fd_outs is None:
            self.fd_outs = {}
        path = f"/dev/fd/{63 - len(self.fd_outs)}"
        self.fd_outs[path] = out
        return path

    def mark(self, name: str, detail: str, span: Span) -> None:
        self.markers.append(Marker(name=name, detail=detail[:200], span=span))

    def facts(self) -> Facts:
        env_read, markers = self.env_read, self.markers  # deduplicated, in order (often empty)
        files = tuple(self.files)
        if self.listed_glob and shows_only(self.execs, self.net, files):
            files = tuple(f.shown() if f.op is _LIST and f.glob else f for f in files)
        return Facts(
            execs=tuple(self.execs),
            files=files,
            net=tuple(self.net),
            env_read=tuple(dict.fromkeys(env_read)) if env_read else (),
            env_set=tuple(self.env_set),
            markers=tuple(dict.fromkeys(markers)) if markers else (),
        )


_LIST = FileOp.LIST

#: Programs that only show names, sizes or lines to whoever reads the output (no program here
#: takes a name it reads and opens it; their own file operands are matched as usual).
SHOWS_ONLY = frozenset({
    "ls", "dir", "vdir", "du", "tree", "exa", "eza", "lsd", "find", "fd", "fdfind", "stat",
    "realpath", "readlink", "head", "tail", "sort", "uniq", "wc", "column", "cut", "tr", "nl",
    "grep", "egrep", "fgrep", "less", "more",
})  # fmt: skip


def shows_only(execs: list[Exec], net: list[NetAccess], files: tuple[FileAccess, ...]) -> bool:
    """Whether a command only shows what it lists (``ls ~/*``, ``du -sh ~/* | sort -h``): every
    program is a plain display program with arguments known before it runs, nothing is written
    and nothing goes over the network. Then no listed name reaches a reader inside the command
    (``cat $(ls ~/.npmr?)``, ``ls ~/.npmr? | xargs cat`` and ``ls ... > list`` do not qualify);
    a later action that reads a shown name is checked on its own."""
    if net:
        return False
    for e in execs:
        if e.name not in SHOWS_ONLY or e.dynamic or e.via or e.args_from:
            return False
    return all(f.op is _LIST or f.op is FileOp.READ for f in files)


class _Function(NamedTuple):
    """A shell function: its body node and the code it was defined in, into which the node's
    byte offsets point (a call from nested code, `f() { cat ~/.ssh/id_rsa; }; eval f`, walks
    it in a frame whose own text is the nested code's)."""

    body: tree_sitter.Node
    src: bytes
    text: str


class _Frame(msgspec.Struct):
    """How the text being walked relates to the command the person sees."""

    src: bytes
    text: str
    depth: int = 0
    via: tuple[str, ...] = ()
    span: Span | None = None  # nested code: every fact points at this outer span
    privileged: bool = False
    background: bool = False
    vars: dict[str, str] = msgspec.field(default_factory=dict)
    functions: dict[str, _Function] = msgspec.field(default_factory=dict)
    calling: tuple[str, ...] = ()
    pipe_span: Span | None = None  # the pipeline being walked: evidence for data-flow findings
    remote: bool = False  # runs on another machine or in a container (ssh, docker run)
    exec_stdin: _Out | None = None  # `exec 0< <(find ~/.ssh)`: the shell's stdin from then on


def _node_text(frame: _Frame, node: tree_sitter.Node) -> str:
    return frame.src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _span(frame: _Frame, node: tree_sitter.Node) -> Span:
    if frame.span is not None:
        return frame.span
    if frame.text.isascii():
        return (node.start_byte, node.end_byte)
    return (
        len(frame.src[: node.start_byte].decode("utf-8", "replace")),
        len(frame.src[: node.end_byte].decode("utf-8", "replace")),
    )
