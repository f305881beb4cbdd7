"""Garbage and abrupt resets: the server keeps serving and frees what it held.

For every server kind, rounds of hostile connections, each kind of them
``--count`` times:

- ``random``: random bytes (1 to 4 KiB) instead of a ClientHello;
- ``http``: a plain HTTP request to the TLS port;
- ``mutated``: a real ClientHello (from the stdlib's client) with a few
  random bytes flipped;
- ``reset-hello``: half a ClientHello, then a TCP reset (SO_LINGER 0);
- ``reset-established``: a full handshake, then a TCP reset;
- ``oversized``: a record header announcing 64 KiB, then 16 KiB of data.

After each round a normal client must still be served; at the end the
script compares the server's resident memory and descriptors with the
figures before the first round (after a warm-up).

    python -m bench.load_garbage                   # 200 of each, all servers
    python -m bench.load_garbage --count 50 --servers puretls-aio,ssl-aio
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import ssl
import struct
import time

from bench.load_common import (
    HOST,
    KINDS,
    ServerProcess,
    client_context,
    make_files,
    mib,
    parse_kinds,
    raise_nofile,
    table,
    tls_ping,
)

KINDS_OF_GARBAGE = ("random", "http", "mutated", "reset-hello", "reset-established", "oversized")


def client_hello(context: ssl.SSLContext) -> bytes:
    """The bytes of a real ClientHello from the stdlib's client."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


async def hostile(port: int, kind: str, rng: random.Random, hello: bytes, ctx: object) -> None:
    if kind == "reset-established":
        reader, writer = await asyncio.open_connection(
            HOST, port, ssl=ctx, server_hostname="localhost"
        )  # type: ignore[call-overload]
        writer.write(b"ping")
        await writer.drain()
        await reader.readexactly(4)
        _reset(writer)
        return
    reader, writer = await asyncio.open_connection(HOST, port)
    if kind == "random":
        payload = rng.randbytes(rng.randint(1, 4096))
    elif kind == "http":
        payload = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    elif kind == "mutated":
        data = bytearray(hello)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        payload = bytes(data)
    elif kind == "reset-hello":
        payload = hello[: len(hello) // 2]
    else:  # oversized
        payload = b"\x16\x03\x01\xff\xff" + bytes(16384)
    try:
        writer.write(payload)
        await writer.drain()
        if kind == "reset-hello":
            await asyncio.sleep(0.01)
            _reset(writer)
            return
        await asyncio.wait_for(reader.read(65536), 5)
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport = writer.transport
    transport.abort()


async def scenario(server: ServerProcess, ctx: ssl.SSLContext, count: int) -> dict[str, object]:
    rng = random.Random(9)
    hello = client_hello(ctx)
    for _ in range(20):
        await tls_ping(server.port, ctx)
    await asyncio.sleep(0.5)
    rss_before, fds_before = server.rss(), server.fds()
    served = failures = 0
    start = time.monotonic()
    for kind in KINDS_OF_GARBAGE:
        batch = [hostile(server.port, kind, rng, hello, ctx) for _ in range(count)]
        results = await asyncio.gather(*batch, return_exceptions=True)
        failures += sum(isinstance(r, BaseException) for r in results)
        await tls_ping(server.port, ctx)
        served += 1
    elapsed = time.monotonic() - start
    await asyncio.sleep(1.0)
    # The same warm-up traffic again, so allocator caches compare like with like.
    for _ in range(20):
        await tls_ping(server.port, ctx)
    await asyncio.sleep(0.5)
    return {
        "hostile": count * len(KINDS_OF_GARBAGE),
        "client_errors": failures,
        "served": served,
        "alive": server.alive(),
        "elapsed": elapsed,
        "rss_before": rss_before,
        "rss_after": server.rss(),
        "fds_before": fds_before,
        "fds_after": server.fds(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="connections per kind of garbage")
    parser.add_argument("--servers", default=",".join(KINDS))
    args = parser.parse_args()
    raise_nofile()
    files = make_files()
    ctx = client_context(files)
    rows = []
    for kind in parse_kinds(args.servers):
        with ServerProcess(kind, files) as server:
            r = asyncio.run(scenario(server, ctx, args.count))
        rows.append(
            [
                kind,
                str(r["hostile"]),
                f"{r['served']}/{len(KINDS_OF_GARBAGE)}",
                "yes" if r["alive"] else "NO",
                f"{r['elapsed']:.1f} s",
                f"{mib(r['rss_before'])} -> {mib(r['rss_after'])}",  # type: ignore[arg-type]
                f"{r['fds_before']} -> {r['fds_after']}",
            ]
        )
    print(
        f"garbage and resets: {args.count} each of {', '.join(KINDS_OF_GARBAGE)}; "
        "a normal client after each round"
    )
    print(
        table(
            [
                "server",
                "hostile conns",
                "normal served",
                "alive",
                "time",
                "RSS before -> after",
                "fds before -> after",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
