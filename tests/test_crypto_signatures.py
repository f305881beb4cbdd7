"""Signature schemes: RFC 8448 CertificateVerify signatures, round trips, misuse."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from puretls.crypto.signatures import (
    SUPPORTED_SIGNATURE_SCHEMES,
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    PrivateKey,
    PublicKey,
    certificate_key_is_rsa_pss,
    describe_key,
    key_fits_scheme,
    schemes_for_key,
    sign,
    tls13_signed_content,
    verify,
)
from puretls.enums import AlertDescription, SignatureScheme
from puretls.errors import DecryptError, IllegalParameter, InternalError
from puretls.transcript import Transcript

VECTORS = Path(__file__).parent / "vectors"
S = SignatureScheme

# A self-signed certificate whose key has the RSASSA-PSS OID (RFC 4055),
# made once with `openssl genpkey -algorithm RSA-PSS` for this test.
RSA_PSS_CERT_PEM = b"""-----BEGIN CERTIFICATE-----
MIICcDCCAaWgAwIBAgIUOwKqI1dyh+L5q0JuHcyHuIG1JA0wQQYJKoZIhvcNAQEK
MDSgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3DQEBCDANBglghkgBZQMEAgEF
AKIDAgFeMBcxFTATBgNVBAMMDHJzYS1wc3MudGVzdDAeFw0yNjExMjMwNDMwNTRa
Fw0zNjExMjAwNDMwNTRaMBcxFTATBgNVBAMMDHJzYS1wc3MudGVzdDCBnTALBgkq
hkiG9w0BAQoDgY0AMIGJAoGBAL/JsR3d2zUfqDGL+Yz5ScWTmrokW2dp9INvT+wy
1FtdCSqp/FhPQBGKnpIpZddI42lUatQr5jjTEC1SV9oBTN4Dn0W5a/1erq+nEx//
JxJ9jQRQyeUDs38GXeP/hvwKYVHv8dgEzn8PnVCTP0e0tJpi72GALfyu1XvWHFCb
etgLAgMBAAGjUzBRMB0GA1UdDgQWBBTYai5Z26tGwRAHbnAsTdo4DeCk7TAfBgNV
HSMEGDAWgBTYai5Z26tGwRAHbnAsTdo4DeCk7TAPBgNVHRMBAf8EBTADAQH/MEEG
CSqGSIb3DQEBCjA0oA8wDQYJYIZIAWUDBAIBBQChHDAaBgkqhkiG9w0BAQgwDQYJ
YIZIAWUDBAIBBQCiAwIBXgOBgQAzFvuLW91L5MW/xejztX/xLwT4fvD8hrhSO30W
VYqFppGkOxy/Q/K/QfR9Gn6/faNgxeRdkIhG9FQt0IKEKHPuccHPUesb3iXc4rSX
mrEzy+RiMf7P6QFpGig6PaNxjBa0sAKWaKm1MBDL1Ee+2TlhGuZyiQiYz/6/XAgF
6QrpRg==
-----END CERTIFICATE-----
"""


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def h(value: str) -> bytes:
    return bytes.fromhex(value)


@cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def ec_key(curve_name: str) -> ec.EllipticCurvePrivateKey:
    curves: dict[str, ec.EllipticCurve] = {
        "P-256": ec.SECP256R1(),
        "P-384": ec.SECP384R1(),
        "P-521": ec.SECP521R1(),
    }
    return ec.generate_private_key(curves[curve_name])


def key_for(scheme: SignatureScheme) -> PrivateKey:
    name = scheme.name
    if name.startswith("ecdsa_secp"):
        return ec_key({"256": "P-256", "384": "P-384", "521": "P-521"}[name[10:13]])
    if scheme is S.ed25519:
        return ed25519.Ed25519PrivateKey.generate()
    if scheme is S.ed448:
        return ed448.Ed448PrivateKey.generate()
    return rsa_key()


class Options(TypedDict):
    rsa_pss_key: bool
    tls13: bool


def options_for(scheme: SignatureScheme) -> Options:
    return {
        "rsa_pss_key": scheme.name.startswith("rsa_pss_pss"),
        "tls13": scheme in TLS13_CERTIFICATE_VERIFY_SCHEMES,
    }


def _cert_key(cert_hex: str) -> PublicKey:
    key = x509.load_der_x509_certificate(h(cert_hex)).public_key()
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key


def _hash_before(vector: dict[str, Any], stop: str) -> bytes:
    """Transcript-Hash of the vector's messages up to (not including) ``stop``."""
    transcript = Transcript(vector["hash"])
    for name, message in vector["handshake_messages"].items():
        if name == stop:
            return transcript.digest()
        if name == "hello_retry_request":
            transcript.rewrite_for_hello_retry_request()
        transcript.update(h(message))
    raise AssertionError(stop)


