"""Codex CLI: hook payloads, tool vocabulary and ``apply_patch``.

Sources (github.com/openai/codex, ``codex-rs``, 2026):

- Hook envelope: the generated JSON Schemas in ``codex-rs/hooks/schema/generated/``
  (``pre-tool-use.command.input.schema.json`` and siblings): ``session_id``, ``turn_id``,
  ``transcript_path`` (nullable), ``cwd``, ``hook_event_name``, ``model``, ``permission_mode``,
  ``tool_name``, ``tool_input``, ``tool_use_id``; ``PostToolUse`` adds ``tool_response``;
  subagents add ``agent_id``/``agent_type``. Events are the files of that directory:
  ``PreToolUse``, ``PostToolUse``, ``PermissionRequest``, ``UserPromptSubmit``, ``SessionStart``,
  ``Stop``, ``StopFailure``, ``SubagentStart``, ``SubagentStop``, ``PreCompact``,
  ``PostCompact``. Hooks are enabled with ``[features] codex_hooks = true``.
- Tool names in hook payloads: ``codex-rs/core/src/hook_names.rs`` (``HookToolName``): shell-like
  tools are reported as ``Bash`` with ``tool_input = {"command": <string>}``; file edits as
  ``apply_patch`` with the patch text in ``tool_input.command`` (``Write``/``Edit`` are matcher
  aliases only); MCP tools keep ``mcp__<server>__<tool>`` with their JSON arguments
  (``hooks/src/events/pre_tool_use.rs``, ``command_input_json``). ``PermissionRequest`` may also
  name ``NetworkAccess`` (``permission-request.command.input.schema.json``).
- Model-facing tool names, accepted too so that transcripts and the SDK can be replayed:
  ``shell``/``local_shell``/``container.exec`` (``command`` as an argv array, ``workdir``),
  ``shell_command`` (``command`` string), ``exec_command`` (``cmd``, ``workdir``), ``write_stdin``,
  ``read_file`` (``file_path``), ``list_dir`` (``dir_path``), ``grep_files`` (``pattern``,
  ``path``), ``view_image`` (``path``), ``update_plan`` (``codex-rs/core/src/tools/handlers``).
- ``apply_patch`` envelope: see :mod:`warden.normalize.patch`. Codex also recognises a patch
  passed to the ``apply_patch`` program through a shell
  (``codex-rs/apply-patch/src/invocation.rs``); such commands stay ``SHELL`` actions and carry
  the parsed changes as well.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import shlex
from collections.abc import Iterator

from warden.action import Action, ActionKind, FileChange
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
from warden.normalize.patch import parse_apply_patch

__all__ = ["EVENTS", "TOOLS", "CodexAdapter", "patch_action", "shell_action"]

#: The events of ``codex-rs/hooks/schema/generated/``.
EVENTS: dict[str, HookKind] = {
    "PreToolUse": HookKind.PRE_TOOL,
    "PostToolUse": HookKind.POST_TOOL,
    "PermissionRequest": HookKind.PERMISSION_REQUEST,
    "UserPromptSubmit": HookKind.PROMPT_SUBMIT,
    "SessionStart": HookKind.SESSION_START,
    "Stop": HookKind.STOP,
    "StopFailure": HookKind.STOP,
    "SubagentStop": HookKind.STOP,
    "SubagentStart": HookKind.OTHER,
    "PreCompact": HookKind.OTHER,
    "PostCompact": HookKind.OTHER,
}

#: Tools that act on Codex's own state (plans, an already running process's stdin, questions to
#: the user): ``CUSTOM``, input kept.
INTERNAL_TOOLS = frozenset({"update_plan", "write_stdin", "request_user_input", "tool_search"})

_PATCH_PROGRAMS = frozenset({"apply_patch", "applypatch"})

#: ``apply_patch <<'EOF'`` opening a heredoc inside a shell script, the form Codex's invocation
#: parser extracts (optionally after ``cd DIR &&``). Matched at each occurrence of the program
#: name only, and the body is found with ``str.find``: a regex spanning the body would backtrack
#: quadratically on a command repeating the opener without a terminator.
_HEREDOC_OPENER = re.compile(r"(?:apply_patch|applypatch)[ \t]*<<-?[ \t]*(['\"]?)(\w+)\1[^\n]*\n")

#: Heredoc openers examined per command; past this the command is still judged as shell.
MAX_EMBEDDED_PATCHES = 8


def embedded_patches(script: str) -> Iterator[str]:
    """The bodies of ``apply_patch <<DELIM ... DELIM`` heredocs in ``script``, in order."""
    start = 0
    for _ in range(MAX_EMBEDDED_PATCHES):
        hits = [
            i
            for i in (script.find("apply_patch", start), script.find("applypatch", start))
            if i >= 0
        ]
        if not hits:
            return
        found = min(hits)
        opener = _HEREDOC_OPENER.match(script, found)
        if opener is None:
            start = found + len("applypatch")
            continue
        delimiter = re.escape(opener.group(2))
        closer = re.compile(rf"^[ \t]*{delimiter}[ \t]*$", re.MULTILINE).search(
            script, opener.end()
        )
        if closer is None:
            return  # unterminated: the shell would refuse it as well
        yield script[opener.end() : max(opener.end(), closer.start() - 1)]
        start = closer.end()



def _workdir(call: ToolCall) -> str | None:
    """The directory a command runs in: ``workdir`` resolved against the session cwd."""
    workdir = call.first("workdir")
    if not workdir:
        return call.cwd
    if posixpath.isabs(workdir) or not call.cwd:
        return workdir
    return posixpath.join(call.cwd, workdir)


def patch_action(call: ToolCall, text: str) -> Action:
    """A ``FILE_EDIT`` action for one ``apply_patch`` envelope."""
    try:
        changes = parse_apply_patch(text)
    except InputError as exc:
        raise InputError(f"{call.where}: {exc}") from exc
    paths = {change.path for change in changes}
    moves = any(change.move_to for change in changes)
    path = changes[0].path if len(paths) == 1 and not moves else None
    return call.action(ActionKind.FILE_EDIT, path=path, changes=changes, cwd=_workdir(call))


def shell_action(call: ToolCall, command: str, *, argv: list[str] | None = None) -> Action:
    """A ``SHELL`` action; a heredoc'd ``apply_patch`` inside it adds its file changes.

    The heredoc is looked for in the command text and, for an argv array, in each argument
    unquoted (``["bash", "-lc", "apply_patch <<'EOF' ..."]``).
    """
    f.check_identifier(command, where=call.where, key="command")
    changes: tuple[FileChange, ...] = ()
    for text in argv or [command]:
        for body in embedded_patches(text):
            # A patch Codex would refuse changes nothing; the command is still judged as shell.
            with contextlib.suppress(InputError):
                changes += parse_apply_patch(body)
    return call.action(ActionKind.SHELL, command=command, changes=changes, cwd=_workdir(call))


def _argv(call: ToolCall, key: str) -> list[str] | str:
    value = f.require(call.input, key, where=call.where)
    if isinstance(value, str):
        return value
    argv = f.get_str_list(call.input, key, where=call.where, identifier=True)
    if not argv:
        raise InputError(f"{call.where}: `{key}` must be a string or a non-empty argv array")
    return argv


def _shell(call: ToolCall) -> Action:
    """``Bash``/``shell``/``local_shell``/``container.exec``/``shell_command``."""
    command = _argv(call, "command")
    if isinstance(command, str):
        return shell_action(call, command)
    if command[0] in _PATCH_PROGRAMS and len(command) == 2:
        return patch_action(call, command[1])  # exec'd directly: the patch is the only effect
    return shell_action(call, shlex.join(command), argv=command)


def _exec_command(call: ToolCall) -> Action:
    command = _argv(call, "cmd")
    if isinstance(command, str):
        return shell_action(call, command)
    return shell_action(call, shlex.join(command), argv=command)


def _apply_patch(call: ToolCall) -> Action:
    text = call.first("command", "input", "patch", required=True)
    assert text is not None
    return patch_action(call, text)


def _read_file(call: ToolCall) -> Action:
    path = call.first("file_path", "path", required=True)
    return call.action(ActionKind.FILE_READ, path=path)


def _list_dir(call: ToolCall) -> Action:
    path = call.first("dir_path", "path", required=True)
    return call.action(ActionKind.FILE_READ, path=path)


def _grep_files(call: ToolCall) -> Action:
    path = call.first("path") or "."
    pattern = f.get_str(call.input, "pattern", where=call.where, required=True)
    return call.action(ActionKind.FILE_READ, path=path, pattern=pattern)


def _web_search(call: ToolCall) -> Action:
    query = f.get_str(call.input, "query", where=call.where, required=True)
    return call.action(ActionKind.WEB_SEARCH, query=query)


def _custom(call: ToolCall) -> Action:
    return call.action(ActionKind.CUSTOM)


TOOLS: dict[str, ToolMapper] = {
    "Bash": _shell,
    "NetworkAccess": _shell,
    "shell": _shell,
    "local_shell": _shell,
    "container.exec": _shell,
    "shell_command": _shell,
    "exec_command": _exec_command,
    "apply_patch": _apply_patch,
    "read_file": _read_file,
    "list_dir": _list_dir,
    "grep_files": _grep_files,
    "view_image": _read_file,
    "web_search": _web_search,
    **dict.fromkeys(INTERNAL_TOOLS, _custom),
}

#: Tool names that identify a Codex payload when no other field does.
TOOL_NAMES = frozenset(TOOLS) - {"Bash", "read_file", "web_search"}


class CodexAdapter(AgentAdapter):
    """Codex CLI hooks (``PreToolUse`` and friends) and its model-facing tool names."""

    source = Source.CODEX
    events = EVENTS
    tools = TOOLS

    def mcp_server(self, call: ToolCall) -> str | None:
        mcp = split_mcp_name(call.tool)
        return mcp[0] if mcp else None
