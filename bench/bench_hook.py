"""``warden hook``: process start to answer, as an agent pays for it on every hook event.

Each sample starts a fresh process (``warden hook claude-code --audit-db DB``), writes one
payload on stdin and waits for the answer and the exit, with the audit log enabled (a real
durable append per event). Cases are interleaved round-robin so that machine noise falls on all
of them alike; a bare ``python -c pass`` is measured in the same rounds as the floor.

The same rounds also go through a resident ``warden serve --hooks`` (started once, its own
audit log, durable appends too): over HTTP as Claude Code's ``http`` hook sends them (a new
connection per request, from this process), and through the thin command client
(``python -I -S .../warden/hookclient.py claude-code``, a fresh process per call, unix socket).

Then one in-process breakdown per phase (fresh interpreter each), to say where the time goes:
interpreter start, importing warden's hook layer, importing and building the engine, opening
the audit log, deciding and recording, rendering.

    python bench/bench_hook.py [--runs 50] [--json] [--serve-only | --client-only]

``--serve-only`` measures the resident server over HTTP alone (no hook processes), with a
connection kept alive both back to back and after an idle pause. ``--client-only`` measures
the thin client alone (a fresh ``python -I -S hookclient.py`` per event against a resident
server, each case interleaved with the bare ``python -I -S -c pass`` floor), for A/B runs of
the unix-socket path: run it from an old checkout's copy with ``PYTHONPATH`` set to that
checkout's ``src`` (the server is started with ``sys.executable -m warden.cli.serve`` and the
client is the ``hookclient.py`` beside the benchmark).

Target (issue 5): median <= 40 ms, p99 <= 80 ms for a hook invocation; through a resident
``warden serve --hooks``: median <= 2 ms.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "warden"
WARDEN = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "warden"]
HOOK = [*WARDEN, "hook", "claude-code"]
#: The same payload through ``warden check`` (same engine, same log, warden's own output
#: format): the difference to the hook case is what the hook layer adds.
CHECK = [*WARDEN, "check", "--json"]


def _payload(event: str, **extra: object) -> bytes:
    base = {"session_id": "bench", "cwd": "/tmp", "transcript_path": "/tmp/t.jsonl",
            "hook_event_name": event}  # fmt: skip
    return json.dumps({**base, **extra}).encode()


CASES: dict[str, bytes] = {
    "pre_tool allow (Bash ls)": _payload("PreToolUse", tool_name="Bash", tool_use_id="t1",
                                         tool_input={"command": "ls -la src"}),
    "pre_tool deny (cat ~/.ssh/id_rsa)": _payload("PreToolUse", tool_name="Bash",
                                                  tool_use_id="t2",
                                                  tool_input={"command": "cat ~/.ssh/id_rsa"}),
    "post_tool (scan output)": _payload("PostToolUse", tool_name="Bash", tool_use_id="t1",
                                        tool_input={"command": "ls"},
                                        tool_response={"stdout": "a.py\nb.py\n" * 200}),
    "prompt submit": _payload("UserPromptSubmit", prompt="fix the failing test in tests/"),
    "session start": _payload("SessionStart", source="startup"),
}

PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
from warden.integrations.hooks import HookConfig, protocol_for
from warden.integrations.hooks.handler import _Resources
t1 = time.perf_counter()
import warden.check.engine, warden.record, warden.guard
t2 = time.perf_counter()
res = _Resources(HookConfig(audit=__import__('pathlib').Path(sys.argv[1])))
log = res.log()
t3 = time.perf_counter()
guard = res.guard("/tmp")
t4 = time.perf_counter()
from warden.normalize import parse_hook
ev = parse_hook(json.loads(sys.argv[2]), "claude_code")
d = guard.check(ev.action)
t5 = time.perf_counter()
from warden.integrations.hooks.handler import _decide
protocol_for("claude-code").render(_decide(ev, res))
t6 = time.perf_counter()
res.close()
print(json.dumps({"import hook layer (+normalize, decision)": t1 - t0,
                  "import engine, record, guard": t2 - t1, "open audit log": t3 - t2,
                  "load policy + compile rules": t4 - t3, "decide + durable append": t5 - t4,
                  "decide + append + render (again)": t6 - t5}))
"""


CLIENT = Path(__file__).resolve().parents[1] / "src" / "warden" / "hookclient.py"


