"""A forgiving tokeniser for perl, node, ruby, php, lua, awk (and Python that does not parse).

It is not a parser: it splits code into identifiers, string literals (decoded, with interpolated
parts replaced by :data:`~.inline_sink.UNKNOWN`), command literals (backticks, ``qx``, ``%x``),
regex literals, numbers and operators, and skips comments. Every pattern either fails on its first
character or matches deterministically with possessive quantifiers and no nested quantifiers, and
the scanner never re-reads text: tokenising is linear in the input on any text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from warden.check.shell.inline_sink import UNKNOWN

__all__ = ["Tok", "tokenize"]


class Tok(NamedTuple):
    """A token: ``kind`` is ``id``, ``str``, ``cmd``, ``re``, ``num``, ``op``, ``nl`` or
    ``code`` (perl ``s///e`` replacement code); ``text`` is the decoded value for literals."""

    kind: str
    text: str
    pos: int


_SPACE = re.compile(r"[ \t\r\f\v]++")
_ID = re.compile(r"[$@]{0,2}[A-Za-z_][A-Za-z0-9_]*+")
_NUM = re.compile(r"[0-9][A-Za-z0-9_.]*+")
_OPS = (
    "<=>", "===", "!==", "**=", "...", "?->", "::", "->", "=>", "=~", "!~", "==", "!=", "<=",
    ">=", "&&", "||", "|&", "..", "<<", ">>", "+=", "-=", ".=", "?.", "&.",
)  # fmt: skip
_OPS_BY_SIZE = {size: frozenset(op for op in _OPS if len(op) == size) for size in (2, 3)}
_LINE_COMMENT = re.compile(r"[^\n]*+")
_BLOCK_COMMENT_END = "*/"
# String bodies up to (not including) the closing quote; an unterminated literal runs to the end.
_BODY = {
    q: re.compile(r"(?:[^" + re.escape(q) + r"\\]|\\.)*+", re.DOTALL) for q in ("'", '"', "`", "/")
}
_ESCAPE = re.compile(
    r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{4}|u\{[0-9a-fA-F]{1,6}\}|[0-7]{1,3}|.)", re.S
)
_SIMPLE_ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "e": "\x1b", "a": "\a", "f": "\f"}
# Interpolation inside double quotes / templates / backticks.
_PERL_VAR = re.compile(r"[$@](?:\{[^}\n]{0,200}\}|[A-Za-z_][A-Za-z0-9_:]*+)")
_PERL_SUBSCRIPT = re.compile(
    r"(?:\{[^}\n]{0,200}\}|\[[^\]\n]{0,200}\]|->[\[{][^\]}\n]{0,200}[\]}])"
)
_HOME_INTERP = re.compile(
    r"^(?:\$ENV\{['\"]?HOME['\"]?\}|ENV\[['\"]HOME['\"]\]|ENV\.fetch\(['\"]HOME['\"]\)|Dir\.home"
    r"|process\.env\.HOME|process\.env\[['\"]HOME['\"]\]|os\.homedir\(\)|\$_SERVER\[['\"]HOME['\"]\]"
    r"|\$_ENV\[['\"]HOME['\"]\]|getenv\(['\"]HOME['\"]\))$"
)
# Interpolated snippets handed on per literal-heavy program; more are not followed.
_MAX_INTERPOLATED = 64
_PERL_SPECIAL = re.compile(r"[$@\\]")
_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_PERL_QUOTE = frozenset({"q", "qq", "qw", "qx", "m", "qr", "s", "tr", "y"})
_RUBY_PCT = frozenset("qQwWxriIs")
_VALUE_END = frozenset({"id", "str", "num", "cmd"})
_REGEX_KEYWORDS = frozenset(
    {"split", "grep", "if", "unless", "and", "or", "not", "return", "when", "while", "until",
     "map", "join", "typeof", "in", "of", "case", "print", "printf"}
)  # fmt: skip

_INTERPOLATES = {"perl": "perl", "php": "perl", "ruby": "ruby", "node": "js", "python": ""}


def tokenize(code: str, lang: str) -> list[Tok]:
    """Split ``code`` of ``lang`` into tokens (see :class:`Tok`)."""
    return _Lexer(code, lang).run()


