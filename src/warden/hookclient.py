"""The thin hook command: hand the payload to a resident ``warden serve --hooks``, print its answer.

::

    python -I -S /path/to/warden/hookclient.py claude-code [--workspace DIR] [--socket PATH]
                                                            [warden hook options...]

Agents that can only run a command (Codex, Gemini CLI, Claude Code command hooks) start a
process per hook event; this module is that process when a server is running. It imports the
standard library only (no msgspec, no warden package), so with ``-S`` (no site packages) it
starts in about the time of a bare interpreter, sends stdin to the server's unix socket, and
writes the server's stdout, stderr and exit code as its own: the same bytes ``warden hook AGENT``
would have written.

Fail closed: when no server answers (none running, a stale socket, a timeout, a garbled reply),
it runs the full ``python -m warden.cli.hook AGENT ...`` in a child with the same payload and
arguments, slow but correct; when even that cannot run, it blocks (exit 2, reason on stderr).
Nothing here ever turns a failure into an allow.
"""

from __future__ import annotations

# The C module, not ``socket``: the wrapper imports ``selectors``, ``enum`` and more, ~10 ms of
# a ~30 ms invocation on this machine (``-X importtime``); the client needs none of it.
import _socket
import os
import sys

#: Must match ``warden.integrations.hooks.serve.REQUEST_MAGIC`` (a test checks it).
REQUEST_MAGIC = b"WARDEN-HOOK/1"

#: Seconds to connect to the socket: a live server accepts at once; longer means none is there.
CONNECT_TIMEOUT = 0.5

#: Seconds to wait for the server's answer before falling back. With the fallback's own
#: deadline below, the total stays under the 30 s hook timeout ``warden install`` writes.
ANSWER_TIMEOUT = 8.0

#: ``--deadline`` of the fallback ``warden hook`` (seconds).
FALLBACK_DEADLINE = 15.0

#: Must match ``warden.integrations.hooks.handler.MAX_PAYLOAD_BYTES``; past it the server
#: answers with a block anyway, so the client stops reading there too.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024

#: Environment variables in which the agent names its project root (``warden.cli.hook``).
PROJECT_ENV = {"claude-code": "CLAUDE_PROJECT_DIR", "gemini": "GEMINI_PROJECT_DIR"}

EXIT_BLOCK = 2
AGENTS = ("claude-code", "codex", "gemini")


def socket_path() -> str:
    """Same rule as ``warden.integrations.hooks.serve.socket_path`` (a test compares them)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):  # noqa: PTH112, PTH117
        return os.path.join(runtime, "warden", "hooks.sock")
    state = os.environ.get("XDG_STATE_HOME")
    if not (state and os.path.isabs(state)):  # noqa: PTH117
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "warden", "hooks", "hooks.sock")


class NoServer(Exception):
    """No usable answer from a server: fall back."""


def ask_server(path: str, agent: str, workspace: str, payload: bytes) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) from the server at ``path``; :class:`NoServer` otherwise."""
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.settimeout(CONNECT_TIMEOUT)
        try:
            s.connect(path)
            s.settimeout(ANSWER_TIMEOUT)
            s.sendall(b"\0".join((REQUEST_MAGIC, agent.encode(),
                                  os.fsencode(workspace), payload)))  # fmt: skip
            s.shutdown(_socket.SHUT_WR)
            chunks = []
            while chunk := s.recv(1 << 16):
                chunks.append(chunk)
        except OSError as exc:
            raise NoServer(f"{type(exc).__name__}: {exc}") from exc
    finally:
        s.close()
    return parse_reply(b"".join(chunks))


def parse_reply(data: bytes) -> tuple[int, bytes, bytes]:
    head, nl, rest = data.partition(b"\n")
    fields = head.split(b" ")
    if not nl or len(fields) != 3 or fields[0] != REQUEST_MAGIC:
        raise NoServer("not a warden hook server reply")
    try:
        code, n = int(fields[1]), int(fields[2])
    except ValueError as exc:
        raise NoServer("garbled reply") from exc
    if code not in (0, EXIT_BLOCK) or not 0 <= n <= len(rest):
        raise NoServer("garbled reply")
    return code, rest[:n], rest[n:]


def _read_stdin() -> bytes:
    data = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
    if len(data) > MAX_PAYLOAD_BYTES:  # drain so the agent's write does not fail first
        while sys.stdin.buffer.read(1 << 20):
            pass
    return data


def fallback(agent: str, rest: list[str], payload: bytes) -> tuple[int, bytes, bytes]:
    """The full in-process ``warden hook`` in a child interpreter (with site packages)."""
    import subprocess

    argv = [sys.executable, "-m", "warden.cli.hook", agent, *rest]
    if "--deadline" not in rest:
        argv += ["--deadline", str(FALLBACK_DEADLINE)]
    try:
        run = subprocess.run(argv, input=payload, capture_output=True,
                             timeout=FALLBACK_DEADLINE + 5)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return block(f"no warden hook server answered and warden could not start ({exc})")
    if run.returncode not in (0, EXIT_BLOCK):
        detail = run.stderr.decode("utf-8", "replace").strip()[-500:]
        return block(f"warden hook failed with exit code {run.returncode}: {detail}")
    return run.returncode, run.stdout, run.stderr


def block(reason: str) -> tuple[int, bytes, bytes]:
    return EXIT_BLOCK, b"", f"warden could not check this and blocked it: {reason}\n".encode()


def _options(argv: list[str]) -> tuple[str, str, str, list[str]]:
    """(agent, workspace, socket, the options passed on to a fallback ``warden hook``)."""
    if not argv or argv[0] not in AGENTS:
        raise ValueError(f"usage: hookclient.py {{{','.join(AGENTS)}}} [--workspace DIR] "
                         "[--socket PATH] [warden hook options]")  # fmt: skip
    agent, rest = argv[0], []
    workspace = os.environ.get(PROJECT_ENV.get(agent, ""), "")
    sock = os.environ.get("WARDEN_HOOK_SOCKET") or socket_path()
    it = iter(argv[1:])
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in ("--workspace", "-w", "--socket"):
            value = value if eq else next(it, "")
            if not value:
                raise ValueError(f"{name} needs a value")
            if name == "--socket":
                sock = value
                continue
            workspace = value
            rest += ["--workspace", value]
            continue
        rest.append(arg)
    return agent, workspace, sock, rest


def main(argv: list[str] | None = None) -> int:
    try:
        agent, workspace, sock, rest = _options(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        code, out, err = block(str(exc))
    else:
        try:
            payload = _read_stdin()
        except Exception as exc:  # an unreadable stdin is still answered, with a block
            code, out, err = block(f"invalid hook input: {exc}")
        else:
            try:
                code, out, err = ask_server(sock, agent, workspace, payload)
            except NoServer:
                code, out, err = fallback(agent, rest, payload)
    if out:
        sys.stdout.buffer.write(out + b"\n")
    if err:
        sys.stderr.buffer.write(err)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
