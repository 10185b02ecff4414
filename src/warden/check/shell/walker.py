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

import re
import shlex
from collections.abc import Sequence, Set
from types import ModuleType

import tree_sitter

from warden.check.facts import Facts, FileOp, Origin, Span
from warden.check.paths import PathContext
from warden.check.shell import expand, loops, run
from warden.check.shell.effects import Effects
from warden.check.shell.state import (
    _NONE,
    MAX_COMMAND_CHARS,
    MAX_DEPTH,
    MAX_NODES,
    MAX_SYNTAX_DEPTH,
    EffectsFn,
    InlineFn,
    _Frame,
    _Function,
    _node_text,
    _Out,
    _parser,
    _Sink,
    _span,
)
from warden.check.shell.words import LIT, Text, WordInfo, finish_word

__all__ = ["MAX_COMMAND_CHARS", "MAX_DEPTH", "analyze_command"]

_SCOPE_NODES = frozenset(
    {
        "program", "list", "compound_statement", "subshell", "do_group", "if_statement",
        "elif_clause", "else_clause", "while_statement", "for_statement",
        "c_style_for_statement", "case_statement", "case_item", "negated_command",
        "test_command", "binary_expression", "unary_expression", "parenthesized_expression",
    }
)  # fmt: skip

#: A command line of plain words (no quoting, parameter expansion, redirection or operators):
#: its argv is its words, exactly as bash would split it, so the parser is skipped. ``~`` and
#: the glob characters ``*`` and ``?`` may appear: bash leaves the words' text to tilde and
#: pathname expansion, which the parser path does not perform either (a path keeps its ``~``
#: for :func:`~warden.check.paths.normalize`; a word with ``*``/``?`` becomes a live glob, see
#: :func:`_note_globs`). ``[`` stays out (``[ -f x ]`` is a test command to the parser).
_SIMPLE_COMMAND = re.compile(r"[ \t]*[~*?A-Za-z0-9_./:@%+,-][~*?A-Za-z0-9_./:=@%+, \t-]*")

#: Words the parser treats as syntax (declarations, keywords): never on the fast path.
_SYNTAX_WORDS = frozenset(
    {"export", "declare", "typeset", "local", "readonly", "unset", "alias", "if", "then", "else",
     "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "function", "select",
     "time", "coproc", "in"}
)  # fmt: skip

#: Plain words joined by ``|``, ``&&``, ``||`` and ``;``: still no quoting or expansion, so
#: the fast path splits it like bash and connects the pipes itself.
_PLAIN_LIST = re.compile(
    r"[ \t]*+[~*?A-Za-z0-9_./:@%+,-][~*?A-Za-z0-9_./:=@%+, \t-]*+"
    r"(?:(?:\|\||&&|\||;)[ \t]*+[~*?A-Za-z0-9_./:@%+,-][~*?A-Za-z0-9_./:=@%+, \t-]*+)*+;?[ \t]*+"
)
_OPERATOR = re.compile(r"\|\||&&|\||;")
_NO_ORIGINS: frozenset[Origin] = frozenset()


