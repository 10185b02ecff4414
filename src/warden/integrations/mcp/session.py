"""The transport-independent heart of the proxy: one MCP conversation, message by message.

:class:`McpSession` is fed every message from the client (:meth:`from_client`) and from the
server (:meth:`from_server`) and says what to send where (:class:`Out`). It understands the
methods below and passes everything else through byte for byte, in both directions
(other notifications, progress, roots, tasks, methods not yet invented):

- ``tools/call`` (client -> server): mapped to actions (:mod:`.mapping`), judged and recorded
  by the :class:`~warden.guard.Guard`; a deny or kill (and an ask, unless ``on_ask_allow``) is
  answered by the proxy with an ``isError`` tool result that gives warden's reason, and the
  server never sees the call. Its result (server -> client) is scanned for secrets and planted
  instructions; on a hit the result the client sees is changed (see :meth:`_tool_result`).
- ``tools/list`` results: poisoned and changed tools are recorded and, unless ``keep_flagged``,
  removed; a later call to a removed tool is refused.
- ``resources/read`` (client -> server): its URI is judged like a tool's argument and a block is
  a JSON-RPC error; its result, and a ``prompts/get`` result, are scanned like a tool result
  (:mod:`.results`). A server's ``sampling/createMessage`` request is scanned too: secrets are
  redacted, planted instructions make the proxy refuse it to the server (unless ``keep_flagged``).
- ``resources/list``, ``resources/templates/list``, ``prompts/list`` results: entries whose
  name, title or description (a prompt's arguments too) carry instructions for the model are
  recorded and, unless ``keep_flagged``, removed for the rest of the session; a later
  ``resources/read`` (of the URI, or of one a removed template matches) or ``prompts/get`` of a
  removed one is refused. An entry that changed since its first listing is recorded and
  reported, not removed (resource listings change honestly; :meth:`_entries_list`).
- Elicitation (:mod:`.elicit`), wherever it travels: a server's ``elicitation/create`` request
  (2025-06-18, 2025-11-25), the ``URLElicitationRequiredError`` (-32042, 2025-11-25) and the
  ``inputRequests`` of an ``input_required`` result (2026-07-28, where sampling requests are
  judged there too). A form that asks for secrets, planted instructions, or an unsafe URL
  (not HTTPS, user info, an IDN host, a credential in it, a host the policy denies) is
  refused (a JSON-RPC error to the server; to the client, warden's error in place of the
  result) unless ``keep_flagged``, and recorded durably with the reason; an unflagged one
  passes unchanged and is recorded as routine. The user's answer (a client's ``ElicitResult``,
  or a retry's ``inputResponses``) is scanned for secrets and recorded redacted, and passed on
  (the user typed it into the client's own form) unless it looks like a secret and the policy
  says ``[mcp] elicitation_secrets = "deny"``: then the server gets warden's error in its place
  (a retry carrying it is answered by warden, never forwarded).
- ``completion/complete`` results: each suggestion is scanned like a tool's output; a flagged
  one is dropped from the list and recorded (:meth:`_completion`).
- Change notifications (``notifications/*/list_changed``, ``notifications/resources/updated``):
  recorded and passed on; the listing or read that follows is judged as always.
- ``initialize`` (protocol revisions up to 2025-11-25) and ``server/discover`` (2026-07-28,
  which removed the handshake): the server's and the client's names are noted. In 2026-07-28
  the client's identity travels in each request's ``_meta`` (``io.modelcontextprotocol/
  clientInfo``) and is read there too.

Fail closed: a message that cannot be parsed or is too large is refused (with a JSON-RPC error
addressed to its id when the id can be seen); a server that dies answers every waiting request
with an error; a guard that cannot be opened (policy or audit store) makes every request an
error; a check that raises becomes a deny. Nothing here raises on bad input from either side.

Durability of decisions (``docs/mcp.md``, "Durability"). A refused call's records are durable
before the refusal is answered. An allowed call's records are queued (``append_nowait`` with
``wake=False``: the log's writer thread is not woken) and the call is forwarded at once with a
:class:`Gate` on them; the transport then commits them on its own thread while the server works
(:meth:`McpSession.commit`), or the thread relaying the answer does if it gets there first; either
way no other thread is woken to make the commit, and nothing from the server
goes to the client before every forwarded call's records are durable (:meth:`McpSession.settle`,
at the top of :meth:`McpSession.from_server`). A record that fails turns that call's answer
into an error and the session into strict write-ahead for good (``McpConfig.write_ahead``,
``--write-ahead``: the call waits for its records before it is forwarded), so a broken log
refuses later calls before they run. Why: the commit (an fsync, ~0.5-1 ms here) then overlaps
the server's own work instead of adding to it; the cost is that a warden crash in that window
can leave a call that ran unrecorded (the agent never saw its result).

Who writes the answer (:meth:`McpSession.hold_answers`, the stdio transport): the server's
thread inspects a message and, if the records it must wait for are not durable yet, leaves the
outcome with the session and goes back to reading; the thread whose commit makes them durable
delivers it (in the server's order). The server's thread still commits a call's records itself
when its answer arrives before the client's thread has started that commit. So no thread is
woken between the fsync and the answer's write. Without ``hold_answers`` (HTTP: each request's
thread must return its own answer) :meth:`McpSession.from_server` waits and returns the outcome.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from warden.decision import Decision, Severity, Verdict
from warden.errors import InputError, WardenError
from warden.guard import unrecorded
from warden.integrations.mcp import jsonrpc as rpc
from warden.integrations.mcp.mapping import (
    CallContext,
    map_call,
    map_resource_read,
    mcp_tool_name,
)
from warden.integrations.mcp.toolscan import (
    LISTINGS,
    ToolFinding,
    inspect_entry,
    inspect_tool,
)

if TYPE_CHECKING:
    from warden.action import Action
    from warden.guard import Guard
    from warden.record.writer import Receipt

__all__ = ["RECORD_TYPE", "TOOL_USE_ID_KEYS", "Gate", "McpConfig", "McpSession", "Out"]

#: Record type of MCP events that are not decisions (results, listings, errors).
RECORD_TYPE = "mcp"

#: ``params._meta`` keys that carry the agent's id for the tool call, in order of preference.
#: Claude Code sends ``claudecode/toolUseId`` (the ``tool_use_id`` its hooks carry too).
TOOL_USE_ID_KEYS = ("claudecode/toolUseId", "toolUseId", "tool_use_id")

_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

#: Requests remembered while waiting for their answer. A client that sends more without
#: waiting is refused past this (a memory bound, far above any honest concurrency).
MAX_PENDING = 4096

#: Seconds routine records are gathered before one commit writes them all (off the call path).
DEFER_SECONDS = 0.05
#: Routine records gathered at most before they are written at once (a memory bound).
MAX_DEFERRED = 512

#: Characters of a reason put into a tool result or an error message.
MAX_REASON_CHARS = 2000

#: ``URLElicitationRequiredError`` (2025-11-25 only): an error answer listing URL elicitations.
URL_ELICITATION_REQUIRED = -32042
#: Elicitation requests remembered (by server request id or ``inputRequests`` key) so that the
#: user's answer is read knowing which fields asked for a secret (a memory bound).
MAX_ELICITATIONS = 1024

#: Suggestions of one ``completion/complete`` result examined; the specification caps
#: ``values`` at 100, and a server that sends more gets the rest dropped unseen.
MAX_COMPLETIONS = 100

#: Server notifications that something the client listed or read changed: recorded (routine),
#: passed on. What the client does next (list again, read again) is judged as always.
CHANGE_NOTIFICATIONS = frozenset({
    "notifications/tools/list_changed", "notifications/resources/list_changed",
    "notifications/prompts/list_changed", "notifications/resources/updated",
})  # fmt: skip


class Out(NamedTuple):
    """What one incoming message turns into: lines for the server and lines for the client."""

    to_server: tuple[bytes, ...] = ()
    to_client: tuple[bytes, ...] = ()
    #: Decision records of the call in ``to_server``, queued but not yet durable: the transport
    #: sends the lines, then hands this to :meth:`McpSession.commit`, so that its thread makes
    #: them durable while the server works (the answer waits for them in any case).
    gate: Gate | None = None


class Gate:
    """The decision records of one forwarded call, and whether they became durable.

    Settled once, by whichever thread gets there first (:meth:`McpSession.commit` on the
    transport's thread right after forwarding, usually; else the thread that relays the
    answer); any other thread waits for that one. One thread per call waits on the log's
    receipts: two waiters on one batch make the log's group commit expect two producers back
    and hold the next commit up to 1 ms for the second (``GATHER_SECONDS``), measured +1 ms a call.
    """

    __slots__ = ("_claimed", "_settled", "failure", "receipts")

    def __init__(self, receipts: tuple[Receipt, ...]) -> None:
        self.receipts = receipts
        self.failure: str | None = None  # why the records are not durable, once settled
        self._claimed = threading.Lock()
        self._settled = threading.Event()

    def done(self) -> bool:
        """Settled, or every receipt resolved (so settling would not block)."""
        return self._settled.is_set() or all(r.done() for r in self.receipts)

    def settled(self) -> bool:
        """Settled: whether the records are durable is known (:attr:`failure`)."""
        return self._settled.is_set()

    def settle(self, durable: Callable[[Receipt], str | None], *,
               wait: bool = True) -> str | None:  # fmt: skip
        """Wait until the records are durable: ``None``, or why they are not. ``wait=False``:
        commit them if no other thread is at it, else return at once."""
        if self._claimed.acquire(blocking=False):
            self.failure = "interrupted before the records were durable"  # until proven
            try:
                failure = None
                for receipt in self.receipts:
                    failure = durable(receipt)
                    if failure is not None:
                        break
                self.failure = failure
            finally:
                self._settled.set()
        elif wait:
            self._settled.wait()
        return self.failure


_NOTHING = Out()


@dataclass(frozen=True, slots=True, kw_only=True)
class McpConfig:
    """How the proxy judges (from the command line, ``docs/mcp.md``)."""

    #: The server's name in tool names (``mcp__<server>__<tool>``); ``None``: from the server.
    server_name: str | None = None
    #: The fallback server name (the command's basename) when the server names none.
    default_server_name: str = "mcp"
    workspace: str | None = None
    cwd: str | None = None
    #: Treat an ``ask`` verdict as allow (the default denies it: there is no one to ask).
    on_ask_allow: bool = False
    #: Keep poisoned and changed tools (and poisoned resources, templates and prompts) in the
    #: lists the client sees, and let flagged sampling and elicitation requests through (all
    #: still recorded as flagged).
    keep_flagged: bool = False
    #: Leave secret values in tool results (a warning is still added).
    unsafe_pass_secrets: bool = False
    #: Strict write-ahead: an allowed call is forwarded only once its decision is durable. The
    #: default forwards it as soon as its decision records are queued and withholds the
    #: server's answer until they are durable (see :meth:`McpSession._check`).
    write_ahead: bool = False
    session_id: str = field(default_factory=lambda: "mcp-" + uuid.uuid4().hex[:16])


class _Pending(NamedTuple):
    method: str
    tool: str = ""
    tool_use_id: str | None = None
    started: float = 0.0
    #: The decision records of a call forwarded before they were durable: its answer goes to
    #: the client only once they have all resolved (and an error if one failed).
    gate: Gate | None = None


#: A server message's outcome held until the gates it waits for are settled (``hold_answers``).
_Held = tuple[tuple[Gate, ...], Callable[[], Out], "rpc.Message | None"]


def _key(req_id: Any) -> tuple[str, Any]:
    return (type(req_id).__name__, req_id)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


class McpSession:
    """One proxied MCP conversation. Thread-safe: the two relay directions may call at once."""

    def __init__(
        self,
        config: McpConfig,
        guard: Guard | None,
        *,
        refuse_reason: str | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        if guard is None and refuse_reason is None:
            raise ValueError("a session needs a guard or a reason to refuse everything")
        self.config = config
        self.guard = guard
        self.refuse_reason = refuse_reason
        self._warn = warn or (lambda text: print(f"warden mcp: {text}", file=sys.stderr))
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, Any], _Pending] = {}
        self._seen: dict[str, str] = {}  # tool name -> first fingerprint
        self._removed: dict[str, str] = {}  # tool name -> why it was removed
        #: resources, templates, prompts: "kind:identity" -> first fingerprint / why removed
        self._entries_seen: dict[str, str] = {}
        self._entries_removed: dict[str, str] = {}
        self._templates_removed: list[tuple[re.Pattern[str], str, str]] = []
        #: elicitation requests awaiting the user's answer: key -> fields that ask for a secret
        self._elicitations: dict[tuple[str, Any], tuple[str, ...]] = {}
        self._server_name: str | None = config.server_name
        self._client_name: str | None = None
        self._stopped: str | None = None  # set by a kill verdict
        self._server_gone: str | None = None
        self._receipts: list[Any] = []
        #: Forwarded calls whose decision records are not yet known to be durable.
        self._inflight: list[Gate] = []
        #: Strict write-ahead: from the start (``config.write_ahead``), or for the rest of the
        #: session once a decision record of a forwarded call failed to become durable.
        self._write_ahead = config.write_ahead
        self._deferred: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        #: :meth:`hold_answers`: where held outcomes go, the outcomes (with the gates each
        #: waits for), and the lock that keeps their delivery in order
        self._deliver: Callable[[Out], object] | None = None
        self._held: deque[_Held] = deque()
        self._delivering = threading.Lock()

    # --- client -> server ----------------------------------------------------------------------

    def from_client(self, line: bytes) -> Out:
        """Handle one line from the client. Never raises."""
        try:
            msg = rpc.decode(line)
        except InputError as exc:
            parse = exc.__cause__ is not None  # undecodable JSON or UTF-8, not a bad shape
            return self._refuse_unparsed(line, f"warden refused a malformed message: {exc}",
                                         rpc.PARSE_ERROR if parse else rpc.INVALID_REQUEST)
        try:
            return self._client_message(msg)
        except Exception as exc:  # a bug: deny, never pass a request unchecked
            reason = f"warden internal error ({type(exc).__name__}: {exc}); the request is refused"
            self._note("error", {"error": _clip(reason)})
            if msg.kind is rpc.Kind.REQUEST:
                return Out(to_client=(self._error(msg.id, reason),))
            return _NOTHING

    def oversized_from_client(self, head: bytes, size: int) -> Out:
        """A line longer than :data:`~.jsonrpc.MAX_MESSAGE_BYTES` (only its head was kept)."""
        return self._refuse_unparsed(head, f"warden refused a message of {size} bytes or more "
                                     f"(the limit is {rpc.MAX_MESSAGE_BYTES})",
                                     rpc.INVALID_REQUEST)  # fmt: skip

    def _refuse_unparsed(self, raw: bytes, reason: str, code: int) -> Out:
        self._note("client-error", {"error": _clip(reason)})
        req_id = rpc.guess_id(raw)
        return Out(to_client=(rpc.encode(rpc.error_response(req_id, code, _clip(reason))),))

    def _client_message(self, msg: rpc.Message) -> Out:
        if msg.kind is rpc.Kind.BATCH:
            return self._client_batch(msg)
        if msg.kind is not rpc.Kind.REQUEST:
            if msg.method == "notifications/cancelled":  # no answer will come for that id
                request_id = msg.params.get("requestId")
                if isinstance(request_id, str | int) and not isinstance(request_id, bool):
                    self._take(request_id)
            if msg.kind is rpc.Kind.RESPONSE:
                refused = self._client_answer(msg)
                if refused is not None:
                    return refused
            return Out(to_server=(msg.raw + b"\n",))  # notifications, answers to the server
        if self.refuse_reason is not None:
            return Out(to_client=(self._error(msg.id, self.refuse_reason),))
        if self._server_gone is not None:
            return Out(to_client=(self._error(msg.id, self._server_gone),))
        self._note_client(msg.params)
        if isinstance(msg.params.get("inputResponses"), dict):  # a 2026-07-28 retry
            refusal = self._input_responses(msg.params["inputResponses"])
            if refusal is not None:
                return self._refuse_retry(msg, refusal)
        if msg.method == "tools/call":
            return self._tool_call(msg)
        if msg.method == "resources/read":
            return self._resource_read(msg)
        if msg.method == "prompts/get":
            removed = self._removed_entry("prompt", msg.params.get("name"))
            if removed is not None:  # recorded like a refused call, durably, then answered
                self._synthetic("prompts/get", None, Verdict.DENY, removed)
                return Out(to_client=(self._error(msg.id, removed),))
        method = msg.method or ""
        what = _completion_ref(msg.params) if method == "completion/complete" else ""
        if not self._remember(msg.id, _Pending(method, what, started=time.perf_counter())):
            return Out(to_client=(self._error(msg.id, "too many requests in flight"),))
        return Out(to_server=(msg.raw + b"\n",))

    def _client_batch(self, msg: rpc.Message) -> Out:
        """JSON-RPC batches were removed from MCP in 2025-06-18; a batch could carry a
        tools/call past the per-message check, so every request in one is refused."""
        reason = ("warden does not relay JSON-RPC batches (removed from MCP in 2025-06-18); "
                  "send each message on its own line")  # fmt: skip
        self._note("client-error", {"error": reason})
        errors = [
            rpc.error_response(item["id"], rpc.INVALID_REQUEST, reason)
            for item in msg.data
            if isinstance(item, dict) and "method" in item and "id" in item
        ]
        if not errors:
            return _NOTHING
        return Out(to_client=(rpc.encode(errors),))

    def _note_client(self, params: dict[str, Any]) -> None:
        meta = params.get("_meta")
        info = params.get("clientInfo")
        if isinstance(meta, dict) and isinstance(meta.get(_CLIENT_INFO), dict):
            info = meta[_CLIENT_INFO]
        if isinstance(info, dict) and isinstance(info.get("name"), str):
            self._client_name = info["name"][:200]

    def _remember(self, req_id: Any, pending: _Pending) -> bool:
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                return False
            self._pending[_key(req_id)] = pending
            return True

    @property
    def server_name(self) -> str:
        return self._server_name or self.config.default_server_name

    def _tool_call(self, msg: rpc.Message) -> Out:
        params = msg.params
        tool = params.get("name")
        meta = params.get("_meta")
        tool_use_id = None
        if isinstance(meta, dict):
            for key in TOOL_USE_ID_KEYS:
                if isinstance(meta.get(key), str):
                    tool_use_id = meta[key][:200]
                    break
        if not isinstance(tool, str) or not tool:
            return Out(to_client=(self._error(msg.id, "tools/call needs a tool `name`",
                                              code=rpc.INVALID_REQUEST),))  # fmt: skip
        decision, gate = self._judge(tool, params.get("arguments"), tool_use_id)
        if decision.verdict is Verdict.KILL:
            self._stopped = decision.reason
        if self._blocks(decision):
            text = self._block_text(decision)
            meta_out = {"warden/verdict": str(decision.verdict),
                        "warden/rules": list(decision.rules)}  # fmt: skip
            return Out(to_client=(rpc.encode(rpc.tool_error_result(msg.id, text, meta_out)),))
        pending = _Pending("tools/call", tool, tool_use_id, time.perf_counter(), gate)
        if not self._remember_gated(msg.id, pending):
            return Out(to_client=(self._error(msg.id, "too many requests in flight"),))
        # Re-encoded from what was judged, not the client's bytes: a JSON text with a key twice
        # ({"path": "a", "path": "~/.ssh/id_rsa"}) means whatever each parser decides, and the
        # server must receive the one reading warden judged.
        return Out(to_server=(rpc.encode(msg.data),), gate=gate)

    def _resource_read(self, msg: rpc.Message) -> Out:
        """A ``resources/read`` names what the server will open (``file:///home/u/.ssh/id_rsa``
        through a filesystem server is a key read): judged and recorded like a tool call, and
        refused with a JSON-RPC error (the method has no error result) that gives the reason."""
        uri = msg.params.get("uri")
        tool = "resources/read"
        gate: Gate | None = None
        removed = self._removed_entry("resource", uri)
        if removed is not None:
            decision = self._synthetic(tool, None, Verdict.DENY, removed)
        elif self._stopped is not None:
            decision = self._synthetic(tool, None, Verdict.DENY,
                                       f"the session was stopped earlier: {self._stopped}")
        else:
            ctx = CallContext(server=self.server_name, cwd=self.config.cwd,
                              session_id=self.config.session_id, agent=self._client_name)
            try:
                decision, gate = self._check(map_resource_read(uri, ctx))
            except InputError as exc:
                decision = self._synthetic(tool, None, Verdict.DENY,
                                           f"the resource cannot be judged: {exc}")
        if decision.verdict is Verdict.KILL:
            self._stopped = decision.reason
        if self._blocks(decision):
            text = self._block_text(decision).replace("this tool call", "this resource read")
            data = {"warden/verdict": str(decision.verdict), "warden/rules": list(decision.rules)}
            return Out(to_client=(rpc.encode(rpc.error_response(msg.id, rpc.SERVER_ERROR, text,
                                                                data)),))  # fmt: skip
        uri_text = uri[:500] if isinstance(uri, str) else ""
        if not self._remember_gated(msg.id, _Pending(tool, uri_text, None, time.perf_counter(),
                                                     gate)):  # fmt: skip
            return Out(to_client=(self._error(msg.id, "too many requests in flight"),))
        # the reading warden judged (see tools/call)
        return Out(to_server=(rpc.encode(msg.data),), gate=gate)

    def _blocks(self, decision: Decision) -> bool:
        """Whether the call is answered by warden instead of being forwarded."""
        return decision.verdict >= Verdict.DENY or (
            decision.verdict is Verdict.ASK and not self.config.on_ask_allow
        )

    def _remember_gated(self, req_id: Any, pending: _Pending) -> bool:
        """:meth:`_remember`, and the call's gate joins the ones every message from the server
        waits for (:meth:`settle`). A call refused here is not forwarded; its records are
        still waited for by :meth:`close`."""
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                if pending.gate is not None:
                    self._receipts.extend(pending.gate.receipts)
                return False
            self._pending[_key(req_id)] = pending
            if pending.gate is not None:
                self._inflight.append(pending.gate)
            return True

    def _block_text(self, decision: Decision) -> str:
        reason = decision.agent_reason or f"warden blocked this tool call: {decision.reason}"
        if decision.verdict is Verdict.ASK:
            reason = (f"warden blocked this tool call: it needs the user's approval "
                      f"({decision.reason}) and no one can be asked through MCP. Ask the user "
                      "to run it or to change warden's policy.")  # fmt: skip
        return _clip(reason)

    def _judge(self, tool: str, arguments: Any,
               tool_use_id: str | None) -> tuple[Decision, Gate | None]:  # fmt: skip
        """The decision for one call (recorded by the guard; see :meth:`_check` for the
        gate). Never raises."""
        if self._stopped is not None:
            return self._synthetic(tool, tool_use_id, Verdict.DENY,
                                   f"the session was stopped earlier: {self._stopped}"), None
        removed = self._removed.get(tool)
        if removed is not None:
            return self._synthetic(tool, tool_use_id, Verdict.DENY,
                                   f"warden removed tool {tool!r} from this server's list: "
                                   f"{removed}"), None  # fmt: skip
        ctx = CallContext(server=self.server_name, cwd=self.config.cwd,
                          session_id=self.config.session_id, tool_use_id=tool_use_id,
                          agent=self._client_name)  # fmt: skip
        try:
            actions = map_call(tool, arguments, ctx)
        except InputError as exc:
            return self._synthetic(tool, tool_use_id, Verdict.DENY,
                                   f"the call's arguments cannot be judged: {exc}"), None
        return self._check(actions)

    def _check(self, actions: list[Action]) -> tuple[Decision, Gate | None]:
        """Judge the call's actions and queue their records (one commit for all of them), with
        the contract of :meth:`warden.guard.Guard.check_many`: a decision that cannot be
        recorded is a deny.

        A call that will be refused (deny, kill, an ask that is not allowed) waits here until
        its records are durable: the refusal is answered after that. So does every call in
        strict write-ahead mode (``--write-ahead``, or after a record of this session failed).
        Otherwise an allowed call is forwarded as soon as its records are queued, with a
        :class:`Gate` on them: the server's answer waits for it (:meth:`settle`), so the
        durable write overlaps the call itself and the client never sees a result whose
        decision is not durable (``docs/mcp.md``, "Durability"). They are queued without
        waking the log's writer thread (``wake=False``): the thread that settles the gate
        commits them itself. Woken here, the writer thread took the GIL for the commit's
        Python work while the transport's thread was forwarding the call, and the answer
        then waited for two thread hand-offs after the fsync."""
        from warden.check.engine import CheckContext
        from warden.guard import decision_record

        assert self.guard is not None  # refuse_reason is set otherwise
        context = CheckContext(cwd=self.config.cwd, workspace=self.config.workspace)
        try:
            decisions = [self.guard.engine.check(action, context) for action in actions]
        except Exception as exc:  # the engine's own contract is not to raise; fail closed anyway
            return Decision(verdict=Verdict.DENY, severity=Severity.HIGH,
                            reason=f"warden could not judge this call ({type(exc).__name__}: "
                            f"{exc})", error=str(exc)), None  # fmt: skip
        final = max(decisions, key=lambda d: (d.verdict, d.severity))
        log = self.guard.log
        if log is None:
            return final, None
        try:
            entries = [decision_record(a, d) for a, d in zip(actions, decisions, strict=True)]
            if not self._blocks(final) and not self._strict():
                return final, Gate(tuple(log.append_nowait(record, payload=payload, wake=False)
                                         for record, payload in entries))  # fmt: skip
            # Waited for here: the last record is appended by this thread, which then commits
            # everything queued up to it itself (append_nowait would wake the log's writer
            # thread, and this one would wait for that thread: a hand-off per call).
            receipts = [log.append_nowait(record, payload=payload)
                        for record, payload in entries[:-1]]  # fmt: skip
            log.append(entries[-1][0], payload=entries[-1][1])
            for receipt in receipts:
                receipt.result()  # committed by now (in order); raises if its batch failed
        except Exception as exc:
            decisions = [unrecorded(d, exc) for d in decisions]
            final = max(decisions, key=lambda d: (d.verdict, d.severity))
        return final, None

    def _strict(self) -> bool:
        """Whether calls wait for their records before they are forwarded: ``write_ahead``,
        or a decision record of a call forwarded earlier has failed (then for good: a log
        that is failing refuses calls before they run, as in write-ahead mode)."""
        if self._write_ahead:
            return True
        with self._lock:
            settled = [g for g in self._inflight if g.done()]
        for gate in settled:
            gate.settle(self._durable)  # does not block; a failure sets _write_ahead
        return self._write_ahead

    def _durable(self, receipt: Receipt, timeout: float | None = None) -> str | None:
        """Wait for one decision receipt; ``None`` once durable, else why not (and the
        session turns to strict write-ahead)."""
        try:
            receipt.result(timeout)
            return None
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if not self._write_ahead:
            self._write_ahead = True
            self._warn(f"an audit record of a forwarded call failed ({reason}); its answer is "
                       "withheld, and later calls wait for their records before they run")
        return reason

    def commit(self, gate: Gate | None) -> None:
        """Make a forwarded call's decision records durable (:attr:`Out.gate`), on the calling
        thread: the transport calls this once the call is on its way to the server, so the
        commit runs while the server works, usually with no hand-off to the log's writer
        thread. A failure is reported and remembered; the call's answer is then withheld."""
        if gate is not None:
            gate.settle(self._durable)
            self._deliver_held()  # the answer may be waiting for just this (hold_answers)

    def settle(self) -> None:
        """Wait until the decision records of every call forwarded so far are durable (or
        failed). Called before anything from the server goes to the client: a message the
        server sent after it was handed a call (its answer, a notification about it) is
        released only once that call's decision is durable."""
        with self._lock:
            if not self._inflight:
                return
            waiting = list(self._inflight)
        for gate in waiting:
            gate.settle(self._durable)
        with self._lock:
            self._inflight = [g for g in self._inflight if g not in waiting]

    def undurable(self, req_id: Any) -> str | None:
        """Why the answer to the forwarded request ``req_id`` must be withheld (its decision
        records failed), or ``None``. Waits for them; does not forget the request."""
        with self._lock:
            pending = self._pending.get(_key(req_id))
        if pending is None or pending.gate is None:
            return None
        return pending.gate.settle(self._durable)

    def _synthetic(self, tool: str, tool_use_id: str | None, verdict: Verdict,
                   reason: str) -> Decision:  # fmt: skip
        """A decision the proxy makes itself (invalid input, removed tool), recorded like the
        guard's: durable before the answer, and a log failure is still a deny."""
        from warden.action import Action, ActionKind
        from warden.guard import decision_record

        decision = Decision(verdict=verdict, severity=Severity.HIGH, reason=reason,
                            agent_reason=f"warden blocked this tool call: {reason}",
                            rules=("mcp.proxy",))  # fmt: skip
        if self.guard is not None and self.guard.log is not None:
            action = Action(kind=ActionKind.MCP, tool=mcp_tool_name(self.server_name, tool[:200]),
                            mcp_server=self.server_name, session_id=self.config.session_id,
                            tool_use_id=tool_use_id, agent=self._client_name,
                            source="mcp")  # fmt: skip
            try:
                record, payload = decision_record(action, decision)
                self.guard.log.append(record, payload=payload)
            except (WardenError, OSError) as exc:
                self._warn(f"audit log write failed: {exc}")
        return decision

    # --- server -> client ----------------------------------------------------------------------

    def from_server(self, line: bytes) -> Out:
        """Handle one line from the server (untrusted too). Never raises.

        Inspected first, released after: the scan overlaps the commit of the forwarded calls'
        decisions, and nothing the server sent goes on before they are durable. By default
        this waits for them and returns what to send; once the transport has called
        :meth:`hold_answers`, it returns nothing and the outcome is delivered when they are
        durable, by the thread that made them so."""
        try:
            msg = rpc.decode(line)
        except InputError as exc:
            out = self._server_garbage(line, f"the MCP server sent a malformed message: {exc}")
            return self._release(lambda: out, None)
        pending: _Pending | None = None
        try:
            if msg.kind is rpc.Kind.BATCH:
                out = self._server_batch(msg)
            else:
                out, pending = self._server_message(msg)
        except Exception as exc:  # a bug: withhold what could not be inspected
            out = self._server_bug(msg, exc)
        return self._release(lambda: self._answer_durable(msg, out, pending), msg,
                             pending.gate if pending is not None else None)

    def hold_answers(self, deliver: Callable[[Out], object]) -> None:
        """From now on :meth:`from_server` never waits for the forwarded calls' decision
        records: it queues its outcome, and whichever thread finds them durable (usually the
        one that committed them, :meth:`commit`) hands it to ``deliver``, in the order the
        server sent it. The stdio transport uses this: the client's thread commits a call's
        records and then writes the answer itself, instead of waking the server's thread
        to write it (a thread hand-off after the fsync, on the answer's path)."""
        self._deliver = deliver

    def _release(self, finish: Callable[[], Out], msg: rpc.Message | None,
                 own: Gate | None = None) -> Out:  # fmt: skip
        """What :meth:`from_server` returns for an outcome ``finish`` gives once the records
        of every call forwarded so far are durable (see there)."""
        if self._deliver is None:
            try:
                self.settle()
                return finish()
            except Exception as exc:
                return self._server_bug(msg, exc)
        if own is not None:  # committed here if the client's thread has not got to it yet
            own.settle(self._durable, wait=False)
        with self._lock:
            waits = tuple(g for g in self._inflight if not g.settled())
            self._held.append((waits, finish, msg))
        self._deliver_held()
        return _NOTHING

    def _deliver_held(self) -> None:
        """Deliver the held outcomes whose records are durable, oldest first (one thread at a
        time, so the order is the server's). Any thread may call it after settling a gate,
        or after holding an outcome; one of the two finds it ready."""
        deliver = self._deliver
        if deliver is None:
            return
        with self._delivering:
            while True:
                with self._lock:
                    if not self._held or not all(g.done() for g in self._held[0][0]):
                        self._inflight = [g for g in self._inflight if not g.settled()]
                        return
                    _, finish, msg = self._held.popleft()
                try:
                    out = finish()  # settles its own gate: does not block, its batch is done
                except Exception as exc:
                    out = self._server_bug(msg, exc)
                deliver(out)

    def _server_bug(self, msg: rpc.Message | None, exc: Exception) -> Out:
        """A bug: withhold what could not be inspected; a response becomes an error."""
        reason = f"warden internal error on a server message ({type(exc).__name__}: {exc})"
        self._note("error", {"error": _clip(reason)})
        self._warn(reason)
        if msg is not None and msg.kind is rpc.Kind.RESPONSE:
            return Out(to_client=(self._error(msg.id, reason),))
        return _NOTHING

    def oversized_from_server(self, head: bytes, size: int) -> Out:
        out = self._server_garbage(head, f"the MCP server sent a message of {size} bytes or "
                                   f"more (the limit is {rpc.MAX_MESSAGE_BYTES})")  # fmt: skip
        return self._release(lambda: out, None)  # in order with what the server sent before

    def _server_garbage(self, raw: bytes, reason: str) -> Out:
        """Drop it; if it was visibly the answer to a waiting request, answer that with an error."""
        self._note("server-error", {"error": _clip(reason)})
        self._warn(reason)
        req_id = rpc.guess_id(raw)
        if req_id is not None and self._take(req_id) is not None:
            return Out(to_client=(self._error(req_id, reason),))
        return _NOTHING

    def _server_batch(self, msg: rpc.Message) -> Out:
        """Each element on its own, so no response escapes inspection inside a batch."""
        to_client: list[bytes] = []
        to_server: list[bytes] = []  # warden's own answers to server requests (a refused sampling)
        for item in msg.data:
            each = self.from_server(rpc.encode(item))
            to_client.extend(each.to_client)
            to_server.extend(each.to_server)
        return Out(to_server=tuple(to_server), to_client=tuple(to_client))

    def _take(self, req_id: Any) -> _Pending | None:
        with self._lock:
            return self._pending.pop(_key(req_id), None)

    def _server_message(self, msg: rpc.Message) -> tuple[Out, _Pending | None]:
        """What to send for one server message, and the request it answers (if any): that
        request's own records decide whether the answer may go (:meth:`_answer_durable`)."""
        passthrough = Out(to_client=(msg.raw + b"\n",))
        if msg.kind is rpc.Kind.REQUEST and msg.method == "sampling/createMessage":
            return self._sampling(msg), None
        if msg.kind is rpc.Kind.REQUEST and msg.method == "elicitation/create":
            return self._elicitation(msg), None
        if msg.kind is not rpc.Kind.RESPONSE:
            if msg.method in CHANGE_NOTIFICATIONS:
                self._change_notification(msg)
            return passthrough, None  # other server requests (roots, tasks) and notifications
        pending = self._take(msg.id)
        if pending is None:
            # Not an answer to anything the client asked (or asked and already answered): a
            # server could otherwise slip an unscanned "result" under a guessed future id.
            reason = f"the MCP server sent an unsolicited response (id {msg.id!r}); dropped"
            self._note("server-error", {"error": _clip(reason)})
            self._warn(reason)
            return _NOTHING, None
        return self._answer(msg, pending), pending

    def _answer_durable(self, msg: rpc.Message, out: Out, pending: _Pending | None) -> Out:
        """``out``, or an error in its place if the records of the request it answers could
        not be made durable (waits for them)."""
        if pending is None or pending.gate is None:
            return out
        failure = pending.gate.settle(self._durable)
        if failure is None:
            return out
        # fail closed: no result whose decision is not durable
        reason = (f"warden withheld the server's answer: the audit log could not record "
                  f"the decision for this {pending.method} ({failure}); it may have "
                  "run, unrecorded")  # fmt: skip
        self._note("error", {"error": _clip(reason), "method": pending.method,
                             "tool": pending.tool})  # fmt: skip
        self._warn(reason)
        return Out(to_client=(self._error(msg.id, reason),))

    def _answer(self, msg: rpc.Message, pending: _Pending) -> Out:
        """The server's answer to ``pending``, inspected (scanned, recorded, rewritten on a
        hit); released by the caller only once the request's decision is durable."""
        passthrough = Out(to_client=(msg.raw + b"\n",))
        error = msg.data.get("error")
        if isinstance(error, dict) and error.get("code") == URL_ELICITATION_REQUIRED:
            return self._url_elicitation_error(msg, error)
        result = msg.data.get("result")
        # on any method: the specification allows it on three, a lenient client may act on more
        if (isinstance(result, dict) and result.get("resultType") == "input_required"
                and isinstance(result.get("inputRequests"), dict)):  # fmt: skip
            refused, changed = self._input_required(msg, result, pending)
            if refused is not None:
                return refused
            if changed is not None:
                result = changed
                msg = rpc.Message(rpc.Kind.RESPONSE, rpc.encode({**msg.data, "result": changed})
                                  .rstrip(b"\n"), {**msg.data, "result": changed}, id=msg.id)
                passthrough = Out(to_client=(msg.raw + b"\n",))
        if not isinstance(result, dict):
            if pending.method == "tools/call":
                self._note("tool_result", {"tool": pending.tool, "tool_use_id":
                                           pending.tool_use_id, "outcome": "error"})  # fmt: skip
            return passthrough
        self._note_server(result)
        if pending.method == "tools/call":
            return self._tool_result(msg, result, pending)
        if pending.method == "tools/list":
            return self._tools_list(msg, result)
        if pending.method in ("initialize", "server/discover"):
            return self._instructions(msg, result)
        if pending.method in ("resources/read", "prompts/get"):
            return self._context_result(msg, result, pending)
        if pending.method in LISTINGS:
            return self._entries_list(msg, result, pending.method)
        if pending.method == "completion/complete":
            return self._completion(msg, result, pending)
        return passthrough

    def _context_result(self, msg: rpc.Message, result: dict[str, Any], p: _Pending) -> Out:
        """A resource's contents or a prompt's messages: they enter the model's context like a
        tool's output, so they are scanned, recorded and rewritten on a hit the same way."""
        from warden.integrations.mcp.results import inspect_prompt, inspect_resource

        inspect = inspect_resource if p.method == "resources/read" else inspect_prompt
        found = inspect(result, pass_secrets=self.config.unsafe_pass_secrets)
        kind = "resource_result" if p.method == "resources/read" else "prompt_result"
        extra: dict[str, Any] = {"uri": p.tool} if p.method == "resources/read" else {}
        extra |= {"ms": round((time.perf_counter() - p.started) * 1000, 3), **found.record}
        self._note(kind, extra, {"output": found.redacted}, durable=found.flagged)
        if found.rewritten is None:
            return Out(to_client=(msg.raw + b"\n",))
        return Out(to_client=(rpc.encode({**msg.data, "result": found.rewritten}),))

    def _sampling(self, msg: rpc.Message) -> Out:
        """A server asking the client's model to generate (``sampling/createMessage``): the
        server chose every word of that prompt. Secrets in it are redacted (the client's model
        provider would receive them); planted instructions make warden refuse the request to
        the server, unless ``keep_flagged``; either way it is recorded."""
        from warden.integrations.mcp.results import inspect_sampling

        found = inspect_sampling(msg.params, pass_secrets=self.config.unsafe_pass_secrets)
        refused = found.flagged and not self.config.keep_flagged
        flagged = found.flagged or found.rewritten is not None
        self._note("sampling", {**found.record, "refused": refused}, {"output": found.redacted},
                   durable=flagged)  # fmt: skip
        if refused:
            signals = ", ".join(found.record["injection"])
            reason = (f"warden refused this sampling request: its prompt carries instructions "
                      f"aimed at the model ({signals})")  # fmt: skip
            self._warn(reason)
            return Out(to_server=(rpc.encode(rpc.error_response(msg.id, rpc.SERVER_ERROR,
                                                                reason)),))  # fmt: skip
        if found.rewritten is None:
            return Out(to_client=(msg.raw + b"\n",))
        return Out(to_client=(rpc.encode({**msg.data, "params": found.rewritten}),))

    # --- elicitation ---------------------------------------------------------------------------

    def _judge_url(self, url: str) -> tuple[tuple[str, ...], str] | None:
        """The policy's word on sending the user to ``url`` (a GET of it, judged by the engine
        like a fetch, not recorded as a decision): ``None`` when allowed, else the rules and the
        reason. Fails closed: an engine error refuses."""
        from warden.action import Action, ActionKind
        from warden.check.engine import CheckContext

        if self.guard is None:
            return ("mcp.proxy",), "no policy"
        try:
            action = Action(kind=ActionKind.HTTP, url=url, method="GET", source="mcp",
                            tool=mcp_tool_name(self.server_name, "elicitation/create"),
                            mcp_server=self.server_name, session_id=self.config.session_id,
                            agent=self._client_name)  # fmt: skip
            decision = self.guard.engine.check(action, CheckContext(
                cwd=self.config.cwd, workspace=self.config.workspace))  # fmt: skip
        except Exception as exc:
            return ("mcp.proxy",), f"the URL could not be judged ({type(exc).__name__})"
        if decision.verdict >= Verdict.DENY:
            return tuple(decision.rules) or ("mcp.proxy",), decision.reason
        return None

    def _inspect_elicitation(self, params: Any, via: str, key: tuple[str, Any] | None,
                             extra: dict[str, Any] | None = None) -> tuple[bool, str]:  # fmt: skip
        """Inspect, record and remember one elicitation request; (refused, reason)."""
        from warden.check.secrets import redact_text
        from warden.integrations.mcp.elicit import inspect_elicitation, sensitive_texts

        found = inspect_elicitation(params, judge=self._judge_url)
        refused = found.flagged and not self.config.keep_flagged
        shown = sensitive_texts(params) if isinstance(params, dict) else ""
        if isinstance(params, dict) and isinstance(params.get("url"), str):
            shown = params["url"][:8192] + "\n" + shown
        self._note("elicitation", {**found.record, "via": via, **(extra or {}),
                                   "refused": refused, "reason": _clip(found.reason) or None},
                   {"output": redact_text(shown)}, durable=found.flagged)  # fmt: skip
        if found.flagged:
            self._warn(f"server {self.server_name!r} sent an elicitation request that "
                       f"{found.reason}" + (" (refused)" if refused else " (kept)"))
        if key is not None and not refused:
            with self._lock:
                if len(self._elicitations) >= MAX_ELICITATIONS:
                    self._elicitations.pop(next(iter(self._elicitations)))
                self._elicitations[key] = found.sensitive_fields
        return refused, found.reason

    def _elicitation(self, msg: rpc.Message) -> Out:
        """A server's ``elicitation/create`` request (2025-06-18, 2025-11-25): a form or a URL
        put before the user. A flagged one (:mod:`.elicit`) is refused to the server with a
        JSON-RPC error, unless ``keep_flagged``; either way it is recorded (durably when
        flagged), and an unflagged one reaches the client unchanged."""
        refused, reason = self._inspect_elicitation(msg.params, "request", _key(msg.id))
        if refused:
            text = f"warden refused this elicitation request: {reason}"
            return Out(to_server=(self._error(msg.id, text),))
        return Out(to_client=(msg.raw + b"\n",))

    def _url_elicitation_error(self, msg: rpc.Message, error: dict[str, Any]) -> Out:
        """A ``URLElicitationRequiredError`` (2025-11-25): the error's ``data.elicitations``
        are URL-mode requests the client shows the user. If one is flagged, the client gets
        warden's error instead (unless ``keep_flagged``)."""
        data = error.get("data")
        items = data.get("elicitations") if isinstance(data, dict) else None
        reasons: list[str] = []
        for item in items[:64] if isinstance(items, list) else []:
            refused, reason = self._inspect_elicitation(item, "url_required_error", None)
            if refused:
                reasons.append(reason)
        if not reasons:
            return Out(to_client=(msg.raw + b"\n",))
        text = "warden refused the server's URL elicitation: " + "; ".join(reasons)
        return Out(to_client=(self._error(msg.id, text),))

    def _input_required(self, msg: rpc.Message, result: dict[str, Any], p: _Pending) -> tuple[
        Out | None, dict[str, Any] | None
    ]:  # fmt: skip
        """A 2026-07-28 ``input_required`` result: its ``inputRequests`` are the server's
        requests to the client (elicitation, sampling, roots). Elicitations are judged as above
        and sampling requests as :meth:`_sampling` judges them. If one is refused the client
        gets warden's refusal in place of the whole result (a tool error for ``tools/call``, a
        JSON-RPC error otherwise): there is no server request to answer, and a retry without
        the refused input would only be asked again. Returns (refusal, redacted result)."""
        from warden.integrations.mcp.results import inspect_sampling

        requests: dict[str, Any] = result["inputRequests"]
        reasons: list[str] = []
        changed: dict[str, Any] | None = None
        for index, (name, request) in enumerate(requests.items()):
            if index >= 256:
                reasons.append("more than 256 input requests")
                break
            if not isinstance(request, dict):
                continue
            method, params = request.get("method"), request.get("params")
            where = {"input_key": str(name)[:200], "for": p.method, "tool": p.tool or None}
            if method == "elicitation/create":
                refused, reason = self._inspect_elicitation(params, "input_required",
                                                            ("input", str(name)), where)
                if refused:
                    reasons.append(f"input {str(name)[:100]!r}: {reason}")
            elif method == "sampling/createMessage":
                found = inspect_sampling(params if isinstance(params, dict) else {},
                                         pass_secrets=self.config.unsafe_pass_secrets)
                refused = found.flagged and not self.config.keep_flagged
                self._note("sampling", {**found.record, "refused": refused, "via":
                                        "input_required", **where},
                           {"output": found.redacted},
                           durable=found.flagged or found.rewritten is not None)  # fmt: skip
                if refused:
                    reasons.append(f"input {str(name)[:100]!r}: a sampling request whose prompt "
                                   "carries instructions aimed at the model ("
                                   + ", ".join(found.record["injection"]) + ")")
                elif found.rewritten is not None:
                    changed = changed or {**result, "inputRequests": dict(requests)}
                    changed["inputRequests"][name] = {**request, "params": found.rewritten}
        if not reasons or self.config.keep_flagged:
            return None, changed
        text = _clip("warden refused the server's request for input: " + "; ".join(reasons))
        self._warn(text)
        return self._refuse_input(msg.id, p.method, text), None

    def _refuse_input(self, req_id: Any, method: str, text: str) -> Out:
        """warden's answer to the client in place of a request's result when an input round
        (2026-07-28) is refused: a tool error for ``tools/call``, a JSON-RPC error otherwise."""
        if method == "tools/call":
            meta = {"warden/verdict": "deny", "warden/rules": ["mcp.elicitation"]}
            return Out(to_client=(rpc.encode(rpc.tool_error_result(req_id, text, meta)),))
        return Out(to_client=(self._error(req_id, text),))

    def _client_answer(self, msg: rpc.Message) -> Out | None:
        """A client's answer to a server request: an ``ElicitResult`` (``action``) is the
        user's own input, scanned for secrets and recorded redacted. Passed on, unless it looks
        like a secret and the policy says ``[mcp] elicitation_secrets = "deny"``: then the
        server gets a JSON-RPC error in its place (returned here; ``None``: pass it on)."""
        result = msg.data.get("result")
        with self._lock:
            fields = self._elicitations.pop(_key(msg.id), None)
        if fields is None and not (isinstance(result, dict)
                                   and isinstance(result.get("action"), str)):  # fmt: skip
            return None
        refused = self._elicit_answer(result, fields or (), {"via": "response"})
        if refused is None:
            return None
        return Out(to_server=(self._error(msg.id, refused),))

    def _input_responses(self, responses: dict[str, Any]) -> str | None:
        """A 2026-07-28 retry's ``inputResponses``: the ``ElicitResult`` among them are the
        user's answers (sampling and roots results are the client's own). Returns why the
        retry is refused (an answer the policy will not hand over), else ``None``."""
        refusals: list[str] = []
        for index, (name, answer) in enumerate(responses.items()):
            if index >= 256:
                break
            with self._lock:
                fields = self._elicitations.pop(("input", str(name)), None)
            if isinstance(answer, dict) and isinstance(answer.get("action"), str):
                refused = self._elicit_answer(answer, fields or (), {
                    "via": "input_responses", "input_key": str(name)[:200]})  # fmt: skip
                if refused is not None:
                    refusals.append(refused)
        return "; ".join(refusals) or None

    def _refuse_retry(self, msg: rpc.Message, reason: str) -> Out:
        """A 2026-07-28 retry whose ``inputResponses`` carry an answer warden will not hand
        over: answered by warden, never forwarded (the answer is in the request itself)."""
        return self._refuse_input(msg.id, msg.method or "", _clip(reason))

    def _refuses_secret_answers(self) -> bool:
        """``[mcp] elicitation_secrets = "deny"`` in the policy."""
        if self.guard is None:
            return False
        policy = getattr(self.guard.engine, "policy", None)
        verdict = getattr(policy, "mcp_elicitation_secrets", Verdict.ALLOW)
        return isinstance(verdict, Verdict) and verdict >= Verdict.DENY

    def _elicit_answer(self, result: Any, fields: tuple[str, ...],
                       extra: dict[str, Any]) -> str | None:  # fmt: skip
        """Record the user's answer (durably when it looks like a secret); the reason it is
        refused, or ``None`` when it goes on to the server."""
        import json

        from warden.integrations.mcp.elicit import inspect_answer

        found = inspect_answer(result, fields)
        refused = found.secret and self._refuses_secret_answers()
        record = {**found.record, **extra, "refused": refused}
        reason = None
        if refused:
            what = ", ".join(found.record["secrets"] + [
                f"field {f}" for f in found.record["sensitive_fields_answered"]])  # fmt: skip
            reason = (f"warden refused to pass the user's answer to server "
                      f"{self.server_name!r}: it looks like a secret ({what[:500]}), and the "
                      "policy says [mcp] elicitation_secrets = \"deny\"")  # fmt: skip
            record["note"] = ("the user's answer carries what looks like a secret; it was not "
                              "passed to the server ([mcp] elicitation_secrets = deny)")
        payload = json.dumps(found.redacted, ensure_ascii=False, default=str)[:16384]
        self._note("elicitation_answer", record, {"output": payload},
                   durable=found.secret)  # fmt: skip
        if refused:
            self._warn(reason or "")
        elif found.secret:
            self._warn(f"the user's answer to an elicitation of server {self.server_name!r} "
                       "carries what looks like a secret; passed on and recorded (redacted)")
        return reason

    # --- completion and change notifications -----------------------------------------------------

    def _completion(self, msg: rpc.Message, result: dict[str, Any], p: _Pending) -> Out:
        """A ``completion/complete`` result: suggestions the server wrote, which the client
        shows the user (and may put in a prompt the model reads). Each value is scanned like a
        tool's output (:func:`~warden.integrations.hooks.outputscan.scan_output`); one with a
        secret or planted instructions is dropped from the list, as a poisoned entry is from a
        listing, and the drop recorded durably (``completion``); values past
        :data:`MAX_COMPLETIONS` and values that are not strings are dropped too. A clean result
        passes byte for byte, recorded as routine. ``total``, when given, is lowered by the
        number dropped."""
        from warden.check.secrets import redact_text
        from warden.integrations.hooks.outputscan import scan_output

        completion = result.get("completion")
        values = completion.get("values") if isinstance(completion, dict) else None
        if not isinstance(completion, dict) or not isinstance(values, list):
            return Out(to_client=(msg.raw + b"\n",))
        kept: list[str] = []
        dropped: list[dict[str, Any]] = []
        shown: list[str] = []
        for index, value in enumerate(values):
            if index >= MAX_COMPLETIONS or not isinstance(value, str):
                dropped.append({"index": index, "flags": ["over-limit" if index >= MAX_COMPLETIONS
                                                          else "not-a-string"]})
                continue
            scan = scan_output(value)
            flags = [*scan.secrets, *(["injection"] if scan.injection.flagged else [])]
            if not flags:
                kept.append(value)
                continue
            dropped.append({"index": index, "flags": flags,
                            "injection": [h.signal for h in scan.injection.hits]})
            shown.append(redact_text(value[:4096]))
        flagged = [d for d in dropped if d["flags"][0] not in ("over-limit", "not-a-string")]
        self._note("completion", {"ref": p.tool or None, "values": len(values),
                                  "dropped": dropped[:MAX_COMPLETIONS], "flagged": bool(flagged),
                                  "ms": round((time.perf_counter() - p.started) * 1000, 3)},
                   {"output": "\n".join(shown)} if shown else None,
                   durable=bool(flagged))  # fmt: skip
        if not dropped:
            return Out(to_client=(msg.raw + b"\n",))
        if flagged:
            kinds = sorted({f for d in flagged for f in d["flags"]})
            self._warn(f"server {self.server_name!r} suggested {len(flagged)} completion "
                       f"value(s) carrying {', '.join(kinds)}; removed from the list")
        changed = {**completion, "values": kept}
        if isinstance(completion.get("total"), int) and not isinstance(completion["total"], bool):
            changed["total"] = max(len(kept), completion["total"] - len(dropped))
        new_result = {**result, "completion": changed}
        return Out(to_client=(rpc.encode({**msg.data, "result": new_result}),))

    def _change_notification(self, msg: rpc.Message) -> None:
        """A server's ``notifications/*/list_changed`` or ``notifications/resources/updated``:
        recorded (routine) and passed on. The client's next listing is compared with the
        first one of the session (changed tools removed, changed entries recorded), and its
        re-read of an updated resource is a ``resources/read``, judged like any other."""
        uri = msg.params.get("uri")
        self._note("notification", {"method": msg.method,
                                    "uri": uri[:500] if isinstance(uri, str) else None})

    # --- resource and prompt listings -----------------------------------------------------------

    def _removed_entry(self, kind: str, ident: Any) -> str | None:
        """Why a resource URI or prompt name was removed from its listing, or ``None``."""
        if not isinstance(ident, str) or (not self._entries_removed
                                          and not self._templates_removed):  # fmt: skip
            return None
        what = "resource" if kind == "resource" else "prompt"
        why = self._entries_removed.get(f"{kind}:{ident[:2000]}")
        if why is not None:
            return f"warden removed {what} {ident[:200]!r} from this server's list: {why}"
        if kind == "resource":
            for pattern, template, reason in self._templates_removed:
                if pattern.fullmatch(ident[:8192]):
                    return (f"warden removed the resource template {template[:200]!r} (which "
                            f"{ident[:200]!r} matches) from this server's list: {reason}")
        return None

    def _entries_list(self, msg: rpc.Message, result: dict[str, Any], method: str) -> Out:
        """A ``resources/list``, ``resources/templates/list`` or ``prompts/list`` result: its
        entries' descriptions reach the model like a tool's (a client puts them in its context
        for the model to pick from), so poisoned ones are recorded and, unless ``keep_flagged``,
        removed, as tools are (:meth:`_tools_list`), and stay removed; a later
        ``resources/read`` or ``prompts/get`` of a removed one (or of a URI a removed template
        matches) is refused. An entry that changed since its first listing in the session is
        recorded and reported, not removed: unlike a tool, nobody approved it, and resource
        listings change honestly (a memo's description, a new file); a change that brings
        instructions is poisoned, and removed as such."""
        field_name, _, kind = LISTINGS[method]
        entries = result.get(field_name)
        if not isinstance(entries, list):
            return Out(to_client=(msg.raw + b"\n",))
        findings: list[ToolFinding] = []
        kept: list[Any] = []
        keep = self.config.keep_flagged
        with self._lock:
            for entry in entries:
                if not isinstance(entry, dict):
                    continue  # not an entry: nothing the client could use; dropped
                finding = inspect_entry(kind, entry, self._entries_seen)
                ident = f"{kind}:{finding.name}"
                self._entries_seen.setdefault(ident, finding.fingerprint)
                if finding.flagged:
                    findings.append(finding)
                # a change alone is recorded, not removed (see above)
                if finding.poisoned and not keep and ident not in self._entries_removed:
                    self._entries_removed[ident] = finding.reason()
                    if kind == "resource_template":
                        self._templates_removed.append(
                            (_template_pattern(finding.name), finding.name, finding.reason()))
                if ident in self._entries_removed and not keep:
                    continue
                kept.append(entry)
        self._note(f"{kind}s_list", {
            "entries": len(entries),
            "flagged": [{"name": f.name[:200], "poisoned": f.poisoned, "changed": f.changed,
                         "signals": list(f.signals)} for f in findings],
            "removed": 0 if keep else len(entries) - len(kept),
        }, durable=bool(findings))  # fmt: skip
        what = kind.replace("_", " ")
        for f in findings:
            self._warn(f"{what} {f.name[:200]!r} of server {self.server_name!r}: {f.reason()}"
                       + ("" if keep or not f.poisoned else " (removed from the list)"))
        if keep or len(kept) == len(entries):
            return Out(to_client=(msg.raw + b"\n",))
        changed = {**result, field_name: kept}
        return Out(to_client=(rpc.encode({**msg.data, "result": changed}),))

    def _instructions(self, msg: rpc.Message, result: dict[str, Any]) -> Out:
        """The server's ``instructions`` (``InitializeResult``, ``DiscoverResult``) go into the
        model's context like a tool description: judged the same way, and removed when
        poisoned unless ``keep_flagged``."""
        text = result.get("instructions")
        if not isinstance(text, str) or not text:
            return Out(to_client=(msg.raw + b"\n",))
        finding = inspect_tool({"name": "", "description": text}, {})
        if not finding.poisoned:
            return Out(to_client=(msg.raw + b"\n",))
        removed = not self.config.keep_flagged
        self._note("instructions", {"signals": list(finding.signals), "removed": removed},
                   durable=True)  # fmt: skip
        self._warn(f"the server's instructions carry instructions aimed at the model "
                   f"({', '.join(finding.signals)})" + (" (removed)" if removed else ""))
        if not removed:
            return Out(to_client=(msg.raw + b"\n",))
        cleaned = {k: v for k, v in result.items() if k != "instructions"}
        return Out(to_client=(rpc.encode({**msg.data, "result": cleaned}),))

    def _note_server(self, result: dict[str, Any]) -> None:
        if self.config.server_name is not None:
            return
        info = result.get("serverInfo")
        meta = result.get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get(_SERVER_INFO), dict):
            info = meta[_SERVER_INFO]
        if isinstance(info, dict) and isinstance(info.get("name"), str) and info["name"]:
            name = info["name"][:100].replace("\x00", "")
            if self._server_name is None:
                self._server_name = name

    def _tool_result(self, msg: rpc.Message, result: dict[str, Any], p: _Pending) -> Out:
        """Scan a tool's result and record it; on a hit, the client sees
        :func:`~warden.integrations.mcp.results.inspect_result`'s rewritten result."""
        from warden.integrations.mcp.results import inspect_result

        found = inspect_result(result, pass_secrets=self.config.unsafe_pass_secrets)
        elapsed = round((time.perf_counter() - p.started) * 1000, 3)
        extra = {"tool": p.tool, "tool_use_id": p.tool_use_id, "ms": elapsed, **found.record}
        self._note("tool_result", extra, {"output": found.redacted}, durable=found.flagged)
        if found.rewritten is None:
            return Out(to_client=(msg.raw + b"\n",))
        return Out(to_client=(rpc.encode({**msg.data, "result": found.rewritten}),))

    def _tools_list(self, msg: rpc.Message, result: dict[str, Any]) -> Out:
        tools = result.get("tools")
        if not isinstance(tools, list):
            return Out(to_client=(msg.raw + b"\n",))
        findings: list[ToolFinding] = []
        kept: list[Any] = []
        with self._lock:
            for tool in tools:
                if not isinstance(tool, dict):
                    continue  # not a tool: nothing the client could call; dropped
                finding = inspect_tool(tool, self._seen)
                self._seen.setdefault(finding.name, finding.fingerprint)
                if finding.flagged:
                    findings.append(finding)
                    if not self.config.keep_flagged:
                        self._removed.setdefault(finding.name, finding.reason())
                if finding.name in self._removed and not self.config.keep_flagged:
                    continue  # flagged now or earlier in this session: stays removed
                kept.append(tool)
        self._note("tools_list", {
            "tools": len(tools),
            "flagged": [{"name": f.name[:200], "poisoned": f.poisoned, "changed": f.changed,
                         "signals": list(f.signals)} for f in findings],
            "removed": 0 if self.config.keep_flagged else len(findings),
        }, durable=bool(findings))  # fmt: skip
        for f in findings:
            self._warn(f"tool {f.name!r} of server {self.server_name!r}: {f.reason()}"
                       + ("" if self.config.keep_flagged else " (removed from the list)"))
        if not findings or self.config.keep_flagged or len(kept) == len(tools):
            return Out(to_client=(msg.raw + b"\n",))
        changed = {**result, "tools": kept}
        return Out(to_client=(rpc.encode({**msg.data, "result": changed}),))

    # --- lifecycle -----------------------------------------------------------------------------

    def server_exited(self, reason: str) -> Out:
        """The server is gone: every waiting request gets an error, and so will later ones."""
        self._server_gone = f"warden: {reason}"
        with self._lock:
            waiting = list(self._pending.values()), list(self._pending)
            self._pending.clear()
        self._note("server-exit", {"error": _clip(reason), "pending": len(waiting[1])})
        return Out(to_client=tuple(self._error(key[1], self._server_gone)
                                   for key in waiting[1]))  # fmt: skip

    def abandon(self, req_id: Any) -> None:
        """Forget a request whose answer will not come (its HTTP exchange failed)."""
        self._take(req_id)

    def close(self) -> None:
        """Write the deferred records, wait for all queued ones; report any that failed.
        Held answers (:meth:`hold_answers`) whose records are durable by then are delivered."""
        self.flush()
        with self._lock:
            receipts = self._receipts + [r for g in self._inflight for r in g.receipts]
            self._receipts = []
        for receipt in receipts:
            try:
                receipt.result(5.0)
            except Exception as exc:
                self._warn(f"an audit record could not be written: {exc}")
        self._deliver_held()
        with self._lock:
            self._inflight = []

    def flush(self) -> None:
        """Queue the deferred routine records (see :meth:`_note`)."""
        log = self.guard.log if self.guard is not None else None
        with self._lock:
            deferred, self._deferred = self._deferred, []
        if log is None or not deferred:
            return
        try:
            receipts = [log.append_nowait(record, payload=payload) for record, payload in deferred]
        except Exception as exc:
            self._warn(f"audit log write failed: {exc}")
            return
        with self._lock:
            self._receipts = [r for r in self._receipts if not r.done()] + receipts

    # --- helpers -------------------------------------------------------------------------------

    def _error(self, req_id: Any, reason: str, *, code: int = rpc.SERVER_ERROR) -> bytes:
        return rpc.encode(rpc.error_response(req_id, code, _clip(reason)))

    def _note(self, kind: str, extra: dict[str, Any], payload: dict[str, Any] | None = None,
              *, durable: bool = False) -> None:  # fmt: skip
        """Append an ``mcp`` record.

        Flagged events (``durable``) are written before the client sees the message. Routine
        ones (an unflagged tool result, a listing) are gathered and written by the flusher
        thread (:class:`_Flusher`) :data:`DEFER_SECONDS` after the first of them (or at once
        at :data:`MAX_DEFERRED`) in one commit, off the path of the calls; :meth:`close` writes
        the rest. A log that fails makes the next decision a deny. A proxy killed with SIGKILL
        can lose the routine records of its last :data:`DEFER_SECONDS`, never a decision or a
        flagged event.
        """
        log = self.guard.log if self.guard is not None else None
        if log is None:
            return
        record = {"type": RECORD_TYPE, "v": 1, "time": round(time.time(), 6),
                  "session": self.config.session_id, "source": "mcp",
                  "server": self.server_name, "agent": self._client_name, "kind": kind,
                  **extra}  # fmt: skip
        if durable:
            self.flush()  # keep the records in order
            try:
                log.append(record, payload=payload)
            except Exception as exc:
                self._warn(f"audit log write failed: {exc}")
            return
        with self._lock:
            self._deferred.append((record, payload))
            count = len(self._deferred)
        if count == 1 or count == MAX_DEFERRED:
            _FLUSHER.schedule(self, DEFER_SECONDS if count < MAX_DEFERRED else 0.0)