class _Server:
    """A ``warden serve --hooks`` process on a private runtime directory."""

    def __init__(self, tmp: Path) -> None:
        run = tmp / "run"
        run.mkdir(mode=0o700)
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(run),
                    "XDG_STATE_HOME": str(tmp / "state")}  # the token's directory
        self.proc = subprocess.Popen(
            # warden.cli.serve directly: the same command whether or not `warden serve` is listed
            [sys.executable, "-m", "warden.cli.serve", "--hooks", "--listen", "127.0.0.1:0",
             "--audit-db",
             str(tmp / "serve.db")], env=self.env, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stderr is not None
        ready, _, _ = select.select([self.proc.stderr], [], [], 120)
        line = self.proc.stderr.readline().decode() if ready else ""
        if "http://127.0.0.1:" not in line:
            self.proc.kill()
            raise SystemExit(f"warden serve did not start: {line!r}")
        # a failed run (SystemExit) must not leave the server behind
        atexit.register(lambda: self.proc.poll() is None and self.proc.kill())
        self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        self.token = (tmp / "state" / "warden" / "hooks" / "hooks.token").read_text().strip()

    def http_once(self, data: bytes) -> float:
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("POST", "/warden/hook/claude-code", body=data,
                     headers={"Authorization": f"Bearer {self.token}",
                              "Content-Type": "application/json"})  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        conn.close()
        elapsed = time.perf_counter() - start
        if resp.status != 200:
            raise SystemExit(f"warden serve answered {resp.status}")
        return elapsed

    def keepalive_once(self, conn: http.client.HTTPConnection, data: bytes) -> float:
        start = time.perf_counter()
        conn.request("POST", "/warden/hook/claude-code", body=data,
                     headers={"Authorization": f"Bearer {self.token}",
                              "Content-Type": "application/json"})  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - start
        if resp.status != 200:
            raise SystemExit(f"warden serve answered {resp.status}")
        return elapsed

    def client_once(self, data: bytes) -> float:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-I", "-S", str(CLIENT), "claude-code"],
                             input=data, capture_output=True, env=self.env)  # fmt: skip
        elapsed = time.perf_counter() - start
        if run.returncode not in (0, 2):
            raise SystemExit(f"hookclient failed: {run.returncode} {run.stderr[-300:]!r}")
        return elapsed

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def _once(argv: list[str], data: bytes) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, input=data, capture_output=True)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 2, 10, 20, 30):
        raise SystemExit(f"{argv} failed: {run.returncode} {run.stderr[-300:]!r}")
    return elapsed


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1e3, "p99_ms": p99 * 1e3,
            "min_ms": ordered[0] * 1e3}  # fmt: skip


def _print(title: str, result: dict[str, dict[str, float]]) -> None:
    print(title)
    print(f"{'case':68} {'median':>9} {'p99':>9} {'min':>9}")
    for name, st in result.items():
        print(f"{name:68} {st['median_ms']:8.2f}ms {st['p99_ms']:8.2f}ms {st['min_ms']:8.2f}ms")


