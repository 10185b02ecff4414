"""One hook invocation: read, normalise, decide or record, answer in the agent's format.

::

    answer = handle(raw_bytes, CLAUDE_CODE, HookConfig(audit=True))
    sys.stdout.write(answer.stdout); sys.stderr.write(answer.stderr); exit(answer.exit_code)

What each event costs is what it needs: a tool call loads the policy and the engine and writes a
decision record; a prompt, a tool result or a session event opens only the audit log. Every
path ends in an answer from the agent's :class:`~warden.integrations.hooks.base.AgentProtocol`:
a failure anywhere (unreadable or oversized input, a policy that does not load, an audit log
that cannot be opened or written, a bug) becomes :meth:`AgentProtocol.failure`, a block in the
agent's own terms, and is recorded when the log can still be written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from warden.decision import Verdict
from warden.errors import AuditError, ConfigError, InputError
from warden.integrations.hooks.base import EXIT_BLOCK, AgentProtocol, HookAnswer, Reply, clip
from warden.normalize.base import HookEvent, HookKind

if TYPE_CHECKING:
    from warden.guard import Guard
    from warden.record import AuditLog

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "RECORD_TYPE",
    "HookConfig",
    "Resources",
    "handle",
    "read_payload",
    "refuse",
]

#: Largest hook payload read. A ``Write`` of a large generated file is the biggest legitimate
#: payload (a few MB); past this the call is denied as unreadable rather than parsed at length
#: inside the agent's hook timeout. The rest of the input is drained so the agent's write of it
#: does not fail first.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024

#: Record type of hook events that are not decisions (prompts, tool results, sessions, errors).
RECORD_TYPE = "hook"

#: Characters of a prompt kept (redacted) in the purgeable payload.
KEEP_CHARS = 16 * 1024

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class HookConfig:
    """How the hook process decides and records (from the command line)."""

    workspace: str | None = None
    policy_files: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()
    #: ``True``: the default audit log; a path: that log; ``False``: record nothing.
    audit: Path | bool = True


def read_payload(stream: BinaryIO, limit: int = MAX_PAYLOAD_BYTES) -> bytes:
    """Read at most ``limit`` bytes; raise :class:`InputError` (after draining) past it."""
    data = stream.read(limit + 1)
    if len(data) <= limit:
        return data
    total = len(data)
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
    raise InputError(f"hook payload of {total} bytes is larger than the {limit}-byte limit")


class _Resources:
    """The audit log and the guard, opened on first use and closed once.

    A resident server (``warden.integrations.hooks.serve``) passes its own subclass to
    :func:`handle` so that one log and one engine per workspace serve every request.
    """

    def __init__(self, config: HookConfig, *, resident: bool = False) -> None:
        self.config = config
        #: a long-lived server's resources (:meth:`AuditLog.open`'s ``resident``)
        self.resident = resident
        self._log: AuditLog | None = None
        self._guard: Guard | None = None

    def log(self) -> AuditLog | None:
        if self.config.audit is False:
            return None
        if self._log is None:
            from warden.record import AuditLog

            path = None if self.config.audit is True else Path(self.config.audit)
            self._log = AuditLog.open(path, resident=self.resident)
        return self._log

    def guard(self, workspace: str | None) -> Guard:
        if self._guard is None:
            from warden.check.engine import Engine
            from warden.guard import Guard

            engine = Engine.from_files(
                policy_files=self.config.policy_files,
                workspace=self.config.workspace or workspace,
                packs=self.config.packs,
            )
            self._guard = Guard(engine, self.log())
        return self._guard

    def close(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            log.close()

    def report(self, fault: str) -> None:
        """Tell the person running warden that an answer failed closed, and why.

        A hook process has nobody but the agent to tell (its stderr is the agent's, and the
        block already says why), so this does nothing; the resident server prints it.
        """


#: The resources :func:`handle` uses, for callers that keep them open across invocations.
Resources = _Resources


def handle(
    raw: bytes, protocol: AgentProtocol, config: HookConfig, *, resources: _Resources | None = None
) -> HookAnswer:
    """The agent's answer to one hook payload. Never raises.

    ``resources``: an open log and guard to use (and leave open) instead of opening them for
    this one invocation and closing them after it; the answer is the same either way.
    """
    res = resources if resources is not None else _Resources(config)
    kind: HookKind | None = None
    event: str | None = None
    session: str | None = None
    try:
        payload = _decode(raw)
        event = _event_name(payload)
        session = _str(payload, "session_id")
        kind = _kind_of(event, protocol)
        reply = _known_or_unknown(payload, event, protocol, res)
        if isinstance(reply, HookAnswer):
            return reply
        return protocol.render(reply)
    except InputError as exc:
        reason = f"invalid hook input: {exc}"
    except ConfigError as exc:
        reason = f"its policy could not be loaded: {exc}"
    except (AuditError, OSError) as exc:
        reason = f"its audit log is unavailable ({type(exc).__name__}: {exc})"
    except Exception as exc:  # a bug must still be a block, never a traceback or an allow
        reason = f"internal error ({type(exc).__name__}: {exc})"
    finally:
        if resources is None:
            _close(res)
    res.report(f"blocked a {event or 'hook'} event: {reason}")
    return refuse(reason, protocol, config, kind=kind, event=event, session=session,
                  resources=resources)  # fmt: skip


def refuse(
    reason: str,
    protocol: AgentProtocol,
    config: HookConfig,
    *,
    kind: HookKind | None = None,
    event: str | None = None,
    session: str | None = None,
    resources: _Resources | None = None,
) -> HookAnswer:
    """Fail closed: record (if the log still opens) and answer the agent's block."""
    _record_failure(config, protocol, event, session, reason, resources)
    return protocol.failure(reason, kind, event)


