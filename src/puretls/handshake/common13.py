"""Pieces of the TLS 1.3 handshake that client and server share."""

from __future__ import annotations

from collections.abc import Sequence

from puretls.config import CertifiedKey
from puretls.crypto import key_schedule as ks
from puretls.crypto.signatures import TLS13_CERTIFICATE_VERIFY_SCHEMES, key_fits_scheme
from puretls.crypto.suites import CipherSuiteInfo
from puretls.enums import KeyUpdateRequest
from puretls.events import KeyUpdated
from puretls.handshake.base import HandshakeIO
from puretls.messages import KeyUpdate

# RFC 8446 4.1.3: the last 8 bytes of ServerHello.random when a TLS 1.3
# server negotiates TLS 1.2 ("DOWNGRD\x01") or below ("DOWNGRD\x00").
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"
DOWNGRADE_SENTINELS = (DOWNGRADE_TLS12, DOWNGRADE_TLS11)


def choose_certificate(
    certificates: Sequence[CertifiedKey], peer_schemes: Sequence[int]
) -> tuple[CertifiedKey, int] | None:
    """The first of our chains whose key can sign with a scheme the peer accepts.

    Peer order decides the scheme (RFC 8446 4.2.3 lists them by preference);
    TLS 1.3 never signs CertificateVerify with PKCS#1 v1.5 or SHA-1.
    """
    for certified in certificates:
        for scheme in peer_schemes:
            if scheme in TLS13_CERTIFICATE_VERIFY_SCHEMES and key_fits_scheme(
                scheme, certified.private_key
            ):
                return certified, scheme
    return None


def handle_key_update(
    message: KeyUpdate,
    io: HandshakeIO,
    suite: CipherSuiteInfo,
    peer_secret: bytes,
    own_secret: bytes,
) -> tuple[bytes, bytes]:
    """RFC 8446 4.6.3: move the read key on; answer update_requested once."""
    peer_secret = ks.next_application_traffic_secret(suite.hash_name, peer_secret)
    io.set_read_key(suite, peer_secret)
    if message.request_update == KeyUpdateRequest.update_requested:
        io.send_handshake(KeyUpdate(request_update=KeyUpdateRequest.update_not_requested))
        own_secret = ks.next_application_traffic_secret(suite.hash_name, own_secret)
        io.set_write_key(suite, own_secret)
    io.emit(KeyUpdated(by_peer=True))
    return peer_secret, own_secret
