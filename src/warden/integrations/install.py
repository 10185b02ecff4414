"""Write and remove warden's hook entries in each agent's settings file.

::

    change = plan_install("claude-code", settings_file("claude-code", project="/src/app"),
                          command="/usr/local/bin/warden hook claude-code --workspace /src/app")
    print(change.diff()); change.apply()

Three shapes of warden's hook: the command ``warden hook AGENT`` (a process per event); the thin
client ``python -I -S .../warden/hookclient.py AGENT`` (:func:`client_command`), which asks a
resident ``warden serve --hooks`` over its unix socket and falls back to ``warden hook``; and,
for Claude Code only, an ``http`` hook pointing at that server (:func:`plan_install_server`).
Installing one shape replaces whichever warden entries were there; uninstalling removes all.

Installing merges warden's entries into the existing settings (every other key, hook and value
is kept in its order; the file is rewritten with its own indentation) and is idempotent: warden's
earlier entries are replaced, never duplicated. Uninstalling removes exactly the entries whose
command is warden's hook command for that agent, plus any group, event list or ``hooks`` object
that only held them. The first change to an existing file keeps a copy of the original beside
it (``settings.json.warden-backup``); writes are atomic (a temporary file renamed over the old).

Settings that are not valid JSON are refused, not overwritten: Gemini CLI reads comments in its
``settings.json``, which a JSON rewrite would lose, so a file with comments must be edited by
hand (``docs/integrations.md`` shows the entries).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warden.integrations.hooks.base import HookError

__all__ = [
    "AGENTS",
    "BACKUP_SUFFIX",
    "HOOK_TIMEOUT_SECONDS",
    "AgentSettings",
    "Change",
    "client_command",
    "is_warden_hook",
    "is_warden_http_hook",
    "plan_install",
    "plan_install_server",
    "plan_uninstall",
    "server_url",
    "settings_file",
]

#: How long an agent waits for warden's hook before it gives up on it. A decision takes well
#: under a second; the margin covers a cold start on a loaded machine. Claude Code treats a
#: timeout as a failure, which ``onFailure: "block"`` turns into a block.
HOOK_TIMEOUT_SECONDS = 30

BACKUP_SUFFIX = ".warden-backup"


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """Where an agent reads hooks from and what warden registers there."""

    #: Settings file relative to the project directory and to the home directory.
    project_file: str
    user_file: str
    #: (event, matcher or None for events without one, blocks on failure)
    events: tuple[tuple[str, str | None, bool], ...]

    #: Whether ``hooks.EVENT`` lists handlers directly (Cursor, Copilot) instead of groups.
    flat = False

    def handler(self, command: str, blocking: bool) -> dict[str, Any]:
        raise NotImplementedError


class _Claude(AgentSettings):
    def handler(self, command: str, blocking: bool) -> dict[str, Any]:
        # onFailure (Claude Code >= 2.1.295): a hook that cannot start, times out, exits with
        # a code other than 0 or 2, or prints invalid JSON blocks like exit 2 instead of being
        # a non-blocking error. Only meaningful where the event can block.
        out: dict[str, Any] = {"type": "command", "command": command,
                               "timeout": HOOK_TIMEOUT_SECONDS}  # fmt: skip
        if blocking:
            out["onFailure"] = "block"
        return out


class _Codex(AgentSettings):
    def handler(self, command: str, blocking: bool) -> dict[str, Any]:
        return {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECONDS}


class _Cursor(AgentSettings):
    #: ``hooks.EVENT`` is a list of handlers, not of matcher groups, under ``"version": 1``.
    flat = True

    def handler(self, command: str, blocking: bool) -> dict[str, Any]:
        # failClosed: a hook that crashes, times out or prints invalid output blocks instead of
        # being skipped. No `timeout`: Cursor's default applies (the unit is not documented
        # consistently, and a too-short one would turn every slow start into a block).
        out: dict[str, Any] = {"command": command}
        if blocking:
            out["failClosed"] = True
        return out


class _Copilot(AgentSettings):
    flat = True

    def handler(self, command: str, blocking: bool) -> dict[str, Any]:
        # Copilot CLI runs `bash` on Linux and macOS; `timeoutSec` is in seconds.
        return {"type": "command", "bash": command, "timeoutSec": HOOK_TIMEOUT_SECONDS}


class _Gemini(AgentSettings):
    def handler(self, command: str, blocking: bool) -> dict[str, Any]:
        # Gemini CLI's timeout is in milliseconds (hooks reference, "Hook configuration").
        return {"type": "command", "command": command, "name": "warden",
                "timeout": HOOK_TIMEOUT_SECONDS * 1000}  # fmt: skip


AGENTS: dict[str, AgentSettings] = {
    "claude-code": _Claude(
        ".claude/settings.json", ".claude/settings.json",
        (("PreToolUse", "*", True), ("PermissionRequest", "*", True),
         ("PostToolUse", "*", False), ("PostToolUseFailure", "*", False),
         ("UserPromptSubmit", None, True), ("SessionStart", None, False),
         ("SessionEnd", None, False)),
    ),
    "codex": _Codex(
        ".codex/hooks.json", ".codex/hooks.json",
        (("PreToolUse", "*", True), ("PermissionRequest", "*", True),
         ("PostToolUse", "*", False), ("UserPromptSubmit", None, True),
         ("SessionStart", None, False)),
    ),
    "gemini": _Gemini(
        ".gemini/settings.json", ".gemini/settings.json",
        (("BeforeTool", ".*", True), ("AfterTool", ".*", False),
         ("BeforeAgent", None, True), ("SessionStart", None, False),
         ("SessionEnd", None, False)),
    ),
    # preToolUse covers file writes, which no before* event does; the older specific events
    # stay for Cursor releases without it (a shell command is then judged twice, same answer).
    "cursor": _Cursor(
        ".cursor/hooks.json", ".cursor/hooks.json",
        (("preToolUse", None, True), ("beforeShellExecution", None, True),
         ("beforeMCPExecution", None, True), ("beforeReadFile", None, True),
         ("beforeSubmitPrompt", None, True), ("postToolUse", None, False),
         ("sessionStart", None, False), ("sessionEnd", None, False)),
    ),
    # The PascalCase event names select Copilot's VS Code compatible payloads, which name
    # their event (hooks reference, "Hook event input payloads"). warden owns this file.
    "copilot": _Copilot(
        ".github/hooks/warden.json", ".copilot/hooks/warden.json",
        (("PreToolUse", None, True), ("PostToolUse", None, False),
         ("PostToolUseFailure", None, False), ("UserPromptSubmit", None, False),
         ("SessionStart", None, False), ("SessionEnd", None, False)),
    ),
}


def _agent(name: str) -> AgentSettings:
    found = AGENTS.get(name)
    if found is None:
        raise HookError(f"unknown agent {name!r}; expected one of {', '.join(AGENTS)}")
    return found


def settings_file(agent: str, *, project: str | None = None, home: str | None = None) -> Path:
    """The settings file of ``agent`` for a project directory, or for the user (``home``)."""
    spec = _agent(agent)
    if project is not None:
        return Path(os.path.abspath(project)) / spec.project_file
    copilot_home = os.environ.get("COPILOT_HOME")
    if agent == "copilot" and home is None and copilot_home:  # hooks reference: $COPILOT_HOME/hooks
        return Path(copilot_home) / "hooks" / Path(spec.user_file).name
    return Path(home or os.path.expanduser("~")) / spec.user_file


def is_warden_hook(command: object, agent: str) -> bool:
    """Whether a hook ``command`` is warden's hook command for ``agent``.

    Recognised shapes: ``.../warden hook AGENT ...`` and ``PYTHON -m warden hook AGENT ...`` or
    ``PYTHON -m warden.cli.hook AGENT ...``. A command that merely mentions warden is not one.
    """
    if not isinstance(command, str):
        return False
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    if len(argv) >= 3 and os.path.basename(argv[0]) == "warden":
        return argv[1:3] == ["hook", agent]
    if len(argv) >= 4 and argv[1] == "-m":
        if argv[2] in ("warden.cli.hook", "warden.hookclient"):
            return argv[3] == agent
        return argv[2] == "warden" and argv[3:5] == ["hook", agent]
    # the thin client run as a script: PYTHON [-I] [-S] .../warden/hookclient.py AGENT
    rest = argv[1:]
    while rest and rest[0] in ("-I", "-S", "-s", "-E", "-IS", "-SI"):
        rest = rest[1:]
    if len(rest) >= 2 and rest[0].replace(os.sep, "/").endswith("/warden/hookclient.py"):
        return rest[1] == agent
    return False


def is_warden_http_hook(handler: object, agent: str) -> bool:
    """Whether an ``http`` hook entry points at warden's server for ``agent`` (on loopback)."""
    from urllib.parse import urlsplit

    if not isinstance(handler, dict) or handler.get("type") != "http":
        return False
    url = handler.get("url")
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return host in ("127.0.0.1", "::1", "localhost") and parts.path == f"{HTTP_PATH}{agent}"


