"""Burst: N TLS 1.3 handshakes started at once against each server.

For every server kind (bench/load_common.py) the script opens N
connections concurrently (each: handshake, 4 bytes echoed, close) and
reports how long the burst took, handshakes per second, latency
percentiles, failures, and the server's resident memory and descriptors
before, at the peak and after.  Then it opens ``--hold`` connections and
keeps them idle after one echo each against a fresh server process, and
reports the server's resident memory per held connection (RSS growth /
connections).

    python -m bench.load_burst                       # 1,000 connections, all servers
    python -m bench.load_burst -n 200 --servers puretls-aio,ssl-aio
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.load_common import (
    KINDS,
    ServerProcess,
    client_context,
    make_files,
    mib,
    ms,
    parse_kinds,
    percentile,
    raise_nofile,
    table,
    tls_ping,
)


async def burst(server: ServerProcess, context: object, n: int) -> dict[str, object]:
    rss_before, fds_before = server.rss(), server.fds()
    peak = {"rss": rss_before, "fds": fds_before}
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], server.rss())
            peak["fds"] = max(peak["fds"], server.fds())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    cpu_before = server.cpu_seconds()
    start = time.perf_counter()
    results = await asyncio.gather(
        *(tls_ping(server.port, context, timeout=120) for _ in range(n)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - start
    done.set()
    await sampler
    await asyncio.sleep(0.5)  # let the server finish closing
    latencies = [r for r in results if isinstance(r, float)]
    errors = [r for r in results if not isinstance(r, float)]
    return {
        "elapsed": elapsed,
        "ok": len(latencies),
        "failed": len(errors),
        "first_error": repr(errors[0]) if errors else "",
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "server_cpu": server.cpu_seconds() - cpu_before,
        "rss_before": rss_before,
        "rss_peak": peak["rss"],
        "rss_after": server.rss(),
        "fds_before": fds_before,
        "fds_peak": peak["fds"],
        "fds_after": server.fds(),
    }


async def hold(server: ServerProcess, context: object, n: int) -> float:
    """Server RSS growth per idle established connection, over ``n`` of them."""
    await asyncio.sleep(0.5)
    before = server.rss()
    held = []
    for start in range(0, n, 100):
        batch = await asyncio.gather(
            *(_open(server.port, context) for _ in range(start, min(n, start + 100)))
        )
        held.extend(batch)
    await asyncio.sleep(1.0)
    per_connection = (server.rss() - before) / n
    for _reader, writer in held:
        writer.close()
    await asyncio.sleep(0.5)
    return per_connection


async def _open(port: int, context: object) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )  # type: ignore[call-overload]
    writer.write(b"ping")
    await writer.drain()
    await reader.readexactly(4)
    return reader, writer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--connections", type=int, default=1000)
    parser.add_argument("--hold", type=int, default=1000, help="idle connections held (0: skip)")
    parser.add_argument("--servers", default=",".join(KINDS), help="comma-separated kinds")
    args = parser.parse_args()
    raise_nofile()
    files = make_files()
    context = client_context(files)
    rows = []
    held: list[list[str]] = []
    for kind in parse_kinds(args.servers):
        with ServerProcess(kind, files) as server:
            asyncio.run(tls_ping(server.port, context))  # warm up
            r = asyncio.run(burst(server, context, args.connections))
        if args.hold:
            # A fresh server: after the burst its allocator would already
            # hold the memory the idle connections then reuse.
            with ServerProcess(kind, files) as server:
                asyncio.run(tls_ping(server.port, context))
                per = asyncio.run(hold(server, context, args.hold))
            held.append([kind, f"{per / 1024:.1f} KiB"])
        rate = r["ok"] / r["elapsed"]  # type: ignore[operator]
        rows.append(
            [
                kind,
                f"{r['ok']}/{args.connections}",
                f"{r['elapsed']:.1f} s",
                f"{rate:.0f}/s",
                ms(r["p50"]),  # type: ignore[arg-type]
                ms(r["p99"]),  # type: ignore[arg-type]
                f"{r['server_cpu']:.1f} s",
                f"{mib(r['rss_before'])} / {mib(r['rss_peak'])} / {mib(r['rss_after'])}",  # type: ignore[arg-type]
                f"{r['fds_before']} / {r['fds_peak']} / {r['fds_after']}",
            ]
        )
        if r["failed"]:
            print(f"{kind}: {r['failed']} failed, first: {r['first_error']}")
    print(f"burst of {args.connections} concurrent handshakes (ECDSA P-256, TLS 1.3, ssl clients)")
    print(
        table(
            [
                "server",
                "ok",
                "burst",
                "handshakes",
                "p50",
                "p99",
                "server CPU",
                "RSS before / peak / after",
                "fds before / peak / after",
            ],
            rows,
        )
    )
    if held:
        print(f"\nserver RSS per idle established connection ({args.hold} held, one echo each)")
        print(table(["server", "RSS per connection"], held))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
