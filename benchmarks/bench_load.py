"""Bounded load test of `ferkit serve` on loopback; prints a Markdown table.

    python benchmarks/bench_load.py [--clients 50 --duration 60] [--idle-clients 20 --idle-ws 2
                                     --slow-clients 10] [--model ferplus] [--quick]

Starts the server itself (``ferkit serve`` on 127.0.0.1 and a free port), then N concurrent clients post real
photos (``samples/images`` under FERKIT_DATA) to ``POST /v1/predict`` for T seconds, each waiting for its answer
before sending the next. Hostile clients are attached at the same time: idle ones (TCP connections that send
nothing, and live WebSocket sessions that send no frame) and slow ones (headers, or an upload, at 50 bytes/s);
each reconnects when the server drops it, and the drops are counted. Reports requests, errors, latency
percentiles, throughput, the server's resident memory before, at half time and after, and how fast /healthz
answered during the load. Traffic goes to 127.0.0.1 only; every loop stops at the deadline. Exit status 1 if
any request of the well-behaved clients failed. On a shared machine the numbers include whatever else is
running.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def data_root() -> Path:
    return Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def start_server(args, port: int, log) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "ferkit.cli.main",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(args.workers),
    ]
    if args.model:
        cmd += ["--model", args.model]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    cmd += args.server_arg
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ferkit serve exited with status {proc.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"ferkit serve did not answer within 120 s; see {log.name}")


async def hostile(port: int, kind: str, deadline: float, drops: dict) -> None:
    """One misbehaving client until the deadline, reconnecting whenever the server drops it: ``idle`` (a TCP
    connection that sends nothing), ``slow-headers`` / ``slow-upload`` (50 bytes/s), ``idle-ws`` (a live
    WebSocket session that sends no frame)."""
    if kind == "idle-ws":
        import websockets

        while time.perf_counter() < deadline:
            try:
                async with websockets.connect(f"ws://127.0.0.1:{port}/v1/live") as ws:
                    while time.perf_counter() < deadline:
                        await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.perf_counter()))
            except (asyncio.TimeoutError, TimeoutError):
                return
            except Exception:  # noqa: BLE001  closed by the server (idle timeout, busy): count and reconnect
                drops[kind] = drops.get(kind, 0) + 1
                await asyncio.sleep(0.2)
        return
    head = {
        "idle": b"",
        "slow-headers": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        "slow-upload": b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
        b"Content-Type: multipart/form-data; boundary=xx\r\n\r\n--xx\r\n",
    }[kind]
    while time.perf_counter() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            writer.write(head)
            while time.perf_counter() < deadline:
                if kind != "idle":
                    writer.write(b"a" * 50)
                await writer.drain()
                try:
                    if not await asyncio.wait_for(reader.read(65536), 1.0):
                        break  # the server closed the connection
                except asyncio.TimeoutError:
                    continue
            else:
                return
            drops[kind] = drops.get(kind, 0) + 1
        except OSError:
            drops[kind] = drops.get(kind, 0) + 1
        finally:
            writer.close()


async def run_load(
    base: str,
    photos: list[tuple[str, bytes]],
    clients: int,
    duration: float,
    pid: int,
    timeout: float,
    bad: dict[str, int] | None = None,
) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    faces = 0
    health: list[float] = []
    rss_mid: list[float] = []
    deadline = time.perf_counter() + duration

    async def client(i: int, http: httpx.AsyncClient):
        nonlocal faces
        k = i
        while time.perf_counter() < deadline:
            name, data = photos[k % len(photos)]
            k += 1
            t = time.perf_counter()
            try:
                r = await http.post("/v1/predict", files={"file": (name, data)})
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t)
                    faces += len(r.json()["faces"])
                else:
                    errors[f"HTTP {r.status_code}"] = errors.get(f"HTTP {r.status_code}", 0) + 1
            except httpx.HTTPError as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1

    async def monitor(http: httpx.AsyncClient):
        half = time.perf_counter() + duration / 2
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                r = await http.get("/healthz")
                if r.status_code == 200:
                    health.append(time.perf_counter() - t)
                else:
                    errors["healthz"] = errors.get("healthz", 0) + 1
            except httpx.HTTPError:
                errors["healthz"] = errors.get("healthz", 0) + 1
            if not rss_mid and time.perf_counter() >= half:
                rss_mid.append(rss_mb(pid))
            await asyncio.sleep(1.0)

    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    port = int(base.rsplit(":", 1)[1])
    drops: dict[str, int] = {}
    attackers = [hostile(port, kind, deadline, drops) for kind, n in (bad or {}).items() for _ in range(n)]
    t0 = time.perf_counter()
    async with (
        httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http,
        httpx.AsyncClient(base_url=base, timeout=timeout) as probe,
    ):
        await asyncio.gather(monitor(probe), *(client(i, http) for i in range(clients)), *attackers)
    wall = time.perf_counter() - t0
    return {
        "latencies": latencies,
        "errors": errors,
        "faces": faces,
        "health": health,
        "wall": wall,
        "rss_mid": rss_mid[0] if rss_mid else float("nan"),
        "drops": drops,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument(
        "--idle-clients",
        type=int,
        default=20,
        help="TCP connections that send nothing, attached during the load (default 20)",
    )
    p.add_argument("--idle-ws", type=int, default=2, help="live WebSocket sessions that send no frame (default 2)")
    p.add_argument(
        "--slow-clients",
        type=int,
        default=10,
        help="clients sending headers or an upload at 50 bytes/s, half each (default 10)",
    )
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra `ferkit serve` argument (repeatable), e.g. --server-arg=--header-timeout=5",
    )
    p.add_argument("--quick", action="store_true", help="a short smoke run: 8 clients for 10 s")
    p.add_argument("--model", default=None, help="model for the server (default: ferkit serve's default)")
    p.add_argument("--images", type=Path, default=None, help="folder of photos (default: FERKIT_DATA samples)")
    p.add_argument("--workers", type=int, default=1, help="server inference threads (default 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads in the server (default: all cores)")
    p.add_argument("--timeout", type=float, default=300.0, help="per-request timeout, seconds")
    args = p.parse_args()
    if args.quick:
        args.clients, args.duration = 8, 10.0
    if args.clients < 1 or not 0 < args.duration <= 600:
        p.error("need --clients >= 1 and 0 < --duration <= 600")
    folder = args.images or data_root() / "samples" / "images"
    photos = [(f.name, f.read_bytes()) for f in sorted(folder.glob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not photos:
        p.error(f"no photos in {folder} (set FERKIT_DATA or --images)")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile("wb", prefix="ferkit-serve-", suffix=".log", delete=False) as log:
        proc = start_server(args, port, log)
        try:
            for name, data in photos:  # warm-up: every photo once, so first-call costs are not measured
                r = httpx.post(base + "/v1/predict", files={"file": (name, data)}, timeout=args.timeout)
                r.raise_for_status()
            rss_before = rss_mb(proc.pid)
            bad = {
                "idle": args.idle_clients,
                "idle-ws": args.idle_ws,
                "slow-headers": args.slow_clients // 2,
                "slow-upload": args.slow_clients - args.slow_clients // 2,
            }
            res = asyncio.run(run_load(base, photos, args.clients, args.duration, proc.pid, args.timeout, bad))
            rss_after = rss_mb(proc.pid)
            alive = httpx.get(base + "/healthz", timeout=10).status_code == 200
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    lat = [x * 1000 for x in res["latencies"]]
    n_err = sum(res["errors"].values())
    n = len(lat) + n_err
    ms = lambda v: f"{v:.0f}"  # noqa: E731
    print(f"\n### ferkit serve load test: {args.clients} clients x {args.duration:.0f} s, POST /v1/predict\n")
    print(
        f"attached at the same time: {args.idle_clients} idle TCP connections, {args.idle_ws} idle live "
        f"WebSocket sessions, {args.slow_clients} clients at 50 bytes/s (headers or upload); server args "
        f"{' '.join(args.server_arg) or '(defaults)'}\n"
    )
    print(
        f"{len(photos)} photos from {folder} (round robin), model {args.model or 'default'}, "
        f"{args.workers} inference worker(s), {os.cpu_count()} CPU cores; server log {log.name}\n"
    )
    print(
        "| clients | duration s | requests | errors | throughput req/s | faces/s | p50 ms | p95 ms | p99 ms | "
        "max ms | healthz p95 ms | RSS before MB | RSS half-time MB | RSS after MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.clients} | {res['wall']:.1f} | {n} | {n_err} | {len(lat) / res['wall']:.2f} | "
        f"{res['faces'] / res['wall']:.1f} | {ms(percentile(lat, 0.5))} | {ms(percentile(lat, 0.95))} | "
        f"{ms(percentile(lat, 0.99))} | {ms(max(lat) if lat else float('nan'))} | "
        f"{ms(percentile([h * 1000 for h in res['health']], 0.95))} | {rss_before:.0f} | {res['rss_mid']:.0f} | "
        f"{rss_after:.0f} |"
    )
    if res["errors"]:
        print(f"\nerrors: {res['errors']}")
    print(f"\nhostile connections dropped by the server (each then reconnected): {res['drops'] or 'none'}")
    print(f"\nserver still answering /healthz after the run: {alive}")
    if lat:
        print(f"mean latency {statistics.fmean(lat):.0f} ms over {len(lat)} successful requests")
    return 0 if n_err == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
