"""What the scripted fake model servers share: a loopback HTTP server in a thread, its URL,
the requests it saw, and ids for the things it makes up.

Each fake (``fake_anthropic``, ``fake_openai``, ``fake_gemini``) speaks one model API and
subclasses :class:`FakeModelServer` with its request handler; ``script[turn]`` says what the
model answers on each turn.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class FakeModelServer:
    #: Appended to ``http://host:port`` in :attr:`url` (the API's base path, e.g. ``/v1``).
    BASE_PATH = ""

    def __init__(self, script: list[list[dict[str, Any]]],
                 handler: type[BaseHTTPRequestHandler]) -> None:  # fmt: skip
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._ids = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.BASE_PATH}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_id(self, prefix: str) -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}_{self._ids:04d}"
