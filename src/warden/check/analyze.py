"""Lift any :class:`~warden.action.Action` into :class:`~warden.check.facts.Facts`.

Shell commands go through the shell walker; file, edit, HTTP, search, MCP and custom actions map
their typed fields onto the same facts, so one rule about ``~/.ssh/id_*`` covers ``cat``,
Claude Code's ``Read``, an MCP filesystem server and a Codex patch alike. Text the action carries
(commands, written content, request bodies, queries, tool arguments) is scanned for secrets and
for invisible or confusable characters.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from warden.action import COMMAND_KEYS, Action, ActionKind, ChangeOp
from warden.check.facts import (
    Facts,
    FileAccess,
    FileOp,
    Marker,
    NetAccess,
    NetDirection,
    Origin,
    SecretHit,
    Span,
    fold_hidden,
)
from warden.check.paths import PathContext, is_within, normalize, resolve
from warden.check.planted import runs_at_startup, settings_tool
from warden.check.shell.netloc import parse_target

if TYPE_CHECKING:
    from warden.check.secrets import SecretScan

__all__ = ["PRIMARY_FIELD", "analyze", "primary_field", "primary_text"]

#: Tool arguments of MCP and custom tools scanned per action (keeps huge payloads bounded).
MAX_ARG_STRINGS = 512

_UPLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})


#: The action field that evidence spans refer to, per kind ("input" for the others).
PRIMARY_FIELD: dict[ActionKind, str] = {
    ActionKind.SHELL: "command",
    ActionKind.FILE_READ: "path",
    ActionKind.FILE_WRITE: "path",
    ActionKind.FILE_EDIT: "path",
    ActionKind.HTTP: "url",
    ActionKind.WEB_SEARCH: "query",
}


def primary_field(action: Action) -> str:
    """The action field that evidence spans refer to."""
    return PRIMARY_FIELD.get(action.kind, "input")


#: Enum members bound once: a class attribute lookup on an enum runs a Python-level descriptor
#: on 3.11 (about a microsecond, measured with callgrind), and these tests run on every action.
_SHELL = ActionKind.SHELL
_FILE_KINDS = frozenset({ActionKind.FILE_READ, ActionKind.FILE_WRITE, ActionKind.FILE_EDIT})
_HTTP = ActionKind.HTTP
_WEB_SEARCH = ActionKind.WEB_SEARCH


def primary_text(action: Action) -> str:
    """The action's main text: the command, path, URL or query; tool input as JSON otherwise."""
    kind = action.kind
    if kind is _SHELL:
        return action.command or ""
    if kind in _FILE_KINDS:
        return action.path or (action.changes[0].path if action.changes else "")
    if kind is _HTTP:
        return action.url or ""
    if kind is _WEB_SEARCH:
        return action.query or ""
    import json  # here, not at the top: only tool calls without a main text need it

    return json.dumps(action.input, sort_keys=True, default=str)[:100_000]


#: The shell walker and the secret scanner modules, imported on first use (a process that
#: judges no shell command never loads the parser), then kept: an import statement costs about
#: a microsecond per call even when the module is loaded. Functions are looked up on the
#: module at each call, so replacing one there (tests do) takes effect.
_walker: ModuleType | None = None
_secrets: ModuleType | None = None


def _load_walker() -> ModuleType:
    global _walker
    from warden.check.shell import walker

    _walker = walker
    return walker


def _load_scanner() -> ModuleType:
    global _secrets
    from warden.check import secrets

    _secrets = secrets
    return secrets


