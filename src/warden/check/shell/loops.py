"""Loops and the builtins that set variables from data: values the analysis knows, bound.

``for f in ~/.ssh/id_rsa; do cat $f; done`` reads the key, and so do
``find ~/.ssh | while read f; do cat "$f"; done`` and ``read f <<< ~/.npmrc; cat $f``. The
body of a loop is walked once per distinct value with the variable bound to it, as bash runs
it; integers count as one value (``for i in {1..50}`` walks its body once: a number is not a
name a rule could match, and ``$i`` inside a path is then one example of the many). A value
only known at run time (``for f in $(cat list)``) leaves the variable unbound for one more
walk, which is what the analysis did before it bound anything. ``for f; do`` iterates over the
positional parameters when ``sh -c CODE NAME ARG...`` or ``set -- ARG...`` bound them
(``shift`` drops them). ``mapfile``/``readarray``
bind an array to the lines of a known input, and ``printf -v NAME`` binds what printf would
have printed.

Bounds: at most :data:`MAX_LOOP_VALUES` values a loop and :data:`MAX_LOOP_WALKS` body walks
(a long body counts once per KiB) in one analysis (nested loops multiply); past either, the
values left out would go unseen, so the analysis says it is incomplete (a finding).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import tree_sitter

from warden.check.facts import Span
from warden.check.shell import expand, run, values, walker
from warden.check.shell.state import _NONE, _Frame, _node_text, _Out, _Sink, _span
from warden.check.shell.words import WordInfo

#: Distinct values one loop's body is walked with; more make the analysis incomplete.
MAX_LOOP_VALUES = 32
#: Body walks in one analysis, all loops together (nested loops multiply); a body counts once
#: per LOOP_TEXT_UNIT characters of its text, so the text walked again stays under ~256 KiB.
MAX_LOOP_WALKS = 256
LOOP_TEXT_UNIT = 1024

#: How a loop binds one value: the variables it sets (all of them, to "" for an unbind).
_Binder = Callable[[str], dict[str, str]]

_INTEGER = re.compile(r"[+-]?\d+")
#: ``read`` options that take a value (bash(1), SHELL BUILTIN COMMANDS).
_READ_VALUES = frozenset("adinNptu")


def for_loop(sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out) -> _Out:
    """``for NAME in WORDS; do BODY; done``: BODY once per value of NAME."""
    variable = node.child_by_field_name("variable")
    body = node.child_by_field_name("body")
    if variable is None or body is None:
        return walker._walk_children(sink, frame, node, stdin, node.type)
    name = _node_text(frame, variable)
    words = node.children_by_field_name("value")
    values: list[str] = []
    unbound = False  # some value is only known at run time
    if words:
        for word in words:
            info = WordInfo()
            found, _ = expand._eval_arg(sink, frame, word, info)
            _report(sink, frame, word, info)
            for value in found:
                if info.dynamic and ("$" in value or "`" in value):
                    unbound = True
                else:
                    values.append(value)
    elif "@" in frame.vars:  # `for f; do`: the positional parameters
        values = frame.vars["@"].split()
    else:
        unbound = True
    return _walk_bound(sink, frame, node, body, stdin, values, unbound,
                       lambda value: {name: value})  # fmt: skip


def while_read(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, stdin: _Out
) -> _Out | None:
    """``... | while read [-r] NAME...; do BODY; done`` (or ``done < <(...)``, ``done <<< X``):
    BODY once per line the loop reads, when the analysis knows them. ``None`` when the
    condition is not a plain ``read`` or its input is unknown (the walker goes on as usual)."""
    condition = node.child_by_field_name("condition")
    body = node.child_by_field_name("body")
    if condition is None or body is None or condition.type != "command":
        return None
    if stdin.value is None and not stdin.listing:
        return None
    argv, ifs = _read_argv(sink, frame, condition)
    if not argv or argv[0] != "read":
        return None
    names, delimiter, array = _read_names(argv)
    walker._walk(sink, frame, condition, stdin)  # the `read` itself (binds the first line)
    span = _span(frame, node)
    lines = run._names_in(stdin, delimiter=delimiter, sink=sink, span=span)
    return _walk_bound(sink, frame, node, body, stdin, list(lines), False,
                       lambda line: _fields(line, names, array, ifs))  # fmt: skip


def bind_read(
    sink: _Sink, frame: _Frame, argv: tuple[str, ...], stdin: _Out, ifs: str | None, span: Span
) -> None:
    """``read [-r] NAME...`` with a known stdin: NAME holds its first line (the first listed
    directory, for a listing), split at ``IFS`` over the names as bash does."""
    if stdin.value is None and not stdin.listing:
        return
    names, delimiter, array = _read_names(argv)
    lines = run._names_in(stdin, delimiter=delimiter, sink=sink, span=span)
    if lines:
        bound = _fields(lines[0], names, array, ifs)
        frame.vars.update(bound)
        _note_bound(sink, bound)


def bind_mapfile(
    sink: _Sink, frame: _Frame, argv: tuple[str, ...], stdin: _Out, span: Span
) -> None:
    """``mapfile [-t] [-d DELIM] [ARRAY]`` (or ``readarray``): ARRAY (default MAPFILE) holds
    the lines of a known input (``mapfile -t keys < <(find ~/.ssh)``)."""
    if stdin.value is None and not stdin.listing:
        return
    names, delimiter = [], "\n"
    words = list(argv[1:])
    while words:
        word = words.pop(0)
        if word.startswith("-") and len(word) > 1:
            letter, value = word[1], word[2:]
            if letter in "dnOsuCc" and not value:
                value = words.pop(0) if words else ""
            if letter == "d":
                delimiter = value[:1] or "\0"
        else:
            names.append(word)
    lines = run._names_in(stdin, delimiter=delimiter, sink=sink, span=span)
    bound = {(names[0] if names else "MAPFILE"): " ".join(lines)}
    frame.vars.update(bound)
    _note_bound(sink, bound)


def bind_printf(sink: _Sink, frame: _Frame, argv: tuple[str, ...]) -> None:
    """``printf -v NAME FORMAT ARG...``: NAME holds what printf would have printed."""
    if len(argv) < 4:
        return
    value, _ = values.output("printf", argv[3:], None)
    if value is not None:
        frame.vars[argv[2]] = value


#: The most text the positional parameters may hold (``set -- ARG...``): each ``shift`` copies
#: what is left, so thousands of arguments and shifts would be quadratic. Past it the analysis
#: says it is incomplete (it could not follow what ``$1`` holds).
MAX_POSITIONAL = 4096


def bind_set(sink: _Sink, frame: _Frame, argv: tuple[str, ...], span: Span) -> None:
    """``set [OPTIONS] [--] ARG...`` makes ARGs the positional parameters (``set --
    ~/.ssh/id_rsa; cat $1``) and ``shift [N]`` drops the first N, as bash does: a count larger
    than the number of parameters fails and changes nothing (``set -- KEY; shift 5; cat $1``
    still reads KEY)."""
    if argv[0] == "shift":
        count = argv[1] if len(argv) > 1 else "1"
        held = frame.vars.get("@")
        if held is None or not (count.isascii() and count.isdigit()):
            return
        n = int(count) if len(count) <= 6 else MAX_POSITIONAL + 1  # more than there can be
        parts = held.split(None, n)
        if n == 0 or len(parts) < n:  # bash: "shift count out of range", nothing changes
            return
        rest = parts[n] if len(parts) > n else ""
        _positional(frame, rest.split(None, 9)[:9], rest)
        return
    i, end = 1, len(argv)
    while i < end:  # options before the arguments (an index: `set -e -e ...` stays linear)
        word = argv[i]
        if word == "--":
            i += 1
            break
        if not word.startswith(("-", "+")) or word in ("-", "+"):
            i += word in ("-", "+")
            break
        i += 1
        if word.endswith("o") and i < end:  # `-o pipefail`, `-euo pipefail`: o takes a name
            i += 1
    else:
        return  # only options: the parameters are unchanged
    args = argv[i:]
    text = " ".join(args)
    if len(text) > MAX_POSITIONAL:
        sink.mark("analysis.incomplete", f"positional parameters over {MAX_POSITIONAL} "
                  "characters", span)  # fmt: skip
        frame.vars.pop("@", None)
        return
    _positional(frame, list(args[:9]), text)


def _positional(frame: _Frame, first: list[str], text: str) -> None:
    """Bind ``$1``..``$9`` to the first nine parameters and ``$@``, ``$*`` to all of them,
    ``text`` (as ``sh -c CODE NAME ARG...`` does)."""
    for number in range(1, 10):
        frame.vars.pop(str(number), None)
    frame.vars["@"] = frame.vars["*"] = text
    for number, arg in enumerate(first[:9], start=1):
        frame.vars[str(number)] = arg


def _note_bound(sink: _Sink, names: dict[str, str]) -> None:
    """Remember which variables hold names a loop or ``read`` bound: shortening them
    (``${f%.txt}``) is ordinary work, not a trick to hide a word."""
    if sink.loop_vars is None:
        sink.loop_vars = set()
    sink.loop_vars.update(names)


def _walk_bound(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, body: tree_sitter.Node, stdin: _Out,
    values: list[str], unbound: bool, bind: _Binder,
) -> _Out:  # fmt: skip
    walker._loop_markers(sink, frame, node)
    distinct = _distinct(values)
    span = _span(frame, node)
    if len(distinct) > MAX_LOOP_VALUES:
        sink.mark("analysis.incomplete", f"loop over more than {MAX_LOOP_VALUES} values", span)
        distinct = distinct[:MAX_LOOP_VALUES]
    size = body.end_byte - body.start_byte
    walks = sink.loop_walks + len(distinct) * (1 + size // LOOP_TEXT_UNIT)
    if walks > MAX_LOOP_WALKS:
        sink.mark("analysis.incomplete", "loop bodies too large or too many to walk", span)
        distinct, unbound = [], True
    else:
        sink.loop_walks = walks
    _note_bound(sink, bind(""))
    outs: list[_Out] = []
    for value in distinct:
        frame.vars.update(bind(value))
        outs.append(walker._walk(sink, frame, body, stdin))
    if unbound or not distinct:
        for name in bind(""):
            frame.vars.pop(name, None)
        outs.append(walker._walk(sink, frame, body, stdin))
    return _merged(outs)


def _distinct(values: list[str]) -> list[str]:
    """Values in order, each once; integers as one (the first)."""
    seen: dict[str, None] = {}
    number = False
    for value in values:
        if _INTEGER.fullmatch(value):
            if number:
                continue
            number = True
        seen.setdefault(value, None)
    return list(seen)


def _merged(outs: list[_Out]) -> _Out:
    """What a loop prints: every walk's output, in order."""
    if len(outs) == 1:
        return outs[0]
    origins = frozenset().union(*(o.origins for o in outs))
    known = [o.value for o in outs]
    value = None if any(v is None for v in known) else "".join(v or "" for v in known)
    listing = tuple(dict.fromkeys(r for o in outs for r in o.listing))
    if not origins and value is None and not listing:
        return _NONE
    return _Out(origins, value, listing)


