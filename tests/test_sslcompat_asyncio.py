"""asyncio, aiohttp and uvicorn running TLS through puretls's SSLContext."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

import puretls
from puretls.sslcompat.sslobject import SSLObject
from puretls.testing import CertificateAuthority

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture(scope="module")
def server_files(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return ca.issue(["localhost", "127.0.0.1"]).write(tmp_path_factory.mktemp("c"), "server")


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[SSLObject]:
    """Every puretls SSLObject made during the test (proof that puretls ran)."""
    made: list[SSLObject] = []
    original = SSLObject._create.__func__  # type: ignore[attr-defined]

    def spy(cls: type[SSLObject], *args: Any, **kwargs: Any) -> SSLObject:
        obj: SSLObject = original(cls, *args, **kwargs)
        made.append(obj)
        return obj

    monkeypatch.setattr(SSLObject, "_create", classmethod(spy))
    return made


def server_ctx(module: ModuleType, files: Any) -> Any:
    ctx = module.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files)
    return ctx


def client_ctx(module: ModuleType, ca: CertificateAuthority) -> Any:
    return module.create_default_context(cadata=ca.cert_pem().decode())


def run(coro: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro(), TIMEOUT)

    asyncio.run(bounded())


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    writer.write(b"echo:" + line)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


SIDES = [(puretls, puretls), (puretls, ssl), (ssl, puretls)]
IDS = ["puretls-puretls", "puretls-client-stdlib-server", "stdlib-client-puretls-server"]


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_open_connection_and_start_server(
    client_mod: ModuleType,
    server_mod: ModuleType,
    ca: CertificateAuthority,
    server_files: Any,
    created: list[SSLObject],
) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            _echo, "127.0.0.1", 0, ssl=server_ctx(server_mod, server_files)
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx(client_mod, ca), server_hostname="localhost"
            )
            ssl_object = writer.get_extra_info("ssl_object")
            assert ssl_object.version() == "TLSv1.3"
            assert writer.get_extra_info("peercert")["subject"][-1] == (
                ("commonName", "localhost"),
            )
            writer.write(b"async\n")
            assert await reader.readline() == b"echo:async\n"
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main)
    expected = sum(module is puretls for module in (client_mod, server_mod))
    assert len(created) == expected


def test_asyncio_reports_verification_failure(server_files: Any) -> None:
    stranger = CertificateAuthority(common_name="stranger")

    async def main() -> None:
        server = await asyncio.start_server(
            _echo, "127.0.0.1", 0, ssl=server_ctx(ssl, server_files)
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.open_connection(
                    "127.0.0.1",
                    port,
                    ssl=client_ctx(puretls, stranger),
                    server_hostname="localhost",
                )

    run(main)


def test_aiohttp_client_and_server(
    ca: CertificateAuthority, server_files: Any, created: list[SSLObject]
) -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        ssl_object = request.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
        return web.Response(text=f"hello {type(ssl_object).__module__} {ssl_object.version()}")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx(puretls, server_files))
        await site.start()
        try:
            port = runner.addresses[0][1]
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"https://localhost:{port}/", ssl=client_ctx(puretls, ca)) as resp,
            ):
                assert resp.status == 200
                assert await resp.text() == "hello puretls.sslcompat.sslobject TLSv1.3"
        finally:
            await runner.cleanup()

    run(main)
    assert {obj.server_side for obj in created} == {True, False}


def test_uvicorn_serves_tls_through_puretls(
    ca: CertificateAuthority, server_files: Any, created: list[SSLObject]
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    import socket

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"uvicorn over puretls"})

    def factory(config: Any, default: Any) -> Any:
        return server_ctx(puretls, server_files)

    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        ssl_context_factory=factory,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                await asyncio.sleep(0.01)
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx(ssl, ca), server_hostname="localhost"
            )
            writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            response = await reader.read()
            assert response.startswith(b"HTTP/1.1 200")
            assert b"uvicorn over puretls" in response
            writer.close()
        finally:
            server.should_exit = True
            await task

    run(main)
    sock.close()
    assert [obj.server_side for obj in created] == [True]
