"""Structure and values for the token scanner: call sites, arguments, literal evaluation.

:class:`ScanBase` holds one tokenised program and answers the questions every action asks:
which callee chain starts here (``fs.readFileSync``, ``IO::Socket::INET->new``, with
``require("fs").x`` read as ``fs.x``), which rule applies, what the arguments are (parenthesised,
or a bare list where the language allows it), and what string an argument evaluates to
(concatenated literals, single assignments, ``$HOME`` idioms and literal decoders). The actions
themselves live in :mod:`~.inline_scan`.
"""

from __future__ import annotations

import re

from warden.check.facts import FileOp
from warden.check.shell.inline_lex import Tok
from warden.check.shell.inline_rules import Lang, Rule
from warden.check.shell.inline_sink import UNKNOWN, Recurse, Sink, decode_payload

__all__ = [
    "NO_ARGS",
    "Args",
    "ScanBase",
    "balanced_outer",
    "int_",
    "is_kwarg",
    "is_list",
    "match_in",
    "matching",
    "modes",
    "pairs",
    "split",
    "subscript_key",
]

Args = list[list[Tok]]

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset({")", "]", "}"})
_STOP_WORDS = frozenset({"if", "unless", "or", "and", "while", "until", "do", "then", "foreach"})
_MAX_EVAL_DEPTH = 24
# Work caps that keep hostile input linear: calls whose arguments are examined, tokens in a
# bare argument list or assignment, and the length of an evaluated string (a = b + b doubling).
MAX_CALLS = 512
_MAX_SPAN = 256
_MAX_ASSIGN = 64
_MAX_VALUE = 64 * 1024
NO_ARGS = 99  # Rule.a for calls that take no argument (ENV.to_h)
_PRINTF = re.compile(r"%[-#0 +]{0,4}[0-9]{0,4}(?:\.[0-9]{1,4})?[sdifxXoucegEG]")


class ScanBase:
    """One tokenised program of one language, and the sink its findings go to."""

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
        self.match_ends = matching(toks)

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
            end = min(self.match_ends.get(j, n), j + 1 + _MAX_SPAN * 2)
            return split(toks[j + 1 : end])
        if not self.lang.bare_calls or rule.parens_only or j >= n:
            return None
        first = toks[j]
        if (
            first.kind in ("str", "cmd", "num")
            or (first.kind == "id" and first.text not in _STOP_WORDS)
            or (first.kind == "op" and first.text == "[")  # system qw(...), system [..]
            or (first.kind == "op" and first.text == "{" and self.lang.name != "perl")
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
            return split(toks[j:end])
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
            and balanced_outer(toks)
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
        if not parts:
            return None
        name = ".".join(parts)
        home = self.lang.home_exprs
        if name in home:
            rest = toks[j:]
            if not rest or [t.text for t in rest] == ["(", ")"]:
                return home[name]
        key = subscript_key(toks[j:])
        if key is not None and (name, key) in self.lang.env_home:
            return "$HOME"
        funcs = self.lang.value_funcs
        if (
            j < len(toks)
            and toks[j].text == "("
            and (parts[-1] in funcs or name in funcs or ".".join(parts[-2:]) in funcs)
        ):
            end = match_in(toks, j)
            return self.call_value(parts, split(toks[j + 1 : end]), depth)
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


def matching(toks: list[Tok]) -> dict[int, int]:
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


def match_in(toks: list[Tok], start: int) -> int:
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


def balanced_outer(toks: list[Tok]) -> bool:
    return match_in(toks, 0) == len(toks) - 1


def split(toks: list[Tok]) -> Args:
    """Split on top-level commas; empty pieces (``f(,x)``) are dropped, so no argument is
    ever an empty token list."""
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
                if cur:
                    out.append(cur)
                cur = []
                continue
        if t.kind != "nl":
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def pairs(toks: list[Tok]) -> dict[str, list[Tok]]:
    """``key => value`` / ``key: value`` pairs at top level."""
    out: dict[str, list[Tok]] = {}
    for item in split(toks):
        if len(item) >= 3 and item[1].text in ("=>", ":") and item[0].kind in ("id", "str"):
            out[item[0].text.lstrip(":")] = item[2:]
        elif len(item) >= 2 and item[0].kind == "id" and item[0].text.endswith(":"):
            out[item[0].text[:-1]] = item[1:]
    return out


def is_list(toks: list[Tok]) -> bool:
    return (
        len(toks) >= 2
        and toks[0].kind == "op"
        and toks[0].text in ("[", "(")
        and balanced_outer(toks)
    ) or (len(toks) >= 3 and toks[0].text == "array" and toks[1].text == "(")


def is_kwarg(toks: list[Tok]) -> bool:
    return len(toks) >= 2 and toks[0].kind == "id" and toks[1].text in (":", "=>")


def subscript_key(toks: list[Tok]) -> str | None:
    if len(toks) >= 3 and toks[0].text in ("[", "{", "(") and toks[1].kind in ("str", "id"):
        return toks[1].text
    return None


def int_(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 5 else None


def modes(mode: str | None) -> tuple[FileOp, ...]:
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
