"""Codex ``apply_patch`` envelopes, parsed into :class:`~warden.action.FileChange` entries.

The format is Codex's own, specified by the Lark grammar quoted at the top of
``codex-rs/apply-patch/src/parser.rs`` (github.com/openai/codex)::

    start: begin_patch hunk+ end_patch
    begin_patch: "*** Begin Patch" LF
    end_patch: "*** End Patch" LF?
    hunk: add_hunk | delete_hunk | update_hunk
    add_hunk: "*** Add File: " filename LF add_line+
    delete_hunk: "*** Delete File: " filename LF
    update_hunk: "*** Update File: " filename LF change_move? change?
    change_move: "*** Move to: " filename LF
    change: (change_context | change_line)+ eof_line?
    change_context: ("@@" | "@@ " /(.+)/) LF
    change_line: ("+" | "-" | " ") /(.+)/ LF
    eof_line: "*** End of File" LF

This parser follows Codex's *lenient* reading, so that it sees every file Codex would touch:
whitespace around the markers is ignored, a patch wrapped in a ``<<'EOF'`` ... ``EOF`` heredoc is
unwrapped, lines split on ``\\n`` only (a trailing ``\\r`` dropped), and the first chunk of an
update may omit its ``@@``. Where Codex would refuse a patch (missing ``*** End Patch``, a hunk
line before any file header, an empty update) this refuses it too, with
:class:`~warden.errors.InputError`. Paths are kept exactly as written, ``../../etc/passwd``
included: judging them is the engine's job.

Each hunk becomes one change: ``ADD`` with the new file as ``new_text``; ``DELETE``; ``UPDATE``
(or ``MOVE`` with ``move_to``) with the removed-plus-context lines as ``old_text`` and the
added-plus-context lines as ``new_text``, the same convention as Claude Code's ``Edit``.
"""

from __future__ import annotations

from warden.action import ChangeOp, FileChange
from warden.errors import InputError

__all__ = ["looks_like_patch", "parse_apply_patch"]

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
END_OF_FILE = "*** End of File"
CONTEXT = "@@ "
EMPTY_CONTEXT = "@@"

#: Rust's ``char::is_whitespace`` (the Unicode White_Space property), which Codex's ``trim()``
#: uses. Python's ``str.strip()`` also strips U+001C..U+001F; using it would make a path read here
#: differ from the path Codex writes.
_RUST_WS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_HEREDOC_OPENERS = ("<<EOF", "<<'EOF'", '<<"EOF"')


def looks_like_patch(text: str) -> bool:
    """Whether ``text`` starts like an apply_patch envelope (possibly inside a heredoc)."""
    head = text.strip(_RUST_WS)
    if head.startswith(_HEREDOC_OPENERS):
        head = head.split("\n", 1)[1].strip(_RUST_WS) if "\n" in head else ""
    return head.startswith(BEGIN)


def parse_apply_patch(text: str) -> tuple[FileChange, ...]:
    """Parse one envelope into the file changes it makes, in patch order."""
    if not isinstance(text, str):
        raise InputError(f"apply_patch: the patch must be a string, not {type(text).__name__}")
    lines = _lines(text.strip(_RUST_WS))
    body = _body(lines)
    changes: list[FileChange] = []
    i = 0
    while i < len(body):
        change, used = _hunk(body, i)
        changes.append(change)
        i += used
    if not changes:
        raise InputError("apply_patch: the patch changes no file")
    return tuple(changes)


def _lines(text: str) -> list[str]:
    """Split like Rust's ``str::lines``: on ``\\n``, dropping one trailing ``\\r``."""
    if not text:
        return []
    out = text.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in out]


def _body(lines: list[str]) -> list[tuple[int, str]]:
    """The hunk lines with their 1-based line numbers, after checking the envelope markers."""
    numbered = list(enumerate(lines, start=1))
    try:
        return _strict_body(numbered)
    except InputError as first:
        # Codex's lenient mode: the model passed a heredoc literally (<<'EOF' ... EOF).
        if len(lines) >= 4 and lines[0] in _HEREDOC_OPENERS and lines[-1].endswith("EOF"):
            return _strict_body(numbered[1:-1])
        raise first from None


