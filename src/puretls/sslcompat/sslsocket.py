"""``SSLSocket``: a socket that speaks TLS through puretls (``wrap_socket``).

Underneath is an :class:`~puretls.sslcompat.sslobject.SSLObject` over two
private memory BIOs.  Every operation is a small loop: try the TLS step;
if it needs input, send what is pending and read more from the socket.
Raw bytes move with the base class's ``socket.socket.recv`` / ``send`` on
this very object, so the socket's own blocking, timeout and non-blocking
modes apply: a timeout surfaces as ``TimeoutError`` and a non-blocking
socket raises ``SSLWantReadError`` / ``SSLWantWriteError`` as the stdlib's.
"""

from __future__ import annotations

import _socket
import contextlib
import errno
import socket
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from puretls.sslcompat.errors import want_read, want_write

if TYPE_CHECKING:
    from puretls.connection import Connection
    from puretls.sslcompat.context import SSLContext
    from puretls.sslcompat.sslobject import SSLObject

T = TypeVar("T")
# The C-level ``family`` attribute of a socket: an int, without the enum
# conversion of the ``socket.socket.family`` property.
_raw_family: Callable[[socket.socket], int] = _socket.socket.family.__get__
_RECV_SIZE = 1 << 16
# While reads come back at least half full (a bulk transfer), read up to
# ~16 full records per call; otherwise 64 KiB, so a reader blocked waiting
# for a quiet peer holds no bigger allocation than before.
_BULK_RECV_SIZE = 1 << 18


