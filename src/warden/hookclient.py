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

This file is only the launcher; the client is :mod:`warden._hookclient`. Run as a file, this
file is compiled on every run and a module it imports is not, so it is kept to a few lines
and imports the body by name from its own directory (``sys.path`` holds that directory only for
that import): 2.4 ms less per hook event than compiling the whole client each time (median of
60 interleaved runs, load 2.6, see ``docs/integrations.md``). ``_socket`` is imported first,
so the body's import of it cannot be found in that directory.
"""

import _socket  # noqa: F401  (loaded before the path below is searched; the body needs it)
import sys

if __name__ == "__main__" and not __package__:  # python -I -S .../warden/hookclient.py
    try:
        sys.path.insert(0, __file__.rpartition("/")[0] or ".")
        try:
            _main = __import__("_hookclient").main
        finally:
            del sys.path[0]
    except BaseException as exc:  # exit 1 would be a non-blocking error to the agent: block
        sys.stderr.write("warden could not check this and blocked it: the hook client could "
                         f"not be loaded ({type(exc).__name__}: {exc})\n")  # fmt: skip
        sys.exit(2)
    sys.exit(_main())

from warden._hookclient import (  # python -m warden.hookclient, tests, warden install
    AGENTS,
    ANSWER_TIMEOUT,
    CONNECT_TIMEOUT,
    EXIT_BLOCK,
    FALLBACK_DEADLINE,
    MAX_PAYLOAD_BYTES,
    PROJECT_ENV,
    REQUEST_MAGIC,
    NoServer,
    ask_server,
    block,
    fallback,
    main,
    parse_reply,
    socket_path,
)

__all__ = [
    "AGENTS",
    "ANSWER_TIMEOUT",
    "CONNECT_TIMEOUT",
    "EXIT_BLOCK",
    "FALLBACK_DEADLINE",
    "MAX_PAYLOAD_BYTES",
    "PROJECT_ENV",
    "REQUEST_MAGIC",
    "NoServer",
    "ask_server",
    "block",
    "fallback",
    "main",
    "parse_reply",
    "socket_path",
]

if __name__ == "__main__":
    sys.exit(main())
