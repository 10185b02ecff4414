"""A scripted stand-in for the Anthropic Messages API, on 127.0.0.1, for driving real agents.

The script is a list of turns; the turn answered is the number of assistant messages already in
the request (so the conversation advances each time the agent sends tool results back). A turn
is a list of content blocks: ``{"type": "tool_use", "name": ..., "input": ...}`` or
``{"type": "text", "text": ...}``. Requests without tools (the agent's side requests: titles,
summaries) get a short text answer. Streaming requests are answered as server-sent events the
way the Messages API streams (message_start, content_block_start/delta/stop, message_delta,
message_stop); others as one JSON message.

Every request body is kept in ``requests`` so a test can read the tool results the agent sent.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.integrations.fake_model import FakeModelServer

__all__ = ["FakeAnthropic", "tool_results"]

MODEL = "claude-sonnet-4-5"


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeAnthropic(FakeModelServer):
    def __init__(self, script: list[list[dict[str, Any]]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                if self.path.split("?")[0].endswith("/count_tokens"):
                    self._json({"input_tokens": 100})
                    return
                with outer.lock:
                    outer.requests.append({"path": self.path, "body": body})
                blocks = outer.answer(body)
                if body.get("stream"):
                    self._stream(blocks)
                else:
                    self._json(outer.message(blocks))

            def _json(self, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, blocks: list[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                msg = outer.message([])
                msg["stop_reason"] = None
                out = [_sse("message_start", {"type": "message_start", "message": msg})]
                for i, block in enumerate(blocks):
                    if block["type"] == "tool_use":
                        start = {"type": "tool_use", "id": block["id"], "name": block["name"],
                                 "input": {}}
                        delta = {"type": "input_json_delta",
                                 "partial_json": json.dumps(block["input"])}
                    else:
                        start = {"type": "text", "text": ""}
                        delta = {"type": "text_delta", "text": block["text"]}
                    out.append(_sse("content_block_start", {"type": "content_block_start",
                                                            "index": i, "content_block": start}))
                    out.append(_sse("content_block_delta", {"type": "content_block_delta",
                                                            "index": i, "delta": delta}))
                    out.append(_sse("content_block_stop", {"type": "content_block_stop",
                                                           "index": i}))
                stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
                out.append(_sse("message_delta", {"type": "message_delta",
                                                  "delta": {"stop_reason": stop,
                                                            "stop_sequence": None},
                                                  "usage": {"output_tokens": 10}}))
                out.append(_sse("message_stop", {"type": "message_stop"}))
                self.wfile.write(b"".join(out))
                self.wfile.flush()
                self.close_connection = True

        super().__init__(script, Handler)

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        if not body.get("tools"):
            return [{"type": "text", "text": "ok"}]
        turn = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        if turn >= len(self.script):
            return [{"type": "text", "text": "All done."}]
        blocks = []
        for block in self.script[turn]:
            block = dict(block)
            if block["type"] == "tool_use":
                block["id"] = self._next_id("toolu")
            blocks.append(block)
        return blocks

    def message(self, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        return {
            "id": self._next_id("msg"), "type": "message", "role": "assistant", "model": MODEL,
            "content": blocks, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 10},
        }


def tool_results(requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """tool_use id -> the tool_result block the agent sent back (last seen wins)."""
    uses: dict[str, dict[str, Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    for req in requests:
        for msg in req["body"].get("messages", []):
            content = msg.get("content")
            if not isinstance(content, list):
                continue
            for block in content:
                if block.get("type") == "tool_use":
                    uses[block["id"]] = block
                elif block.get("type") == "tool_result":
                    text = block.get("content")
                    if isinstance(text, list):
                        text = "\n".join(str(p.get("text", "")) for p in text)
                    use = uses.get(block["tool_use_id"], {})
                    out[block["tool_use_id"]] = {
                        "name": use.get("name"), "input": use.get("input"),
                        "is_error": bool(block.get("is_error")), "content": str(text),
                    }
    return out