def _serve_only(runs: int, *, as_json: bool) -> int:
    """The resident server over HTTP only: a new connection per request, and one connection
    kept alive used back to back (as Claude Code's http hooks reuse theirs) and after an idle
    pause (0.2 s, as between the hooks of one tool call), cases interleaved."""
    with tempfile.TemporaryDirectory(prefix="warden-bench-hook-") as tmp:
        server = _Server(Path(tmp))
        alive = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        samples: dict[str, list[float]] = {}
        for data in CASES.values():  # the server's first engine load and page cache
            server.http_once(data)
            server.keepalive_once(alive, data)
        for _ in range(runs):
            for name, data in CASES.items():
                samples.setdefault(f"serve, http: {name}", []).append(server.http_once(data))
                keep = samples.setdefault(f"serve, http keep-alive: {name}", [])
                keep.append(server.keepalive_once(alive, data))
                keep.append(server.keepalive_once(alive, data))
        for _ in range(max(5, runs // 5)):
            for name, data in CASES.items():
                time.sleep(0.2)
                idle = samples.setdefault(f"serve, http keep-alive after 0.2 s idle: {name}", [])
                idle.append(server.keepalive_once(alive, data))
        alive.close()
        server.stop()
    result = {name: _stats(s) for name, s in samples.items()}
    if as_json:
        print(json.dumps({"runs": runs, "cases": result}, indent=2))
    else:
        _print(f"warden serve --hooks over HTTP, audit enabled, {runs} rounds", result)
    return 0


def _client_only(runs: int, *, as_json: bool) -> int:
    """The thin client alone against a resident server, cases interleaved with the floor."""
    floor = "python -I -S -c pass (client floor)"
    samples: dict[str, list[float]] = {floor: []}
    with tempfile.TemporaryDirectory(prefix="warden-bench-hook-") as tmp:
        server = _Server(Path(tmp))
        for data in CASES.values():  # the server's first engine load and page cache
            server.client_once(data)
        for _ in range(runs):
            samples[floor].append(_once([sys.executable, "-I", "-S", "-c", "pass"], b""))
            for name, data in CASES.items():
                samples.setdefault(f"serve, thin client: {name}", []).append(
                    server.client_once(data))  # fmt: skip
        server.stop()
    result = {name: _stats(s) for name, s in samples.items()}
    load = os.getloadavg()
    if as_json:
        print(json.dumps({"runs": runs, "load": load, "cases": result}, indent=2))
    else:
        _print(f"thin client through warden serve --hooks, audit enabled, {runs} rounds, "
               f"load {load[0]:.2f} at {time.strftime('%H:%M:%S')}", result)  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-only", action="store_true",
                        help="only the resident server over HTTP (no hook processes, no phases)")
    parser.add_argument("--client-only", action="store_true",
                        help="only the thin client through the resident server")
    args = parser.parse_args()
    if args.serve_only:
        return _serve_only(args.runs, as_json=args.json)
    if args.client_only:
        return _client_only(args.runs, as_json=args.json)
    with tempfile.TemporaryDirectory(prefix="warden-bench-hook-") as tmp:
        db = str(Path(tmp) / "audit.db")
        server = _Server(Path(tmp))
        argv = [*HOOK, "--audit-db", db]
        for data in CASES.values():  # create the log and warm the page cache
            _once(argv, data)
        check = [*CHECK, "--audit-db", db]
        same = CASES["pre_tool allow (Bash ls)"]
        samples: dict[str, list[float]] = {"python -c pass (floor)": []}
        samples.update({name: [] for name in CASES})
        samples["warden check, same payload as pre_tool allow"] = []
        samples["python -I -S -c pass (client floor)"] = []
        for name in CASES:
            samples[f"serve, http: {name}"] = []
        for name in CASES:
            samples[f"serve, http keep-alive: {name}"] = []
        for name in CASES:
            samples[f"serve, thin client: {name}"] = []
        alive = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for data in CASES.values():  # the server's first engine load and page cache
            server.http_once(data)
        for _ in range(args.runs):
            samples["python -c pass (floor)"].append(_once([sys.executable, "-c", "pass"], b""))
            samples["python -I -S -c pass (client floor)"].append(
                _once([sys.executable, "-I", "-S", "-c", "pass"], b""))
            for name, data in CASES.items():
                samples[name].append(_once(argv, data))
                samples[f"serve, http: {name}"].append(server.http_once(data))
                keep = server.keepalive_once(alive, data)
                samples[f"serve, http keep-alive: {name}"].append(keep)
                samples[f"serve, thin client: {name}"].append(server.client_once(data))
            samples["warden check, same payload as pre_tool allow"].append(_once(check, same))
        alive.close()
        server.stop()
        phases: list[dict[str, float]] = []
        pre = CASES["pre_tool allow (Bash ls)"].decode()
        for _ in range(max(5, args.runs // 10)):
            out = subprocess.run([sys.executable, "-c", PHASES, db, pre], capture_output=True,
                                 text=True, check=True, env={**os.environ})  # fmt: skip
            phases.append(json.loads(out.stdout))
    result = {name: _stats(s) for name, s in samples.items()}
    phase_ms = {k: statistics.median(p[k] for p in phases) * 1e3 for k in phases[0]}
    if args.json:
        print(json.dumps({"runs": args.runs, "cases": result, "phases_ms": phase_ms}, indent=2))
        return 0
    _print(f"warden hook claude-code, audit enabled, {args.runs} runs per case (interleaved)",
           result)
    print("\nin-process phases of a pre_tool event (median of fresh interpreters):")
    for name, ms in phase_ms.items():
        print(f"  {name:40} {ms:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
