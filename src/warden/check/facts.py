"""Facts: what an action would do, lifted out of its syntax.

Analysis turns an :class:`~warden.action.Action` into :class:`Facts`; rules match facts, never raw
syntax (except as a last resort on ``action.text``). Facts are plain frozen records so that rule
evaluation is a pure function of them.

Spans are ``(start, end)`` character offsets into the action field named by ``field`` (usually
``command``); for facts found inside decoded or nested code (``sh -c '...'``, ``base64 -d``) the
span is that of the outermost text that produced them, so evidence always points at something the
person can see.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from warden.check.paths import listed_dir

__all__ = [
    "Exec",
    "Facts",
    "FileAccess",
    "FileOp",
    "Marker",
    "NetAccess",
    "NetDirection",
    "Origin",
    "SecretHit",
    "Span",
    "fold_hidden",
]

Span = tuple[int, int]


class FileOp(StrEnum):
    READ = "read"
    WRITE = "write"  # create or truncate
    APPEND = "append"
    DELETE = "delete"
    CHMOD = "chmod"  # permissions or ownership change (incl. making executable)
    EXEC = "exec"  # the file is run as a program or sourced as code
    LIST = "list"  # directory listing, search, stat


class NetDirection(StrEnum):
    FETCH = "fetch"  # data comes in (GET, download, clone)
    UPLOAD = "upload"  # data goes out (POST/PUT body, file upload, push, scp to remote)
    CONNECT = "connect"  # a raw connection whose direction is unknown (nc, ssh, telnet)
    LISTEN = "listen"  # the action opens a listening socket
    RESOLVE = "resolve"  # name lookup only (dig, nslookup, host)


class Origin(StrEnum):
    """Where data flowing into a program came from (stdin, arguments, files)."""

    NETWORK = "network"  # a fetcher's output (curl, wget, nc, /dev/tcp)
    DECODED = "decoded"  # base64/xxd/printf-decoded text
    FILE = "file"  # a file's contents (cat, <, redirect)
    SECRET = "secret"  # noqa: S105 - a file the analysis already knows to be sensitive
    COMMAND = "command"  # another program's output
    LITERAL = "literal"  # text written in the command itself (echo, here-doc)


class Exec(msgspec.Struct, frozen=True, kw_only=True):
    """One program the action would run.

    ``name`` is the basename of ``argv[0]`` after unquoting and de-obfuscation (``/usr/bin/rm``,
    ``r''m`` and ``$'\\x72m'`` are all ``rm``); ``via`` lists the wrappers and contexts it ran in,
    outermost first (``("sudo", "bash -c")``); ``stdin`` holds the origins of data piped into it
    and ``args_from`` those of data substituted into its arguments (``$(curl ...)``).
    """

    name: str
    argv: tuple[str, ...]
    span: Span = (0, 0)
    via: tuple[str, ...] = ()
    stdin: frozenset[Origin] = frozenset()
    args_from: frozenset[Origin] = frozenset()
    background: bool = False
    privileged: bool = False
    dynamic: bool = False  # argv[0] or args are computed at run time and could not be resolved

    @property
    def args(self) -> tuple[str, ...]:
        return self.argv[1:]


class FileAccess(msgspec.Struct, frozen=True, kw_only=True):
    """One file or directory the action touches.

    ``path`` is absolute and normalised (``~``, ``$HOME``, ``..`` and existing symlinks
    resolved); ``raw`` is what the action wrote. ``in_workspace`` is relative to the policy's
    workspace. ``glob`` is set when the path holds unexpanded wildcards.
    """

    op: FileOp
    path: str
    raw: str
    by: str = ""
    span: Span = (0, 0)
    in_workspace: bool = False
    glob: bool = False
    recursive: bool = False
    real: str | None = None  # the symlink-resolved path, when it differs from ``path``
    folded: str | None = None  # ``path`` case-folded from its first dot name on (fold_hidden)

    def forms(self) -> tuple[str, ...]:
        """Every spelling a path rule must consider: the lexical path, the resolved one, and the
        case-folded one (:func:`fold_hidden`)."""
        if self.folded is None:
            return (self.path,) if self.real is None else (self.path, self.real)
        return (self.path, self.folded) if self.real is None else (
            self.path, self.real, self.folded)  # fmt: skip

    def shown(self) -> FileAccess:
        """This glob listing as a listing of the directory its wildcards start in (as
        ``ls ~/.ssh`` is), for a listing whose names are only shown: ``ls ~/*`` may name
        ``~/_netrc`` but reads nothing from it."""
        path = listed_dir(self.path)
        return msgspec.structs.replace(self, path=path, glob=False, real=None,
                                       folded=fold_hidden(path))  # fmt: skip


def fold_hidden(path: str) -> str | None:
    """``path`` with everything from its first dot name on in lower case, when that differs:
    ``/home/u/.SSH/ID_RSA`` -> ``/home/u/.ssh/id_rsa``, ``/w/.CLAUDE/settings.json`` ->
    ``/w/.claude/settings.json``; ``None`` for a path without a dot name or already so.

    macOS's and Windows' default file systems ignore case: there ``~/.SSH/id_rsa`` *is* the
    key and ``.Claude/settings.json`` the agent's settings. warden judges a path in both
    spellings, on every system (on a case-sensitive one, an agent that spells a protected
    name in another case is taken at its word). Only the part from the first dot name on is
    folded: the protected names (``.ssh``, ``.aws``, ``.claude``, ``.git/hooks``, ``.env``...)
    are dot names, the home and workspace above them keep their spelling, and a path without
    one (``README.md``, ``src/Main.java``) costs nothing more."""
    at = path.find("/.")
    if at < 0:
        return None
    tail = path[at:]
    low = tail.lower()
    return None if low == tail else path[:at] + low


class NetAccess(msgspec.Struct, frozen=True, kw_only=True):
    """One network destination the action contacts."""

    direction: NetDirection
    host: str
    port: int | None = None
    scheme: str = ""
    url: str = ""
    by: str = ""
    span: Span = (0, 0)
    sends: frozenset[Origin] = frozenset()  # what the upload carries, when known


class Marker(msgspec.Struct, frozen=True, kw_only=True):
    """A named observation that is not a file, host or program.

    Names are dotted and stable, e.g. ``obfuscation.ansi-c``, ``detach.nohup``,
    ``analysis.incomplete``, ``privilege.sudo``, ``env.ld-preload``. Rules match on them.
    """

    name: str
    detail: str = ""
    span: Span = (0, 0)
    field: str = "command"


class SecretHit(msgspec.Struct, frozen=True, kw_only=True):
    """A secret found in text the action carries (a command, a file's content, a request body)."""

    kind: str  # e.g. "aws-access-key-id", "private-key", "github-token", "high-entropy"
    field: str
    span: Span
    redacted: str  # safe to print and log: a prefix and a hash, never the secret


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    """Everything analysis learned about one action."""

    execs: tuple[Exec, ...] = ()
    files: tuple[FileAccess, ...] = ()
    net: tuple[NetAccess, ...] = ()
    env_read: tuple[str, ...] = ()
    env_set: tuple[tuple[str, str], ...] = ()
    markers: tuple[Marker, ...] = ()
    secrets: tuple[SecretHit, ...] = ()

    def marker_names(self) -> frozenset[str]:
        return frozenset(m.name for m in self.markers)
