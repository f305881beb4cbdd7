"""Frozen configuration for one side of a connection.

This is where the outside world comes in: randomness (``rng``), the clock
(``clock``), the key log sink and the certificate verifier are injected
here, so the sans-I/O core itself never reads a clock or an entropy source
and tests can replay RFC 8448 byte for byte.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from puretls.enums import (
    CipherSuite,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from puretls.session import (
    ClientSession,
    ExternalPsk,
    InMemoryReplayCache,
    ReplayCache,
    TicketKeys,
    TicketProtector,
)

if TYPE_CHECKING:
    from puretls.crypto.signatures import PrivateKey
    from puretls.handshake.session12 import SessionCache12, TLS12Session
    from puretls.messages import Certificate, HandshakeMessage
    from puretls.trace import Tracer
    from puretls.verify import CertificateVerifier

DEFAULT_CIPHER_SUITES: tuple[int, ...] = (
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_GCM_SHA256,
    # TLS 1.2: forward-secret AEAD suites only.  The static RSA key exchange
    # (TLS_RSA_WITH_*) is never a default: a user must name it.
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)

# Server preference and what a client lists in supported_groups.
DEFAULT_GROUPS: tuple[int, ...] = (
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.x448,
    NamedGroup.secp384r1,
    NamedGroup.secp521r1,
)

DEFAULT_SIGNATURE_SCHEMES: tuple[int, ...] = (
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.ecdsa_secp521r1_sha512,
    SignatureScheme.ed25519,
    SignatureScheme.ed448,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
    SignatureScheme.rsa_pss_pss_sha256,
    SignatureScheme.rsa_pss_pss_sha384,
    SignatureScheme.rsa_pss_pss_sha512,
    # Only for certificate signatures (signature_algorithms_cert semantics):
    # many CAs still sign with PKCS#1 v1.5 (RFC 8446 4.2.3).
    SignatureScheme.rsa_pkcs1_sha256,
    SignatureScheme.rsa_pkcs1_sha384,
    SignatureScheme.rsa_pkcs1_sha512,
)


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A certificate chain (DER, leaf first) and the leaf's private key."""

    chain: tuple[bytes, ...]
    private_key: PrivateKey

    def __repr__(self) -> str:  # the key never reaches a repr
        return f"CertifiedKey(chain=<{len(self.chain)} certificates>, private_key=<redacted>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class TLSConfig:
    """Everything one endpoint needs to run handshakes.

    The same type serves both sides; ``is_server`` selects the role.
    """

    is_server: bool
    min_version: int = ProtocolVersion.TLSv1_2
    max_version: int = ProtocolVersion.TLSv1_3
    cipher_suites: tuple[int, ...] = DEFAULT_CIPHER_SUITES
    groups: tuple[int, ...] = DEFAULT_GROUPS
    # Client: groups for which a key share goes in the first ClientHello
    # (RFC 8446 4.2.8); empty means "the first of ``groups``".
    key_share_groups: tuple[int, ...] = ()
    signature_schemes: tuple[int, ...] = DEFAULT_SIGNATURE_SCHEMES
    alpn_protocols: tuple[bytes, ...] = ()
    # Client: the name to send in SNI and to check the certificate against.
    server_name: str | None = None
    # Server: chains to choose from; client: the chain for client auth.
    certificates: tuple[CertifiedKey, ...] = ()
    # None: do not verify the peer's chain (CERT_NONE).
    verifier: CertificateVerifier | None = None
    # Server: ask the client for a certificate (CERT_OPTIONAL / CERT_REQUIRED).
    request_client_certificate: bool = False
    require_client_certificate: bool = False
    # Server: DER DistinguishedNames for CertificateRequest's
    # certificate_authorities (RFC 8446 4.2.4); empty sends none.
    certificate_authorities: tuple[bytes, ...] = ()
    # Client: offer post-handshake authentication (RFC 8446 4.2.6), which
    # lets the server call Connection.request_client_certificate() later.
    # Server: when the client offers it, ask for its certificate only after
    # the handshake (the stdlib's post_handshake_auth on a server context).
    post_handshake_auth: bool = False
    # Client: ask for a stapled OCSP response (status_request, RFC 6066 8);
    # ``ocsp_must_staple`` makes its absence fatal (as RFC 7633 does).
    ocsp_stapling: bool = False
    ocsp_must_staple: bool = False
    # Server: the DER OCSP response to staple for a chain's leaf (DER), or None.
    ocsp_responses: Callable[[bytes], bytes | None] | None = field(default=None, compare=False)
    # Server: refuse a server_name that no certificate covers (unrecognized_name)
    # instead of serving the default chain.
    strict_server_name: bool = False
    # RFC 8879 algorithms we compress with and accept, in preference order.
    certificate_compression: tuple[int, ...] = ()
    # RFC 8446 D.4 middlebox compatibility mode (client side).
    middlebox_compat: bool = True
    max_handshake_message_size: int = 1 << 16
    # RFC 8446 4.2.10: how much rejected 0-RTT data a server skips.
    max_early_data_skip: int = 1 << 16
    # Limits against hostile peers, enforced by puretls.limits; the alert a
    # peer receives for each is listed in docs/robustness.md.
    max_handshake_fragments: int = 1024
    max_certificate_chain_length: int = 16
    max_certificate_chain_size: int = 1 << 16
    max_extensions: int = 256
    max_key_shares: int = 16
    # Client: NewSessionTickets (and their sessions) kept per connection; a
    # server may send any number (RFC 8446 4.6.1), so older ones are dropped.
    max_session_tickets_kept: int = 8
    rng: Callable[[int], bytes] = os.urandom
    clock: Callable[[], datetime] = system_clock
    # Seconds since the epoch, for ticket ages (RFC 8446 4.6.1).
    time: Callable[[], float] = time.time
    # NSS key log sink: called with one line (without newline) per secret.
    keylog: Callable[[str], None] | None = None
    # Server: called with the client's SNI (or None); may return another
    # config to use for this connection (the stdlib's sni_callback).
    sni_callback: Callable[[str | None], TLSConfig | None] | None = field(
        default=None, compare=False
    )
    # Rewrites any handshake message just before it is sent; the handshake
    # then continues from what was actually sent.  For experiments, for
    # mimicking other implementations, and for replaying RFC 8448 exactly.
    message_hook: Callable[[HandshakeMessage], HandshakeMessage] | None = field(
        default=None, compare=False
    )
    # Sees every record, message, key schedule step, key change, alert and
    # state change (puretls.trace); None, the default, costs nothing.
    tracer: Tracer | None = field(default=None, compare=False)
    # TLS 1.2 (handshake/client12.py, server12.py).  RFC 7627: refuse peers
    # without extended_master_secret unless this is turned off.
    require_extended_master_secret: bool = True
    # Server: the bounded session-ID cache (None: no session-ID resumption).
    tls12_session_cache: SessionCache12 | None = field(default=None, compare=False)
    # Client: a session from an earlier TLS 1.2 connection to resume.
    tls12_session: TLS12Session | None = field(default=None, compare=False)

    # -- resumption, PSKs and 0-RTT (docs/resumption.md) ---------------------
    # Server: NewSessionTickets sent after the client's Finished (RFC 8446 4.6.1).
    session_tickets: int = 2
    ticket_lifetime: int = 7200
    # Server: seals tickets.  By default each config has its own key ring,
    # generated from ``rng`` on first use; share a TicketKeys (or one loaded
    # from a key file) between configs and processes to resume across them.
    ticket_keys: TicketProtector = field(default_factory=TicketKeys, compare=False)
    # Server: accept psk_ke (no (EC)DHE, hence no forward secrecy) when asked.
    allow_psk_ke: bool = False
    # Client: the session to offer (from a NewSessionTicket or a cache).
    session: ClientSession | None = None
    # Client: the PSK modes offered; psk_dhe_ke keeps forward secrecy.
    psk_key_exchange_modes: tuple[int, ...] = (PskKeyExchangeMode.psk_dhe_ke,)
    # Both: keys agreed out of band (RFC 8446 2.2, RFC 9258 importer).
    external_psks: tuple[ExternalPsk, ...] = ()
    # Client: send 0-RTT data when the session allows it.
    early_data: bool = False
    # Server: accept up to this many bytes of 0-RTT data (0: refuse 0-RTT).
    max_early_data_size: int = 0
    # Server: strike register of tickets used for 0-RTT (RFC 8446 8.1).
    replay_cache: ReplayCache = field(default_factory=InMemoryReplayCache, compare=False)
    # Server: RFC 8446 8.3 freshness window for 0-RTT, in seconds.
    max_ticket_age_skew: float = 10.0
    # -- KeyUpdate policy (RFC 8446 5.5, RFC 9846 4.7.3) ---------------------
    # Update our write key after this many records / bytes under one key;
    # None: just below the AEAD's confidentiality limit.
    key_update_records: int | None = None
    key_update_bytes: int | None = None
    # Peer KeyUpdates accepted in a row with no application data between.
    max_peer_key_updates: int = 32
    # Server: what handshake.auth13 worked out for earlier ClientHellos, kept
    # for the next ones: the chain and scheme per (server name, offered
    # schemes), the unstapled, uncompressed Certificate message per chain.
    # Pure functions of ``certificates`` (fixed for this config's life) and
    # of the key; bounded there; never copied by ``replace``.
    certificate_choices: dict[tuple[object, ...], tuple[CertifiedKey, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    certificate_messages: dict[tuple[bytes, ...], Certificate] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # Server: the key exchange group the last ClientHello on this config
    # settled on (0: none yet), so that a server can make its key share
    # while it waits for the next one (server13.ExpectClientHello.prepare).
    # One plain value, overwritten; never copied by ``replace``.
    last_key_share_group: int = field(default=0, init=False, repr=False, compare=False)

    def replace(self, **changes: object) -> TLSConfig:
        """A copy with ``changes`` applied: ``dataclasses.replace``, made cheap.

        ``dataclasses.replace`` walks the field list in Python; here every
        field is read in one call, which matters for a wrapper that derives
        each connection's config (a session, a callback) from a shared one.
        """
        values = dict(zip(_FIELD_NAMES, _read_fields(self), strict=True))
        values.update(changes)
        return TLSConfig(**values)


# The __init__ arguments (no InitVar); the init=False memos start afresh.
_FIELD_NAMES = tuple(f.name for f in fields(TLSConfig) if f.init)
_read_fields = operator.attrgetter(*_FIELD_NAMES)
