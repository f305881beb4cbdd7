"""puretls.aio: asyncio servers and connections with handshake and idle timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import puretls
import puretls.aio
from puretls.testing import CertificateAuthority


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture(scope="module")
def server_ctx(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Any:
    files = ca.issue(["localhost", "127.0.0.1"]).write(tmp_path_factory.mktemp("c"), "server")
    ctx = puretls.SSLContext(puretls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: CertificateAuthority) -> Any:
    return puretls.create_default_context(cadata=ca.cert_pem().decode())


def run(coro: Callable[[], Awaitable[None]], limit: float = 10.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro(), limit)

    asyncio.run(bounded())


async def echo(reader: Any, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def closed_within(port: int, seconds: float, trickle: bytes = b"") -> float:
    """Connect with plain TCP, trickle bytes, return when the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    try:
        for byte in trickle:
            writer.write(bytes((byte,)))
            await writer.drain()
            await asyncio.sleep(0.02)
            if reader.at_eof():
                break
        data = await asyncio.wait_for(reader.read(), seconds)
        assert isinstance(data, bytes)
    except ConnectionResetError:
        pass
    finally:
        writer.close()
    return time.monotonic() - start


async def ping_echo_server(server_ctx: Any, client_ctx: Any) -> Any:
    """One TLS connection to an echo server: "ping" there and back; its SSLObject."""
    server = await puretls.aio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await puretls.aio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        ssl_object = writer.get_extra_info("ssl_object")
        writer.close()
        await writer.wait_closed()
    return ssl_object


def test_echo_round_trip(server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        ssl_object = await ping_echo_server(server_ctx, client_ctx)
        assert ssl_object.version() == "TLSv1.3"

    run(main)


def test_stalled_handshake_is_closed_at_the_timeout(server_ctx: Any) -> None:
    async def main() -> None:
        server = await puretls.aio.start_server(
            echo, "127.0.0.1", 0, ssl=server_ctx, handshake_timeout=0.4
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            elapsed = await closed_within(port, 5.0)
            assert 0.3 <= elapsed < 3.0

    run(main)


def test_slow_client_does_not_block_others(server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        server = await puretls.aio.start_server(
            echo, "127.0.0.1", 0, ssl=server_ctx, handshake_timeout=0.5
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            # A ClientHello-looking trickle, one byte every 20 ms.
            slow = asyncio.create_task(
                closed_within(port, 5.0, b"\x16\x03\x01\x02\x00" + b"A" * 100)
            )
            start = time.monotonic()
            reader, writer = await puretls.aio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"x")
            assert await reader.readexactly(1) == b"x"
            assert time.monotonic() - start < 1.0
            writer.close()
            elapsed = await slow
            assert elapsed < 3.0

    run(main)


def test_idle_timeout_closes_quiet_connections(server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        server = await puretls.aio.start_server(
            echo, "127.0.0.1", 0, ssl=server_ctx, idle_timeout=0.3
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await puretls.aio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"a")
            assert await reader.readexactly(1) == b"a"
            start = time.monotonic()
            assert await asyncio.wait_for(reader.read(), 5.0) == b""
            assert 0.2 <= time.monotonic() - start < 3.0
            writer.close()

    run(main)


def test_start_server_wants_a_puretls_context() -> None:
    import ssl

    async def main() -> None:
        with pytest.raises(TypeError):
            await puretls.aio.start_server(echo, "127.0.0.1", 0, ssl=ssl.create_default_context())  # type: ignore[arg-type]

    run(main)


def test_connections_use_the_lean_tls_protocol(server_ctx: Any, client_ctx: Any) -> None:
    """Not asyncio's sslproto, which preallocates 256 KiB per connection."""

    async def main() -> None:
        seen: list[object] = []

        async def handler(reader: Any, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.transport)
            await echo(reader, writer)

        server = await puretls.aio.start_server(handler, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await puretls.aio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"abc")
            assert await reader.readexactly(3) == b"abc"
            assert isinstance(writer.transport, puretls.aio._TLSTransport)
            assert writer.get_extra_info("cipher")[1] == "TLSv1.3"
            assert writer.get_extra_info("peername")[0] == "127.0.0.1"
            writer.close()
            assert await reader.read() == b""
        assert isinstance(seen[0], puretls.aio._TLSTransport)

    run(main)


def test_untrusted_server_fails_open_connection(server_ctx: Any) -> None:
    async def main() -> None:
        server = await puretls.aio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            stranger = puretls.create_default_context(
                cadata=CertificateAuthority().cert_pem().decode()
            )
            with pytest.raises(ssl.SSLCertVerificationError):
                await puretls.aio.open_connection(
                    "127.0.0.1", port, ssl=stranger, server_hostname="localhost"
                )

    import ssl

    run(main)


def test_garbage_client_does_not_disturb_the_server(server_ctx: Any, client_ctx: Any) -> None:
    async def main() -> None:
        server = await puretls.aio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            # The server answers with one alert record and hangs up.
            answer = await asyncio.wait_for(reader.read(), 5)
            assert answer[:1] == b"\x15"
            writer.close()
            reader, writer = await puretls.aio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"ok")
            assert await reader.readexactly(2) == b"ok"
            writer.close()

    run(main)


def test_handshake_waits_let_the_connection_work_ahead(
    server_ctx: Any, client_ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After each flight it sends, the protocol calls Connection.prepare, as SSLSocket does."""
    from test_connection_prepare import EXPECTED_WAITS, record_prepares

    states = record_prepares(monkeypatch)

    async def main() -> None:
        await ping_echo_server(server_ctx, client_ctx)

    run(main)
    assert EXPECTED_WAITS.issubset(states)
