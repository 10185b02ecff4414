"""``warden mcp``: the latency the proxy adds to each ``tools/call``.

A fake stdio MCP server (stdlib, below) answers every request at once. A client in this process
sends ``tools/call`` requests one at a time and times each round trip (write the request line,
read the answer line), three ways in the same run, interleaved in rounds so that machine noise
falls on all alike:

- ``direct``: the client talks to the fake server itself (the floor);
- ``proxy, audit``: through ``warden mcp --audit-db DB`` (each call judged and durably recorded,
  the result scanned and recorded);
- ``proxy, no audit``: through ``warden mcp --no-audit`` (judging and scanning only).

- ``proxy, write-ahead`` (with ``--write-ahead``): ``warden mcp --write-ahead``, the call
  forwarded only once its decision is durable (by default it is forwarded at once and its
  answer waits for the decision to be durable, so the commit overlaps the server's work).

``--http`` runs the same cases over MCP's Streamable HTTP transport instead: a fake upstream
(a stdlib ``ThreadingHTTPServer`` answering each POST with one JSON body at once), spoken to
directly or through ``warden mcp --http``, by a client on one kept-alive connection.

It also times one durable audit append alone (in process), the floor of a refused call's
path (its decision is durable before warden answers).

The added latency is the proxy's median (p99) minus the direct median (p99). Two calls are
measured: an allowed file read whose result is a short text (forwarded unchanged), and a denied
read of ``~/.ssh/id_rsa`` (answered by warden; the server never sees it). ``--server-ms N``
makes the fake server sleep N ms before answering a call (the tool's own work; 0, the default,
is the proxy's worst case: nothing for the commit to overlap with).

    python bench/bench_mcp.py [--calls 400] [--rounds 4] [--server-ms 0] [--write-ahead] [--http]
                              [--json]

Target (issue 5): added latency per tools/call, median <= 1 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

ECHO_SERVER = r"""
import sys, json, time
out = sys.stdout
work = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg or "method" not in msg:
        continue
    if msg["method"] == "tools/call":
        if work:
            time.sleep(work)  # the tool's own work (a file read, a fetch), off the CPU
        result = {"content": [{"type": "text", "text": "hello from the fake server\n"}]}
    else:
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "echo", "version": "1"}}
    out.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
    out.flush()
