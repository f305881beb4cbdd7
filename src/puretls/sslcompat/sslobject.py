"""``SSLObject``: the stdlib's memory-BIO TLS object, driving a puretls Connection.

The caller moves ciphertext between the network and two ``ssl.MemoryBIO``
objects; this class moves it between those and the sans-I/O
:class:`~puretls.connection.Connection`.  Every method writes whatever the
connection wants to send into ``outgoing`` before it returns or raises,
so a fatal alert always reaches the peer (DESIGN.md, "Rules of the house").

Stdlib behaviours reproduced on purpose, because asyncio and trio rely on
them: ``SSLWantReadError`` when more input is needed; ``read()`` returns
``b""`` once the peer's close_notify arrived (``SSLZeroReturnError`` only
when both sides have closed); ``SSLEOFError`` for EOF without
close_notify; ``getpeercert()`` is ``{}`` for an unverified certificate.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

from cryptography.hazmat.primitives import serialization

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription
from puretls.errors import ConnectionClosed, HandshakeFailure, TLSError
from puretls.events import (
    ApplicationData,
    CloseNotify,
    HandshakeComplete,
    NewSessionTicketReceived,
)
from puretls.handshake.session12 import TLS12Session
from puretls.session import ClientSession
from puretls.sslcompat import ciphers
from puretls.sslcompat.constants import CHANNEL_BINDING_TYPES
from puretls.sslcompat.errors import eof_error, make_ssl_error, to_ssl_error, want_read, zero_return
from puretls.sslcompat.session import SSLSession
from puretls.verify import certificate_to_dict

if TYPE_CHECKING:
    from puretls.handshake.base import Negotiated
    from puretls.sslcompat.context import SSLContext


def _encode_hostname(hostname: str | bytes | None) -> str | None:
    """IDNA-encode like ``SSLContext._encode_hostname`` (A-labels on the wire)."""
    if hostname is None:
        return None
    if isinstance(hostname, bytes):
        return hostname.decode("ascii")
    if hostname.isascii():
        return hostname
    return hostname.encode("idna").decode("ascii")


def _sni_alert(result: object) -> TLSError:
    try:
        alert = AlertDescription(int(result))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        alert = AlertDescription.internal_error
    return TLSError(f"sni_callback rejected the connection ({alert.name})", alert=alert)


class SSLObject(ssl.SSLObject):
    """A TLS connection over a pair of memory BIOs (``SSLContext.wrap_bio``)."""

    _pt_incoming: ssl.MemoryBIO
    _pt_outgoing: ssl.MemoryBIO
    _pt_server_side: bool
    _pt_server_hostname: str | None
    _pt_context: SSLContext
    _pt_plain: list[bytes]
    _pt_conn: Connection
    _pt_early_received: bytearray
    # Immutable starting values live on the class: an instance stores one
    # only once it changes (fewer stores per connection, smaller idle dicts).
    # Decrypted data not yet read: whole event payloads in _pt_plain, the
    # first one consumed up to _pt_plain_off; _pt_plain_len counts what is left.
    _pt_plain_len: int = 0
    _pt_plain_off: int = 0
    # SSLSocket sends straight from here instead of through ``outgoing``.
    _pt_sink: Callable[[bytes], object] | None = None
    _pt_started: bool = False
    _pt_eof_fed: bool = False
    _pt_close_sent: bool = False
    _pt_error: TLSError | None = None
    _pt_cache_key: tuple[str, int] | None = None
    _pt_early_resent: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            f"{type(self).__name__} does not have a public constructor. "
            "Instances are returned by SSLContext.wrap_bio()."
        )

    @classmethod
    def _create(
        cls,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
        context: SSLContext | None = None,
    ) -> SSLObject:
        if context is None:
            raise TypeError("context is required")
        hostname = _encode_hostname(server_hostname)
        shared = context._check_role(server_side, hostname)
        self = cls.__new__(cls)
        self._pt_incoming = incoming
        self._pt_outgoing = outgoing
        self._pt_server_side = bool(server_side)
        self._pt_server_hostname = hostname
        self._pt_context = context
        # A list, not a deque: it rarely holds more than a couple of items,
        # and an idle connection's empty list is ten times smaller.
        self._pt_plain = []
        self._pt_early_received = bytearray()
        hook = self._on_sni if (server_side and context.sni_callback is not None) else None
        config = context._make_config(
            server_side=self._pt_server_side,
            server_hostname=hostname,
            sni_callback=hook,
            **(_session_options(session) if session is not None else _NO_SESSION),
            shared=shared,
        )
        self._pt_conn = Connection(config)
        return self

    # -- attributes --------------------------------------------------------------

    @property  # type: ignore[override]
    def context(self) -> SSLContext:
        return self._pt_context

    @context.setter
    def context(self, ctx: SSLContext) -> None:
        from puretls.sslcompat.context import SSLContext

        if not isinstance(ctx, SSLContext):
            raise TypeError("The value must be a puretls SSLContext")
        self._pt_context = ctx

    @property
    def server_side(self) -> bool:
        return self._pt_server_side

    @property
    def server_hostname(self) -> str | None:
        return self._pt_server_hostname

    @property
    def session(self) -> Any:
        """The newest resumable session (1.3 ticket or 1.2 session), or the offered one."""
        conn = self._pt_conn
        if conn.negotiated.sessions:
            return SSLSession(conn.negotiated.sessions[-1])
        if conn.negotiated.tls12_session is not None:
            return SSLSession(conn.negotiated.tls12_session)
        offered = conn.config.session or conn.config.tls12_session
        return SSLSession(offered) if offered is not None else None

    @session.setter
    def session(self, value: Any) -> None:
        if self._pt_server_side:
            raise ValueError("Cannot set session for server-side SSLSocket.")
        if self._pt_started:
            raise ValueError("Cannot set session after handshake.")
        self._pt_reconfigure(**_session_options(value))

    def _pt_reconfigure(self, **changes: Any) -> None:
        """Rebuild the (not yet started) connection with changed settings."""
        self._pt_conn = Connection(self._pt_conn.config.replace(**changes))

    @property
    def session_reused(self) -> bool:
        negotiated = self._negotiated()
        return bool(negotiated and negotiated.session_resumed)

    @property
    def connection(self) -> Connection:
        """puretls addition: the sans-I/O connection underneath."""
        return self._pt_conn

    # -- moving bytes ------------------------------------------------------------

    def _flush(self) -> None:
        data = self._pt_conn.data_to_send()
        if data:
            if self._pt_sink is not None:
                self._pt_sink(data)
            else:
                self._pt_outgoing.write(data)

    def _collect_events(self) -> None:
        for event in self._pt_conn.take_events():
            if isinstance(event, ApplicationData):
                if event.data:
                    self._pt_plain.append(event.data)
                    self._pt_plain_len += len(event.data)
                if event.early:
                    self._pt_early_received += event.data
            elif isinstance(event, NewSessionTicketReceived):
                self._pt_store_session(event)
            elif isinstance(event, HandshakeComplete):
                self._pt_store_tls12_session()
            elif isinstance(event, CloseNotify):
                pass  # conn.peer_closed says it

    def _raise_stored(self) -> None:
        if self._pt_error is not None:
            raise to_ssl_error(self._pt_error) from self._pt_error

    def _fail(self, exc: TLSError) -> None:
        self._collect_events()
        self._flush()
        self._pt_error = exc
        raise to_ssl_error(exc) from exc

    def _feed(self) -> None:
        """Give the connection all buffered input, then EOF if the BIO has it."""
        if self._pt_error is not None:
            self._raise_stored()
        conn = self._pt_conn
        data = self._pt_incoming.read()
        try:
            if data:
                conn.receive_data(data)
            if self._pt_incoming.eof and not self._pt_eof_fed:
                self._pt_eof_fed = True
                conn.receive_data(b"")
        except TLSError as exc:
            self._fail(exc)
        self._collect_events()
        self._flush()

    def _pt_feed_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """SSLSocket: give bytes read from the socket straight to the connection.

        The same as writing them to ``incoming`` and calling ``_feed``, less
        two copies through the memory BIO; ``data`` is not kept.
        """
        if self._pt_error is not None:
            self._raise_stored()
        try:
            self._pt_conn.receive_data(data)
        except TLSError as exc:
            self._fail(exc)
        self._collect_events()
        self._flush()

    def _on_sni(self, server_name: str | None) -> TLSConfig | None:
        """Run the stdlib-style callback(sslobject, server_name, context)."""
        original = self._pt_context
        callback = original.sni_callback
        if callback is None:
            return None
        try:
            result = callback(self, server_name, original)
        except Exception as exc:
            # The stdlib answers an exception in the callback with handshake_failure.
            raise HandshakeFailure(f"sni_callback raised {type(exc).__name__}: {exc}") from exc
        if result is not None:
            raise _sni_alert(result)
        if self._pt_context is original:
            return None
        return self._pt_context._make_config(server_side=True, server_hostname=None)

    # -- the stdlib surface ------------------------------------------------------

    def _pt_prepare(self) -> None:
        """Work ahead while the caller waits for the peer (``Connection.prepare``).

        For SSLSocket's and puretls.aio's handshake loops, after our flight is
        sent; a failure becomes an ``ssl.SSLError`` like any other.
        """
        try:
            self._pt_conn.prepare()
        except TLSError as exc:
            self._fail(exc)

    def do_handshake(self) -> None:
        """Advance the handshake; ``SSLWantReadError`` until it completes."""
        if not self._pt_handshake_step():
            raise want_read()

    def _pt_handshake_step(self) -> bool:
        """:meth:`do_handshake` that returns False where it would raise ``SSLWantReadError``.

        SSLSocket's blocking loop calls this: it reads the socket when told
        to, so a want-read exception built, raised and caught per flight
        would be work for nothing.  Every other outcome is the same.
        """
        if self._pt_error is not None:
            self._raise_stored()
        conn = self._pt_conn
        if not self._pt_started:
            self._pt_started = True
            try:
                conn.start_handshake()
            except TLSError as exc:
                self._fail(exc)
            self._flush()
        if conn.handshake_complete:
            return True
        self._feed()
        if conn.handshake_complete:
            self._pt_resend_rejected_early_data()
            return True
        if self._pt_eof_fed:
            raise eof_error()
        return False

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Decrypted data: up to ``len`` bytes, or into ``buffer`` (returns a count)."""
        return self._read(len, buffer)

    def _read(self, size: int, buffer: Any) -> Any:
        if buffer is not None and size <= 0:
            size = memoryview(buffer).nbytes
        if not self._pt_conn.handshake_complete:
            self.do_handshake()
        if size < 0:
            raise ValueError("size should not be negative")
        if size == 0:
            return 0 if buffer is not None else b""
        if not self._pt_plain_len:
            self._wait_for_data()
        if buffer is None:
            return self._pt_take(size)
        with memoryview(buffer) as view, view.cast("B") as target:
            return self._pt_take_into(target, size)

    def _pt_take(self, size: int) -> bytes:
        """Up to ``size`` bytes of the decrypted data, copied at most once."""
        plain = self._pt_plain
        if not plain:
            return b""
        first, off = plain[0], self._pt_plain_off
        avail = len(first) - off
        if avail > size:
            self._pt_plain_off = off + size
            self._pt_plain_len -= size
            return first[off : off + size]
        if avail == size or len(plain) == 1:
            # The common bulk case: a whole payload, handed over uncopied.
            del plain[0]
            self._pt_plain_off = 0
            self._pt_plain_len -= avail
            return first[off:] if off else first
        out = bytearray(min(size, self._pt_plain_len))
        with memoryview(out) as target:
            self._pt_take_into(target, size)
        return bytes(out)

    def _pt_take_into(self, target: memoryview, size: int) -> int:
        """Copy up to ``size`` bytes of decrypted data into ``target``, once."""
        plain = self._pt_plain
        size = min(size, len(target), self._pt_plain_len)
        done = 0
        while done < size:
            first, off = plain[0], self._pt_plain_off
            count = min(size - done, len(first) - off)
            target[done : done + count] = memoryview(first)[off : off + count]
            done += count
            if off + count == len(first):
                del plain[0]
                self._pt_plain_off = 0
            else:
                self._pt_plain_off = off + count
        self._pt_plain_len -= done
        return done

    def _wait_for_data(self) -> None:
        """Fill the plaintext buffer, or return with it empty at a clean close."""
        conn = self._pt_conn
        if not conn.peer_closed:
            self._feed()
        if self._pt_plain_len:
            return
        if conn.peer_closed:
            # OpenSSL reports SSL_ERROR_ZERO_RETURN as b"" while only the peer
            # has closed, and as SSLZeroReturnError once both sides have.
            if self._pt_close_sent:
                raise zero_return()
            return
        if self._pt_eof_fed:
            raise eof_error()
        raise want_read()

    def write(self, data: Any) -> int:
        """Encrypt and queue ``data``; returns how many bytes were taken."""
        if not self._pt_conn.handshake_complete:
            self.do_handshake()
        if self._pt_error is not None:
            self._raise_stored()
        # bytes go down as they are; anything else is copied once, as before.
        payload = data if isinstance(data, bytes) else bytes(data)
        if not payload:
            return 0
        try:
            self._pt_conn.send_data(payload)
        except ConnectionClosed:
            raise make_ssl_error(
                ssl.SSLError,
                ssl.SSL_ERROR_SSL,
                "PROTOCOL_IS_SHUTDOWN",
                "protocol is shutdown",
            ) from None
        except TLSError as exc:
            self._fail(exc)
        self._flush()
        return len(payload)

    def pending(self) -> int:
        return self._pt_plain_len

    def unwrap(self) -> None:
        """Send close_notify, then ``SSLWantReadError`` until the peer's arrives."""
        conn = self._pt_conn
        if not self._pt_close_sent:
            self._pt_close_sent = True
            conn.close()
            self._flush()
        if conn.peer_closed:
            return None
        self._feed()
        if conn.peer_closed:
            return None
        if self._pt_eof_fed:
            raise eof_error()
        raise want_read()

    def _negotiated(self) -> Negotiated | None:
        conn = self._pt_conn
        return conn.negotiated if conn.handshake_complete else None

    def getpeercert(self, binary_form: bool = False) -> Any:
        negotiated = self._negotiated()
        if negotiated is None:
            raise ValueError("handshake not done yet")
        if not negotiated.peer_certificates:
            return None
        if binary_form:
            return negotiated.peer_certificates[0]
        if not negotiated.verified_chain:
            return {}  # the stdlib's answer for a certificate it did not verify
        return certificate_to_dict(negotiated.verified_chain[0])

    def get_verified_chain(self) -> list[bytes]:
        negotiated = self._negotiated()
        if negotiated is None or not negotiated.verified_chain:
            return []
        encoding = serialization.Encoding.DER
        return [cert.public_bytes(encoding) for cert in negotiated.verified_chain]

    def get_unverified_chain(self) -> list[bytes]:
        negotiated = self._negotiated()
        return list(negotiated.peer_certificates) if negotiated else []

    def selected_alpn_protocol(self) -> str | None:
        negotiated = self._negotiated()
        return negotiated.alpn_protocol if negotiated else None

    def selected_npn_protocol(self) -> str | None:
        return None

    def cipher(self) -> tuple[str, str, int] | None:
        negotiated = self._negotiated()
        if negotiated is None or negotiated.cipher_suite is None:
            return None
        info = negotiated.cipher_suite
        name = info.name if info.tls13 else info.openssl_name
        return (name, negotiated.version, info.secret_bits)

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """Server: the suites this side would accept (as ``cipher()`` tuples)."""
        if not self._pt_server_side or self._negotiated() is None:
            return None
        return [(d["name"], d["protocol"], d["strength_bits"]) for d in self.context.get_ciphers()]

    def compression(self) -> None:
        return None

    def version(self) -> str | None:
        negotiated = self._negotiated()
        return negotiated.version if negotiated else None

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        if cb_type not in CHANNEL_BINDING_TYPES:
            raise ValueError(f"{cb_type} channel binding type not implemented")
        # RFC 8446 C.5: tls-unique is not defined for TLS 1.3.
        return None

    def verify_client_post_handshake(self) -> None:
        """Server: send a CertificateRequest now (RFC 8446 4.6.2).

        The client's answer is read (and checked) with later reads, as in the
        stdlib; ``getpeercert()`` then returns its certificate.
        """
        self._raise_stored()
        conn = self._pt_conn
        if not self._pt_server_side:
            raise make_ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, "NOT_SERVER", "not server")
        if not conn.handshake_complete or conn.negotiated.version != "TLSv1.3":
            raise make_ssl_error(
                ssl.SSLError, ssl.SSL_ERROR_SSL, "WRONG_SSL_VERSION", "wrong ssl version"
            )
        if not conn.negotiated.post_handshake_auth:
            raise make_ssl_error(
                ssl.SSLError, ssl.SSL_ERROR_SSL, "EXTENSION_NOT_RECEIVED", "extension not received"
            )
        try:
            conn.request_client_certificate()
        except TLSError as exc:
            self._fail(exc)
        self._flush()

    def ocsp_response(self) -> bytes | None:
        """The DER OCSP response the server stapled (checked when verifying), or None."""
        negotiated = self._negotiated()
        return negotiated.ocsp_response if negotiated else None

    # -- puretls additions ---------------------------------------------------------

    def group(self) -> str | None:
        """The key exchange group, e.g. ``'x25519'``."""
        negotiated = self._negotiated()
        return ciphers.group_name(negotiated.group) if negotiated else None

    def signature_scheme(self) -> str | None:
        """The server's CertificateVerify scheme, e.g. ``'ecdsa_secp256r1_sha256'``."""
        negotiated = self._negotiated()
        return ciphers.signature_scheme_name(negotiated.signature_scheme) if negotiated else None

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 4.6.3), asking the peer to update too."""
        self._raise_stored()
        try:
            self._pt_conn.key_update(request_peer)
        except TLSError as exc:
            self._fail(exc)
        self._flush()

    def export_keying_material(
        self, label: bytes | str, context: bytes | None, length: int
    ) -> bytes:
        """puretls addition: RFC 8446 7.5 / RFC 5705 exporter."""
        self._raise_stored()
        if isinstance(label, str):
            label = label.encode("ascii")
        try:
            return self._pt_conn.export_keying_material(label, context, length)
        except TLSError as exc:
            raise ValueError(str(exc)) from None

    # -- 0-RTT (puretls additions) -------------------------------------------------

    def send_early_data(self, data: bytes) -> int:
        """Client: send ``data`` as 0-RTT with the first flight.

        Call before the handshake, with a session whose ticket allows early
        data.  If the server refuses it, it is sent again, as ordinary data,
        once the handshake completes, so it is delivered exactly once either
        way.  Only send requests that are safe to replay (RFC 8446 8).
        """
        self._raise_stored()
        conn = self._pt_conn
        if not self._pt_started:
            if conn.config.session is None:
                raise ValueError("0-RTT needs a session: pass session= or set .session first")
            self._pt_reconfigure(early_data=True)
            conn = self._pt_conn
            self._pt_started = True
            try:
                conn.start_handshake()
            except TLSError as exc:
                self._fail(exc)
        if not conn.negotiated.early_data_offered:
            raise ValueError("the session does not allow early data")
        try:
            conn.send_early_data(bytes(data))
        except TLSError as exc:
            raise ValueError(str(exc)) from None
        self._flush()
        return len(data)

    @property
    def early_data_accepted(self) -> bool | None:
        """None until the server answered (or when no 0-RTT was offered)."""
        return self._pt_conn.early_data_accepted

    @property
    def received_early_data(self) -> bytes:
        """Server: the bytes that arrived as 0-RTT (replayable; RFC 8446 8)."""
        return bytes(self._pt_early_received)

    def _pt_resend_rejected_early_data(self) -> None:
        conn = self._pt_conn
        rejected = conn.early_data_rejected
        if rejected and not self._pt_early_resent:
            self._pt_early_resent = True
            conn.send_data(rejected)
            self._flush()

    def _pt_store_session(self, event: NewSessionTicketReceived) -> None:
        cache = self._pt_context.session_cache
        if cache is not None and self._pt_cache_key is not None and event.session is not None:
            cache.store(*self._pt_cache_key, event.session)

    def _pt_store_tls12_session(self) -> None:
        # TLS 1.2 sessions are complete only with the handshake (the ticket
        # comes before the server's Finished); store it, or store it again
        # after resuming, since the cache handed it out.
        cache = self._pt_context.session_cache
        session = self._pt_conn.negotiated.tls12_session
        if cache is not None and self._pt_cache_key is not None and session is not None:
            cache.store(*self._pt_cache_key, session)

    def __repr__(self) -> str:
        role = "server" if self._pt_server_side else "client"
        return f"<puretls.SSLObject {role} version={self.version()!r}>"


class _SessionOptions(TypedDict):
    session: ClientSession | None
    tls12_session: TLS12Session | None


# What _session_options(None) returns (``**`` copies it, so sharing is safe).
_NO_SESSION: _SessionOptions = {"session": None, "tls12_session": None}


def _session_options(session: object) -> _SessionOptions:
    """Where a session to offer goes: TLS 1.3 ``session``, TLS 1.2 ``tls12_session``."""
    if isinstance(session, SSLSession):
        session = session.session
    if session is None or isinstance(session, ClientSession):
        return {"session": session, "tls12_session": None}
    if isinstance(session, TLS12Session):
        return {"session": None, "tls12_session": session}
    raise TypeError("Value is not a SSLSession.")
