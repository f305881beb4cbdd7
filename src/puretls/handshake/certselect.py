"""Choosing which of our certificate chains to send (RFC 8446 4.4.2.2).

A chain qualifies when its key can sign with a scheme the peer offers in
signature_algorithms (4.2.3); among those the ranking prefers a leaf that
covers the client's server_name, then a chain whose certificate signatures
the peer accepts (signature_algorithms_cert, or signature_algorithms when
absent), then one issued under an authority the peer listed
(certificate_authorities, 4.2.4); the configured order breaks ties.

Split from auth13 (which builds and checks the Certificate messages) because
the choice is its own job with its own caches: the ranking inputs are kept
per certificate, and a server's answer per ClientHello shape is kept on its
TLSConfig.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import SignatureAlgorithmOID

from puretls.config import CertifiedKey, TLSConfig
from puretls.crypto.signatures import TLS13_CERTIFICATE_VERIFY_SCHEMES, key_fits_scheme
from puretls.enums import AlertDescription, SignatureScheme
from puretls.errors import HandshakeFailure, MissingExtension, TLSError
from puretls.handshake.base import hello_extension
from puretls.messages import (
    CertificateAuthorities,
    ClientHello,
    ServerName,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
)
from puretls.verify import match_hostname


@lru_cache(maxsize=256)
def _parse(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


_HASH_SCHEMES = {
    "sha256": (SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.ecdsa_secp256r1_sha256),
    "sha384": (SignatureScheme.rsa_pkcs1_sha384, SignatureScheme.ecdsa_secp384r1_sha384),
    "sha512": (SignatureScheme.rsa_pkcs1_sha512, SignatureScheme.ecdsa_secp521r1_sha512),
}
_PSS_SCHEMES = {
    "sha256": (SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pss_pss_sha256),
    "sha384": (SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_pss_sha384),
    "sha512": (SignatureScheme.rsa_pss_rsae_sha512, SignatureScheme.rsa_pss_pss_sha512),
}


def certificate_signature_schemes(cert: x509.Certificate) -> tuple[int, ...]:
    """The SignatureSchemes that name how ``cert`` was signed (RFC 8446 4.2.3).

    For certificates an ECDSA scheme stands for its hash, whatever the curve.
    """
    oid = cert.signature_algorithm_oid
    if oid == SignatureAlgorithmOID.ED25519:
        return (SignatureScheme.ed25519,)
    if oid == SignatureAlgorithmOID.ED448:
        return (SignatureScheme.ed448,)
    algorithm = cert.signature_hash_algorithm
    name = algorithm.name if isinstance(algorithm, hashes.HashAlgorithm) else ""
    if oid == SignatureAlgorithmOID.RSASSA_PSS:
        return _PSS_SCHEMES.get(name, ())
    pair = _HASH_SCHEMES.get(name)
    if pair is None:
        return ()
    rsa_scheme, ecdsa_scheme = pair
    return (ecdsa_scheme,) if "ecdsa" in (oid._name or "").lower() else (rsa_scheme,)


# A server ranks its chains on every ClientHello; the answers depend only on
# the chain and what the client sent, and clients send the same few lists
# and names, so they are remembered.  Bounded: the inputs come from peers,
# and an unusually long list is checked afresh rather than kept.
_RANK_CACHE_SIZE = 1024
_CACHEABLE_SCHEMES = 64
_CACHEABLE_NAME = 255  # RFC 1035 2.3.4: no DNS name is longer
# Per-config memos (TLSConfig.certificate_choices): entries and the longest
# scheme list kept; real clients offer a dozen or two schemes.
_MEMO_SIZE = 64
_MEMO_SCHEMES = 64
_K = TypeVar("_K")
_V = TypeVar("_V")


def _chain_signed_acceptably(chain: Sequence[bytes], accepted: Sequence[int]) -> bool:
    """Every signature in the chain we send uses a scheme the peer accepts.

    A self-signed last certificate (a root sent along) is the peer's anchor
    or nothing; its own signature does not matter (RFC 8446 4.2.3).
    """
    if isinstance(chain, tuple) and len(accepted) <= _CACHEABLE_SCHEMES:
        return _chain_signed_acceptably_cached(chain, tuple(accepted))
    return _check_chain_signatures(chain, accepted)


@lru_cache(maxsize=_RANK_CACHE_SIZE)
def _chain_signed_acceptably_cached(chain: tuple[bytes, ...], accepted: tuple[int, ...]) -> bool:
    return _check_chain_signatures(chain, accepted)


def _check_chain_signatures(chain: Sequence[bytes], accepted: Sequence[int]) -> bool:
    for der in chain:
        cert = _parse(der)
        if cert.subject == cert.issuer and der is chain[-1] and len(chain) > 1:
            continue
        if not set(certificate_signature_schemes(cert)) & set(accepted):
            return False
    return True


def _issued_under(chain: Sequence[bytes], authorities: Sequence[bytes]) -> bool:
    """RFC 8446 4.2.4: some certificate of the chain names a listed authority."""
    wanted = set(authorities)
    for der in chain:
        cert = _parse(der)
        names = {
            cert.issuer.public_bytes(serialization.Encoding.DER),
            cert.subject.public_bytes(serialization.Encoding.DER),
        }
        if names & wanted:
            return True
    return False


def leaf_covers_name(certified: CertifiedKey, name: str) -> bool:
    if len(name) > _CACHEABLE_NAME:  # a peer's name: keep only DNS-sized ones
        return match_hostname(_parse(certified.chain[0]), name)
    return _leaf_covers_name(certified.chain[0], name)


@lru_cache(maxsize=_RANK_CACHE_SIZE)
def _leaf_covers_name(leaf: bytes, name: str) -> bool:
    # A pure function of the certificate's SAN and the name (verify.match_hostname).
    return match_hostname(_parse(leaf), name)


def select_certificate(
    certificates: Sequence[CertifiedKey],
    schemes: Sequence[int],
    *,
    cert_schemes: Sequence[int] | None = None,
    server_name: str | None = None,
    authorities: Sequence[bytes] = (),
) -> tuple[CertifiedKey, int] | None:
    """The best of our chains for this peer, and the scheme to sign with.

    A chain qualifies when its key can sign with one of ``schemes`` (peer
    order decides the scheme; never PKCS#1 v1.5 in TLS 1.3).  Among those,
    prefer one whose leaf covers ``server_name``, then one whose
    certificate signatures the peer accepts (signature_algorithms_cert, or
    signature_algorithms when absent), then one under a listed authority;
    the configured order breaks ties.
    """
    accepted = schemes if cert_schemes is None else cert_schemes
    best: tuple[tuple[bool, bool, bool], CertifiedKey, int] | None = None
    for certified in certificates:
        scheme = next(
            (
                s
                for s in schemes
                if s in TLS13_CERTIFICATE_VERIFY_SCHEMES
                and key_fits_scheme(s, certified.private_key)
            ),
            None,
        )
        if scheme is None:
            continue
        rank = (
            server_name is not None and leaf_covers_name(certified, server_name),
            _chain_signed_acceptably(certified.chain, accepted),
            bool(authorities) and _issued_under(certified.chain, authorities),
        )
        if best is None or rank > best[0]:
            best = (rank, certified, scheme)
    return (best[1], best[2]) if best is not None else None


def select_server_certificate(config: TLSConfig, hello: ClientHello) -> tuple[CertifiedKey, int]:
    """The server's chain for this ClientHello (RFC 8446 4.4.2.2), or the reason none fits."""
    sig_ext = hello_extension(hello, SignatureAlgorithms)
    if sig_ext is None:
        raise MissingExtension("ClientHello has no signature_algorithms extension")
    if not config.certificates:
        raise TLSError(
            "server has no certificate configured", alert=AlertDescription.internal_error
        )
    cert_ext = hello_extension(hello, SignatureAlgorithmsCert)
    cert_schemes = cert_ext.schemes if cert_ext else None
    sni = hello_extension(hello, ServerName)
    name = sni.host_name if sni is not None else None
    authorities = hello_extension(hello, CertificateAuthorities)
    # The answer is a pure function of these and of config.certificates, so
    # the config keeps it for the next client offering the same (see
    # TLSConfig.certificate_choices).
    memo_key = None
    if authorities is None and type(config.certificates) is tuple:  # a list could change
        memo_key = _choice_key(name, sig_ext.schemes, cert_schemes)
    if memo_key is not None:
        remembered = config.certificate_choices.get(memo_key)
        if remembered is not None:
            return remembered
    chosen = select_certificate(
        config.certificates,
        sig_ext.schemes,
        cert_schemes=cert_schemes,
        server_name=name,
        authorities=authorities.authorities if authorities else (),
    )
    if chosen is None:
        raise HandshakeFailure("no certificate fits the client's signature_algorithms")
    if config.strict_server_name and name is not None and not leaf_covers_name(chosen[0], name):
        # RFC 6066 3: the server does not recognise the name it was asked for.
        raise TLSError(
            f"no certificate for server name {name!r}",
            alert=AlertDescription.unrecognized_name,
        )
    if memo_key is not None:
        remember(config.certificate_choices, memo_key, chosen)
    return chosen


def _small_tuple(schemes: Sequence[int]) -> bool:
    # Hashable (a hook could build a list) and of a size a real client sends.
    return type(schemes) is tuple and len(schemes) <= _MEMO_SCHEMES


def _choice_key(
    name: str | None, schemes: Sequence[int], cert_schemes: Sequence[int] | None
) -> tuple[object, ...] | None:
    """The memo key for a certificate choice; None when it is not worth keeping."""
    if not _small_tuple(schemes) or (cert_schemes is not None and not _small_tuple(cert_schemes)):
        return None
    if name is not None and len(name) > _CACHEABLE_NAME:
        return None
    return (name, schemes, cert_schemes)


def remember(memo: dict[_K, _V], key: _K, value: _V) -> None:
    """Keep ``value``; a full memo starts over (peers choose the keys)."""
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value