def _read_argv(
    sink: _Sink, frame: _Frame, command: tree_sitter.Node
) -> tuple[tuple[str, ...], str | None]:
    """The words of a ``read`` command node, and the IFS it is given (``IFS=, read a b``)."""
    argv: list[str] = []
    ifs: str | None = None
    for child in command.named_children:
        if child.type == "variable_assignment":
            target = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if target is not None and _node_text(frame, target) == "IFS":
                ifs = expand.literal_value(frame, value) if value is not None else ""
        elif child.type in ("command_name", "word"):
            argv.append(_node_text(frame, child))
        elif child.is_named and "redirect" not in child.type:
            return (), None  # a computed word: not a plain read
    return tuple(argv), ifs


def _read_names(argv: tuple[str, ...]) -> tuple[tuple[str, ...], str, str]:
    """The variables ``read`` sets, the delimiter of a line, and the ``-a`` array if any."""
    names: list[str] = []
    delimiter = "\n"
    array = ""
    words = list(argv[1:])
    while words:
        word = words.pop(0)
        if word == "--":
            names.extend(words)
            break
        if not word.startswith("-") or word == "-":
            names.append(word)
            continue
        for index, letter in enumerate(word[1:], start=2):
            if letter in _READ_VALUES:
                value = word[index:] or (words.pop(0) if words else "")
                if letter == "d":
                    delimiter = value[:1] or "\0"
                elif letter == "a":
                    array = value
                break
    if not names and not array:
        names = ["REPLY"]
    return tuple(names), delimiter, array