def _strict_body(numbered: list[tuple[int, str]]) -> list[tuple[int, str]]:
    if not numbered or numbered[0][1].strip(_RUST_WS) != BEGIN:
        raise InputError(f"apply_patch: the first line must be {BEGIN!r}")
    if len(numbered) < 2 or numbered[-1][1].strip(_RUST_WS) != END:
        raise InputError(f"apply_patch: the last line must be {END!r} (is the patch truncated?)")
    return numbered[1:-1]


def _path(value: str, *, line: int, marker: str) -> str:
    if not value:
        raise InputError(f"apply_patch line {line}: {marker.strip()!r} names no path")
    if "\x00" in value:
        raise InputError(f"apply_patch line {line}: the path contains a NUL byte")
    return value


def _hunk(body: list[tuple[int, str]], start: int) -> tuple[FileChange, int]:
    """Parse the hunk at ``body[start]``; return it and the number of lines it used."""
    number, raw = body[start]
    header = raw.strip(_RUST_WS)
    for marker in (ADD, DELETE, UPDATE):
        if header == marker.rstrip():
            raise InputError(f"apply_patch line {number}: {header!r} names no path")
    if header.startswith(ADD):
        path = _path(header[len(ADD) :], line=number, marker=ADD)
        content: list[str] = []
        i = start + 1
        while i < len(body) and body[i][1].startswith("+"):
            content.append(body[i][1][1:] + "\n")
            i += 1
        change = FileChange(path=path, op=ChangeOp.ADD, new_text="".join(content))
        return change, i - start
    if header.startswith(DELETE):
        path = _path(header[len(DELETE) :], line=number, marker=DELETE)
        return FileChange(path=path, op=ChangeOp.DELETE), 1
    if header.startswith(UPDATE):
        return _update(body, start, _path(header[len(UPDATE) :], line=number, marker=UPDATE))
    raise InputError(
        f"apply_patch line {number}: {_clip(raw)!r} is not a file header; expected "
        f"{ADD.strip()!r}, {DELETE.strip()!r} or {UPDATE.strip()!r}"
    )


def _update(body: list[tuple[int, str]], start: int, path: str) -> tuple[FileChange, int]:
    i = start + 1
    move_to = None
    if i < len(body) and body[i][1].startswith(MOVE):
        move_to = _path(body[i][1][len(MOVE) :], line=body[i][0], marker=MOVE)
        i += 1
    old: list[str] = []
    new: list[str] = []
    chunks = 0
    while i < len(body):
        line = body[i][1]
        if not line.strip(_RUST_WS):
            i += 1  # blank lines may separate chunks
            continue
        if line.startswith("*"):
            break  # the next file header (or End of File handled in the chunk)
        i = _chunk(body, i, first=chunks == 0, old=old, new=new)
        chunks += 1
    if chunks == 0:
        raise InputError(
            f"apply_patch line {body[start][0]}: the update of {path!r} changes nothing"
        )
    change = FileChange(
        path=path,
        op=ChangeOp.MOVE if move_to else ChangeOp.UPDATE,
        old_text="".join(old),
        new_text="".join(new),
        move_to=move_to,
    )
    return change, i - start


def _chunk(
    body: list[tuple[int, str]], i: int, *, first: bool, old: list[str], new: list[str]
) -> int:
    """Parse one ``@@`` chunk from ``body[i]``, appending its lines; return the next index."""
    number, line = body[i]
    if line == EMPTY_CONTEXT or line.startswith(CONTEXT):
        i += 1
    elif not first:
        raise InputError(
            f"apply_patch line {number}: expected a '@@' chunk header, got {_clip(line)!r}"
        )
    parsed = 0
    while i < len(body):
        number, line = body[i]
        if line == END_OF_FILE:
            if parsed == 0:
                break
            return i + 1
        if line == "":
            old.append("\n")
            new.append("\n")
        elif line[0] == " ":
            old.append(line[1:] + "\n")
            new.append(line[1:] + "\n")
        elif line[0] == "+":
            new.append(line[1:] + "\n")
        elif line[0] == "-":
            old.append(line[1:] + "\n")
        else:
            if parsed == 0:
                raise InputError(
                    f"apply_patch line {number}: {_clip(line)!r} is not a chunk line; each "
                    "starts with ' ' (context), '+' (added) or '-' (removed)"
                )
            return i  # the start of the next chunk or hunk
        parsed += 1
        i += 1
    if parsed == 0:
        where = body[i][0] if i < len(body) else number
        raise InputError(f"apply_patch line {where}: a chunk has no lines")
    return i


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