# --- RFC 8448 and Illustrated TLS 1.3 CertificateVerify ---------------------


@pytest.mark.parametrize(
    "name",
    [
        "rfc8448_section3_simple_1rtt.json",
        "rfc8448_section5_hello_retry_request.json",
        "rfc8448_section7_compatibility_mode.json",
    ],
)
def test_rfc8448_server_certificate_verify_verifies(name: str) -> None:
    vector = load(name)
    cv = vector["certificate_verify_fields"]
    # Sections 3, 5 and 7 share the server certificate of section 3.
    section3 = load("rfc8448_section3_simple_1rtt.json")
    cert_data = section3["certificate_fields"]["certificate_list"][0]["cert_data"]
    assert cert_data in vector["handshake_messages"]["certificate"]
    key = _cert_key(cert_data)
    content = tls13_signed_content(True, _hash_before(vector, "certificate_verify"))
    assert int(cv["algorithm"], 16) == S.rsa_pss_rsae_sha256
    verify(S.rsa_pss_rsae_sha256, key, content, h(cv["signature"]))


def test_rfc8448_section3_signature_fails_over_client_context() -> None:
    vector = load("rfc8448_section3_simple_1rtt.json")
    key = _cert_key(vector["certificate_fields"]["certificate_list"][0]["cert_data"])
    content = tls13_signed_content(False, _hash_before(vector, "certificate_verify"))
    with pytest.raises(DecryptError) as info:
        verify(
            S.rsa_pss_rsae_sha256,
            key,
            content,
            h(vector["certificate_verify_fields"]["signature"]),
        )
    assert info.value.alert is AlertDescription.decrypt_error
    assert "CertificateVerify signature does not verify" in info.value.message


def test_rfc8448_section6_ecdsa_server_and_rsa_client_certificate_verify() -> None:
    vector = load("rfc8448_section6_client_authentication.json")
    server_key = _cert_key(vector["server_certificate_fields"]["certificate_list"][0]["cert_data"])
    client_key = _cert_key(vector["client_certificate_fields"]["certificate_list"][0]["cert_data"])
    assert describe_key(server_key) == "ECDSA P-256"
    server_cv = vector["server_certificate_verify_fields"]
    client_cv = vector["client_certificate_verify_fields"]
    verify(
        int(server_cv["algorithm"], 16),
        server_key,
        tls13_signed_content(True, _hash_before(vector, "server_certificate_verify")),
        h(server_cv["signature"]),
    )
    verify(
        int(client_cv["algorithm"], 16),
        client_key,
        tls13_signed_content(False, _hash_before(vector, "client_certificate_verify")),
        h(client_cv["signature"]),
    )