def _run_plain_list(sink: _Sink, text: str, frame: _Frame | None = None) -> _Out | None:
    """Run a plain list of commands (in ``frame``, else a top-level frame for ``text``); its
    output, or None (nothing recorded) when one is not plain after all."""
    segments: list[_Segment] = []
    pos, op = 0, ""
    for m in [*_OPERATOR.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        chunk = text[pos:end]
        if chunk.strip():
            words = _simple_words(chunk)
            if words is None:
                return None
            lead = len(chunk) - len(chunk.lstrip())
            end = pos + len(chunk.rstrip())
            segments.append((pos + lead, end, op, words, words, _NO_REDIRECTS))
        elif m is not None or op != ";":
            return None
        if m is not None:
            pos, op = m.end(), m.group(0)
    top = frame if frame is not None else _Frame(src=text.encode(), text=text)
    return _run_segments(sink, top, text, segments)


#: A file redirection of the fast path: operator, file descriptor (``""`` when none is
#: written), destination word and the redirection's span.
_Redirect = tuple[str, str, str, Span]
#: One command of a plain list: its span (its words, without its redirections), the operator
#: before it, its argv, the words of it that bash would glob-expand if they hold glob
#: characters (not the quoted ones), and its redirections in order.
_Segment = tuple[int, int, str, list[str], list[str], Sequence[_Redirect]]
_NO_REDIRECTS: tuple[_Redirect, ...] = ()


def _run_segments(sink: _Sink, frame: _Frame, text: str, segments: list[_Segment]) -> _Out:
    """Run a plain list's commands in order: ``|`` hands each one's output to the next, and a
    pipeline's whole span is the evidence for what flows through it (as :func:`_pipeline`).
    In nested code (``frame.span`` set) every span is the frame's, as :func:`_span` gives.
    The last command's output comes back (as :func:`_walk_children` returns it)."""
    fixed = frame.span
    out = _NONE
    globs = _may_glob(text)
    for i, (start, end, before, argv, plain, redirects) in enumerate(segments):
        if before != "|":  # a new pipeline starts here: find where it ends
            last = i
            while last + 1 < len(segments) and segments[last + 1][2] == "|":
                last += 1
            frame.pipe_span = (fixed or (start, segments[last][1])) if last > i else None
            out = _NONE
        if redirects:  # as _redirected: the files first, then the command's words and run
            sink.stdout_file = None
            taken = False
            for op, fd, dest, span in redirects:
                out, took = _file_redirect(sink, frame, op, fd, dest, fixed or span, out)
                taken = taken or took
            stdout_file = sink.stdout_file
            if globs:
                _note_globs(sink, plain)
            out = _run_words(sink, frame, tuple(argv), out, fixed or (start, end))
            if taken:
                if stdout_file is not None and run.remembers(out):  # `echo CODE > f`, `curl > f`
                    # (the statement's span, redirections included, as the parser's node)
                    whole = fixed or (start, max(end, *(r[3][1] for r in redirects)))
                    run.remember_written(sink, frame, stdout_file[0], out, whole,
                                         append=stdout_file[1])
                out = _NONE
            continue
        if globs:
            _note_globs(sink, plain)
        out = _run_words(sink, frame, tuple(argv), out, fixed or (start, end))
    return out


#: A plain list (:data:`_PLAIN_LIST`) whose arguments may also be quoted strings standing alone
#: (``awk '{print $1}' log | sort``, ``git commit -m "fix bug"``): bash takes the text of a
#: single-quoted string, or of a double-quoted one without ``$``, backquote, backslash or ``!``,
#: as it is, one word, never globbed or expanded, as the parser path does with a ``raw_string``
#: or ``string`` node. A quote joined to other characters (``r''m``, ``-m'x'``), a quoted
#: program name, a newline inside quotes and a blank double-quoted string (whose text
#: tree-sitter-bash drops) are left to the parser. The quantifiers are possessive: a line that
#: is not plain fails in linear time (a backtracking form took seconds on `a`, 30,000 spaces,
#: `$`; :data:`_PLAIN_LIST` had that cost before it was made possessive too).
_QUOTED_WORDS = (
    r"(?:[ \t]++(?:'[^'\n]*+'|\"[^\"$`\\!\n]*+\"|[~*?A-Za-z0-9_./:=@%+,-]++)(?=[ \t|&;]|$))*+"
)
#: File redirections after a command's words (``> out.txt``, ``2>/dev/null``, ``2>&1``,
#: ``>> log``, ``&> f``, ``< in.txt``), each after a blank, to a plain word without ``~`` or
#: glob characters (the parser path expands those). Left to the parser: a redirection before a
#: word (tree-sitter-bash reads `a >f x` as two destinations), ``0<`` (it reads the `0` as an
#: argument), ``<>`` (not in its grammar), here-documents and here-strings, and a redirection
#: on a command after ``|`` (it hangs that on the pipeline before it: see
#: :func:`_run_quoted_list`). One mis-parse the fast path follows bash on: tree-sitter-bash
#: drops a lone ``-`` word before a redirection with a descriptor (`tar czf - 2>/dev/null` is
#: `tar czf` to it, without an error); bash, and the fast path, pass the ``-``.
_REDIRECTS = (
    r"(?:[ \t]++(?:[12]?>&[0-9]|(?:[12]?>>?+|&>>?+|>\||<)[ \t]*+[A-Za-z0-9_./:=@%+,-]++)"
    r"(?=[ \t|&;]|$))*+"
)
_QUOTED_LIST = re.compile(
    r"[ \t]*+[~*?A-Za-z0-9_./:@%+,-][~*?A-Za-z0-9_./:=@%+,-]*+" + _QUOTED_WORDS + _REDIRECTS
    + r"[ \t]*+(?:(?:\|\||&&|\||;)[ \t]*+[~*?A-Za-z0-9_./:@%+,-][~*?A-Za-z0-9_./:=@%+,-]*+"
    + _QUOTED_WORDS + _REDIRECTS + r"[ \t]*+)*+;?[ \t]*+"
)
#: A token of a :data:`_QUOTED_LIST` line: a quoted string, an operator, a plain word (tried
#: before a redirection, which most lines do not hold; a word the next character would make a
#: descriptor, `2` of `2>&1`, is not one), a redirection (groups: descriptor, operator,
#: destination).
_QUOTED_TOKEN = re.compile(
    r"'[^']*'|\"[^\"]*\"|\|\||&&|[|;]|[^ \t'\"|&;<>]++(?![<>])"
    r"|(?<![^ \t])([12]?)(>&|>>|>\||>|&>>|&>|<)[ \t]*([^ \t'\"|&;<>]+)"
)


def _run_quoted_list(sink: _Sink, text: str, frame: _Frame | None = None) -> _Out | None:
    """Run a :data:`_QUOTED_LIST` line (in ``frame``, else a top-level frame for ``text``);
    its output, or None (nothing recorded) when a program name is not plain
    (:func:`_simple_words`). Tokens are read left to right: an operator ends a command, a
    quoted string is one word without its quotes, a redirection (:data:`_REDIRECTS`, which
    come after all of a command's words) is kept for its command, any other token is a plain
    word. A redirection on a command after ``|`` is left to the parser (None): tree-sitter-bash
    hangs it on the whole pipeline before it (`a | b 2>&1 | c` redirects `a | b`)."""
    segments: list[_Segment] = []
    words: list[str] = []
    globs: list[str] = []
    redirects: list[_Redirect] = []
    start = end = -1
    op = ""
    for m in [*_QUOTED_TOKEN.finditer(text), None]:
        tok = m.group(0) if m is not None else ";"
        if m is None or tok in _LIST_OPERATORS:
            if words:
                if _simple_words(words[0]) is None:
                    return None
                segments.append((start, end, op, words, globs, redirects or _NO_REDIRECTS))
            elif m is not None or op != ";":
                return None
            op, words, globs, redirects = tok, [], [], []
            continue
        if m.group(2) is not None:  # a redirection: `[fd]op dest`
            if op == "|":
                return None
            redirects.append((m.group(2), m.group(1), m.group(3), (m.start(), m.end())))
            continue
        if not words:
            start = m.start()
        end = m.end()
        if tok[0] in _QUOTES:
            if tok[0] == '"' and len(tok) > 2 and tok[1:-1].isspace():
                return None  # tree-sitter-bash drops a blank double-quoted string's text
            words.append(tok[1:-1])
        elif "=~" in tok:  # an operator to tree-sitter (see _simple_words)
            return None
        else:
            words.append(tok)
            globs.append(tok)
    top = frame if frame is not None else _Frame(src=text.encode(), text=text)
    return _run_segments(sink, top, text, segments)


_LIST_OPERATORS = frozenset({"||", "&&", "|", ";"})


def _quoted_or_redirected(text: str) -> bool:
    """Whether a line may be a :data:`_QUOTED_LIST` that :data:`_PLAIN_LIST` is not: it holds a
    quote or a redirection character. Four substring scans (``memchr``): a character-class
    regex search tries a match at every position, which cost 0.7k instructions a decision on
    the bench corpus (callgrind), more than the redirections saved."""
    return "'" in text or '"' in text or ">" in text or "<" in text


_QUOTES = frozenset("'\"")


def _run_words(sink: _Sink, frame: _Frame, argv: tuple[str, ...], stdin: _Out, span: Span) -> _Out:
    """Run one command of plain words as :func:`run._command` runs a command node without
    assignments or redirections: the shell's stdin after ``exec``, the variables a builtin binds
    (``printf -v f ~/.npmrc; sh -c 'cat $f'`` reads the file: until this was shared, the fast
    path skipped the binding and the inner ``cat`` read a file named ``$f``), then the run."""
    stdin = run.shell_stdin(frame, stdin)
    if argv[0] in run.STATEFUL:
        run.builtin_state(sink, frame, argv, stdin, [], span)
    return run._run(sink, frame, argv, stdin, span, _NO_ORIGINS)


def _may_glob(text: str) -> bool:
    """Whether some word of ``text`` may be a glob (:func:`_note_globs` has work): two
    substring scans of the line instead of two per word (a word is a piece of the line; most
    lines hold neither character)."""
    return "*" in text or "?" in text


def _note_globs(sink: _Sink, words: Sequence[str]) -> None:
    """Record the words bash would glob-expand, as :func:`expand._eval_arg` does for a word
    whose only special characters are glob characters (before the command runs, so that its
    file accesses know them; a later command's globs are not yet known to an earlier one)."""
    for word in words:
        if "*" in word or "?" in word:
            sink.live_globs.add(word)


def _is_simple(text: str) -> bool:
    """Whether ``text`` is plain words the fast path splits exactly as bash would."""
    return _simple_words(text) is not None


_simple_match = _SIMPLE_COMMAND.fullmatch


def _simple_words(text: str) -> list[str] | None:
    """The words of ``text`` when it is plain words (:func:`_is_simple`), else None."""
    if not _simple_match(text) or "=~" in text:  # tree-sitter reads `=~` as an operator
        return None
    words = text.split()
    if not words:
        return None
    name = words[0]
    # a glob in the program name is left to the parser, which reads some (`a?b`) as syntax
    if "=" not in name and name not in _SYNTAX_WORDS and "*" not in name and "?" not in name:
        return words
    return None


_CI_EXPR = re.compile(r"\$\{\{[^{}\n]{0,400}\}\}")

_DEV_NET = re.compile(r"/dev/(?:tcp|udp)/[^/\s]+/\d+")


def _inline_code(language: str, code: str) -> Effects:
    """Inline interpreter code (``python -c``...), its analysers imported on first use: most
    commands carry none, and those modules cost a hook process more than the command itself."""
    from warden.check.shell.inline import analyze_inline

    return analyze_inline(language, code)


def _load_semantics() -> ModuleType:
    global _SEMANTICS
    from warden.check.shell import semantics

    _SEMANTICS = semantics
    return semantics


#: :mod:`warden.check.shell.semantics`, bound on first use (not at import: the modules import
#: each other) and kept, instead of an import statement per command. ``effects_of`` is still
#: looked up on the module each time, so replacing it there (tests do) takes effect.
_SEMANTICS: ModuleType | None = None


def analyze_written(raw: str, text: str, paths: PathContext) -> Facts:
    """The facts of giving the file ``raw`` the text ``text`` (a file tool's write or edit),
    beyond the write itself: what a shell start-up file or a package manager's settings file
    will make happen (:mod:`warden.check.planted`), as for ``echo TEXT > FILE``. Spans are
    ``(0, 0)``: the caller places them."""
    sink = _Sink(paths=paths, effects_of=(_SEMANTICS or _load_semantics()).effects_of,
                 inline=_inline_code)  # fmt: skip
    frame = _Frame(src=b"", text="", span=(0, 0))
    run.remember_written(sink, frame, raw, _Out(frozenset({Origin.LITERAL}), text), (0, 0),
                         append=False)  # fmt: skip
    return sink.facts()


def analyze_command(
    command: str,
    paths: PathContext,
    *,
    effects_of: EffectsFn | None = None,
    inline: InlineFn | None = None,
) -> Facts:
    """Facts for one shell command line (pure apart from resolving symlinks on disk)."""
    if effects_of is None:
        effects_of = (_SEMANTICS or _load_semantics()).effects_of
    if inline is None:
        inline = _inline_code
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
    words = _simple_words(text)
    if words is not None:
        start = len(text) - len(text.lstrip())
        frame = _Frame(src=text.encode(), text=text)
        if _may_glob(text):
            _note_globs(sink, words)
        _run_words(sink, frame, tuple(words), _NONE, (start, len(text.rstrip())))
        return sink.facts()
    if _PLAIN_LIST.fullmatch(text) and _run_plain_list(sink, text) is not None:
        return sink.facts()
    if _quoted_or_redirected(text) and _QUOTED_LIST.fullmatch(text) and _run_quoted_list(
        sink, text
    ) is not None:
        return sink.facts()
    _walk_code(sink, _Frame(src=b"", text=text), text, _NONE)
    return sink.facts()


def _nested_plain(sink: _Sink, frame: _Frame, code: str, stdin: _Out) -> _Out | None:
    """Nested code of plain words (``sh -c 'npm ci'``, a decoded ``cat /etc/hostname`` piped
    to ``sh``, ``eval``, ``docker run img sh -c 'cd app && make'``) run without the parser,
    the top level's fast paths in the nested ``frame`` (its depth, ``via``, variables,
    functions, privilege, background and remote flags, all set by :func:`_walk_code`): every
    fact points at the frame's span, as :func:`_span` makes the parser path's. A lone command
    reads ``stdin``; a list does only when nothing flows in (the parser path hands ``stdin``
    to each command of a list, and after tree-sitter's `a | b && c` mis-parse not to `c`:
    that reading is the parser's to give). None (nothing recorded) when the code is not plain:
    the parser walks it."""
    words = _simple_words(code)
    if words is not None:
        if _may_glob(code):
            _note_globs(sink, words)
        span = frame.span or (len(code) - len(code.lstrip()), len(code.rstrip()))
        return _run_words(sink, frame, tuple(words), stdin, span)
    if stdin is not _NONE:
        return None
    if _PLAIN_LIST.fullmatch(code):
        out = _run_plain_list(sink, code, frame)
        if out is not None:
            return out
    if _quoted_or_redirected(code) and _QUOTED_LIST.fullmatch(code):
        return _run_quoted_list(sink, code, frame)
    return None


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
        remote=parent.remote or via == "remote",
    )
    if nested:  # (the top level tried the fast paths already: see analyze_command)
        out = _nested_plain(sink, frame, code, stdin)
        if out is not None:
            return out
    root = _parser().parse(parser_safe(src)).root_node
    if root.has_error and not _only_late_herestrings(root):
        sink.mark("analysis.parse-error", _error_snippet(root, src), _span(frame, root))
    return _walk(sink, frame, root, stdin)


