"""Cipher suite registry: the AEAD, hash and key sizes behind each code point.

TLS 1.3 suites name only the record AEAD and the HKDF hash (RFC 8446 B.4);
TLS 1.2 suites add the key exchange and authentication (RFC 5289, RFC 7905).
Only AEAD suites exist here: no CBC, RC4, 3DES, export, anonymous or NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from puretls.enums import CipherSuite

AEADClass = type[AESGCM] | type[ChaCha20Poly1305]


@dataclass(frozen=True, slots=True, kw_only=True)
class CipherSuiteInfo:
    suite: CipherSuite
    name: str  # IANA name, what TLS 1.3 SSLSocket.cipher() reports
    openssl_name: str  # OpenSSL's name, what TLS 1.2 SSLSocket.cipher() reports
    aead: AEADClass
    key_length: int
    iv_length: int  # TLS 1.3 / ChaCha20: the whole 12-byte nonce base
    hash_name: str  # hashlib name of the HKDF / PRF hash
    hash_length: int
    tls13: bool
    key_exchange: str = ""  # TLS 1.2 only: "ECDHE" or "RSA"
    authentication: str = ""  # TLS 1.2 only: "ECDSA" or "RSA"

    @property
    def secret_bits(self) -> int:
        """Cipher strength as the stdlib's ``cipher()[2]`` reports it."""
        return self.key_length * 8


def _s(
    suite: CipherSuite, openssl: str, aead: AEADClass, key: int, hash_name: str, **kw: str
) -> CipherSuiteInfo:
    tls13 = not kw
    return CipherSuiteInfo(
        suite=suite,
        name=suite.name,
        openssl_name=openssl,
        aead=aead,
        key_length=key,
        # RFC 5288 3: AES-GCM in TLS 1.2 has a 4-byte implicit salt plus an
        # explicit 8-byte nonce; TLS 1.3 and ChaCha20 (RFC 7905) use 12 bytes.
        iv_length=4 if (not tls13 and aead is AESGCM) else 12,
        hash_name=hash_name,
        hash_length=48 if hash_name == "sha384" else 32,
        tls13=tls13,
        **kw,
    )


_C = CipherSuite
SUITES: dict[int, CipherSuiteInfo] = {
    info.suite: info
    for info in (
        _s(_C.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", AESGCM, 16, "sha256"),
        _s(_C.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", AESGCM, 32, "sha384"),
        _s(
            _C.TLS_CHACHA20_POLY1305_SHA256,
            "TLS_CHACHA20_POLY1305_SHA256",
            ChaCha20Poly1305,
            32,
            "sha256",
        ),
        _s(
            _C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            AESGCM,
            16,
            "sha256",
            key_exchange="ECDHE",
            authentication="ECDSA",
        ),
        _s(
            _C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            "ECDHE-RSA-AES128-GCM-SHA256",
            AESGCM,
            16,
            "sha256",
            key_exchange="ECDHE",
            authentication="RSA",
        ),
        _s(
            _C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            AESGCM,
            32,
            "sha384",
            key_exchange="ECDHE",
            authentication="ECDSA",
        ),
        _s(
            _C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            "ECDHE-RSA-AES256-GCM-SHA384",
            AESGCM,
            32,
            "sha384",
            key_exchange="ECDHE",
            authentication="RSA",
        ),
        _s(
            _C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            ChaCha20Poly1305,
            32,
            "sha256",
            key_exchange="ECDHE",
            authentication="ECDSA",
        ),
        _s(
            _C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            "ECDHE-RSA-CHACHA20-POLY1305",
            ChaCha20Poly1305,
            32,
            "sha256",
            key_exchange="ECDHE",
            authentication="RSA",
        ),
        _s(
            _C.TLS_RSA_WITH_AES_128_GCM_SHA256,
            "AES128-GCM-SHA256",
            AESGCM,
            16,
            "sha256",
            key_exchange="RSA",
            authentication="RSA",
        ),
        _s(
            _C.TLS_RSA_WITH_AES_256_GCM_SHA384,
            "AES256-GCM-SHA384",
            AESGCM,
            32,
            "sha384",
            key_exchange="RSA",
            authentication="RSA",
        ),
    )
}

# Our preference order for TLS 1.3 (what OpenSSL 3 also prefers).
DEFAULT_TLS13_SUITES: tuple[CipherSuite, ...] = (
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_GCM_SHA256,
)

TLS13_SUITES: frozenset[int] = frozenset(s for s, i in SUITES.items() if i.tls13)


def suite_info(suite: int) -> CipherSuiteInfo | None:
    """The registry entry for a code point, or None when we do not offer it."""
    return SUITES.get(suite)


def suite_by_name(name: str) -> CipherSuiteInfo | None:
    """Look a suite up by its IANA or OpenSSL name."""
    for info in SUITES.values():
        if name in (info.name, info.openssl_name):
            return info
    return None