def _close(res: _Resources) -> None:
    # Records were durable before close returns; a failure to close has nothing to undo.
    with contextlib.suppress(Exception):
        res.close()


def _decode(raw: bytes) -> dict[str, Any]:
    import msgspec

    if not raw.strip():
        raise InputError("empty hook payload (expected one JSON object on stdin)")
    try:
        payload = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InputError(f"not valid JSON ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    if not isinstance(payload, dict):
        raise InputError(f"expected a JSON object, got {type(payload).__name__}")
    return payload


def _event_name(payload: Mapping[str, Any]) -> str | None:
    name = payload.get("hook_event_name")
    if name is None or isinstance(name, str):
        return name
    raise InputError(f"hook_event_name must be a string, not {type(name).__name__}")


def _kind_of(event: str | None, protocol: AgentProtocol) -> HookKind | None:
    """The kind of a named, known event (so a failure can be answered in its terms)."""
    from warden.normalize import adapter_for

    events: Mapping[str, HookKind] = getattr(adapter_for(protocol.source), "events", {})
    return events.get(event) if event is not None else None


def _known_or_unknown(
    payload: dict[str, Any], event: str | None, protocol: AgentProtocol, res: _Resources
) -> Reply | HookAnswer:
    from warden.normalize import adapter_for, parse_hook

    adapter = adapter_for(protocol.source)
    known = getattr(adapter, "events", {})
    if event is not None and event not in known:
        return _unknown_event(payload, event, protocol, res)
    return _dispatch(parse_hook(payload, protocol.source.value), protocol, res)


def _dispatch(ev: HookEvent, protocol: AgentProtocol, res: _Resources) -> Reply:
    if ev.kind in (HookKind.PRE_TOOL, HookKind.PERMISSION_REQUEST):
        return _decide(ev, res)
    if ev.kind is HookKind.POST_TOOL:
        return _tool_result(ev, protocol, res)
    extra: dict[str, Any] = {}
    payload: dict[str, Any] | None = None
    if ev.kind is HookKind.PROMPT_SUBMIT and ev.prompt is not None:
        from warden.check.secrets import redact_text

        extra["prompt_chars"] = len(ev.prompt)
        payload = {"prompt": redact_text(ev.prompt[:KEEP_CHARS])}
    _append(res, protocol, ev.event, ev.kind.value, ev.session_id, extra, payload)
    return Reply(kind=ev.kind, event=ev.event)


def _decide(ev: HookEvent, res: _Resources) -> Reply:
    from warden.check.engine import CheckContext

    assert ev.action is not None  # tool events always carry one (parse_hook)
    guard = res.guard(ev.cwd)
    decision = guard.check(ev.action, CheckContext(cwd=ev.cwd, workspace=res.config.workspace))
    if decision.error is not None:
        res.report(f"blocked {ev.action.tool}: {decision.error}")
    reason = decision.agent_reason or f"warden: {decision.reason}"
    kill = decision.verdict is Verdict.KILL
    return Reply(
        kind=ev.kind,
        event=ev.event,
        verdict=decision.verdict,
        reason=reason if decision.verdict >= Verdict.ASK else "",
        stop=kill,
        stop_reason=f"warden stopped the session: {decision.reason}" if kill else "",
    )


def _tool_result(ev: HookEvent, protocol: AgentProtocol, res: _Resources) -> Reply:
    from warden.integrations.hooks.outputscan import scan_output, warning

    scan = scan_output(ev.tool_response)
    action = ev.action
    extra: dict[str, Any] = {
        "tool": action.tool if action else None,
        "tool_use_id": action.tool_use_id if action else None,
        "outcome": "error" if ev.event == "PostToolUseFailure" or scan.error else "ok",
        "output_chars": scan.chars,
        "secrets": list(scan.secrets),
        "injection": [h.signal for h in scan.injection.hits],
        "flagged": scan.injection.flagged,
        "complete": scan.complete,
    }
    _append(res, protocol, ev.event, ev.kind.value, ev.session_id, extra,
            {"output": scan.redacted})  # fmt: skip
    return Reply(kind=ev.kind, event=ev.event, context=warning(scan))


def _unknown_event(
    payload: dict[str, Any], event: str, protocol: AgentProtocol, res: _Resources
) -> Reply | HookAnswer:
    """Record an event this agent is not known to fire; judge a tool call if it carries one.

    The answer is neutral (no decision): warden does not know this event's output format. A
    tool call it carries is still judged, and a block is answered with exit code 2, which all
    three agents read as "block" on any event that can be blocked.
    """
    _append(res, protocol, event, "unknown", _str(payload, "session_id"), {}, None)
    if "tool_name" not in payload:
        return Reply(kind=HookKind.OTHER, event=event)
    from warden.normalize import adapter_for

    adapter = adapter_for(protocol.source)
    action = adapter.tool_action(adapter.tool_call(payload))  # type: ignore[union-attr]
    ev = HookEvent(kind=HookKind.PRE_TOOL, action=action, cwd=action.cwd, event=event,
                   session_id=action.session_id, source=protocol.source)  # fmt: skip
    reply = _decide(ev, res)
    if reply.blocks:
        return HookAnswer("", clip(reply.reason) + "\n", EXIT_BLOCK)
    return Reply(kind=HookKind.OTHER, event=event)


def _str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _append(
    res: _Resources,
    protocol: AgentProtocol,
    event: str | None,
    kind: str,
    session: str | None,
    extra: dict[str, Any],
    payload: dict[str, Any] | None,
) -> None:
    log = res.log()
    if log is None:
        return
    record: dict[str, Any] = {
        "type": RECORD_TYPE,
        "v": 1,
        "time": round(time.time(), 6),
        "session": session,
        "source": protocol.source.value,
        "event": event,
        "kind": kind,
        **extra,
    }
    log.append(record, payload=payload)


def _record_failure(
    config: HookConfig, protocol: AgentProtocol, event: str | None, session: str | None,
    reason: str, resources: _Resources | None = None,
) -> None:  # fmt: skip
    """Best effort: note the blocked invocation in the log, if the log can be opened at all."""
    if config.audit is False:
        return
    res = resources if resources is not None else _Resources(config)
    try:
        with contextlib.suppress(Exception):  # the answer is a block either way
            _append(res, protocol, event, "error", session,
                    {"verdict": str(Verdict.DENY), "error": clip(reason, 500)}, None)  # fmt: skip
    finally:
        if resources is None:
            _close(res)
