"""asyncio conveniences: servers and connections over puretls with timeouts.

asyncio already drives TLS through ``SSLContext.wrap_bio`` (its ``ssl=``
path), and puretls's :class:`~puretls.sslcompat.SSLContext` plugs into it
unchanged.  These wrappers only choose safer defaults: a server started
here gives every client :data:`DEFAULT_HANDSHAKE_TIMEOUT` seconds to finish
its handshake (asyncio's default is 60 s), so stalled or one-byte-at-a-time
clients are dropped soon and cannot pile up; an optional ``idle_timeout``
closes connections that send nothing for that long.

    server = await puretls.aio.start_server(handle, "127.0.0.1", 8443, ssl=ctx)
    reader, writer = await puretls.aio.open_connection("example.org", 443)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from puretls.sslcompat.context import SSLContext, create_default_context

DEFAULT_HANDSHAKE_TIMEOUT = 10.0

ClientConnected = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]


class IdleTimeoutReader:
    """A StreamReader whose reads give up after ``idle_timeout`` seconds.

    A read that times out raises :class:`TimeoutError`; the server wrapper
    then closes the connection.
    """

    def __init__(self, reader: asyncio.StreamReader, idle_timeout: float) -> None:
        self._reader = reader
        self.idle_timeout = idle_timeout

    async def read(self, n: int = -1) -> bytes:
        return await asyncio.wait_for(self._reader.read(n), self.idle_timeout)

    async def readline(self) -> bytes:
        return await asyncio.wait_for(self._reader.readline(), self.idle_timeout)

    async def readexactly(self, n: int) -> bytes:
        return await asyncio.wait_for(self._reader.readexactly(n), self.idle_timeout)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        return await asyncio.wait_for(self._reader.readuntil(separator), self.idle_timeout)

    def at_eof(self) -> bool:
        return self._reader.at_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def _with_idle_timeout(callback: ClientConnected, idle_timeout: float) -> ClientConnected:
    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            result = callback(IdleTimeoutReader(reader, idle_timeout), writer)  # type: ignore[arg-type]
            if result is not None:
                await result
        except TimeoutError:
            pass
        finally:
            writer.close()

    return wrapped


async def start_server(
    client_connected_cb: ClientConnected,
    host: str | None = None,
    port: int | None = None,
    *,
    ssl: SSLContext,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    idle_timeout: float | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """``asyncio.start_server`` over TLS with a handshake deadline.

    ``handshake_timeout`` bounds the whole handshake of each client (from
    accept to Finished); ``idle_timeout``, when given, makes every read in
    ``client_connected_cb`` fail after that many idle seconds and the
    connection close.  Other keyword arguments go to asyncio unchanged.
    """
    if not isinstance(ssl, SSLContext):
        raise TypeError("ssl must be a puretls SSLContext (puretls.SSLContext(...))")
    callback = client_connected_cb
    if idle_timeout is not None:
        callback = _with_idle_timeout(callback, idle_timeout)
    return await asyncio.start_server(
        callback, host, port, ssl=ssl, ssl_handshake_timeout=handshake_timeout, **kwargs
    )


async def open_connection(
    host: str,
    port: int,
    *,
    ssl: SSLContext | None = None,
    server_hostname: str | None = None,
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` over TLS, verifying by default.

    Without ``ssl`` the context is ``puretls.create_default_context()``
    (system trust store, hostname checked).
    """
    context = ssl if ssl is not None else create_default_context()
    return await asyncio.open_connection(
        host,
        port,
        ssl=context,
        server_hostname=server_hostname if server_hostname is not None else host,
        ssl_handshake_timeout=handshake_timeout,
        **kwargs,
    )