def analyze(action: Action, paths: PathContext) -> Facts:
    """Facts for one action (pure apart from resolving symlinks that exist on disk)."""
    kind = action.kind
    if kind is _SHELL:
        analyze_command: Callable[[str, PathContext], Facts] = (
            _walker or _load_walker()
        ).analyze_command
        facts = analyze_command(action.command or "", paths)
        return _with_text(facts, (("command", action.command or ""),))
    files: list[FileAccess] = []
    net: list[NetAccess] = []
    texts: list[tuple[str, str]] = []
    planted: list[tuple[FileAccess, str]] = []  # (a file written, the text it is given)
    if kind is ActionKind.FILE_READ and action.path is not None:
        pattern = action.pattern or ""
        listing = action.tool in ("Glob", "LS", "list_directory", "glob")
        op = FileOp.LIST if listing else FileOp.READ
        recursive = bool(pattern) or listing or action.tool in ("Grep", "search_file_content")
        files.append(_access(op, action.path, action.tool, paths, recursive=recursive))
        files.extend(_access(op, extra, action.tool, paths) for extra in action.paths)
        if pattern and "/" in pattern and action.tool in ("Glob", "glob"):
            # a Glob tool shows the agent names: judged as a listing of where the glob starts
            joined = action.path.rstrip("/") + "/" + pattern
            files.append(_access(FileOp.LIST, joined, action.tool, paths, glob=True).shown())
    elif kind is ActionKind.FILE_WRITE and action.path is not None:
        files.append(_access(FileOp.WRITE, action.path, action.tool, paths))
        texts.append(("content", action.content or ""))
        planted.append((files[-1], action.content or ""))
    elif kind is ActionKind.FILE_EDIT:
        if action.path is not None and not action.changes:
            files.append(_access(FileOp.WRITE, action.path, action.tool, paths))
            texts.append(("content", action.content or ""))
            planted.append((files[-1], action.content or ""))
        for change in action.changes:
            if change.op is ChangeOp.DELETE:
                files.append(_access(FileOp.DELETE, change.path, action.tool, paths))
            elif change.op is ChangeOp.MOVE and change.move_to:
                # moving a file out of a directory reads it (its bytes land elsewhere)
                files.append(_access(FileOp.READ, change.path, action.tool, paths))
                files.append(_access(FileOp.DELETE, change.path, action.tool, paths))
                files.append(_access(FileOp.WRITE, change.move_to, action.tool, paths))
            else:
                files.append(_access(FileOp.WRITE, change.path, action.tool, paths))
            if change.new_text:
                texts.append(("content", change.new_text))
                planted.append((files[-1], change.new_text))
    elif kind is ActionKind.HTTP and action.url is not None:
        method = (action.method or ("POST" if action.body else "GET")).upper()
        direction = NetDirection.UPLOAD if method in _UPLOAD_METHODS else NetDirection.FETCH
        net.append(_net(direction, action.url, action.tool))
        texts.append(("url", action.url))
        for extra in action.urls:
            net.append(_net(direction, extra, action.tool))
            texts.append(("url", extra))
        if action.body:
            texts.append(("body", action.body))
    elif kind is ActionKind.WEB_SEARCH:
        texts.append(("query", action.query or ""))
    else:
        spans = _InputSpans()
        _generic(action, paths, files, net, texts, spans)
        code = _tool_code(action)
        if code:  # a shell or code-running tool: its code is walked as a command line
            found = _joined(action, code, files, net, paths, spans)
            return _with_text(found, tuple(texts), spans, action)
        return _with_text(Facts(files=tuple(files), net=tuple(net)), tuple(texts), spans,
                          action)  # fmt: skip
    base = Facts(files=tuple(files), net=tuple(net))
    for written, text in planted:
        if text.strip() and (runs_at_startup(written.path) or settings_tool(written.path)):
            base = _with_planted(base, action, written, text, paths)
    return _with_text(base, tuple(texts))


def _with_planted(
    facts: Facts, action: Action, written: FileAccess, text: str, paths: PathContext
) -> Facts:  # fmt: skip
    """``facts`` and what ``text``, written by a file tool to a shell start-up file or a
    package manager's settings file (:mod:`warden.check.planted`), will make happen, as for
    ``echo TEXT > FILE``: those facts point at the path written (the action's evidence field)."""
    analyze_written: Callable[[str, str, PathContext], Facts] = (
        _walker or _load_walker()
    ).analyze_written
    found = analyze_written(written.raw, text, paths)
    replace = msgspec.structs.replace
    span = (0, len(primary_text(action)))
    field = primary_field(action)
    return Facts(
        execs=(*facts.execs, *(replace(e, span=span) for e in found.execs)),
        files=(*facts.files, *(replace(f, span=span) for f in found.files)),
        net=(*facts.net, *(replace(n, span=span) for n in found.net)),
        env_read=(*facts.env_read, *found.env_read),
        env_set=(*facts.env_set, *found.env_set),
        markers=(*facts.markers, *(replace(m, span=span, field=field) for m in found.markers)),
        secrets=facts.secrets,  # (the written text is scanned as "content" by _with_text)
    )


