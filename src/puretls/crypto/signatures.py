"""Signature schemes: signing and verifying handshake signatures.

RFC 8446 4.2.3 defines the SignatureScheme code points and their rules:

- RSASSA-PSS uses MGF1 with the scheme's hash and a salt as long as the
  hash output.  ``rsa_pss_rsae_*`` are for keys with the rsaEncryption
  OID, ``rsa_pss_pss_*`` for keys with the RSASSA-PSS OID.
- In TLS 1.3 each ECDSA scheme names its curve; in TLS 1.2 it only names
  the hash (RFC 8422 5.1.3 keeps the curve in supported_groups instead).
- RSASSA-PKCS1-v1_5 is only for certificates and TLS 1.2, never for a
  TLS 1.3 CertificateVerify (RFC 8446 4.4.3).
- EdDSA is "pure" (RFC 8032): no pre-hash.

cryptography loads keys with the RSASSA-PSS OID as plain RSA keys, so the
key object cannot say which OID its certificate carried: callers pass
``rsa_pss_key=True`` for such keys (see :func:`certificate_key_is_rsa_pss`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

from puretls.enums import SignatureScheme, enum_name
from puretls.errors import DecryptError, IllegalParameter, InternalError

PrivateKey: TypeAlias = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
PublicKey: TypeAlias = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

_S = SignatureScheme

# Preference order for our signature_algorithms extension: small, fast
# ECDSA and EdDSA first, then RSA-PSS, and PKCS#1 last (certificates only).
SUPPORTED_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    _S.ecdsa_secp256r1_sha256,
    _S.ecdsa_secp384r1_sha384,
    _S.ecdsa_secp521r1_sha512,
    _S.ed25519,
    _S.ed448,
    _S.rsa_pss_rsae_sha256,
    _S.rsa_pss_rsae_sha384,
    _S.rsa_pss_rsae_sha512,
    _S.rsa_pss_pss_sha256,
    _S.rsa_pss_pss_sha384,
    _S.rsa_pss_pss_sha512,
    _S.rsa_pkcs1_sha256,
    _S.rsa_pkcs1_sha384,
    _S.rsa_pkcs1_sha512,
)

# RFC 8446 4.4.3: no PKCS#1 v1.5 and no SHA-1 in a TLS 1.3 CertificateVerify.
TLS13_CERTIFICATE_VERIFY_SCHEMES: tuple[SignatureScheme, ...] = tuple(
    s for s in SUPPORTED_SIGNATURE_SCHEMES if not s.name.startswith("rsa_pkcs1")
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _SchemeInfo:
    kind: str  # "rsa_pss_rsae", "rsa_pss_pss", "rsa_pkcs1", "ecdsa", "ed25519", "ed448"
    hash: hashes.HashAlgorithm | None  # None for EdDSA
    curve: type[ec.EllipticCurve] | None = None  # ECDSA in TLS 1.3 only
    # What key.sign / key.verify take besides the data (ECDSA(hash), the PSS
    # or PKCS#1 v1.5 padding; None for EdDSA), made once per scheme: these
    # objects are immutable, and cryptography's ECDSA() imports its backend
    # on every construction.
    algorithm: ec.ECDSA | padding.AsymmetricPadding | None = None


def _pss(hash_algorithm: hashes.HashAlgorithm) -> padding.PSS:
    # RFC 8446 4.2.3: MGF1 with the same hash, salt length = hash length.
    return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)


def _scheme(
    kind: str,
    hash_algorithm: hashes.HashAlgorithm | None,
    curve: type[ec.EllipticCurve] | None = None,
) -> _SchemeInfo:
    algorithm: ec.ECDSA | padding.AsymmetricPadding | None = None
    if kind == "ecdsa" and hash_algorithm is not None:
        algorithm = ec.ECDSA(hash_algorithm)
    elif kind == "rsa_pkcs1":
        algorithm = padding.PKCS1v15()
    elif hash_algorithm is not None:  # RSASSA-PSS, either key OID
        algorithm = _pss(hash_algorithm)
    return _SchemeInfo(kind=kind, hash=hash_algorithm, curve=curve, algorithm=algorithm)


_SCHEMES: dict[int, _SchemeInfo] = {
    _S.ecdsa_secp256r1_sha256: _scheme("ecdsa", hashes.SHA256(), ec.SECP256R1),
    _S.ecdsa_secp384r1_sha384: _scheme("ecdsa", hashes.SHA384(), ec.SECP384R1),
    _S.ecdsa_secp521r1_sha512: _scheme("ecdsa", hashes.SHA512(), ec.SECP521R1),
    _S.ed25519: _scheme("ed25519", None),
    _S.ed448: _scheme("ed448", None),
    _S.rsa_pss_rsae_sha256: _scheme("rsa_pss_rsae", hashes.SHA256()),
    _S.rsa_pss_rsae_sha384: _scheme("rsa_pss_rsae", hashes.SHA384()),
    _S.rsa_pss_rsae_sha512: _scheme("rsa_pss_rsae", hashes.SHA512()),
    _S.rsa_pss_pss_sha256: _scheme("rsa_pss_pss", hashes.SHA256()),
    _S.rsa_pss_pss_sha384: _scheme("rsa_pss_pss", hashes.SHA384()),
    _S.rsa_pss_pss_sha512: _scheme("rsa_pss_pss", hashes.SHA512()),
    _S.rsa_pkcs1_sha256: _scheme("rsa_pkcs1", hashes.SHA256()),
    _S.rsa_pkcs1_sha384: _scheme("rsa_pkcs1", hashes.SHA384()),
    _S.rsa_pkcs1_sha512: _scheme("rsa_pkcs1", hashes.SHA512()),
}

# The kind of a key object ("rsa", "ecdsa", "ed25519", "ed448" or "other"),
# by its concrete class.  cryptography's key classes are ABCs, and each
# isinstance against one costs a Python-level __instancecheck__; the answer
# depends only on the class, so it is worked out once per class.  Bounded
# by the key classes a program has.
_KEY_KINDS: dict[type, str] = {}


def _classify(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return "ed448"
    return "other"


def _key_kind(key: object) -> str:
    kind = _KEY_KINDS.get(type(key))
    if kind is None:
        kind = _KEY_KINDS[type(key)] = _classify(key)
    return kind


_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _name(scheme: int) -> str:
    return enum_name(SignatureScheme, scheme)


def certificate_key_is_rsa_pss(certificate: x509.Certificate) -> bool:
    """Whether the certificate's key carries the RSASSA-PSS OID (rsa_pss_pss_*)."""
    return certificate.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS


