"""Word expansion on the syntax tree: quotes, escapes, parameters, substitutions.

Turns an argument node into the argv entries bash would produce (see :mod:`.words` for the
text-level steps), recording obfuscation tags, environment reads and the origins of data
substituted into the word. Assignments and declarations (``x=1``, ``export X=1``) are here too,
since they are words that set variables.
"""

from __future__ import annotations

import re

import tree_sitter

from warden.check.facts import Origin, Span
from warden.check.shell import walker
from warden.check.shell.state import _KNOWN_VARS, _NONE, _Frame, _node_text, _Out, _Sink, _span
from warden.check.shell.words import LIT, QUOTED, SPLIT, Text, WordInfo, decode_ansi_c, finish_word


def _eval_arg(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, info: WordInfo | None = None
) -> tuple[list[str], frozenset[Origin]]:
    """argv entries for one argument node, and the origins of data substituted into it."""
    if node.type == "word":  # most arguments: _plain and _needs_eval on one read of the text
        raw = node.text
        if raw is not None and _special_search(raw) is None:
            return [_node_text(frame, node)], _NO_ORIGINS
        if raw is not None and _special_no_glob_search(raw) is None:
            word = _node_text(frame, node)
            sink.live_globs.add(word)
            return [word], _NO_ORIGINS
    info = info if info is not None else WordInfo()
    text = Text()
    origins: set[Origin] = set()
    _eval_into(sink, frame, node, text, info, origins, quoted=False)
    words = []
    for value, glob in finish_word(text, info):
        words.append(value)
        if glob:
            sink.live_globs.add(value)
    return words, frozenset(origins) if origins else _NO_ORIGINS


#: Bytes that make a word more than its text (``_SPECIAL_BYTES``), and the same without the
#: glob characters (a word with only those is itself, and a live glob).
_SPECIAL_NO_GLOB = re.compile(rb"[\\{}~$`'\"]")

_SPECIAL_BYTES = re.compile(rb"[\\{}*?\[~$`'\"]")

_special_search = _SPECIAL_BYTES.search
_special_no_glob_search = _SPECIAL_NO_GLOB.search
_NO_ORIGINS: frozenset[Origin] = frozenset()


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
        quoted_piece = any(p.type in ("raw_string", "string") for p in pieces)
        if len(pieces) > 1 and quoted_piece and _looks_split(frame, pieces):
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
        out = walker._substitution(sink, frame, node)
        origins |= out.origins
        if kind == "command_substitution" and out.value is not None:
            text.add(out.value.rstrip("\n"), QUOTED if quoted else SPLIT)
            if Origin.DECODED in out.origins:
                info.tags.add("obfuscation.decoded-substitution")
        elif kind == "command_substitution" and out.listing:
            # `cat $(find ~/.ssh -name 'id_*')`: names found in a directory, which stands in for
            # them with a trailing slash ("something inside"), as for `find DIR | xargs cat`
            info.dynamic = True
            text.add(" ".join(out.listed()), SPLIT)
        else:
            info.dynamic = True
            if kind == "command_substitution":
                text.add("$(...)", QUOTED)
            else:
                text.add(sink.fd_path(out), QUOTED)
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
            origins |= walker._substitution(sink, frame, cur).origins
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
    """Backslash removal inside double quotes: before ``$ ` " \\`` and a newline (which
    goes with it); any other backslash stays. One regex substitution, left to right without
    overlaps, as the character loop it replaced (same results, tested against it)."""
    if "\\" not in raw:
        return raw
    return _DQ_ESCAPE.sub(_dq_kept, raw)


_DQ_ESCAPE = re.compile(r'\\([$`"\\\n])')


def _dq_kept(m: re.Match[str]) -> str:
    c = m.group(1)
    return "" if c == "\n" else c


