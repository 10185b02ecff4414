"""Call scanning over tokens: the analysis for every inline language except parsable Python.

The scanner walks the tokens of :func:`~.inline_lex.tokenize` once. At each call site
(a callee chain such as ``fs.readFileSync``, ``IO::Socket::INET->new`` or ``os.execute``,
followed by parenthesised arguments or, where the language allows, a bare argument list) it
looks the callee up in the language's :class:`~.inline_rules.Rule` table and applies the rule's
action to the arguments. Arguments are evaluated as concatenations of literals; single
assignments (``my $h = "10.0.0.1";``) are followed; everything else is unknown.

Limits of the approach are reported, not hidden: computed commands and code become
``inline.dynamic-exec``; aliasing this scanner does not follow (``const f = fs.readFileSync``)
simply goes unseen, which is why the rule tables also match on method names alone where a name is
distinctive enough.
"""

from __future__ import annotations

import re

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.inline_lex import Tok, tokenize
from warden.check.shell.inline_rules import LANGS, Lang, Rule
from warden.check.shell.inline_sink import (
    MAX_DECODE_DEPTH,
    UNKNOWN,
    Recurse,
    Sink,
    as_text,
    decode_payload,
)

__all__ = ["analyze_scanned"]

Args = list[list[Tok]]

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset({")", "]", "}"})
_STOP_WORDS = frozenset({"if", "unless", "or", "and", "while", "until", "do", "then", "foreach"})
_UPLOAD_WORDS = frozenset({"POST", "PUT", "PATCH", "DELETE", "post", "put", "patch"})
_BODY_KEYS = frozenset({"body", "data", "json", "form", "files", "Content"})
_FD_DUP = re.compile(r"[<>]&\s{0,4}[0-9$]")
_MAX_EVAL_DEPTH = 24
# Work caps that keep hostile input linear: calls whose arguments are examined, tokens in a
# bare argument list or assignment, and the length of an evaluated string (a = b + b doubling).
_MAX_CALLS = 512
_MAX_SPAN = 256
_MAX_ASSIGN = 64
_MAX_VALUE = 64 * 1024
WRITE_OP = "write"
_NO_ARGS = 99  # Rule.a for calls that take no argument (ENV.to_h)


def analyze_scanned(sink: Sink, language: str, code: str, *, depth: int, recurse: Recurse) -> None:
    """Analyse ``code`` written in ``language`` (not Python that parses) into ``sink``."""
    lang = LANGS[language]
    _Scanner(sink, lang, code, tokenize(code, language), depth, recurse).run()