#: tree-sitter-bash 0.25 reads out of bounds (a segfault, seen on `{` followed by U+E0000 or
#: above) on some characters outside the Basic Multilingual Plane. The parser is given the text
#: with every 4-byte UTF-8 sequence replaced by U+10000 and every surrogate escape (invalid
#: UTF-8 from `surrogatepass`) by U+FFFD: the same byte lengths, so every node offset still
#: points into the original text, from which all words are read.
_ASTRAL = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")
_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")


def parser_safe(src: bytes) -> bytes:
    """``src`` with the byte sequences that crash the parser replaced, lengths preserved."""
    if src.isascii():
        return src
    return _SURROGATE.sub(b"\xef\xbf\xbd", _ASTRAL.sub(b"\xf0\x90\x80\x80", src))


def _late_herestring(node: tree_sitter.Node) -> bool:
    """``node`` is the ``<<`` that tree-sitter-bash 0.25 cannot place in ``cat > f <<< X``:
    its grammar takes a here-string only before the statement's other redirections, so a later
    ``<<<`` parses as an ERROR ``<<`` followed by a file redirection ``< X``. Bash reads the
    same here-string wherever it stands; the walker reads that redirection as one."""
    if node.type != "ERROR" or node.child_count != 1 or node.children[0].type != "<<":
        return False
    parent, after = node.parent, node.next_sibling
    return (
        parent is not None and parent.type == "redirected_statement" and after is not None
        and after.type == "file_redirect" and after.start_byte == node.end_byte
        and after.child_count == 2 and after.children[0].type == "<"
    )  # fmt: skip