def _expansion(
    sink: _Sink, frame: _Frame, node: tree_sitter.Node, text: Text, info: WordInfo, *,
    quoted: bool,
) -> None:  # fmt: skip
    """``$NAME`` / ``${NAME...}``: known values substituted, the rest kept as written."""
    raw = _node_text(frame, node)
    name = ""
    indirect = False
    ops: list[tree_sitter.Node] = []
    element: str | None = None  # `${files[@]}`, `${files[0]}`: the array's index
    for child in node.children:
        if child.type in ("variable_name", "special_variable_name"):
            name = _node_text(frame, child)
        elif child.type == "subscript":
            target = child.child_by_field_name("name")
            index = child.child_by_field_name("index")
            name = _node_text(frame, target) if target is not None else ""
            element = _node_text(frame, index) if index is not None else "@"
        elif child.type == "!":
            indirect = True
        elif child.type not in ("$", "${", "}"):
            ops.append(child)
    for op in ops:  # substitutions inside ${x:-$(cmd)}
        if op.is_named:
            _scan_substitutions(sink, frame, op, set())
    value = _var_value(sink, frame, name)
    if value is not None and element is not None:
        value = _element(value, element)
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
    if value and ops and not _is_default_op(frame, ops) and not _loop_bound(sink, name):
        # (`for f in *.txt; do mv "$f" "${f%.txt}.md"`: ordinary work on a loop's names)
        info.tags.add("obfuscation.parameter-expansion")
    if name == "HOME" or name == "PWD":
        # keep a recognisable form for path normalisation
        text.add(value, QUOTED)
        return
    if len(text.chars) + len(value) > MAX_VALUE_CHARS:
        info.incomplete.add("expanded word too large")
        value = value[: max(0, MAX_VALUE_CHARS - len(text.chars))]
    if name == "@" or (element is not None and not element.isdigit()):  # "$@", "${a[@]}"
        text.add(value, SPLIT)
        return
    text.add(value, QUOTED if quoted else SPLIT)

#: Largest variable value (and expanded word) followed. Bash has no limit, so a command can grow
#: a value exponentially (`a=$a$a` repeated); past this bound analysis stops and says so.
MAX_VALUE_CHARS = 64 * 1024


def _element(value: str, index: str) -> str:
    """One element of an array kept as its blank-separated elements (``${a[1]}``); for an
    index only known at run time or past the end (a sparse array: ``x[3]=v``), all of them
    (``${a[$i]}`` may be any)."""
    if index in ("@", "*"):
        return value
    if index.isdigit():
        parts = value.split()
        return parts[int(index)] if int(index) < len(parts) else value
    return value


def _loop_bound(sink: _Sink, name: str) -> bool:
    return sink.loop_vars is not None and name in sink.loop_vars


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


def _assignment(sink: _Sink, frame: _Frame, node: tree_sitter.Node) -> tuple[str, str]:
    name_node = node.child_by_field_name("name")
    value_node = node.child_by_field_name("value")
    name = _node_text(frame, name_node) if name_node is not None else ""
    index: str | None = None
    if name_node is not None and name_node.type == "subscript":  # `x[3]=v`: one element
        target, at = name_node.child_by_field_name("name"), name_node.child_by_field_name("index")
        name = _node_text(frame, target) if target is not None else name
        index = _node_text(frame, at) if at is not None else ""
    value = ""
    if value_node is not None:
        info = WordInfo()
        if name == "IFS":  # kept whole: `IFS=$'\t' read -r a b` splits at tabs, not blanks
            words = [literal_value(frame, value_node)]
        elif value_node.type == "array":  # `files=(~/.npmr?)`: the elements, blank-separated
            words = []
            for element in value_node.named_children:
                words += _eval_arg(sink, frame, element, info)[0]
        else:
            words, _ = _eval_arg(sink, frame, value_node, info)
        value = " ".join(words)
        for tag in info.tags:
            sink.mark(tag, _node_text(frame, node)[:80], _span(frame, node))
        for reason in info.incomplete:
            sink.mark("analysis.incomplete", reason, _span(frame, node))
        if len(value) > MAX_VALUE_CHARS:
            # `a=$a$a` repeated doubles the value each time: bound it, and say so
            sink.mark("analysis.incomplete", f"value of {name} too large", _span(frame, node))
            value = value[:MAX_VALUE_CHARS]
    if index is not None:
        value = _set_element(frame.vars.get(name, ""), index, value)
    if is_code_variable(name) and value.strip():
        walk_variable_code(sink, frame, _span(frame, node), name, value)
    elif name in STARTUP_VARIABLES and value:
        walk_startup_file(sink, frame, _span(frame, node), value)
    return name, value


#: Variables whose value programs run as a command line: git (``GIT_SSH_COMMAND`` is
#: ``core.sshCommand``, ``GIT_PAGER`` is ``core.pager``...), ssh's askpass, pagers, editors,
#: rsync's remote shell, less's input filter. ``GIT_SSH_COMMAND='cat ~/.ssh/id_rsa' git
#: fetch`` reads the key, as ``git -c core.sshCommand=...`` does.
CODE_VARIABLES = frozenset({
    "GIT_SSH_COMMAND", "GIT_SSH", "GIT_PAGER", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR",
    "GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "SSH_ASKPASS", "PAGER", "MANPAGER",
    "SYSTEMD_PAGER", "EDITOR", "VISUAL", "RSYNC_RSH", "LESSOPEN", "LESSCLOSE", "PROMPT_COMMAND",
})  # fmt: skip


