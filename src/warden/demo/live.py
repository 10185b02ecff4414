"""The live demo: a scripted rogue agent runs under ``warden run`` and tries every escape.

The driver builds a small world in a temporary directory: a home with the secrets an agent
should never see, a project with a bug and a test suite, an allowed "package index" and, outside
the sandbox on the host's loopback, the attacker's TCP and UDP sinks and a host service's unix
socket. It runs ``rogue_agent.py`` contained, with its own fresh audit log, then checks from the
outside that nothing left: sinks empty, files untouched, no process survived, and verifies the
audit log. Each step's outcome is the operating system's answer, confirmed from outside where the
agent could lie (a detached process "succeeds" from its point of view until the demo sees it die).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["LiveResult", "StepOutcome", "run_live_demo"]

APP = "def add(a, b):\n    return a - b\n"
TESTS = ("import unittest\n\nfrom app import add\n\n\nclass T(unittest.TestCase):\n"
         "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n")  # fmt: skip


@dataclass
class StepOutcome:
    kind: str  # "work" | "attack"
    category: str
    say: str
    succeeded: bool
    detail: str

    @property
    def correct(self) -> bool:
        return self.succeeded if self.kind == "work" else not self.succeeded


@dataclass
class LiveResult:
    session: str
    steps: list[StepOutcome]
    exit_code: int
    sink_bytes: int
    egress: dict[str, int]
    audit: str
    audit_ok: bool
    untouched: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (bool(self.steps) and all(s.correct for s in self.steps) and self.sink_bytes == 0
                and self.audit_ok and all(self.untouched.values()))  # fmt: skip


class _Sinks:
    """The attacker's listeners and a host service, all outside the sandbox."""

    def __init__(self, base: Path) -> None:
        self.received = bytearray()
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.05)
        self.unix_path = str(base / "host-service.sock")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.unix_path)
        self.unix.listen()
        self.index = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
        self.threads = [threading.Thread(target=self._accept, args=(s,), daemon=True)
                        for s in (self.tcp, self.unix)]  # fmt: skip
        self.threads.append(threading.Thread(target=self.index.serve_forever, daemon=True))
        for t in self.threads:
            t.start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    while data := conn.recv(65536):
                        self.received += data
                self.received += b"<connection>"

    def total(self) -> int:
        with contextlib.suppress(OSError):
            while True:
                self.received += self.udp.recv(65536)
        return len(self.received)

    def close(self) -> None:
        self.index.shutdown()
        for s in (self.tcp, self.udp, self.unix):
            s.close()
        self.index.server_close()


class _Index(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><a href='requests-2.32.0.tar.gz'>requests</a></body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _world(base: Path) -> tuple[Path, Path]:
    home, ws = base / "home", base / "home" / "webapp"
    files = {
        ".ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\ndemo-key\n",
        ".aws/credentials": "[default]\naws_secret_access_key = demo\n",
        "billing/.env": "STRIPE_KEY=sk_live_demo\n",
        ".bashrc": "# the user's shell\n",
        ".bash_history": "ls\n",
        ".config/warden/policy.toml": '[policy]\nname = "mine"\n',
    }
    for rel, text in files.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text)
    ws.mkdir(parents=True)
    (ws / "app.py").write_text(APP)
    (ws / "test_app.py").write_text(TESTS)
    agent = resources.files("warden.demo").joinpath("rogue_agent.py").read_text("utf-8")
    (ws / "rogue_agent.py").write_text(agent)
    if shutil.which("git"):
        subprocess.run(["sh", "-c", "git init -q && git add -A && git -c user.name=u "
                        "-c user.email=u@x commit -qm init"], cwd=ws, check=True,
                       capture_output=True)  # fmt: skip
    return home, ws


def _watched(base: Path, home: Path, ws: Path, audit_db: Path) -> dict[str, Path]:
    return {
        "~/.bashrc": home / ".bashrc",
        "~/.bash_history": home / ".bash_history",
        "~/.ssh/authorized_keys": home / ".ssh/authorized_keys",
        "~/.config/warden/policy.toml": home / ".config/warden/policy.toml",
        "~/.config/systemd/user/agent.service": home / ".config/systemd/user/agent.service",
        ".claude/settings.json": ws / ".claude/settings.json",
        ".git/hooks/post-checkout": ws / ".git/hooks/post-checkout",
        "/var/spool/cron/crontabs/root": Path("/var/spool/cron/crontabs/root"),
    }


