"""A scripted stand-in for the OpenAI Responses API on 127.0.0.1, for driving the real Codex CLI.

The turn answered is the number of ``function_call_output`` items already in the request's
``input`` (the conversation advances each time Codex sends tool results back). A turn is a list
of ``{"type": "call", "name": ..., "arguments": {...}}`` or ``{"type": "text", "text": ...}``.
Answers stream as server-sent events the way the Responses API does: ``response.created``,
``response.output_item.done`` per item, ``response.completed``.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.integrations.fake_model import FakeModelServer

__all__ = ["FakeResponses", "function_outputs"]


def _sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


class FakeResponses(FakeModelServer):
    BASE_PATH = "/v1"

    def __init__(self, script: list[list[dict[str, Any]]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body = b'{"object": "list", "data": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                with outer.lock:
                    outer.requests.append(body)
                items = outer.answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                rid = outer._next_id("resp")
                out = [_sse({"type": "response.created",
                             "response": {"id": rid, "object": "response", "status":
                                          "in_progress", "output": []}})]
                for i, item in enumerate(items):
                    out.append(_sse({"type": "response.output_item.done", "output_index": i,
                                     "item": item}))
                out.append(_sse({"type": "response.completed", "response": {
                    "id": rid, "object": "response", "status": "completed", "output": items,
                    "usage": {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110,
                              "input_tokens_details": {"cached_tokens": 0},
                              "output_tokens_details": {"reasoning_tokens": 0}}}}))
                self.wfile.write(b"".join(out))
                self.wfile.flush()
                self.close_connection = True

        super().__init__(script, Handler)

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        turn = sum(1 for i in body.get("input", []) if i.get("type") == "function_call_output")
        steps = self.script[turn] if turn < len(self.script) else [
            {"type": "text", "text": "All done."}]
        items = []
        for step in steps:
            if step["type"] == "call":
                call = self._next_id("call")
                items.append({"type": "function_call", "id": self._next_id("fc"),
                              "call_id": call, "name": step["name"], "status": "completed",
                              "arguments": json.dumps(step["arguments"])})
            else:
                items.append({"type": "message", "id": self._next_id("msg"), "role":
                              "assistant", "status": "completed", "content": [
                                  {"type": "output_text", "text": step["text"],
                                   "annotations": []}]})
        return items


def function_outputs(requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """call_id -> {"name", "arguments", "output"} from what Codex sent back."""
    calls: dict[str, dict[str, Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    for body in requests:
        for item in body.get("input", []):
            if item.get("type") == "function_call":
                calls[item["call_id"]] = item
            elif item.get("type") == "function_call_output":
                call = calls.get(item["call_id"], {})
                output = item.get("output")
                if not isinstance(output, str):
                    output = json.dumps(output)
                args = call.get("arguments")
                out[item["call_id"]] = {"name": call.get("name"),
                                        "arguments": json.loads(args) if args else {},
                                        "output": output}
    return out