def _rsa_pss_fits(key_size: int, hash_size: int) -> bool:
    # RFC 8017 9.1.1: emLen >= hLen + sLen + 2 with sLen = hLen (RFC 8446 4.2.3),
    # where emLen = ceil((modBits - 1) / 8).
    return (key_size - 1 + 7) // 8 >= 2 * hash_size + 2


def _fits(
    info: _SchemeInfo, key: PrivateKey | PublicKey, *, rsa_pss_key: bool, tls13: bool
) -> bool:
    kind = _key_kind(key)
    if info.kind in ("ed25519", "ed448"):
        return kind == info.kind
    if info.kind == "ecdsa":
        if kind != "ecdsa":
            return False
        # RFC 8446 4.2.3: in TLS 1.3 the scheme fixes the curve.  (The kind,
        # not an isinstance, tells that this is an EC key: mypy cannot see it.)
        return not tls13 or isinstance(key.curve, info.curve or ec.EllipticCurve)  # type: ignore[union-attr]
    if kind != "rsa":
        return False
    assert info.hash is not None
    if info.kind == "rsa_pkcs1":
        # A PSS-only key must not make PKCS#1 v1.5 signatures (RFC 4055 3.1).
        return not tls13 and not rsa_pss_key
    # RFC 8446 4.2.3: rsae schemes for rsaEncryption keys, pss for RSASSA-PSS keys.
    if (info.kind == "rsa_pss_pss") != rsa_pss_key:
        return False
    return _rsa_pss_fits(key.key_size, info.hash.digest_size)  # type: ignore[union-attr]