"""

HTTP_SERVER = r"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
work = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if "id" not in msg:
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if msg.get("method") == "tools/call":
            if work:
                time.sleep(work)
            result = {"content": [{"type": "text", "text": "hello from the fake server\n"}]}
        else:
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "echo", "version": "1"}}
        body = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""

CALLS = {
    "allow (read_text_file)": {"name": "read_text_file", "arguments": {"path": "src/app.py"}},
    "deny (read ~/.ssh/id_rsa)": {"name": "read_text_file",
                                  "arguments": {"path": "~/.ssh/id_rsa"}},
}


class _JsonRpc:
    """Numbered JSON-RPC requests, an ``initialize`` first; ``send`` carries one and returns
    the seconds until its answer."""

    next_id = 0

    def _start(self) -> None:
        self.roundtrip("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "bench", "version": "1"}})

    def roundtrip(self, method: str, params: dict[str, Any]) -> float:
        self.next_id += 1
        return self.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                     "params": params}).encode())  # fmt: skip

    def send(self, body: bytes) -> float:
        raise NotImplementedError


class Peer(_JsonRpc):
    """A process spoken to in JSON-RPC lines."""

    def __init__(self, argv: list[str], cwd: str) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=cwd)  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.w: IO[bytes] = self.proc.stdin
        self.r: IO[bytes] = self.proc.stdout
        self._start()

    def send(self, body: bytes) -> float:
        t0 = time.perf_counter()
        self.w.write(body + b"\n")
        self.w.flush()
        answer = self.r.readline()
        elapsed = time.perf_counter() - t0
        if not answer:
            raise RuntimeError("the peer closed its output")
        return elapsed

    def close(self) -> None:
        self.w.close()
        self.proc.wait(10)


class HttpPeer(_JsonRpc):
    """A process serving MCP over HTTP: its port is read from its output (the fake upstream
    prints it; ``warden mcp --http`` says it on stderr), then one kept-alive connection."""

    def __init__(self, argv: list[str], cwd: str) -> None:
        import http.client
        import re

        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd)  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stderr is not None
        if "--http" in argv:
            said = self.proc.stderr.readline().decode()
            found = re.search(r"listening on http://[^:]+:(\d+)/", said)
            if found is None:
                raise RuntimeError(f"warden mcp --http did not start: {said!r}")
            port = int(found.group(1))
        else:
            port = int(self.proc.stdout.readline())
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._start()

    def send(self, body: bytes) -> float:
        headers = {"Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream"}  # fmt: skip
        t0 = time.perf_counter()
        self.conn.request("POST", "/mcp", body=body, headers=headers)
        answer = self.conn.getresponse().read()
        elapsed = time.perf_counter() - t0
        if not answer:
            raise RuntimeError("the peer sent an empty answer")
        return elapsed

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(10)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"median_ms": statistics.median(ordered) * 1e3, "p99_ms": p99 * 1e3,
            "n": float(len(ordered))}  # fmt: skip


def _append_floor(db: Path, n: int) -> dict[str, float]:
    """One durable audit append of a decision-sized record: the floor of the audited path."""
    from warden.record import AuditLog

    record = {"type": "decision", "v": 1, "tool": "mcp__fs__read_text_file", "verdict": "allow",
              "rules": [], "reason": "no rule matched"}  # fmt: skip
    times: list[float] = []
    with AuditLog.open(db) as log:

        def appends() -> None:  # on a worker thread, as the proxy's client reader does: the
            for _ in range(n):  # main thread hands its appends to the writer thread
                t0 = time.perf_counter()
                log.append(record, payload={"action": {"path": "src/app.py"}})
                times.append(time.perf_counter() - t0)

        import threading

        worker = threading.Thread(target=appends)
        worker.start()
        worker.join()
    return _stats(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per case per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--server-ms", type=float, default=0.0, help="milliseconds the fake "
                        "server sleeps before answering a tools/call (the tool's own work; "
                        "default 0: it answers at once, the proxy's worst case)")
    parser.add_argument("--write-ahead", action="store_true", help="also time `warden mcp "
                        "--write-ahead` (the call forwarded only once its decision is durable)")
    parser.add_argument("--http", action="store_true", help="MCP over Streamable HTTP (a fake "
                        "upstream, `warden mcp --http`) instead of stdio")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        server = Path(tmp) / "echo_server.py"
        server.write_text(HTTP_SERVER if args.http else ECHO_SERVER)
        direct = [sys.executable, str(server), str(args.server_ms)]
        proxy = [sys.executable, "-m", "warden.cli.mcp", "--name", "fs"]
        upstream: subprocess.Popen[bytes] | None = None
        tail = ["--", *direct]
        if args.http:  # one upstream for all; each proxy in front of it
            upstream = subprocess.Popen(direct, stdout=subprocess.PIPE, cwd=tmp)
            assert upstream.stdout is not None
            url = f"http://127.0.0.1:{int(upstream.stdout.readline())}/mcp"
            tail = ["--http", "--upstream", url, "--listen", "127.0.0.1:0"]
        setups = {
            "direct": direct,
            "proxy, audit": [*proxy, "--audit-db", str(Path(tmp) / "audit.db"), *tail],
            "proxy, no audit": [*proxy, "--no-audit", *tail],
        }
        if args.write_ahead:
            setups["proxy, write-ahead"] = [*proxy, "--write-ahead", "--audit-db",
                                            str(Path(tmp) / "audit-wa.db"), *tail]
        kind: type[Peer | HttpPeer] = HttpPeer if args.http else Peer
        peers = {name: kind(argv, tmp) for name, argv in setups.items()}
        samples: dict[tuple[str, str], list[float]] = {}
        try:
            for peer in peers.values():  # warm up: first-call imports and caches
                for params in CALLS.values():
                    for _ in range(20):
                        peer.roundtrip("tools/call", params)
            for _ in range(args.rounds):
                for call, params in CALLS.items():
                    for name, peer in peers.items():
                        bucket = samples.setdefault((call, name), [])
                        bucket.extend(peer.roundtrip("tools/call", params)
                                      for _ in range(args.calls))  # fmt: skip
        finally:
            for peer in peers.values():
                peer.close()
            if upstream is not None:
                upstream.terminate()
                upstream.wait(10)
        floor = _append_floor(Path(tmp) / "floor.db", args.calls)
    report: dict[str, Any] = {"audit append alone (in process)": {"append": floor}}
    for call in CALLS:
        base = _stats(samples[(call, "direct")])
        report[call] = {"direct": base}
        for name in [n for n in setups if n != "direct"]:
            st = _stats(samples[(call, name)])
            st["added_median_ms"] = st["median_ms"] - base["median_ms"]
            st["added_p99_ms"] = st["p99_ms"] - base["p99_ms"]
            report[call][name] = st
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"tools/call round trips ({'HTTP' if args.http else 'stdio'}), {args.rounds} rounds "
          f"x {args.calls} calls per case (interleaved)")  # fmt: skip
    for call, rows in report.items():
        print(f"\n{call}")
        for name, st in rows.items():
            added = ""
            if "added_median_ms" in st:
                added = (f"   added: median {st['added_median_ms']:+.3f} ms, "
                         f"p99 {st['added_p99_ms']:+.3f} ms")  # fmt: skip
            print(f"  {name:<16} median {st['median_ms']:.3f} ms  p99 {st['p99_ms']:.3f} ms"
                  + added)
    return 0


if __name__ == "__main__":
    sys.exit(main())
