"""``warden audit``: keygen, verify, show, tail, prove, export, checkpoint.

Parse, call one library function, render, set the exit code. Errors are ``WardenError``s that
the top-level handler prints; a failed verification prints what is wrong and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warden.cli.groups import CommandGroup
from warden.errors import InputError, VerificationError

if TYPE_CHECKING:
    from warden.record import LogReader, NoteVerifier
    from warden.record.witness import WitnessClient

__all__ = ["register"]

EXAMPLES = """\
examples:
  warden audit keygen                           create the signing key (0600) and its .vkey
  warden audit verify                           re-hash everything, check checkpoints/witnesses
  warden audit verify --witness /mnt/usb/warden-witness
  warden audit show --json                      log summary; 'show 42' for one entry
  warden audit tail -n 20 -f                    follow new entries (JSONL with --json)
  warden audit prove 42                         inclusion proof of entry 42
  warden audit prove --consistency 1000         consistency proof from size 1000
  warden audit export out.json && warden audit verify --bundle out.json --vkey audit.vkey
  warden audit checkpoint --witness 'http://127.0.0.1:7380=w.example/w1+1a2b3c4d+BB...'
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], summary: str) -> None:
    group = CommandGroup(sub, "audit", summary, epilog=EXAMPLES)

    def add(name: str, help_: str, func: Any) -> argparse.ArgumentParser:
        p = group.verb(name, help_, func)
        p.add_argument(
            "--db", type=Path, help="audit database (default: $XDG_DATA_HOME/warden/audit.db)"
        )
        return p

    p = add("keygen", "create the log's Ed25519 signing key with safe permissions", _keygen)
    p.add_argument("--key", type=Path, help="key file (default: audit.key beside the database)")
    p.add_argument("--name", help="key name = checkpoint origin (default: random)")
    p.add_argument("--witness-key", action="store_true", help="make a witness cosigner key")

    p = add("verify", "verify the whole log (or an exported bundle)", _verify)
    _key_args(p)
    p.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="SPEC",
        help="witness to check against: DIR[=VKEY] or URL=VKEY (repeatable)",
    )
    p.add_argument("--witnesses-file", type=Path, help="file of witness SPECs (one a line)")
    p.add_argument("--bundle", type=Path, help="verify an exported bundle offline instead")
    p.add_argument(
        "--witness-vkey",
        action="append",
        default=[],
        metavar="VKEY",
        help="with --bundle: witness that must have cosigned (repeatable)",
    )
    p.add_argument("--no-push", action="store_true", help="do not submit to remote witnesses")
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress", action="store_true", help="progress on stderr even if no TTY")

    p = add("show", "show the log summary, or one entry", _show)
    p.add_argument("index", nargs="?", type=int)
    p.add_argument("--json", action="store_true")

    p = add("tail", "print the last entries; -f to follow", _tail)
    p.add_argument("-n", type=int, default=10, help="number of entries (default 10)")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("--json", action="store_true", help="JSON Lines")

    p = add("prove", "inclusion proof of an entry, or a consistency proof", _prove)
    p.add_argument("index", nargs="?", type=int)
    p.add_argument("--size", type=int, help="tree size (default: latest checkpoint)")
    p.add_argument("--consistency", type=int, metavar="OLD", help="prove OLD is a prefix")
    p.add_argument("--json", action="store_true")

    p = add("export", "export entries with proofs and the checkpoint to a bundle", _export)
    p.add_argument("file", type=Path)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--end", type=int)
    _key_args(p)

    p = add(
        "purge",
        "delete the stored payloads (redacted actions, full decisions) of old entries; the "
        "tree, its hashes and every proof stay valid",
        _purge,
    )
    p.add_argument("--before", type=int, required=True, metavar="INDEX",
                   help="purge payloads of entries 0..INDEX-1")

    p = add(
        "checkpoint",
        "print the latest signed checkpoint; --witness to get it cosigned",
        _checkpoint,
    )
    p.add_argument("--witness", action="append", default=[], metavar="SPEC")
    p.add_argument("--witnesses-file", type=Path)
    _key_args(p)