#: URL path of the server's hook endpoint (``warden.integrations.hooks.serve.HTTP_PATH``).
HTTP_PATH = "/warden/hook/"


def server_url(listen: tuple[str, int], agent: str, workspace: str | None = None) -> str:
    """The URL of ``warden serve --hooks``'s endpoint for ``agent`` (and a fixed workspace)."""
    from urllib.parse import quote

    host, port = listen
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    query = f"?workspace={quote(workspace, safe='/')}" if workspace else ""
    return f"http://{netloc}{HTTP_PATH}{agent}{query}"


def client_command(python: str, agent: str, args: list[str]) -> str:
    """The thin-client hook command: stdlib only, no site packages (``warden.hookclient``)."""
    from warden import hookclient

    script = os.path.abspath(hookclient.__file__)
    return shlex.join([os.path.abspath(python), "-I", "-S", script, agent, *args])


@dataclass(frozen=True, slots=True)
class Change:
    """A planned rewrite of one settings file (``new`` is ``None``: delete the file)."""

    path: Path
    old: str | None
    new: str | None

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self) -> str:
        import difflib

        old = (self.old or "").splitlines(keepends=True)
        new = (self.new or "").splitlines(keepends=True)
        name = str(self.path)
        return "".join(difflib.unified_diff(old, new, name, name))

    def apply(self) -> None:
        """Write the change (atomically), keeping the original once as a backup."""
        if not self.changed:
            return
        backup = self.path.with_name(self.path.name + BACKUP_SUFFIX)
        if self.old is not None and not backup.exists():
            _write_atomic(backup, self.old, like=self.path)
        if self.new is None:
            self.path.unlink()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.path, self.new, like=self.path if self.path.exists() else None)


