"""``warden witness``: create a witness directory, or serve it over HTTP (c2sp.org/tlog-witness)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warden.cli.groups import CommandGroup

__all__ = ["register"]

EXAMPLES = """\
examples:
  warden witness init --dir /mnt/usb/witness --name witness.local/w1 --log-vkey audit.vkey
  warden witness serve --dir /mnt/usb/witness --key /mnt/usb/witness/witness.key \\
      --log-vkey audit.vkey --port 7380
  warden audit checkpoint --witness 'http://127.0.0.1:7380=<witness vkey>'
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], summary: str) -> None:
    group = CommandGroup(sub, "witness", summary, epilog=EXAMPLES)

    p = group.verb("init", "create a witness directory with a cosigner key", _init)
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--name", required=True, help="witness key name, e.g. witness.example/w1")
    p.add_argument("--log-vkey", action="append", required=True, help="trusted log key")

    p = group.verb("serve", "serve add-checkpoint over HTTP", _serve)
    p.add_argument("--dir", type=Path, required=True, help="witness state directory")
    p.add_argument("--key", type=Path, help="cosigner key (default: DIR/witness.key)")
    p.add_argument("--log-vkey", action="append", help="trusted log key (default: DIR/logs.vkeys)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7380)


def _init(args: argparse.Namespace) -> int:
    from warden.record.witness import init_witness_dir

    signer = init_witness_dir(args.dir, args.name, args.log_vkey)
    print(f"witness in {args.dir}\ncosigner key: {signer.verifier.vkey}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from warden.record import load_signer, load_verifier
    from warden.record.witness import Witness, make_server

    signer = load_signer(args.key) if args.key else None
    logs = [load_verifier(v) for v in args.log_vkey] if args.log_vkey else None
    args.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    witness = Witness(args.dir, signer=signer, logs=logs)
    server = make_server(witness, args.host, args.port)
    host, port = server.server_address[:2]
    print(
        f"witness {witness.signer.verifier.vkey}\nlistening on http://{host!s}:{port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