def key_fits_scheme(
    scheme: int, key: PrivateKey | PublicKey, *, rsa_pss_key: bool = False, tls13: bool = True
) -> bool:
    """Whether ``key`` can make (or check) ``scheme`` signatures.

    ``tls13=False`` relaxes the TLS 1.3-only rules: ECDSA on any curve and
    RSASSA-PKCS1-v1_5 allowed (TLS 1.2, RFC 5246 7.4.1.4.1).
    """
    info = _SCHEMES.get(scheme)
    return info is not None and _fits(info, key, rsa_pss_key=rsa_pss_key, tls13=tls13)


def schemes_for_key(
    key: PrivateKey | PublicKey, *, rsa_pss_key: bool = False
) -> tuple[SignatureScheme, ...]:
    """The TLS 1.3 CertificateVerify schemes ``key`` can make, best first."""
    return tuple(
        s
        for s in TLS13_CERTIFICATE_VERIFY_SCHEMES
        if _fits(_SCHEMES[s], key, rsa_pss_key=rsa_pss_key, tls13=True)
    )


def _info_for(
    scheme: int, key: PrivateKey | PublicKey, *, rsa_pss_key: bool, tls13: bool
) -> _SchemeInfo:
    info = _SCHEMES.get(scheme)
    if info is None:
        raise IllegalParameter(f"signature scheme {_name(scheme)} is not supported")
    if not _fits(info, key, rsa_pss_key=rsa_pss_key, tls13=tls13):
        raise IllegalParameter(
            f"signature scheme {_name(scheme)} does not fit a {describe_key(key)} key"
        )
    return info


def sign(
    scheme: int,
    key: PrivateKey,
    data: bytes,
    *,
    rsa_pss_key: bool = False,
    tls13: bool = True,
) -> bytes:
    """Sign ``data`` with ``scheme`` (RSA-PSS and ECDSA are randomized)."""
    try:
        info = _info_for(scheme, key, rsa_pss_key=rsa_pss_key, tls13=tls13)
    except IllegalParameter as exc:
        # Choosing a scheme our own key cannot make is a local bug.
        raise InternalError(exc.message) from None
    # _info_for checked that the key is of the scheme's kind, which picks the
    # call (mypy cannot narrow the key's type from it, hence the ignores).
    kind = info.kind
    if kind in ("ed25519", "ed448"):
        return key.sign(data)  # type: ignore[call-arg]
    if kind == "ecdsa":
        return key.sign(data, info.algorithm)  # type: ignore[call-arg, arg-type]
    return key.sign(data, info.algorithm, info.hash)  # type: ignore[call-arg, arg-type]


def verify(
    scheme: int,
    key: PublicKey,
    data: bytes,
    signature: bytes,
    *,
    rsa_pss_key: bool = False,
    tls13: bool = True,
    what: str = "CertificateVerify",
) -> None:
    """Check a peer's signature.

    Raises IllegalParameter when ``scheme`` does not fit ``key`` (RFC 8446
    4.2.3, 4.4.3) and DecryptError when the signature is wrong (RFC 8446
    4.4.3: "MUST terminate the handshake with a decrypt_error alert").
    """
    info = _info_for(scheme, key, rsa_pss_key=rsa_pss_key, tls13=tls13)
    kind = info.kind  # _info_for checked that the key is of this kind
    try:
        if kind in ("ed25519", "ed448"):
            key.verify(signature, data)  # type: ignore[call-arg]
        elif kind == "ecdsa":
            key.verify(signature, data, info.algorithm)  # type: ignore[call-arg, arg-type]
        else:
            key.verify(signature, data, info.algorithm, info.hash)  # type: ignore[call-arg, arg-type]
    except (InvalidSignature, ValueError):
        raise DecryptError(f"{what} signature does not verify ({_name(scheme)})") from None


def tls13_signed_content(is_server: bool, transcript_hash: bytes) -> bytes:
    """The bytes a TLS 1.3 CertificateVerify signs (RFC 8446 4.4.3).

    64 spaces, the context string, a zero byte, then Transcript-Hash.
    """
    side = b"server" if is_server else b"client"
    return b" " * 64 + b"TLS 1.3, " + side + b" CertificateVerify" + b"\x00" + transcript_hash


def describe_key(key: PrivateKey | PublicKey) -> str:
    """A short user-facing name: "RSA 2048", "ECDSA P-256", "Ed25519"."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"ECDSA {_CURVE_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return "Ed448"
    return type(key).__name__