def _only_late_herestrings(root: tree_sitter.Node) -> bool:
    """Every syntax error in the tree is a late here-string (:func:`_late_herestring`)."""
    stack = [root]
    found = False
    while stack:
        node = stack.pop()
        if node.is_missing:
            return False
        if node.type == "ERROR":
            if not _late_herestring(node):
                return False
            found = True
        elif node.has_error:
            stack.extend(node.children)
    return found


def _error_snippet(root: tree_sitter.Node, src: bytes) -> str:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            start = node.start_byte
            near = src[start : start + 40].decode(errors="replace")
            return f"near byte {start}: {near!r}"
        stack.extend(reversed(node.children))
    return "syntax error"


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
    if kind == "command":
        return run._command(sink, frame, node, stdin, ())
    if kind == "pipeline":
        return _pipeline(sink, frame, node, stdin)
    if kind == "program" or kind == "list":  # (the tests below are for other kinds)
        return _walk_children(sink, frame, node, stdin, kind)
    if kind == "redirected_statement":
        return _redirected(sink, frame, node, stdin)
    if kind in ("variable_assignment", "variable_assignments"):
        expand._assignments(sink, frame, node)
        return _NONE
    if kind == "declaration_command":
        return expand._declaration(sink, frame, node)
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
            frame.functions[_node_text(frame, name_node)] = _Function(body, frame.src, frame.text)
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
    if kind == "for_statement":
        return loops.for_loop(sink, frame, node, stdin)
    if kind == "while_statement":
        bound = loops.while_read(sink, frame, node, stdin)
        if bound is not None:
            return bound
    if kind in ("while_statement", "c_style_for_statement"):
        _loop_markers(sink, frame, node)
    return _walk_children(sink, frame, node, stdin, kind)