class _Lexer:
    def __init__(self, code: str, lang: str) -> None:
        self.code = code
        self.lang = lang
        self.toks: list[Tok] = []
        self.pos = 0
        self.interpolated: list[str] = []

    def emit(self, kind: str, text: str, pos: int) -> None:
        self.toks.append(Tok(kind, text, pos))

    def operand_expected(self) -> bool:
        """Whether a ``/`` or ``%`` here starts a literal rather than an operator."""
        if not self.toks:
            return True
        last = self.toks[-1]
        if last.kind == "id":
            if last.text in _REGEX_KEYWORDS:
                return True
            # perl/ruby `puts %x(id)`, `split /,/`: space before, none after -> a literal
            code, pos = self.code, self.pos
            return (
                self.lang in ("perl", "ruby")
                and pos > 0
                and code[pos - 1] in " \t"
                and pos + 1 < len(code)
                and code[pos + 1] not in " \t="
            )
        if last.kind in _VALUE_END or last.kind == "re":
            return False
        return last.text not in (")", "]", "}")

    def run(self) -> list[Tok]:
        code, n = self.code, len(self.code)
        lang = self.lang
        hash_comment = lang in ("perl", "ruby", "python", "awk", "php")
        slash_comment = lang in ("node", "php")
        fast = _fast_pattern(lang)
        toks = self.toks
        perl = lang == "perl"
        while self.pos < n:
            pos = self.pos
            # Fast path: blanks, identifiers, numbers and operators that need no context.
            m = fast.match(code, pos)
            if m is not None:
                kind = m.lastgroup
                end = m.end()
                if kind == "id":
                    word = m.group()
                    if perl and word in _PERL_QUOTE and self.perl_quote(word, end, pos):
                        continue
                    toks.append(Tok("id", word, pos))
                elif kind != "sp":
                    toks.append(Tok(kind or "op", m.group(), pos))
                self.pos = end
                continue
            ch = code[pos]
            if ch in " \t\r\f\v":
                m = _SPACE.match(code, pos)
                self.pos = m.end() if m else pos + 1
            elif ch == "\n":
                self.emit("nl", "\n", pos)
                self.pos = pos + 1
            elif ch == "#" and hash_comment:
                self.skip_line(pos + 1)
            elif ch == "/" and slash_comment and code.startswith("//", pos):
                self.skip_line(pos + 2)
            elif ch == "/" and slash_comment and code.startswith("/*", pos):
                end = code.find(_BLOCK_COMMENT_END, pos + 2)
                self.pos = n if end < 0 else end + 2
            elif ch == "-" and lang == "lua" and code.startswith("--", pos):
                self.lua_comment(pos)
            elif ch == "[" and lang == "lua" and code.startswith(("[[", "[="), pos):
                self.lua_long(pos)
            elif ch in "'\"`":
                self.quoted(pos, ch)
            elif ch == "/" and lang in ("perl", "node", "ruby", "awk") and self.operand_expected():
                self.slash_regex(pos)
            elif ch == "%" and lang == "ruby" and self.operand_expected():
                self.ruby_percent(pos)
            elif "0" <= ch <= "9":
                m = _NUM.match(code, pos)
                end = m.end() if m else pos + 1
                self.emit("num", code[pos:end], pos)
                self.pos = end
            elif ch.isalpha() or ch in "_$@":
                self.word(pos)
            else:
                self.operator(pos)
        # Code inside "#{...}", `${...}`, "@{[ ... ]}" runs too: hand it to the scanner last.
        for snippet in self.interpolated[:_MAX_INTERPOLATED]:
            self.toks.append(Tok("interp", snippet, n))
        return self.toks

    # -- pieces ---------------------------------------------------------------------------------
    def interp(self, raw: str, style: str) -> str:
        """Decode an interpolating literal, keeping the interpolated code for the scanner."""
        return interpolate(raw, style, self.interpolated)

    def skip_line(self, start: int) -> None:
        m = _LINE_COMMENT.match(self.code, start)
        self.pos = m.end() if m else len(self.code)

    def lua_comment(self, pos: int) -> None:
        if self.code.startswith(("--[[", "--[="), pos):
            self.pos = pos + 2
            save = len(self.toks)
            self.lua_long(pos + 2)
            del self.toks[save:]
        else:
            self.skip_line(pos + 2)

    def lua_long(self, pos: int) -> None:
        code = self.code
        eq = 0
        i = pos + 1
        while i < len(code) and code[i] == "=" and eq < 64:
            eq += 1
            i += 1
        if i >= len(code) or code[i] != "[":
            self.operator(pos)
            return
        close = "]" + "=" * eq + "]"
        end = code.find(close, i + 1)
        stop = len(code) if end < 0 else end
        self.emit("str", code[i + 1 : stop], pos)
        self.pos = len(code) if end < 0 else end + len(close)

    def body(self, start: int, quote: str) -> tuple[str, int]:
        """Raw body from ``start`` to the closing ``quote``; returns (raw, position after)."""
        pattern = _BODY.get(quote)
        if pattern is None:
            return self.delimited(start, quote)
        m = pattern.match(self.code, start)
        end = m.end() if m else start
        return self.code[start:end], min(end + 1, len(self.code))

    def delimited(self, start: int, close: str) -> tuple[str, int]:
        """Body up to an unescaped ``close`` (any character), found without backtracking."""
        code = self.code
        i = start
        while True:
            j = code.find(close, i)
            if j < 0:
                return code[start:], len(code)
            k = j
            while k > start and code[k - 1] == "\\":
                k -= 1
            if (j - k) % 2 == 0:
                return code[start:j], j + 1
            i = j + 1

    def quoted(self, pos: int, q: str) -> None:
        lang = self.lang
        if lang == "python" and self.code.startswith(q * 3, pos):
            end = self.code.find(q * 3, pos + 3)
            stop = len(self.code) if end < 0 else end
            self.emit("str", self.code[pos + 3 : stop], pos)
            self.pos = len(self.code) if end < 0 else end + 3
            return
        raw, after = self.body(pos + 1, q)
        self.pos = after
        if q == "`" and lang in ("perl", "ruby", "php"):
            self.emit("cmd", self.interp(raw, _INTERPOLATES[lang]), pos)
        elif q == "'" and lang in ("perl", "php", "ruby"):
            self.emit("str", raw.replace("\\\\", "\\").replace("\\'", "'"), pos)
        elif q == "'" or (q == '"' and lang in ("node", "lua", "awk", "python")):
            self.emit("str", unescape(raw), pos)
        elif q == "`" and lang == "node":
            self.emit("str", self.interp(raw, "js"), pos)
        elif q == '"':
            self.emit("str", self.interp(raw, _INTERPOLATES.get(lang, "")), pos)
        else:
            self.emit("str", unescape(raw), pos)

    def slash_regex(self, pos: int) -> None:
        raw, after = self.body(pos + 1, "/")
        if "\n" in raw:  # not a regex after all: a division spanning lines is unlikely
            self.operator(pos)
            return
        self.emit("re", raw, pos)
        self.pos = after
        while self.pos < len(self.code) and self.code[self.pos].isalpha():
            self.pos += 1

    def ruby_percent(self, pos: int) -> None:
        code = self.code
        i = pos + 1
        kind = ""
        if i < len(code) and code[i] in _RUBY_PCT:
            kind = code[i]
            i += 1
        if i >= len(code) or code[i].isalnum() or code[i].isspace() or code[i] == "=":
            self.operator(pos)
            return
        raw, after = self.delimited(i + 1, _PAIRS.get(code[i], code[i]))
        self.pos = after
        if kind == "x":
            self.emit("cmd", self.interp(raw, "ruby"), pos)
        elif kind in ("w", "W", "i", "I"):
            self.words(raw, pos)
        elif kind == "r":
            self.emit("re", raw, pos)
        else:
            self.emit("str", self.interp(raw, "ruby") if kind != "q" else raw, pos)

    def words(self, raw: str, pos: int) -> None:
        self.emit("op", "[", pos)
        for k, w in enumerate(raw.split()):
            if k:
                self.emit("op", ",", pos)
            self.emit("str", w, pos)
        self.emit("op", "]", pos)

    def word(self, pos: int) -> None:
        code = self.code
        m = _ID.match(code, pos)
        if m is None:
            self.operator(pos)
            return
        word = m.group(0)
        end = m.end()
        if self.lang == "perl" and word in _PERL_QUOTE and self.perl_quote(word, end, pos):
            return
        self.emit("id", word, pos)
        self.pos = end

    def perl_quote(self, word: str, end: int, pos: int) -> bool:
        code = self.code
        i = end
        while i < len(code) and code[i] in " \t" and i - end < 8:
            i += 1
        if i >= len(code):
            return False
        d = code[i]
        if d.isalnum() or d in "_,;)=" or d.isspace() or (d == "-" and code.startswith("->", i)):
            return False
        if self.toks and self.toks[-1].text in ("->", "{") and d == "}":
            return False
        close = _PAIRS.get(d, d)
        first, after = self.delimited(i + 1, close)
        second = ""
        if word in ("s", "tr", "y"):
            j = after
            if close != d:  # s{a}{b}: the second part has its own delimiters
                while j < len(code) and code[j] in " \t\n":
                    j += 1
                if j < len(code):
                    second, after = self.delimited(j + 1, _PAIRS.get(code[j], code[j]))
            else:
                second, after = self.delimited(j, close)
        flags_end = after
        while flags_end < len(code) and code[flags_end].isalpha() and flags_end - after < 16:
            flags_end += 1
        flags = code[after:flags_end]
        self.pos = flags_end
        if word == "qx":
            self.emit("cmd", self.interp(first, "perl"), pos)
        elif word == "qw":
            self.words(first, pos)
        elif word in ("q",):
            self.emit("str", first, pos)
        elif word == "qq":
            self.emit("str", self.interp(first, "perl"), pos)
        else:
            self.emit("re", first, pos)
            if word == "s" and "e" in flags:
                self.emit("code", second, pos)
        return True

    def operator(self, pos: int) -> None:
        code = self.code
        for size in (3, 2):
            op = code[pos : pos + size]
            if op in _OPS_BY_SIZE[size]:
                self.emit("op", op, pos)
                self.pos = pos + size
                return
        self.emit("op", code[pos], pos)
        self.pos = pos + 1


