"""Throughput and added latency of warden's egress proxy on loopback.

    python bench/bench_proxy.py [--quick]

Three processes, so the proxy does not share a GIL with the load it serves: an upstream server
(small fixed responses, or a bulk stream), the proxy (the real EgressProxy with a policy that
allows the upstream by name through an injected resolver, one event per request), and the
clients. Each measurement runs twice in the same invocation, through the proxy and directly to
the upstream, so the comparison shares the machine's load at that moment:

- small HTTP requests/s: keep-alive connections, ``GET http://bench.test:PORT/`` in absolute form
  (via the proxy) or origin form (direct), one request in flight per connection;
- small requests/s in a tunnel: one CONNECT per client connection, then keep-alive requests
  through it, one in flight (what an HTTPS client does; the proxy relays bytes and judges nothing
  after the CONNECT);
- small CONNECT requests/s: a new connection, CONNECT, one request, close (a tunnel per request;
  shown for the cost of a new tunnel, not a target: it is a loopback TCP handshake to the proxy
  and another to the upstream per request, and direct connections reach only ~2,700/s here);
- bulk MB/s: one CONNECT tunnel, the upstream sends a stream, the client reads it (several runs,
  alternating with the direct path; the median is reported with the range);
- added latency: one connection, sequential keep-alive requests; p50/p99 through the proxy minus
  p50/p99 direct.

Targets (issue 4): >= 2,000 small requests/s and >= 1 GB/s bulk through the proxy (the first
two rows and the bulk row are held to them).
"""

from __future__ import annotations

import argparse
import ipaddress
import multiprocessing as mp
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CHUNK = memoryview(b"\x00" * (4 << 20))


# -- upstream -------------------------------------------------------------------------------------


def _upstream_conn(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            if buf.startswith(b"BULK "):
                size = int(buf.split(b"\n", 1)[0].split()[1])
                while size > 0:
                    n = min(size, len(CHUNK))
                    conn.sendall(CHUNK[:n])
                    size -= n
                return
            while b"\r\n\r\n" in buf:
                _, buf = buf.split(b"\r\n\r\n", 1)
                conn.sendall(RESPONSE)
    except OSError:
        pass
    finally:
        conn.close()


def upstream_main(ready: mp.Queue) -> None:  # type: ignore[type-arg]
    server = socket.create_server(("127.0.0.1", 0), backlog=4096)
    ready.put(server.getsockname()[1])
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_upstream_conn, args=(conn,), daemon=True).start()


# -- proxy ----------------------------------------------------------------------------------------


def proxy_main(upstream_port: int, ready: mp.Queue) -> None:  # type: ignore[type-arg]
    from warden.contain.egress import EgressPolicy
    from warden.contain.proxy import EgressProxy, ProxyEvent

    policy = EgressPolicy.from_patterns(
        [f"bench.test:{upstream_port}", f"127.0.0.1:{upstream_port}"]
    )
    table = {"bench.test": [ipaddress.ip_address("127.0.0.1")]}
    events = [0]

    def on_event(event: ProxyEvent) -> None:
        event.to_record()  # what the supervisor would do before appending to the audit log
        events[0] += 1

    proxy = EgressProxy(policy, on_event=on_event, resolver=lambda n, p, t: table[n])
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    proxy.serve(listener)
    ready.put(proxy.address[1])
    threading.Event().wait()


# -- clients --------------------------------------------------------------------------------------


def _read_response(sock: socket.socket) -> None:
    got = b""
    while not got.endswith(b"ok"):
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        got += data


def keepalive_worker(
    target: tuple[str, int], request: bytes, seconds: float, out: mp.Queue
) -> None:  # type: ignore[type-arg]
    sock = socket.create_connection(target)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sock.sendall(request)
        _read_response(sock)
        count += 1
    sock.close()
    out.put(count)


def tunnel_keepalive_worker(
    target: tuple[str, int], upstream_port: int, via_proxy: bool, seconds: float, out: mp.Queue
) -> None:  # type: ignore[type-arg]
    sock = socket.create_connection(target)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if via_proxy:
        _open_tunnel(sock, upstream_port)
    request = b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n"
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sock.sendall(request)
        _read_response(sock)
        count += 1
    sock.close()
    out.put(count)


def _open_tunnel(sock: socket.socket, upstream_port: int) -> None:
    sock.sendall(
        b"CONNECT bench.test:%d HTTP/1.1\r\nHost: bench.test:%d\r\n\r\n"
        % (upstream_port, upstream_port)
    )
    got = b""
    while not got.endswith(b"\r\n\r\n"):
        data = sock.recv(39 - len(got))
        if not data:
            raise ConnectionError("the proxy closed the tunnel")
        got += data
    if not got.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"CONNECT refused: {got!r}")


def connect_worker(
    target: tuple[str, int], upstream_port: int, via_proxy: bool, seconds: float, out: mp.Queue
) -> None:  # type: ignore[type-arg]
    count, deadline = 0, time.perf_counter() + seconds
    request = b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n"
    while time.perf_counter() < deadline:
        with socket.create_connection(target) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if via_proxy:
                _open_tunnel(sock, upstream_port)
            sock.sendall(request)
            _read_response(sock)
        count += 1
    out.put(count)