def test_illustrated_certificate_verify_and_key_match() -> None:
    vector = load("illustrated_tls13.json")
    key = _cert_key(vector["server_certificate_der"])
    message = h(vector["handshake_messages"]["certificate_verify"])
    # CertificateVerify: header(4) algorithm(2) signature<0..2^16-1>
    scheme = int.from_bytes(message[4:6], "big")
    signature = message[8:]
    content = tls13_signed_content(True, _hash_before(vector, "certificate_verify"))
    verify(scheme, key, content, signature)
    private = serialization.load_pem_private_key(
        vector["server_private_key_pem"].encode(), password=None
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    assert describe_key(private) == "RSA 2048"
    # Our own signature with the published key verifies under the certificate.
    verify(scheme, key, content, sign(scheme, private, content))


def test_rfc8448_section2_key_signs_for_the_section3_certificate() -> None:
    rsa_vector = load("rfc8448_section2_rsa_key.json")
    private = serialization.load_pem_private_key(
        rsa_vector["computed"]["private_key_pkcs8_pem"].encode(), password=None
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    vector = load("rfc8448_section3_simple_1rtt.json")
    key = _cert_key(vector["certificate_fields"]["certificate_list"][0]["cert_data"])
    content = tls13_signed_content(True, _hash_before(vector, "certificate_verify"))
    verify(S.rsa_pss_rsae_sha256, key, content, sign(S.rsa_pss_rsae_sha256, private, content))
    # A 1024-bit key is too small for PSS with SHA-512 and a 64-byte salt.
    assert schemes_for_key(private) == (S.rsa_pss_rsae_sha256, S.rsa_pss_rsae_sha384)


def test_tls13_signed_content_layout() -> None:
    th = bytes(range(32))
    content = tls13_signed_content(True, th)
    assert content == b"\x20" * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    assert tls13_signed_content(False, th).endswith(b"client CertificateVerify\x00" + th)


# --- Round trips for every scheme -------------------------------------------


@pytest.mark.parametrize("scheme", SUPPORTED_SIGNATURE_SCHEMES, ids=lambda s: s.name)
def test_sign_verify_round_trip(scheme: SignatureScheme) -> None:
    key = key_for(scheme)
    options = options_for(scheme)
    data = b"signed content " + bytes(range(48))
    signature = sign(scheme, key, data, **options)
    verify(scheme, key.public_key(), data, signature, **options)


@pytest.mark.parametrize("scheme", SUPPORTED_SIGNATURE_SCHEMES, ids=lambda s: s.name)
def test_tampered_signature_or_data_is_a_decrypt_error(scheme: SignatureScheme) -> None:
    key = key_for(scheme)
    options = options_for(scheme)
    data = b"some handshake transcript"
    signature = bytearray(sign(scheme, key, data, **options))
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), data + b"!", bytes(signature), **options)
    signature[len(signature) // 2] ^= 0x10
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), data, bytes(signature), **options)
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), data, b"", **options)


@settings(max_examples=30, deadline=None)
@given(
    scheme=st.sampled_from(TLS13_CERTIFICATE_VERIFY_SCHEMES),
    signature=st.binary(max_size=300),
)
def test_garbage_signature_is_only_ever_a_decrypt_error(
    scheme: SignatureScheme, signature: bytes
) -> None:
    key = key_for(scheme)
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), b"data", signature, **options_for(scheme))


def test_rsa_pss_salt_length_equals_hash_length() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = rsa_key()
    signature = sign(S.rsa_pss_rsae_sha384, key, b"data")
    # Verifying with an explicit 48-byte salt succeeds; any other length fails.
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    key.public_key().verify(signature, b"data", pss, hashes.SHA384())
    short = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=32)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"data", short, hashes.SHA384())


# --- Scheme / key mismatches -------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "key"),
    [
        (S.ecdsa_secp384r1_sha384, lambda: ec_key("P-256")),
        (S.ecdsa_secp256r1_sha256, lambda: ec_key("P-521")),
        (S.ecdsa_secp256r1_sha256, lambda: rsa_key()),
        (S.rsa_pss_rsae_sha256, lambda: ec_key("P-256")),
        (S.rsa_pss_pss_sha256, lambda: rsa_key()),
        (S.rsa_pkcs1_sha256, lambda: rsa_key()),
        (S.ed25519, lambda: ed448.Ed448PrivateKey.generate()),
        (S.ed448, lambda: ed25519.Ed25519PrivateKey.generate()),
        (S.rsa_pkcs1_sha1, lambda: rsa_key()),
        (S.ecdsa_sha1, lambda: ec_key("P-256")),
        (0x1A1A, lambda: rsa_key()),
    ],
)
def test_scheme_that_does_not_fit_the_key_is_illegal_parameter(scheme: int, key: Any) -> None:
    private = key()
    assert not key_fits_scheme(scheme, private)
    with pytest.raises(IllegalParameter) as info:
        verify(scheme, private.public_key(), b"data", b"\x00" * 64)
    assert info.value.alert is AlertDescription.illegal_parameter
    # Signing with a scheme our own key cannot make is our bug, not the peer's.
    with pytest.raises(InternalError):
        sign(scheme, private, b"data")


def test_an_object_that_is_no_supported_key_fits_no_scheme() -> None:
    for scheme in SUPPORTED_SIGNATURE_SCHEMES:
        assert not key_fits_scheme(scheme, object(), tls13=False)  # type: ignore[arg-type]


def test_fit_follows_each_key_not_the_first_key_of_its_class() -> None:
    # The kind of key is remembered per class; the curve is read per key.
    assert key_fits_scheme(S.ecdsa_secp256r1_sha256, ec_key("P-256"))
    assert not key_fits_scheme(S.ecdsa_secp256r1_sha256, ec_key("P-384"))
    assert key_fits_scheme(S.ecdsa_secp384r1_sha384, ec_key("P-384"))


