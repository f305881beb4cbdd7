"""0-RTT early data on both sides (RFC 8446 2.3, 4.2.10, 4.5, 8).

Client: after the ClientHello it switches to the client_early_traffic_secret
(:func:`client_start`), learns from ServerHello / EncryptedExtensions
whether the server accepted, and ends the early data with EndOfEarlyData
before its Finished.  Server: :func:`server_accepts` applies every rule that
must hold before 0-RTT is accepted (opt-in, same suite and ALPN as the
ticket, the RFC 8446 8.3 freshness check, the single-use strike register);
:class:`ExpectEndOfEarlyData` then reads early data, marked ``early=True``,
until EndOfEarlyData.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from puretls.crypto import key_schedule as ks
from puretls.crypto.suites import CipherSuiteInfo
from puretls.errors import IllegalParameter, UnexpectedMessage
from puretls.events import ApplicationData
from puretls.handshake.base import HandshakeIO, State, unexpected
from puretls.handshake.psk13 import AcceptedPsk, ClientPskOffer
from puretls.messages import (
    EarlyData,
    EncryptedExtensions,
    EndOfEarlyData,
    HandshakeMessage,
    find_extension,
)
from puretls.transcript import Transcript


def _early_secrets(io: HandshakeIO, hash_name: str, psk: bytes, raw_hello: bytes) -> bytes:
    """client_early_traffic_secret for this ClientHello (RFC 8446 7.1), logged.

    The early exporter secret is derived and kept beside it (7.5); both
    sides derive the two alike.
    """
    hello_hash = hashlib.new(hash_name, raw_hello).digest()
    early = ks.EarlySecret(hash_name, psk)
    secret = early.client_early_traffic_secret(hello_hash)
    exporter = early.early_exporter_master_secret(hello_hash)
    io.keylog("CLIENT_EARLY_TRAFFIC_SECRET", secret)
    io.keylog("EARLY_EXPORTER_SECRET", exporter)
    io.negotiated.early_exporter_master_secret = exporter
    return secret


# --- client --------------------------------------------------------------------


def client_start(io: HandshakeIO, offer: ClientPskOffer | None, raw_hello: bytes) -> bool:
    """Install the early write key after the ClientHello; True if a CCS was sent."""
    if offer is None or not offer.early_data or offer.early_suite is None:
        return False
    first = offer.candidates[0]
    suite = offer.early_suite
    secret = _early_secrets(io, first.hash_name, first.psk, raw_hello)
    negotiated = io.negotiated
    negotiated.early_data_offered = True
    negotiated.max_early_data_size = offer.max_early_data_size
    ccs_sent = False
    if io.config.middlebox_compat:
        # RFC 8446 D.4: with early data the CCS goes right after the
        # ClientHello; only that first record may say 0x0301 (RFC 8446 5.1).
        io.clear_write_key()
        io.send_change_cipher_spec()
        ccs_sent = True
    io.set_write_key(suite, secret)
    return ccs_sent


def client_retry(io: HandshakeIO) -> None:
    """RFC 8446 4.2.10: a HelloRetryRequest rejects 0-RTT; CH2 goes in clear."""
    negotiated = io.negotiated
    if negotiated.early_data_offered:
        negotiated.early_data_accepted = False
        io.clear_write_key()


def client_server_hello(io: HandshakeIO, first_psk_selected: bool) -> bool:
    """True while acceptance is still open (EncryptedExtensions decides)."""
    negotiated = io.negotiated
    if not negotiated.early_data_offered or negotiated.early_data_accepted is False:
        return False
    if first_psk_selected:
        return True
    negotiated.early_data_accepted = False
    return False


def client_encrypted_extensions(
    io: HandshakeIO, message: EncryptedExtensions, suite: CipherSuiteInfo, client_hs: bytes
) -> None:
    negotiated = io.negotiated
    accepted = find_extension(message.extensions, EarlyData) is not None
    if accepted:
        if negotiated.early_data_accepted is not None:
            raise IllegalParameter("server accepted early data after rejecting our PSK")
        negotiated.early_data_accepted = True
    elif negotiated.early_data_offered and negotiated.early_data_accepted is None:
        negotiated.early_data_accepted = False
        io.set_write_key(suite, client_hs)


def client_end_of_early_data(
    io: HandshakeIO, transcript: Transcript, suite: CipherSuiteInfo, client_hs: bytes
) -> None:
    """RFC 8446 4.5: EndOfEarlyData under the early key, then the handshake key."""
    if io.negotiated.early_data_accepted:
        transcript.update(io.send_handshake(EndOfEarlyData()))
        io.set_write_key(suite, client_hs)


# --- server --------------------------------------------------------------------


def server_accepts(
    io: HandshakeIO, psk: AcceptedPsk | None, suite: CipherSuiteInfo, alpn: str | None
) -> bool:
    """Whether to accept the client's 0-RTT (RFC 8446 4.2.10, 8)."""
    if psk is None or not psk.early_data_offered:
        return False
    config = io.config
    state = psk.state
    # External PSKs carry no record of suite/ALPN/age: no 0-RTT with them.
    if config.max_early_data_size <= 0 or state is None or state.max_early_data_size <= 0:
        return False
    if state.cipher_suite != suite.suite or state.alpn_protocol != alpn:
        return False
    now = config.time()
    # RFC 8446 8.3: the ClientHello must arrive when the client's view of
    # the ticket age says it should, within the window.
    expected_ms = state.issued_at_ms + psk.client_age_ms
    if abs(now * 1000 - expected_ms) > config.max_ticket_age_skew * 1000:
        return False
    # RFC 8446 8.1: each ticket carries 0-RTT once.
    key = hashlib.sha256(psk.identity).digest()
    expires_at = state.issued_at_ms / 1000 + state.lifetime
    return config.replay_cache.claim(key, expires_at, now)


def server_read_early_data(
    io: HandshakeIO,
    psk: AcceptedPsk,
    suite: CipherSuiteInfo,
    raw_hello: bytes,
    transcript: Transcript,
    client_hs: bytes,
    next_state: State,
) -> State:
    """Switch the read key to the early key and wait for EndOfEarlyData."""
    secret = _early_secrets(io, suite.hash_name, psk.psk, raw_hello)
    io.set_read_key(suite, secret)
    negotiated = io.negotiated
    negotiated.early_data_offered = True
    negotiated.early_data_accepted = True
    negotiated.max_early_data_size = io.config.max_early_data_size
    return ExpectEndOfEarlyData(
        suite=suite,
        transcript=transcript,
        client_hs=client_hs,
        next_state=next_state,
        limit=io.config.max_early_data_size,
    )


@dataclass(slots=True, kw_only=True)
class ExpectEndOfEarlyData:
    """Server: 0-RTT data flows until the client's EndOfEarlyData."""

    suite: CipherSuiteInfo
    transcript: Transcript
    client_hs: bytes
    next_state: State
    limit: int
    received: int = 0

    def receive(self, data: bytes, io: HandshakeIO) -> None:
        """One record of early data: count it and hand it up, marked early."""
        self.received += len(data)
        if self.received > self.limit:
            # RFC 8446 4.2.10: more than max_early_data_size is unexpected_message.
            raise UnexpectedMessage(
                f"client sent {self.received} bytes of early data, "
                f"more than max_early_data_size {self.limit}"
            )
        io.emit(ApplicationData(data=data, early=True))

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, EndOfEarlyData):
            raise unexpected(message, self)
        self.transcript.update(raw)
        io.set_read_key(self.suite, self.client_hs)
        return self.next_state
