"""The sans-I/O TLS connection that users and wrappers drive.

Theory of operation (h11 style): the caller gives bytes from the transport
to :meth:`Connection.receive_data`, takes events out with
:meth:`Connection.next_event`, gives application data to
:meth:`Connection.send_data`, and writes whatever :meth:`data_to_send`
returns to the transport.  Nothing here touches a socket or a clock.

Failure handling lives here and only here: any :class:`TLSError` raised
while processing input queues exactly one fatal alert (its ``alert``),
closes the connection for good and propagates to the caller.
"""

from __future__ import annotations

import contextlib

from puretls.config import TLSConfig
from puretls.crypto import key_schedule as ks
from puretls.crypto.suites import CipherSuiteInfo
from puretls.enums import AlertDescription, AlertLevel, ContentType, ProtocolVersion
from puretls.errors import (
    ConnectionClosed,
    InternalError,
    PeerAlert,
    TLSError,
    UnexpectedEOF,
    UnexpectedMessage,
)
from puretls.events import ApplicationData, CloseNotify, Event, KeyUpdated
from puretls.handshake import client13, early_data, server13
from puretls.handshake.base import Negotiated, State
from puretls.handshake.common12 import VERSION_NAME as TLS12_NAME
from puretls.handshake.common12 import Traffic12
from puretls.handshake.key_update import KeyUpdatePolicy
from puretls.limits import LimitGuard
from puretls.messages import (
    Alert,
    HandshakeMessage,
    KeyUpdate,
    decode_handshake,
    decode_handshake12,
)
from puretls.record.deframer import MAX_TLS12_CIPHERTEXT_LENGTH
from puretls.record.layer import RecordLayer
from puretls.record.protection import NullProtection, RecordProtection, TLS13Protection
from puretls.record.reassembly import HandshakeReassembler
from puretls.trace import ConnectionTracer
from puretls.transcript import Transcript

_CCS_BODY = b"\x01"
# Record content types as plain ints: compared once per record.
_HANDSHAKE = int(ContentType.handshake)
_APPLICATION_DATA = int(ContentType.application_data)
_ALERT = int(ContentType.alert)
_CHANGE_CIPHER_SPEC = int(ContentType.change_cipher_spec)
_UNLIMITED = 1 << 64
_Traffic = client13.ClientTraffic | server13.ServerTraffic
_AnyTraffic = _Traffic | Traffic12


