"""Unicode tricks in commands: invisible characters and look-alike letters.

Two families of attack hide what a command does from the person (or model) reading it:

* **Invisible and reordering characters.** Zero-width characters split a word without a visible
  trace (``r\u200bm``); bidirectional controls reorder how text is displayed, not how it is
  parsed ("Trojan Source", CVE-2021-42574, Boucher and Anderson 2021); unusual spaces such as
  U+00A0 NO-BREAK SPACE look like a space but a shell does not split words on them, so
  ``rm\u00a0-rf`` is one word; control characters (ESC, BS, a lone CR) rewrite a terminal line.
  :func:`find_invisible` reports them with their positions.
* **Confusables.** Letters from other scripts that look like ASCII (Cyrillic ``с`` in ``сurl``),
  fullwidth forms (``ｃｕｒｌ``), mathematical alphanumerics (``𝐜𝐮𝐫𝐥``).
  :func:`fold_confusables` maps them to the ASCII they imitate so that names can be compared.

Sources: UAX #9 (the bidirectional algorithm and its controls) and N. Boucher, R. Anderson,
"Trojan Source: Invisible Vulnerabilities" (2021); DerivedCoreProperties.txt
``Default_Ignorable_Code_Point`` (Unicode 15.1) for the invisible set; UAX #15 (NFKC); Unicode
Technical Standard #39 ``confusables.txt`` for look-alikes. The table below was generated from
``confusables.json`` of the ``confusable-homoglyphs`` 3.3.1 package (a JSON rendering of
``confusables.txt``), keeping the single characters that imitate one printable ASCII character,
are letters, digits, punctuation or symbols (categories L, N, P, S; 10 combining marks and
format characters are left out), and are *not* already mapped to ASCII by NFKC (NFKC handles
the fullwidth and mathematical forms, 791 of the 1,457 entries). Where
TR39 merges ``I``/``l``/``1`` into the prototype ``l``, capital letters map to ``I``. The package
itself is not used at run time: it imports ``urllib`` and parses 900 KB of JSON (~60 ms), too
slow for the hook path.

All functions have an ASCII fast path (``str.isascii``, a C loop over the string): on pure-ASCII
input they return in about a microsecond.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "find_invisible",
    "fold_confusables",
    "has_confusables",
    "is_ascii_fast",
    "plain_reading",
]

# fold_confusables repeats NFKC + table mapping until nothing changes: mapping a letter to ASCII
# can let NFKC compose it with a following combining mark (Cyrillic "е" + U+0301 -> "é"), and
# each further round only composes, so the string shrinks every round that changes it. Real text
# settles in two rounds; the cap bounds the work on adversarial input.
MAX_FOLD_ROUNDS = 8

# Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt, Unicode 15.1) plus U+2800
# BRAILLE PATTERN BLANK, which is not ignorable but renders as nothing in most fonts.
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

# Names for C0 controls and DEL (Unicode NameAliases.txt); unicodedata.name has none for Cc.
_C0_NAMES = (
    "NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION",
    "ENQUIRY", "ACKNOWLEDGE", "ALERT", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED",
    "LINE TABULATION", "FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN",
    "DATA LINK ESCAPE", "DEVICE CONTROL ONE", "DEVICE CONTROL TWO", "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR", "NEGATIVE ACKNOWLEDGE", "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK", "CANCEL", "END OF MEDIUM", "SUBSTITUTE", "ESCAPE",
    "INFORMATION SEPARATOR FOUR", "INFORMATION SEPARATOR THREE", "INFORMATION SEPARATOR TWO",
    "INFORMATION SEPARATOR ONE",
)

# Generated from Unicode TR39 confusables.txt (see the module docstring): ASCII -> look-alikes.
_TABLE_SOURCE: dict[str, str] = {
    '!': 'ǃⵑ',
    '&': 'ꝸ',
    "'": '´ʹʻʼʽʾˈˊˋ˴ʹ΄՚՝ᑊᛌ᾽᾿´῾‘’‛′‵ꞌ',
    '(': '❨❲〔﴾',
    ')': '❩❳〕﴿',
    '*': '⁎∗𐌟',
    '+': '᛭➕𐊛',
    ',': '¸‚ꓹ',
    '-': '˗‐‑‒–⁃−➖Ⲻ﹘',
    '.': '۰ꓸ꘎',
    '/': '᜵⁁⁄∕╱⟋⧸Ⳇ⼃〳ノ㇓丿𝈺',
    '2': 'ƧϨᒿꙄꛯꝚ',
    '3': 'ƷȜЗӠⳌꝪꞫ𑣊𖼻𝈆',
    '4': 'Ꮞ𑢯',
    '5': 'Ƽ𑢻',
    '6': 'бᏮⳒ𑣕',
    '7': '𐓒𑣆𝈒',
    '8': 'Ȣȣ৪੪𐌚',
    '9': '৭੧୨൭ⳊꝮ𑢬𑣌𑣖',
    ':': 'ː˸։᛬᠃᠉⁚∶ꓽ꞉',
    '<': '˂ᐸᚲ‹❮𝈶',
    '=': '᐀⹀゠꓿',
    '>': '˃ᐳ›❯𖼿𝈷',
    '?': 'ɁʔॽᎮꛫ',
    'A': 'ΑАᎪᗅꓮ𐊠𖽀𝚨𝛢𝜜𝝖𝞐',
    'B': 'ΒВᏴᗷꓐꞴ𐊂𐊡𐌁𝚩𝛣𝜝𝝗𝞑',
    'C': 'ϹСᏟⲤꓚ𐊢𐌂𐐕𐔜𑣩𑣲🝌',
    'D': 'Ꭰᗞᗪꓓ',
    'E': 'ΕЕᎬ⋿ⴹꓰ𐊆𑢦𑢮𝚬𝛦𝜠𝝚𝞔',
    'F': 'ϜᖴꓝꞘ𐊇𐊥𐔥𑢢𑣂𝈓𝟊',
    'G': 'ԌᏀᏳꓖ',
    'H': 'ΗНᎻᕼⲎꓧ𐋏𝚮𝛨𝜢𝝜𝞖',
    'I': 'ƖΙІⲒ𝚰𝛪𝜤𝝞𝞘',
    'J': 'ͿЈᎫᒍꓙꞲ',
    'K': 'ΚКᏦᛕⲔꓗ𐔘𝚱𝛫𝜥𝝟𝞙',
    'L': 'ᏞᒪⳐꓡ𐐛𐔦𑢣𑢲𖼖𝈪',
    'M': 'ΜϺМᎷᗰᛖⲘꓟ𐊰𐌑𝚳𝛭𝜧𝝡𝞛',
    'N': 'ΝⲚꓠ𐔓𝚴𝛮𝜨𝝢𝞜',
    'O': 'ΟОՕ০ଠ୦ዐⲞⵔ〇ꓳ𐊒𐊫𐐄𐓂𐔖𑓐𑢵𑣠𝚶𝛰𝜪𝝤𝞞',
    'P': 'ΡРᏢᑭⲢꓑ𐊕𝚸𝛲𝜬𝝦𝞠',
    'Q': 'ⵕ',
    'R': 'ƦᎡᏒᖇꓣ𐒴𖼵𝈖',
    'S': 'ЅՏᏕᏚꓢ𐊖𐐠𖼺',
    'T': 'ΤТᎢ⊤⟙Ⲧꓔ𐊗𐊱𐌕𑢼𖼊𝚻𝛵𝜯𝝩𝞣🝨',
    'U': 'Սሀᑌ∪⋃ꓴ𐓎𑢸𖽂',
    'V': 'Ѵ۷Ꮩᐯⴸꓦꛟ𐔝𑢠𖼈𝈍',
    'W': 'ԜᎳᏔꓪ𑣦𑣯',
    'X': 'ΧХ᙭ᚷ╳ⲬⵝꓫꞳ𐊐𐊴𐌗𐌢𐔧𑣬𝚾𝛸𝜲𝝬𝞦',
    'Y': 'ΥϒУҮᎩᎽⲨꓬ𐊲𑢤𖽃𝚼𝛶𝜰𝝪𝞤',
    'Z': 'ΖᏃꓜ𐋵𑢩𑣥𝚭𝛧𝜡𝝛𝞕',
    '\\': '∖⟍⧵⧹⼂㇔丶𝈏𝈻',
    '^': '˄ˆ',
    'a': 'ɑαа⍺𝛂𝛼𝜶𝝰𝞪',
    'b': 'ƄЬᏏᑲᖯ',
    'c': 'ϲсᴄⲥꮯ𐐽',
    'd': 'ԁᏧᑯꓒ',
    'e': 'еҽ℮ꬲ',
    'f': 'քẝꞙꬵ',
    'g': 'ƍɡցᶃ',
    'h': 'һհᏂ',
    'i': 'ıɩɪ˛ͺιіӏᎥι⍳ꙇꭵ𑣃𝚤𝛊𝜄𝜾𝝸𝞲',
    'j': 'ϳј',
    'l': 'ǀӀ۱ᛁ∣⏽ⵏꓲ￨𐊊𐌉𐌠𖼨',
    'n': 'ոռ',
    'o': 'οσоօ۵०੦૦௦౦೦ഠ൦๐໐ဝ၀ჿᴏᴑⲟꬽ𐐬𐓪𑣈𑣗𝛐𝛔𝜊𝜎𝝄𝝈𝝾𝞂𝞸𝞼',
    'p': 'ρϱр⍴ⲣ𝛒𝛠𝜌𝜚𝝆𝝔𝞀𝞎𝞺𝟈',
    'q': 'ԛգզ',
    'r': 'гᴦⲅꭇꭈꮁ',
    's': 'ƽѕꜱꮪ𐑈𑣁',
    'u': 'ʋυսᴜꞟꭎꭒ𐓶𑣘𝛖𝜐𝝊𝞄𝞾',
    'v': 'νѵᴠ∨⋁ꮩ𑜆𑣀𝛎𝜈𝝂𝝼𝞶',
    'w': 'ɯѡԝաᴡꮃ𑜊𑜎𑜏',
    'x': '×хᕁᕽ᙮⤫⤬⨯',
    'y': 'ɣʏγуүყᶌỿℽꭚ𑣜𝛄𝛾𝜸𝝲𝞬',
    'z': 'ᴢꮓ𑣄',
    '{': '❴𝄔',
    '}': '❵',
    '~': '˜῀⁓∼',
}

_FOLD: dict[int, str] = {ord(ch): ascii_ for ascii_, chars in _TABLE_SOURCE.items() for ch in chars}


def is_ascii_fast(text: str) -> bool:
    """True if ``text`` is pure ASCII (then it holds no invisible Unicode and no confusables)."""
    return text.isascii()


_INVISIBLE = frozenset(cp for lo, hi in _INVISIBLE_RANGES for cp in range(lo, hi + 1))


def _is_invisible(ch: str) -> bool:
    if ord(ch) in _INVISIBLE:
        return True
    cat = unicodedata.category(ch)
    return cat in ("Cf", "Zl", "Zp", "Cs") or (cat == "Zs" and ch != " ")


def _name(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x20:
        return _C0_NAMES[cp]
    if cp == 0x7F:
        return "DELETE"
    return unicodedata.name(ch, f"U+{cp:04X}")


def _ascii_controls(text: str) -> tuple[tuple[int, str], ...]:
    out = []
    n = len(text)
    for i, ch in enumerate(text):
        if ch < " " or ch == "\x7f":
            if ch in "\t\n" or (ch == "\r" and i + 1 < n and text[i + 1] == "\n"):
                continue
            out.append((i, _name(ch)))
    return tuple(out)


# Control characters except TAB, LF and CR (a CR is reported only when not followed by LF).
_CONTROL_CHARS = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t", "\n"}
# The same set as one character class: a single C-speed scan for the ASCII fast path.
_ASCII_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def find_invisible(text: str) -> tuple[tuple[int, str], ...]:
    """``(index, character name)`` for each invisible, reordering or unusual-space character.

    Reported: format characters (category Cf: zero-width space/joiners, bidi embeddings,
    overrides and isolates, BOM, soft hyphen, tag characters), every Default_Ignorable_Code_Point
    (variation selectors, Hangul fillers, combining grapheme joiner), U+2800 BRAILLE PATTERN
    BLANK, every space separator other than U+0020 (NO-BREAK SPACE, EN SPACE, IDEOGRAPHIC SPACE
    ...), line and paragraph separators, lone surrogates, and control characters other than TAB,
    LF and a CR that ends a CRLF. Emoji sequences contain ZERO WIDTH JOINER and VARIATION
    SELECTOR-16 and are reported too: the caller decides what matters where. Indexes are
    ``str`` (code point) indexes.
    """
    if text.isascii():
        if text.isprintable() or _ASCII_CONTROL.search(text) is None:
            return ()
        return _ascii_controls(text)
    out: list[tuple[int, str]] = []
    n = len(text)
    for i, ch in enumerate(text):
        if ch.isascii():
            if ch in _CONTROL_CHARS and not (ch == "\r" and i + 1 < n and text[i + 1] == "\n"):
                out.append((i, _name(ch)))
        elif _is_invisible(ch) or unicodedata.category(ch) == "Cc":
            out.append((i, _name(ch)))
    return tuple(out)


# Characters seen per process are few; the cap stops hostile input (every code point once) from
# growing the translation cache past a few megabytes.
_DROP_CACHE_MAX = 1 << 16


class _DropTable(dict[int, "int | str | None"]):
    """``str.translate`` table, filled on demand: invisible -> dropped, space separator -> " "."""

    def __missing__(self, cp: int) -> int | str | None:
        ch = chr(cp)
        value: int | str | None = cp
        if unicodedata.category(ch) == "Zs":
            value = " "
        elif _is_invisible(ch):
            value = None
        if len(self) < _DROP_CACHE_MAX:
            self[cp] = value
        return value


_DROP = _DropTable()


def _fold_once(text: str) -> str:
    return unicodedata.normalize("NFKC", text.translate(_DROP)).translate(_FOLD)


def fold_confusables(text: str) -> str:
    """``text`` with look-alike characters replaced by the ASCII they imitate.

    Steps, repeated until nothing changes (at most :data:`MAX_FOLD_ROUNDS`): drop the invisible
    and format characters :func:`find_invisible` reports (control characters are kept; a space
    separator becomes U+0020), apply NFKC
    (fullwidth, mathematical, ligatures, superscripts), then map the TR39 look-alikes NFKC leaves
    alone (Cyrillic, Greek, Armenian, Cherokee, Latin extensions ...). Characters with no ASCII
    look-alike are kept, so the result is ASCII only if every character had one.

    Properties (tested): ASCII input is returned unchanged, and folding is idempotent. Length is
    not preserved: dropped characters and NFC composition shorten the text, NFKC expansions
    lengthen it (U+FB01 "ﬁ" -> "fi", U+2474 "⑴" -> "(1)"; at most 18 characters for one,
    U+FDFA), so ``len(fold_confusables(s)) <= 18 * len(s)`` and indexes do not carry over.
    """
    if text.isascii():
        return text
    for _ in range(MAX_FOLD_ROUNDS):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


@lru_cache(maxsize=4096)
def _imitates_ascii(ch: str) -> bool:
    if ord(ch) in _FOLD:
        return True
    if unicodedata.category(ch) == "Zs":
        return True
    nfkc = unicodedata.normalize("NFKC", ch)
    return nfkc != ch and nfkc.isascii() and bool(nfkc)


def has_confusables(text: str) -> bool:
    """True if ``text`` holds a non-ASCII character that :func:`fold_confusables` turns into ASCII.

    Any Cyrillic or Greek text qualifies (``а`` imitates ``a``): this answers "could this text be
    mistaken for ASCII it is not", and callers decide whether that matters (a command name, a
    host name) or not (a message body).
    """
    if text.isascii():
        return False
    return any(_imitates_ascii(ch) for ch in text if not ch.isascii())


def plain_reading(text: str) -> str:
    """``text`` as a reader sees it: invisible characters removed and look-alikes folded, so
    ``ig\u200bnore`` reads as ``ignore`` and Cyrillic ``\u0456gnore`` too. Pure ASCII is
    returned as is (the common case). Used by the detectors of planted instructions and of
    secret-asking forms, which match words."""
    if text.isascii():
        return text
    drop = {pos for pos, _ in find_invisible(text)}
    if drop:
        text = "".join(ch for i, ch in enumerate(text) if i not in drop)
    return fold_confusables(text)