def run_parallel(worker, args: tuple, clients: int) -> int:  # type: ignore[no-untyped-def,type-arg]
    out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    procs = [mp.Process(target=worker, args=(*args, out)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total


def bulk(target: tuple[str, int], upstream_port: int, via_proxy: bool, size: int) -> float:
    with socket.create_connection(target) as sock:
        if via_proxy:
            sock.sendall(b"CONNECT bench.test:%d HTTP/1.1\r\n\r\n" % upstream_port)
            assert sock.recv(39).startswith(b"HTTP/1.1 200")
        buffer = bytearray(4 << 20)
        started = time.perf_counter()
        sock.sendall(b"BULK %d\n" % size)
        got = 0
        while got < size:
            n = sock.recv_into(buffer)
            if not n:
                raise ConnectionError(f"stream ended at {got} of {size}")
            got += n
        return size / (time.perf_counter() - started) / 1e6


def latencies(target: tuple[str, int], request: bytes, count: int) -> list[float]:
    sock = socket.create_connection(target)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        sock.sendall(request)
        _read_response(sock)
        out.append(time.perf_counter() - t0)
    sock.close()
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc, clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="short runs (about 10 seconds)")
    ap.add_argument("--clients", type=int, default=4, help="client processes for req/s runs")
    args = ap.parse_args()
    seconds = 1.0 if args.quick else 4.0
    bulk_size = (512 << 20) if args.quick else (2 << 30)
    bulk_runs = 2 if args.quick else 3
    samples = 500 if args.quick else 3000

    mp.set_start_method("fork")
    ready: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    upstream = mp.Process(target=upstream_main, args=(ready,), daemon=True)
    upstream.start()
    up_port = ready.get(timeout=10)
    proxy = mp.Process(target=proxy_main, args=(up_port, ready), daemon=True)
    proxy.start()
    proxy_port = ready.get(timeout=10)
    direct, via = ("127.0.0.1", up_port), ("127.0.0.1", proxy_port)
    absolute = b"GET http://bench.test:%d/ HTTP/1.1\r\nHost: bench.test:%d\r\n\r\n" % (
        up_port,
        up_port,
    )
    origin = b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n"

    print(
        f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
        f"{args.clients} client processes, {seconds:g}s per run"
    )
    rows: list[tuple[str, float, float, int | None, str]] = []
    # Warm up both paths (thread creation, caches).
    latencies(via, absolute, 50)
    latencies(direct, origin, 50)

    def measured(fn, *fargs):  # type: ignore[no-untyped-def]
        before = cpu_seconds(proxy.pid)
        result = fn(*fargs)
        return result, cpu_seconds(proxy.pid) - before

    (n_via, cpu) = measured(run_parallel, keepalive_worker, (via, absolute, seconds), args.clients)
    n_dir = run_parallel(keepalive_worker, (direct, origin, seconds), args.clients)
    rows.append(
        (
            "HTTP keep-alive small req/s",
            n_via / seconds,
            n_dir / seconds,
            2000,
            f"proxy CPU {cpu / n_via * 1e6:.0f} us/request",
        )
    )
    (n_via, cpu) = measured(
        run_parallel, tunnel_keepalive_worker, (via, up_port, True, seconds), args.clients
    )
    n_dir = run_parallel(tunnel_keepalive_worker, (direct, up_port, False, seconds), args.clients)
    rows.append(
        (
            "small req/s in kept-alive tunnels",
            n_via / seconds,
            n_dir / seconds,
            2000,
            f"proxy CPU {cpu / n_via * 1e6:.0f} us/request",
        )
    )
    (n_via, cpu) = measured(
        run_parallel, connect_worker, (via, up_port, True, seconds), args.clients
    )
    n_dir = run_parallel(connect_worker, (direct, up_port, False, seconds), args.clients)
    rows.append(
        (
            "CONNECT (tunnel per request) req/s",
            n_via / seconds,
            n_dir / seconds,
            None,
            f"proxy CPU {cpu / n_via * 1e6:.0f} us/tunnel",
        )
    )
    # Bulk runs alternate proxy and direct, so a burst of load elsewhere hits both columns.
    via_rates, dir_rates, bulk_cpu = [], [], 0.0
    for _ in range(bulk_runs):
        (rate, cpu) = measured(bulk, via, up_port, True, bulk_size)
        via_rates.append(rate)
        bulk_cpu += cpu
        dir_rates.append(bulk(direct, up_port, False, bulk_size))
    rows.append(
        (
            f"bulk through CONNECT MB/s (median of {bulk_runs})",
            statistics.median(via_rates),
            statistics.median(dir_rates),
            1000,
            f"proxy CPU {bulk_cpu / (bulk_runs * bulk_size / 1e9):.2f} s/GB; runs "
            f"{min(via_rates):,.0f}-{max(via_rates):,.0f} vs {min(dir_rates):,.0f}-"
            f"{max(dir_rates):,.0f}",
        )
    )

    lat_via = latencies(via, absolute, samples)
    lat_dir = latencies(direct, origin, samples)

    print(f"{'measure':38} {'proxy':>12} {'direct':>12} {'target':>8}")
    for name, through, plain, target, cpu_note in rows:
        if target is None:
            shown, mark = "-", ""
        else:
            shown, mark = f"{target:,}", "ok" if through >= target else "MISS"
        print(f"{name:38} {through:12,.0f} {plain:12,.0f} {shown:>8} {mark:4}  {cpu_note}")
    for q in (50, 99):
        v, d = pct(lat_via, q) * 1e6, pct(lat_dir, q) * 1e6
        print(f"latency p{q} (us): proxy {v:8.0f}  direct {d:8.0f}  added {v - d:8.0f}")
    print(f"bulk size {bulk_size >> 20} MiB; latency over {samples} sequential requests")
    proxy.terminate()
    upstream.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
