"""Slowloris: hundreds of stalled handshakes while normal clients are served.

For every server kind, S attackers connect and trickle the start of a
ClientHello one byte every ``--interval`` seconds (never finishing it, and
never waiting long enough to trip a per-read timeout).  Meanwhile a normal
client connects every 100 ms; its latency shows whether the server still
serves.  The script reports the normal clients' latency and failures, when
the server dropped the stalled connections (median and max seconds after
their start; "open" if still held when the run ended), and the server's
descriptors and threads at the peak and at the end.

    python -m bench.load_slowloris                     # 300 stalled, 10 s handshake timeout
    python -m bench.load_slowloris -s 100 --handshake-timeout 3 --duration 8
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.load_common import (
    HOST,
    KINDS,
    ServerProcess,
    client_context,
    make_files,
    median,
    ms,
    parse_kinds,
    percentile,
    raise_nofile,
    table,
    tls_ping,
)

# A TLS record header and handshake header promising a 512-byte ClientHello.
HELLO_START = b"\x16\x03\x01\x02\x04\x01\x00\x02\x00\x03\x03" + bytes(range(32)) * 16


async def stalled(interval: float, deadline: float) -> float | None:
    """Trickle bytes until the server hangs up; seconds until then, or None."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, PORT[0])
    try:
        for byte in HELLO_START:
            if time.monotonic() > deadline:
                return None
            writer.write(bytes((byte,)))
            try:
                await writer.drain()
                # A hang-up shows as EOF (or a reset) on our side.
                data = await asyncio.wait_for(reader.read(100), interval)
            except asyncio.TimeoutError:
                continue
            except OSError:
                return time.monotonic() - start
            if not data:
                return time.monotonic() - start
        return None
    finally:
        writer.close()


PORT = [0]


async def scenario(
    server: ServerProcess, context: object, attackers: int, interval: float, duration: float
) -> dict[str, object]:
    PORT[0] = server.port
    deadline = time.monotonic() + duration
    peak = {"fds": server.fds(), "threads": server.threads()}
    tasks = []
    for _ in range(attackers):
        tasks.append(asyncio.create_task(stalled(interval, deadline)))
        await asyncio.sleep(0.002)
    latencies: list[float] = []
    failures = 0
    while time.monotonic() < deadline:
        try:
            latencies.append(await tls_ping(server.port, context, timeout=10))  # type: ignore[arg-type]
        except (OSError, asyncio.TimeoutError, Exception):
            failures += 1
        peak["fds"] = max(peak["fds"], server.fds())
        peak["threads"] = max(peak["threads"], server.threads())
        await asyncio.sleep(0.1)
    closed = await asyncio.gather(*tasks)
    await asyncio.sleep(0.5)
    dropped = [c for c in closed if c is not None]
    return {
        "served": len(latencies),
        "failed": failures,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "dropped": len(dropped),
        "still_open": attackers - len(dropped),
        "drop_median": median(dropped),
        "drop_max": max(dropped, default=float("nan")),
        "fds_peak": peak["fds"],
        "fds_end": server.fds(),
        "threads_peak": peak["threads"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--stalled", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between bytes")
    parser.add_argument("--handshake-timeout", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per server")
    parser.add_argument("--servers", default=",".join(KINDS))
    args = parser.parse_args()
    raise_nofile()
    files = make_files()
    context = client_context(files)
    rows = []
    for kind in parse_kinds(args.servers):
        with ServerProcess(kind, files, args.handshake_timeout) as server:
            r = asyncio.run(scenario(server, context, args.stalled, args.interval, args.duration))
        rows.append(
            [
                kind,
                f"{r['served']} ({r['failed']} failed)",
                ms(r["p50"]),  # type: ignore[arg-type]
                ms(r["p99"]),  # type: ignore[arg-type]
                f"{r['dropped']}/{args.stalled}",
                f"{r['drop_median']:.1f} s / {r['drop_max']:.1f} s",
                str(r["still_open"]),
                f"{r['fds_peak']} / {r['fds_end']}",
                str(r["threads_peak"]),
            ]
        )
    print(
        f"slowloris: {args.stalled} stalled handshakes (1 byte every {args.interval} s), "
        f"normal clients every 100 ms for {args.duration:.0f} s; puretls handshake timeout "
        f"{args.handshake_timeout:g} s (ssl-threaded: the same value as socket timeout, which "
        "CPython's do_handshake applies as a deadline); ssl-aio: asyncio's default 60 s"
    )
    print(
        table(
            [
                "server",
                "normal clients",
                "p50",
                "p99",
                "stalled dropped",
                "dropped after (median / max)",
                "still open at end",
                "fds peak / end",
                "threads peak",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