def is_code_variable(name: str) -> bool:
    """A :data:`CODE_VARIABLES` name, or ``GIT_CONFIG_VALUE_<n>``: the value of a config
    setting given in the environment (``GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.pager
    GIT_CONFIG_VALUE_0=CODE git log`` is ``git -c core.pager=CODE log``), walked whatever its
    key (a value that is no command names a program that does nothing here)."""
    return name in CODE_VARIABLES or name.startswith("GIT_CONFIG_VALUE_")


#: Variables naming a file that a shell sources when it starts (bash non-interactive:
#: ``BASH_ENV``; sh interactive: ``ENV``).
STARTUP_VARIABLES = frozenset({"BASH_ENV", "ENV"})


def walk_startup_file(sink: _Sink, frame: _Frame, span: Span, value: str) -> None:
    """``BASH_ENV=<(echo CODE) bash -c X``: the file's text, when the command made it, is
    walked as the shell code it is (a file on disk stays unread, as ``source FILE`` does);
    one that came from the network (``BASH_ENV=<(curl URL)``) is remote code that runs, as
    ``source <(curl URL)`` is."""
    from warden.check.shell.run import known_text

    known = known_text(sink, value)
    if known is None:
        return
    if Origin.NETWORK in known.origins:
        sink.mark("exec.remote-code", f"a shell sources {value} from the network", span)
    if Origin.DECODED in known.origins:
        sink.mark("obfuscation.decoded-exec", f"a shell sources decoded text from {value}", span)
    if known.value is not None:
        walk_variable_code(sink, frame, span, "BASH_ENV", known.value)


def walk_variable_code(sink: _Sink, frame: _Frame, span: Span, name: str, value: str) -> None:
    """Walk a :func:`is_code_variable` value as the shell code it becomes (``LESSOPEN='|cmd
    %s'`` without its pipe and placeholder; an alias's ``!CODE`` without its ``!``), where it
    is assigned (also by ``env NAME=V``)."""
    if name.startswith("LESS"):
        code = value.lstrip("|").replace("%s", "x")
    elif name.startswith("GIT_CONFIG_VALUE_"):
        code = value.removeprefix("!")
    else:
        code = value
    child = _Frame(src=b"", text="", depth=frame.depth, via=(*frame.via, name),
                   span=span, privileged=frame.privileged, vars=frame.vars,
                   functions=frame.functions, remote=frame.remote)  # fmt: skip
    walker._walk_code(sink, child, code, _NONE)


def _set_element(array: str, index: str, value: str) -> str:
    """An array (its blank-separated elements) with element ``index`` set to ``value``: in
    place when it exists, else added (:func:`_element` gives every element for an index past
    the end, so a sparse ``x[3]=v; ${x[3]}`` still finds ``v``)."""
    parts = array.split()
    if index.isdigit() and int(index) < len(parts):
        parts[int(index)] = value
    else:
        parts.append(value)
    return " ".join(parts)


def literal_value(frame: _Frame, node: tree_sitter.Node) -> str:
    """A word's text after quote removal, without splitting or expansion (``$'\t'`` is a tab,
    ``','`` a comma): what a separator assignment such as ``IFS=...`` holds."""
    kind = node.type
    if kind == "ansi_c_string":
        return decode_ansi_c(_node_text(frame, node)[2:-1])[0]
    if kind == "raw_string":
        return _node_text(frame, node)[1:-1]
    if kind == "string":
        return "".join(_dq_part(frame, c) for c in node.named_children)
    if kind == "concatenation":
        return "".join(literal_value(frame, c) for c in node.named_children)
    return _node_text(frame, node).replace("\\", "")


def _dq_part(frame: _Frame, node: tree_sitter.Node) -> str:
    text = _node_text(frame, node)
    return _dq_unescape(text) if node.type == "string_content" else text


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
        elif child.type == "word" and _node_text(frame, child) == "-p":
            sink.mark("env.dump", keyword, _span(frame, node))
    if keyword in ("export", "declare", "typeset") and not node.named_children:
        sink.mark("env.dump", keyword, _span(frame, node))
    return _NONE