_FAST_OPS = (
    r"<=>|===|!==|\*\*=|\.\.\.|\?->|::|->|=>|=~|!~|==|!=|<=|>=|&&|\|\||\|&|\.\.|<<|>>|\+=|-="
    r"|\.=|\?\.|&\."
)
_FAST_CACHE: dict[str, re.Pattern[str]] = {}


def _fast_pattern(lang: str) -> re.Pattern[str]:
    """Blanks, newlines, identifiers, numbers and the operators that mean the same in every
    context of ``lang`` (quotes, comment starters and literal-starting ``/``/``%``/``[`` are
    left to the slow path). Alternatives start with distinct characters; no backtracking."""
    pattern = _FAST_CACHE.get(lang)
    if pattern is None:
        singles = "(){}[];,.=+*!<>?:&|^~"
        if lang == "lua":
            singles = singles.replace("[", "")
        if lang not in ("ruby",):
            singles += "%"
        ops = _FAST_OPS if lang != "lua" else r"==|~=|<=|>=|\.\.\.|\.\.|::"
        pattern = re.compile(
            r"(?P<sp>[ \t\r\f\v]++)|(?P<nl>\n)|(?P<id>[$@]{0,2}[A-Za-z_][A-Za-z0-9_]*+)"
            r"|(?P<num>[0-9][A-Za-z0-9_.]*+)|(?P<op>" + ops + "|[" + re.escape(singles) + "])"
        )
        _FAST_CACHE[lang] = pattern
    return pattern


