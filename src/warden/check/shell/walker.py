"""Lift a shell command line into :class:`~warden.check.facts.Facts`.

The command is parsed by tree-sitter-bash (chosen over bashlex: it parses every bash construct,
recovers from errors instead of raising, and is ~17x faster; docs/decisions.md has the numbers).
The walker visits the tree the way bash would run it: pipelines connect stdout to stdin, so each
program knows where its input came from (:class:`~warden.check.facts.Origin`); redirections
become file reads and writes; ``$(...)``, backticks and ``<(...)`` are analysed as commands and
their outputs flow into arguments; ``sh -c``, ``eval``, ``ssh host CMD``, wrappers such as
``sudo``/``env``/``xargs``/``find -exec`` and inline interpreter code are analysed recursively.

What a program does with its argv comes from :mod:`warden.check.shell.semantics`; what inline
code does from :mod:`warden.check.shell.inline`. Anything the walker cannot follow becomes an
``analysis.*`` marker, which the policy denies by default: could-not-analyse is a finding.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_bash

from warden.check.facts import (
    Exec,
    Facts,
    FileAccess,
    FileOp,
    Marker,
    NetAccess,
    NetDirection,
    Origin,
    Span,
)
from warden.check.paths import PathContext, is_within, normalize, resolve
from warden.check.shell import values
from warden.check.shell.effects import Effects, NetRef
from warden.check.shell.netloc import parse_target
from warden.check.shell.words import (
    LIT,
    QUOTED,
    SPLIT,
    Text,
    WordInfo,
    decode_ansi_c,
    finish_word,
)

__all__ = ["MAX_COMMAND_CHARS", "MAX_DEPTH", "analyze_command"]

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
}  # fmt: skip
_SCOPE_NODES = frozenset(
    {
        "program", "list", "compound_statement", "subshell", "do_group", "if_statement",
        "elif_clause", "else_clause", "while_statement", "for_statement",
        "c_style_for_statement", "case_statement", "case_item", "negated_command",
        "test_command", "binary_expression", "unary_expression", "parenthesized_expression",
    }
)  # fmt: skip
_KNOWN_VARS = frozenset({"HOME", "PWD", "IFS", "USER", "LOGNAME", "SHELL", "OLDPWD", "TMPDIR"})

#: A command line of plain words (no quoting, expansion, globbing, redirection or operators):
#: its argv is its words, exactly as bash would split it, so the parser is skipped.
_SIMPLE_COMMAND = re.compile(r"[ \t]*[A-Za-z0-9_./:@%+,-][A-Za-z0-9_./:=@%+, \t-]*")
#: Words the parser treats as syntax (declarations, keywords): never on the fast path.
_SYNTAX_WORDS = frozenset(
    {"export", "declare", "typeset", "local", "readonly", "unset", "alias", "if", "then", "else",
     "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "function", "select",
     "time", "coproc", "in"}
)  # fmt: skip


def _is_simple(text: str) -> bool:
    """Whether ``text`` is plain words the fast path splits exactly as bash would."""
    if not _SIMPLE_COMMAND.fullmatch(text):
        return False
    words = text.split()
    return bool(words) and "=" not in words[0] and words[0] not in _SYNTAX_WORDS


_CI_EXPR = re.compile(r"\$\{\{[^{}\n]{0,400}\}\}")
_DEV_NET = re.compile(r"/dev/(?:tcp|udp)/[^/\s]+/\d+")

_local = threading.local()

EffectsFn = Callable[[tuple[str, ...]], Effects]
InlineFn = Callable[[str, str], Effects]


def _parser() -> tree_sitter.Parser:
    """One parser per thread: tree-sitter parsers are not thread-safe, languages are."""
    parser: tree_sitter.Parser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
        _local.parser = parser
    return parser


@dataclass(slots=True)
class _Out:
    """What a construct writes to stdout: where it came from, and its text when known.

    ``listing`` holds directories whose file names the output lists (``find DIR``, ``ls DIR``):
    a consumer that takes names as arguments (``xargs cat``) reads files inside them.
    """

    origins: frozenset[Origin] = frozenset()
    value: str | None = None
    listing: tuple[str, ...] = ()


_NONE = _Out()


@dataclass(slots=True)
class _Sink:
    """Facts collected across the whole analysis, nested code included."""

    paths: PathContext
    effects_of: EffectsFn
    inline: InlineFn
    execs: list[Exec] = field(default_factory=list)
    files: list[FileAccess] = field(default_factory=list)
    net: list[NetAccess] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    env_read: list[str] = field(default_factory=list)
    env_set: list[tuple[str, str]] = field(default_factory=list)
    live_globs: set[str] = field(default_factory=set)  # words the shell would glob-expand
    nodes: int = 0
    nesting: int = 0

    def mark(self, name: str, detail: str, span: Span) -> None:
        self.markers.append(Marker(name=name, detail=detail[:200], span=span))

    def facts(self) -> Facts:
        return Facts(
            execs=tuple(self.execs),
            files=tuple(self.files),
            net=tuple(self.net),
            env_read=tuple(dict.fromkeys(self.env_read)),
            env_set=tuple(self.env_set),
            markers=tuple(dict.fromkeys(self.markers)),
        )


@dataclass(slots=True)
class _Frame:
    """How the text being walked relates to the command the person sees."""

    src: bytes
    text: str
    depth: int = 0
    via: tuple[str, ...] = ()
    span: Span | None = None  # nested code: every fact points at this outer span
    privileged: bool = False
    background: bool = False
    vars: dict[str, str] = field(default_factory=dict)
    functions: dict[str, tree_sitter.Node] = field(default_factory=dict)
    calling: tuple[str, ...] = ()
    pipe_span: Span | None = None  # the pipeline being walked: evidence for data-flow findings


def analyze_command(
    command: str,
    paths: PathContext,
    *,
    effects_of: EffectsFn | None = None,
    inline: InlineFn | None = None,
) -> Facts:
    """Facts for one shell command line (pure apart from resolving symlinks on disk)."""
    if effects_of is None:
        from warden.check.shell.semantics import effects_of as _effects_of

        effects_of = _effects_of
    if inline is None:
        from warden.check.shell.inline import analyze_inline

        inline = analyze_inline
    sink = _Sink(paths=paths, effects_of=effects_of, inline=inline)
    text = command
    if len(text) > MAX_COMMAND_CHARS:
        sink.mark("analysis.incomplete", f"command is {len(text)} characters", (0, 0))
        text = text[:MAX_COMMAND_CHARS]
    if "${{" in text:  # CI template expressions (GitHub Actions): unknown values, same length
        text = _CI_EXPR.sub(lambda m: "${" + "_" * (len(m.group(0)) - 3) + "}", text)
    if "\0" in text:
        sink.mark("analysis.nul-byte", "the command contains a NUL byte", (text.index("\0"),) * 2)
        text = text.replace("\0", " ")
    if _is_simple(text):
        words = tuple(text.split())
        _run(sink, _Frame(src=text.encode(), text=text), words, _NONE, (0, len(text)), frozenset())
        return sink.facts()
    _walk_code(sink, _Frame(src=b"", text=text), text, _NONE)
    return sink.facts()


# --- traversal -------------------------------------------------------------------------------


def _walk_code(sink: _Sink, parent: _Frame, code: str, stdin: _Out, *, via: str = "") -> _Out:
    """Parse ``code`` and walk it in a child frame (top level when parent.src is empty)."""
    nested = bool(parent.src) or parent.span is not None
    if nested and parent.depth >= MAX_DEPTH:
        sink.mark("analysis.incomplete", "code nested too deeply", parent.span or (0, 0))
        return _NONE
    src = code.encode("utf-8", "surrogatepass")
    frame = _Frame(
        src=src,
        text=code,
        depth=parent.depth + (1 if nested else 0),
        via=parent.via + ((via,) if via else ()),
        span=parent.span,
        privileged=parent.privileged,
        background=parent.background,
        vars=dict(parent.vars),
        functions=dict(parent.functions),
        calling=parent.calling,
    )
    tree = _parser().parse(src)
    root = tree.root_node
    if root.has_error:
        sink.mark("analysis.parse-error", _error_snippet(root, code), _span(frame, root))
    return _walk(sink, frame, root, stdin)


def _error_snippet(root: tree_sitter.Node, code: str) -> str:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            start = node.start_byte
            return f"near byte {start}: {code.encode()[start : start + 40].decode(errors='replace')!r}"
        stack.extend(reversed(node.children))
    return "syntax error"


def _span(frame: _Frame, node: tree_sitter.Node) -> Span:
    if frame.span is not None:
        return frame.span
    if frame.text.isascii():
        return (node.start_byte, node.end_byte)
    return (
        len(frame.src[: node.start_byte].decode("utf-8", "replace")),
        len(frame.src[: node.end_byte].decode("utf-8", "replace")),
    )


def _walk(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    sink.nodes += 1
    if sink.nodes > MAX_NODES:
        if sink.nodes == MAX_NODES + 1:
            sink.mark("analysis.incomplete", "command too complex", _span(frame, node))
        return _NONE
    if sink.nesting >= MAX_SYNTAX_DEPTH:
        sink.mark("analysis.incomplete", "command nested too deeply", _span(frame, node))
        return _NONE
    sink.nesting += 1
    try:
        return _walk_node(sink, frame, node, stdin)
    finally:
        sink.nesting -= 1


def _walk_node(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    kind = node.type
    if kind == "pipeline":
        return _pipeline(sink, frame, node, stdin)
    if kind == "command":
        return _command(sink, frame, node, stdin, ())
    if kind == "redirected_statement":
        return _redirected(sink, frame, node, stdin)
    if kind in ("variable_assignment", "variable_assignments"):
        _assignments(sink, frame, node)
        return _NONE
    if kind == "declaration_command":
        return _declaration(sink, frame, node)
    if kind == "unset_command":
        for child in node.named_children:
            name = _node_text(frame, child)
            sink.mark("env.unset", name, _span(frame, node))
            if name in ("HISTFILE", "HISTSIZE", "HISTFILESIZE"):
                sink.mark("history.disable", name, _span(frame, node))
        return _NONE
    if kind == "function_definition":
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is not None and body is not None:
            frame.functions[_node_text(frame, name_node)] = body
        return _NONE
    if kind == "ERROR":
        return _error_fallback(sink, frame, node, stdin)
    if kind in ("command_substitution", "process_substitution"):
        return _substitution(sink, frame, node)
    if kind == "subshell":
        saved_paths = sink.paths
        out = _walk_children(sink, frame, node, stdin, kind)
        sink.paths = saved_paths
        return out
    if kind == "heredoc_body":
        return _NONE
    if kind in ("while_statement", "for_statement", "c_style_for_statement"):
        _loop_markers(sink, frame, node)
    return _walk_children(sink, frame, node, stdin, kind)


def _walk_children(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out, kind: str
) -> _Out:
    last = _NONE
    background_next = _backgrounded_children(node)
    for child in node.children:
        if not child.is_named:
            continue
        if child.id in background_next:
            saved = frame.background
            frame.background = True
            last = _walk(sink, frame, child, stdin)
            frame.background = saved
        else:
            last = _walk(sink, frame, child, stdin if kind in _SCOPE_NODES else _NONE)
    return last


def _backgrounded_children(node: tree_sitter.Node) -> set[int]:
    """Children followed by ``&`` (run in the background)."""
    out: set[int] = set()
    prev: tree_sitter.Node | None = None
    for child in node.children:
        if child.type == "&" and prev is not None:
            out.add(prev.id)
        if child.is_named:
            prev = child
    return out


def _loop_markers(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> None:
    text = _node_text(frame, node)
    if "/dev/tcp/" in text or "/dev/udp/" in text:
        sink.mark("net.scan-loop", "loop over /dev/tcp connections", _span(frame, node))


def _pipeline(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    out = stdin
    saved = frame.pipe_span
    frame.pipe_span = _span(frame, node)
    for child in node.children:
        if child.is_named:
            out = _walk(sink, frame, child, out)
    frame.pipe_span = saved
    return out


def _redirected(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    body: tree_sitter.Node | None = None
    redirects: list[tree_sitter.Node] = []
    for child in node.children:
        if child.type in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            redirects.append(child)
        elif child.is_named and body is None:
            body = child
    new_stdin, stdout_taken, after = _apply_redirects(sink, frame, redirects, stdin)
    out = _NONE
    if body is not None:
        if body.type == "command":
            out = _command(sink, frame, body, new_stdin, ())
        else:
            out = _walk(sink, frame, body, new_stdin)
    if stdout_taken:
        out = _NONE
    for tail in after:  # `cat <<EOF | sh`: tree-sitter nests the rest of the pipeline here
        out = _walk(sink, frame, tail, out)
    return out


def _apply_redirects(
    sink: _Sink, frame: _Frame, redirects: list[tree_sitter.Node], stdin: _Out
) -> tuple[_Out, bool, list[tree_sitter.Node]]:
    """Record redirections; return (stdin for the body, stdout redirected?, trailing nodes)."""
    new_stdin = stdin
    stdout_taken = False
    after: list[tree_sitter.Node] = []
    for red in redirects:
        span = _span(frame, red)
        if red.type == "heredoc_redirect":
            body_text = ""
            for child in red.children:
                if child.type == "heredoc_body":
                    body_text = _heredoc_text(sink, frame, child)
                elif child.is_named and child.type not in ("heredoc_start", "heredoc_end"):
                    after.append(child)
            new_stdin = _Out(frozenset({Origin.LITERAL}), body_text)
            continue
        if red.type == "herestring_redirect":
            val = _Out(frozenset({Origin.LITERAL}))
            for child in red.named_children:
                words, origins = _eval_arg(sink, frame, child)
                val = _Out(frozenset({Origin.LITERAL}) | origins, " ".join(words) + "\n")
            new_stdin = val
            continue
        op = ""
        fd = ""
        target: tree_sitter.Node | None = None
        for child in red.children:
            if child.type == "file_descriptor":
                fd = _node_text(frame, child)
            elif child.type == "ERROR":  # `5<>` is not in tree-sitter-bash's grammar
                op += _node_text(frame, child).strip()
            elif not child.is_named:
                op = child.type
            elif target is None:
                target = child
        if target is None:
            continue
        words, _ = _eval_arg(sink, frame, target)
        dest = words[0] if words else _node_text(frame, target)
        if op in (">&", "<&", ">&-", "<&-") and (dest.isdigit() or dest == "-"):
            continue  # fd duplication
        if dest.startswith(("/dev/tcp/", "/dev/udp/")):
            _dev_net(sink, frame, dest, span)
            if op.startswith("<"):
                new_stdin = _Out(frozenset({Origin.NETWORK}))
            continue
        if dest in ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"):
            if op in (">", ">>", "&>", "&>>", ">|", ">&") and fd in ("", "1"):
                stdout_taken = True
            continue
        if op in ("<",):
            _file(sink, frame, FileOp.READ, dest, "<", span)
            new_stdin = _Out(frozenset({Origin.FILE}))
        elif op in (">", ">|", "&>", ">&"):
            _file(sink, frame, FileOp.WRITE, dest, ">", span)
            stdout_taken = stdout_taken or fd in ("", "1", "&")
        elif op in (">>", "&>>"):
            _file(sink, frame, FileOp.APPEND, dest, ">>", span)
            stdout_taken = stdout_taken or fd in ("", "1")
        elif op == "<>":
            _file(sink, frame, FileOp.READ, dest, "<>", span)
            _file(sink, frame, FileOp.WRITE, dest, "<>", span)
    return new_stdin, stdout_taken, after


def _heredoc_text(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> str:
    """A here-doc body, with substitutions inside it analysed as commands."""
    for child in node.named_children:
        if child.type in ("command_substitution", "expansion", "simple_expansion"):
            _eval_arg(sink, frame, child)
    return _node_text(frame, node)


def _dev_net(sink: _Sink, frame: _Frame, dest: str, span: Span) -> None:
    parts = dest.split("/")
    host = parts[3] if len(parts) > 3 else ""
    port = int(parts[4]) if len(parts) > 4 and parts[4].isdigit() else None
    proto = "udp" if dest.startswith("/dev/udp/") else "tcp"
    sink.net.append(
        NetAccess(direction=NetDirection.CONNECT, host=host, port=port, scheme=proto, url=dest,
                  by="bash", span=span)
    )  # fmt: skip
    sink.mark("net.dev-tcp", dest, span)


# --- commands --------------------------------------------------------------------------------


def _command(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out, extra: tuple[str, ...]
) -> _Out:
    span = _span(frame, node)
    argv: list[str] = list(extra)
    args_from: set[Origin] = set()
    assigns: list[tuple[str, str]] = []
    redirects: list[tree_sitter.Node] = []
    info = WordInfo()
    name_seen = False
    name_obfuscated: set[str] = set()
    for child in node.children:
        kind = child.type
        if kind == "variable_assignment":
            assigns.append(_assignment(sink, frame, child))
            continue
        if kind in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            redirects.append(child)
            continue
        if not child.is_named:
            continue
        target = child.named_children[0] if kind == "command_name" else child
        words, origins = _eval_arg(sink, frame, target, info)
        if kind == "command_name":
            name_seen = True
            name_obfuscated = set(info.tags)
            if words and target.type != "word" and _has_expansion(target):
                name_obfuscated.add("obfuscation.variable-command")
        args_from |= origins
        argv.extend(words)
    stdin, stdout_taken, after = _apply_redirects(sink, frame, redirects, stdin)
    for tag in sorted(info.tags):
        sink.mark(tag, _node_text(frame, node)[:80], span)
    for reason in sorted(info.incomplete):
        sink.mark("analysis.incomplete", reason, span)
    sink.env_read.extend(info.env_read)
    if not argv:
        for name, value in assigns:
            frame.vars[name] = value
            sink.env_set.append((name, value))
        return _NONE
    for name, value in assigns:
        sink.env_set.append((name, value))
    dynamic = info.dynamic and name_seen and ("$" in argv[0] or "`" in argv[0])
    if name_obfuscated and not dynamic:
        sink.mark("obfuscation.command-name", argv[0], span)
    out = _run(sink, frame, tuple(argv), stdin, span, frozenset(args_from), dynamic=dynamic)
    if stdout_taken:
        out = _NONE
    for tail in after:
        out = _walk(sink, frame, tail, out)
    return out


def _has_expansion(node: tree_sitter.Node) -> bool:
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type == "command_substitution":
            return True
        if cur.type in ("simple_expansion", "expansion"):
            names = [c for c in cur.named_children if c.type == "variable_name"]
            if names and not (names[0].text or b"").isdigit():
                return True
            continue
        stack.extend(cur.named_children)
    return False


def _run(
    sink: _Sink,
    frame: _Frame,
    argv: tuple[str, ...],
    stdin: _Out,
    span: Span,
    args_from: frozenset[Origin],
    *,
    dynamic: bool = False,
    via: tuple[str, ...] = (),
    privileged: bool = False,
    background: bool = False,
) -> _Out:
    """Record one program run and everything its argv makes it do."""
    raw_name = argv[0]
    if not raw_name:
        return _NONE  # `"" args`: bash finds no such command and runs nothing
    name = posixpath.basename(raw_name) or raw_name
    name = _fold_name(sink, name, span)
    if name in frame.functions:
        return _call_function(sink, frame, name, argv, stdin, span)
    if name in ("cd", "pushd") and len(argv) <= 3:
        _change_dir(sink, argv)
    try:
        eff = sink.effects_of((name, *argv[1:]) if raw_name == name else argv)
    except Exception as exc:  # a bug in a handler must not become an allow
        sink.mark("analysis.internal-error", f"{name}: {type(exc).__name__}: {exc}", span)
        eff = Effects()
    privileged = privileged or eff.privileged or frame.privileged
    background = background or frame.background
    sink.execs.append(
        Exec(name=name, argv=argv, span=span, via=frame.via + via, stdin=stdin.origins,
             args_from=args_from, background=background, privileged=privileged, dynamic=dynamic)
    )  # fmt: skip
    if raw_name != name and "/" in raw_name:
        _file(sink, frame, FileOp.EXEC, raw_name, name, span)
    out = _apply_effects(sink, frame, name, argv, eff, stdin, span, privileged, background, via)
    return out


def _change_dir(sink: _Sink, argv: tuple[str, ...]) -> None:
    """``cd DIR`` moves the cwd for the commands after it (``cd ~/.ssh && cat id_rsa``)."""
    operands = [a for a in argv[1:] if not a.startswith("-") or a == "-"]
    target = operands[0] if operands else "~"
    if target == "-" or "$" in target or "`" in target:
        return
    ctx = sink.paths
    sink.paths = PathContext(cwd=normalize(target, ctx), home=ctx.home, workspace=ctx.workspace)


def _fold_name(sink: _Sink, name: str, span: Span) -> str:
    if name.isascii():
        return name
    from warden.check.text import find_invisible, fold_confusables

    if find_invisible(name):
        sink.mark("obfuscation.invisible-char", name, span)
        name = "".join(ch for ch in name if ch.isprintable() and not ch.isspace()) or name
    folded = fold_confusables(name) or name
    if folded != name:
        sink.mark("obfuscation.confusable", f"{name} looks like {folded}", span)
    return folded


def _call_function(
    sink: _Sink, frame: _Frame, name: str, argv: tuple[str, ...], stdin: _Out, span: Span
) -> _Out:
    if name in frame.calling:
        body_text = _node_text(frame, frame.functions[name])
        kind = "resource.fork-bomb" if "&" in body_text or "|" in body_text else "resource.recursion"
        sink.mark(kind, f"function {name} calls itself", span)
        return _NONE
    saved = frame.calling
    saved_vars = dict(frame.vars)
    frame.calling = (*saved, name)
    frame.vars["@"] = frame.vars["*"] = " ".join(argv[1:])
    for index, arg in enumerate(argv[1:10], start=1):
        frame.vars[str(index)] = arg
    out = _walk(sink, frame, frame.functions[name], stdin)
    frame.calling = saved
    frame.vars = saved_vars
    return out


def _apply_effects(
    sink: _Sink,
    frame: _Frame,
    name: str,
    argv: tuple[str, ...],
    eff: Effects,
    stdin: _Out,
    span: Span,
    privileged: bool,
    background: bool,
    via: tuple[str, ...],
) -> _Out:
    for ref in eff.files:
        _file(sink, frame, ref.op, ref.raw, name, span, recursive=ref.recursive)
    for net in eff.net:
        _net(sink, net, name, span, stdin)
    for mname, detail in eff.markers:
        sink.mark(mname, detail, span)
    sink.env_set.extend(eff.env_set)
    if eff.detached and not any(m.startswith("detach.") for m, _ in eff.markers):
        sink.mark("detach.other", name, span)
    here = (*via, name)
    roots = tuple(ref.raw for ref in eff.files if ref.op is FileOp.LIST)
    for inner in eff.nested:
        if inner:
            inner = _bind_names(inner, name, roots, stdin)
            _run(sink, frame, inner, stdin, span, frozenset(), via=here,
                 privileged=privileged, background=background or eff.detached)  # fmt: skip
    for code in eff.shell_code:
        child = _Frame(src=b"", text="", depth=frame.depth, via=frame.via + here, span=span,
                       privileged=privileged, background=background or eff.detached,
                       vars=frame.vars, functions=frame.functions)  # fmt: skip
        _walk_code(sink, child, code, stdin, via="remote" if eff.remote else "")
    for lang, code in eff.inline_code:
        _inline(sink, frame, lang, code, name, span, privileged, via)
    if eff.stdin_is_code:
        _stdin_code(sink, frame, name, stdin, span, privileged, via)
    # what this program prints
    origins: set[Origin] = set(stdin.origins)
    if eff.outputs_network:
        origins.add(Origin.NETWORK)
    if eff.outputs_decoded:
        origins.add(Origin.DECODED)
    if any(ref.op is FileOp.READ for ref in eff.files):
        origins.add(Origin.FILE)
    origins.add(Origin.COMMAND)
    listing = roots if name in _LISTERS else ()
    value: str | None = None
    if name == "echo":
        value = values.echo_value(argv[1:])
    elif name == "printf":
        value = values.printf_value(argv[1:])
        if value is not None and argv[1:] and values.hides_text(argv[1]):
            origins.add(Origin.DECODED)
    elif stdin.value is not None:
        value = values.transform(name, argv[1:], stdin.value)
        if value is not None and value != stdin.value and name != "cat":
            origins.add(Origin.DECODED)
    if not listing and stdin.listing and name in _NAME_FILTERS:
        listing = stdin.listing  # `find DIR | grep x | xargs cat` still names files in DIR
    return _Out(frozenset(origins), value, listing)


#: Programs whose output is a list of file names under their operands.
_LISTERS = frozenset({"find", "ls", "fd", "fdfind", "tree", "locate", "du"})
#: Programs that pass names through (a filtered listing is still a listing).
_NAME_FILTERS = frozenset({"grep", "egrep", "fgrep", "rg", "head", "tail", "sort", "uniq", "sed",
                           "awk", "cut", "tr", "cat", "tee"})  # fmt: skip


def _bind_names(
    inner: tuple[str, ...], name: str, roots: tuple[str, ...], stdin: _Out
) -> tuple[str, ...]:
    """File names a wrapper hands to its command: ``find DIR -exec cat {} ;`` reads files in
    DIR, ``find DIR | xargs cat`` too. The directory stands in with a trailing slash, which
    path rules read as "something inside it"."""
    if name == "find" and "{}" in inner:
        dirs = [r.rstrip("/") + "/" for r in roots] or ["./"]
        return tuple(d for arg in inner for d in ([*dirs] if arg == "{}" else [arg]))
    if name == "xargs" and stdin.listing:
        dirs = tuple(r.rstrip("/") + "/" for r in stdin.listing)
        if any("{}" in arg for arg in inner):
            return tuple(d for arg in inner for d in (dirs if arg == "{}" else (arg,)))
        return (*inner, *dirs)
    return inner


def _inline(
    sink: _Sink, frame: _Frame, lang: str, code: str, name: str, span: Span,
    privileged: bool, via: tuple[str, ...],
) -> None:  # fmt: skip
    if frame.depth >= MAX_DEPTH:
        sink.mark("analysis.incomplete", "code nested too deeply", span)
        return
    try:
        inner = sink.inline(lang, code)
    except Exception as exc:  # fail closed on analyser bugs
        sink.mark("analysis.internal-error", f"{lang}: {type(exc).__name__}: {exc}", span)
        return
    if ("analysis.incomplete", "unknown language") in inner.markers:
        inner = _literal_scan(lang, code)
    child = _Frame(src=b"", text="", depth=frame.depth + 1, via=(*frame.via, *via, f"{name} -c"),
                   span=span, privileged=privileged, vars=frame.vars)  # fmt: skip
    _apply_effects(sink, child, name, (name,), inner, _NONE, span, privileged, False, ())


_QUOTED_LITERAL = re.compile("'([^'\\n]{1,4096})'|\"([^\"\\n]{1,4096})\"")


def _literal_scan(lang: str, code: str) -> Effects:
    """Code in a language warden does not analyse (R, PowerShell, ...): its string literals that
    name paths or URLs still count, so ``Rscript -e 'readLines("~/.ssh/id_rsa")'`` is seen."""
    from warden.check.shell.effects import FileRef

    files: list[FileRef] = []
    nets: list[NetRef] = []
    for m in _QUOTED_LITERAL.finditer(code[:MAX_COMMAND_CHARS]):
        text = m.group(1) or m.group(2) or ""
        if "://" in text and " " not in text:
            nets.append(NetRef(NetDirection.FETCH, text))
        elif text.startswith(("/", "~/", "$HOME/", "../")) and " " not in text:
            files.append(FileRef(FileOp.READ, text))
    return Effects(files=tuple(files), net=tuple(nets),
                   markers=(("inline.unanalysed", lang),))  # fmt: skip


def _stdin_code(
    sink: _Sink, frame: _Frame, name: str, stdin: _Out, span: Span,
    privileged: bool, via: tuple[str, ...],
) -> None:  # fmt: skip
    """A shell or interpreter runs whatever arrives on stdin."""
    where = frame.pipe_span or span  # the whole pipeline shows where the code came from
    if Origin.NETWORK in stdin.origins:
        sink.mark("exec.remote-code", f"{name} runs code fetched from the network", where)
    if Origin.DECODED in stdin.origins:
        sink.mark("obfuscation.decoded-exec", f"{name} runs decoded text", where)
    if stdin.value is None:
        return
    child = _Frame(src=b"", text="", depth=frame.depth, via=(*frame.via, *via, f"{name} <stdin>"),
                   span=span, privileged=privileged, vars=frame.vars)  # fmt: skip
    lang = "shell" if name in _SHELLS else _INTERPRETERS.get(name.rstrip("0123456789."), "")
    if lang == "shell":
        _walk_code(sink, child, stdin.value, _NONE)
    elif lang:
        _inline(sink, frame, lang, stdin.value, name, span, privileged, via)


def _file(
    sink: _Sink, frame: _Frame, op: FileOp, raw: str, by: str, span: Span, *,
    recursive: bool = False,
) -> None:  # fmt: skip
    if not raw:
        return
    ctx = sink.paths
    path = normalize(raw, ctx)
    real = resolve(path)
    glob = raw in sink.live_globs
    in_ws = is_within(path, ctx.workspace) and is_within(real, ctx.workspace)
    sink.files.append(
        FileAccess(op=op, path=path, raw=raw, by=by, span=span, in_workspace=in_ws, glob=glob,
                   recursive=recursive, real=real if real != path else None)
    )  # fmt: skip


def _net(sink: _Sink, ref: NetRef, by: str, span: Span, stdin: _Out) -> None:
    host, port, scheme, url = parse_target(ref.target, by)
    sends = stdin.origins if ref.direction is NetDirection.UPLOAD else frozenset()
    sink.net.append(
        NetAccess(direction=ref.direction, host=host, port=ref.port or port, scheme=scheme,
                  url=url, by=by, span=span, sends=sends)
    )  # fmt: skip


# --- words -----------------------------------------------------------------------------------


def _node_text(frame: _Frame, node: tree_sitter.Node) -> str:
    return frame.src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _eval_arg(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, info: WordInfo | None = None
) -> tuple[list[str], frozenset[Origin]]:
    """argv entries for one argument node, and the origins of data substituted into it."""
    info = info if info is not None else WordInfo()
    kind = node.type
    if kind == "word" and _plain(node):
        return [_node_text(frame, node)], frozenset()
    if kind == "word" and not _needs_eval(node):
        word = _node_text(frame, node)
        sink.live_globs.add(word)
        return [word], frozenset()
    text = Text()
    origins: set[Origin] = set()
    _eval_into(sink, frame, node, text, info, origins, quoted=False)
    words = []
    for value, glob in finish_word(text, info):
        words.append(value)
        if glob:
            sink.live_globs.add(value)
    return words, frozenset(origins)


_SPECIAL = frozenset("\\{}*?[~$`'\"")


def _needs_eval(node: tree_sitter.Node) -> bool:
    """A word with glob characters but nothing else to evaluate (``src/*.py``)."""
    raw = node.text
    return raw is None or _SPECIAL_NO_GLOB.search(raw) is not None


_SPECIAL_NO_GLOB = re.compile(rb"[\\{}~$`'\"]")


_SPECIAL_BYTES = re.compile(rb"[\\{}*?\[~$`'\"]")


def _plain(node: tree_sitter.Node) -> bool:
    raw = node.text
    return raw is not None and _SPECIAL_BYTES.search(raw) is None


def _eval_into(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, text: Text, info: WordInfo,
    origins: set[Origin], *, quoted: bool,
) -> None:  # fmt: skip
    kind = node.type
    how = QUOTED if quoted else LIT
    if kind in ("word", "number", "test_operator", "special_character", "_special_character",
                "regex", "extglob_pattern"):  # fmt: skip
        raw = _node_text(frame, node)
        if quoted:
            text.add(raw, QUOTED)
        else:
            _unquoted(raw, text, info)
        return
    if kind == "string_content":
        raw = _node_text(frame, node)
        text.add(_dq_unescape(raw), QUOTED)
        return
    if kind == "raw_string":
        text.add(_node_text(frame, node)[1:-1], QUOTED)
        return
    if kind == "ansi_c_string":
        decoded, hiding = decode_ansi_c(_node_text(frame, node)[2:-1])
        if hiding:
            info.tags.add("obfuscation.ansi-c")
        text.add(decoded, QUOTED)
        return
    if kind in ("string", "translated_string"):
        for child in node.children:
            if child.is_named:
                _eval_into(sink, frame, child, text, info, origins, quoted=True)
        return
    if kind == "concatenation":
        pieces = [c for c in node.children if c.is_named or c.type in ("{", "}", ",")]
        if len(pieces) > 1 and any(p.type in ("raw_string", "string") for p in pieces):
            if _looks_split(frame, pieces):
                info.tags.add("obfuscation.split-quotes")
        for child in node.children:
            if child.is_named:
                _eval_into(sink, frame, child, text, info, origins, quoted=quoted)
            else:
                text.add(_node_text(frame, child), how)
        return
    if kind == "brace_expression":
        text.add(_node_text(frame, node), how)
        return
    if kind in ("simple_expansion", "expansion"):
        _expansion(sink, frame, node, text, info, quoted=quoted)
        return
    if kind in ("command_substitution", "process_substitution"):
        out = _substitution(sink, frame, node)
        origins |= out.origins
        if kind == "command_substitution" and out.value is not None:
            text.add(out.value.rstrip("\n"), QUOTED if quoted else SPLIT)
            if Origin.DECODED in out.origins:
                info.tags.add("obfuscation.decoded-substitution")
        else:
            info.dynamic = True
            placeholder = "$(...)" if kind == "command_substitution" else "/dev/fd/63"
            text.add(placeholder, QUOTED)
        return
    if kind == "arithmetic_expansion":
        for child in node.named_children:
            _scan_substitutions(sink, frame, child, origins)
        text.add(_node_text(frame, node), QUOTED)
        info.dynamic = True
        return
    # anything else: keep its text, analyse substitutions inside it
    _scan_substitutions(sink, frame, node, origins)
    text.add(_node_text(frame, node), how)


def _looks_split(frame: _Frame, pieces: list[tree_sitter.Node]) -> bool:
    """``r''m``, ``"c"url``: quotes that split a plain word for no reason."""
    joined = "".join(_node_text(frame, p) for p in pieces)
    stripped = joined.replace("'", "").replace('"', "")
    return stripped.replace("-", "").replace("_", "").replace(".", "").isalnum() and any(
        p.type in ("raw_string", "string") and len(_node_text(frame, p)) <= 4 for p in pieces
    )


def _scan_substitutions(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, origins: set[Origin]
) -> None:
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type in ("command_substitution", "process_substitution"):
            origins |= _substitution(sink, frame, cur).origins
            continue
        stack.extend(cur.named_children)


def _unquoted(raw: str, text: Text, info: WordInfo) -> None:
    """An unquoted word: backslash escapes are removed; ``~``, braces and globs stay live."""
    if "\\" not in raw:
        text.add(raw, LIT)
        return
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt == "\n":
                i += 2
                continue
            if nxt.isalnum() and i > 0:  # a leading `\ls` only skips aliases
                info.tags.add("obfuscation.backslash")
            text.add(nxt, QUOTED)
            i += 2
            continue
        text.add(ch, LIT)
        i += 1


def _dq_unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in '$`"\\\n':
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return "".join(out)


def _expansion(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, text: Text, info: WordInfo, *,
    quoted: bool,
) -> None:  # fmt: skip
    """``$NAME`` / ``${NAME...}``: known values substituted, the rest kept as written."""
    raw = _node_text(frame, node)
    name = ""
    indirect = False
    ops: list[tree_sitter.Node] = []
    for child in node.children:
        if child.type in ("variable_name", "special_variable_name"):
            name = _node_text(frame, child)
        elif child.type == "!":
            indirect = True
        elif child.type not in ("$", "${", "}"):
            ops.append(child)
    for op in ops:  # substitutions inside ${x:-$(cmd)}
        if op.is_named:
            _scan_substitutions(sink, frame, op, set())
    value = _var_value(sink, frame, name)
    if indirect:
        info.tags.add("obfuscation.indirect-expansion")
        value = _var_value(sink, frame, value) if value is not None else None
    if name == "IFS":
        info.tags.add("obfuscation.ifs")
    if value is not None and ops:
        value = _apply_param_ops(frame, value, ops)
    elif value is None and ops:
        # ${VAR:-default}: an unknown variable takes its default
        op_text = "".join(_node_text(frame, o) for o in ops)
        if op_text.startswith((":-", "-", ":=", "=")):
            value = op_text.lstrip(":-=")
    if value is None:
        info.dynamic = True
        text.add(raw, QUOTED)
        return
    if value and ops and not _is_default_op(frame, ops):
        info.tags.add("obfuscation.parameter-expansion")
    if name == "HOME" or name == "PWD":
        # keep a recognisable form for path normalisation
        text.add(value, QUOTED)
        return
    if name == "@":  # "$@" is one word per argument
        text.add(value, SPLIT)
        return
    text.add(value, QUOTED if quoted else SPLIT)


def _is_default_op(frame: _Frame, ops: list[tree_sitter.Node]) -> bool:
    return "".join(_node_text(frame, o) for o in ops).startswith((":-", "-", ":=", "=", ":+", "+"))


def _var_value(sink: _Sink, frame: _Frame, name: str) -> str | None:
    if name in frame.vars:
        return frame.vars[name]
    if name == "HOME":
        return sink.paths.home
    if name == "PWD":
        return sink.paths.cwd
    if name == "IFS":
        return " "
    if name and name not in _KNOWN_VARS and not name.isdigit() and name.strip("_") and (
        name not in "@*#?$!-_0"
    ):
        sink.env_read.append(name)
    return None


def _apply_param_ops(frame: _Frame, value: str, ops: list[tree_sitter.Node]) -> str | None:
    op_text = "".join(_node_text(frame, o) for o in ops)
    if op_text.startswith((":-", "-", ":=", "=")):
        return value or op_text.lstrip(":-=")
    if op_text.startswith(":") and op_text[1:2] not in ("-", "=", "?", "+"):
        parts = op_text[1:].split(":")
        try:
            off = int(parts[0].strip() or 0)
            if len(parts) > 1:
                length = int(parts[1].strip())
                return value[off : off + length] if length >= 0 else value[off:length]
            return value[off:]
        except ValueError:
            return None
    if op_text.startswith("/"):
        body = op_text[2:] if op_text.startswith("//") else op_text[1:]
        pat, _, rep = body.partition("/")
        if any(c in pat for c in "*?["):
            return None
        return value.replace(pat, rep) if op_text.startswith("//") else value.replace(pat, rep, 1)
    if op_text.startswith("#") and not any(c in op_text for c in "*?["):
        pre = op_text.lstrip("#")
        return value[len(pre) :] if value.startswith(pre) else value
    if op_text.startswith("%") and not any(c in op_text for c in "*?["):
        suf = op_text.lstrip("%")
        return value[: -len(suf)] if suf and value.endswith(suf) else value
    return None


def _substitution(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> _Out:
    """``$(...)``, backticks, ``<(...)``: the inner commands run; their output flows out."""
    out = _NONE
    saved_paths = sink.paths
    for child in node.children:
        if child.is_named:
            out = _walk(sink, frame, child, _NONE)
    sink.paths = saved_paths
    if node.type == "process_substitution" and node.children and node.children[0].type == ">(":
        return _NONE
    return out


def _assignment(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> tuple[str, str]:
    name_node = node.child_by_field_name("name")
    value_node = node.child_by_field_name("value")
    name = _node_text(frame, name_node) if name_node is not None else ""
    value = ""
    if value_node is not None:
        info = WordInfo()
        words, _ = _eval_arg(sink, frame, value_node, info)
        value = " ".join(words)
        for tag in info.tags:
            sink.mark(tag, _node_text(frame, node)[:80], _span(frame, node))
    return name, value


def _assignments(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> None:
    targets = [node] if node.type == "variable_assignment" else list(node.named_children)
    for child in targets:
        if child.type == "variable_assignment":
            name, value = _assignment(sink, frame, child)
            frame.vars[name] = value
            sink.env_set.append((name, value))


def _declaration(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> _Out:
    keyword = node.children[0].type if node.children else ""
    for child in node.named_children:
        if child.type == "variable_assignment":
            name, value = _assignment(sink, frame, child)
            frame.vars[name] = value
            sink.env_set.append((name, value))
        elif child.type == "word" and _node_text(frame, child) == "-p" or keyword == "export" and (
            not node.named_children
        ):
            sink.mark("env.dump", keyword, _span(frame, node))
    if keyword in ("export", "declare", "typeset") and not node.named_children:
        sink.mark("env.dump", keyword, _span(frame, node))
    return _NONE


def _error_fallback(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    """tree-sitter gave up on this region: split it into words like a shell would and run them."""
    for child in node.named_children:
        if child.type in ("command", "pipeline", "redirected_statement", "list"):
            _walk(sink, frame, child, stdin)
    raw = _node_text(frame, node).strip()
    if not raw or frame.depth >= MAX_DEPTH:
        return _NONE
    for m in _DEV_NET.finditer(raw):
        _dev_net(sink, frame, m.group(0), _span(frame, node))
    try:
        lexer = shlex.shlex(raw, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = raw.replace("'", " ").replace('"', " ").split()
    span = _span(frame, node)
    command: list[str] = []
    for tok in [*tokens, ";"]:
        if tok and set(tok) <= set(";&|()<>"):
            if command:
                info = WordInfo()
                argv: list[str] = []
                for word in command:
                    for value, glob in finish_word(Text(word, LIT * len(word)), info):
                        argv.append(value)
                        if glob:
                            sink.live_globs.add(value)
                if argv and argv[0] not in ("{", "}", "then", "do", "fi", "done"):
                    _run(sink, frame, tuple(argv), stdin, span, frozenset())
                command = []
            continue
        command.append(tok)
    return _NONE