def _key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", type=Path, help="log key file (its public half is used)")
    p.add_argument("--vkey", help="log verifier key: name+hash+base64, or a .vkey file")


def _db(args: argparse.Namespace) -> Path:
    from warden.record import default_db_path

    path: Path = args.db or default_db_path()
    return path


def _reader(args: argparse.Namespace) -> LogReader:
    from warden.record import LogReader

    return LogReader.open(_db(args))


def _log_key(args: argparse.Namespace) -> NoteVerifier:
    """The trusted log key: --vkey, else --key, else audit.key / audit.vkey beside the db."""
    from warden.record import default_key_path, load_signer, load_verifier

    if getattr(args, "vkey", None):
        return load_verifier(args.vkey)
    if getattr(args, "key", None):
        return load_verifier(args.key)
    key = default_key_path(_db(args))
    if key.exists():
        return load_signer(key).verifier
    if key.with_suffix(".vkey").exists():
        return load_verifier(key.with_suffix(".vkey"))
    raise InputError(f"no log key: give --vkey or --key (nothing at {key})")


def _witnesses(args: argparse.Namespace) -> list[WitnessClient]:
    from warden.record import default_key_path
    from warden.record.witness import load_witness_file, parse_witness_spec

    out = [parse_witness_spec(s) for s in args.witness]
    path = args.witnesses_file or default_key_path(_db(args)).with_suffix(".witnesses")
    if args.witnesses_file or path.exists():
        out += load_witness_file(path)
    return out


