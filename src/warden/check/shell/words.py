"""Shell word evaluation: what argv a word becomes, seen through quoting tricks.

Bash turns a word into zero or more argv entries by brace expansion, parameter expansion, command
substitution, word splitting, quote removal and pathname expansion (bash(1), EXPANSION). A rogue
agent hides a command name in exactly those steps: ``r''m``, ``c\\url``, ``$'\\x72m'``,
``{cat,/etc/passwd}``, ``cat${IFS}/etc/passwd``, ``a=cu;b=rl;$a$b``, ``${x:2:4}``.
This module performs the same steps on text, with variables that the command itself assigned and
a few well-known ones (``HOME``, ``PWD``, ``IFS``), and records every trick it sees as an
obfuscation tag. Values it cannot know stay as their ``$NAME`` text and make the word *dynamic*.

Text is handled as a string plus a per-character *mask* saying how each character got there:
:data:`LIT` (unquoted literal: brace and glob characters are live), :data:`QUOTED` (inert) and
:data:`SPLIT` (an unquoted expansion result: subject to word splitting on ``IFS``).
"""

from __future__ import annotations

import itertools
import re

import msgspec

__all__ = [
    "LIT",
    "MAX_BRACE_WORDS",
    "QUOTED",
    "SPLIT",
    "Text",
    "WordInfo",
    "brace_expand",
    "decode_ansi_c",
    "finish_word",
    "has_glob",
]

LIT = "L"
QUOTED = "Q"
SPLIT = "S"

#: Brace expansion can multiply words exponentially (``{a,b}{a,b}...``); past this many results
#: the expansion is abandoned and the word is reported as incompletely analysed.
MAX_BRACE_WORDS = 256

#: Largest ``{N..M}`` range expanded (bash itself would happily generate millions).
MAX_BRACE_RANGE = 64

_GLOB_CHARS = frozenset("*?[")


class Text(msgspec.Struct):
    """A partly evaluated word: characters and how each one was produced."""

    chars: str = ""
    mask: str = ""

    def add(self, text: str, how: str) -> None:
        self.chars += text
        self.mask += how * len(text)


class WordInfo(msgspec.Struct):
    """What evaluating words taught us besides their values."""

    dynamic: bool = False  # some value could not be known
    tags: set[str] = msgspec.field(default_factory=set)  # obfuscation.* names
    incomplete: set[str] = msgspec.field(default_factory=set)  # reasons analysis stopped short
    env_read: list[str] = msgspec.field(default_factory=list)


_ANSI_SIMPLE = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip
_ANSI_RE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})|U([0-9A-Fa-f]{1,8})|([0-7]{1,3})|c(.)|(.))",
    re.DOTALL,
)
_PLAIN = re.compile(r"[A-Za-z0-9./~_-]")


def decode_ansi_c(body: str) -> tuple[str, bool]:
    """Decode the body of ``$'...'`` (bash(1), QUOTING).

    Returns the text and whether an escape produced an ordinary character (a letter, digit or
    path character): ``$'\\n'`` is formatting, ``$'\\x72m'`` is hiding ``rm``.
    """
    hiding = False

    def sub(m: re.Match[str]) -> str:
        nonlocal hiding
        hx, u4, u8, octal, ctrl, other = m.groups()
        if hx or u4 or u8 or octal:
            code = int(hx or u4 or u8, 16) if (hx or u4 or u8) else int(octal, 8)
            try:
                ch = chr(code)
            except (ValueError, OverflowError):
                return ""
            if _PLAIN.fullmatch(ch):
                hiding = True
            return ch
        if ctrl:
            return chr(ord(ctrl) & 0x1F)
        return _ANSI_SIMPLE.get(other, "\\" + other)

    return _ANSI_RE.sub(sub, body), hiding


def has_glob(text: Text) -> bool:
    """Whether a live (unquoted) glob character remains."""
    chars = text.chars
    if "*" not in chars and "?" not in chars and "[" not in chars and len(chars) == len(text.mask):
        return False  # most words: three C scans instead of a generator step per character
    return any(c in _GLOB_CHARS and m == LIT for c, m in zip(text.chars, text.mask, strict=True))


