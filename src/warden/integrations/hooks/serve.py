"""``warden serve --hooks``: one resident process that answers every hook, in milliseconds.

A hook process pays ~190 ms before it decides anything (imports, opening the audit log, loading
the policy). The server pays that once: it opens the audit log once, keeps one engine per
workspace (rebuilt when a policy file it read changes), and answers hook payloads

* over **HTTP** on loopback, for Claude Code's ``http`` hook type: ``POST /warden/hook/AGENT``
  with the hook JSON as body, answered with the JSON ``warden hook AGENT`` prints. Callers must
  send ``Authorization: Bearer TOKEN`` (``~/.local/state/warden/hooks/hooks.token``, ``0600``, kept
  across reboots: the installed hooks carry it); and
* over a **unix socket** (``0600`` in a ``0700`` directory, peers checked by ``SO_PEERCRED``)
  for the thin command client :mod:`warden.hookclient`, in a small framing
  (:data:`REQUEST_MAGIC`): the client sends ``magic NUL agent NUL workspace NUL payload`` and
  reads ``magic SP exit SP stdout-length LF stdout stderr``.

Every answer comes from :func:`~warden.integrations.hooks.handler.handle`, the function
``warden hook`` runs, so an answer is the same whichever way the payload came. Requests are
served by threads; the engine is pure and the audit log serialises its own appends. Each
decision is durable in the log before its answer is written (an unrecordable one is a deny).

The unix socket carries one connection per hook event. It used to be a
:class:`socketserver.ThreadingUnixStreamServer`: a selector thread accepted each connection and
started a new thread for it, whose ``start()`` waits for the new thread's first run (3.5 ms
median when the kernel puts it on the other, idle vCPU of this 2-vCPU guest; see
``warden.contain.ns.on_this_cpu``). Now :class:`~warden._accept.AcceptPool` serves it
(the egress proxy's pool): :data:`SPARE_THREADS` threads wait in ``accept()`` themselves and the
one the kernel wakes answers the connection, so a hook event that arrives while no other is
being answered starts no thread and passes between no threads. Measured with timestamps in
the server and the thin client (40 events per run, three interleaved pairs, 15:11 UTC, load
8.5): client ``connect()`` to the handler running, median 1.06 / 1.05 / 0.45 ms before, 0.15 /
0.15 / 0.19 ms after (p90 3.3-4.6 ms before, 1.6-2.9 ms after). Limits: at most
:data:`~warden.integrations.hooks.httpserve.MAX_CONNECTIONS` connections at once (one past it
is answered with a block, never dropped; it had no bound before), a request must arrive
whole within :data:`SOCKET_READ_TIMEOUT` (a deadline for the request, not per read, so a
client trickling bytes cannot hold a thread longer) or is answered with a block, and so is a
peer of another uid. Shutdown stops accepting, half-closes the connections still being read
(their clients get a block) and waits for the answers being written, as the HTTP side does.

Where a pre-tool request's time goes (timestamps in the server, client in another process,
kept alive, back to back; 11:45 UTC, load 1): of a 1.35 ms round trip, the durable audit
append 0.69 ms (encoding 0.04, commit and fsync), the engine 0.14 ms, the decision's records
0.05 ms, the rest of the hook work 0.13 ms (normalising, the policy ``stat``, rendering), HTTP,
loopback and the client 0.34 ms. After 0.2 s idle every part takes about twice as long.
The HTTP side is :mod:`.httpserve` (why not :mod:`http.server`: see there). Per request the
server also calls ``stat`` on the policy files an engine was built from (to rebuild it after
an edit), and decodes the payload a second time only to shape a block.

Who may ask: only this user. The socket and token live in a ``0700`` directory owned by this
user; the HTTP server binds loopback only and refuses any other address; every HTTP request
without the token is answered ``401`` before its body is read, so other local users (and a web
page trying DNS rebinding against ``127.0.0.1``) can neither get decisions nor write to the
audit log. An agent contained by ``warden run`` has its own network namespace and a Landlock
ruleset without this directory, so it reaches neither the loopback port nor the socket.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import os
import secrets
import socket
import stat
import struct
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from warden._accept import AcceptPool
from warden.errors import HookError, InputError
from warden.integrations.hooks.base import EXIT_BLOCK, HookAnswer, clip, dump_json
from warden.integrations.hooks.handler import MAX_PAYLOAD_BYTES, HookConfig, Resources, handle
from warden.integrations.hooks.httpserve import (
    BACKLOG,
    CLOSE_GRACE,
    MAX_CONNECTIONS,
    Handlers,
    HTTPFront,
    Reply,
    Request,
)

if TYPE_CHECKING:
    from warden.guard import Guard

__all__ = [
    "DEFAULT_LISTEN",
    "HTTP_PATH",
    "REQUEST_MAGIC",
    "HookServer",
    "http_body",
    "load_token",
    "parse_listen",
    "socket_path",
    "state_dir",
    "token_dir",
    "token_path",
]

#: Where the HTTP side listens unless told otherwise. A fixed port, so that ``warden install
#: claude-code --server`` and the server agree without a discovery step.
DEFAULT_LISTEN = "127.0.0.1:8765"

#: URL path prefix of the hook endpoint (``/warden/hook/claude-code``): distinctive, so
#: ``warden uninstall`` can tell warden's ``http`` hooks from anyone else's.
HTTP_PATH = "/warden/hook/"

#: First field of every unix-socket request and reply (the framing's version).
REQUEST_MAGIC = b"WARDEN-HOOK/1"

#: Engines kept (one per workspace with its own project policy); the least recently used go.
MAX_ENGINES = 32

#: Seconds a unix-socket peer may take to send its whole request (not per read); a stalled or
#: half-open client holds one thread that long at most, and is then answered with a block.
SOCKET_READ_TIMEOUT = 10.0

#: Threads waiting in ``accept()`` on the unix socket at rest: a hook event that arrives while
#: no other is being answered costs no thread start (see :mod:`warden._accept`).
SPARE_THREADS = 2

_RECV = 1 << 16
_UCRED = struct.Struct("3i")

#: Header in which Claude Code's ``http`` hook passes ``$CLAUDE_PROJECT_DIR`` (the hook's
#: ``allowedEnvVars`` lets Claude Code interpolate it): the project root the command hook reads
#: from its environment.
PROJECT_HEADER = "X-Warden-Project-Dir"
PROJECT_HEADER_KEY = PROJECT_HEADER.lower()

_STATE_ENV = "XDG_RUNTIME_DIR"
_PROTOCOLS_SERVED_OVER_HTTP = ("claude-code",)


# --- where: state directory, socket, token -------------------------------------------------


def state_dir() -> Path:
    """``$XDG_RUNTIME_DIR/warden`` when that is set, else :func:`token_dir`."""
    runtime = os.environ.get(_STATE_ENV)
    if runtime and Path(runtime).is_absolute() and Path(runtime).is_dir():
        return Path(runtime) / "warden"
    return token_dir()


def socket_path(folder: Path | None = None) -> Path:
    return (folder or state_dir()) / "hooks.sock"


def token_dir() -> Path:
    """``$XDG_STATE_HOME/warden/hooks``, else ``~/.local/state/warden/hooks``: state that must
    outlive a reboot. The token is written into the agents' hook settings by ``warden install
    --server``; kept in ``$XDG_RUNTIME_DIR`` (emptied at logout and reboot) it was replaced by a
    new one at the next start, and every installed hook got ``401``, a block, until
    re-installed."""
    base = os.environ.get("XDG_STATE_HOME")
    if base and Path(base).is_absolute():
        return Path(base) / "warden" / "hooks"
    # its own 0700 directory: ~/.local/state/warden is shared (warden run's session registry
    # creates it with the umask's mode), and _private_dir refuses one open to others
    return Path(os.path.expanduser("~")) / ".local" / "state" / "warden" / "hooks"


def token_path(folder: Path | None = None) -> Path:
    return (folder or token_dir()) / "hooks.token"


def _private_dir(folder: Path) -> Path:
    """Create ``folder`` 0700; refuse one owned by someone else or open to others."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise HookError(f"{folder} is not a directory owned by this user: refusing to use it")
    if st.st_mode & 0o077:
        raise HookError(f"{folder} is open to other users (mode {st.st_mode & 0o777:o}); "
                          "chmod 700 it")  # fmt: skip
    return folder