class _Scanner:
    def __init__(
        self, sink: Sink, lang: Lang, code: str, toks: list[Tok], depth: int, recurse: Recurse
    ) -> None:
        self.sink = sink
        self.lang = lang
        self.code = code
        self.toks = toks
        self.depth = depth
        self.recurse = recurse
        self.consts: dict[str, list[Tok]] = {}
        self.multi: set[str] = set()
        self.active: set[str] = set()
        self.made_socket = False
        self.calls = 0
        self.memo: dict[str, str | None] = {}
        self.codec_memo: dict[str, str | None] = {}
        self.mentioned: dict[tuple[str, ...], bool] = {}
        self.match_ends = _matching(toks)

    # -- driver ---------------------------------------------------------------------------------
    def run(self) -> None:
        toks = self.toks
        self.collect_assignments()
        i = 0
        n = len(toks)
        while i < n:
            tok = toks[i]
            if tok.kind == "cmd":
                self.shell_text(tok.text, f"{self.lang.name} backticks")
                i += 1
            elif tok.kind == "code":
                self.eval_code(tok.text, f"{self.lang.name} s///e", None)
                i += 1
            elif tok.kind == "id":
                i = self.at_chain(i)
            elif tok.kind == "str":
                self.at_string(i)
                i += 1
            else:
                i += 1
        self.post_checks()

    def at_chain(self, i: int) -> int:
        parts, j = self.chain(i)
        name = ".".join(parts)
        if self.env_access(parts, j):
            return j
        rule = self.lookup(parts, after_member=i > 0 and self.is_member(self.toks[i - 1]))
        if rule is None and len(parts) == 1 and j < len(self.toks) and self.toks[j].text == "(":
            rule, name = self.variable_callee(parts[0], name)
        if rule is not None and self.calls < _MAX_CALLS:
            args = self.args(j, rule)
            if args is None and rule.a == _NO_ARGS:
                args = []
            if args is not None:
                self.calls += 1
                self.apply(rule, name, args)
        elif rule is not None and self.calls == _MAX_CALLS:
            self.calls += 1
            self.sink.marker("analysis.incomplete", "too many calls in inline code")
        if self.lang.name == "awk" and name == "getline":
            self.awk_getline(i, j)
        return j

    def at_string(self, i: int) -> None:
        text = self.toks[i].text
        if self.lang.name == "awk":
            self.awk_string(i)
        if text.startswith("/inet/"):
            self.inet_file(text)

    # -- structure ------------------------------------------------------------------------------
    def is_member(self, tok: Tok) -> bool:
        return tok.kind == "op" and tok.text in self.lang.member_ops

    def chain(self, i: int) -> tuple[list[str], int]:
        """Callee chain starting at ``i`` (``require("fs").x`` counts as ``fs.x``)."""
        toks = self.toks
        n = len(toks)
        parts: list[str] = []
        j = i
        if toks[j].text == "new" and j + 1 < n and toks[j + 1].kind == "id":
            j += 1
        while j < n and toks[j].kind == "id":
            word = toks[j].text
            if (
                word in ("require", "__import__")
                and j + 3 < n
                and toks[j + 1].text == "("
                and toks[j + 2].kind == "str"
                and toks[j + 3].text == ")"
            ):
                module = toks[j + 2].text
                parts.append(module.removeprefix("node:"))
                if module.startswith((".", "/", "~")):
                    op = FileOp.READ if module.endswith(".json") else FileOp.EXEC
                    self.sink.path(op, module, word)
                j += 4
            else:
                parts.append(word)
                j += 1
            if j + 1 < n and self.is_member(toks[j]) and toks[j + 1].kind == "id":
                j += 1
                continue
            if (  # cp["exec"](...), fs['readFileSync'](...): a member named by a string
                self.lang.name in ("node", "python", "lua")
                and j + 3 < n
                and toks[j].text == "["
                and toks[j + 1].kind == "str"
                and toks[j + 2].text == "]"
            ):
                parts.append(toks[j + 1].text)
                j += 3
                if j + 1 < n and self.is_member(toks[j]) and toks[j + 1].kind == "id":
                    j += 1
                    continue
            break
        return parts, j

    def lookup(self, parts: list[str], *, after_member: bool) -> Rule | None:
        rules = self.lang.rules
        for size in (4, 3, 2):
            if len(parts) >= size:
                rule = rules.get(".".join(parts[-size:]))
                if rule is not None and self.allowed(rule):
                    return rule
        if len(parts) == 1 and not after_member:
            rule = rules.get(parts[0])
            if rule is not None and self.allowed(rule):
                return rule
        rule = rules.get("*." + parts[-1])
        return rule if rule is not None and self.allowed(rule) else None

    def variable_callee(self, var: str, name: str) -> tuple[Rule | None, str]:
        """PHP ``$f = "sys"."tem"; $f("id")`` and perl ``&$f(...)``: a callee held in a
        variable. A literal name is looked up like a direct call; a computed one is dynamic."""
        if self.lang.name not in ("php", "perl") or not var.startswith("$"):
            return None, name
        if var.startswith(("$this", "$_")):
            return None, name
        target = self.const(var, 0)
        if target is None or UNKNOWN in target:
            if var in self.consts or self.lang.name == "php":
                self.sink.marker("inline.dynamic-exec", f"{var}()")
            return None, name
        return self.lookup([target], after_member=False), target

    def allowed(self, rule: Rule) -> bool:
        return not rule.requires or self.mentions(rule.requires)

    def mentions(self, words: tuple[str, ...]) -> bool:
        """Whether the code contains any of ``words`` (memoised: one scan per word set)."""
        found = self.mentioned.get(words)
        if found is None:
            found = any(w in self.code for w in words)
            self.mentioned[words] = found
        return found

    def args(self, j: int, rule: Rule) -> Args | None:
        """Arguments at ``j``: parenthesised, a Lua string/table call, or a bare list."""
        toks = self.toks
        n = len(toks)
        if j < n and toks[j].text == "(" and toks[j].kind == "op":
            end = min(self.match_ends.get(j, n), j + 1 + _MAX_SPAN * 4)
            return _split(toks[j + 1 : end])
        if not self.lang.bare_calls or rule.parens_only or j >= n:
            return None
        first = toks[j]
        if (
            first.kind in ("str", "cmd", "num")
            or (first.kind == "id" and first.text not in _STOP_WORDS)
            or (first.kind == "op" and first.text in ("[", "{") and self.lang.name != "perl")
        ):
            if self.lang.name == "lua":
                if first.kind == "str":
                    return [[first]]
                return None
            end = j
            depth = 0
            limit = min(n, j + _MAX_SPAN)
            while end < limit:
                t = toks[end]
                if t.kind == "op" and t.text in _OPEN:
                    depth += 1
                elif t.kind == "op" and t.text in _CLOSE:
                    if depth == 0:
                        break
                    depth -= 1
                elif depth == 0 and (
                    (t.kind == "op" and t.text == ";")
                    or (t.kind == "nl" and self.lang.newline_ends)
                    or (t.kind == "id" and t.text in _STOP_WORDS)
                    or (t.kind == "op" and t.text == "|" and self.lang.name == "awk")
                ):
                    break
                end += 1
            return _split(toks[j:end])
        return None

    def collect_assignments(self) -> None:
        toks = self.toks
        n = len(toks)
        for i in range(n - 2):
            t = toks[i]
            nxt = toks[i + 1]
            if t.kind != "id" or nxt.kind != "op" or nxt.text not in ("=", ".=", "+=", "<<"):
                continue
            if i > 0 and self.is_member(toks[i - 1]):
                continue
            name = t.text
            if nxt.text != "=" or name in self.consts:
                self.multi.add(name)
            end = i + 2
            depth = 0
            limit = min(n, i + 2 + _MAX_ASSIGN)
            while end < limit:
                k = toks[end]
                if k.kind == "op" and k.text in _OPEN:
                    depth += 1
                elif k.kind == "op" and k.text in _CLOSE:
                    if depth == 0:
                        break
                    depth -= 1
                elif depth == 0 and (
                    (k.kind == "op" and k.text in (";", ","))
                    or (k.kind == "nl" and self.lang.newline_ends)
                ):
                    break
                end += 1
            self.consts[name] = toks[i + 2 : end]

    # -- values ---------------------------------------------------------------------------------
    def value(self, toks: list[Tok] | None, depth: int = 0) -> str | None:
        """The string a token slice evaluates to (:data:`UNKNOWN` for computed parts)."""
        if not toks or depth > _MAX_EVAL_DEPTH:
            return None
        strips = 0
        while (
            strips < 8
            and len(toks) >= 2
            and toks[0].text == "("
            and toks[0].kind == "op"
            and toks[-1].text == ")"
            and _balanced_outer(toks)
        ):
            toks = toks[1:-1]
            strips += 1
        parts: list[str | None] = []
        start = 0
        bracket = 0
        concat = self.lang.concat_ops
        for k, t in enumerate(toks):
            if t.kind == "op" and t.text in _OPEN:
                bracket += 1
            elif t.kind == "op" and t.text in _CLOSE:
                bracket -= 1
            elif bracket == 0 and t.kind == "op" and t.text in concat:
                parts.append(self.operand(toks[start:k], depth))
                start = k + 1
        parts.append(self.operand(toks[start:], depth))
        if all(p is None for p in parts):
            return None
        out = "".join(UNKNOWN if p is None else p for p in parts)
        return out if len(out) <= _MAX_VALUE else out[:_MAX_VALUE] + UNKNOWN

    def operand(self, toks: list[Tok], depth: int) -> str | None:
        if not toks:
            return None
        first = toks[0]
        if len(toks) == 1:
            if first.kind in ("str", "num"):
                return first.text
            if first.kind == "id":
                return self.const(first.text, depth)
            return None
        if self.lang.name == "awk" and all(t.kind in ("str", "num", "id") for t in toks):
            return "".join(self.operand([t], depth) or UNKNOWN for t in toks)
        if first.kind == "str" and len(toks) >= 4 and toks[1].text == ".":
            return self.string_method(first.text, toks)
        if first.kind != "id":
            return None
        parts, j = self._chain_in(toks)
        name = ".".join(parts)
        home = self.lang.home_exprs
        if name in home:
            rest = toks[j:]
            if not rest or [t.text for t in rest] == ["(", ")"]:
                return home[name]
        key = _subscript_key(toks[j:])
        if key is not None and (name, key) in self.lang.env_home:
            return "$HOME"
        if j < len(toks) and toks[j].text == "(":
            end = _match_in(toks, j)
            args = _split(toks[j + 1 : end])
            return self.call_value(parts, args, depth)
        return None

    def _chain_in(self, toks: list[Tok]) -> tuple[list[str], int]:
        parts: list[str] = []
        j = 0
        n = len(toks)
        if toks[0].text == "new" and n > 1:
            j = 1
        while j < n and toks[j].kind == "id":
            if (
                toks[j].text == "require"
                and j + 3 < n
                and toks[j + 1].text == "("
                and toks[j + 2].kind == "str"
                and toks[j + 3].text == ")"
            ):
                parts.append(toks[j + 2].text.removeprefix("node:"))
                j += 4
            else:
                parts.append(toks[j].text)
                j += 1
            if j + 1 < n and self.is_member(toks[j]) and toks[j + 1].kind == "id":
                j += 1
                continue
            break
        return parts, j

    def call_value(self, parts: list[str], args: Args, depth: int) -> str | None:
        lang = self.lang
        last2 = ".".join(parts[-2:])
        name = last2 if last2 in lang.value_funcs else parts[-1]
        kind = lang.value_funcs.get(name)
        if kind is None:
            return None
        values = [self.value(a, depth + 1) for a in args]
        if kind == "pass":
            return values[0] if values else None
        if kind == "join":
            known = [UNKNOWN if v is None else v for v in values]
            out = ""
            for v in known:
                out = v if (v.startswith("/") or not out) else f"{out.rstrip('/')}/{v}"
            return out or None
        if kind == "sprintf":
            fmt = values[0] if values else None
            if fmt is None:
                return None
            return _PRINTF.sub(lambda _m: UNKNOWN, fmt)
        if kind == "env":
            return "$HOME" if values and values[0] == "HOME" else UNKNOWN
        # decoders: kind is a codec; node Buffer.from(data, enc), perl pack("H*", hex)
        if kind == "buffer":
            enc = values[1] if len(values) > 1 else None
            kind = {"base64": "base64", "hex": "hex", "base64url": "base64url"}.get(enc or "", "")
            data = values[0] if values else None
        elif kind == "pack":
            data = values[1] if len(values) > 1 and values[0] in ("H*", "h*") else None
            kind = "hex"
        else:
            data = values[0] if values else None
        if not kind or data is None or UNKNOWN in data:
            return None
        return decode_payload(kind, data)

    def string_method(self, text: str, toks: list[Tok]) -> str | None:
        """Ruby ``"...".unpack1("m")``, JS ``"...".split("").reverse().join("")``."""
        methods = [toks[k + 1].text for k in range(len(toks) - 1) if toks[k].text == "."]
        if (
            methods
            and methods[0] in ("unpack1", "unpack")
            and "m" in "".join(t.text for t in toks if t.kind == "str")[len(text) :]
        ):
            return decode_payload("base64", text)
        if "reverse" in methods:
            return text[::-1]
        return None

    def const(self, name: str, depth: int) -> str | None:
        if name in self.memo:
            return self.memo[name]
        if name in self.multi or name not in self.consts or name in self.active:
            return None
        self.active.add(name)
        try:
            result = self.value(self.consts[name], depth + 1)
        finally:
            self.active.discard(name)
        self.memo[name] = result
        return result

    def codec_in(self, toks: list[Tok]) -> str | None:
        funcs = self.lang.value_funcs
        for k, t in enumerate(toks):
            if t.kind != "id":
                continue
            if t.text in self.consts and t.text not in self.active:
                if t.text not in self.codec_memo:
                    self.active.add(t.text)
                    try:
                        self.codec_memo[t.text] = self.codec_in(self.consts[t.text])
                    finally:
                        self.active.discard(t.text)
                codec = self.codec_memo[t.text]
                if codec:
                    return codec
            kind = funcs.get(t.text)
            if kind is None and k + 2 < len(toks) and self.is_member(toks[k + 1]):
                kind = funcs.get(f"{t.text}.{toks[k + 2].text}")
            if kind not in (None, "pass", "join", "sprintf", "env"):
                return {"buffer": "base64", "pack": "hex"}.get(kind or "", kind) or "unknown"
        return None

    # -- actions --------------------------------------------------------------------------------
    def apply(self, rule: Rule, name: str, args: Args) -> None:
        handler = getattr(self, f"do_{rule.action}")
        handler(rule, name, args)

    def arg(self, args: Args, index: int) -> list[Tok] | None:
        return args[index] if 0 <= index < len(args) else None

    def do_file(self, rule: Rule, name: str, args: Args) -> None:
        op = FileOp(rule.op)
        targets = args[rule.a :] if rule.rest else [self.arg(args, rule.a)]
        for target in targets:
            if target is None:
                continue
            if _is_list(target):
                for item in _split(target[1:-1]):
                    self.sink.path(op, self.value(item), name, recursive=self.recursive(rule, args))
            else:
                self.sink.path(op, self.value(target), name, recursive=self.recursive(rule, args))

    def recursive(self, rule: Rule, args: Args) -> bool:
        if rule.recursive:
            return True
        return any(t.text == "recursive" for a in args for t in a) and rule.op == "delete"

    def do_copy(self, rule: Rule, name: str, args: Args) -> None:
        src = self.value(self.arg(args, rule.a))
        self.sink.path(FileOp.READ, src, name, recursive=rule.recursive)
        if rule.op == "move":
            self.sink.path(FileOp.DELETE, src, name, recursive=rule.recursive)
        self.sink.path(FileOp.WRITE, self.value(self.arg(args, rule.b)), name)

    def do_open(self, rule: Rule, name: str, args: Args) -> None:
        if self.lang.name == "perl":
            self.perl_open(args, name)
            return
        path = self.value(self.arg(args, rule.a))
        mode_toks = self.arg(args, rule.b) if rule.b >= 0 else None
        mode: str | None = "r"
        if mode_toks is not None:
            mode = None if mode_toks[0].kind == "op" else self.value(mode_toks)
        if rule.op == WRITE_OP:
            appends = any(
                t.text in ("FILE_APPEND", "a", "a+") for a in args[rule.a + 1 :] for t in a
            )
            mode = "a" if appends else "w"
        if (
            path is not None
            and "://" in path
            and not path.startswith(("php://", "file://"))
            and UNKNOWN not in path.split("://", 1)[0]
        ):
            upload = mode is not None and any(c in mode for c in "wax")
            self.sink.url(NetDirection.UPLOAD if upload else NetDirection.FETCH, path, name)
            return
        if path is not None and path.startswith("php://"):
            return
        path = path.removeprefix("file://") if path is not None else None
        if path is not None and path.startswith("|") and self.lang.name == "ruby":
            self.shell_text(path[1:], name)
            return
        for op in _modes(mode):
            self.sink.path(op, path, name)

    def perl_open(self, args: Args, name: str) -> None:
        """``open(F, "<", p)``, ``open(F, ">p")``, ``open(F, "cmd |")``, ``open(STDIN, ">&S")``."""
        if len(args) < 2:
            return
        handle = "".join(t.text for t in args[0]).removeprefix("my").strip("*$ ")
        if len(args) >= 3:
            mode_text = (self.value(args[1]) or "").strip()
            if mode_text in ("-|", "|-") and len(args) > 3:
                self.do_system_list(args[2:], name)
                return
            target = self.value(args[2])
        else:
            text = self.value(args[1])
            if text is None:
                self.sink.marker("inline.dynamic-path", f"read {name}")
                return
            stripped = text.strip()
            mode_text = ""
            for prefix in ("+>>", "+<", "+>", ">>", "<&=", ">&=", "<&", ">&", "<", ">", "|"):
                if stripped.startswith(prefix):
                    mode_text = prefix
                    stripped = stripped[len(prefix) :].strip()
                    break
            if stripped.endswith("|") and not mode_text:
                mode_text, stripped = "-|", stripped[:-1].strip()
            target = stripped
        if "&" in mode_text:
            if handle.upper() in ("STDIN", "STDOUT", "STDERR") and self.made_socket:
                self.sink.marker("net.socket-to-shell", "")
            return
        if mode_text in ("|", "|-", "-|"):
            self.shell_text(target, name)
            return
        ops = {"<": [FileOp.READ], "": [FileOp.READ], ">": [FileOp.WRITE], ">>": [FileOp.APPEND]}
        for op in ops.get(mode_text, [FileOp.READ, FileOp.WRITE]):
            self.sink.path(op, target, name)

    def do_shell(self, rule: Rule, name: str, args: Args) -> None:
        target = self.arg(args, rule.a)
        if target is not None and _is_list(target):
            self.sink.argv([self.value(x) for x in _split(target[1:-1])], name)
            return
        self.shell_text_of(target, name)

    def shell_text_of(self, target: list[Tok] | None, name: str) -> None:
        if target is None:
            return
        codec = self.codec_in(target)
        if codec is not None:
            self.sink.marker("obfuscation.decoded-exec", codec)
        self.shell_text(self.value(target), name)

    def shell_text(self, text: str | None, name: str) -> None:
        self.sink.shell(text, name)

    def do_system(self, rule: Rule, name: str, args: Args) -> None:
        """perl/ruby ``system``/``exec``: one string is shell text, several are an argv."""
        args = [a for a in args if not (a and a[0].text == "{" and self.lang.name == "ruby")]
        args = [a for a in args if not _is_kwarg(a)]
        if len(args) == 1 and not _is_list(args[0]):
            self.shell_text_of(args[0], name)
        elif len(args) == 1:
            self.sink.argv([self.value(x) for x in _split(args[0][1:-1])], name)
        elif args:
            self.do_system_list(args, name)

    def do_system_list(self, args: Args, name: str) -> None:
        items: list[str | None] = []
        for a in args:
            if _is_list(a):
                items.extend(self.value(x) for x in _split(a[1:-1]))
            else:
                items.append(self.value(a))
        self.sink.argv(items, name)

    def do_spawn(self, rule: Rule, name: str, args: Args) -> None:
        """node ``spawn(cmd, [args])``, php ``pcntl_exec(path, [args])``, ``proc_open``."""
        first = self.arg(args, rule.a)
        if first is None:
            return
        if _is_list(first):
            self.sink.argv([self.value(x) for x in _split(first[1:-1])], name)
            return
        rest = self.arg(args, rule.a + 1)
        shell_opt = any(t.text == "shell" for a in args[rule.a + 1 :] for t in a)
        if rule.op == "shell-or-argv" and (rest is None or not _is_list(rest)):
            self.shell_text_of(first, name)
            return
        items: list[str | None] = [self.value(first)]
        if rest is not None and _is_list(rest):
            items.extend(self.value(x) for x in _split(rest[1:-1]))
        if shell_opt:
            self.shell_text(" ".join(UNKNOWN if x is None else x for x in items), name)
        else:
            self.sink.argv(items, name)

    def do_net(self, rule: Rule, name: str, args: Args) -> None:
        """A URL (or an options object) at ``a``; the direction from ``rule.op`` or the call."""
        target = self.arg(args, rule.a)
        if target is None:
            return
        direction = self.direction(rule, args)
        if target[0].text == "{" and target[0].kind == "op":
            kv = _kv(target[1:-1])
            host = self.value(kv.get("hostname") or kv.get("host"))
            port = _int(self.value(kv.get("port")))
            if self.value(kv.get("method")) in _UPLOAD_WORDS:
                direction = NetDirection.UPLOAD
            self.sink.host_port(direction, host, port, name)
            return
        self.sink.url(direction, self.value(target), name)

    def direction(self, rule: Rule, args: Args) -> NetDirection:
        if rule.op in ("upload", "connect"):
            return NetDirection(rule.op)
        if rule.op == "auto":
            for a in args[rule.a + 1 :]:
                for t in a:
                    if t.text in _UPLOAD_WORDS or t.text in _BODY_KEYS:
                        return NetDirection.UPLOAD
                if self.lang.name == "lua":
                    return NetDirection.UPLOAD
            if self.lang.upload_hint and self.mentions(self.lang.upload_hint):
                return NetDirection.UPLOAD
        return NetDirection.FETCH

    def do_hostport(self, rule: Rule, name: str, args: Args) -> None:
        """``TCPSocket.new(host, port)``, node ``net.connect(port, host)`` (``b`` < ``a``),
        ``net.connect({host, port})``, Python ``s.connect((host, port))``."""
        if len(args) == 1 and _is_list(args[0]) and args[0][0].text == "(":
            args = _split(args[0][1:-1])  # a (host, port) tuple
            rule = rule._replace(a=0, b=1)
        host_toks = self.arg(args, rule.a)
        port = _int(self.value(self.arg(args, rule.b))) if rule.b >= 0 else None
        for a in args:
            if a and a[0].text == "{" and a[0].kind == "op":
                kv = _kv(a[1:-1])
                host_toks = kv.get("host") or kv.get("hostname") or [Tok("str", "localhost", 0)]
                port = _int(self.value(kv.get("port")))
                break
        if rule.op == "listen":
            self.made_socket = True
            if port is None and host_toks is not None:
                port = _int((self.value(host_toks) or "").rpartition(":")[2])
            self.sink.marker("net.listen", "" if port is None else str(port))
            return
        if host_toks is None and port is None:
            return
        host = self.value(host_toks) if host_toks is not None else "localhost"
        if host is not None and "://" in host:
            host = host.split("://", 1)[1]
        if host is not None and port is None and ":" in host and UNKNOWN not in host:
            host, _, p = host.rpartition(":")
            port = _int(p)
        self.made_socket = True
        direction = NetDirection(rule.op) if rule.op else NetDirection.CONNECT
        self.sink.host_port(direction, host, port, name)

    def do_require(self, rule: Rule, name: str, args: Args) -> None:
        module = self.value(self.arg(args, 0))
        if module is None or UNKNOWN in module:
            self.sink.marker("inline.dynamic-exec", name)

    def do_dup(self, rule: Rule, name: str, args: Args) -> None:
        if self.made_socket:
            self.sink.marker("net.socket-to-shell", "")

    def do_listen(self, rule: Rule, name: str, args: Args) -> None:
        self.made_socket = True
        port = _int(self.value(self.arg(args, rule.a)))
        self.sink.marker("net.listen", "" if port is None else str(port))

    def do_perl_socket(self, rule: Rule, name: str, args: Args) -> None:
        """``IO::Socket::INET->new(PeerAddr => "h:p")`` / ``(PeerHost => h, PeerPort => p)``;
        a single argument is ``"host:port"``."""
        kv = _kv([t for a in args for t in (*a, Tok("op", ",", 0))][:-1]) if args else {}
        if not kv and len(args) == 1:
            kv = {"PeerAddr": args[0]}
        elif not kv:  # new IO::Socket::INET(PeerAddr, "h:p"): the old comma form
            kv = {a[0].text: b for a, b in zip(args[::2], args[1::2], strict=False) if a}
        self.made_socket = True
        if "Listen" in kv or ("LocalPort" in kv and "PeerAddr" not in kv):
            port = _int(self.value(kv.get("LocalPort")))
            self.sink.marker("net.listen", "" if port is None else str(port))
            return
        host = self.value(kv.get("PeerAddr") or kv.get("PeerHost"))
        port = _int(self.value(kv.get("PeerPort")))
        if host is not None and port is None and ":" in host and UNKNOWN not in host:
            host, _, p = host.rpartition(":")
            port = _int(p)
        self.sink.host_port(NetDirection.CONNECT, host, port, name)

    def do_perl_connect(self, rule: Rule, name: str, args: Args) -> None:
        """``connect(S, sockaddr_in($port, inet_aton($host)))`` (also ``pack_sockaddr_in``)."""
        flat = [t for a in args[1:] for t in (*a, Tok("op", ",", 0))]
        for k, t in enumerate(flat):
            if t.text.endswith("sockaddr_in") and k + 1 < len(flat) and flat[k + 1].text == "(":
                end = _match_in(flat, k + 1)
                inner = _split(flat[k + 2 : end])
                port = _int(self.value(self.arg(inner, 0)))
                host_toks = self.arg(inner, 1) or []
                if len(host_toks) > 2 and host_toks[1].text == "(":
                    host_toks = host_toks[2 : _match_in(host_toks, 1)]
                self.made_socket = True
                self.sink.host_port(NetDirection.CONNECT, self.value(host_toks), port, name)
                return
        self.made_socket = True
        self.sink.marker("inline.dynamic-host", f"connect {name}")

    def do_eval(self, rule: Rule, name: str, args: Args) -> None:
        target = self.arg(args, rule.a)
        if target is None:
            return
        if target[0].text == "{" or (target[0].kind == "id" and target[0].text == "function"):
            return  # block eval / function literal: the code is in the text and scanned anyway
        self.eval_code(self.value(target), name, target)

    def eval_code(self, code: str | None, name: str, toks: list[Tok] | None) -> None:
        codec = self.codec_in(toks) if toks is not None else None
        if codec is not None:
            self.sink.marker("obfuscation.decoded-exec", codec)
        if code is None or UNKNOWN in code:
            self.sink.marker("inline.dynamic-exec", name)
            return
        if self.depth >= MAX_DECODE_DEPTH:
            self.sink.marker("analysis.incomplete", "decoded payload nesting too deep")
            return
        self.recurse(self.sink, self.lang.name, as_text(code), depth=self.depth + 1)

    def do_env(self, rule: Rule, name: str, args: Args) -> None:
        if not args:
            self.sink.env_read(None)
            return
        self.sink.env_read(self.value(args[0]))

    def do_putenv(self, rule: Rule, name: str, args: Args) -> None:
        text = self.value(self.arg(args, 0))
        if rule.op == "pair":
            self.set_env(text, self.arg(args, 1))
            return
        key, _, value = (text or UNKNOWN).partition("=")
        self.sink.env_set(key, value)

    def set_env(self, key: str | None, value_toks: list[Tok] | None) -> None:
        value = self.value(value_toks)
        self.sink.env_set(key or UNKNOWN, UNKNOWN if value is None else value)

    def do_fork(self, rule: Rule, name: str, args: Args) -> None:
        if self.mentions(self.lang.loop_words):
            self.sink.marker("resource.fork-bomb", "")

    def do_indirect(self, rule: Rule, name: str, args: Args) -> None:
        """``call_user_func('system', 'id')``: the first argument names the function."""
        target = self.value(self.arg(args, 0))
        if target is None or UNKNOWN in target:
            self.sink.marker("inline.dynamic-exec", name)
            return
        inner = self.lookup([target], after_member=False)
        if inner is not None:
            rest = args[1:]
            if rule.op == "array" and rest and _is_list(rest[0]):
                rest = _split(rest[0][1:-1] if rest[0][0].text != "array" else rest[0][2:-1])
            self.apply(inner, target, rest)

    def do_dynamic(self, rule: Rule, name: str, args: Args) -> None:
        self.sink.marker("inline.dynamic-exec", name)

    def do_curl(self, rule: Rule, name: str, args: Args) -> None:
        if rule.b >= 0:  # curl_setopt($ch, OPT, value)
            opt = self.arg(args, 1)
            if not opt or opt[0].text not in ("CURLOPT_URL",):
                return
        self.do_net(Rule("net", a=rule.a if rule.b < 0 else 2, op="auto"), name, args)

    def do_mail(self, rule: Rule, name: str, args: Args) -> None:
        to = self.value(self.arg(args, 0))
        self.sink.url(NetDirection.UPLOAD, None if to is None else f"mailto:{to}", name)

    # -- language idioms without a call -------------------------------------------------------
    def env_access(self, parts: list[str], j: int) -> bool:
        """``$ENV{X}``, ``ENV['X']``, ``process.env.X``, ``$_SERVER['X']``, ``ENVIRON["X"]``."""
        name = ".".join(parts)
        containers = self.lang.env_containers
        toks = self.toks
        n = len(toks)
        start = j - 1
        if self.lang.name == "perl" and name == "ENV" and start > 0 and toks[start - 1].text == "%":
            self.sink.env_read(None)  # %ENV: the whole environment
            return True
        for container in containers:
            if name == container:
                if j < n and toks[j].kind == "op" and toks[j].text in ("[", "{"):
                    end = self.match_ends.get(j, n)
                    inner = toks[j + 1 : end]
                    bare = len(inner) == 1 and inner[0].kind == "id" and toks[j].text == "{"
                    key = inner[0].text if bare else self.value(inner)
                    if end + 1 < n and toks[end + 1].kind == "op" and toks[end + 1].text == "=":
                        stop = end + 2
                        while stop < n and toks[stop].text not in (";", "\n", ")", "}"):
                            stop += 1
                        self.set_env(key, toks[end + 2 : stop])
                    else:
                        self.sink.env_read(key)
                    return True
                if j < n and toks[j].kind == "op" and toks[j].text in self.lang.member_ops:
                    return False
                self.sink.env_read(None)  # the whole environment as a value
                return True
            if name.startswith(container + ".") and self.lang.name == "node":
                key = parts[len(container.split(".")) :][0]
                if j < n and toks[j].text == "=" and toks[j].kind == "op":
                    stop = j + 1
                    while stop < n and toks[stop].text not in (";", "\n", ")", "}", ","):
                        stop += 1
                    self.set_env(key, toks[j + 1 : stop])
                else:
                    self.sink.env_read(key)
                return True
        return False

    def awk_string(self, i: int) -> None:
        """``print ... > "file"``, ``>> "file"``, ``| "cmd"`` inside a print statement."""
        toks = self.toks
        if i == 0 or toks[i - 1].kind != "op" or toks[i - 1].text not in (">", ">>", "|"):
            return
        k = i - 1
        while k > 0 and toks[k].text not in (";", "{", "}", "\n", "print", "printf"):
            k -= 1
        if toks[k].text not in ("print", "printf") or toks[k].kind != "id":
            return
        value = self.value([toks[i]])
        redirect = toks[i - 1].text
        if redirect == "|":
            self.shell_text(value, "awk print |")
        else:
            self.sink.path(FileOp.APPEND if redirect == ">>" else FileOp.WRITE, value, "awk print")

    def awk_getline(self, i: int, j: int) -> None:
        """``"cmd" | getline`` runs a command; ``getline < "file"`` reads a file."""
        toks = self.toks
        if i >= 2 and toks[i - 1].text in ("|", "|&"):
            k = i - 2
            start = k
            while start > 0 and toks[start - 1].kind in ("str", "id", "num"):
                start -= 1
            command = self.value(toks[start : k + 1])
            if command is None or not command.startswith("/inet/"):  # gawk network coprocess
                self.shell_text(command, "awk getline")
            return
        k = j
        if k < len(toks) and toks[k].kind == "id":
            k += 1
        if k + 1 < len(toks) and toks[k].text == "<":
            self.sink.path(FileOp.READ, self.value([toks[k + 1]]), "awk getline")

    def inet_file(self, text: str) -> None:
        """gawk ``/inet/tcp/lport/host/rport`` special files (and bash-like ``/dev/tcp``)."""
        parts = text.split("/")
        if len(parts) < 6:
            return
        self.made_socket = True
        lport, host, rport = parts[3], parts[4], parts[5]
        if rport == "0":
            self.sink.marker("net.listen", lport)
        else:
            self.sink.host_port(NetDirection.CONNECT, host, _int(rport), "awk /inet")

    def post_checks(self) -> None:
        """A socket wired to a shell: descriptors duplicated onto a launched shell, or commands
        read from the socket and run."""
        if not self.made_socket:
            return
        wired = self.mentions(self.lang.wiring)
        dynamic = "inline.dynamic-exec" in self.sink.names()
        dup_in_shell = any(_FD_DUP.search(text) for text in self.sink.shell_texts())
        if (self.sink.runs_shell() and (dup_in_shell or wired)) or (dynamic and wired):
            self.sink.marker("net.socket-to-shell", "")
        elif dynamic and self.mentions(_SOCKET_READS):
            self.sink.marker("net.socket-to-shell", "")  # commands read from the socket