def test_rsa_pss_key_uses_only_pss_schemes() -> None:
    key = rsa_key()
    assert key_fits_scheme(S.rsa_pss_pss_sha256, key, rsa_pss_key=True)
    assert not key_fits_scheme(S.rsa_pss_rsae_sha256, key, rsa_pss_key=True)
    assert not key_fits_scheme(S.rsa_pkcs1_sha256, key, rsa_pss_key=True, tls13=False)
    with pytest.raises(IllegalParameter):
        verify(S.rsa_pss_rsae_sha256, key.public_key(), b"d", b"s", rsa_pss_key=True)


def test_tls12_rules_allow_pkcs1_and_any_curve_for_ecdsa() -> None:
    assert key_fits_scheme(S.rsa_pkcs1_sha256, rsa_key(), tls13=False)
    assert not key_fits_scheme(S.rsa_pkcs1_sha256, rsa_key(), tls13=True)
    p521 = ec_key("P-521")
    assert key_fits_scheme(S.ecdsa_secp256r1_sha256, p521, tls13=False)
    signature = sign(S.ecdsa_secp256r1_sha256, p521, b"d", tls13=False)
    verify(S.ecdsa_secp256r1_sha256, p521.public_key(), b"d", signature, tls13=False)
    with pytest.raises(IllegalParameter):
        verify(S.ecdsa_secp256r1_sha256, p521.public_key(), b"d", signature)


def test_certificate_key_is_rsa_pss() -> None:
    pss_cert = x509.load_pem_x509_certificate(RSA_PSS_CERT_PEM)
    assert certificate_key_is_rsa_pss(pss_cert)
    key = pss_cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert schemes_for_key(key, rsa_pss_key=True) == (S.rsa_pss_pss_sha256, S.rsa_pss_pss_sha384)
    vector = load("rfc8448_section3_simple_1rtt.json")
    cert = x509.load_der_x509_certificate(
        h(vector["certificate_fields"]["certificate_list"][0]["cert_data"])
    )
    assert not certificate_key_is_rsa_pss(cert)


# --- Scheme lists and key descriptions ---------------------------------------


def test_schemes_for_key_best_first() -> None:
    assert schemes_for_key(rsa_key()) == (
        S.rsa_pss_rsae_sha256,
        S.rsa_pss_rsae_sha384,
        S.rsa_pss_rsae_sha512,
    )
    assert schemes_for_key(rsa_key().public_key()) == schemes_for_key(rsa_key())
    assert schemes_for_key(ec_key("P-256")) == (S.ecdsa_secp256r1_sha256,)
    assert schemes_for_key(ec_key("P-384")) == (S.ecdsa_secp384r1_sha384,)
    assert schemes_for_key(ec_key("P-521").public_key()) == (S.ecdsa_secp521r1_sha512,)
    assert schemes_for_key(ed25519.Ed25519PrivateKey.generate()) == (S.ed25519,)
    assert schemes_for_key(ed448.Ed448PrivateKey.generate().public_key()) == (S.ed448,)


def test_tls13_certificate_verify_schemes_exclude_pkcs1_and_sha1() -> None:
    assert SUPPORTED_SIGNATURE_SCHEMES[0] is S.ecdsa_secp256r1_sha256
    for scheme in TLS13_CERTIFICATE_VERIFY_SCHEMES:
        assert "pkcs1" not in scheme.name
        assert "sha1" not in scheme.name
    assert S.rsa_pkcs1_sha256 in SUPPORTED_SIGNATURE_SCHEMES
    assert S.rsa_pkcs1_sha1 not in SUPPORTED_SIGNATURE_SCHEMES
    assert len(TLS13_CERTIFICATE_VERIFY_SCHEMES) == len(SUPPORTED_SIGNATURE_SCHEMES) - 3


def test_describe_key() -> None:
    assert describe_key(rsa_key()) == "RSA 2048"
    assert describe_key(rsa_key().public_key()) == "RSA 2048"
    assert describe_key(ec_key("P-384")) == "ECDSA P-384"
    assert describe_key(ec_key("P-521").public_key()) == "ECDSA P-521"
    assert describe_key(ed25519.Ed25519PrivateKey.generate()) == "Ed25519"
    assert describe_key(ed448.Ed448PrivateKey.generate()) == "Ed448"