def load_token(path: Path | None = None, *, create: bool = True) -> str:
    """The bearer token in ``path`` (created ``0600`` with 256 random bits when missing)."""
    path = path or token_path()
    _private_dir(path.parent)
    if create:
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise HookError(f"cannot read the hook token {path}: {exc}") from exc
    with os.fdopen(fd) as fh:
        st = os.fstat(fh.fileno())
        if st.st_uid != os.getuid() or st.st_mode & 0o077 or not stat.S_ISREG(st.st_mode):
            raise HookError(f"{path} must be a regular file owned by this user, mode 600")
        token = fh.read().strip()
    if len(token) < 32:
        raise HookError(f"{path} does not hold a usable token (delete it to make a new one)")
    return token


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[::1]:PORT``) on loopback; anything else is refused."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InputError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError as exc:
        raise InputError(f"--listen {text!r}: HOST must be a loopback IP address") from exc
    if not addr.is_loopback:
        raise InputError(f"--listen {text!r}: warden answers hooks on loopback only (a hook "
                          "server on a network address would approve actions for anyone who "
                          "reaches it)")  # fmt: skip
    return str(addr), int(port_text)


# --- what: one shared log, one engine per workspace -----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """What the server decides with (from the command line); per request only the workspace."""

    policy_files: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()
    #: ``True``: the default audit log; a path: that log; ``False``: record nothing.
    audit: Path | bool = True