_SOCKET_READS = ("receive", "gets", "recv", "on('data'", 'on("data"', "getline", "readline")
_PRINTF = re.compile(r"%[-#0 +]{0,4}[0-9]{0,4}(?:\.[0-9]{1,4})?[sdifxXoucegEG]")


def _matching(toks: list[Tok]) -> dict[int, int]:
    """Index of each opening bracket -> index of its closing bracket (unclosed: to the end)."""
    out: dict[int, int] = {}
    stack: list[int] = []
    for k, t in enumerate(toks):
        if t.kind != "op":
            continue
        if t.text in _OPEN:
            stack.append(k)
        elif t.text in _CLOSE and stack:
            out[stack.pop()] = k
    for k in stack:
        out[k] = len(toks)
    return out


def _match_in(toks: list[Tok], start: int) -> int:
    depth = 0
    for k in range(start, len(toks)):
        t = toks[k]
        if t.kind == "op" and t.text in _OPEN:
            depth += 1
        elif t.kind == "op" and t.text in _CLOSE:
            depth -= 1
            if depth == 0:
                return k
    return len(toks)


def _balanced_outer(toks: list[Tok]) -> bool:
    return _match_in(toks, 0) == len(toks) - 1


def _split(toks: list[Tok]) -> Args:
    """Split on top-level commas."""
    out: Args = []
    cur: list[Tok] = []
    depth = 0
    for t in toks:
        if t.kind == "op":
            if t.text in _OPEN:
                depth += 1
            elif t.text in _CLOSE:
                depth -= 1
            elif t.text == "," and depth == 0:
                out.append(cur)
                cur = []
                continue
        if t.kind != "nl":
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def _kv(toks: list[Tok]) -> dict[str, list[Tok]]:
    """``key => value`` / ``key: value`` pairs at top level."""
    out: dict[str, list[Tok]] = {}
    for item in _split(toks):
        if len(item) >= 3 and item[1].text in ("=>", ":") and item[0].kind in ("id", "str"):
            out[item[0].text.lstrip(":")] = item[2:]
        elif len(item) >= 2 and item[0].kind == "id" and item[0].text.endswith(":"):
            out[item[0].text[:-1]] = item[1:]
    return out