def _keygen(args: argparse.Namespace) -> int:
    from warden.record import create_key, default_key_path

    path = args.key or default_key_path(_db(args))
    signer = create_key(path, args.name, witness=args.witness_key)
    print(f"created {path} (mode 0600)\nverifier key: {signer.verifier.vkey}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from warden.record import load_verifier, verify_bundle, verify_log

    key = _log_key(args)
    try:
        if args.bundle:
            try:
                data = args.bundle.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {args.bundle}: {exc.strerror}") from exc
            wits = [load_verifier(v) for v in args.witness_vkey]
            rep = verify_bundle(data, key, witnesses=wits)
            _out(
                args,
                {
                    "ok": True,
                    "tree_size": rep.size,
                    "entries": len(rep.entries),
                    "cosigned_by": list(rep.cosigned_by),
                },
                f"OK: {len(rep.entries)} entries proven in the signed tree of size {rep.size}",
            )
            return 0
        witnesses = _witnesses(args)
        show = args.progress or sys.stderr.isatty()
        with _reader(args) as reader:
            report = verify_log(
                reader.store,
                key,
                witnesses=witnesses,
                progress=_progress if show else None,
                push=not args.no_push,
            )
        if show:
            print(file=sys.stderr)
    except VerificationError as exc:
        where = f"entry {exc.index}" if exc.index is not None else "log"
        msg = str(exc).removeprefix(f"entry {exc.index}: ")
        _out(args, {"ok": False, "index": exc.index, "error": msg}, f"FAILED at {where}: {msg}")
        return 1
    lines = [
        f"OK: {report.size} entries re-hashed, root {base64.b64encode(report.root).decode()}",
        f"    {report.checkpoints} signed checkpoints verified, {report.payloads} payloads",
    ]
    for w in report.witnesses:
        lines.append(
            f"    witness {w.name}: size {w.witnessed_size},"
            f" {w.unwitnessed} entries not yet witnessed"
        )
    if not report.witnesses:
        lines.append(
            f"    no witness: {report.size} entries not witnessed (a key holder could"
            " rewrite them undetected)"
        )
    _out(
        args,
        {
            "ok": True,
            "size": report.size,
            "root": base64.b64encode(report.root).decode(),
            "checkpoints": report.checkpoints,
            "payloads": report.payloads,
            "unwitnessed": report.unwitnessed,
            "witnesses": [
                {"name": w.name, "size": w.witnessed_size, "unwitnessed": w.unwitnessed}
                for w in report.witnesses
            ],
        },
        "\n".join(lines),
    )
    return 0


def _progress(done: int, total: int) -> None:
    pct = 100 * done // total if total else 100
    print(f"\rverifying: {done}/{total} entries ({pct}%)", end="", file=sys.stderr, flush=True)


def _out(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    print(json.dumps(obj) if getattr(args, "json", False) else text)


def _show(args: argparse.Namespace) -> int:
    with _reader(args) as reader:
        if args.index is not None:
            entry = reader.entry(args.index)
            print(json.dumps(entry.to_json(), indent=None if args.json else 2, ensure_ascii=False))
            return 0
        cp = reader.latest_checkpoint()
        info: dict[str, Any] = {
            "db": str(_db(args)),
            "origin": reader.origin,
            "size": reader.size(),
            "vkey": reader.store.get_meta("vkey"),
            "payloads": len(reader.store.payloads()),
            "checkpoint": cp.text() if cp else None,
        }
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(f"{k}: {v}" for k, v in info.items() if k != "checkpoint"))
        print("latest checkpoint:\n" + (cp.text() if cp else "(none)\n"), end="")
    return 0


def _render(entry: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(entry.to_json(), ensure_ascii=False)
    rec = entry.record
    head = " ".join(str(rec.get(k, "-")) for k in ("time", "type", "session"))
    rest = {k: v for k, v in rec.items() if k not in ("time", "type", "session")}
    return f"{entry.index:>8}  {head}  {json.dumps(rest, ensure_ascii=False)}"


def _tail(args: argparse.Namespace) -> int:
    with _reader(args) as reader:
        start = max(0, reader.size() - args.n)
        while True:
            for entry in reader.entries(start):
                print(_render(entry, args.json), flush=True)
                start = entry.index + 1
            if not args.follow:
                return 0
            time.sleep(0.5)


def _prove(args: argparse.Namespace) -> int:
    with _reader(args) as reader:
        size = args.size if args.size is not None else reader.size()
        b64 = [
            base64.b64encode(h).decode()
            for h in (
                reader.consistency_proof(args.consistency, size)
                if args.consistency is not None
                else reader.inclusion_proof(_index(args), size)
            )
        ]
        if args.consistency is not None:
            obj: dict[str, Any] = {"old": args.consistency, "size": size, "proof": b64}
        else:
            leaf = reader.leaf(args.index)
            obj = {"index": args.index, "size": size, "leaf": leaf.decode("utf-8"), "proof": b64}
        cp = reader.latest_checkpoint()
        if cp is not None and cp.size == size:
            obj["checkpoint"] = cp.text()
    print(json.dumps(obj, indent=None if args.json else 2, ensure_ascii=False))
    return 0


def _index(args: argparse.Namespace) -> int:
    if args.index is None:
        raise InputError("give an entry INDEX, or --consistency OLD")
    index: int = args.index
    return index


def _export(args: argparse.Namespace) -> int:
    from warden.record import export_bundle

    key = _log_key(args)
    with _reader(args) as reader:
        bundle = export_bundle(reader, key, args.start, args.end)
    try:
        args.file.write_text(json.dumps(bundle, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write {args.file}: {exc.strerror}") from exc
    print(f"exported {len(bundle['entries'])} entries to {args.file}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    if args.before < 0:
        raise InputError("--before must be 0 or more")
    with _reader(args) as reader:
        purged = reader.store.purge_payloads(min(args.before, reader.size()))
    print(f"purged {purged} payload(s) of entries below {args.before}; the tree is unchanged")
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    from warden.record.witness import push_checkpoint

    key = _log_key(args)
    witnesses = _witnesses(args)
    with _reader(args) as reader:
        cp = reader.checkpoint(key)
        for w in witnesses:
            push_checkpoint(reader, w, cp)
        cosigned = reader.latest_checkpoint() or cp
    print(cosigned.text(), end="")
    return 0
