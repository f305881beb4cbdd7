"""Soak: a steady connection rate for a long time; memory and descriptors flat.

For every server kind, ``--rate`` connections per second (each: handshake,
4 bytes echoed, close; some left idle for a while, some reset) for
``--duration`` seconds (10 minutes by default, split evenly between the
servers unless ``--per-server`` is given).  The server's resident memory and
open descriptors are sampled every second; the report gives the first and
last minute's averages, the maximum, and the growth per 10,000 connections
between the two halves of the run (a leak shows as steady growth).

    python -m bench.load_soak                          # 10 minutes in total
    python -m bench.load_soak --duration 120 --rate 50 --servers puretls-aio,ssl-aio
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import struct
import time

from bench.load_common import (
    HOST,
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


async def _held(port: int, context: object, hold: float) -> None:
    """A connection that stays idle after its handshake, then resets."""
    reader, writer = await asyncio.open_connection(
        HOST, port, ssl=context, server_hostname="localhost"
    )  # type: ignore[call-overload]
    writer.write(b"ping")
    await writer.drain()
    await reader.readexactly(4)
    await asyncio.sleep(hold)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def soak(
    server: ServerProcess, context: object, rate: float, duration: float
) -> dict[str, object]:
    samples: list[tuple[float, int, int, int]] = []  # (t, connections, rss, fds)
    latencies: list[float] = []
    failures = 0
    started = 0
    pending: set[asyncio.Task[object]] = set()
    start = time.monotonic()
    next_sample = start

    def finished(task: asyncio.Task[object]) -> None:
        nonlocal failures
        pending.discard(task)
        if task.cancelled() or task.exception() is not None:
            failures += 1
        elif isinstance(task.result(), float):
            latencies.append(task.result())  # type: ignore[arg-type]

    while (now := time.monotonic()) < start + duration:
        # Every 20th connection is held idle for 5 s, then reset.
        coro = (
            _held(server.port, context, 5.0)
            if started % 20 == 19
            else tls_ping(server.port, context, timeout=30)  # type: ignore[arg-type]
        )
        task: asyncio.Task[object] = asyncio.create_task(coro)  # type: ignore[arg-type]
        task.add_done_callback(finished)
        pending.add(task)
        started += 1
        if now >= next_sample:
            samples.append((now - start, started, server.rss(), server.fds()))
            next_sample += 1.0
        await asyncio.sleep(max(0.0, start + started / rate - time.monotonic()))
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 60)
    await asyncio.sleep(1.0)
    samples.append((time.monotonic() - start, started, server.rss(), server.fds()))
    return _summary(samples, latencies, failures, started)


def _summary(
    samples: list[tuple[float, int, int, int]], latencies: list[float], failures: int, n: int
) -> dict[str, object]:
    window = max(1, min(60, len(samples) // 4))
    first, last = samples[:window], samples[-window:]
    # Growth over the second half of the run, past the warm-up of caches
    # and allocator arenas: a leak keeps growing there.
    a, b = samples[len(samples) // 2], samples[-2] if len(samples) > 2 else samples[-1]
    growth = (b[2] - a[2]) / max(1, b[1] - a[1]) * 10_000
    return {
        "connections": n,
        "failed": failures,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "rss_first": statistics.mean(s[2] for s in first),
        "rss_last": statistics.mean(s[2] for s in last),
        "rss_max": max(s[2] for s in samples),
        "growth_per_10k": growth,
        "fds_first": statistics.mean(s[3] for s in first),
        "fds_last": statistics.mean(s[3] for s in last),
        "fds_max": max(s[3] for s in samples),
        "fds_end": samples[-1][3],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds in total")
    parser.add_argument("--per-server", type=float, help="seconds per server (overrides split)")
    parser.add_argument("--rate", type=float, default=40.0, help="new connections per second")
    parser.add_argument("--servers", default=",".join(KINDS))
    args = parser.parse_args()
    raise_nofile()
    kinds = parse_kinds(args.servers)
    each = args.per_server or args.duration / len(kinds)
    files = make_files()
    context = client_context(files)
    rows = []
    for kind in kinds:
        with ServerProcess(kind, files) as server:
            r = asyncio.run(soak(server, context, args.rate, each))
        rows.append(
            [
                kind,
                f"{r['connections']} ({r['failed']} failed)",
                ms(r["p50"]),  # type: ignore[arg-type]
                ms(r["p99"]),  # type: ignore[arg-type]
                f"{mib(r['rss_first'])} / {mib(r['rss_last'])} / {mib(r['rss_max'])}",  # type: ignore[arg-type]
                f"{r['growth_per_10k'] / 1024:+.0f} KiB",  # type: ignore[operator]
                f"{r['fds_first']:.0f} / {r['fds_last']:.0f} / {r['fds_max']} / {r['fds_end']}",
            ]
        )
    print(
        f"soak: {args.rate:g} connections/s for {each:.0f} s per server "
        "(1 in 20 held idle 5 s, then reset)"
    )
    print(
        table(
            [
                "server",
                "connections",
                "p50",
                "p99",
                "RSS first / last / max",
                "RSS growth per 10k (2nd half)",
                "fds first / last / max / end",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
