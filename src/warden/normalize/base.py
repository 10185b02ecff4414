"""The interface of the normaliser family: sources, hook events, and the adapter contract.

Every agent adapter (``claude_code``, ``codex``, ``gemini``, ``warden_json``) turns one untrusted,
already JSON-decoded payload into warden's :class:`~warden.action.Action`, and a hook payload into
a :class:`HookEvent`. Anything that cannot be understood raises
:class:`~warden.errors.InputError`, never another exception type: a hook that cannot read its
input must be able to deny with a precise reason.

The three agents share one hook envelope (Claude Code defined it, Codex and Gemini CLI copied its
field names): ``session_id``, ``transcript_path``, ``cwd``, ``hook_event_name``, then per event
``tool_name``/``tool_input``/``tool_response`` or ``prompt``. The adapters therefore differ in
their event names and tool vocabularies, not in the envelope, and :class:`AgentAdapter` implements
the envelope once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import msgspec

from warden.action import Action, ActionKind
from warden.errors import InputError
from warden.normalize import _fields as f

__all__ = [
    "AgentAdapter",
    "HookEvent",
    "HookKind",
    "Source",
    "ToolCall",
    "ToolMapper",
    "split_mcp_name",
]


class Source(StrEnum):
    """Which vocabulary a payload speaks; also written to ``Action.source``."""

    WARDEN = "warden"
    CLAUDE_CODE = "claude_code"
    CODEX = "codex"
    GEMINI = "gemini"
    CURSOR = "cursor"
    COPILOT = "copilot"

    @classmethod
    def parse(cls, name: str) -> Source:
        """Accept the canonical names and the agents' own spellings (``claude``, ``gemini-cli``)."""
        key = name.strip().lower().replace("-", "_")
        found = _SOURCE_ALIASES.get(key)
        if found is None:
            known = ", ".join(s.value for s in cls)
            raise InputError(f"unknown source {name!r}; expected one of {known}")
        return found


_SOURCE_ALIASES: dict[str, Source] = {
    "warden": Source.WARDEN,
    "claude_code": Source.CLAUDE_CODE,
    "claude": Source.CLAUDE_CODE,
    "codex": Source.CODEX,
    "codex_cli": Source.CODEX,
    "gemini": Source.GEMINI,
    "gemini_cli": Source.GEMINI,
    "cursor": Source.CURSOR,
    "copilot": Source.COPILOT,
    "copilot_cli": Source.COPILOT,
    "github_copilot": Source.COPILOT,
}


class HookKind(StrEnum):
    """A hook event in warden's vocabulary, whichever agent fired it.

    ``OTHER`` is a documented event of the agent that warden does not act on (``PreCompact``,
    ``BeforeModel``...): it is understood, so it is not an input error.
    """

    PRE_TOOL = "pre_tool"
    POST_TOOL = "post_tool"
    PERMISSION_REQUEST = "permission_request"
    PROMPT_SUBMIT = "prompt_submit"
    SESSION_START = "session_start"
    SESSION_END = "session_end"
    STOP = "stop"
    NOTIFICATION = "notification"
    OTHER = "other"


#: Events whose payload carries a tool call that is turned into an action.
TOOL_EVENTS = frozenset({HookKind.PRE_TOOL, HookKind.POST_TOOL, HookKind.PERMISSION_REQUEST})


class HookEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One hook invocation, normalised.

    ``action`` is set for tool events, ``prompt`` for prompt-submit events (the task statement),
    ``tool_response`` for post-tool events (verbatim, or the error text of a failed tool).
    ``event`` is the agent's own event name (``PreToolUse``, ``BeforeTool``), or ``None`` for a
    payload without one (warden JSON, the ``{"tool", "input"}`` shorthand).
    """

    kind: HookKind
    action: Action | None = None
    prompt: str | None = None
    tool_response: Any | None = None
    session_id: str | None = None
    cwd: str | None = None
    event: str | None = None
    source: Source = Source.WARDEN


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A tool call as the adapter received it, with the context every action carries."""

    source: Source
    tool: str
    input: dict[str, Any]
    cwd: str | None = None
    session_id: str | None = None
    tool_use_id: str | None = None
    agent: str | None = None
    time: float | None = None
    #: The MCP server named by the envelope (Gemini CLI ``mcp_context``), not by the tool name.
    mcp_server: str | None = None

    @property
    def where(self) -> str:
        """A prefix for error messages: ``claude_code Bash tool_input``."""
        return f"{self.source.value} {self.tool} tool_input"

    def first(self, *keys: str, required: bool = False, ident: bool = True) -> str | None:
        """The first of ``keys`` present in the input (current spelling first, then older
        ones); a required identifier may not be empty."""
        for key in keys:
            value = f.get_str(self.input, key, where=self.where, identifier=ident)
            if value is not None:
                if required and ident and not value:
                    raise InputError(f"{self.where}: `{key}` is empty")
                return value
        if required:
            raise InputError(f"{self.where}: `{keys[0]}` is missing")
        return None

    def require(self, *keys: str, ident: bool = True) -> str:
        """:meth:`first`, required."""
        value = self.first(*keys, required=True, ident=ident)
        assert value is not None
        return value

    def action(self, kind: Any, **fields: Any) -> Action:
        """Build the action, turning a model invariant failure into :class:`InputError`."""
        try:
            return Action(
                kind=kind,
                tool=self.tool,
                input=self.input,
                cwd=fields.pop("cwd", self.cwd),
                agent=self.agent,
                session_id=self.session_id,
                tool_use_id=self.tool_use_id,
                time=self.time,
                source=self.source.value,
                **fields,
            )
        except (ValueError, TypeError) as exc:
            raise InputError(f"{self.where}: {exc}") from exc


ToolMapper = Callable[[ToolCall], Action]

MCP_PREFIX = "mcp__"


def split_mcp_name(name: str) -> tuple[str, str] | None:
    """``mcp__server__tool`` -> ``(server, tool)``; ``None`` for any other name.

    Claude Code builds the name as ``mcp__`` + server + ``__`` + tool (hooks reference, "MCP
    tools"), and Codex keeps that form (``HookToolName::for_mcp_tool`` in
    ``codex-rs/core/src/hook_names.rs``). The server is what precedes the first ``__`` after the
    prefix, so a server whose own name contains ``__`` is split early; the full name stays in
    ``Action.tool``.
    """
    if not name.startswith(MCP_PREFIX):
        return None
    server, sep, tool = name[len(MCP_PREFIX) :].partition("__")
    if not sep or not server or not tool:
        return None
    return server, tool


