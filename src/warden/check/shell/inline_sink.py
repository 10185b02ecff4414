"""The collector every inline-code analyser writes into, its limits, and payload decoding.

Values an analyser could only partly resolve are ``str`` holding :data:`UNKNOWN` where a run-time
part goes (``"/home/" + user`` is ``"/home/\\ufdd0"``); ``None`` means nothing is known. The sink
decides how such values are reported (see :mod:`warden.check.shell.inline`).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from warden.check.facts import FileOp, NetDirection
from warden.check.shell.effects import Effects, FileRef, NetRef

__all__ = [
    "MAX_DECODED_SIZE",
    "MAX_DECODE_DEPTH",
    "MAX_INLINE_CODE",
    "UNKNOWN",
    "UNKNOWN_PATH_PART",
    "UNKNOWN_SHELL_PART",
    "Recurse",
    "Sink",
    "as_text",
    "decode_payload",
    "is_secret_env",
]

# Inline code comes from a command line or a here-document. Real one-liners are a few hundred
# bytes and generated helper scripts a few KiB; 64 KiB is far above both, and bounds the worst
# case of the pure-Python tokeniser and ast walk to a few hundred milliseconds on the decision
# hot path. Padding a payload past the limit does not hide it: the rest is reported incomplete.
MAX_INLINE_CODE = 64 * 1024
# Decoded payloads that decode to more code: exec(b64decode(...)) wrapped three times is
# already deliberate obfuscation; deeper nesting is reported as incomplete, not followed.
MAX_DECODE_DEPTH = 3
# A decoded payload larger than the inline limit is not analysed (a zip bomb in zlib.decompress).
MAX_DECODED_SIZE = MAX_INLINE_CODE
# Caps on what one analysis reports, so hostile input cannot blow up the Effects it produces.
MAX_ITEMS = 256

# A Unicode noncharacter: never produced by decoding bytes (latin-1 carriage stays below U+0100)
# and never meaningful in source, so a payload cannot collide with it by accident. Text that
# contains it on purpose only makes its value look computed, which fails closed.
UNKNOWN = "\ufdd0"
_UNKNOWN_RUN = re.compile("\ufdd0+")
UNKNOWN_PATH_PART = "*"
UNKNOWN_SHELL_PART = "${WARDEN_UNRESOLVED}"

# Environment names whose value is a credential or grants access. Short alternation, no nested
# quantifiers: linear on any input.
_SECRET_ENV = re.compile(
    r"TOKEN|SECRET|PASSW|PASSWD|_PASS\b|CREDENTIAL|API_?KEY|PRIVATE|_AUTH|^AUTH|ACCESS_KEY"
    r"|SESSION|COOKIE|_KEY$|^AWS_|^GH_|^GITHUB_|^GITLAB_|^OPENAI_|^ANTHROPIC_|^AZURE_|^GOOGLE_"
    r"|^GCP_|DATABASE_URL|_DSN$|^NPM_TOKEN|^PYPI_|^SSH_AUTH_SOCK$|^KUBECONFIG$|^VAULT_",
    re.IGNORECASE,
)


def is_secret_env(name: str) -> bool:
    """Whether an environment variable name looks like it holds a secret."""
    return len(name) <= 256 and _SECRET_ENV.search(name) is not None


class Recurse(Protocol):
    """Callback analysing decoded code of some language into the same sink."""

    def __call__(self, sink: Sink, language: str, code: str, *, depth: int) -> None: ...


class Sink:
    """Accumulates effects in order, without duplicates, and builds the frozen :class:`Effects`."""

    __slots__ = ("_env_set", "_files", "_markers", "_nested", "_net", "_shell")

    def __init__(self) -> None:
        self._files: dict[FileRef, None] = {}
        self._net: dict[NetRef, None] = {}
        self._nested: dict[tuple[str, ...], None] = {}
        self._shell: dict[str, None] = {}
        self._env_set: dict[tuple[str, str], None] = {}
        self._markers: dict[tuple[str, str], None] = {}

    # -- plain records -----------------------------------------------------------------------
    def marker(self, name: str, detail: str = "") -> None:
        """Record an observation ``(name, detail)``."""
        _add(self._markers, (name, detail))

    def file(self, op: FileOp, raw: str, *, recursive: bool = False) -> None:
        """Record a file access with a fully literal path."""
        _add(self._files, FileRef(op, raw, recursive))

    def net(self, direction: NetDirection, target: str, port: int | None = None) -> None:
        """Record a network destination (URL, ``host`` or ``host:port``)."""
        _add(self._net, NetRef(direction, target, port))

    def env_set(self, name: str, value: str) -> None:
        """Record an environment variable the code sets."""
        _add(self._env_set, (name, value.replace(UNKNOWN, UNKNOWN_SHELL_PART)))

    def env_read(self, name: str | None) -> None:
        """Record an environment read; only secret-looking names (or a computed name) matter."""
        if name is None or UNKNOWN in name:
            self.marker("env.read", "*")
        elif is_secret_env(name):
            self.marker("env.read", name)

    # -- values that may be partly unknown ---------------------------------------------------
    def path(self, op: FileOp, value: str | None, callee: str, *, recursive: bool = False) -> None:
        """Record a file access whose path may be partly or wholly computed at run time.

        A path whose *start* is unknown could be anywhere, so it is not reported as a relative
        path (which would look like the workspace); only the dynamic marker is.
        """
        if value is None or value.startswith(UNKNOWN) or not value:
            self.marker("inline.dynamic-path", f"{op.value} {callee}")
            return
        if UNKNOWN in value:
            # as the shell's `cat ~/.ssh/$X`: outside the workspace, a wildcard (run._file)
            self.marker("inline.dynamic-path", f"{op.value} {callee}")
            value = _collapse(value, UNKNOWN_SHELL_PART)
        self.file(op, value, recursive=recursive)

    def url(
        self, direction: NetDirection, value: str | None, callee: str, port: int | None = None
    ) -> None:
        """Record a network target that may be partly computed (its host must be literal)."""
        if value is None or not value or _host_unknown(value):
            self.marker("inline.dynamic-host", f"{direction.value} {callee}")
            return
        if UNKNOWN in value:
            value = _collapse(value, UNKNOWN_PATH_PART)
        self.net(direction, value, port)

    def host_port(
        self, direction: NetDirection, host: str | None, port: int | None, callee: str
    ) -> None:
        """Record ``host:port`` (a socket connect); an empty host means localhost."""
        if host is None or UNKNOWN in host:
            self.marker("inline.dynamic-host", f"{direction.value} {callee}")
            return
        host = host or "localhost"
        self.net(direction, f"{host}:{port}" if port is not None else host, port)

    def shell(self, value: str | None, callee: str) -> None:
        """Record shell text the code runs; computed parts become a variable expansion."""
        if value is None:
            self.marker("inline.dynamic-exec", callee)
            return
        if UNKNOWN in value:
            self.marker("inline.dynamic-exec", callee)
            value = _collapse(value, UNKNOWN_SHELL_PART)
        if value.strip():
            _add(self._shell, value)

    def argv(self, items: Iterable[str | None] | None, callee: str) -> None:
        """Record an argv the code runs; unknown elements are dropped and marked dynamic."""
        if items is None:
            self.marker("inline.dynamic-exec", callee)
            return
        known: list[str] = []
        dynamic = False
        for item in items:
            if item is None or UNKNOWN in item:
                dynamic = True
                if item is not None and not known:
                    known.append(_collapse(item, UNKNOWN_SHELL_PART))
            else:
                known.append(item)
        if dynamic:
            self.marker("inline.dynamic-exec", callee)
        if known:
            _add(self._nested, tuple(known))

    def effects(self) -> Effects:
        """The frozen result."""
        return Effects(
            files=tuple(self._files),
            net=tuple(self._net),
            nested=tuple(self._nested),
            shell_code=tuple(self._shell),
            env_set=tuple(self._env_set),
            markers=tuple(self._markers),
        )

    def names(self) -> frozenset[str]:
        """Names of the markers recorded so far."""
        return frozenset(name for name, _ in self._markers)

    def has_nested_or_shell(self) -> bool:
        """Whether any process launch was recorded."""
        return bool(self._nested or self._shell)

    def shell_texts(self) -> tuple[str, ...]:
        """Shell texts recorded so far."""
        return tuple(self._shell)

    def runs_shell(self) -> bool:
        """Whether a recorded launch is an interactive shell (a reverse-shell tail)."""
        for argv in self._nested:
            if argv and _is_shell_name(argv[0]):
                return True
        return any(_is_shell_name(text.strip().split(" ", 1)[0]) for text in self._shell)


_K = TypeVar("_K")


def _add(store: dict[_K, None], key: _K) -> None:
    if len(store) < MAX_ITEMS:
        store[key] = None


def _collapse(value: str, part: str) -> str:
    """Replace runs of unknown parts by one ``part``."""
    return _UNKNOWN_RUN.sub(lambda _m: part, value)


def _host_unknown(value: str) -> bool:
    """Whether the host part of a URL (or bare host) contains a computed part."""
    if value.startswith(UNKNOWN):
        return True
    scheme, sep, rest = value.partition("://")
    authority = rest if sep else scheme
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    return UNKNOWN in authority or (sep != "" and authority == "")


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "csh", "tcsh", "fish", "busybox"})


def _is_shell_name(word: str) -> bool:
    base = word.rsplit("/", 1)[-1]
    return base in _SHELLS or base in ("cmd", "cmd.exe", "powershell", "pwsh")


# -- decoding literal payloads ---------------------------------------------------------------


def _b64(data: str) -> bytes:
    raw = "".join(data.split())
    return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=False)


def _b64url(data: str) -> bytes:
    raw = "".join(data.split())
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def _hex(data: str) -> bytes:
    return bytes.fromhex("".join(data.split()).removeprefix("0x"))


def _zlib(data: str) -> bytes:
    d = zlib.decompressobj(wbits=47)  # zlib or gzip header, auto-detected
    return d.decompress(data.encode("latin-1", errors="replace"), MAX_DECODED_SIZE)


def _deflate(data: str) -> bytes:
    d = zlib.decompressobj(wbits=-15)  # raw deflate (PHP gzinflate)
    return d.decompress(data.encode("latin-1", errors="replace"), MAX_DECODED_SIZE)


_DECODERS: dict[str, Callable[[str], bytes]] = {
    "deflate": _deflate,
    "base64": _b64,
    "base64url": _b64url,
    "base32": lambda d: base64.b32decode("".join(d.split()).upper()),
    "hex": _hex,
    "rot13": lambda d: codecs.encode(d, "rot13").encode("latin-1", errors="replace"),
    "zlib": _zlib,
}


def decode_payload(codec: str, data: str) -> str | None:
    """Decode a literal payload (``base64``, ``base64url``, ``base32``, ``hex``, ``rot13``,
    ``zlib``); ``None`` when it does not decode or is too large.

    Bytes travel as latin-1 text so that decoders chain losslessly (``zlib(base64(...))``);
    :func:`as_text` turns the final result into readable code.
    """
    decoder = _DECODERS.get(codec)
    if decoder is None or len(data) > 2 * MAX_DECODED_SIZE:
        return None
    try:
        raw = decoder(data)
    except (ValueError, binascii.Error, zlib.error, UnicodeError):
        return None
    if len(raw) > MAX_DECODED_SIZE:
        return None
    return raw.decode("latin-1")


def as_text(value: str) -> str:
    """Turn a latin-1 carried byte string back into text (UTF-8 when it is valid UTF-8)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value
