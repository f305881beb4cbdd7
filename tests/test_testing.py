"""Tests for puretls.testing: the in-memory certificate authority."""

from __future__ import annotations

import ipaddress
import shutil
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from puretls.testing import (
    KEY_TYPES,
    CertificateAuthority,
    generate_private_key,
    host_to_general_name,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority(now=NOW)


def ext(
    cert: x509.Certificate, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_every_key_type_makes_a_self_signed_ca(key_type: str) -> None:
    authority = CertificateAuthority(key_type=key_type, now=NOW)
    cert = authority.certificate
    cert.verify_directly_issued_by(cert)
    assert cert.public_key() == authority.private_key.public_key()


def test_key_types_produce_the_named_algorithms() -> None:
    assert isinstance(generate_private_key("ecdsa-p384"), ec.EllipticCurvePrivateKey)
    assert generate_private_key("ecdsa-p521").curve.name == "secp521r1"
    assert generate_private_key("rsa3072").key_size == 3072
    assert isinstance(generate_private_key("ed25519"), ed25519.Ed25519PrivateKey)
    assert isinstance(generate_private_key("ed448"), ed448.Ed448PrivateKey)


def test_unknown_key_type_is_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match="ecdsa-p256"):
        generate_private_key("dsa1024")


def test_signature_hash_is_sha256_for_rsa_and_ecdsa_and_none_for_eddsa() -> None:
    rsa_ca = CertificateAuthority(key_type="rsa2048", now=NOW)
    assert isinstance(rsa_ca.certificate.signature_hash_algorithm, hashes.SHA256)
    ec_ca = CertificateAuthority(key_type="ecdsa-p384", now=NOW)
    assert isinstance(ec_ca.certificate.signature_hash_algorithm, hashes.SHA256)
    ed_ca = CertificateAuthority(key_type="ed25519", now=NOW)
    assert ed_ca.certificate.signature_hash_algorithm is None


def test_ca_certificate_has_ca_extensions_and_default_validity(ca: CertificateAuthority) -> None:
    cert = ca.certificate
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign
    ext(cert, x509.SubjectKeyIdentifier)
    assert cert.not_valid_before_utc == NOW - timedelta(hours=1)
    assert cert.not_valid_after_utc == NOW + timedelta(days=3650)
    assert ca.chain == ()


def test_ca_path_length_and_common_name_are_honoured() -> None:
    authority = CertificateAuthority(common_name="Root X", path_length=1, now=NOW)
    assert ext(authority.certificate, x509.BasicConstraints).value.path_length == 1
    assert "CN=Root X" in authority.certificate.subject.rfc4514_string()


def test_ca_pem_and_der_round_trip(ca: CertificateAuthority) -> None:
    assert x509.load_pem_x509_certificate(ca.cert_pem()) == ca.certificate
    assert x509.load_der_x509_certificate(ca.cert_der()) == ca.certificate


def test_issue_puts_dns_names_and_ip_addresses_in_the_san(ca: CertificateAuthority) -> None:
    leaf = ca.issue(["example.com", "*.example.org", "127.0.0.1", "::1"], now=NOW)
    san = ext(leaf.certificate, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.com", "*.example.org"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert not ext(leaf.certificate, x509.SubjectAlternativeName).critical


def test_host_to_general_name_distinguishes_ips_from_names() -> None:
    assert isinstance(host_to_general_name("10.0.0.1"), x509.IPAddress)
    assert isinstance(host_to_general_name("fe80::1"), x509.IPAddress)
    assert isinstance(host_to_general_name("localhost"), x509.DNSName)


def test_leaf_defaults(ca: CertificateAuthority) -> None:
    leaf = ca.issue(now=NOW)
    cert = leaf.certificate
    assert cert.issuer == ca.certificate.subject
    cert.verify_directly_issued_by(ca.certificate)
    assert not ext(cert, x509.BasicConstraints).value.ca
    usage = ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = ext(cert, x509.AuthorityKeyIdentifier).value
    ski = ext(ca.certificate, x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert cert.not_valid_before_utc == NOW - timedelta(hours=1)
    assert cert.not_valid_after_utc == NOW + timedelta(days=30)
    assert "CN=localhost" in cert.subject.rfc4514_string()
    assert leaf.chain == (cert,)


def test_rsa_leaf_also_allows_key_encipherment(ca: CertificateAuthority) -> None:
    leaf = ca.issue(key_type="rsa2048", now=NOW)
    assert isinstance(leaf.private_key, rsa.RSAPrivateKey)
    assert ext(leaf.certificate, x509.KeyUsage).value.key_encipherment


def test_client_and_server_flags_choose_the_eku(ca: CertificateAuthority) -> None:
    both = ca.issue(client=True, now=NOW)
    assert list(ext(both.certificate, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    client_only = ca.issue([], client=True, server=False, now=NOW)
    assert list(ext(client_only.certificate, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    # No hosts: no SAN, and the CN says it is a client.
    with pytest.raises(x509.ExtensionNotFound):
        ext(client_only.certificate, x509.SubjectAlternativeName)


def test_overrides_for_eku_key_usage_basic_constraints_and_validity(
    ca: CertificateAuthority,
) -> None:
    usage = x509.KeyUsage(True, False, False, False, True, False, False, False, False)
    leaf = ca.issue(
        ["x.test"],
        eku=[ExtendedKeyUsageOID.CODE_SIGNING],
        key_usage=usage,
        is_ca=True,
        common_name="custom",
        not_before=NOW,
        not_after=NOW + timedelta(days=2),
    )
    cert = leaf.certificate
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CODE_SIGNING]
    assert ext(cert, x509.KeyUsage).value == usage
    assert ext(cert, x509.BasicConstraints).value.ca
    assert "CN=custom" in cert.subject.rfc4514_string()
    assert cert.not_valid_after_utc == NOW + timedelta(days=2)
    no_eku = ca.issue(eku=[], now=NOW)
    with pytest.raises(x509.ExtensionNotFound):
        ext(no_eku.certificate, x509.ExtendedKeyUsage)


def test_naive_datetimes_are_taken_as_utc(ca: CertificateAuthority) -> None:
    leaf = ca.issue(now=NOW.replace(tzinfo=None))
    assert leaf.certificate.not_valid_after_utc == NOW + timedelta(days=30)


def test_intermediate_chain_excludes_the_root(ca: CertificateAuthority) -> None:
    sub = ca.intermediate(now=NOW, path_length=0)
    subsub_ca = ca.intermediate(now=NOW).intermediate(now=NOW, common_name="second")
    leaf = sub.issue(["a.test"], now=NOW)
    assert leaf.chain == (leaf.certificate, sub.certificate)
    sub.certificate.verify_directly_issued_by(ca.certificate)
    leaf.certificate.verify_directly_issued_by(sub.certificate)
    deep = subsub_ca.issue(now=NOW)
    assert len(deep.chain) == 3
    assert deep.chain[-1].issuer == ca.certificate.subject


def test_from_certificate_issues_with_an_existing_key(ca: CertificateAuthority) -> None:
    holder = ca.issue(["holder.test"], now=NOW)
    fake = CertificateAuthority.from_certificate(holder.certificate, holder.private_key)
    leaf = fake.issue(["x.test"], now=NOW)
    leaf.certificate.verify_directly_issued_by(holder.certificate)
    assert leaf.chain == (leaf.certificate, holder.certificate)


def test_pem_outputs_and_encrypted_key(ca: CertificateAuthority) -> None:
    sub = ca.intermediate(now=NOW)
    leaf = sub.issue(now=NOW)
    assert x509.load_pem_x509_certificates(leaf.cert_chain_pem()) == list(leaf.chain)
    assert x509.load_pem_x509_certificate(leaf.cert_pem()) == leaf.certificate
    assert x509.load_der_x509_certificate(leaf.cert_der()) == leaf.certificate
    assert [x509.load_der_x509_certificate(d) for d in leaf.chain_der()] == list(leaf.chain)
    plain = serialization.load_pem_private_key(leaf.private_key_pem(), None)
    assert plain.public_key() == leaf.private_key.public_key()
    encrypted = leaf.private_key_pem(b"secret")
    assert b"ENCRYPTED" in encrypted
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(encrypted, None)
    loaded = serialization.load_pem_private_key(encrypted, b"secret")
    assert loaded.public_key() == leaf.private_key.public_key()


def test_private_key_is_not_in_the_repr(ca: CertificateAuthority) -> None:
    assert "private_key" not in repr(ca.issue(now=NOW))


def test_write_creates_chain_and_owner_only_key_files(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    leaf = ca.intermediate(now=NOW).issue(now=NOW)
    cert_path, key_path = leaf.write(tmp_path / "out", "server")
    assert cert_path == tmp_path / "out" / "server.pem"
    assert key_path == tmp_path / "out" / "server.key"
    assert cert_path.read_bytes() == leaf.cert_chain_pem()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    serialization.load_pem_private_key(key_path.read_bytes(), None)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_accepts_the_chain(ca: CertificateAuthority, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    root = CertificateAuthority(now=now)
    sub = root.intermediate(now=now)
    leaf = sub.issue(["localhost"], now=now)
    (tmp_path / "root.pem").write_bytes(root.cert_pem())
    (tmp_path / "sub.pem").write_bytes(sub.cert_pem())
    (tmp_path / "leaf.pem").write_bytes(leaf.cert_pem())
    result = subprocess.run(
        [
            "openssl", "verify", "-purpose", "sslserver", "-verify_hostname", "localhost",
            "-CAfile", str(tmp_path / "root.pem"), "-untrusted", str(tmp_path / "sub.pem"),
            str(tmp_path / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