def _find_brace(text: Text, start: int) -> tuple[int, int, list[int]] | None:
    """The first unquoted ``{...}`` at or after start with a top-level comma or ``..``."""
    chars, mask = text.chars, text.mask
    i = start
    while True:
        i = chars.find("{", i)
        if i < 0:
            return None
        if mask[i] != LIT or (i > 0 and chars[i - 1] == "$"):
            i += 1
            continue
        depth, commas, j = 0, [], i
        while j < len(chars):
            c = chars[j]
            if mask[j] == LIT:
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                elif c == "," and depth == 1:
                    commas.append(j)
            j += 1
        else:
            return None
        if commas or ".." in chars[i + 1 : j]:
            return i, j, commas
        i += 1


def _range_items(body: str) -> list[str] | None:
    m = re.fullmatch(r"(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?", body)
    if not m:
        return None
    a, b, step_s = m.groups()
    step = abs(int(step_s)) if step_s else 1
    step = step or 1
    if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
        lo, hi = int(a), int(b)
        if abs(hi - lo) // step > MAX_BRACE_RANGE:
            return None
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [str(n) for n in rng]
    if a.isalpha() and b.isalpha():
        lo, hi = ord(a), ord(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [chr(n) for n in rng]
    return None


def brace_expand(text: Text, info: WordInfo) -> list[Text]:
    """Expand unquoted ``{a,b}`` and ``{1..3}`` like bash, bounded by :data:`MAX_BRACE_WORDS`."""
    found = _find_brace(text, 0)
    if found is None:
        return [text]
    out: list[Text] = []
    pending = [text]
    while pending:
        t = pending.pop()
        found = _find_brace(t, 0)
        if found is None:
            out.append(t)
            if len(out) > MAX_BRACE_WORDS:
                info.incomplete.add("brace expansion too large")
                return out[:MAX_BRACE_WORDS]
            continue
        i, j, commas = found
        pre = Text(t.chars[:i], t.mask[:i])
        post = Text(t.chars[j + 1 :], t.mask[j + 1 :])
        alts: list[Text] = []
        if commas:
            bounds = [i, *commas, j]
            for a, b in itertools.pairwise(bounds):
                alts.append(Text(t.chars[a + 1 : b], t.mask[a + 1 : b]))
        else:
            items = _range_items(t.chars[i + 1 : j])
            if items is None:
                # not a valid range: bash leaves it as is; look for a later brace
                rest = brace_expand(post, info)
                head = Text(t.chars[: j + 1], t.mask[: j + 1])
                out.extend(Text(head.chars + r.chars, head.mask + r.mask) for r in rest)
                continue
            alts = [Text(s, LIT * len(s)) for s in items]
        for alt in reversed(alts):
            chars, mask = pre.chars + alt.chars + post.chars, pre.mask + alt.mask + post.mask
            pending.append(Text(chars, mask))
        if len(pending) + len(out) > MAX_BRACE_WORDS:
            info.incomplete.add("brace expansion too large")
            return out + pending[:MAX_BRACE_WORDS]
    return out


def _split(text: Text, ifs: str) -> list[Text]:
    """Word splitting: unquoted expansion results are split on IFS characters.

    Works run by run (one regex search per separator), not character by character: expanded
    values can be long.
    """
    if SPLIT not in text.mask:
        return [text]
    separators = re.compile("[" + re.escape(ifs) + "]")
    cuts: list[int] = []
    for run in _SPLIT_RUN.finditer(text.mask):
        for sep in separators.finditer(text.chars, run.start(), run.end()):
            cuts.append(sep.start())
    fields: list[Text] = []
    start = 0
    for cut in [*cuts, len(text.chars)]:
        if cut > start:
            fields.append(Text(text.chars[start:cut], text.mask[start:cut]))
        start = cut + 1
    return fields


_SPLIT_RUN = re.compile(SPLIT + "+")


def finish_word(text: Text, info: WordInfo, *, ifs: str = " \t\n") -> list[tuple[str, bool]]:
    """Brace-expand and word-split an evaluated word: ``[(value, is_glob), ...]``."""
    results: list[tuple[str, bool]] = []
    for braced in brace_expand(text, info):
        for piece in _split(braced, ifs):
            results.append((piece.chars, has_glob(piece)))
    return results
