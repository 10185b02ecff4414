"""The action model: one typed, versioned description of what an agent wants to do.

Whatever the source (a Claude Code hook, a Codex ``apply_patch``, an MCP ``tools/call``, the SDK),
an action is normalised into an :class:`Action` before anything judges it. Actions are frozen and
validated on construction: an action that names no command, path or URL for its kind cannot be
built. ``Action.from_json`` is the named constructor for untrusted bytes.

The JSON Schema of this model is exported by :func:`action_json_schema` and shipped as
``schemas/action.schema.json`` (see ``warden schema action``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from warden.errors import InputError

__all__ = [
    "ACTION_SCHEMA_VERSION",
    "COMMAND_KEYS",
    "MAX_ACTION_BYTES",
    "Action",
    "ActionKind",
    "ChangeOp",
    "FileChange",
    "action_json_schema",
]

ACTION_SCHEMA_VERSION = 1

#: Largest serialised action accepted (bytes). A 10 MB command is legal input and must get a
#: decision; past this bound the input is refused as invalid rather than parsed at length.
MAX_ACTION_BYTES = 64 * 1024 * 1024

#: Argument keys under which MCP and custom tools take a command line (a string or an argv
#: array): the MCP proxy's mapping and the check of a generic tool call both read these.
COMMAND_KEYS = ("command", "cmd", "commandline", "command_line", "shell_command", "bash_command",
                "script")  # fmt: skip


class ActionKind(StrEnum):
    """What sort of thing the action does; decides which fields must be present."""

    SHELL = "shell"
    FILE_READ = "file_read"
    FILE_WRITE = "file_write"
    FILE_EDIT = "file_edit"
    HTTP = "http"
    WEB_SEARCH = "web_search"
    MCP = "mcp"
    CUSTOM = "custom"


class ChangeOp(StrEnum):
    """One file's part in an edit or patch."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    MOVE = "move"


class FileChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One file touched by an edit or patch (Claude Code ``Edit``, Codex ``apply_patch``)."""

    path: str
    op: ChangeOp = ChangeOp.UPDATE
    old_text: str | None = None
    new_text: str | None = None
    move_to: str | None = None

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("a file change needs a path")
        if self.op is ChangeOp.MOVE and not self.move_to:
            raise ValueError("a move needs move_to")


_REQUIRED: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.SHELL: ("command",),
    ActionKind.FILE_READ: ("path",),
    ActionKind.FILE_WRITE: ("path",),
    ActionKind.FILE_EDIT: (),  # path or changes, checked below
    ActionKind.HTTP: ("url",),
    ActionKind.WEB_SEARCH: ("query",),
    ActionKind.MCP: (),
    ActionKind.CUSTOM: (),
}


class Action(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An agent's intended action, in warden's vocabulary.

    ``tool`` is the name the agent used (``Bash``, ``apply_patch``, ``mcp__fs__read_file``);
    ``kind`` is what warden understood it to be. ``input`` keeps the original arguments so that
    nothing the agent sent is lost, and tool-specific fields are lifted into the typed fields.
    """

    kind: ActionKind
    tool: str = ""
    input: dict[str, Any] = msgspec.field(default_factory=dict)
    # kind-specific fields
    command: str | None = None
    path: str | None = None
    content: str | None = None
    changes: tuple[FileChange, ...] = ()
    pattern: str | None = None
    paths: tuple[str, ...] = ()  # further paths of multi-file tools (Gemini read_many_files)
    url: str | None = None
    urls: tuple[str, ...] = ()  # further URLs of multi-URL tools (Gemini web_fetch prompts)
    method: str | None = None
    body: str | None = None
    query: str | None = None
    mcp_server: str | None = None
    # context
    cwd: str | None = None
    agent: str | None = None
    session_id: str | None = None
    tool_use_id: str | None = None
    task: str | None = None
    time: float | None = None
    source: str = "warden"
    v: int = ACTION_SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.v != ACTION_SCHEMA_VERSION:
            raise ValueError(f"unsupported action schema version {self.v}")
        for name in _REQUIRED[self.kind]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind.value} action needs `{name}`")
        if self.kind is ActionKind.FILE_EDIT and self.path is None and not self.changes:
            raise ValueError("a file_edit action needs `path` or `changes`")

    @classmethod
    def from_json(cls, data: bytes | str) -> Action:
        """Parse warden's own action JSON, refusing anything malformed with :class:`InputError`."""
        if len(data) > MAX_ACTION_BYTES:
            raise InputError(f"action is {len(data)} bytes; the limit is {MAX_ACTION_BYTES}")
        try:
            return msgspec.json.decode(data, type=cls)
        except msgspec.ValidationError as exc:
            raise InputError(f"invalid action: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise InputError(f"invalid JSON: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"input is not valid UTF-8: {exc.reason}") from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Action:
        """Build an action from an already-decoded mapping, with the same validation."""
        try:
            return msgspec.convert(data, type=cls)
        except msgspec.ValidationError as exc:
            raise InputError(f"invalid action: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping without defaulted fields."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    def touched_paths(self) -> tuple[str, ...]:
        """Every path the action names directly (not those a shell command names)."""
        paths = [self.path] if self.path else []
        paths.extend(self.paths)
        for change in self.changes:
            paths.append(change.path)
            if change.move_to:
                paths.append(change.move_to)
        return tuple(paths)


def action_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :class:`Action`."""
    schema: dict[str, Any] = msgspec.json.schema(Action)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "warden action"
    return schema