class AgentAdapter(ABC):
    """One agent's hook protocol and tool vocabulary.

    Subclasses supply the event table, the tool table and, where it differs, how an MCP tool is
    recognised; the shared envelope is read here. ``fallbacks`` are the other agents' tool
    tables, consulted before giving up on a tool name: a payload detected as the wrong agent
    still maps ``Write`` to a file write rather than to ``CUSTOM`` (fail closed).
    """

    source: Source
    #: The agent's event name -> warden's hook kind.
    events: Mapping[str, HookKind]
    #: The agent's tool name -> mapper.
    tools: Mapping[str, ToolMapper]

    def __init__(self, *, fallbacks: tuple[Mapping[str, ToolMapper], ...] = ()) -> None:
        self.fallbacks = fallbacks

    @abstractmethod
    def mcp_server(self, call: ToolCall) -> str | None:
        """The MCP server a call goes to, ``None`` when it is not an MCP tool."""

    def tool_action(self, call: ToolCall) -> Action:
        """Map one tool call onto an :class:`Action`; unknown tools become ``CUSTOM``."""
        try:
            return self._map(call)
        except (ValueError, TypeError) as exc:
            # A model invariant (FileChange, Action) refused what a mapper built: the payload is
            # at fault, and the caller must still get an InputError to deny on.
            raise InputError(f"{call.where}: {exc}") from exc

    def _map(self, call: ToolCall) -> Action:
        mapper = self.tools.get(call.tool)
        if mapper is not None:
            return mapper(call)
        server = self.mcp_server(call)
        if server:
            return call.action(ActionKind.MCP, mcp_server=server)
        for table in self.fallbacks:
            mapper = table.get(call.tool)
            if mapper is not None:
                return mapper(call)
        return call.action(ActionKind.CUSTOM)

    def hook_kind(self, payload: Mapping[str, Any]) -> HookKind | None:
        """The normalised event of ``payload``, ``None`` when it names no event."""
        name = f.get_str(payload, "hook_event_name", where=f"{self.source.value} payload")
        if name is None:
            return None
        kind = self.events.get(name)
        if kind is None:
            known = ", ".join(sorted(self.events))
            raise InputError(
                f"{self.source.value} payload: unknown hook_event_name {name!r}; known: {known}"
            )
        return kind

    def context(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Envelope fields every action carries (``cwd``, ``session_id``, ``tool_use_id``...)."""
        where = f"{self.source.value} payload"
        return {
            "cwd": f.get_str(payload, "cwd", where=where, identifier=True),
            "session_id": f.get_str(payload, "session_id", where=where),
            "tool_use_id": f.get_str(payload, "tool_use_id", where=where),
            "agent": f.get_str(payload, "agent_type", where=where)
            or f.get_str(payload, "agent_id", where=where),
        }

    def tool_call(self, payload: Mapping[str, Any]) -> ToolCall:
        """Read ``tool_name``/``tool_input`` (or the ``tool``/``input`` shorthand)."""
        where = f"{self.source.value} payload"
        if "tool_name" in payload:
            tool = f.get_str(payload, "tool_name", where=where, required=True, identifier=True)
            raw_input = f.require(payload, "tool_input", where=where)
        else:
            tool = f.get_str(payload, "tool", where=where, required=True, identifier=True)
            raw_input = payload.get("input", {})
        assert tool is not None  # required=True, and an identifier may not be empty
        if not isinstance(raw_input, Mapping):
            raise InputError(
                f"{where}: tool input of {tool} must be an object, not {f.type_name(raw_input)}"
            )
        return ToolCall(
            source=self.source,
            tool=tool,
            input=f.clean_object(raw_input, where=f"{self.source.value} {tool} tool_input"),
            time=self.timestamp(payload),
            **self.context(payload),
        )

    def timestamp(self, payload: Mapping[str, Any]) -> float | None:
        """The event time, for agents that send one (Gemini CLI ``timestamp``)."""
        return None

    def normalize(self, payload: Mapping[str, Any]) -> Action:
        """The action of a tool-call payload; refuses payloads of non-tool events."""
        kind = self.hook_kind(payload)
        if kind is not None and kind not in TOOL_EVENTS:
            raise InputError(
                f"{self.source.value} payload: event {payload['hook_event_name']!r} "
                f"({kind.value}) carries no tool call to normalise"
            )
        return self.tool_action(self.tool_call(payload))

    def parse_hook(self, payload: Mapping[str, Any]) -> HookEvent:
        """The hook event of ``payload``: the action of a tool event, the prompt of a prompt."""
        where = f"{self.source.value} payload"
        kind = self.hook_kind(payload)
        event = f.get_str(payload, "hook_event_name", where=where)
        ctx = self.context(payload)
        common: dict[str, Any] = {
            "event": event,
            "source": self.source,
            "session_id": ctx["session_id"],
            "cwd": ctx["cwd"],
        }
        if kind is None or kind in TOOL_EVENTS:
            action = self.tool_action(self.tool_call(payload))
            response = None
            if kind is HookKind.POST_TOOL:
                response = payload.get("tool_response", payload.get("error"))
                if response is not None:
                    response = f.clean_value(response, where=f"{where} tool_response")
            return HookEvent(
                kind=kind or HookKind.PRE_TOOL, action=action, tool_response=response, **common
            )
        prompt = None
        if kind is HookKind.PROMPT_SUBMIT:
            prompt = f.get_str(payload, "prompt", where=where, required=True)
        return HookEvent(kind=kind, prompt=prompt, **common)
