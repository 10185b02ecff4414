"""Known values flowing through pipelines: seeing through ``echo B64 | base64 -d | sh``.

When a stage's output can be computed from literals (``echo``, ``printf``, a here-doc or
here-string) and the next stages only transform it (``base64 -d``, ``xxd -r -p``, ``rev``,
``cat``, ``tr -d``), warden computes the result and analyses it as the code it becomes. Decoding
is bounded (:data:`MAX_DECODED`) and strict: text that does not decode stays unknown.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["MAX_DECODED", "echo_value", "hides_text", "output", "printf_value", "transform"]

#: Decoded payloads larger than this are not followed (a shell one-liner never needs more).
MAX_DECODED = 256 * 1024

_PRINTF_ESC = re.compile(r"\\(?:x([0-9A-Fa-f]{1,2})|([0-7]{1,3})|u([0-9A-Fa-f]{4})|(.))", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "a": "\a", "e": "\x1b", "0": "\0"}


def _unescape(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        hx, octal, uni, other = m.groups()
        if hx:
            return chr(int(hx, 16))
        if octal:
            return chr(int(octal, 8) & 0xFF)
        if uni:
            return chr(int(uni, 16))
        return _SIMPLE.get(other, "\\" + other)

    return _PRINTF_ESC.sub(sub, text)


def printf_value(args: tuple[str, ...]) -> str | None:
    """The output of ``printf FORMAT ARGS`` for the common cases, else None."""
    if not args:
        return None
    fmt, rest = args[0], list(args[1:])
    if fmt == "--" and rest:
        fmt, rest = rest[0], rest[1:]
    out = _unescape(fmt)
    if "%" in out:
        parts = re.split(r"(%%|%[-0-9.]*[sdbcx])", out)
        built = []
        for part in parts:
            if part == "%%":
                built.append("%")
            elif part.startswith("%") and len(part) > 1:
                arg = rest.pop(0) if rest else ""
                built.append(_unescape(arg) if part.endswith("b") else arg)
            else:
                built.append(part)
        out = "".join(built)
    return out


def output(name: str, args: tuple[str, ...], stdin: str | None) -> tuple[str | None, bool]:
    """What ``name args`` prints when it can be computed, and whether that text was decoded
    (escapes or an encoding turned into readable text): ``(None, False)`` when unknown."""
    if name == "echo":
        return echo_value(args), False
    if name == "printf":
        value = printf_value(args)
        return value, value is not None and bool(args) and hides_text(args[0])
    if stdin is None:
        return None, False
    value = transform(name, args, stdin)
    return value, value is not None and value != stdin and name != "cat"


def hides_text(fmt: str) -> bool:
    """Whether a printf format spells letters, digits or path characters as escapes."""
    for m in _PRINTF_ESC.finditer(fmt):
        hx, octal, uni, _other = m.groups()
        code = int(hx, 16) if hx else int(octal, 8) if octal else int(uni, 16) if uni else None
        if code is not None and (chr(code).isalnum() or chr(code) in "/.~-_ "):
            return True
    return False


def echo_value(args: tuple[str, ...]) -> str:
    """The output of ``echo [-neE] ARGS``."""
    escapes, newline = False, True
    words = list(args)
    while words and re.fullmatch(r"-[neE]+", words[0]):
        flags = words.pop(0)
        newline = newline and "n" not in flags
        if "e" in flags:
            escapes = True
        if "E" in flags:
            escapes = False
    text = " ".join(words)
    if escapes:
        text = _unescape(text)
    return text + ("\n" if newline else "")


def transform(name: str, args: tuple[str, ...], value: str) -> str | None:
    """What ``name args`` prints when ``value`` arrives on its stdin, if it is a pure transform."""
    flags = set(args)
    if name in ("base64", "gbase64", "b64") and flags & {"-d", "--decode", "-D", "-di", "-id"}:
        return _b64(value)
    if name == "openssl" and args[:1] in (("base64",), ("enc",)) and "-d" in flags:
        return _b64(value)
    if name == "xxd" and "-r" in flags:
        return _hex(value)
    if name == "rev":
        return "\n".join(line[::-1] for line in value.split("\n"))
    if name == "cat" and not args:
        return value
    if name == "tr" and len(args) == 2 and args[0] == "-d":
        return value.translate({ord(c): None for c in _unescape(args[1])})
    if name == "tr" and len(args) == 2 and not args[0].startswith("-"):
        return _tr(value, args[0], args[1])
    return None


def _b64(value: str) -> str | None:
    data = "".join(value.split())
    if len(data) > MAX_DECODED * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", "replace")


def _hex(value: str) -> str | None:
    data = re.sub(r"\s+", "", value)
    if len(data) > MAX_DECODED * 2:
        return None
    try:
        return bytes.fromhex(data).decode("utf-8", "replace")
    except ValueError:
        return None


def _expand_tr_set(spec: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _tr(value: str, a: str, b: str) -> str | None:
    src, dst = _expand_tr_set(a), _expand_tr_set(b)
    if not src or not dst or len(src) > 512:
        return None
    dst = dst + dst[-1] * max(0, len(src) - len(dst))
    return value.translate({ord(s): d for s, d in zip(src, dst, strict=False)})