_AMPERSAND = ord("&")


def _walk_children(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out, kind: str
) -> _Out:
    last = _NONE
    # an `&` token covers an `&` byte of the node's own text, unless the parser inserted it
    # (a zero-width MISSING node: only in a tree with errors): otherwise nothing here runs in
    # the background, found with one C scan instead of a Python pass over the children (the
    # byte as an int: a memchr, ~10x cheaper than `b"&" in raw` on Python 3.11)
    raw = node.text
    background_next: Set[int] = _NO_IDS
    if raw is None or _AMPERSAND in raw or node.has_error:
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


_NO_IDS: frozenset[int] = frozenset()


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


#: A loop body that probes hosts or ports computed from a variable: a scan.
_PROBE_LOOP = re.compile(
    r"\b(?:ping|fping|nc|ncat|netcat|telnet|nmap|hping3|arping)\b[^;|&\n]*\$"
    r"|https?://(?:\d{1,3}\.){1,3}\$|https?://\$\{?\w+\}?:\$"
)
#: An endless loop condition (`while true`, `while :`, `while [ 1 ]`, `until false`).
_ENDLESS = re.compile(
    r"^\s*(?:while\s+(?:true|:|\[\s*1\s*\]|\(\(\s*1\s*\)\))|until\s+false)(?=[\s;])"
)
_BACKGROUND = re.compile(r"(?<![&>])&(?![&>])")