def _write_atomic(path: Path, text: str, *, like: Path | None) -> None:
    mode = (like.stat().st_mode & 0o777) if like is not None and like.exists() else 0o644
    tmp = path.with_name(f".{path.name}.warden-{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _load(path: Path) -> tuple[str | None, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}
    except (OSError, UnicodeDecodeError) as exc:
        raise HookError(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        return text, {}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HookError(
            f"{path}:{exc.lineno}: not plain JSON ({exc.msg}); warden will not rewrite it. "
            "Add the hook entries by hand (docs/integrations.md)."
        ) from exc
    if not isinstance(doc, dict):
        raise HookError(f"{path}: the settings must be a JSON object")
    return text, doc


def _indent(text: str | None) -> int | str:
    for line in (text or "").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def _dump(doc: dict[str, Any], like: str | None) -> str:
    return json.dumps(doc, indent=_indent(like), ensure_ascii=False) + "\n"


def _groups(hooks: dict[str, Any], event: str, path: Path) -> Iterator[dict[str, Any]]:
    groups = hooks.get(event)
    if groups is None:
        return
    if not isinstance(groups, list):
        raise HookError(f"{path}: hooks.{event} must be a list")
    for group in groups:
        if isinstance(group, dict):
            yield group


def _ours(handler: object, agent: str) -> bool:
    return isinstance(handler, dict) and (
        is_warden_hook(handler.get("command"), agent)
        or is_warden_hook(handler.get("bash"), agent)
        or is_warden_http_hook(handler, agent)
    )


def _remove(doc: dict[str, Any], agent: str, path: Path) -> bool:
    """Remove warden's handlers for ``agent`` (and containers left empty by that)."""
    hooks = doc.get("hooks")
    if hooks is None:
        return False
    if not isinstance(hooks, dict):
        raise HookError(f"{path}: `hooks` must be an object")
    removed = False
    flat = _agent(agent).flat
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        if flat:
            kept_handlers = [h for h in groups if not _ours(h, agent)]
            if len(kept_handlers) != len(groups):
                removed = True
                if kept_handlers:
                    hooks[event] = kept_handlers
                else:
                    del hooks[event]
            continue
        kept_groups = []
        touched = False
        for group in groups:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(handlers, list):
                kept_groups.append(group)
                continue
            kept = [h for h in handlers if not _ours(h, agent)]
            if len(kept) == len(handlers):
                kept_groups.append(group)
                continue
            touched = True
            if kept:
                kept_groups.append({**group, "hooks": kept})
        if touched:
            removed = True
            if kept_groups:
                hooks[event] = kept_groups
            else:
                del hooks[event]
    if removed and not hooks:
        del doc["hooks"]
        if flat and doc == {"version": FLAT_VERSION}:  # a hooks file without hooks is empty
            del doc["version"]
    return removed


#: The ``version`` of Cursor's ``hooks.json`` and Copilot's hook files (both document ``1``).
FLAT_VERSION = 1


def plan_install(agent: str, path: Path, command: str) -> Change:
    """The rewrite of ``path`` that registers ``command`` for every event warden handles."""
    spec = _agent(agent)
    if not is_warden_hook(command, agent):
        raise HookError(f"not a warden hook command for {agent}: {command!r}")
    return _plan(agent, path, lambda _event, blocking: spec.handler(command, blocking))


#: Events Claude Code does not send to ``http`` hooks (2.1.328 sent every other event warden
#: registers, but never ``SessionStart``: seen in ``test_claude_code_serve_e2e.py``). These
#: keep a command hook, the thin client, so the session's start is still recorded.
COMMAND_ONLY_EVENTS = frozenset({"SessionStart"})


def plan_install_server(agent: str, path: Path, url: str, token: str, command: str) -> Change:
    """The rewrite of ``path`` that points Claude Code's ``http`` hooks at ``warden serve``.

    Each entry carries the bearer token and passes ``$CLAUDE_PROJECT_DIR`` in a header (Claude
    Code interpolates only variables listed in ``allowedEnvVars``). ``onFailure: "block"`` on
    the events that can block: Claude Code treats a non-2xx answer, a refused connection and a
    timeout of an ``http`` hook as a non-blocking error otherwise, i.e. it would let the call
    through while the server is down. ``command`` (a warden hook command, normally the thin
    client) serves :data:`COMMAND_ONLY_EVENTS`.
    """
    if agent != "claude-code":
        raise HookError(f"{agent} has no http hook type; use the thin client (--client)")
    if not is_warden_http_hook({"type": "http", "url": url}, agent):
        raise HookError(f"not a loopback warden hook URL: {url!r}")
    if not is_warden_hook(command, agent):
        raise HookError(f"not a warden hook command for {agent}: {command!r}")
    spec = _agent(agent)

    def handler(event: str, blocking: bool) -> dict[str, Any]:
        if event in COMMAND_ONLY_EVENTS:
            return spec.handler(command, blocking)
        out: dict[str, Any] = {
            "type": "http", "url": url,
            "headers": {"Authorization": f"Bearer {token}",
                        "X-Warden-Project-Dir": "$CLAUDE_PROJECT_DIR"},
            "allowedEnvVars": ["CLAUDE_PROJECT_DIR"],
            "timeout": HOOK_TIMEOUT_SECONDS,
        }  # fmt: skip
        if blocking:
            out["onFailure"] = "block"
        return out

    return _plan(agent, path, handler)


def _plan(agent: str, path: Path, make: Callable[[str, bool], dict[str, Any]]) -> Change:
    spec = _agent(agent)
    old, doc = _load(path)
    _remove(doc, agent, path)
    if spec.flat:
        doc.setdefault("version", FLAT_VERSION)
    hooks = doc.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise HookError(f"{path}: `hooks` must be an object")
    for event, matcher, blocking in spec.events:
        if spec.flat:
            handlers = hooks.setdefault(event, [])
            if not isinstance(handlers, list):
                raise HookError(f"{path}: hooks.{event} must be a list")
            handlers.append(make(event, blocking))
            continue
        list(_groups(hooks, event, path))  # validates the shape
        group: dict[str, Any] = {} if matcher is None else {"matcher": matcher}
        group["hooks"] = [make(event, blocking)]
        hooks.setdefault(event, []).append(group)
    return Change(path, old, _dump(doc, old))


def plan_uninstall(agent: str, path: Path) -> Change:
    """The rewrite of ``path`` without warden's entries for ``agent`` (deleted if then empty)."""
    _agent(agent)
    old, doc = _load(path)
    if old is None or not _remove(doc, agent, path):
        return Change(path, old, old)
    return Change(path, old, None if not doc else _dump(doc, old))
