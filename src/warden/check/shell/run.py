"""Program runs: one argv, what it does, and everything it makes happen.

:func:`_command` evaluates a command node's words and redirections; :func:`_run` records the
program and asks :mod:`.semantics` what it does with its argv; :func:`_apply_effects` turns
those effects into facts and follows nested programs, shell code, inline interpreter code and
code arriving on stdin. Data flow between programs (network, decoded, literal values, file
listings) is carried in :class:`~warden.check.shell.state._Out`.

:func:`_command` runs once per command node on the parser path and was its largest own cost:
it sends assignments and redirections aside with one set lookup and skips the redirection,
tag and origin steps when they have nothing to do (measured in docs/decisions.md, fifth round).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

import tree_sitter

from warden.check.facts import (
    Exec,
    FileAccess,
    FileOp,
    NetAccess,
    NetDirection,
    Origin,
    Span,
    fold_hidden,
)
from warden.check.paths import PathContext, is_within, normalize, resolve
from warden.check.planted import runs_at_startup, settings_tool
from warden.check.shell import expand, loops, values, walker
from warden.check.shell.effects import Effects, FileRef, NetRef
from warden.check.shell.makefile import MAKES, makefile_code
from warden.check.shell.netloc import parse_target
from warden.check.shell.sem_archive import SQL_STDIN_ARGV
from warden.check.shell.sem_core import STDIN_NAMES
from warden.check.shell.sem_pkg import ENV_INDEX_TOOLS, env_index_settings, with_env_indexes
from warden.check.shell.sem_settings import settings_effects
from warden.check.shell.semantics import LISTS_NAMES, PASSES_LINES
from warden.check.shell.state import (
    _INTERPRETERS,
    _NONE,
    _SHELLS,
    MAX_COMMAND_CHARS,
    MAX_DEPTH,
    _Frame,
    _node_text,
    _Out,
    _Sink,
    _span,
    inside,
)
from warden.check.shell.words import WordInfo

# Enum members bound once: on Python 3.11 a class attribute lookup on an enum runs a Python-level
# descriptor (~900 instructions, callgrind); every program run used several.
_READ, _LIST, _EXEC, _DELETE = FileOp.READ, FileOp.LIST, FileOp.EXEC, FileOp.DELETE
_UPLOAD = NetDirection.UPLOAD
_NETWORK, _DECODED, _FILE, _COMMAND = Origin.NETWORK, Origin.DECODED, Origin.FILE, Origin.COMMAND
#: What a program prints when nothing but its own run feeds it (the common case), without or
#: with a file read: shared sets instead of a set built per run.
_PRINTS = frozenset({_COMMAND})
_PRINTS_FILE = frozenset({_FILE, _COMMAND})


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
    eval_arg = expand._eval_arg
    prev_end, prev_sub = -1, False  # where the last argument ended, in a `<(...)` or not
    for child in node.children:
        kind = child.type
        if kind in _ARG_SKIP:
            if kind == "variable_assignment":
                assigns.append(expand._assignment(sink, frame, child))
            elif kind in _REDIRECTS:
                redirects.append(child)
            continue
        if not child.is_named:
            continue
        if kind == "command_name":
            target = child.named_child(0)
            if target is None:
                target = child.named_children[0]  # (raises, as it always did)
            words, origins = eval_arg(sink, frame, target, info)
            name_seen = True
            name_obfuscated = set(info.tags)
            if words and target.type != "word" and _has_expansion(target):
                name_obfuscated.add("obfuscation.variable-command")
        else:
            words, origins = eval_arg(sink, frame, child, info)
        if origins:
            args_from |= origins
        if child.start_byte == prev_end and argv and words and (
            prev_sub or _starts_with_substitution(child)
        ):  # `env BASH_ENV=<(curl URL) bash`: one word to bash, two nodes to tree-sitter-bash
            argv[-1] += words[0]
            argv += words[1:]
        else:
            argv += words
        prev_end = child.end_byte
        prev_sub = kind == "process_substitution" or (
            kind == "concatenation" and _ends_with_substitution(child)
        )
    after: Sequence[tree_sitter.Node] = _NO_NODES
    stdout_taken = False
    stdin = shell_stdin(frame, stdin)
    stdout_file = None
    if redirects:
        stdin, stdout_taken, after = walker._apply_redirects(sink, frame, redirects, stdin)
        stdout_file = sink.stdout_file
    if info.tags:
        for tag in sorted(info.tags):
            sink.mark(tag, _node_text(frame, node)[:80], span)
    if info.incomplete:
        for reason in sorted(info.incomplete):
            sink.mark("analysis.incomplete", reason, span)
    if info.env_read:
        sink.env_read.extend(info.env_read)
    if not argv:
        for name, value in assigns:
            frame.vars[name] = value
            sink.env_set.append((name, value))
        return _NONE
    for name, value in assigns:
        sink.env_set.append((name, value))
    head = argv[0]
    builtin_state(sink, frame, tuple(argv), stdin, assigns, span)
    dynamic = info.dynamic and name_seen and ("$" in head or "`" in head)
    if name_obfuscated and not dynamic:
        sink.mark("obfuscation.command-name", head, span)
    saved = frame.vars
    if assigns:  # `F=~/.ssh/id_rsa bash -c 'cat $F'`: the program's environment has F
        frame.vars = {**saved, **dict(assigns)}
    out = _run(sink, frame, tuple(argv), stdin, span,
               frozenset(args_from) if args_from else _NO_ORIGINS, dynamic=dynamic)  # fmt: skip
    if assigns:
        frame.vars = saved
    if stdout_taken:
        if stdout_file is not None and remembers(out):  # `echo CODE > s.sh`, `curl > s.sh`
            remember_written(sink, frame, stdout_file[0], out, span, append=stdout_file[1])
        out = _NONE
    for tail in after:
        out = walker._walk(sink, frame, tail, out)
    return out


def _starts_with_substitution(node: tree_sitter.Node) -> bool:
    """``<(...)`` or ``>(...)``, alone or first in a concatenation: tree-sitter-bash ends the
    word before it (``X=<(cmd)`` is two arguments to it, one word to bash)."""
    if node.type == "concatenation" and node.named_child_count:
        node = node.named_children[0]
    return node.type == "process_substitution"


def _ends_with_substitution(node: tree_sitter.Node) -> bool:
    """``<(...)`` or ``>(...)``, alone or last in a concatenation: a word glued after it
    (``<(a)<(b)``) is a new argument to tree-sitter-bash and the same word to bash."""
    if node.type == "concatenation" and node.named_child_count:
        node = node.named_children[-1]
    return node.type == "process_substitution"


#: Wrappers one program may run inside (``sudo nice timeout env ... CMD``); past it the
#: analysis stops there and says it is incomplete (deny). Each level costs the walker a few
#: Python frames: 400 of them overflowed the interpreter's stack (an internal-error deny).
MAX_WRAPPERS = 200


_BINDERS: frozenset[str] = frozenset({"read", "mapfile", "readarray", "printf", "set", "shift"})
#: Programs that change the shell's own state before they run (see :func:`builtin_state`).
STATEFUL: frozenset[str] = _BINDERS | {"exec"}


def shell_stdin(frame: _Frame, stdin: _Out) -> _Out:
    """A command's stdin: what flows in, else the shell's own after ``exec 0< ...``."""
    if stdin is _NONE and frame.exec_stdin is not None:
        return frame.exec_stdin
    return stdin


def builtin_state(
    sink: _Sink, frame: _Frame, argv: tuple[str, ...], stdin: _Out,
    assigns: list[tuple[str, str]], span: Span,
) -> None:  # fmt: skip
    """What a command changes in the shell itself before it runs: ``exec`` with only a stdin
    takes it for the shell, and the builtins that set variables from data bind them (``read f
    <<< ~/.npmrc``, ``printf -v f ...``; a later ``sh -c 'cat $f'`` reads what they hold).
    Every way of running a command line (the tree walk, the parser-free fast path) calls it."""
    head = argv[0]
    if head == "exec" and stdin is not _NONE and (len(argv) == 1 or argv[1:] == ("0",)):
        frame.exec_stdin = stdin  # `exec 0< <(find ~/.ssh); cpio -o ...`: stdin from then on
    if head in _BINDERS:  # builtins that set variables from data: `read f <<< ~/.npmrc`
        _bind_builtin(sink, frame, argv, stdin, assigns, span)


def _bind_builtin(
    sink: _Sink, frame: _Frame, argv: tuple[str, ...], stdin: _Out,
    assigns: list[tuple[str, str]], span: Span,
) -> None:  # fmt: skip
    name = argv[0]
    if name == "read":
        loops.bind_read(sink, frame, argv, stdin, dict(assigns).get("IFS"), span)
    elif name == "printf":
        if len(argv) > 2 and argv[1] == "-v":
            loops.bind_printf(sink, frame, argv)
    elif name == "set" or name == "shift":
        loops.bind_set(sink, frame, argv, span)
    else:
        loops.bind_mapfile(sink, frame, argv, stdin, span)


#: A command's children that are not arguments: assignments and redirections (named, handled
#: apart) and nothing else; checked first so that arguments take one set lookup.
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_ARG_SKIP = _REDIRECTS | {"variable_assignment"}
_NO_NODES: tuple[tree_sitter.Node, ...] = ()
_NO_ORIGINS: frozenset[Origin] = frozenset()


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
    if len(via) > MAX_WRAPPERS:  # `nice nice nice ... CMD`: a deny that says why, not a crash
        sink.mark("analysis.incomplete", f"programs wrapped more than {MAX_WRAPPERS} deep", span)
        return _NONE
    name = raw_name.rpartition("/")[2] or raw_name  # posixpath.basename, without the call
    if not name.isascii():
        name = _fold_name(sink, name, span)
    if name in frame.functions:
        return _call_function(sink, frame, name, argv, stdin, span)
    if name in ("cd", "pushd") and len(argv) <= 3:
        _change_dir(sink, argv)
    try:
        # `(name, *argv[1:])` when the name is argv[0] as written is argv itself
        eff = sink.effects_of(argv)
    except Exception as exc:  # a bug in a handler must not become an allow
        sink.mark("analysis.internal-error", f"{name}: {type(exc).__name__}: {exc}", span)
        eff = Effects()
    if frame.vars and name in ENV_INDEX_TOOLS:  # `PIP_INDEX_URL=URL pip install x`
        eff = with_env_indexes(eff, name, frame.vars)
    privileged = privileged or eff.privileged or frame.privileged
    background = background or frame.background
    sink.execs.append(
        Exec(name=name, argv=argv, span=span, via=frame.via + via, stdin=stdin.origins,
             args_from=args_from, background=background, privileged=privileged, dynamic=dynamic)
    )  # fmt: skip
    if raw_name != name and "/" in raw_name and not any(
        ref.op is _EXEC and ref.raw == raw_name for ref in eff.files
    ):
        _file(sink, frame, _EXEC, raw_name, name, span)
    if sink.written is not None and "/" in raw_name:
        _run_written(sink, frame, raw_name, span, privileged, via)
    out = _apply_effects(sink, frame, name, argv, eff, stdin, span, privileged, background, via)
    return out


def _change_dir(sink: _Sink, argv: tuple[str, ...]) -> None:
    """``cd DIR`` moves the cwd for the commands after it (``cd ~/.ssh && cat id_rsa``)."""
    operands = [a for a in argv[1:] if not a.startswith("-") or a == "-"]
    target = operands[0] if operands else "~"
    if target == "-" or "$" in target or "`" in target:
        return
    ctx = sink.paths
    cwd = normalize(target, ctx)
    live = sink.live_globs
    if (live and (target in live or _from_glob(target, live))) or (
        sink.glob_cwd and not target.startswith(("/", "~"))
    ):
        # `cd ~/.a?s && cat credentials`: names below a globbed directory keep the glob mark
        sink.glob_cwd = True
    else:
        sink.glob_cwd = False
    sink.paths = PathContext(cwd=cwd, home=ctx.home, workspace=ctx.workspace)


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
    function = frame.functions[name]
    body = function.body
    if name in frame.calling:
        body_text = function.src[body.start_byte : body.end_byte].decode("utf-8", "replace")
        forks = "&" in body_text or "|" in body_text
        kind = "resource.fork-bomb" if forks else "resource.recursion"
        sink.mark(kind, f"function {name} calls itself", span)
        return _NONE
    saved = frame.calling
    saved_vars = dict(frame.vars)
    saved_src, saved_text = frame.src, frame.text
    frame.calling = (*saved, name)
    frame.vars["@"] = frame.vars["*"] = " ".join(argv[1:])
    for index, arg in enumerate(argv[1:10], start=1):
        frame.vars[str(index)] = arg
    # the body's words are read from the code that defined it (called from nested code, the
    # frame's own text is that code: `f() { cat ~/.ssh/id_rsa; }; eval f` read garbage words
    # from "f" and was allowed)
    frame.src, frame.text = function.src, function.text
    try:
        out = walker._walk(sink, frame, body, stdin)
    finally:
        frame.src, frame.text = saved_src, saved_text
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
    reads = False  # some file is read: the output carries file contents
    roots: tuple[str, ...] = ()  # directories listed (for `find DIR | xargs ...`)
    for ref in eff.files:
        op = ref.op
        if ref.into:  # `cp -r SRC DEST`: DEST/SRC when DEST is a directory (Acc.copy_into)
            _file(sink, frame, op, _copy_target(sink, ref), name, span, recursive=True)
            continue
        _file(sink, frame, op, ref.raw, name, span, recursive=ref.recursive)
        if op is _READ:
            reads = True
        elif op is _LIST:
            roots = (*roots, ref.raw)
    if eff.names_on_stdin:  # `find ~/.ssh | cpio -o`: the files named on stdin are read
        for raw in _names_in(stdin, sink=sink, span=span):
            _file(sink, frame, _READ, raw, name, span, recursive=True)
            reads = True
    for listed in eff.names_files:  # `tar -T <(find ~/.ssh)`: the files a known list names
        for raw in _names_in(_fd_out(sink, listed), lines=True, sink=sink, span=span):
            _file(sink, frame, _READ, raw, name, span, recursive=True)
            reads = True
    if name == "tee" and stdin.value is not None:  # `tee s.sh <<< CODE`: s.sh holds CODE
        for ref in eff.files:
            remember_written(sink, frame, ref.raw, stdin, span, append=ref.op is FileOp.APPEND)
    for net in eff.net:
        _net(sink, net, name, span, stdin)
    if any(net.direction is NetDirection.FETCH for net in eff.net):
        # `curl -o i.sh URL`: the file holds what came from the network (a later `sh i.sh`
        # runs remote code, as `curl URL | sh` does)
        for ref in eff.files:
            if ref.op is FileOp.WRITE:
                remember_written(sink, frame, ref.raw, _FETCHED, span, append=False)
    for mname, detail in eff.markers:
        sink.mark(mname, detail, span)
        if mname == "fs.link" and " -> " in detail:
            _note_link(sink, detail, span)
    if eff.env_set:
        sink.env_set.extend(eff.env_set)
    if eff.detached and not any(m.startswith("detach.") for m, _ in eff.markers):
        sink.mark("detach.other", name, span)
    if len(argv) > 1 and (name in _SHELLS or name == "source" or name == "."
                          or _language(name)):  # fmt: skip
        _sourced(sink, frame, name, argv, stdin, span, privileged, via)
    if (name in MAKES or name in SQL_STDIN_ARGV) and (
        sink.fd_outs is not None or sink.written is not None
    ):
        _known_scripts(sink, frame, name, eff, span, privileged, via)
    inner: frozenset[Origin] = frozenset()
    if eff.nested or eff.shell_code or eff.inline_code or eff.stdin_is_code:
        inner = _run_inner(sink, frame, name, eff, stdin, span, privileged, background, via,
                           roots)  # fmt: skip
    # what this program prints
    if stdin.value is None and name != "echo" and name != "printf":
        value, decoded = None, False  # values.output's answer without a known input
        if name == "cat" and len(argv) == 2:  # `cat c.sql | sqlite3`: a file it wrote
            known = known_text(sink, argv[1])
            if known is not None:  # (its text, and where that came from: `curl > f; cat f`)
                value = known.value
                inner |= known.origins & _CARRIED
    else:
        value, decoded = values.output(name, argv[1:], stdin.value)
    if stdin.origins or eff.outputs_network or eff.outputs_decoded or decoded or inner:
        origins: set[Origin] = set(stdin.origins) | inner
        if eff.outputs_network:
            origins.add(_NETWORK)
        if eff.outputs_decoded or decoded:
            origins.add(_DECODED)
        if reads:
            origins.add(_FILE)
        origins.add(_COMMAND)
        printed = frozenset(origins)
    else:
        printed = _PRINTS_FILE if reads else _PRINTS
    listing = roots if name in LISTS_NAMES else ()
    if not listing and stdin.listing and name in PASSES_LINES:
        listing = stdin.listing  # `find DIR | grep x | xargs cat` still names files in DIR
    return _Out(printed, value, listing)


def _run_inner(
    sink: _Sink, frame: _Frame, name: str, eff: Effects, stdin: _Out, span: Span,
    privileged: bool, background: bool, via: tuple[str, ...], roots: tuple[str, ...],
) -> frozenset[Origin]:  # fmt: skip
    """What a program runs in turn: argv vectors, shell code, inline code, code on stdin.
    Returns where what the argv vectors and shell code print comes from (the network, a file,
    decoded text): a wrapper prints what it runs prints (``nice curl URL | sh``)."""
    here = (*via, name)
    saved = frame.vars
    if eff.env_set:  # `env F=~/.ssh/id_rsa sh -c 'cat "$F"'`: what it runs has F
        frame.vars = {**saved, **dict(eff.env_set)}
        for var, value in eff.env_set:  # `env GIT_SSH_COMMAND=CODE git fetch` runs CODE
            if expand.is_code_variable(var) and value.strip():
                expand.walk_variable_code(sink, frame, span, var, value)
            elif var in expand.STARTUP_VARIABLES and value:
                expand.walk_startup_file(sink, frame, span, value)
    try:
        inner = _run_nested(sink, frame, name, eff, stdin, span, privileged, background, here,
                            roots)  # fmt: skip
    finally:
        frame.vars = saved
    for lang, code in eff.inline_code:
        if _inline(sink, frame, lang, code, name, span, privileged, via):
            inner |= _FROM_NETWORK
    if eff.stdin_is_code:
        _stdin_code(sink, frame, name, stdin, span, privileged, via)
    return inner


_FROM_NETWORK = frozenset({_NETWORK})


#: The origins of a nested command's output that its wrapper's output carries on.
_CARRIED = frozenset({_NETWORK, _DECODED, _FILE})


def _run_nested(
    sink: _Sink, frame: _Frame, name: str, eff: Effects, stdin: _Out, span: Span,
    privileged: bool, background: bool, here: tuple[str, ...], roots: tuple[str, ...],
) -> frozenset[Origin]:  # fmt: skip
    """The argv vectors and shell code a program runs (with its environment's variables), and
    the :data:`_CARRIED` origins of what they print."""
    carried: frozenset[Origin] = frozenset()
    for nested in eff.nested:
        if nested:
            for inner in _bind_names(nested, name, eff, roots, stdin, sink, span):
                out = _run(sink, frame, inner, stdin, span, frozenset(), via=here,
                           privileged=privileged, background=background or eff.detached)
                carried |= out.origins & _CARRIED
    for index, code in enumerate(eff.shell_code):
        variables = frame.vars
        if index == 0 and eff.shell_args:
            variables = _positional(frame.vars, eff.shell_args)
        child = _Frame(src=b"", text="", depth=frame.depth, via=frame.via + here, span=span,
                       privileged=privileged, background=background or eff.detached,
                       vars=variables, functions=frame.functions, remote=frame.remote)  # fmt: skip
        out = walker._walk_code(sink, child, code, stdin, via="remote" if eff.remote else "")
        carried |= out.origins & _CARRIED
    return carried


def _sourced(
    sink: _Sink, frame: _Frame, name: str, argv: tuple[str, ...], stdin: _Out, span: Span,
    privileged: bool, via: tuple[str, ...],
) -> None:  # fmt: skip
    """A script the analysis knows the text of: ``source <(echo CODE)``, ``bash <(printf
    CODE)``, ``. /dev/stdin <<< CODE``, ``echo CODE > s.sh; sh s.sh``, walked as the code it
    is (by the interpreter named, for ``python3 s.py``)."""
    script = next((a for a in argv[1:] if not a.startswith("-")), "")
    code = stdin if script in STDIN_NAMES else known_text(sink, script)
    if code is not None and remembers(code):  # (fetched, text unknown: remote code marked)
        runner = name if _language(name) else "bash"
        _stdin_code(sink, frame, runner, code, span, privileged, via)


def _known_scripts(
    sink: _Sink, frame: _Frame, name: str, eff: Effects, span: Span, privileged: bool,
    via: tuple[str, ...],
) -> None:  # fmt: skip
    """Files ``name`` runs (op EXEC) whose text the analysis knows (:func:`known_text`),
    walked by :func:`_stdin_code` as ``name``'s stdin: a makefile (``make -f <(echo TEXT)``,
    ``echo TEXT > m.mk; make -f m.mk``) runs its recipes, a SQL client's script (``sqlite3
    -init F``, ``psql -f F``) its statements."""
    for ref in eff.files:
        if ref.op is not FileOp.EXEC:
            continue
        code = known_text(sink, ref.raw)
        if code is not None and remembers(code):  # (fetched, text unknown: marked)
            _stdin_code(sink, frame, name, code, span, privileged, via)


def known_text(sink: _Sink, raw: str) -> _Out | None:
    """What the command already put in the file ``raw`` names, when the analysis knows it: a
    process substitution's output (``<(echo CODE)``) or a file it wrote (``echo CODE > s.sh``,
    :func:`remember_written`); else None."""
    if sink.fd_outs is not None and raw in sink.fd_outs:
        return sink.fd_outs[raw]
    if sink.written is not None:
        return sink.written.get(normalize(raw, sink.paths))
    return None


def _copy_target(sink: _Sink, ref: FileRef) -> str:
    """Where ``cp -r SRC DEST`` writes: ``DEST/SRC`` when DEST is a directory on disk (then
    only that name is written in it), else DEST itself, taken whole (``cp`` makes a missing
    DEST, even ``DEST/``, a copy of SRC). When DEST's parent is not on disk either, the disk
    here is not the one the command would see (the copy would fail on it): ``DEST/`` is then
    taken at its word, a directory."""
    from pathlib import Path

    dest = Path(resolve(normalize(ref.raw, sink.paths)))
    if dest.is_dir() or (ref.raw.endswith("/") and not dest.parent.is_dir()):
        return ref.raw.rstrip("/") + "/" + ref.into
    return ref.raw


def _language(name: str) -> str:
    """The inline-code language of the interpreter ``name`` (``python3.11``: python), or ``""``."""
    return _INTERPRETERS.get(name.rstrip("0123456789."), "")


#: What a file a program downloaded holds: text from the network, unknown here.
_FETCHED = _Out(frozenset({_NETWORK}))


def remembers(out: _Out) -> bool:
    """Whether a file written with ``out`` is worth remembering (:func:`remember_written`):
    its text is known, or it came from the network (running it runs remote code)."""
    return out.value is not None or _NETWORK in out.origins


def remember_written(
    sink: _Sink, frame: _Frame, raw: str, out: _Out, span: Span, *, append: bool
) -> None:  # fmt: skip
    """A file the command wrote with a text the analysis knows (``echo CODE > s.sh``, ``tee
    s.sh <<< CODE``) or that came from the network (``curl URL > s.sh``), for a later run of
    it as a script (:func:`_sourced`, :func:`_run`, :func:`_known_scripts`). A shell start-up
    file runs what it holds by itself later: that text is walked now (:func:`_startup_code`)."""
    path = normalize(raw, sink.paths)
    if sink.written is None:
        sink.written = {}
    before = sink.written.get(path) if append else None
    if runs_at_startup(path):
        _startup_code(sink, frame, raw, out, span)  # (the text before was walked when written)
    written = out.value
    if before is not None and before.value is not None and out.value is not None:
        out = _Out(before.origins | out.origins, before.value + out.value)
    if written is not None and (tool := settings_tool(path)):
        # the whole file as written so far (a TOML table's head and its keys in two writes),
        # up to a bound: a command appending thousands of times must not cost n² to read
        whole = out.value if out.value is not None and len(out.value) <= MAX_SETTINGS else written
        _settings_file(sink, frame, tool, raw, whole, span)
    sink.written[path] = out


#: The most text of one settings file re-read whole after an append (:func:`remember_written`);
#: past it only what each write adds is read. Real settings files are a few hundred bytes.
MAX_SETTINGS = 4096


def _startup_code(sink: _Sink, frame: _Frame, raw: str, out: _Out, span: Span) -> None:
    """``echo 'curl URL | sh' >> ~/.bashrc``: the text a shell start-up file is given runs in
    every new shell; it is walked as shell code, in a shell of its own (none of this command's
    variables or functions), and what it does is found as this command's. A download written
    there (``curl -o ~/.bashrc URL``) is remote code that will run."""
    if _NETWORK in out.origins:
        sink.mark("exec.remote-code", f"start-up file {raw} is given text from the network", span)
    code = out.value
    if code is None or not code.strip():
        return
    if len(code) > MAX_COMMAND_CHARS:  # (a file tool's write may be far larger than a command)
        sink.mark("analysis.incomplete", f"start-up file text is {len(code)} characters", span)
        code = code[:MAX_COMMAND_CHARS]
    child = _Frame(src=b"", text="", depth=frame.depth, via=(*frame.via, f"start-up file {raw}"),
                   span=span, remote=frame.remote)  # fmt: skip
    assigned = len(sink.env_set)
    walker._walk_code(sink, child, code, _NONE)
    if len(sink.env_set) > assigned:  # `export PIP_INDEX_URL=URL`: every later install's index
        for tool, url in env_index_settings(dict(sink.env_set[assigned:])):
            _net(sink, NetRef(NetDirection.FETCH, url), tool, span, _NONE)
            sink.mark("pkg.index-config", url, span)


def _settings_file(
    sink: _Sink, frame: _Frame, tool: str, raw: str, text: str, span: Span
) -> None:  # fmt: skip
    """``echo registry=URL > .npmrc``: what ``tool`` will do by the settings written to its
    file (:mod:`~warden.check.shell.sem_settings`), found as this command's, ``via`` the file:
    an index it will install from, a program it will run."""
    if len(text) > MAX_COMMAND_CHARS:
        sink.mark("analysis.incomplete", f"settings file text is {len(text)} characters", span)
        text = text[:MAX_COMMAND_CHARS]
    eff = settings_effects(tool, text)
    if eff.net or eff.markers or eff.shell_code or eff.nested or eff.files:
        via = (*frame.via, f"settings file {raw}")
        child = _Frame(src=b"", text="", depth=frame.depth, via=via, span=span,
                       remote=frame.remote)  # fmt: skip
        _apply_effects(sink, child, tool, (tool,), eff, _NONE, span, False, False, ())


def _run_written(
    sink: _Sink, frame: _Frame, raw_name: str, span: Span, privileged: bool,
    via: tuple[str, ...],
) -> None:  # fmt: skip
    """``./s.sh`` after ``echo CODE > s.sh``: the file's text runs, by its ``#!`` line's
    interpreter when that names one the analysis reads, else as shell code."""
    assert sink.written is not None
    code = sink.written.get(normalize(raw_name, sink.paths))
    if code is None or code.value is None:
        return
    first = code.value.partition("\n")[0]
    runner = "bash"
    if first.startswith("#!"):
        word = first.split()[-1].rpartition("/")[2] if first.split() else ""
        if _language(word):
            runner = word
    _stdin_code(sink, frame, runner, code, span, privileged, via)


def _positional(variables: dict[str, str], args: tuple[str, ...]) -> dict[str, str]:
    """The variables of ``sh -c CODE NAME ARG...``: ``$0`` is NAME, ``$1``-``$9``, ``$@`` and
    ``$*`` the ARGs (a copy: the code's own assignments stay in its shell)."""
    out = dict(variables)
    out["0"] = args[0]
    out["@"] = out["*"] = " ".join(args[1:])
    for number, arg in enumerate(args[1:10], start=1):
        out[str(number)] = arg
    return out


def _bind_names(
    inner: tuple[str, ...], name: str, eff: Effects, roots: tuple[str, ...], stdin: _Out,
    sink: _Sink, span: Span,
) -> tuple[tuple[str, ...], ...]:  # fmt: skip
    """The commands a wrapper runs with the file names it hands on: ``find DIR -exec cat {} ;``
    reads files in DIR, ``find DIR | xargs cat`` too (the directory stands in with a trailing
    slash, which path rules read as "something inside it"); ``echo ~/.ssh | xargs tar cf x``
    archives ~/.ssh. A ``{}`` is filled in with each name, one command per name, as
    ``xargs -I`` runs them (whole lines, then: ``xargs -I{} sh -c '{}' <<< "rm -rf ~"``).
    ``xargs -a LIST`` and ``parallel -a LIST`` take the names from LIST instead of stdin, when
    the walker knows what LIST holds (``xargs -a <(find ~/.ssh) cat``)."""
    marked = any("{}" in arg for arg in inner)
    if name == "find" and marked:
        found = inside(roots) or ("./",)
    elif name == "xargs" or name == "parallel":
        delimiter = eff.args_delimiter or ("\n" if marked else "")
        found = ()
        for source in eff.args_files or (None,):
            out = stdin if source is None else _fd_out(sink, source)
            found += _names_in(out, delimiter=delimiter, sink=sink, span=span)
        if not found:
            return (inner,)
        if not marked:
            return ((*inner, *found[:MAX_STDIN_NAMES]),)
    else:
        return (inner,)
    # one command per name, at most MAX_BOUND_RUNS and MAX_BOUND_WORDS words in all
    runs = max(1, min(len(found), MAX_BOUND_RUNS, MAX_BOUND_WORDS // max(1, len(inner))))
    return tuple(tuple(a.replace("{}", f) for a in inner) for f in found[:runs])


#: Words (or lines) of a known stdin taken as file names; more make the analysis incomplete
#: (a finding). A ``{}`` command is analysed for at most MAX_BOUND_RUNS names and
#: MAX_BOUND_WORDS words in all.
MAX_STDIN_NAMES = 256
MAX_BOUND_RUNS = 16
MAX_BOUND_WORDS = 4096


def _names_in(
    out: _Out, *, sink: _Sink, span: Span, lines: bool = False, delimiter: str = ""
) -> tuple[str, ...]:
    """File names in a program's output as another program takes them (on its stdin, or from
    a list file that is a process substitution): the directories a listing came from (with a
    trailing slash: "something inside"), and the words (``lines``, or the parts between
    ``delimiter``s: ``xargs -0``, ``xargs -d,``) of a text the analysis knows (``echo``,
    ``printf``, a here-string, a here-doc). A NUL always ends a name (no name holds one).
    More than MAX_STDIN_NAMES is itself a finding (``analysis.incomplete``): a name past the
    cap would go unseen."""
    found = out.listed()
    value = out.value
    if value:
        if lines:
            delimiter = "\n"
        if delimiter and delimiter != "\0":
            value = value.replace(delimiter, "\0")
        if delimiter:
            parts = value.split("\0", MAX_STDIN_NAMES)
            keep = str.strip if delimiter == "\n" else _strip_newline
            found += tuple(keep(p) for p in parts[:MAX_STDIN_NAMES] if p.strip())
        else:
            parts = value.replace("\0", " ").split(None, MAX_STDIN_NAMES)
            found += _xargs_words(parts[:MAX_STDIN_NAMES])
        if len(parts) > MAX_STDIN_NAMES and parts[MAX_STDIN_NAMES].strip():
            sink.mark("analysis.incomplete", f"more than {MAX_STDIN_NAMES} names on stdin", span)
    return found


def _strip_newline(part: str) -> str:
    return part.strip("\n")


def _fd_out(sink: _Sink, path: str) -> _Out:
    """What a list file holds when the walker knows it: a process substitution's output."""
    fd_outs = sink.fd_outs
    return fd_outs.get(path, _NONE) if fd_outs is not None else _NONE


def _xargs_words(head: list[str]) -> tuple[str, ...]:
    """Blank-separated words as xargs takes them: quotes and backslashes removed
    (``xargs cat <<< '"~/.aws/credentials"'``). On text xargs itself would refuse (an unmatched
    quote), the words as they are."""
    if not any(q in w for w in head for q in "'\"\\"):
        return tuple(head)
    try:
        lexer = shlex.shlex(" ".join(head), posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        return tuple(lexer)[:MAX_STDIN_NAMES]
    except ValueError:
        return tuple(head)


def _inline(
    sink: _Sink, frame: _Frame, lang: str, code: str, name: str, span: Span,
    privileged: bool, via: tuple[str, ...],
) -> bool:  # fmt: skip
    """Walk what inline code does; True when it fetches from the network, whose text it may
    print (``python3 -c 'print(urlopen(URL).read())' | sh`` runs remote code, as ``curl URL |
    sh`` does)."""
    if frame.depth >= MAX_DEPTH:
        sink.mark("analysis.incomplete", "code nested too deeply", span)
        return False
    try:
        inner = sink.inline(lang, code)
    except Exception as exc:  # fail closed on analyser bugs
        sink.mark("analysis.internal-error", f"{lang}: {type(exc).__name__}: {exc}", span)
        return False
    if ("analysis.incomplete", "unknown language") in inner.markers:
        inner = _literal_scan(lang, code)
    bomb = _MEMORY_BOMB.search(code[:MAX_COMMAND_CHARS])
    if bomb:
        sink.mark("resource.memory-bomb", bomb.group(0)[:60], span)
    child = _Frame(
        src=b"", text="", depth=frame.depth + 1, via=(*frame.via, *via, f"{name} -c"),
        span=span, privileged=privileged, vars=frame.vars, remote=frame.remote,
    )  # fmt: skip
    _apply_effects(sink, child, name, (name,), inner, _NONE, span, privileged, False, ())
    return any(net.direction is NetDirection.FETCH for net in inner.net)


#: Repetition or allocation sized at a billion or more, in any of the analysed languages:
#: `"x" * 10**12`, `[0] * 10**10`, `'a' x 1e11` (perl), `.repeat(1e10)` (node), `bytearray(2**40)`,
#: `* 99999999999`. Ordinary code never sizes a value like this; a memory bomb always does.
_MEMORY_BOMB = re.compile(
    r"(?:\*|\bx|\.repeat\(|\b(?:bytearray|bytes|range|Buffer\.alloc|new Array)\()\s*\(?\s*"
    r"(?:10\s*\*\*\s*(?:9|[1-9]\d)|2\s*\*\*\s*(?:3\d|[4-9]\d)|[1-9]\d?(?:\.\d+)?e(?:9|[1-9]\d)"
    r"|\d{10,})\b"
)
_QUOTED_LITERAL = re.compile("'([^'\\n]{1,4096})'|\"([^\"\\n]{1,4096})\"")


def _literal_scan(lang: str, code: str) -> Effects:
    """Code in a language warden does not analyse (R, PowerShell, ...): its string literals that
    name paths or URLs still count, so ``Rscript -e 'readLines("~/.ssh/id_rsa")'`` is seen."""
    from warden.check.shell.effects import FileRef

    files: list[FileRef] = []
    nets: list[NetRef] = []
    code = code[:MAX_COMMAND_CHARS]
    for m in _QUOTED_LITERAL.finditer(code):
        text = m.group(1) or m.group(2) or ""
        if "://" in text and " " not in text:
            nets.append(NetRef(NetDirection.FETCH, text))
        elif text.startswith(("/", "~/", "$HOME/", "../")) and " " not in text:
            files.append(FileRef(FileOp.READ, text))
    shell = [m.group(1) or m.group(2) for m in _SHELL_CALL.finditer(code)]
    if lang == "tcl":  # `exec PROGRAM ARG...` up to the command's end; braces quote as '...'
        shell += [m.group(1).replace("{", "'").replace("}", "'") for m in _TCL_EXEC.finditer(code)]
        shell += [m.group(1) for m in _TCL_OPEN_PIPE.finditer(code)]
    return Effects(files=tuple(files), net=tuple(nets), shell_code=tuple(shell),
                   markers=(("inline.unanalysed", lang),))  # fmt: skip


#: A call that runs a command line, in the languages :func:`_literal_scan` reads: R's
#: ``system("...")``/``system2("prog", ...)``/``shell(...)``/``pipe(...)``, PowerShell's
#: ``Invoke-Expression "..."``/``iex(...)``. The literal is walked as shell code.
_SHELL_CALL = re.compile(
    r"\b(?:system2?|shell|pipe|Invoke-Expression|iex)\s*\(?\s*(?:command\s*=\s*)?"
    r"(?:'([^'\n]{1,4096})'|\"([^\"\n]{1,4096})\")"
)
#: Tcl's ``exec`` (at a command's start: a line, ``;``, ``[`` or ``{``) and ``open "|CMD"``.
_TCL_EXEC = re.compile(r"(?:^|[;\[{])[ \t]*exec[ \t]+([^\]\n;]{1,4096})", re.MULTILINE)
_TCL_OPEN_PIPE = re.compile(r"\bopen[ \t]+[\"{]\|([^\"}\n]{1,4096})")


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
    child = _Frame(
        src=b"", text="", depth=frame.depth, via=(*frame.via, *via, f"{name} <stdin>"),
        span=span, privileged=privileged, vars=frame.vars, remote=frame.remote,
    )  # fmt: skip
    lang = "shell" if name in _SHELLS else _language(name)
    if name in MAKES:  # `make -f -`: the makefile is on stdin
        walker._walk_code(sink, child, makefile_code(stdin.value), _NONE)
    elif name in SQL_STDIN_ARGV:  # `echo '.shell CMD' | sqlite3 x.db`: the statements given
        _run(sink, child, (*SQL_STDIN_ARGV[name], stdin.value), _NONE, span, frozenset(),
             privileged=privileged)  # fmt: skip
    elif lang == "shell":
        walker._walk_code(sink, child, stdin.value, _NONE)
    elif lang:
        _inline(sink, frame, lang, stdin.value, name, span, privileged, via)


def _from_glob(raw: str, live: set[str]) -> bool:
    """Whether ``raw`` was made from a word the shell glob-expands: a directory standing in for
    the names found in it (``find ~/.ss? -exec cat {} +`` reads ``~/.ss?/``), a member joined
    to a program's own directory (``tar -C ~ -czf x.tgz .ss?`` archives ``~/.ss?``), or a
    name joined to a globbed directory (``tar -C ~/.a?s -czf x.tgz credentials``). Set lookups
    for the first and last :data:`MAX_GLOB_JOINS` ``/`` of the path, whatever the number of
    globs (a joined part is a directory or a member: a few components)."""
    bare = raw.rstrip("/")
    if bare in live or bare + "/" in live:
        return True
    at, n = bare.find("/"), 0
    while at >= 0 and n < MAX_GLOB_JOINS:  # a globbed directory with a name joined to it
        head = bare[:at]
        if head in live or head + "/" in live:
            return True
        at, n = bare.find("/", at + 1), n + 1
    at, n = bare.rfind("/"), 0
    while at >= 0 and n < MAX_GLOB_JOINS:  # a globbed member joined to a directory
        tail = bare[at + 1 :]
        if tail in live or tail + "/" in live:
            return True
        at, n = bare.rfind("/", 0, at), n + 1
    return False


#: What a path keeps of a value the analysis could not know (an unset variable, an operation
#: it does not follow, a command's output): ``$X``, ``${...}``, ``$(...)``, ``$((...))``,
#: backquotes. :func:`_file` puts a wildcard in its place, since bash may put any name there
#: (``cat ~/.ssh/$X`` may read ``~/.ssh/id_rsa``; kept as text, it matched nothing), when
#: the path lies outside the workspace. ``$HOME`` and ``$PWD`` stay: :func:`~warden.check.
#: paths.normalize` knows them. The wildcard meets dot names too (the comparison of globs with
#: the rules' patterns has no leading-dot rule), so ``cat ~/$X`` meets ``~/.npmrc``.
_UNKNOWN_VALUE = re.compile(
    r"\$(?!(?:HOME|PWD|\{HOME\}|\{PWD\})(?![A-Za-z0-9_]))"
    r"(?:\{[^}]*\}+|\(\([^)]*\)\)|\([^)]*\)|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])|`[^`]*`"
)


#: How many ``/`` from each end of a path :func:`_from_glob` looks for a joined glob.
MAX_GLOB_JOINS = 16


#: How many links one command may make before the analysis stops following them (and says
#: it is incomplete): every later path is looked up against each of them.
MAX_LINKS = 64


def _note_link(sink: _Sink, detail: str, span: Span) -> None:
    """Remember a link the command made (``ln -s / r``, the ``fs.link`` marker's "TARGET ->
    LINK"): a symbolic link's relative target is taken from the link's own directory."""
    target, _, link = detail.partition(" -> ")
    if not target or not link or "$" in target or "$" in link:
        return
    ctx = sink.paths
    if sink.links is not None and len(sink.links) >= MAX_LINKS:
        # each later path is compared with every link: a rogue command of thousands of links
        # would make that quadratic. Links past the bound are not followed, so say so.
        sink.mark("analysis.incomplete", f"more than {MAX_LINKS} links made", span)
        return
    path = normalize(link, ctx)
    if link.endswith("/") or link in (".", ".."):  # `ln -s TARGET DIR/`: DIR/basename
        path = path.rstrip("/") + "/" + (target.rstrip("/").rpartition("/")[2] or "root")
    if not target.startswith(("/", "~")):
        target = path.rpartition("/")[0] + "/" + target
    if sink.links is None:
        sink.links = {}
    sink.links[path] = normalize(target, ctx)


def _through_link(sink: _Sink, path: str) -> str | None:
    """``path`` with a link the command made replaced by its target (``ln -s / r; cat
    r/etc/shadow`` reads /etc/shadow); ``None`` when no such link leads to it."""
    assert sink.links is not None
    for link, target in sink.links.items():
        if path == link or path.startswith(link + "/"):
            return (target.rstrip("/") + path[len(link) :]) or "/"
    return None


def _file(
    sink: _Sink, frame: _Frame, op: FileOp, raw: str, by: str, span: Span, *,
    recursive: bool = False,
) -> None:  # fmt: skip
    if not raw or frame.remote:
        return  # a path on another machine or in a container is not this machine's file
    if sink.links is not None:  # through a link made earlier in the command, the target
        path = normalize(raw, sink.paths)
        linked = _through_link(sink, path)
        if linked is not None and linked != path and not (op is _DELETE and path in sink.links):
            _file_access(sink, op, linked, by, span, recursive)
    _file_access(sink, op, raw, by, span, recursive)


def _file_access(
    sink: _Sink, op: FileOp, raw: str, by: str, span: Span, recursive: bool
) -> None:  # fmt: skip
    ctx = sink.paths
    unknown = False
    if ("$" in raw or "`" in raw) and _UNKNOWN_VALUE.search(raw) is not None:
        # `cat ~/.ssh/$X`: a value known only at run time may be any name (outside the
        # workspace only: `cat "$f"` there would otherwise match every name pattern)
        wild = _UNKNOWN_VALUE.sub("*", raw)
        if not is_within(normalize(wild, ctx), ctx.workspace):
            raw, unknown = wild, True
    path = normalize(raw, ctx)
    real = resolve(path)
    live = sink.live_globs
    glob = unknown or (bool(live) and (raw in live or _from_glob(raw, live))) or (
        sink.glob_cwd and not raw.startswith(("/", "~"))
    )
    if glob and op is _LIST:
        sink.listed_glob = True
    in_ws = is_within(path, ctx.workspace) and (real == path or is_within(real, ctx.workspace))
    sink.files.append(
        FileAccess(op=op, path=path, raw=raw, by=by, span=span, in_workspace=in_ws, glob=glob,
                   recursive=recursive, real=real if real != path else None,
                   folded=fold_hidden(path))
    )  # fmt: skip


def _net(sink: _Sink, ref: NetRef, by: str, span: Span, stdin: _Out) -> None:
    host, port, scheme, url = parse_target(ref.target, by)
    sends = stdin.origins if ref.direction is _UPLOAD else frozenset()
    sink.net.append(
        NetAccess(direction=ref.direction, host=host, port=ref.port or port, scheme=scheme,
                  url=url, by=by, span=span, sends=sends)
    )  # fmt: skip


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