def _loop_markers(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> None:
    text = _node_text(frame, node)
    span = _span(frame, node)
    if "/dev/tcp/" in text or "/dev/udp/" in text:
        sink.mark("net.scan-loop", "loop over /dev/tcp connections", span)
    elif _PROBE_LOOP.search(text):
        sink.mark("net.scan-loop", "loop probing computed hosts or ports", span)
    if _ENDLESS.match(text):
        if _BACKGROUND.search(text):
            sink.mark("resource.spawn-loop", "endless loop starting background processes", span)
        elif _fills_disk(text):
            sink.mark("resource.disk-fill", "endless loop writing files", span)


#: Commands an endless loop may repeat as fast as the machine runs and still only write:
#: nothing in them waits, ends the loop or takes long (a build, a request, `sleep`, `read`).
_QUICK_WRITERS = frozenset({"echo", "printf", "cat", "cp", "touch", "mkdir", "cd", "dd", "head",
                            "yes", "fallocate", "truncate", "ln", "tee", "true", ":", "date",
                            "seq"})  # fmt: skip
_LOOP_BODY = re.compile(r"\b(?:do|then|else)\s+|[;|&\n]+\s*")
_DO = re.compile(r"(?:^|[\s;])do(?=\s)")
_TO_NULL = re.compile(r"(?:\d|&)?>>?\s*/dev/null\b")


def _fills_disk(loop: str) -> bool:
    """An endless loop whose body only writes files, quickly, and never stops itself
    (``while :; do echo x >> f; done``, ``while true; do mkdir d; cd d; done``)."""
    start = _DO.search(loop)
    body = _TO_NULL.sub(" ", loop[start.end() :]) if start is not None else ""
    if not (">" in body or "mkdir" in body or "touch" in body or "cp " in body):
        return False  # (`> /dev/null` writes nothing)
    names = {part.split(None, 1)[0] for part in _LOOP_BODY.split(body)
             if part.strip() and part.split(None, 1)[0] not in ("done", "fi", "}")}  # fmt: skip
    return bool(names) and names <= _QUICK_WRITERS


def _pipeline(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    out = stdin
    saved = frame.pipe_span
    stages = [c for c in node.children if c.is_named]
    tail = stages[-1] if stages else None
    if tail is not None and tail.type == "list" and tail.named_children:
        # tree-sitter-bash parses `a | b | c && d` as `a | (b | c && d)`; bash runs
        # `(a | b | c) && d`: only the list's first element is part of the pipeline
        head = tail.named_children[0]
        span = _span(frame, node)
        frame.pipe_span = saved if saved is not None else (span[0], _span(frame, head)[1])
        for child in stages[:-1]:
            out = _walk(sink, frame, child, out)
        out = _walk(sink, frame, head, out) if head.type != "pipeline" else _pipe_on(
            sink, frame, head, out)
        frame.pipe_span = saved
        for child in tail.named_children[1:]:
            out = _walk(sink, frame, child, _NONE)
        return out
    if saved is None:
        frame.pipe_span = _span(frame, node)
    for child in stages:
        out = _walk(sink, frame, child, out)
    frame.pipe_span = saved
    return out


def _pipe_on(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    """Continue an enclosing pipeline through ``node``'s stages (same evidence span)."""
    out = stdin
    for child in node.children:
        if child.is_named:
            out = _walk(sink, frame, child, out)
    return out


def _redirected(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    body: tree_sitter.Node | None = None
    redirects: list[tree_sitter.Node] = []
    for child in node.children:
        if child.type in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            redirects.append(child)
        elif child.type == "ERROR" and body is not None and _late_herestring(child):
            redirects.append(child)  # the `<<` of `> f <<< X`: the next redirect is its text
        elif child.is_named and body is None:
            body = child
    if body is not None and body.type == "list" and not _backgrounded_children(body):
        # `echo X > c.sql && sqlite3 x.db < c.sql`: tree-sitter-bash hangs the last command's
        # redirections on the whole list; bash gives them to that command alone, after the
        # commands before it have run (and written what it reads)
        named = [child for child in body.children if child.is_named]
        for child in named[:-1]:
            _walk(sink, frame, child, _NONE)
        body = named[-1]
    new_stdin, stdout_taken, after = _apply_redirects(sink, frame, redirects, stdin)
    stdout_file = sink.stdout_file
    out = _NONE
    if body is not None:
        if body.type == "command":
            out = run._command(sink, frame, body, new_stdin, ())
        else:
            out = _walk(sink, frame, body, new_stdin)
    if stdout_taken:
        if stdout_file is not None and run.remembers(out):  # `echo CODE > s.sh`, `curl > s.sh`
            run.remember_written(sink, frame, stdout_file[0], out, _span(frame, node),
                                 append=stdout_file[1])
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
    sink.stdout_file = None
    late_herestring = False
    for red in redirects:
        span = _span(frame, red)
        if red.type == "ERROR":  # a late `<<<` (:func:`_late_herestring`)
            late_herestring = True
            continue
        if late_herestring:  # `< X` after that `<<`: X is the here-string
            late_herestring = False
            words, origins = expand._eval_arg(sink, frame, red.children[1])
            new_stdin = _Out(frozenset({Origin.LITERAL}) | origins, " ".join(words) + "\n")
            continue
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
                words, origins = expand._eval_arg(sink, frame, child)
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
        if op == "<" and fd in ("", "0") and target.type == "process_substitution":
            # `cpio -o < <(find ~/.ssh)`: stdin is what the inner commands print (names too)
            new_stdin = _substitution(sink, frame, target)
            continue
        words, _ = expand._eval_arg(sink, frame, target)
        dest = words[0] if words else _node_text(frame, target)
        new_stdin, taken = _file_redirect(sink, frame, op, fd, dest, span, new_stdin)
        stdout_taken = stdout_taken or taken
    return new_stdin, stdout_taken, after


def _file_redirect(
    sink: _Sink, frame: _Frame, op: str, fd: str, dest: str, span: Span, stdin: _Out
) -> tuple[_Out, bool]:
    """One file redirection ``[fd]op dest`` (``dest`` evaluated): record what it opens; the
    command's stdin after it, and whether it sends stdout elsewhere (then
    ``sink.stdout_file`` names the file when there is one). The tree walk
    (:func:`_apply_redirects`) and the fast path (:func:`_run_segments`) both call it."""
    if op in (">&", "<&", ">&-", "<&-") and (dest.isdigit() or dest == "-"):
        return stdin, False  # fd duplication
    if dest.startswith(("/dev/tcp/", "/dev/udp/")):
        run._dev_net(sink, frame, dest, span)
        if op.startswith("<"):
            return _Out(frozenset({Origin.NETWORK})), False
        return stdin, False
    if dest in ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"):
        return stdin, op in (">", ">>", "&>", "&>>", ">|", ">&") and fd in ("", "1")
    if op in ("<",):
        run._file(sink, frame, FileOp.READ, dest, "<", span)
        known = run.known_text(sink, dest)  # `echo CODE > c.sql; sqlite3 x.db < c.sql`
        return (known if known is not None else _Out(frozenset({Origin.FILE}))), False
    if op in (">", ">|", "&>", ">&"):
        run._file(sink, frame, FileOp.WRITE, dest, ">", span)
        if fd in ("", "1", "&"):
            sink.stdout_file = (dest, False)
            return stdin, True
    elif op in (">>", "&>>"):
        run._file(sink, frame, FileOp.APPEND, dest, ">>", span)
        if fd in ("", "1"):
            sink.stdout_file = (dest, True)
            return stdin, True
    elif op == "<>":
        run._file(sink, frame, FileOp.READ, dest, "<>", span)
        run._file(sink, frame, FileOp.WRITE, dest, "<>", span)
    return stdin, False


def _heredoc_text(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> str:
    """A here-doc body, with substitutions inside it analysed as commands."""
    for child in node.named_children:
        if child.type in ("command_substitution", "expansion", "simple_expansion"):
            expand._eval_arg(sink, frame, child)
    return _node_text(frame, node)


def _substitution(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> _Out:
    """``$(...)``, backticks, ``<(...)``: the inner commands run; their output flows out."""
    out = _NONE
    saved_paths = sink.paths
    for child in node.children:
        if child.type == "file_redirect":  # `$(< FILE)`: bash reads FILE, as `$(cat FILE)`
            target = child.child_by_field_name("destination")
            if target is not None:
                words, _ = expand._eval_arg(sink, frame, target)
                for word in words[:1]:
                    run._file(sink, frame, FileOp.READ, word, "<", _span(frame, child))
                out = _Out(frozenset({Origin.FILE}))
        elif child.is_named:
            out = _walk(sink, frame, child, _NONE)
    sink.paths = saved_paths
    if node.type == "process_substitution" and node.children and node.children[0].type == ">(":
        return _NONE
    return out


#: Characters of error regions an analysis splits with :mod:`shlex` (all regions together,
#: nested code included). shlex grows a token one character at a time by string concatenation,
#: so a long token costs time quadratic in its length: `echo '` and 540 KB of lines took 5 s of
#: CPU after the parser gave up on the unclosed quote. Past this budget a region is split on
#: blanks (:func:`_rough_split`, linear, what an unclosed quote already got) and the analysis is
#: marked incomplete.
MAX_SHLEX_CHARS = 65_536


#: A literal word holding none of these is its own value, never a glob (no brace expansion,
#: no glob character, nothing to split in a literal).
_INERT = frozenset("{*?[")


def _rough_split(raw: str) -> list[str]:
    """``raw`` split on blanks with its quote characters dropped: the words of a region shlex
    cannot split (an unclosed quote) or is not given (see :data:`MAX_SHLEX_CHARS`)."""
    return raw.replace("'", " ").replace('"', " ").split()


def _error_fallback(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    """tree-sitter gave up on this region: split it into words like a shell would and run them."""
    for child in node.named_children:
        if child.type in ("command", "pipeline", "redirected_statement", "list"):
            _walk(sink, frame, child, stdin)
    raw = _node_text(frame, node).strip()
    if not raw or frame.depth >= MAX_DEPTH:
        return _NONE
    for m in _DEV_NET.finditer(raw):
        run._dev_net(sink, frame, m.group(0), _span(frame, node))
    span = _span(frame, node)
    sink.shlexed += len(raw)
    if sink.shlexed > MAX_SHLEX_CHARS:
        sink.mark("analysis.incomplete", "too much text the parser could not read", span)
        tokens = _rough_split(raw)
    else:
        try:
            lexer = shlex.shlex(raw, posix=True, punctuation_chars=";&|()<>")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            tokens = _rough_split(raw)
    command: list[str] = []
    for tok in [*tokens, ";"]:
        if tok and not tok.strip(";&|()<>"):  # (a set per token cost a third of a long region)
            if command:
                info = WordInfo()
                argv: list[str] = []
                for word in command:
                    if _INERT.isdisjoint(word):  # what finish_word answers for such a word
                        argv.append(word)
                        continue
                    for value, glob in finish_word(Text(word, LIT * len(word)), info):
                        argv.append(value)
                        if glob:
                            sink.live_globs.add(value)
                if argv and argv[0] not in ("{", "}", "then", "do", "fi", "done"):
                    run._run(sink, frame, tuple(argv), stdin, span, frozenset())
                command = []
            continue
        command.append(tok)
    return _NONE