def _sig(path: str) -> tuple[str, tuple[int, int, int] | None]:
    try:
        st = os.stat(path)  # noqa: PTH116 (every request: no Path object per file)
    except OSError:
        return path, None
    return path, (st.st_mtime_ns, st.st_size, st.st_ino)


class _Engine(NamedTuple):
    paths: tuple[str, ...]  # the policy files it was built from (present or not)
    sig: tuple[Any, ...]  # their state then
    guard: Guard


class _Shared:
    """The audit log (opened once) and engines by workspace (rebuilt when a policy changes).

    Whether a workspace's engine is current is checked on every request by a ``stat`` of each
    policy file it could read (a few microseconds); the file names are worked out once.
    """

    def __init__(self, config: ServeConfig) -> None:
        from warden.check.policy.load import user_policy_path

        self.config = config
        self._lock = threading.Lock()
        self._log_res = Resources(HookConfig(audit=config.audit), resident=True)
        self._guards: OrderedDict[str | None, _Engine] = OrderedDict()
        self._paths = tuple(str(p) for p in (user_policy_path(), *map(Path, config.policy_files),
                                             *map(Path, config.packs)))  # fmt: skip

    def log(self) -> Any:
        with self._lock:
            return self._log_res.log()

    def _policy_paths(self, workspace: str | None) -> tuple[str, ...]:
        from warden.check.policy.load import project_policy_path

        if workspace is None:
            return self._paths
        return (*self._paths, str(project_policy_path(workspace)))

    def guard(self, workspace: str | None) -> Guard:
        from warden.check.engine import Engine
        from warden.guard import Guard

        found = self._guards.get(workspace)
        paths = found.paths if found is not None else self._policy_paths(workspace)
        sig = tuple(map(_sig, paths))
        with self._lock:
            found = self._guards.get(workspace)
            if found is not None and found.sig == sig:
                self._guards.move_to_end(workspace)
                return found.guard
            engine = Engine.from_files(policy_files=self.config.policy_files,
                                       workspace=workspace, packs=self.config.packs)  # fmt: skip
            guard = Guard(engine, self._log_res.log())
            self._guards[workspace] = _Engine(paths, sig, guard)
            while len(self._guards) > MAX_ENGINES:
                self._guards.popitem(last=False)
            return guard

    def close(self) -> None:
        with self._lock:
            self._guards.clear()
            self._log_res.close()


#: The longest report of a failed answer on the server's stderr (:meth:`_RequestResources.report`).
FAULT_CHARS = 500
_CONTROLS = dict.fromkeys((*range(0x20), *range(0x7F, 0xA0)), "?")


class _RequestResources(Resources):
    """One request's view of the shared log and engines; closing it closes nothing."""

    def __init__(self, shared: _Shared, config: HookConfig) -> None:
        super().__init__(config)
        self._shared = shared

    def log(self) -> Any:
        return None if self.config.audit is False else self._shared.log()

    def guard(self, workspace: str | None) -> Guard:
        return self._shared.guard(self.config.workspace or workspace)

    def close(self) -> None:
        return None

    def report(self, fault: str) -> None:
        # The agent gets a block; the person running the server learns why (an audit log
        # that cannot write, a policy that no longer loads), once per failed answer. Parts of
        # it come from the agent (a tool name, text in an error): secrets redacted, control
        # characters (terminal escapes) shown as "?", at most FAULT_CHARS characters.
        from warden.check.secrets import redact_text

        line = redact_text(fault[: 4 * FAULT_CHARS])[:FAULT_CHARS].translate(_CONTROLS)
        with contextlib.suppress(OSError, ValueError):
            print(f"warden serve: {line}", file=sys.stderr, flush=True)