def _fields(line: str, names: tuple[str, ...], array: str, ifs: str | None) -> dict[str, str]:
    """The variables one ``read`` of ``line`` sets: split at IFS, the last name takes the rest
    (an empty IFS: the whole line). Names bind to "" when ``line`` is "" (an unbind request)."""
    seps = " \t\n" if ifs is None else ifs
    if not line:
        return dict.fromkeys((*names, array) if array else names, "")
    if not seps:
        fields = [line]
    else:
        pattern = "[" + re.escape(seps) + "]+" if seps.isspace() else "[" + re.escape(seps) + "]"
        fields = [f.strip(" \t") for f in re.split(pattern, line.strip(" \t\n"))]
    out: dict[str, str] = {}
    if array:
        out[array] = " ".join(fields)
    for index, name in enumerate(names):
        if index == len(names) - 1:
            out[name] = (seps[:1] or " ").join(fields[index:]) if index < len(fields) else ""
        else:
            out[name] = fields[index] if index < len(fields) else ""
    return out


def _report(sink: _Sink, frame: _Frame, node: tree_sitter.Node, info: WordInfo) -> None:
    """Obfuscation tags, reasons analysis stopped and environment reads of a loop's words."""
    span = _span(frame, node)
    for tag in sorted(info.tags):
        sink.mark(tag, _node_text(frame, node)[:80], span)
    for reason in sorted(info.incomplete):
        sink.mark("analysis.incomplete", reason, span)
    if info.env_read:
        sink.env_read.extend(info.env_read)

