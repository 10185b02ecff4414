"""Gemini CLI: hook payloads and tool vocabulary.

Sources (google-gemini/gemini-cli, main as of August 2026):

- Hook envelope and events: ``docs/hooks/reference.md`` ("Base input schema": ``session_id``,
  ``transcript_path``, ``cwd``, ``hook_event_name``, ``timestamp``; ``BeforeTool``/``AfterTool``
  add ``tool_name``, ``tool_input``, ``mcp_context``, ``original_request_name``; ``AfterTool``
  adds ``tool_response``; ``BeforeAgent`` carries ``prompt``), and the types in
  ``packages/core/src/hooks/types.ts`` (``HookEventName``, ``McpToolContext {server_name,
  tool_name, command?, args?, cwd?, url?, tcp?}``).
- Tool names and argument names: ``packages/core/src/tools/definitions/base-declarations.ts``
  and ``model-family-sets/default-legacy.ts``: ``run_shell_command {command, description?,
  dir_path?, is_background?}``, ``read_file {file_path, start_line?, end_line?}``,
  ``read_many_files {include[], exclude?, recursive?}``, ``write_file {file_path, content}``,
  ``replace {file_path, instruction?, old_string, new_string, allow_multiple?}``,
  ``glob {pattern, dir_path?}``, ``grep_search {pattern, dir_path?, include_pattern?}``
  (``search_file_content`` is its legacy alias, ``TOOL_LEGACY_ALIASES`` in
  ``tools/tool-names.ts``), ``list_directory {dir_path}``, ``web_fetch {prompt}`` (the URLs are
  inside the prompt, ``docs/tools/web-fetch.md``), ``google_web_search {query}``. Older releases
  used ``absolute_path``, ``path``, ``directory``, ``paths`` and ``include``; those spellings are
  read too. ``save_memory {fact}`` was removed in 2026 but is still mapped, as an edit of the
  global memory file.
- MCP tools: ``mcp_<server>_<tool>`` (``tools/mcp-tool.ts``, ``MCP_TOOL_PREFIX`` and
  ``parseMcpToolName``; the server part has no ``_``). The hook's ``mcp_context.server_name``
  is authoritative when present. Older releases used ``<server>__<tool>``.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from warden.action import Action, ActionKind, ChangeOp, FileChange
from warden.errors import InputError
from warden.normalize import _fields as f
from warden.normalize.base import (
    AgentAdapter,
    HookKind,
    Source,
    ToolCall,
    ToolMapper,
    split_mcp_name,
)

__all__ = ["EVENTS", "TOOLS", "GeminiAdapter", "first_url", "mcp_server_of"]

#: ``HookEventName`` in ``packages/core/src/hooks/types.ts``.
EVENTS: dict[str, HookKind] = {
    "BeforeTool": HookKind.PRE_TOOL,
    "AfterTool": HookKind.POST_TOOL,
    "BeforeAgent": HookKind.PROMPT_SUBMIT,
    "AfterAgent": HookKind.STOP,
    "SessionStart": HookKind.SESSION_START,
    "SessionEnd": HookKind.SESSION_END,
    "Notification": HookKind.NOTIFICATION,
    "PreCompress": HookKind.OTHER,
    "BeforeModel": HookKind.OTHER,
    "AfterModel": HookKind.OTHER,
    "BeforeToolSelection": HookKind.OTHER,
}

#: Gemini CLI's own tools that change nothing outside its state: ``CUSTOM``, input kept.
INTERNAL_TOOLS = frozenset(
    {
        "write_todos",
        "ask_user",
        "activate_skill",
        "enter_plan_mode",
        "exit_plan_mode",
        "get_internal_docs",
        "complete_task",
        "update_topic",
        "invoke_agent",
        "read_mcp_resource",
        "list_mcp_resources",
    }
)

#: What ``web_fetch`` accepts as a URL in its prompt (``parsePrompt`` in ``tools/web-fetch.ts``
#: splits on whitespace and keeps ``http:``/``https:`` tokens).
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_MCP_NAME = re.compile(r"^mcp_([^_]+)_(.+)$", re.DOTALL)


def first_url(text: str) -> str | None:
    """The first ``http(s)://`` token of a ``web_fetch`` prompt."""
    match = _URL.search(text)
    return match.group(0) if match else None


#: Gemini CLI's web_fetch takes at most 20 URLs from a prompt (``web-fetch.ts``).
MAX_PROMPT_URLS = 20


def all_urls(text: str) -> tuple[str, ...]:
    """Every ``http(s)://`` token of a ``web_fetch`` prompt (bounded)."""
    found = itertools.islice(_URL.finditer(text), MAX_PROMPT_URLS * 5)
    return tuple(m.group(0) for m in found)


def mcp_server_of(name: str) -> str | None:
    """The server of a Gemini MCP tool name, in the current or the older forms."""
    claude_style = split_mcp_name(name)
    if claude_style:
        return claude_style[0]
    match = _MCP_NAME.match(name)
    if match:
        return match.group(1)
    server, sep, tool = name.partition("__")
    return server if sep and server and tool else None




def _shell(call: ToolCall) -> Action:
    f.get_bool(call.input, "is_background", where=call.where)
    command = call.require("command")
    # The command runs in dir_path, which Gemini CLI resolves against the workspace (cwd).
    workdir = call.first("dir_path", "directory")
    cwd = call.cwd
    if workdir:
        cwd = workdir if posixpath.isabs(workdir) or not cwd else posixpath.join(cwd, workdir)
    return call.action(ActionKind.SHELL, command=command, cwd=cwd)


