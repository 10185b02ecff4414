"""From an MCP ``tools/call`` to warden's actions: what the call would touch, per known tool.

An MCP tool is an opaque name with JSON arguments; the engine judges files, commands and URLs.
The table :data:`KNOWN_TOOLS` says, for the tools of well-known servers, which argument is what:

- the reference filesystem server ``@modelcontextprotocol/server-filesystem`` (its README and
  ``index.ts``, version 2026.8.31): ``read_file``/``read_text_file``/``read_media_file``
  ``{path}``, ``read_multiple_files {paths}``, ``write_file {path, content}``,
  ``edit_file {path, edits: [{oldText, newText}]}``, ``create_directory {path}``,
  ``list_directory``/``list_directory_with_sizes``/``directory_tree {path}``,
  ``move_file {source, destination}``, ``search_files {path, pattern}``,
  ``get_file_info {path}``;
- the reference fetch server ``mcp-server-fetch``: ``fetch {url}``;
- shell and exec tools of many servers (``run_command``, ``execute_command``, ``shell``,
  ``bash``, ``exec``...): ``{command}`` as a string or an argv array.

Anything else goes through :func:`generic_actions`, which looks for path-like, URL-like and
command-like arguments by key and by shape. A call maps to one or more actions; the proxy
judges them together and the strongest verdict wins, so a tool that both runs a command and
writes a file is judged on both. The original arguments stay in every action's ``input``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from typing import Any

from warden.action import COMMAND_KEYS, Action, ActionKind, ChangeOp, FileChange
from warden.errors import InputError
from warden.normalize import _fields as f

__all__ = [
    "KNOWN_TOOLS",
    "CallContext",
    "generic_actions",
    "map_call",
    "map_resource_read",
    "mcp_tool_name",
]

#: Arguments examined by the generic mapping (bounds the work on a hostile call).
MAX_GENERIC_STRINGS = 256
#: Longest resource URI judged (a URL this long is not a real resource; refused, not cut).
MAX_URI_CHARS = 8192

#: Argument keys whose string value is a command line (or an argv array).
_COMMAND_KEYS = frozenset(COMMAND_KEYS)
#: Argument keys whose string value names a file or directory.
_PATH_KEYS = frozenset({"path", "paths", "file", "files", "filename", "file_path", "filepath",
                        "dir", "directory", "source", "destination", "target", "src", "dst",
                        "repo_path", "cwd", "root"})  # fmt: skip
#: Argument keys whose string value is a URL.
_URL_KEYS = frozenset({"url", "urls", "uri", "endpoint", "href", "link", "webhook"})
#: Tool-name words that mean the tool changes what it names.
_WRITE_WORDS = ("write", "edit", "create", "move", "rename", "delete", "remove", "save", "put",
                "append", "upload", "mkdir", "patch")  # fmt: skip


class CallContext:
    """What every action of one call carries besides its arguments."""

    __slots__ = ("agent", "cwd", "server", "session_id", "tool_use_id")

    def __init__(self, *, server: str, cwd: str | None = None, session_id: str | None = None,
                 tool_use_id: str | None = None, agent: str | None = None) -> None:  # fmt: skip
        self.server = server
        self.cwd = cwd
        self.session_id = session_id
        self.tool_use_id = tool_use_id
        self.agent = agent


def mcp_tool_name(server: str, tool: str) -> str:
    """The name an agent knows the tool by (``mcp__server__tool``, as Claude Code and Codex
    build it), so policy rules and hook records name MCP tools the same way."""
    return f"mcp__{server}__{tool}"


class _Call:
    """One call being mapped: the tool, its cleaned arguments, and an action factory."""

    def __init__(self, tool: str, args: dict[str, Any], ctx: CallContext) -> None:
        self.tool = tool
        self.args = args
        self.ctx = ctx
        self.where = f"mcp tools/call {tool} arguments"

    def s(self, key: str, *, required: bool = True) -> str | None:
        value = f.get_str(self.args, key, where=self.where, required=required, identifier=True)
        return _file_url_path(value) if value is not None else None

    def req(self, key: str) -> str:
        value = self.s(key)
        assert value is not None  # required
        return value

    def action(self, kind: ActionKind, **fields: Any) -> Action:
        try:
            cwd = fields.pop("cwd", None) or self.ctx.cwd
            return Action(kind=kind, tool=mcp_tool_name(self.ctx.server, self.tool),
                          input=self.args, mcp_server=self.ctx.server, cwd=cwd,
                          session_id=self.ctx.session_id, tool_use_id=self.ctx.tool_use_id,
                          agent=self.ctx.agent, source="mcp", **fields)  # fmt: skip
        except (ValueError, TypeError) as exc:
            raise InputError(f"{self.where}: {exc}") from exc


_Mapper = Callable[[_Call], list[Action]]


def _read(c: _Call) -> list[Action]:
    return [c.action(ActionKind.FILE_READ, path=c.req("path"))]


def _is_file_url(value: str) -> bool:
    """Any spelling of the ``file:`` scheme: ``file:///p``, ``FILE://localhost/p``, and the
    one-slash ``file:/p`` that URL parsers (and so servers) accept as well."""
    return value.lstrip()[:5].lower() == "file:"


def _file_url_path(value: str) -> str:
    """``file:///home/u/.ssh/id_rsa`` -> ``/home/u/.ssh/id_rsa``: some servers take file URLs
    where a path is expected, and the engine's path rules must see the path (percent-escapes
    decoded, so ``%2Essh`` is ``.ssh``)."""
    if not _is_file_url(value):
        return value
    from urllib.parse import unquote, urlsplit

    path = unquote(urlsplit(value.strip()).path)
    if "\x00" in path:
        raise InputError("a file URL decodes to a path with a NUL byte")
    return path or "/"


def _read_many(c: _Call) -> list[Action]:
    paths = f.get_str_list(c.args, "paths", where=c.where, identifier=True)
    if not paths:
        raise InputError(f"{c.where}: `paths` must be a non-empty array of strings")
    paths = [_file_url_path(p) for p in paths]
    return [c.action(ActionKind.FILE_READ, path=paths[0], paths=tuple(paths[1:]))]


def _search(c: _Call) -> list[Action]:
    pattern = f.get_str(c.args, "pattern", where=c.where)
    return [c.action(ActionKind.FILE_READ, path=c.req("path"), pattern=pattern)]


def _write(c: _Call) -> list[Action]:
    content = f.get_str(c.args, "content", where=c.where)
    return [c.action(ActionKind.FILE_WRITE, path=c.req("path"), content=content)]


def _mkdir(c: _Call) -> list[Action]:
    return [c.action(ActionKind.FILE_WRITE, path=c.req("path"))]


def _edit(c: _Call) -> list[Action]:
    path = c.req("path")
    edits = c.args.get("edits")
    if not isinstance(edits, list) or not edits:
        raise InputError(f"{c.where}: `edits` must be a non-empty array")
    changes = []
    for i, edit in enumerate(edits):
        where = f"{c.where} edits[{i}]"
        if not isinstance(edit, dict):
            raise InputError(f"{where}: must be an object, not {f.type_name(edit)}")
        old = f.get_str(edit, "oldText", where=where)
        new = f.get_str(edit, "newText", where=where)
        changes.append(FileChange(path=path, op=ChangeOp.UPDATE, old_text=old, new_text=new))
    return [c.action(ActionKind.FILE_EDIT, path=path, changes=tuple(changes))]


def _move(c: _Call) -> list[Action]:
    source, destination = c.req("source"), c.req("destination")
    change = FileChange(path=source, op=ChangeOp.MOVE, move_to=destination)
    return [c.action(ActionKind.FILE_EDIT, path=source, changes=(change,))]


#: Argument keys that carry a request body (an upload when the method sends one).
_BODY_KEYS = ("body", "data", "payload", "json", "content")


def _http_method_body(args: dict[str, Any], default: str) -> tuple[str, str | None]:
    """The method and body a fetch-like call asks for: ``method`` if it is a word, else
    ``default`` (``POST`` when a body is given); a non-string body is judged as its JSON."""
    import json

    method = args.get("method")
    body: str | None = None
    for key in _BODY_KEYS:
        value = args.get(key)
        if value is not None:
            body = value if isinstance(value, str) else json.dumps(value, default=str)
            break
    if isinstance(method, str) and method.isalpha() and len(method) <= 16:
        return method.upper(), body
    return ("POST" if body else default), body


def _fetch(c: _Call) -> list[Action]:
    method, body = _http_method_body(c.args, "GET")
    return [c.action(ActionKind.HTTP, url=c.req("url"), method=method, body=body)]


def _command_text(c: _Call, value: Any, key: str) -> str:
    if isinstance(value, str):
        f.check_identifier(value, where=c.where, key=key)
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        for i, item in enumerate(value):
            f.check_identifier(item, where=c.where, key=f"{key}[{i}]")
        return shlex.join(value)
    raise InputError(f"{c.where}: `{key}` must be a string or an array of strings")


#: Keys under which shell tools take the program's arguments, apart from the command.
_ARGV_KEYS = ("args", "arguments", "argv")


def _shell(c: _Call) -> list[Action]:
    for key in ("command", "cmd", "script"):
        if key in c.args:
            command = _command_text(c, c.args[key], key)
            for args_key in _ARGV_KEYS:
                command = _with_arguments(c, command, args_key)
            cwd = f.get_str(c.args, "cwd", where=c.where, identifier=True)
            return [c.action(ActionKind.SHELL, command=command, **({"cwd": cwd} if cwd else {}))]
    return generic_actions(c.tool, c.args, c.ctx)


def _with_arguments(c: _Call, command: str, key: str) -> str:
    """``command`` followed by the arguments under ``key`` (``{"command": "bash",
    "arguments": ["-c", "cat ~/.aws/credentials"]}`` runs that code): strings and numbers
    quoted as words; an array holding anything else is refused, never dropped (dropping one
    non-string item once left ``cat`` judged without its file)."""
    argv = c.args.get(key)
    if not isinstance(argv, list):
        return command
    words = []
    for i, item in enumerate(argv):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise InputError(f"{c.where}: `{key}[{i}]` must be a string or a number")
        text = str(item)
        f.check_identifier(text, where=c.where, key=f"{key}[{i}]")
        words.append(shlex.quote(text))
    return " ".join([command, *words]) if words else command


#: Tool name -> mapper. Names are matched exactly; a tool of an unknown server that happens to
#: share a name is mapped the same way, and a call whose arguments do not fit is refused as
#: invalid input (deny) rather than guessed at.
KNOWN_TOOLS: dict[str, _Mapper] = {
    # @modelcontextprotocol/server-filesystem
    "read_file": _read,
    "read_text_file": _read,
    "read_media_file": _read,
    "read_multiple_files": _read_many,
    "write_file": _write,
    "edit_file": _edit,
    "create_directory": _mkdir,
    "list_directory": _read,
    "list_directory_with_sizes": _read,
    "directory_tree": _read,
    "move_file": _move,
    "search_files": _search,
    "get_file_info": _read,
    # mcp-server-fetch
    "fetch": _fetch,
    # shell / exec tools
    "run_command": _shell,
    "execute_command": _shell,
    "run_shell_command": _shell,
    "shell": _shell,
    "shell_exec": _shell,
    "bash": _shell,
    "exec": _shell,
    "execute": _shell,
    "run": _shell,
    "terminal": _shell,
}


def _strings(value: Any, key: str, budget: list[int], depth: int = 0) -> Iterator[tuple[str, Any]]:
    if budget[0] <= 0 or depth > 8:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k), budget, depth + 1)
    elif isinstance(value, list):
        if key.lower() in _COMMAND_KEYS and value and all(isinstance(v, str) for v in value):
            budget[0] -= 1
            yield key, value
            return
        for v in value:
            yield from _strings(v, key, budget, depth + 1)
    elif isinstance(value, str):
        budget[0] -= 1
        yield key, value


def _looks_like_path(value: str) -> bool:
    return (
        len(value) < 4096
        and "\n" not in value
        and (value.startswith(("/", "~/", "./", "../")) or value in ("~", ".", ".."))
    )


def generic_actions(tool: str, args: dict[str, Any], ctx: CallContext) -> list[Action]:
    """Actions for a tool warden has no table entry for.

    Always one ``MCP`` action carrying the arguments (the engine lifts path- and URL-shaped
    arguments out of it and scans them for secrets); and, for each argument that is clearly a
    command (a command-like key), a path (a path-like key or an absolute/home path) or a URL
    (a URL-like key or an ``http(s)://`` value), a typed action of its own, so that the same rules
    that judge a shell command or a file read judge it here. A tool name with a write word
    (``write``, ``delete``, ``move``...) makes its paths writes.
    """
    c = _Call(tool, args, ctx)
    out = [c.action(ActionKind.MCP)]
    writes = any(w in tool.lower() for w in _WRITE_WORDS)
    budget = [MAX_GENERIC_STRINGS]
    for key, value in _strings(args, "", budget):
        low = key.lower()
        if low in _COMMAND_KEYS:
            command = _command_text(c, value, key)
            if command.strip():
                out.append(c.action(ActionKind.SHELL, command=command))
            continue
        assert isinstance(value, str)
        if "\x00" in value:
            raise InputError(f"{c.where}: `{key}` contains a NUL byte")
        if _is_file_url(value):  # a file, whatever the key (`uri` included)
            value = _file_url_path(value)
            low = "path"
        elif low in _URL_KEYS or value.startswith(("http://", "https://", "ftp://")):
            if "://" in value[:16]:
                method, body = _http_method_body(args, "POST" if writes else "GET")
                out.append(c.action(ActionKind.HTTP, url=value, method=method, body=body))
            continue
        if value and (low in _PATH_KEYS or _looks_like_path(value)) and len(value) < 4096:
            kind = ActionKind.FILE_WRITE if writes else ActionKind.FILE_READ
            out.append(c.action(kind, path=value))
    if budget[0] <= 0:
        raise InputError(f"{c.where}: more than {MAX_GENERIC_STRINGS} string arguments; "
                         "too many to judge")  # fmt: skip
    return out


def map_resource_read(uri: Any, ctx: CallContext) -> list[Action]:
    """The actions of a ``resources/read``: the URI is what the server will open, so a
    ``file://`` URI is judged as a file read and an ``http(s)://`` one as a fetch, like the same
    argument of a tool (the action's tool is ``mcp__SERVER__resources/read``)."""
    if not isinstance(uri, str) or not uri:
        raise InputError("mcp resources/read: `uri` must be a non-empty string")
    if len(uri) > MAX_URI_CHARS or "\x00" in uri:
        raise InputError("mcp resources/read: `uri` is too long or contains a NUL byte")
    return generic_actions("resources/read", {"uri": uri}, ctx)


def map_call(tool: str, args: Any, ctx: CallContext) -> list[Action]:
    """The actions of one ``tools/call``; :class:`InputError` when its arguments are malformed."""
    where = f"mcp tools/call {tool}"
    f.check_identifier(tool, where=where, key="name")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InputError(f"{where}: `arguments` must be an object, not {f.type_name(args)}")
    clean = f.clean_object(args, where=f"{where} arguments")
    mapper = KNOWN_TOOLS.get(tool)
    if mapper is None:
        return generic_actions(tool, clean, ctx)
    return mapper(_Call(tool, clean, ctx))
