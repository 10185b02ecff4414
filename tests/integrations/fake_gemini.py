"""A scripted stand-in for the Gemini API (``generateContent``) on 127.0.0.1, for Gemini CLI.

The turn answered is the number of ``functionResponse`` parts already in the request's
``contents``. A turn is a list of ``{"type": "call", "name": ..., "args": {...}}`` or
``{"type": "text", "text": ...}``. Requests without tools (Gemini CLI's side requests: routing,
summaries) get ``{}`` as text, which its JSON side requests accept. ``streamGenerateContent``
is answered as server-sent events (``alt=sse``), ``generateContent`` as one JSON response.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.integrations.fake_model import FakeModelServer

__all__ = ["FakeGemini", "function_responses"]

USAGE = {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110}


class FakeGemini(FakeModelServer):
    def __init__(self, script: list[list[dict[str, Any]]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, ctype: str, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send("application/json", b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                with outer.lock:
                    outer.requests.append({"path": self.path, "body": body})
                resp = {"candidates": [{"content": {"role": "model", "parts": outer.answer(body)},
                                        "finishReason": "STOP", "index": 0}],
                        "usageMetadata": USAGE, "modelVersion": "gemini-2.5-pro"}
                if "alt=sse" in self.path:
                    self._send("text/event-stream", f"data: {json.dumps(resp)}\r\n\r\n".encode())
                else:
                    self._send("application/json", json.dumps(resp).encode())

        super().__init__(script, Handler)

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        if not body.get("tools"):
            return [{"text": "{}"}]
        turn = sum(1 for c in body.get("contents", []) for p in c.get("parts", [])
                   if "functionResponse" in p)
        steps = self.script[turn] if turn < len(self.script) else [
            {"type": "text", "text": "All done."}]
        return [{"functionCall": {"name": s["name"], "args": s["args"]}} if s["type"] == "call"
                else {"text": s["text"]} for s in steps]


def function_responses(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every functionResponse part Gemini CLI sent back, in order (last request wins)."""
    for req in reversed(requests):
        parts = [p["functionResponse"] for c in req["body"].get("contents", [])
                 for p in c.get("parts", []) if "functionResponse" in p]
        if parts:
            return parts
    return []