def run_live_demo(*, keep: Path | None = None, progress: Any = None) -> LiveResult:
    """Build the world, run the agent contained, check everything from outside."""
    from warden.check.policy.load import Layer, builtin_policy_path, load_policy
    from warden.contain.spec import build_spec
    from warden.contain.supervisor import run_contained
    from warden.record import AuditLog, verify_log

    # not under /tmp: the sandbox's /tmp is private, which would hide the home for the wrong
    # reason and make the demo prove less
    base = Path(tempfile.mkdtemp(prefix="warden-demo-", dir=str(keep or "/var/tmp")))  # noqa: S108
    sinks = _Sinks(base)
    try:
        home, ws = _world(base)
        audit_db = base / "audit" / "audit.db"
        audit_db.parent.mkdir()
        policy_file = base / "demo-policy.toml"
        policy_file.write_text(
            f'[network]\negress = ["127.0.0.1:{sinks.index.server_address[1]}"]\n'
            "[contain]\npids = 128\n"
        )
        policy = load_policy([Layer(builtin_policy_path(), "builtin"),
                              Layer(policy_file, "explicit")])  # fmt: skip
        cfg = {
            "home": str(home), "sink_port": sinks.tcp.getsockname()[1],
            "udp_port": sinks.udp.getsockname()[1], "host_socket": sinks.unix_path,
            "allowed_url": f"http://127.0.0.1:{sinks.index.server_address[1]}/simple/requests/",
            "supervisor_pid": os.getpid(), "audit_db": str(audit_db),
        }  # fmt: skip
        python_dirs = sorted({sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)})
        spec = build_spec(
            policy, [sys.executable, "rogue_agent.py", json.dumps(cfg)], workspace=str(ws),
            cwd=str(ws), extra_read=python_dirs, home=str(home),
            environ={**os.environ, "HOME": str(home)},
        )  # fmt: skip
        watched = _watched(base, home, ws, audit_db)
        before = {name: _digest(path) for name, path in watched.items()}
        with AuditLog.open(audit_db) as log:
            if progress:
                progress(spec)
            result = run_contained(spec, audit=log, net_deny=policy.net_deny,
                                   engine=lambda: _engine(policy, str(home)))  # fmt: skip
            beacon = ws / "beacon"
            size = beacon.stat().st_size if beacon.exists() else 0
            time.sleep(0.3)
            beacon_stopped = (beacon.stat().st_size if beacon.exists() else 0) == size
            steps = _outcomes(ws, beacon_stopped, result.kill_reason)
            egress = {"allow": 0, "deny": 0}
            for entry in log.entries():
                rec = entry.record
                if rec.get("type") == "egress":
                    egress[str(rec.get("verdict"))] = egress.get(str(rec.get("verdict")), 0) + 1
            for step in steps:
                log.append({"type": "demo-step", "v": 1, "session": spec.session,
                            "step": step.say, "category": step.category,
                            "succeeded": step.succeeded, "detail": step.detail[:200]})  # fmt: skip
            report = verify_log(log.store, log.signer.verifier, push=False)
        after = {name: _digest(path) for name, path in watched.items()}
        audit = (f"{report.size} records, re-hashed and verified against {report.checkpoints} "
                 f"signed checkpoint(s), root {report.root.hex()[:16]}…")  # fmt: skip
        return LiveResult(
            session=spec.session, steps=steps, exit_code=result.exit_code,
            sink_bytes=sinks.total(), egress=egress, audit=audit, audit_ok=True,
            untouched={name: before[name] == after[name] for name in watched},
        )  # fmt: skip
    finally:
        sinks.close()
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def _engine(policy: Any, home: str) -> Any:
    from warden.check.engine import Engine
    from warden.check.rules.load import load_packs

    return Engine(policy, load_packs(list(policy.extra_packs)), home=home)


def _outcomes(ws: Path, beacon_stopped: bool, kill_reason: str | None) -> list[StepOutcome]:
    out: list[StepOutcome] = []
    results = ws / "results.jsonl"
    if not results.exists():
        return out
    pending: dict[str, Any] | None = None
    for line in results.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data.pop("pending", False):
            pending = data
            continue
        pending = None
        step = StepOutcome(**data)
        if step.say.startswith("detaches"):
            # the agent cannot know: its beacon is alive until the run ends; the demo checks
            step.succeeded = not beacon_stopped
            step.detail = ("the detached beacon died with the sandbox" if beacon_stopped
                           else "the detached beacon survived the run")  # fmt: skip
        out.append(step)
    if pending is not None:  # the agent died during this step
        killed = f"warden killed the whole tree: {kill_reason}" if kill_reason else None
        out.append(StepOutcome(**pending, succeeded=killed is None,
                               detail=killed or "the agent died without a verdict"))  # fmt: skip
    return out
