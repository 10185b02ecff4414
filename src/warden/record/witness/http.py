"""The HTTP transport of c2sp.org/tlog-witness: a client and a small stdlib server."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from warden.errors import AuditError, FormatError
from warden.record.checkpoint import parse_size
from warden.record.note import NoteVerifier
from warden.record.witness.base import MAX_REQUEST_SIZE, WitnessClient, WitnessRejected
from warden.record.witness.core import Witness

__all__ = ["HttpWitness", "WitnessServer", "make_server"]

log = logging.getLogger(__name__)

#: Seconds to wait for a witness; the pusher runs off the append path, so this never blocks it.
TIMEOUT_S = 10.0
SIZE_TYPE = "text/x.tlog.size"


class HttpWitness(WitnessClient):
    """A witness at ``url`` (its submission prefix), identified by its cosigner key."""

    def __init__(self, url: str, vkey: NoteVerifier, *, timeout: float = TIMEOUT_S) -> None:
        if not url.startswith(("http://", "https://")):
            raise FormatError(f"witness URL must be http(s): {url!r}")
        super().__init__(vkey)
        self.url = url.rstrip("/") + "/add-checkpoint"
        self.timeout = timeout

    def submit(self, body: bytes) -> bytes:
        req = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                data: bytes = resp.read(MAX_REQUEST_SIZE)
                return data
        except urllib.error.HTTPError as exc:
            detail = exc.read(4096).decode("utf-8", "replace").strip()
            known = None
            if exc.code == 409 and exc.headers.get("Content-Type", "").startswith(SIZE_TYPE):
                try:
                    known = parse_size(detail, "witness size")
                except FormatError:
                    known = None
            raise WitnessRejected(exc.code, detail or str(exc.reason), known_size=known) from None
        except (urllib.error.URLError, OSError) as exc:
            raise AuditError(f"witness {self.name} at {self.url} unreachable: {exc}") from exc


class _Handler(BaseHTTPRequestHandler):
    server: WitnessServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends

    def do_POST(self) -> None:
        if self.path.rstrip("/") != self.server.prefix + "/add-checkpoint":
            self._reply(404, b"not found\n")
            return
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_SIZE:
            self._reply(400, b"missing or too large Content-Length\n")
            return
        body = self.rfile.read(length)
        try:
            response = self.server.witness.add_checkpoint(body)
        except WitnessRejected as exc:
            if exc.status == 409 and exc.known_size is not None:
                self._reply(409, f"{exc.known_size}\n".encode(), SIZE_TYPE)
            else:
                self._reply(exc.status, (str(exc) + "\n").encode())
            return
        except Exception:  # an internal error is a refusal, never a cosignature
            log.exception("witness failed on a request")
            self._reply(500, b"internal error\n")
            return
        self._reply(200, response)

    def do_GET(self) -> None:
        self._reply(404, b"not found\n")

    def _reply(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


class WitnessServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], witness: Witness, prefix: str = "") -> None:
        self.witness = witness
        self.prefix = prefix.rstrip("/")
        super().__init__(address, _Handler)


def make_server(witness: Witness, host: str = "127.0.0.1", port: int = 0) -> WitnessServer:
    """A ready-to-serve witness; ``port=0`` picks a free port (see ``server_address``)."""
    try:
        return WitnessServer((host, port), witness)
    except OSError as exc:
        raise AuditError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