class SSLSocket(ssl.SSLSocket):
    """TLS over a connected stream socket, with the stdlib's methods."""

    _pt_context: SSLContext
    _pt_server_side: bool
    _pt_server_hostname: str | bytes | None
    _pt_do_handshake_on_connect: bool
    _pt_suppress_ragged_eofs: bool
    _pt_session: ssl.SSLSession | None
    _pt_incoming: ssl.MemoryBIO
    _pt_outgoing: ssl.MemoryBIO
    _pt_outq: list[bytes | memoryview]
    _pt_connected: bool
    # Immutable starting values live on the class (one store fewer each
    # per socket; an instance stores its own once it changes).
    _pt_obj: SSLObject | None = None
    _pt_pending_write: int = 0
    _pt_recv_size: int = _RECV_SIZE
    # time.monotonic() by which the running handshake must finish, when the
    # context has a handshake_timeout (a puretls extension, off by default).
    _pt_deadline: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            f"{type(self).__name__} does not have a public constructor. "
            "Instances are returned by SSLContext.wrap_socket()."
        )

    @classmethod
    def _create(
        cls,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        context: SSLContext | None = None,
        session: ssl.SSLSession | None = None,
    ) -> SSLSocket:
        if context is None:
            raise TypeError("context is required")
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) != socket.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        context._check_role(server_side, server_hostname or None)  # type: ignore[arg-type]
        # Take over the file descriptor: the new object becomes the socket and
        # the old Python object is left detached, as the stdlib does.  The
        # family is read as the plain int underneath (the ``family`` property
        # builds an enum member per call); the type is SOCK_STREAM, just checked.
        kwargs = {
            "family": _raw_family(sock),
            "type": socket.SOCK_STREAM,
            "proto": sock.proto,
            "fileno": sock.fileno(),
        }
        self = cls.__new__(cls, **kwargs)
        socket.socket.__init__(self, **kwargs)
        timeout = sock.gettimeout()
        sock.detach()
        self._pt_context = context
        self._pt_server_side = bool(server_side)
        self._pt_server_hostname = server_hostname
        self._pt_do_handshake_on_connect = do_handshake_on_connect
        self._pt_suppress_ragged_eofs = suppress_ragged_eofs
        self._pt_session = session
        self._pt_incoming = ssl.MemoryBIO()
        self._pt_outgoing = ssl.MemoryBIO()
        # Record bytes not yet sent, in order; sent from as they are.
        self._pt_outq = []
        try:
            self._pt_connected = _is_connected(self)
            self.settimeout(timeout)
            if self._pt_connected:
                self._pt_start(do_handshake_on_connect)
        except BaseException:
            self.close()
            raise
        return self

    def _pt_start(self, handshake: bool) -> None:
        session: Any = self._pt_session
        cache = self._pt_context.session_cache
        cache_key = None
        if not self._pt_server_side and cache is not None and self._pt_server_hostname:
            host = self._pt_server_hostname
            host = host.decode("ascii") if isinstance(host, bytes) else host
            cache_key = (host, int(self.getpeername()[1]))
            if session is None:
                session = cache.get(*cache_key, time.time())
        self._pt_obj = self._pt_context.wrap_bio(
            self._pt_incoming,
            self._pt_outgoing,
            server_side=self._pt_server_side,
            server_hostname=self._pt_server_hostname,
            session=session,
        )
        self._pt_obj._pt_cache_key = cache_key
        # Records go from the connection to our send queue, not through a
        # BIO.  The sink is the queue's own method: a bound method of this
        # socket would make a reference cycle and delay closing the fd of a
        # dropped socket until the garbage collector runs.
        self._pt_obj._pt_sink = self._pt_outq.append
        if handshake:
            if self.gettimeout() == 0.0:
                raise ValueError(
                    "do_handshake_on_connect should not be specified for non-blocking sockets"
                )
            self.do_handshake()

    # -- attributes --------------------------------------------------------------

    @property  # type: ignore[override]
    def context(self) -> SSLContext:
        return self._pt_context

    @context.setter
    def context(self, ctx: SSLContext) -> None:
        self._pt_context = ctx
        if self._pt_obj is not None:
            self._pt_obj.context = ctx

    @property
    def server_side(self) -> bool:  # type: ignore[override]
        return self._pt_server_side

    @property
    def server_hostname(self) -> str | None:  # type: ignore[override]
        if self._pt_obj is not None:
            return self._pt_obj.server_hostname
        hostname = self._pt_server_hostname
        return hostname.decode("ascii") if isinstance(hostname, bytes) else hostname

    @property
    def do_handshake_on_connect(self) -> bool:
        return self._pt_do_handshake_on_connect

    @property
    def suppress_ragged_eofs(self) -> bool:
        return self._pt_suppress_ragged_eofs

    @property
    def session(self) -> Any:
        """The newest resumable session (an ``SSLSession``), or None."""
        if self._pt_obj is not None:
            return self._pt_obj.session
        return self._pt_session

    @session.setter
    def session(self, value: Any) -> None:
        if self._pt_obj is not None:
            self._pt_obj.session = value
        else:
            self._pt_session = value

    def send_early_data(self, data: bytes) -> int:
        """puretls addition: 0-RTT data before the handshake (see SSLObject).

        Use ``do_handshake_on_connect=False`` and a ``session``; then
        ``do_handshake()`` and look at :attr:`early_data_accepted`.
        """
        obj = self._pt_sslobj()
        count = obj.send_early_data(data)
        self._pt_flush()
        return count

    @property
    def early_data_accepted(self) -> bool | None:
        return self._pt_obj.early_data_accepted if self._pt_obj is not None else None

    @property
    def received_early_data(self) -> bytes:
        return self._pt_obj.received_early_data if self._pt_obj is not None else b""

    def export_keying_material(
        self, label: bytes | str, context: bytes | None, length: int
    ) -> bytes:
        """puretls addition: RFC 8446 7.5 / RFC 5705 exporter."""
        return self._pt_sslobj().export_keying_material(label, context, length)

    @property
    def session_reused(self) -> bool | None:
        return self._pt_obj.session_reused if self._pt_obj is not None else None

    @property
    def connection(self) -> Connection | None:
        """puretls addition: the sans-I/O connection underneath, once wrapped."""
        return self._pt_obj.connection if self._pt_obj is not None else None

    def half_close(self) -> None:
        """puretls addition: send close_notify and keep reading (RFC 8446 6.1).

        ``unwrap()`` waits for the peer's close_notify and hands back the
        plain socket; after ``half_close()`` the peer's remaining data can
        still be read with ``recv`` until it closes in turn.
        """
        sslobj = self._pt_sslobj()
        with contextlib.suppress(ssl.SSLWantReadError):
            sslobj.unwrap()
        self._pt_flush()

    # -- raw transport ---------------------------------------------------------

    def _pt_flush(self) -> None:
        """Send everything the TLS layer produced; WantWrite if it would block."""
        queue = self._pt_outq
        if self._pt_outgoing.pending:
            queue.append(self._pt_outgoing.read())
        while queue:
            head = queue[0]
            try:
                sent = socket.socket.send(self, head)
            except BlockingIOError:
                raise want_write() from None
            if sent < len(head):
                queue[0] = memoryview(head)[sent:]
            else:
                del queue[0]

    def _pt_flush_quietly(self) -> None:
        """Best effort before raising: push out a fatal alert if the socket takes it."""
        with contextlib.suppress(OSError, ssl.SSLError):
            self._pt_flush()

    def _pt_receive(self) -> None:
        if self._pt_deadline is not None:
            self._pt_wait_until_deadline()
        obj = self._pt_obj
        if obj is not None and obj._pt_conn.handshake_complete:
            self._pt_receive_bulk(obj)
            return
        try:
            data = socket.socket.recv(self, _RECV_SIZE)
        except BlockingIOError:
            raise want_read() from None
        if data:
            self._pt_incoming.write(data)
        else:
            self._pt_incoming.write_eof()

    def _pt_wait_until_deadline(self) -> None:
        """Bound the next read by the handshake deadline.

        A per-read socket timeout does not stop a peer that sends one byte
        just before each timeout; the deadline covers the whole handshake.
        """
        assert self._pt_deadline is not None
        remaining = self._pt_deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("TLS handshake timed out (SSLContext.handshake_timeout)")
        timeout = self.gettimeout()
        if timeout is None or timeout > remaining:
            self.settimeout(remaining)

    def _pt_receive_bulk(self, obj: SSLObject) -> None:
        """Read from the socket and hand the bytes to the connection directly."""
        try:
            size = self._pt_recv_size
            try:
                data = socket.socket.recv(self, size)
            except BlockingIOError:
                raise want_read() from None
            self._pt_recv_size = _BULK_RECV_SIZE if len(data) * 2 >= size else _RECV_SIZE
            if data:
                obj._pt_feed_bytes(data)
            else:
                self._pt_incoming.write_eof()
        except ssl.SSLError:
            self._pt_flush_quietly()
            raise

    def _pt_run(self, step: Callable[[], T]) -> T:
        """Repeat ``step`` until it stops asking for input, moving bytes as needed."""
        while True:
            try:
                result = step()
            except ssl.SSLWantReadError:
                self._pt_flush()
                obj = self._pt_obj
                if obj is not None and not obj._pt_conn.handshake_complete:
                    # Our flight is out; until the peer's arrives, work ahead
                    # (a read after the handshake has nothing to prepare).
                    obj._pt_prepare()
                self._pt_receive()
                continue
            except ssl.SSLError:
                self._pt_flush_quietly()
                raise
            self._pt_flush()
            return result

    def _pt_handshake(self, obj: SSLObject) -> None:
        """:meth:`_pt_run` for ``obj.do_handshake``, without a want-read exception per flight."""
        while True:
            try:
                done = obj._pt_handshake_step()
                if not done:
                    self._pt_flush()
                    # Our flight is out; until the peer's arrives, work ahead.
                    obj._pt_prepare()
            except ssl.SSLError:
                self._pt_flush_quietly()
                raise
            if done:
                break
            self._pt_receive()
        self._pt_flush()

    def _pt_sslobj(self) -> SSLObject:
        if self._pt_obj is None:
            raise ValueError("No SSL wrapper around " + str(self))
        return self._pt_obj

    def _checkClosed(self, msg: str | None = None) -> None:
        # As the stdlib: close() with a makefile() still open only drops a
        # reference (socket._io_refs), so the fd must stay usable; OS calls
        # on a really closed fd raise EBADF by themselves.  Being a no-op,
        # it is kept for callers in the base classes; this class's own
        # methods do not call it.
        return None

    def _check_connected(self) -> None:
        if not self._pt_connected:
            # Raise ENOTCONN like the stdlib (getpeername on an unconnected socket).
            self.getpeername()

    # -- handshake and connection setup ------------------------------------------

    def do_handshake(self, block: bool = False) -> None:
        self._check_connected()
        obj = self._pt_obj or self._pt_sslobj()
        timeout = self.gettimeout()
        limit = self._pt_context.handshake_timeout
        try:
            if timeout == 0.0 and block:
                self.settimeout(None)
            if limit is not None and self.gettimeout() != 0.0:
                self._pt_deadline = time.monotonic() + limit
            self._pt_handshake(obj)
        except TimeoutError:
            if self._pt_deadline is not None and time.monotonic() >= self._pt_deadline:
                raise TimeoutError(
                    f"TLS handshake did not complete within {limit} s "
                    "(SSLContext.handshake_timeout)"
                ) from None
            raise
        finally:
            self._pt_deadline = None
            # Restored only if changed: settimeout is a system call (FIONBIO).
            if self.gettimeout() != timeout:
                self.settimeout(timeout)

    def _real_connect(self, addr: Any, connect_ex: bool) -> int | None:
        if self._pt_server_side:
            raise ValueError("can't connect in server-side mode")
        if self._pt_connected or self._pt_obj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        if connect_ex:
            rc = socket.socket.connect_ex(self, addr)
        else:
            rc = None
            socket.socket.connect(self, addr)
        if not rc:
            self._pt_connected = True
            self._pt_start(self._pt_do_handshake_on_connect)
        return rc

    def connect(self, addr: Any) -> None:
        self._real_connect(addr, False)

    def connect_ex(self, addr: Any) -> int:
        rc = self._real_connect(addr, True)
        return rc or 0

    def accept(self) -> tuple[SSLSocket, Any]:
        """Accept a connection and wrap it server-side with this socket's context."""
        newsock, addr = socket.socket.accept(self)
        wrapped = self._pt_context.wrap_socket(
            newsock,
            do_handshake_on_connect=self._pt_do_handshake_on_connect,
            suppress_ragged_eofs=self._pt_suppress_ragged_eofs,
            server_side=True,
        )
        return wrapped, addr

    # -- data --------------------------------------------------------------------

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        obj = self._pt_obj or self._pt_sslobj()
        conn = obj._pt_conn
        if (
            not obj._pt_plain_len
            and conn.handshake_complete
            and not conn.peer_closed
            and obj._pt_error is None
            and not self._pt_incoming.pending
            and not self._pt_incoming.eof
        ):
            # Nothing decrypted yet: read the socket first rather than let
            # obj.read raise SSLWantReadError for _pt_run to catch (the same
            # steps, without building an exception per socket read).
            # (EOF from the socket is left in the BIO for obj.read to report.)
            self._pt_flush()
            self._pt_receive()
        try:
            return self._pt_run(lambda: obj.read(len, buffer))
        except ssl.SSLEOFError:
            if self._pt_suppress_ragged_eofs:
                return 0 if buffer is not None else b""
            raise

    def write(self, data: Any) -> int:
        """Encrypt and send ``data``; on a would-block, retry with the same data."""
        obj = self._pt_obj or self._pt_sslobj()
        if self._pt_pending_write:
            # The records of an earlier write are still partly unsent: finish
            # them and report that write (OpenSSL's retry-with-same-data rule).
            self._pt_flush()
            done, self._pt_pending_write = self._pt_pending_write, 0
            return done
        if not obj._pt_conn.handshake_complete:
            self._pt_handshake(obj)
        try:
            count = obj.write(data)
        except ssl.SSLError:
            self._pt_flush_quietly()
            raise
        try:
            self._pt_flush()
        except ssl.SSLWantWriteError:
            self._pt_pending_write = count
            raise
        return count

    def send(self, data: Any, flags: int = 0) -> int:
        if self._pt_obj is None:
            return socket.socket.send(self, data, flags)
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to send() on {type(self)}")
        return self.write(data)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._pt_obj is None:
            socket.socket.sendall(self, data, flags)
            return
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to sendall() on {type(self)}")
        if isinstance(data, bytes):
            # The common case, without memoryview set-up: write() takes all
            # of it unless it first finishes an earlier would-block write.
            done = self.write(data)
            while done < len(data):
                done += self.write(data[done:])
            return
        with memoryview(data) as view, view.cast("B") as raw:
            total = len(raw)
            done = 0
            while done < total:
                done += self.send(raw[done:])

    def sendto(self, data: Any, flags_or_addr: Any, addr: Any = None) -> int:
        raise ValueError(f"sendto not allowed on instances of {type(self)}")

    def sendmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"sendmsg not allowed on instances of {type(self)}")

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # Encryption happens in Python, so os.sendfile cannot be used.
        return self._sendfile_use_send(file, offset, count)  # type: ignore[attr-defined,no-any-return]

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        if self._pt_obj is None:
            return socket.socket.recv(self, buflen, flags)
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to recv() on {type(self)}")
        data: bytes = self.read(buflen)
        return data

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        if nbytes is None:
            nbytes = memoryview(buffer).nbytes if buffer is not None else 1024
        if self._pt_obj is None:
            return socket.socket.recv_into(self, buffer, nbytes, flags)
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to recv_into() on {type(self)}")
        count: int = self.read(nbytes, buffer)
        return count

    def recvfrom(self, buflen: int = 1024, flags: int = 0) -> Any:
        raise ValueError(f"recvfrom not allowed on instances of {type(self)}")

    def recvfrom_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> Any:
        raise ValueError(f"recvfrom_into not allowed on instances of {type(self)}")

    def recvmsg(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg not allowed on instances of {type(self)}")

    def recvmsg_into(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"recvmsg_into not allowed on instances of {type(self)}")

    def pending(self) -> int:
        return self._pt_obj.pending() if self._pt_obj is not None else 0

    # -- closing -------------------------------------------------------------------

    def unwrap(self) -> socket.socket:
        """Exchange close_notify, then return the plain socket (this fd, detached)."""
        obj = self._pt_sslobj()
        self._pt_run(obj.unwrap)
        self._pt_obj = None
        plain = socket.socket(self.family, self.type, self.proto, fileno=self.detach())
        return plain

    def shutdown(self, how: int) -> None:
        self._pt_obj = None
        socket.socket.shutdown(self, how)

    def _real_close(self) -> None:
        self._pt_obj = None
        socket.socket._real_close(self)  # type: ignore[attr-defined]

    def dup(self) -> SSLSocket:
        raise NotImplementedError(f"Can't dup() {type(self).__name__} instances")

    def verify_client_post_handshake(self) -> None:
        self._pt_sslobj().verify_client_post_handshake()
        self._pt_flush()

    def ocsp_response(self) -> bytes | None:
        """The DER OCSP response the server stapled, or None."""
        return self._pt_sslobj().ocsp_response()

    # -- what was negotiated -----------------------------------------------------

    def getpeercert(self, binary_form: bool = False) -> Any:
        self._check_connected()
        return self._pt_sslobj().getpeercert(binary_form)

    def get_verified_chain(self) -> list[bytes]:
        return self._pt_obj.get_verified_chain() if self._pt_obj is not None else []

    def get_unverified_chain(self) -> list[bytes]:
        return self._pt_obj.get_unverified_chain() if self._pt_obj is not None else []

    def selected_npn_protocol(self) -> str | None:
        return None

    def selected_alpn_protocol(self) -> str | None:
        return self._pt_obj.selected_alpn_protocol() if self._pt_obj is not None else None

    def cipher(self) -> tuple[str, str, int] | None:
        return self._pt_obj.cipher() if self._pt_obj is not None else None

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        return self._pt_obj.shared_ciphers() if self._pt_obj is not None else None

    def compression(self) -> None:
        return None

    def version(self) -> str | None:
        return self._pt_obj.version() if self._pt_obj is not None else None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        if self._pt_obj is None:
            return None
        return self._pt_obj.get_channel_binding(cb_type)

    def group(self) -> str | None:
        """puretls addition: the key exchange group, e.g. ``'x25519'``."""
        return self._pt_obj.group() if self._pt_obj is not None else None

    def signature_scheme(self) -> str | None:
        """puretls addition: the server's CertificateVerify signature scheme."""
        return self._pt_obj.signature_scheme() if self._pt_obj is not None else None

    def key_update(self, request_peer: bool = True) -> None:
        """puretls addition: send a KeyUpdate now (RFC 8446 4.6.3)."""
        obj = self._pt_sslobj()
        self._pt_run(lambda: obj.key_update(request_peer))


def _is_connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise
        return False
    return True