def _completion_ref(params: dict[str, Any]) -> str:
    """What a ``completion/complete`` completes, for its record: ``prompt:NAME/ARGUMENT`` or
    ``resource:URI-TEMPLATE/ARGUMENT``."""
    ref = params.get("ref")
    argument = params.get("argument")
    name = ""
    if isinstance(ref, dict):
        ident = ref.get("name") if ref.get("type") == "ref/prompt" else ref.get("uri")
        kind = "prompt" if ref.get("type") == "ref/prompt" else "resource"
        name = f"{kind}:{ident}" if isinstance(ident, str) else kind
    if isinstance(argument, dict) and isinstance(argument.get("name"), str):
        name += "/" + argument["name"]
    return name[:500]


def _template_pattern(template: str) -> re.Pattern[str]:
    """A URI template (RFC 6570) as a pattern of the URIs it can expand to: literal text as is,
    every expression (``{var}``, ``{+var}``, ``{?a,b}``...) as anything. Broad on purpose: it
    decides which reads of a removed template are refused, and servers decode loosely."""
    parts: list[str] = []
    pos = 0
    for m in re.finditer(r"\{[^{}]{0,200}\}", template):
        parts.append(re.escape(template[pos:m.start()]))
        parts.append(".*")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts), re.DOTALL)


class _Flusher:
    """One thread per process that writes each session's deferred records when they are due.

    One for all sessions, and for the life of the process: a timer thread per session and
    window cost a thread start on the path of a tool result whenever calls were sparse, and a
    thread per session would idle by the hundred behind an HTTP proxy's sessions.
    """

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._due: dict[McpSession, float] = {}  # session -> when to flush it
        self._thread: threading.Thread | None = None

    def schedule(self, session: McpSession, delay: float) -> None:
        with self._cv:
            when = time.monotonic() + delay
            if when >= self._due.get(session, when + 1):
                return  # already due sooner
            self._due[session] = when
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mcp-audit", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        with self._cv:
            while True:
                if not self._due:
                    self._cv.wait()
                    continue
                now = time.monotonic()
                ready = [s for s, when in self._due.items() if when <= now]
                if not ready:
                    self._cv.wait(min(self._due.values()) - now)
                    continue
                for session in ready:
                    del self._due[session]
                self._cv.release()
                try:
                    for session in ready:
                        try:
                            session.flush()  # warns itself about a failed write
                        except Exception as exc:  # the thread must outlive any one session
                            session._warn(f"audit log write failed: {exc}")
                finally:
                    self._cv.acquire()


_FLUSHER = _Flusher()


