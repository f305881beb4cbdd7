"""Pieces of the TLS 1.2 handshake that client and server share.

Key derivation from the master secret into record protection (RFC 5246
6.3, RFC 5288, RFC 7905), the bytes a ServerKeyExchange signature covers,
certificate choice by suite authentication, and the traffic state both
sides end in (renegotiation refused, RFC 5705 exporter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from puretls.config import CertifiedKey
from puretls.crypto import prf
from puretls.crypto.signatures import PrivateKey, PublicKey, key_fits_scheme
from puretls.crypto.suites import CipherSuiteInfo
from puretls.enums import AlertDescription, ProtocolVersion
from puretls.errors import IllegalParameter
from puretls.handshake.base import HandshakeIO
from puretls.handshake.session12 import TLS12Session
from puretls.record.protection import TLS12AEADProtection

TLS12 = ProtocolVersion.TLSv1_2
VERSION_NAME = "TLSv1.2"

# RFC 5705 4: labels the TLS PRF itself uses may not be exported.
_RESERVED_EXPORTER_LABELS = frozenset(
    (b"client finished", b"server finished", b"master secret", b"key expansion")
)


def key_can_authenticate(suite: CipherSuiteInfo, key: PrivateKey | PublicKey) -> bool:
    """RFC 8422 5.3 / RFC 5246 7.4.2: the certificate key the suite needs.

    ECDHE_ECDSA suites take ECDSA or EdDSA keys (RFC 8422 2), the RSA and
    ECDHE_RSA suites RSA keys.
    """
    if suite.authentication == "ECDSA":
        return isinstance(
            key,
            ec.EllipticCurvePrivateKey
            | ec.EllipticCurvePublicKey
            | ed25519.Ed25519PrivateKey
            | ed25519.Ed25519PublicKey
            | ed448.Ed448PrivateKey
            | ed448.Ed448PublicKey,
        )
    return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)


def choose_scheme12(
    key: PrivateKey, peer_schemes: Sequence[int], own_schemes: Sequence[int]
) -> int | None:
    """The first peer scheme (peer order) we allow and ``key`` can make in TLS 1.2.

    Our scheme list never holds MD5 or SHA-1 schemes, so RFC 9155's ban
    holds by construction.
    """
    for scheme in peer_schemes:
        if scheme in own_schemes and key_fits_scheme(scheme, key, tls13=False):
            return scheme
    return None


def choose_certificate12(
    certificates: Sequence[CertifiedKey],
    suite: CipherSuiteInfo,
    peer_schemes: Sequence[int],
    own_schemes: Sequence[int],
) -> tuple[CertifiedKey, int | None] | None:
    """A chain whose key fits ``suite`` and, for ECDHE, a signature scheme for it.

    The static RSA key exchange signs nothing, so it needs no scheme.
    """
    for certified in certificates:
        key = certified.private_key
        if not key_can_authenticate(suite, key):
            continue
        if suite.key_exchange == "RSA":
            return certified, None
        scheme = choose_scheme12(key, peer_schemes, own_schemes)
        if scheme is not None:
            return certified, scheme
    return None


def signed_params(client_random: bytes, server_random: bytes, params: bytes) -> bytes:
    """RFC 8422 5.4: ``client_random + server_random + ServerECDHParams``."""
    return client_random + server_random + params


def install_keys(
    io: HandshakeIO,
    suite: CipherSuiteInfo,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
) -> tuple[TLS12AEADProtection, TLS12AEADProtection]:
    """(client write, server write) protections from the key block (RFC 5246 6.3)."""
    keys = prf.traffic_keys(
        suite.hash_name,
        master,
        client_random,
        server_random,
        suite.key_length,
        suite.iv_length,
    )
    client = TLS12AEADProtection(suite, keys.client_write_key, keys.client_write_iv)
    server = TLS12AEADProtection(suite, keys.server_write_key, keys.server_write_iv)
    return client, server


def check_renegotiation_info(renegotiated_connection: bytes) -> None:
    """RFC 5746 3.4 / 3.6: in an initial handshake the field must be empty."""
    if renegotiated_connection:
        raise IllegalParameter(
            "renegotiation_info is not empty in an initial handshake",
            alert=AlertDescription.handshake_failure,
        )


@dataclass(slots=True, kw_only=True)
class Traffic12:
    """After a TLS 1.2 handshake: application data flows, nothing else does.

    Renegotiation is refused (RFC 5746 4.5 / 5246 7.4.1.1): a HelloRequest
    or a new ClientHello gets a no_renegotiation warning alert and is
    otherwise ignored; the connection goes on as it was.
    """

    suite: CipherSuiteInfo
    master_secret: bytes
    client_random: bytes
    server_random: bytes
    session: TLS12Session | None = None

    def refuse_renegotiation(self, io: HandshakeIO) -> None:
        io.send_warning_alert(AlertDescription.no_renegotiation)

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 5705 4 with the TLS 1.2 PRF."""
        if label in _RESERVED_EXPORTER_LABELS:
            raise ValueError(f"exporter label {label!r} is reserved by TLS (RFC 5705 4)")
        return prf.export_keying_material(
            self.suite.hash_name,
            self.master_secret,
            self.client_random,
            self.server_random,
            label,
            context,
            length,
        )
