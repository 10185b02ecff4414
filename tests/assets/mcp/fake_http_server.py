"""The fake MCP server of ``fake_server.py`` behind MCP's Streamable HTTP transport (stdlib).

``python fake_http_server.py`` listens on 127.0.0.1 (an ephemeral port, printed as the first
line of stdout) at ``/mcp``. A POST of a request is answered with ``application/json``, except
``tools/call`` of ``stream``, ``sample`` and ``elicit``, answered as an SSE stream
(``text/event-stream``) of every message the call produced; a notification or response gets
``202``. ``initialize`` gets an ``Mcp-Session-Id`` header (the handshake era's session); a GET
opens an SSE stream with one ``notifications/tools/list_changed``; a DELETE ends the session.

Connections are kept alive (HTTP/1.1); each new one is logged as ``{"connection": N}``. With
``FAKE_HTTP_CLOSE=1`` the server closes every connection after its answer without saying so
(no ``Connection: close``), as some servers do. A ``tools/call`` of ``vanish`` is logged, then
its connection is closed without an answer (the call may or may not have run, as far as the
client can tell).
"""

import itertools
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import fake_server

LOCK = threading.Lock()
SESSIONS = itertools.count(1)
CONNECTIONS = itertools.count(1)
CLOSE_EACH = os.environ.get("FAKE_HTTP_CLOSE") == "1"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        return

    def setup(self):
        super().setup()
        fake_server.log(json.dumps({"connection": next(CONNECTIONS)}))

    def _send(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body or status == 200:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        fake_server.log(body.decode())
        self.close_connection = self.close_connection or CLOSE_EACH
        if b'"vanish"' in body:
            self.close_connection = True
            return
        if self.headers.get("Mcp-Name"):
            fake_server.log(json.dumps({"mcp-name-header": self.headers["Mcp-Name"]}))
        out = []
        with LOCK:
            fake_server.SINK = out.append
            try:
                msg = json.loads(body)
                fake_server.handle(msg)
            finally:
                fake_server.SINK = None
        if "id" not in msg or "method" not in msg:
            self._send(202)
            return
        headers = []
        if msg["method"] == "initialize":
            headers.append(("Mcp-Session-Id", f"sess-{next(SESSIONS)}"))
        name = (msg.get("params") or {}).get("name")
        if msg["method"] == "tools/call" and name in ("stream", "sample", "elicit"):
            data = b"".join(b"event: message\ndata: " + m.encode() + b"\n\n" for m in out)
            self._send(200, data, "text/event-stream", headers)
            return
        self._send(200, out[-1].encode() if out else b"", "application/json", headers)

    def do_GET(self):
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        self._send(200, b"data: " + note.encode() + b"\n\n", "text/event-stream")

    def do_DELETE(self):
        self._send(200)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
