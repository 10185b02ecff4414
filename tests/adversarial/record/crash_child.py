"""Child process of the crash suite: append from 4 threads forever, print each durable ack.

Usage: python crash_child.py DB TAG [async|resident]. Each acknowledged entry is printed as
``<index> <id>`` only after ``Receipt.result()`` returned, i.e. after the batch's transaction
committed. With ``async``, 16 coroutines on one event loop each print what ``await
AuditLog.append_async`` acknowledged. With ``resident``, the log is opened as ``warden serve``
and ``warden mcp`` open it (a WAL prefilled with zeros, a short checkpoint cycle) and one
thread appends one record at a time, as they do.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from warden.record import AuditLog


async def coroutines(log: AuditLog, tag: str) -> None:
    async def worker(w: int) -> None:
        n = 0
        while True:
            ident = f"{tag}:a{w}:{n}"
            idx = await log.append_async(
                {"type": "crash", "id": ident}, payload={"n": n} if n % 7 == 0 else None
            )
            sys.stdout.write(f"{idx} {ident}\n")
            sys.stdout.flush()
            n += 1

    print("ready", flush=True)
    await asyncio.gather(*(worker(w) for w in range(16)))


def main() -> None:
    db, tag = Path(sys.argv[1]), sys.argv[2]
    log = AuditLog.open(db, resident=sys.argv[3:] == ["resident"])
    if sys.argv[3:] == ["async"]:
        asyncio.run(coroutines(log, tag))
        return
    if sys.argv[3:] == ["resident"]:
        print("ready", flush=True)
        n = 0
        while True:
            ident = f"{tag}:s:{n}"
            idx = log.append({"type": "crash", "id": ident, "pad": "x" * (n % 900)},
                             payload={"n": n} if n % 7 == 0 else None)  # fmt: skip
            sys.stdout.write(f"{idx} {ident}\n")
            sys.stdout.flush()
            n += 1
    out = threading.Lock()

    def worker(w: int) -> None:
        n = 0
        while True:
            receipts = [
                log.append_nowait(
                    {"type": "crash", "id": f"{tag}:{w}:{n + k}"},
                    payload={"n": n + k} if k % 7 == 0 else None,
                )
                for k in range(40)
            ]
            for k, r in enumerate(receipts):
                idx = r.result()
                with out:
                    sys.stdout.write(f"{idx} {tag}:{w}:{n + k}\n")
                    sys.stdout.flush()
            n += 40

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
    with out:
        print("ready", flush=True)
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