class Connection:
    """One TLS connection, client or server, as a pure state machine."""

    def __init__(self, config: TLSConfig) -> None:
        self.config = config
        self.negotiated = Negotiated()
        self.error: TLSError | None = None
        self.peer_closed = False
        self.closed = False
        self._sent_close_notify = False
        self._records = RecordLayer()
        self._reassembler = HandshakeReassembler(config.max_handshake_message_size)
        self._limits = LimitGuard(config)
        # A list, not a deque: an empty deque costs ~760 bytes per idle
        # connection, and events are few and taken out soon (robustness.md).
        self._events: list[Event] = []
        # Whole records awaiting data_to_send(), joined once when taken.
        self._outgoing: list[bytes] = []
        self._flight = bytearray()  # handshake bytes awaiting the current write key
        self._state: State | None = None
        self._started = False
        self._ccs_received = False
        self.handshake_complete = False
        self._early_data_sent = bytearray()
        self._key_updates = KeyUpdatePolicy(config)
        # puretls.trace: None unless the config asks for a trace.
        self._trace: ConnectionTracer | None = None
        if config.tracer is not None:
            self._trace = ConnectionTracer(config.tracer, is_server=config.is_server)
            self._records.observer = self._trace.record
        if config.is_server:
            self._state = server13.ExpectClientHello(transcript=Transcript())
            self._started = True

    def __repr__(self) -> str:
        role = "server" if self.config.is_server else "client"
        return f"<puretls.Connection {role} state={type(self._state).__name__}>"

    # -- the public surface -------------------------------------------------

    def start_handshake(self) -> None:
        """Client: queue the ClientHello.  Server: nothing to do."""
        if self._started:
            return
        self._started = True
        # RFC 8446 5.1: the initial ClientHello record may say 0x0301, as
        # most clients do for old middleboxes; every later record 0x0303.
        self._records.set_write_protection(NullProtection(legacy_version=ProtocolVersion.TLSv1))
        self._guard(lambda: self._set_state(client13.start(self)))
        self._flush_flight()
        if not self._records.write_protection.protected:  # else: 0-RTT keys
            self._records.set_write_protection(NullProtection())

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Process bytes from the peer; ``b""`` means the transport hit EOF.

        ``data`` is only read during the call: a caller may reuse its buffer.
        """
        if self.closed and self.error is not None:
            raise ConnectionClosed("connection is closed after a fatal error") from self.error
        if not data:
            self._receive_eof()
            return
        records = self._records
        # The record layer reads whole records in place from ``data`` and
        # copies only what is left over (settle), so nothing is copied twice.
        records.feed(data)
        try:
            self._guard(self._process_records)
        finally:
            records.settle()

    def prepare(self) -> None:
        """Work ahead while waiting for the peer; call it before blocking on input.

        Everything a handshake state can compute before the peer's next
        flight arrives (the server's key share before the ClientHello, its
        application secrets and tickets before the client's Finished) runs
        here instead of after the flight arrives, so it leaves the critical
        path of a blocking I/O loop.  It sends nothing and emits no events:
        the bytes on the wire are the same whether or not it is called.
        Cheap when there is nothing to do; a no-op once the handshake is over.
        """
        if self.handshake_complete or self.closed:
            return
        prepare = getattr(self._state, "prepare", None)
        if prepare is not None:
            self._guard(lambda: prepare(self))

    def next_event(self) -> Event | None:
        return self._events.pop(0) if self._events else None

    def take_events(self) -> list[Event]:
        """Every pending event, oldest first: :meth:`next_event` until None, in one call."""
        events = self._events
        if not events:
            return []  # never the live list: the caller may keep what it got
        self._events = []
        return events

    def data_to_send(self) -> bytes:
        if self._flight:
            self._flush_flight()
        outgoing = self._outgoing
        if not outgoing:
            return b""
        # One record (or one send_data call) is returned as is, without a copy.
        data = outgoing[0] if len(outgoing) == 1 else b"".join(outgoing)
        outgoing.clear()
        return data

    def send_data(self, data: bytes | bytearray | memoryview) -> None:
        """Queue application data (RFC 8446 5: records of at most 2^14 bytes)."""
        if self.closed or self._sent_close_notify:
            raise ConnectionClosed("cannot send: the connection is closed")
        if not self.handshake_complete:
            raise UnexpectedMessage("cannot send application data before the handshake completes")
        piece_size = self._records.max_fragment_length
        pieces = -(-len(data) // piece_size)
        if pieces <= self._write_headroom():
            # The bulk path: no key update can fall due within this write,
            # so all its records are sealed in one call.
            if data:
                self._outgoing.append(self._records.write(ContentType.application_data, data))
                self._key_updates.sent_many(pieces, len(data))
            return
        for start in range(0, len(data), piece_size):
            piece = data[start : start + piece_size]
            self._maybe_update_keys(len(piece))
            self._outgoing.append(self._records.write(ContentType.application_data, piece))
            self._key_updates.sent(len(piece))

    # -- 0-RTT (RFC 8446 2.3, 4.2.10) -----------------------------------------

    def send_early_data(self, data: bytes) -> None:
        """Client: queue 0-RTT data right after the ClientHello.

        Possible when the session offered allows 0-RTT and ``config.early_data``
        is set, from :meth:`start_handshake` until the server's Finished.
        Early data can be replayed by an attacker: send only requests that
        are safe to repeat.  If the server refuses it
        (:attr:`early_data_accepted` is False), nothing was delivered;
        :attr:`early_data_rejected` holds it to send again.
        """
        negotiated = self.negotiated
        if self.config.is_server or not self._started or self.handshake_complete:
            raise UnexpectedMessage("early data is only sent by a client during its handshake")
        if not negotiated.early_data_offered or negotiated.early_data_accepted is False:
            raise UnexpectedMessage("early data was not offered or was refused")
        if len(self._early_data_sent) + len(data) > negotiated.max_early_data_size:
            raise UnexpectedMessage(
                f"early data is limited to {negotiated.max_early_data_size} bytes by the ticket"
            )
        self._early_data_sent += data
        if data:
            self._outgoing.append(self._records.write(ContentType.application_data, data))

    @property
    def early_data_accepted(self) -> bool | None:
        """None until the server has answered the 0-RTT offer (or none was made)."""
        return self.negotiated.early_data_accepted

    @property
    def early_data_rejected(self) -> bytes:
        """Client: the early data the server refused, to send again as 1-RTT."""
        if self.negotiated.early_data_accepted is False:
            return bytes(self._early_data_sent)
        return b""

    def export_early_keying_material(
        self, label: bytes, context: bytes | None, length: int
    ) -> bytes:
        """RFC 8446 7.5 early exporter (no replay protection: RFC 8446 E.5.1)."""
        secret = self.negotiated.early_exporter_master_secret
        suite = self.negotiated.cipher_suite
        if not secret or suite is None:
            raise UnexpectedMessage("no early exporter: 0-RTT was not offered and accepted")
        return ks.export_keying_material(suite.hash_name, secret, label, context or b"", length)

    def close(self) -> None:
        """Send close_notify once (RFC 8446 6.1); receiving may continue."""
        if self._sent_close_notify or (self.closed and self.error is not None):
            return
        self._send_alert(AlertLevel.warning, AlertDescription.close_notify)
        self._sent_close_notify = True
        if self.peer_closed:
            self.closed = True

    def key_update(self, request_peer_update: bool = True) -> None:
        """Move our write key on, and optionally ask the peer to do the same."""
        state = self._state
        if not self.handshake_complete or not isinstance(state, _Traffic):
            raise UnexpectedMessage("KeyUpdate is only possible after a TLS 1.3 handshake")
        if self.closed or self._sent_close_notify:
            raise ConnectionClosed("cannot update keys: the connection is closed")
        self._key_updates.before_own_update()
        if self._trace is not None:
            self._traced(lambda: state.update_write_key(self, request_peer_update))
        else:
            state.update_write_key(self, request_peer_update)
        self._flush_flight()
        self._events.append(KeyUpdated(by_peer=False))

    def _write_headroom(self) -> int:
        """How many more records may go out before the write key must change."""
        suite = self.negotiated.cipher_suite
        if not isinstance(self._state, _Traffic) or suite is None:
            return _UNLIMITED  # TLS 1.2 has no KeyUpdate
        return self._key_updates.headroom(suite)

    def _maybe_update_keys(self, length: int) -> None:
        """KeyUpdate policy: rekey before the AEAD limits (RFC 8446 5.5)."""
        suite = self.negotiated.cipher_suite
        if not isinstance(self._state, _Traffic) or suite is None:
            return  # TLS 1.2 has no KeyUpdate
        if self._key_updates.due(suite, length):
            self.key_update(request_peer_update=False)

    def request_client_certificate(self) -> None:
        """Server: ask for the client's certificate now (RFC 8446 4.6.2).

        The client must have offered post_handshake_auth; its answer arrives
        with later input and ends in a ``PeerCertificateVerified`` event.
        """
        state = self._state
        if not self.config.is_server or not isinstance(state, server13.ServerTraffic):
            raise UnexpectedMessage("only a server can request a certificate after the handshake")
        if self.closed or self._sent_close_notify:
            raise ConnectionClosed("cannot request a certificate: the connection is closed")
        if not self.negotiated.post_handshake_auth:
            # A local mistake, not the peer's: no alert, the connection lives on.
            raise UnexpectedMessage(
                "the client did not offer post-handshake authentication (post_handshake_auth)"
            )
        self._guard(lambda: state.request_client_certificate(self))

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 7.5 exporter (RFC 5705 interface); RFC 5705 itself in TLS 1.2."""
        state = self._state
        if self.handshake_complete and isinstance(state, Traffic12):
            return state.export_keying_material(label, context, length)
        if not self.handshake_complete or not isinstance(state, _Traffic):
            raise UnexpectedMessage("keying material is only available after the handshake")
        assert self.negotiated.cipher_suite is not None
        return ks.export_keying_material(
            self.negotiated.cipher_suite.hash_name,
            state.exporter_master_secret,
            label,
            context or b"",
            length,
        )

    # -- what handshake states may call (handshake.base.HandshakeIO) --------

    def send_handshake(self, message: HandshakeMessage) -> bytes:
        hook = self.config.message_hook
        if hook is not None:
            message = hook(message)
        encoded = message.encode()
        if self._trace is not None:
            self._trace.message("sent", message, encoded)
        self._flight += encoded
        if not self.handshake_complete:
            negotiated = self.negotiated
            negotiated.messages.append(type(message).__name__)
            negotiated.message_directions.append("sent")
        return encoded

    def send_change_cipher_spec(self) -> None:
        if self._flight:
            self._flush_flight()
        self._outgoing.append(self._records.write(_CHANGE_CIPHER_SPEC, _CCS_BODY))

    def set_write_key(self, suite: CipherSuiteInfo, secret: bytes) -> None:
        if self._flight:
            self._flush_flight()
        key, iv = ks.traffic_key_iv(suite.hash_name, secret, suite.key_length, suite.iv_length)
        if self._trace is not None:
            self._trace.key_change("write", suite.name, secret, key, iv)
        self._records.set_write_protection(TLS13Protection(suite, key, iv))
        self._key_updates.new_write_key()

    def clear_write_key(self) -> None:
        self._flush_flight()
        self._records.set_write_protection(NullProtection())

    def set_read_key(self, suite: CipherSuiteInfo, secret: bytes) -> None:
        # RFC 8446 5.1: a key change must fall on a record boundary, so
        # nothing may remain buffered under the old key.
        if self._reassembler.buffered:
            raise UnexpectedMessage("handshake data under the old key follows a key change")
        key, iv = ks.traffic_key_iv(suite.hash_name, secret, suite.key_length, suite.iv_length)
        if self._trace is not None:
            self._trace.key_change("read", suite.name, secret, key, iv)
        self._records.set_read_protection(TLS13Protection(suite, key, iv))

    def set_write_protection(self, protection: RecordProtection) -> None:
        self._flush_flight()
        if self._trace is not None:
            self._trace.protection_change("write", protection)
        self._records.set_write_protection(protection)

    def set_read_protection(self, protection: RecordProtection) -> None:
        if self._reassembler.buffered:
            raise UnexpectedMessage("handshake data under the old key follows a key change")
        if self._trace is not None:
            self._trace.protection_change("read", protection)
        self._records.set_read_protection(protection)

    def send_warning_alert(self, description: AlertDescription) -> None:
        self._send_alert(AlertLevel.warning, description)

    def skip_early_data(self, enabled: bool) -> None:
        if enabled:
            self._records.skip_early_data(self.config.max_early_data_skip)
        else:
            self._records.stop_skipping_early_data()

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def keylog(self, label: str, secret: bytes) -> None:
        if self._trace is not None:
            self._trace.logged_secret(label, secret)
        sink = self.config.keylog
        if sink is not None:
            sink(f"{label} {self.negotiated.client_random.hex()} {secret.hex()}")

    # -- internals ----------------------------------------------------------

    def _set_state(self, state: State) -> None:
        if self._trace is not None:
            self._trace.state(self._state, state)
        self._state = state

    def _guard(self, work: object) -> None:
        """Run ``work``; on a TLS failure send one fatal alert and close."""
        try:
            if self._trace is None:
                work()  # type: ignore[operator]
            else:
                self._traced(work)
        except PeerAlert as exc:
            self._fail(exc, send_alert=False)
            raise
        except TLSError as exc:
            self._fail(exc, send_alert=True)
            raise
        except Exception as exc:  # a bug must still close the connection cleanly
            error = InternalError(f"internal error: {type(exc).__name__}: {exc}")
            self._fail(error, send_alert=True)
            raise error from exc
        finally:
            if self._flight:
                self._flush_flight()

    def _traced(self, work: object) -> None:
        """Run ``work`` with the key schedule reporting to the tracer."""
        assert self._trace is not None
        with ks.observed(self._trace.key_step):
            work()  # type: ignore[operator]

    def _fail(self, exc: TLSError, *, send_alert: bool) -> None:
        if self.closed and self.error is not None:
            return
        self._flight.clear()
        if send_alert and not self._sent_close_notify:
            # A failure while sealing the alert leaves nothing more to do.
            with contextlib.suppress(TLSError):
                self._send_alert(AlertLevel.fatal, exc.alert)
        self.error = exc
        self.closed = True
        self._release_input()

    def _release_input(self) -> None:
        """Nothing is read after a fatal error: drop what the peer made us hold."""
        self._records.discard_received()
        self._reassembler = HandshakeReassembler(0)

    def _send_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        self._flush_flight()
        if self._trace is not None:
            self._trace.alert("sent", level, description)
        body = Alert(level=level, description=description).encode()
        self._outgoing.append(self._records.write(ContentType.alert, body))

    def _flush_flight(self) -> None:
        if self._flight:
            self._outgoing.append(self._records.write(ContentType.handshake, bytes(self._flight)))
            self._flight.clear()

    def _receive_eof(self) -> None:
        if self.peer_closed or self.closed:
            return
        error = UnexpectedEOF("EOF occurred in violation of protocol (no close_notify)")
        self._fail(error, send_alert=False)
        raise error

    def _process_records(self) -> None:
        records = self._records
        # After close_notify the peer sends nothing more worth reading.
        while not self.peer_closed:
            # Once the handshake is done, runs of application_data records
            # come back joined: one event per run instead of per record.
            item = records.read(
                self.handshake_complete
                and self._trace is None
                and not isinstance(self._state, early_data.ExpectEndOfEarlyData)
            )
            if item is None:
                return
            content_type, data = item
            if content_type == _HANDSHAKE:
                self._on_handshake(data)
            elif content_type == _APPLICATION_DATA:
                self._on_application_data(data)
            elif content_type == _ALERT:
                self._on_alert(data)
            elif content_type == _CHANGE_CIPHER_SPEC:
                self._on_change_cipher_spec(data)
            else:
                raise UnexpectedMessage(f"unexpected record content type {content_type}")

    def _on_handshake(self, data: bytes) -> None:
        if not self._started:
            raise UnexpectedMessage("handshake data before the client started")
        reassembler = self._reassembler
        reassembler.feed(data)
        limits = self._limits
        negotiated = self.negotiated
        while True:
            item = reassembler.next_message()
            if item is None:
                limits.on_handshake_record(reassembler.buffered > 0)
                return
            msg_type, raw = item
            if negotiated.version == TLS12_NAME:
                message = decode_handshake12(msg_type, raw[4:])
            else:
                message = decode_handshake(msg_type, raw[4:])
            limits.check_message(message)
            assert self._state is not None
            was_complete = self.handshake_complete
            if not was_complete:
                negotiated.messages.append(type(message).__name__)
                negotiated.message_directions.append("received")
            elif isinstance(message, KeyUpdate):
                self._key_updates.peer_update()
            if self._trace is not None:
                self._trace.message("received", message, raw)
                self._set_state(self._state.handle(message, raw, self))
            else:
                self._state = self._state.handle(message, raw, self)
            if not was_complete and isinstance(self._state, _AnyTraffic):
                self.handshake_complete = True
            if negotiated.version == TLS12_NAME:
                # RFC 5246 6.2.3: TLS 1.2 records may carry up to 2^14 + 2048.
                self._records.max_record_length = MAX_TLS12_CIPHERTEXT_LENGTH

    def _on_application_data(self, data: bytes) -> None:
        if self._reassembler.has_partial:
            raise UnexpectedMessage("application data inside a fragmented handshake message")
        state = self._state
        if isinstance(state, early_data.ExpectEndOfEarlyData):
            state.receive(data, self)
            return
        if not self.handshake_complete:
            raise UnexpectedMessage("application data before the handshake completed")
        self._key_updates.peer_data()
        self._events.append(ApplicationData(data=data))

    def _on_alert(self, data: bytes) -> None:
        if self._reassembler.has_partial:
            raise UnexpectedMessage("alert inside a fragmented handshake message")
        alert = Alert.decode(data)
        if self._trace is not None:
            self._trace.alert("received", alert.level, alert.description)
        if alert.description == AlertDescription.close_notify:
            self.peer_closed = True
            if self._sent_close_notify:
                self.closed = True
            self._events.append(CloseNotify())
            return
        if alert.description == AlertDescription.user_canceled:
            # RFC 8446 6.1: user_canceled is followed by close_notify.
            return
        if alert.level == AlertLevel.warning and self.negotiated.version == TLS12_NAME:
            # RFC 5246 7.2: TLS 1.2 warnings (e.g. no_renegotiation) are not fatal.
            return
        # RFC 8446 6: every other alert is fatal, whatever its level says.
        raise PeerAlert(alert.description)

    def _on_change_cipher_spec(self, data: bytes) -> None:
        """RFC 8446 5: drop one dummy CCS during the handshake, nothing else.

        In TLS 1.2 the record is the real switch to the new read keys
        (RFC 5246 7.1): the state waiting for it installs them.
        """
        if data != _CCS_BODY:
            raise UnexpectedMessage("change_cipher_spec with a value other than 0x01")
        if self.negotiated.version == TLS12_NAME:
            self._tls12_change_cipher_spec()
            return
        if self.handshake_complete or self._ccs_received or not self._handshake_begun():
            raise UnexpectedMessage("unexpected change_cipher_spec record")
        self._ccs_received = True

    def _tls12_change_cipher_spec(self) -> None:
        handler = getattr(self._state, "handle_change_cipher_spec", None)
        if handler is None or self._reassembler.has_partial:
            raise UnexpectedMessage("unexpected change_cipher_spec record")
        self._state = handler(self)

    def _handshake_begun(self) -> bool:
        """A dummy CCS may only follow the first ClientHello / ServerHello."""
        state = self._state
        if self.config.is_server:
            return not (isinstance(state, server13.ExpectClientHello) and state.retry is None)
        return not (isinstance(state, client13.ExpectServerHello) and not state.retried)
