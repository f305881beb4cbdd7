"""asyncio conveniences: servers and connections over puretls with timeouts.

asyncio can drive TLS through ``SSLContext.wrap_bio`` (its ``ssl=`` path),
and puretls's :class:`~puretls.sslcompat.SSLContext` plugs into it
unchanged.  That path, though, gives every connection a 256 KiB receive
buffer (``asyncio.sslproto``), which is most of the ~250 KiB an idle TLS
connection costs an asyncio server, whatever the TLS library.  The helpers
here run TLS as a plain TCP protocol around puretls's SSLObject instead
(:class:`TLSProtocol`): buffers hold only what is pending, and an idle
connection costs a few tens of KiB (docs/robustness.md).

They also choose safer defaults: a server started here gives every client
:data:`DEFAULT_HANDSHAKE_TIMEOUT` seconds to finish its handshake (asyncio's
default is 60 s), so stalled or one-byte-at-a-time clients are dropped soon
and cannot pile up; an optional ``idle_timeout`` closes connections that
send nothing for that long.  Handlers get ordinary asyncio StreamReader /
StreamWriter objects; ``writer.get_extra_info("ssl_object")`` is the
puretls SSLObject (``version()``, ``cipher()``, ``getpeercert()``, ...).

    server = await puretls.aio.start_server(handle, "127.0.0.1", 8443, ssl=ctx)
    reader, writer = await puretls.aio.open_connection("example.org", 443)
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
from collections.abc import Awaitable, Callable
from typing import Any

from puretls.sslcompat.context import SSLContext, create_default_context
from puretls.sslcompat.sslobject import SSLObject

DEFAULT_HANDSHAKE_TIMEOUT = 10.0

ClientConnected = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]

# Plaintext handed to the application per read: what is pending, at most this.
_READ_SIZE = 1 << 16


class _TLSTransport(asyncio.Transport):
    """The application's view: plaintext in and out over a TLSProtocol."""

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls = tls

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._tls.send(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def can_write_eof(self) -> bool:
        return False

    def is_closing(self) -> bool:
        return self._tls.closing

    def close(self) -> None:
        self._tls.shutdown()

    def abort(self) -> None:
        self._tls.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._tls.extra_info(name, default)

    def pause_reading(self) -> None:
        self._tls.raw.pause_reading()

    def resume_reading(self) -> None:
        self._tls.raw.resume_reading()

    def is_reading(self) -> bool:
        return bool(self._tls.raw.is_reading())

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._tls.raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return int(self._tls.raw.get_write_buffer_size())

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls.app = protocol  # type: ignore[assignment]

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls.app


class TLSProtocol(asyncio.Protocol):
    """TLS over a TCP transport, with puretls's SSLObject and small buffers.

    Bytes from the network go into the SSLObject's incoming BIO; once the
    handshake is done the application protocol gets ``connection_made``
    with a transport that encrypts what it writes, and ``data_received``
    with what was decrypted.  A handshake not finished within
    ``handshake_timeout`` seconds aborts the connection; so does any TLS
    error (after the alert is sent).
    """

    def __init__(
        self,
        context: SSLContext,
        app: asyncio.Protocol,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        handshake_done: asyncio.Future[None] | None = None,
    ) -> None:
        self.context = context
        self.app = app
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.handshake_timeout = handshake_timeout
        self.handshake_done = handshake_done
        self.raw: asyncio.Transport = None  # type: ignore[assignment]
        self.closing = False
        self._incoming = _ssl.MemoryBIO()
        self._outgoing = _ssl.MemoryBIO()
        self._sslobj: SSLObject | None = None
        self._app_transport: _TLSTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- network side ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = transport  # type: ignore[assignment]
        self._sslobj = self.context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=self.server_side,
            server_hostname=self.server_hostname,
        )
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.handshake_timeout, self._handshake_timed_out)
        self._step()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        self._step()

    def eof_received(self) -> bool:
        self._incoming.write_eof()
        self._step()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.closing = True
        if self._app_transport is not None:
            self._app_transport = None
            self.app.connection_lost(exc)
        elif self.handshake_done is not None and not self.handshake_done.done():
            self.handshake_done.set_exception(exc or ConnectionResetError("connection lost"))
        self._sslobj = None

    def pause_writing(self) -> None:
        if self._app_transport is not None:
            self.app.pause_writing()

    def resume_writing(self) -> None:
        if self._app_transport is not None:
            self.app.resume_writing()

    # -- the TLS engine -----------------------------------------------------------

    def _step(self) -> None:
        sslobj = self._sslobj
        if sslobj is None:
            return
        try:
            if self._app_transport is None:
                try:
                    sslobj.do_handshake()
                except _ssl.SSLWantReadError:
                    self._flush()
                    # Our flight is on its way; until the peer's arrives, work ahead.
                    sslobj._pt_prepare()
                    return
                self._flush()
                self._handshake_complete()
            self._deliver(sslobj)
        except (_ssl.SSLError, OSError) as exc:
            self._flush()
            if self.handshake_done is not None and not self.handshake_done.done():
                self.handshake_done.set_exception(exc)
            # close(), not abort(): the fatal alert just queued still goes out.
            self.closing = True
            self.raw.close()

    def _handshake_complete(self) -> None:
        self._cancel_timer()
        self._app_transport = _TLSTransport(self)
        self.app.connection_made(self._app_transport)
        if self.handshake_done is not None and not self.handshake_done.done():
            self.handshake_done.set_result(None)

    def _deliver(self, sslobj: SSLObject) -> None:
        while self._app_transport is not None:
            try:
                chunk = sslobj.read(_READ_SIZE)
            except _ssl.SSLWantReadError:
                self._flush()  # e.g. a KeyUpdate answer
                return
            except (_ssl.SSLZeroReturnError, _ssl.SSLEOFError):
                chunk = b""
            if not chunk:
                self._flush()
                keep_open = self.app.eof_received()
                if not keep_open:
                    self.shutdown()
                return
            self.app.data_received(chunk)

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and self.raw is not None and not self.raw.is_closing():
            self.raw.write(data)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self.handshake_done is not None and not self.handshake_done.done():
            self.handshake_done.set_exception(
                TimeoutError(f"TLS handshake did not complete within {self.handshake_timeout} s")
            )
        self.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- application side -----------------------------------------------------------

    def send(self, data: bytes | bytearray | memoryview) -> None:
        if self.closing or self._sslobj is None:
            return
        try:
            self._sslobj.write(data)
        except (_ssl.SSLError, OSError):
            self.abort()
            return
        self._flush()

    def shutdown(self) -> None:
        """close_notify, then close the TCP connection (RFC 8446 6.1)."""
        if self.closing:
            return
        self.closing = True
        if self._sslobj is not None:
            with contextlib.suppress(_ssl.SSLError, OSError):
                self._sslobj.unwrap()
            self._flush()
        if self.raw is not None:
            self.raw.close()

    def abort(self) -> None:
        self.closing = True
        if self.raw is not None:
            self.raw.abort()

    def extra_info(self, name: str, default: Any = None) -> Any:
        sslobj = self._sslobj
        if name == "ssl_object":
            return sslobj
        if name == "sslcontext":
            return self.context
        if sslobj is not None:
            if name == "peercert":
                return sslobj.getpeercert()
            if name == "cipher":
                return sslobj.cipher()
            if name == "compression":
                return sslobj.compression()
        return self.raw.get_extra_info(name, default) if self.raw is not None else default


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
    limit = kwargs.pop("limit", 2**16)
    loop = asyncio.get_running_loop()

    def factory() -> TLSProtocol:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        app = asyncio.StreamReaderProtocol(reader, callback, loop=loop)
        return TLSProtocol(ssl, app, server_side=True, handshake_timeout=handshake_timeout)

    return await loop.create_server(factory, host, port, **kwargs)


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
    limit = kwargs.pop("limit", 2**16)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    app = asyncio.StreamReaderProtocol(reader, loop=loop)
    done: asyncio.Future[None] = loop.create_future()
    protocol = TLSProtocol(
        context,
        app,
        server_side=False,
        server_hostname=server_hostname if server_hostname is not None else host,
        handshake_timeout=handshake_timeout,
        handshake_done=done,
    )
    await loop.create_connection(lambda: protocol, host, port, **kwargs)
    await done
    transport = protocol._app_transport
    assert transport is not None
    return reader, asyncio.StreamWriter(transport, app, reader, loop)