# --- how: the two front ends -----------------------------------------------------------------


def http_body(answer: HookAnswer, event: str | None) -> str:
    """The JSON an ``http`` hook answers with: the command hook's stdout, or, for an answer
    that blocks by exit code 2 (a failure, a block on an unknown event), the same block as JSON,
    because an HTTP answer has no exit code (Claude Code reads 2xx bodies only)."""
    if answer.exit_code != EXIT_BLOCK:
        return answer.stdout or "{}"
    reason = clip(answer.stderr.strip() or "warden blocked this")
    if event == "PreToolUse":
        return dump_json({"hookSpecificOutput": {"hookEventName": event,
                                                 "permissionDecision": "deny",
                                                 "permissionDecisionReason": reason}})
    if event == "PermissionRequest":
        return dump_json({"hookSpecificOutput": {"hookEventName": event, "decision": {
            "behavior": "deny", "message": reason}}})  # fmt: skip
    return dump_json({"decision": "block", "reason": reason})


def _event_of(raw: bytes) -> str | None:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    name = doc.get("hook_event_name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) else None


class HookServer:
    """The resident hook engine with its HTTP and unix-socket front ends.

    ::

        with HookServer(ServeConfig(), listen=("127.0.0.1", 8765), sock=socket_path()) as srv:
            srv.serve_forever()
    """

    def __init__(
        self,
        config: ServeConfig,
        *,
        listen: tuple[str, int] | None,
        sock: Path | None,
        token: str,
    ) -> None:
        from warden.integrations.hooks import protocol_for

        if listen is None and sock is None:
            raise HookError("nothing to serve: give --listen, --socket, or both")
        self.config = config
        self.token = token
        self._protocol_for = protocol_for
        self._shared = _Shared(config)
        self._shared.log()  # fail now, not at the first hook, when the log cannot be opened
        self.http: HTTPFront | None = None
        self.unix: _UnixFront | None = None
        self.sock = sock
        self._threads: list[threading.Thread] = []
        try:
            if listen is not None:
                self.http = _http_server(self, parse_listen(f"[{listen[0]}]:{listen[1]}"))
            if sock is not None:
                self.unix = _UnixFront(self, sock)
        except BaseException:
            self.close()
            raise

    @property
    def http_address(self) -> tuple[str, int] | None:
        if self.http is None:
            return None
        host, port = self.http.server_address[:2]
        return str(host), int(port)

    def answer(self, agent: str, workspace: str | None, raw: bytes) -> HookAnswer:
        """What ``warden hook AGENT --workspace WORKSPACE`` answers to ``raw``. Never raises."""
        from warden.integrations.hooks.handler import refuse

        protocol = self._protocol_for(agent)
        config = HookConfig(workspace=workspace or None, policy_files=self.config.policy_files,
                            packs=self.config.packs, audit=self.config.audit)  # fmt: skip
        if len(raw) > MAX_PAYLOAD_BYTES:
            return refuse(f"invalid hook input: hook payload of more than {MAX_PAYLOAD_BYTES} "
                          "bytes", protocol, config)  # fmt: skip
        res = _RequestResources(self._shared, config)
        try:
            return handle(raw, protocol, config, resources=res)
        except Exception as exc:  # handle never raises; this is the belt to its braces
            return refuse(f"internal error ({type(exc).__name__})", protocol, config)

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (from another thread or a signal handler)."""
        servers = [s for s in (self.http, self.unix) if s is not None]
        for srv in servers[1:]:
            t = threading.Thread(target=srv.serve_forever, name="warden-serve", daemon=True)
            t.start()
            self._threads.append(t)
        servers[0].serve_forever()

    def start(self) -> None:
        """Serve in background threads (tests, benchmarks)."""
        for srv in (self.http, self.unix):
            if srv is not None:
                t = threading.Thread(target=srv.serve_forever, name="warden-serve", daemon=True)
                t.start()
                self._threads.append(t)

    def shutdown(self) -> None:
        for srv in (self.http, self.unix):
            if srv is not None:
                srv.shutdown()

    def close(self) -> None:
        for srv in (self.http, self.unix):
            if srv is not None:
                srv.server_close()
        if self.unix is not None and self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.unlink()
        self._shared.close()

    def __enter__(self) -> HookServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _HTTPSide:
    """Claude Code's ``http`` hook: the checks made before the body is read, then the answer."""

    def __init__(self, hook: HookServer) -> None:
        self.hook = hook
        self._want = f"Bearer {hook.token}".encode()

    def _authorised(self, request: Request) -> bool:
        got = request.headers.get("authorization", "")
        return hmac.compare_digest(got.encode("utf-8", "replace"), self._want)

    def head(self, request: Request, length: int | None) -> Reply | None:
        if not self._authorised(request):  # before reading a byte of the body
            return Reply(401, '{"error":"missing or wrong bearer token"}', close=True)
        if request.method != "POST":
            return Reply(405, '{"error":"POST a hook payload"}', close=True)
        if _agent_of(request) not in _PROTOCOLS_SERVED_OVER_HTTP:
            return Reply(404, '{"error":"unknown hook path"}', close=True)
        if length is None:
            return Reply(411, '{"error":"Content-Length required"}', close=True)
        if length > MAX_PAYLOAD_BYTES:
            from warden.integrations.hooks.handler import refuse

            hook = self.hook
            answer = refuse(f"invalid hook input: hook payload of {length} bytes is larger than "
                            f"the {MAX_PAYLOAD_BYTES}-byte limit",
                            hook._protocol_for(_agent_of(request)),
                            HookConfig(audit=hook.config.audit))  # fmt: skip
            return Reply(200, http_body(answer, None), close=True)
        return None

    def body(self, request: Request, raw: bytes) -> Reply:
        try:
            url = urlsplit(request.target)
            workspace = (parse_qs(url.query).get("workspace") or [""])[0] if url.query else ""
            workspace = workspace or unquote(request.headers.get(PROJECT_HEADER_KEY, ""))
            answer = self.hook.answer(_agent_of(request), workspace or None, raw)
            # the event name only shapes a block by exit code, so the payload is decoded
            # again only then (a large Write payload is not parsed twice for every allow)
            event = _event_of(raw) if answer.exit_code == EXIT_BLOCK else None
            return Reply(200, http_body(answer, event))
        except Exception as exc:  # no answer (or a 5xx) would let the call run: a block
            reason = f"warden could not check this and blocked it: internal error ({exc!r})"
            try:
                return Reply(200, http_body(HookAnswer("", reason, EXIT_BLOCK), _event_of(raw)))
            except Exception:  # the top-level form, which every event reads as a block
                return Reply(200, json.dumps({"decision": "block", "reason": clip(reason)}))


def _agent_of(request: Request) -> str:
    try:
        path = urlsplit(request.target).path
    except ValueError:  # "http://[x/...": not a hook path (urlsplit raises on it)
        return ""
    return path[len(HTTP_PATH):] if path.startswith(HTTP_PATH) else ""


def _http_server(hook: HookServer, addr: tuple[str, int]) -> HTTPFront:
    side = _HTTPSide(hook)
    return HTTPFront(addr, Handlers(head=side.head, body=side.body, headers=(PROJECT_HEADER,)))


# --- unix socket -----------------------------------------------------------------------------


class _UnixFront:
    """The unix-socket side: one connection per hook event, served by the thread that
    accepted it (:class:`~warden._accept.AcceptPool`, :data:`SPARE_THREADS` at rest).

    Same interface as :class:`~warden.integrations.hooks.httpserve.HTTPFront` for
    :class:`HookServer`: ``serve_forever``, ``shutdown``, ``server_close``; ``requests``
    counts the requests answered (for the server's exit line).
    """

    def __init__(self, hook: HookServer, path: Path) -> None:
        _private_dir(path.parent)
        with contextlib.suppress(FileNotFoundError):
            st = path.lstat()
            if not stat.S_ISSOCK(st.st_mode):
                raise HookError(f"{path} exists and is not a socket: refusing to replace it")
            if _answers(path):
                raise HookError(f"a server already answers on {path}")
            path.unlink()  # a stale socket from a server that died
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old = os.umask(0o177)  # the socket is born 0600: no window where others may connect
            try:
                listener.bind(str(path))
            finally:
                os.umask(old)
            path.chmod(0o600)
            listener.listen(BACKLOG)
        except BaseException:
            listener.close()
            raise
        self.hook = hook
        self.path = path
        self._listener = listener
        self._uid = os.getuid()
        self._pool = AcceptPool("warden-hooks", listener, self._serve, spare=SPARE_THREADS)
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._drained = threading.Condition(self._lock)  # notified when a connection ends
        self._stopping = False
        self._started = False
        self._running = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        #: Requests answered (blocks for bad requests included, not the connections turned away
        #: as busy), for the server's exit line.
        self.requests = 0

    # --- lifecycle -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve (in the pool's threads) until :meth:`shutdown`."""
        self._stopped.clear()
        try:
            with self._lock:  # a shutdown() that came first wins: no thread is started
                if not self._stopping and not self._started:
                    self._started = True
                    self._pool.start()
            self._running.wait()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting (from another thread) and wait until :meth:`serve_forever` returned."""
        self._stop()
        self._stopped.wait()

    def _stop(self) -> None:
        with self._lock:
            self._stopping = True
        self._pool.close()  # wakes the threads blocked in accept(); they exit
        self._running.set()

    def server_close(self) -> None:
        """Close the listener; cut requests still being read; wait for the answers being
        written (their records are durable before they go out) and for the threads."""
        self._stop()
        self._listener.close()
        deadline = time.monotonic() + CLOSE_GRACE
        with self._lock:
            for conn in self._conns:  # a request still arriving reads EOF and gets a block
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RD)
            while self._conns and (left := deadline - time.monotonic()) > 0:
                self._drained.wait(left)
        self._pool.join(max(0.0, deadline - time.monotonic()))

    # --- one connection: one request, one answer --------------------------------------------

    def _serve(self, conn: socket.socket, _peer: str) -> None:
        with conn:
            with self._lock:
                full = len(self._conns) >= MAX_CONNECTIONS or self._stopping
                if not full:
                    self._conns.add(conn)
            if full:  # answered, never dropped: the client blocks rather than guesses
                with contextlib.suppress(OSError):
                    conn.setblocking(False)  # the reply fits the socket buffer, or is lost
                    conn.send(_frame(_block("the warden hook server is busy or stopping")))
                return
            try:
                answer = self._request(conn)
                with contextlib.suppress(OSError):
                    conn.sendall(_frame(answer))
                self.requests += 1  # under the GIL; a lost count under a race is harmless
            finally:
                with self._lock:
                    self._conns.discard(conn)
                    self._drained.notify_all()

    def _request(self, conn: socket.socket) -> HookAnswer:
        # the 0600 mode in a 0700 directory already says so; checked anyway
        if _peer_uid(conn) != self._uid:
            return _block("the warden hook server answers its own user only")
        try:
            data = _read_request(conn, MAX_PAYLOAD_BYTES + 4096, SOCKET_READ_TIMEOUT)
        except (OSError, ValueError) as exc:
            return _block(f"invalid hook input: {exc}")
        parts = data.split(b"\0", 3)
        if len(parts) != 4 or parts[0] != REQUEST_MAGIC:
            return _block("invalid request to the warden hook server")
        agent = parts[1].decode("utf-8", "replace")
        workspace = parts[2].decode("utf-8", "surrogateescape") or None
        try:
            self.hook._protocol_for(agent)
        except Exception:
            return _block(f"unknown agent {agent!r}")
        return self.hook.answer(agent, workspace, parts[3])


def _answers(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    _pid, uid, _gid = _UCRED.unpack(creds)
    return int(uid)


def _read_request(conn: socket.socket, limit: int, timeout: float) -> bytes:
    """Everything the client sends before its end of the stream, within ``timeout`` seconds
    in all (not per read: a client that trickles its request cannot hold a thread longer)."""
    deadline = time.monotonic() + timeout
    conn.settimeout(timeout)
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = conn.recv(_RECV)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise ValueError(f"request larger than {limit} bytes")
        chunks.append(chunk)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not complete in time")
        conn.settimeout(left)


def _frame(answer: HookAnswer) -> bytes:
    out = answer.stdout.encode("utf-8")
    head = REQUEST_MAGIC + f" {answer.exit_code} {len(out)}\n".encode()
    return head + out + answer.stderr.encode("utf-8")


def _block(reason: str) -> HookAnswer:
    return HookAnswer("", f"warden could not check this and blocked it: {reason}\n", EXIT_BLOCK)
