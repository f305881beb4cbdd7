"""IANA TLS registries as IntEnums.

Decoders keep values they do not know as plain ints (``as_enum``), so an
unknown group, suite or extension from a peer is carried, never a crash
(RFC 8446 4.1.2: unknown values MUST be ignored where they are offered).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar

E = TypeVar("E", bound=IntEnum)


def as_enum(cls: type[E], value: int) -> E | int:
    """Return ``cls(value)`` when registered, else the plain int."""
    try:
        return cls(value)
    except ValueError:
        return value


def enum_name(cls: type[IntEnum], value: int) -> str:
    """A readable name for a codepoint, e.g. ``x25519`` or ``unknown(0x1a1a)``."""
    try:
        return cls(value).name
    except ValueError:
        return f"unknown(0x{value:04x})"


class ContentType(IntEnum):
    """RFC 8446 5.1."""

    invalid = 0
    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23
    heartbeat = 24


class HandshakeType(IntEnum):
    """RFC 8446 4 and B.3."""

    hello_request = 0
    client_hello = 1
    server_hello = 2
    hello_verify_request = 3
    new_session_ticket = 4
    end_of_early_data = 5
    hello_retry_request = 6
    encrypted_extensions = 8
    certificate = 11
    server_key_exchange = 12
    certificate_request = 13
    server_hello_done = 14
    certificate_verify = 15
    client_key_exchange = 16
    finished = 20
    certificate_url = 21
    certificate_status = 22
    supplemental_data = 23
    key_update = 24
    compressed_certificate = 25
    message_hash = 254


class ExtensionType(IntEnum):
    """RFC 8446 4.2 plus the TLS 1.2 and later registrations we use."""

    server_name = 0
    max_fragment_length = 1
    status_request = 5
    supported_groups = 10
    ec_point_formats = 11
    signature_algorithms = 13
    use_srtp = 14
    heartbeat = 15
    application_layer_protocol_negotiation = 16
    signed_certificate_timestamp = 18
    client_certificate_type = 19
    server_certificate_type = 20
    padding = 21
    encrypt_then_mac = 22
    extended_master_secret = 23
    compress_certificate = 27
    record_size_limit = 28
    session_ticket = 35
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    oid_filters = 48
    post_handshake_auth = 49
    signature_algorithms_cert = 50
    key_share = 51
    renegotiation_info = 0xFF01


class CipherSuite(IntEnum):
    """TLS 1.3 suites (RFC 8446 B.4), the TLS 1.2 AEAD suites we offer and SCSVs."""

    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303
    TLS_AES_128_CCM_SHA256 = 0x1304
    TLS_AES_128_CCM_8_SHA256 = 0x1305
    TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009C
    TLS_RSA_WITH_AES_256_GCM_SHA384 = 0x009D
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02C
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xC02F
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xC030
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA8
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA9
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
    TLS_FALLBACK_SCSV = 0x5600


class NamedGroup(IntEnum):
    """RFC 8446 4.2.7."""

    secp256r1 = 0x0017
    secp384r1 = 0x0018
    secp521r1 = 0x0019
    x25519 = 0x001D
    x448 = 0x001E
    ffdhe2048 = 0x0100
    ffdhe3072 = 0x0101
    ffdhe4096 = 0x0102
    ffdhe6144 = 0x0103
    ffdhe8192 = 0x0104
    X25519MLKEM768 = 0x11EC


class SignatureScheme(IntEnum):
    """RFC 8446 4.2.3."""

    rsa_pkcs1_sha1 = 0x0201
    ecdsa_sha1 = 0x0203
    rsa_pkcs1_sha256 = 0x0401
    rsa_pkcs1_sha384 = 0x0501
    rsa_pkcs1_sha512 = 0x0601
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    ecdsa_secp521r1_sha512 = 0x0603
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    ed25519 = 0x0807
    ed448 = 0x0808
    rsa_pss_pss_sha256 = 0x0809
    rsa_pss_pss_sha384 = 0x080A
    rsa_pss_pss_sha512 = 0x080B


class AlertLevel(IntEnum):
    """RFC 8446 6."""

    warning = 1
    fatal = 2


class AlertDescription(IntEnum):
    """RFC 8446 6 (and the TLS 1.2 values still in the registry)."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    decryption_failed = 21
    record_overflow = 22
    decompression_failure = 30
    handshake_failure = 40
    no_certificate = 41
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    export_restriction = 60
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    no_renegotiation = 100
    missing_extension = 109
    unsupported_extension = 110
    certificate_unobtainable = 111
    unrecognized_name = 112
    bad_certificate_status_response = 113
    bad_certificate_hash_value = 114
    unknown_psk_identity = 115
    certificate_required = 116
    general_error = 117
    no_application_protocol = 120
    ech_required = 121


class ProtocolVersion(IntEnum):
    """Wire version numbers (RFC 8446 4.2.1)."""

    SSLv3 = 0x0300
    TLSv1 = 0x0301
    TLSv1_1 = 0x0302
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304


class PskKeyExchangeMode(IntEnum):
    """RFC 8446 4.2.9."""

    psk_ke = 0
    psk_dhe_ke = 1


class CertificateType(IntEnum):
    """RFC 8446 4.4.2 / RFC 7250."""

    X509 = 0
    OpenPGP = 1
    RawPublicKey = 2


class KeyUpdateRequest(IntEnum):
    """RFC 8446 4.6.3."""

    update_not_requested = 0
    update_requested = 1


class CertificateStatusType(IntEnum):
    """RFC 6066 8."""

    ocsp = 1


class NameType(IntEnum):
    """RFC 6066 3."""

    host_name = 0