def unescape(raw: str) -> str:
    """Decode backslash escapes (``\\n``, ``\\x41``, ``\\u0041``, ``\\101``)."""
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(_unescape_one, raw)


def _unescape_one(m: re.Match[str]) -> str:
    esc = m.group(1)
    head = esc[0]
    try:
        if head == "x" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if head == "u" and len(esc) > 1:
            return chr(int(esc[1:].strip("{}"), 16))
        if head.isdigit() and head in "01234567" and (len(esc) > 1 or head != "0"):
            return chr(int(esc, 8))
    except (ValueError, OverflowError):
        return UNKNOWN
    return _SIMPLE_ESC.get(esc, esc)


def interpolate(raw: str, style: str, code: list[str] | None = None) -> str:
    """Decode an interpolating literal; interpolated parts become :data:`UNKNOWN` (``$HOME``
    when they are the home directory)."""
    if style == "perl":
        return _interp_perl(raw, code)
    if style in ("ruby", "js"):
        return _interp_braced(raw, "#{" if style == "ruby" else "${", code)
    return unescape(raw)


def _interp_perl(raw: str, code: list[str] | None) -> str:
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        special = _PERL_SPECIAL.search(raw, i)
        j = n if special is None else special.start()
        out.append(raw[i:j])
        if j >= n:
            break
        if raw[j] == "\\":
            m = _ESCAPE.match(raw, j)
            if m is None:
                out.append("\\")
                i = j + 1
            else:
                out.append(_unescape_one(m))
                i = m.end()
            continue
        m = _PERL_VAR.match(raw, j)
        if m is None:
            out.append(raw[j])
            i = j + 1
            continue
        end = m.end()
        sub = _PERL_SUBSCRIPT.match(raw, end)
        if sub is not None and m.group(0) != "$_":
            end = sub.end()
        text = raw[j:end]
        out.append("$HOME" if _HOME_INTERP.match(text) else UNKNOWN)
        if text[1:2] == "{":  # ${ \ cmd() }, @{[ cmd() ]}: a block of code
            _keep(code, text[2:-1])
        elif end > m.end():  # $ENV{X}, $h->{k}: a subscripted variable
            _keep(code, text)
        i = end
    return "".join(out)


def _interp_braced(raw: str, opener: str, code: list[str] | None) -> str:
    out: list[str] = []
    i = 0
    while True:
        j = raw.find(opener, i)
        if j < 0:
            out.append(unescape(raw[i:]))
            break
        out.append(unescape(raw[i:j]))
        end = raw.find("}", j + 2)
        if end < 0:
            out.append(UNKNOWN)
            break
        inner = raw[j + 2 : end].strip()
        out.append("$HOME" if _HOME_INTERP.match(inner) else UNKNOWN)
        if code is not None and not inner.isidentifier():
            _keep(code, inner)
        i = end + 1
    return "".join(out)


def _keep(code: list[str] | None, snippet: str) -> None:
    if code is not None and len(code) < _MAX_INTERPOLATED and snippet.strip():
        code.append(snippet)