def _is_list(toks: list[Tok]) -> bool:
    return (
        len(toks) >= 2
        and toks[0].kind == "op"
        and toks[0].text in ("[", "(")
        and _balanced_outer(toks)
    ) or (len(toks) >= 3 and toks[0].text == "array" and toks[1].text == "(")


def _is_kwarg(toks: list[Tok]) -> bool:
    return len(toks) >= 2 and toks[0].kind == "id" and toks[1].text in (":", "=>")


def _subscript_key(toks: list[Tok]) -> str | None:
    if len(toks) >= 3 and toks[0].text in ("[", "{", "(") and toks[1].kind in ("str", "id"):
        return toks[1].text
    return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 5 else None


def _modes(mode: str | None) -> tuple[FileOp, ...]:
    if mode is None or UNKNOWN in mode:
        return (FileOp.READ, FileOp.WRITE)
    if not mode:
        return (FileOp.READ,)
    ops: list[FileOp] = []
    if "r" in mode or "+" in mode or not ({"w", "a", "x"} & set(mode)):
        ops.append(FileOp.READ)
    if "w" in mode or "x" in mode or ("+" in mode and "a" not in mode):
        ops.append(FileOp.WRITE)
    if "a" in mode:
        ops.append(FileOp.APPEND)
    return tuple(ops)
