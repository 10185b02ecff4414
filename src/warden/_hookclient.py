"""The thin hook client's body: everything :mod:`warden.hookclient` runs.

It lives apart from ``hookclient.py`` so that its bytecode is cached: a script run as
``python FILE`` is compiled on every run (1.3 ms minimum, 2.5 ms median for this code here, load
3.4), while a module it imports is loaded from ``__pycache__``. ``hookclient.py`` is now a
launcher of a few lines that imports this file by name from its own directory. Standard library
only, as the launcher's docstring says; it is imported both as ``warden._hookclient`` (tests,
``python -m warden.hookclient``) and as the top-level ``_hookclient`` (the launcher run as a
file), so it must not import anything from ``warden``.
"""

# What this imports, and why so little: each module is paid for by every hook event.
# ``_socket``, not ``socket``: the wrapper imports ``selectors``, ``enum`` and more, ~10 ms of a
# ~30 ms invocation on this machine (``-X importtime``). ``posix``, not ``os``: with ``-S``
# nothing has imported ``os`` yet, and it brings ``_collections_abc``, ``posixpath`` and
# ``stat`` (+2.8 ms median, +2.1 ms minimum against a bare ``python -I -S``, 60 interleaved
# runs, load 2.9); ``posix`` is built in and already loaded. No ``from __future__ import
# annotations``: that statement also imports the ``__future__`` module (+0.9 ms median).
import _socket
import posix
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


_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()


def _getenv(name: str) -> str | None:
    """``os.environ.get(name)``. Run as the client, ``os`` is not loaded: the bytes
    ``posix.environ`` (what ``os.environ`` is made from), decoded as ``os`` does. Imported into
    a process that has ``os`` (tests, ``warden install``), ``os.environ``, which sees the
    changes made since start-up (``posix.environ`` is a snapshot)."""
    loaded = sys.modules.get("os")
    if loaded is not None:
        found: str | None = loaded.environ.get(name)
        return found
    value = posix.environ.get(name.encode(_FS_ENCODING, _FS_ERRORS))
    return None if value is None else value.decode(_FS_ENCODING, _FS_ERRORS)


def _isdir(path: str) -> bool:
    try:
        return posix.stat(path).st_mode & 0o170000 == 0o040000  # S_ISDIR
    except (OSError, ValueError):
        return False


def _join(folder: str, *names: str) -> str:
    """``os.path.join`` for absolute ``folder`` and plain ``names``."""
    return "/".join((folder.rstrip("/"), *names)) if folder != "/" else "/" + "/".join(names)


def _home() -> str:
    """``os.path.expanduser("~")``."""
    home = _getenv("HOME")
    if home is None:
        import pwd  # built in; only without $HOME

        try:
            home = pwd.getpwuid(posix.getuid()).pw_dir
        except KeyError:
            return "~"
    return home.rstrip("/") or "/"


def socket_path() -> str:
    """Same rule as ``warden.integrations.hooks.serve.socket_path`` (a test compares them)."""
    runtime = _getenv("XDG_RUNTIME_DIR")
    if runtime and runtime.startswith("/") and _isdir(runtime):
        return _join(runtime, "warden", "hooks.sock")
    state = _getenv("XDG_STATE_HOME")
    if not (state and state.startswith("/")):
        state = _join(_home(), ".local", "state")
    return _join(state, "warden", "hooks", "hooks.sock")


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
                                  workspace.encode(_FS_ENCODING, _FS_ERRORS),
                                  payload)))  # fmt: skip
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
    project = PROJECT_ENV.get(agent)
    workspace = (_getenv(project) or "") if project else ""
    sock = _getenv("WARDEN_HOOK_SOCKET") or socket_path()
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