def _read_file(call: ToolCall) -> Action:
    path = call.require("file_path", "absolute_path", "path")
    return call.action(ActionKind.FILE_READ, path=path)


def _read_many(call: ToolCall) -> Action:
    # the first include entry is `path`, the rest `paths`: every one is judged
    for key in ("include", "paths"):
        paths = f.get_str_list(call.input, key, where=call.where, identifier=True)
        if paths:
            return call.action(ActionKind.FILE_READ, path=paths[0], paths=tuple(paths[1:]))
    raise InputError(f"{call.where}: `include` must be a non-empty array of paths")


def _write_file(call: ToolCall) -> Action:
    path = call.require("file_path", "absolute_path")
    content = call.require("content", ident=False)
    return call.action(ActionKind.FILE_WRITE, path=path, content=content)


def _replace(call: ToolCall) -> Action:
    path = call.require("file_path", "absolute_path")
    change = FileChange(
        path=path,
        op=ChangeOp.UPDATE,
        old_text=call.require("old_string", ident=False),
        new_text=call.require("new_string", ident=False),
    )
    return call.action(ActionKind.FILE_EDIT, path=path, changes=(change,))


def _glob(call: ToolCall) -> Action:
    path = call.first("dir_path", "path") or "."
    return call.action(ActionKind.FILE_READ, path=path, pattern=call.require("pattern"))


def _grep(call: ToolCall) -> Action:
    path = call.first("dir_path", "path") or "."
    call.first("include_pattern", "include")
    pattern = call.require("pattern", ident=False)
    return call.action(ActionKind.FILE_READ, path=path, pattern=pattern)


def _list_directory(call: ToolCall) -> Action:
    return call.action(ActionKind.FILE_READ, path=call.require("dir_path", "path"))


def _web_fetch(call: ToolCall) -> Action:
    url = call.first("url")
    rest: tuple[str, ...] = ()
    if url is None:
        found = all_urls(call.require("prompt", ident=False))
        for each in found:
            f.check_identifier(each, where=call.where, key="prompt")
        url, rest = (found[0], found[1:]) if found else (None, ())
    if url is None:
        # Gemini CLI refuses a prompt without a URL; nothing would be fetched.
        return call.action(ActionKind.CUSTOM)
    return call.action(ActionKind.HTTP, url=url, urls=rest, method="GET")


def _web_search(call: ToolCall) -> Action:
    return call.action(ActionKind.WEB_SEARCH, query=call.require("query", ident=False))


#: Where ``save_memory`` appended its fact (``memoryTool.ts`` before its removal: the global
#: ``GEMINI.md`` under "## Gemini Added Memories"). Every later session loads this file into the
#: model's context, so the fact is judged as an edit of it, not waved through as internal.
MEMORY_FILE = "~/.gemini/GEMINI.md"


def _save_memory(call: ToolCall) -> Action:
    fact = call.require("fact", ident=False)
    change = FileChange(path=MEMORY_FILE, op=ChangeOp.UPDATE, new_text=f"- {fact}\n")
    return call.action(ActionKind.FILE_EDIT, path=MEMORY_FILE, changes=(change,))


def _custom(call: ToolCall) -> Action:
    return call.action(ActionKind.CUSTOM)


TOOLS: dict[str, ToolMapper] = {
    "run_shell_command": _shell,
    "read_file": _read_file,
    "read_many_files": _read_many,
    "write_file": _write_file,
    "replace": _replace,
    "glob": _glob,
    "grep_search": _grep,
    "search_file_content": _grep,
    "grep": _grep,
    "list_directory": _list_directory,
    "web_fetch": _web_fetch,
    "google_web_search": _web_search,
    "save_memory": _save_memory,
    **dict.fromkeys(INTERNAL_TOOLS, _custom),
}

#: Tool names that identify a Gemini CLI payload when no other field does.
TOOL_NAMES = frozenset(TOOLS) - {"read_file", "grep"}


class GeminiAdapter(AgentAdapter):
    """Gemini CLI hooks (``BeforeTool`` and friends)."""

    source = Source.GEMINI
    events = EVENTS
    tools = TOOLS

    def timestamp(self, payload: Mapping[str, Any]) -> float | None:
        where = "gemini payload"
        text = f.get_str(payload, "timestamp", where=where)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:  # the reference says ISO 8601; read a bare time as UTC
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
        except (ValueError, OverflowError, OSError) as exc:
            raise InputError(f"{where}: `timestamp` {text[:40]!r} is not ISO 8601") from exc

    def tool_call(self, payload: Mapping[str, Any]) -> ToolCall:
        call = super().tool_call(payload)
        context = payload.get("mcp_context")
        if context is None:
            return call
        if not isinstance(context, Mapping):
            raise InputError(
                f"gemini payload: `mcp_context` must be an object, not {f.type_name(context)}"
            )
        server = f.get_str(context, "server_name", where="gemini mcp_context", identifier=True)
        return msgspec.structs.replace(call, mcp_server=server or None)

    def mcp_server(self, call: ToolCall) -> str | None:
        # The envelope's mcp_context is authoritative; the name is parsed only without it, and
        # never for a built-in tool.
        if call.mcp_server:
            return call.mcp_server
        return mcp_server_of(call.tool)

    def tool_action(self, call: ToolCall) -> Action:
        if call.mcp_server:
            return call.action(ActionKind.MCP, mcp_server=call.mcp_server)
        return super().tool_action(call)