def _access(
    op: FileOp, raw: str, by: str, paths: PathContext, *, recursive: bool = False,
    glob: bool | None = None,
) -> FileAccess:  # fmt: skip
    path = normalize(raw, paths)
    real = resolve(path)
    in_ws = is_within(path, paths.workspace) and is_within(real, paths.workspace)
    return FileAccess(
        op=op, path=path, raw=raw, by=by, span=(0, len(raw)), in_workspace=in_ws,
        glob=any(c in raw for c in "*?[") if glob is None else glob, recursive=recursive,
        real=real if real != path else None, folded=fold_hidden(path),
    )  # fmt: skip


def _net(direction: NetDirection, target: str, by: str) -> NetAccess:
    host, port, scheme, url = parse_target(target)
    sends = frozenset({Origin.LITERAL}) if direction is NetDirection.UPLOAD else frozenset()
    return NetAccess(direction=direction, host=host, port=port, scheme=scheme, url=url, by=by,
                     span=(0, len(target)), sends=sends)  # fmt: skip


def _strings(value: Any, budget: list[int]) -> Iterator[tuple[str, str]]:
    """(key, string) pairs from nested tool input, bounded by :data:`MAX_ARG_STRINGS`."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack and budget[0] > 0:
        key, cur = stack.pop()
        if isinstance(cur, str):
            budget[0] -= 1
            yield key, cur
        elif isinstance(cur, dict):
            stack.extend((str(k), v) for k, v in cur.items())
        elif isinstance(cur, list | tuple):
            stack.extend((key, v) for v in cur)


_PATH_KEYS = ("path", "file", "filename", "file_path", "dir", "directory", "source", "destination")
_URL_KEYS = ("url", "uri", "endpoint", "href", "link")
#: The argument of a move or rename tool that names the file moved away.
_MOVED_KEYS = ("source", "src", "from", "old_path", "source_path")


def _generic(
    action: Action, paths: PathContext, files: list[FileAccess], net: list[NetAccess],
    texts: list[tuple[str, str]], spans: _InputSpans,
) -> None:  # fmt: skip
    """MCP and custom tools: arguments that look like paths or URLs become facts, their spans
    that of the argument in the tool input."""
    budget = [MAX_ARG_STRINGS]
    n_files, n_net, last = len(files), len(net), ""
    for key, value in _strings(action.input, budget):
        if len(files) > n_files or len(net) > n_net:  # the previous argument's facts
            _place(action, last, files, n_files, net, n_net, spans)
            n_files, n_net = len(files), len(net)
        last = value
        lowered = key.lower()
        texts.append(("input", value))
        if "://" in value[:16] and (lowered in _URL_KEYS or value.startswith(("http", "ftp"))):
            upload = lowered in ("upload_url", "webhook") or action.tool.lower().startswith(
                ("post", "send", "upload")
            )
            net.append(_net(NetDirection.UPLOAD if upload else NetDirection.FETCH, value,
                            action.tool))  # fmt: skip
        elif len(value) < 4096 and (
            any(part in lowered for part in _PATH_KEYS) or value.startswith(("/", "~/"))
        ) and "\n" not in value:
            tool = action.tool.lower()
            if lowered in _MOVED_KEYS and ("move" in tool or "rename" in tool):
                # the file moved away: read (its bytes land elsewhere) and deleted
                files.append(_access(FileOp.READ, value, action.tool, paths))
                files.append(_access(FileOp.DELETE, value, action.tool, paths))
                continue
            op = FileOp.WRITE if any(w in tool for w in ("write", "edit", "move",
                                                         "create")) else FileOp.READ
            files.append(_access(op, value, action.tool, paths))  # fmt: skip
    _place(action, last, files, n_files, net, n_net, spans)
    if budget[0] <= 0:
        texts.append(("__incomplete__", "tool input too large"))


def _place(
    action: Action, value: str, files: list[FileAccess], n_files: int, net: list[NetAccess],
    n_net: int, spans: _InputSpans,
) -> None:  # fmt: skip
    """Give the facts of the argument ``value`` (``files[n_files:]``, ``net[n_net:]``) the span
    of that argument in the tool input."""
    if len(files) == n_files and len(net) == n_net:
        return
    span = spans.span(action, value, 0, len(value))
    replace = msgspec.structs.replace
    for k in range(n_files, len(files)):
        files[k] = replace(files[k], span=span)
    for k in range(n_net, len(net)):
        net[k] = replace(net[k], span=span)


#: Top-level arguments that hold code, when the tool's name says it runs code ...
_CODE_KEYS = ("code", "source_code", "script", "python", "javascript", "js", "expression",
              "program", "snippet", "cell")  # fmt: skip
#: ... and those that hold SQL, when it names a database.
_SQL_KEYS = ("sql", "query", "statement")
#: Words of a tool's name (server and tool) that say it runs the code it is given ...
_CODE_TOOL_WORDS = frozenset({"python", "py", "ipython", "eval", "exec", "execute", "run",
                              "javascript", "js", "node", "deno", "repl", "notebook", "jupyter",
                              "interpreter", "ruby", "perl", "php", "lua", "sql"})  # fmt: skip
#: ... or that it talks to a database (``query {"query": ...}`` of a ``postgres`` server).
_SQL_TOOL_WORDS = frozenset({"sql", "sqlite", "postgres", "postgresql", "pg", "mysql", "db",
                             "database", "duckdb", "mariadb"})  # fmt: skip
#: Language words (a ``language`` argument, a word of the tool's name) -> the command that runs
#: that code; ``""`` for shell code, walked as itself. SQL is read as sqlite3's, whose functions
#: name files (``readfile``); the statements (``DROP``...) are read alike in every dialect.
_LANGUAGE_RUNNERS = {
    "python": "python3 -c", "py": "python3 -c", "python3": "python3 -c", "ipython": "python3 -c",
    "jupyter": "python3 -c", "notebook": "python3 -c",
    "javascript": "node -e", "js": "node -e", "node": "node -e", "nodejs": "node -e",
    "typescript": "node -e", "ts": "node -e", "deno": "node -e",
    "ruby": "ruby -e", "rb": "ruby -e", "perl": "perl -e", "php": "php -r", "lua": "lua -e",
    "sql": "sqlite3 :memory:", "sqlite": "sqlite3 :memory:", "postgres": "sqlite3 :memory:",
    "postgresql": "sqlite3 :memory:", "pg": "sqlite3 :memory:", "mysql": "sqlite3 :memory:",
    "duckdb": "sqlite3 :memory:", "mariadb": "sqlite3 :memory:",
    "bash": "", "sh": "", "shell": "", "zsh": "",
}  # fmt: skip


class ToolLine(NamedTuple):
    """A command line that a tool's argument amounts to (:func:`_tool_code`): ``value`` is the
    argument as the agent sent it, ``at`` where it stands in ``line`` character for character
    (``-1`` when quoting or joining changed it: then a fact found in it points at all of it)."""

    line: str
    value: str | list[str]
    at: int


def _tool_code(action: Action) -> list[ToolLine]:
    """Command lines that do what an MCP or custom tool's code arguments ask: a command
    (``{"command": "cat F"}``) as itself; code given to a code-running tool (``run_python
    {"code": ...}``, ``execute_sql {"sql": ...}``, a ``postgres`` server's ``query {"query":
    ...}``) as its interpreter run on it (``python3 -c CODE``). The language is the
    ``language`` argument's, else a word of the tool's name, else the key's (``sql``); code
    in no named language is read as Python. Top-level arguments only."""
    args = action.input
    if not isinstance(args, dict) or not args:
        return []
    import shlex  # loaded on first use: most actions are not generic tool calls
    words = set(re.split(r"[^a-z0-9]+", (action.tool or "").lower()))  # server and tool
    code_tool = not words.isdisjoint(_CODE_TOOL_WORDS)
    sql_tool = not words.isdisjoint(_SQL_TOOL_WORDS)
    language = ""
    if code_tool or sql_tool:
        named = args.get("language") or args.get("lang") or args.get("kernel")
        language = named.lower().strip() if isinstance(named, str) else ""
        if language not in _LANGUAGE_RUNNERS:
            language = next((w for w in _LANGUAGE_RUNNERS if w in words), "")
    out: list[ToolLine] = []
    seen: set[str] = set()
    keys = [(k, "") for k in COMMAND_KEYS]  # top-level arguments holding a command line
    if code_tool:
        keys += [(k, language or "python") for k in _CODE_KEYS]
    if code_tool or sql_tool:
        keys += [(k, language or "sql") for k in _SQL_KEYS]
    for key, lang in keys:
        value = args.get(key)
        if key in seen or value is None:
            continue
        if key == "script" and lang == "" and code_tool and _LANGUAGE_RUNNERS.get(language, "x"):
            continue  # `run_python {"script": CODE}`: code in the tool's language, read below
        seen.add(key)
        sent = value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = shlex.join(value)
        if not isinstance(value, str) or not value.strip():
            continue
        runner = _LANGUAGE_RUNNERS.get(lang, "")
        if runner:
            quoted = shlex.quote(value)
            at = len(runner) + 1 + (quoted != value)  # after the opening quote, if any
            if quoted not in (value, f"'{value}'"):
                at = -1  # a quote in the code was spelled '"'"'
            out.append(ToolLine(f"{runner} {quoted}", sent, at))
        else:
            out.append(ToolLine(value, sent, 0 if sent is value else -1))
    return out


class _InputSpans:
    """Where a tool argument's text stands in the action's primary text (the tool input as JSON,
    :func:`primary_text`), so that evidence quotes what the agent sent: a span in the argument
    (or in the command line made of it, :class:`ToolLine`) becomes one in that JSON. The JSON
    is made on first use; each argument is found once, its escapes (quotes, backslashes,
    control and non-ASCII characters, longer in JSON) counted once: linear in the input."""

    __slots__ = ("_found", "_text")

    def __init__(self) -> None:
        self._text: str | None = None
        # by the argument's identity (the same object for all of its facts), kept with it
        self._found: dict[int, tuple[object, tuple[int, list[int], list[int]] | None]] = {}

    def _locate(self, action: Action, value: str | list[str]) -> tuple[int, list[int],
                                                                         list[int]] | None:
        known = self._found.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        import json

        encoded = json.dumps(value)
        if self._text is None:
            self._text = primary_text(action)
        at = self._text.find(encoded)
        found: tuple[int, list[int], list[int]] | None = None
        if at >= 0 and isinstance(value, str):
            # the characters JSON spells longer: where they are, and the extra length so far
            where: list[int] = []
            extra: list[int] = []
            total = 0
            for m in _JSON_ESCAPED.finditer(value):
                total += len(json.dumps(m.group())) - 3
                where.append(m.start())
                extra.append(total)
            found = (at + 1, where, extra)  # after the opening quote
        elif at >= 0:
            found = (at, [], [len(encoded)])  # a list: the whole of it
        self._found[id(value)] = (value, found)
        return found

    def span(self, action: Action, value: str | list[str], start: int, end: int) -> Span:
        """The span of ``value[start:end]`` in the primary text; ``(0, 0)`` when not found."""
        found = self._locate(action, value)
        if found is None:
            return (0, 0)
        at, where, extra = found
        if not isinstance(value, str):
            return (at, at + extra[0])

        def place(offset: int) -> int:
            k = bisect.bisect_left(where, offset)  # escapes before offset
            return at + offset + (extra[k - 1] if k else 0)

        return (place(start), place(end))

    def of_line(self, action: Action, tool_line: ToolLine, span: Span) -> Span:
        """A span in ``tool_line.line`` as one in the argument it was made of."""
        value = tool_line.value
        if not isinstance(value, str) or tool_line.at < 0 or span == (0, 0):
            return self.span(action, value, 0, len(value) if isinstance(value, str) else 0)
        n = len(value)
        start = min(max(span[0] - tool_line.at, 0), n)
        end = min(max(span[1] - tool_line.at, start), n)
        if end == start:  # the span lies outside the code (the runner's words): all of it
            start, end = 0, n
        return self.span(action, value, start, end)


#: Characters ``json.dumps`` (ASCII output) writes as more than one character.
_JSON_ESCAPED = re.compile(r'[^\x20-\x7e]|["\\]')


def _joined(
    action: Action, code: list[ToolLine], files: list[FileAccess], net: list[NetAccess],
    paths: PathContext, spans: _InputSpans,
) -> Facts:  # fmt: skip
    """The facts of a tool's arguments and of the command lines its code amounts to, their
    spans moved from the command line onto the argument in the tool input (:class:`_InputSpans`)."""
    analyze_command: Callable[[str, PathContext], Facts] = (
        _walker or _load_walker()
    ).analyze_command
    parts = [_moved(analyze_command(t.line, paths), action, t, spans) for t in code]
    return Facts(
        execs=tuple(e for p in parts for e in p.execs),
        files=(*files, *(f for p in parts for f in p.files)),
        net=(*net, *(n for p in parts for n in p.net)),
        env_read=tuple(e for p in parts for e in p.env_read),
        env_set=tuple(e for p in parts for e in p.env_set),
        markers=tuple(m for p in parts for m in p.markers),
        secrets=tuple(s for p in parts for s in p.secrets),
    )


def _moved(facts: Facts, action: Action, tool_line: ToolLine, spans: _InputSpans) -> Facts:
    """``facts`` of ``tool_line.line`` with their spans in the tool input instead."""
    replace = msgspec.structs.replace
    memo: dict[Span, Span] = {}

    def move(span: Span) -> Span:
        moved = memo.get(span)
        if moved is None:
            moved = memo[span] = spans.of_line(action, tool_line, span)
        return moved

    return Facts(
        execs=tuple(replace(e, span=move(e.span)) for e in facts.execs),
        files=tuple(replace(f, span=move(f.span)) for f in facts.files),
        net=tuple(replace(n, span=move(n.span)) for n in facts.net),
        env_read=facts.env_read,
        env_set=facts.env_set,
        markers=tuple(replace(m, span=move(m.span), field="input") for m in facts.markers),
        secrets=tuple(replace(h, span=move(h.span), field="input") for h in facts.secrets),
    )


def _with_text(facts: Facts, texts: tuple[tuple[str, str], ...],
               spans: _InputSpans | None = None, action: Action | None = None) -> Facts:
    scan_secrets: Callable[[str, str], SecretScan] = (_secrets or _load_scanner()).scan_secrets
    # copied only when something is added (most texts hold no secret: ``facts`` comes back)
    secrets: list[SecretHit] | None = None
    markers: list[Marker] | None = None
    for field, text in texts:
        if field == "__incomplete__":
            markers = list(facts.markers) if markers is None else markers
            markers.append(Marker(name="analysis.incomplete", detail=text, field="input"))
            continue
        if not text:
            continue
        scan = scan_secrets(text, field)
        if scan.hits:
            secrets = list(facts.secrets) if secrets is None else secrets
            if spans is not None and action is not None and field == "input":
                # a tool argument's secret: its span in the tool input, as evidence quotes it
                secrets.extend(msgspec.structs.replace(h, span=spans.span(action, text, *h.span))
                               for h in scan.hits)  # fmt: skip
            else:
                secrets.extend(scan.hits)
        if not scan.complete:
            markers = list(facts.markers) if markers is None else markers
            markers.append(Marker(name="analysis.incomplete", detail=f"{field} too large to scan "
                                  "for secrets", field=field))  # fmt: skip
        if not text.isascii() and field == "command":
            from warden.check.text import find_invisible

            for pos, name in find_invisible(text)[:8]:
                markers = list(facts.markers) if markers is None else markers
                markers.append(Marker(name="obfuscation.invisible-char", detail=name,
                                      span=(pos, pos + 1), field=field))  # fmt: skip
    if secrets is None and markers is None:
        return facts
    return Facts(execs=facts.execs, files=facts.files, net=facts.net, env_read=facts.env_read,
                 env_set=facts.env_set,
                 markers=facts.markers if markers is None else tuple(markers),
                 secrets=facts.secrets if secrets is None else tuple(secrets))  # fmt: skip
