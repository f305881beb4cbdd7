"""Tests for puretls.verify: trust stores, chain and identity checks, getpeercert()."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from puretls.enums import AlertDescription
from puretls.errors import CertificateError, TLSError
from puretls.testing import CertificateAuthority, IssuedCert, generate_private_key
from puretls.verify import (
    CertificateVerifier,
    TrustStore,
    VerifiedChain,
    certificate_to_dict,
    check_leaf_key_usage,
    is_ip_address,
    match_hostname,
    subject_alt_names,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
A = AlertDescription


@pytest.fixture(scope="module")
def root() -> CertificateAuthority:
    return CertificateAuthority(now=NOW)


@pytest.fixture(scope="module")
def sub(root: CertificateAuthority) -> CertificateAuthority:
    return root.intermediate(now=NOW)


@pytest.fixture(scope="module")
def store(root: CertificateAuthority) -> TrustStore:
    return TrustStore([root.certificate])


@pytest.fixture(scope="module")
def verifier(store: TrustStore) -> CertificateVerifier:
    return CertificateVerifier(store)


HOSTS = ["example.com", "*.wild.example", "127.0.0.1", "::1"]


@pytest.fixture(scope="module")
def leaf(sub: CertificateAuthority) -> IssuedCert:
    return sub.issue(HOSTS, now=NOW)


def reject(
    verifier: CertificateVerifier, chain: list[bytes], name: str | None, when: datetime = NOW
) -> CertificateError:
    with pytest.raises(CertificateError) as info:
        verifier.verify(chain, name, when)
    return info.value


def assert_error(err: CertificateError, alert: AlertDescription, code: int, *words: str) -> None:
    assert err.alert == alert, err.message
    assert err.verify_code == code, err.message
    for word in words:
        assert word in err.message


# ---- valid chains -------------------------------------------------------


def test_leaf_signed_by_root_verifies(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    leaf = root.issue(["example.com"], now=NOW)
    result = verifier.verify(leaf.chain_der(), "example.com", NOW)
    assert isinstance(result, VerifiedChain)
    assert result.certificates == (leaf.certificate, root.certificate)
    assert result.leaf == leaf.certificate


def test_chain_through_intermediate_runs_leaf_to_anchor(
    leaf: IssuedCert,
    sub: CertificateAuthority,
    root: CertificateAuthority,
    verifier: CertificateVerifier,
) -> None:
    result = verifier.verify(leaf.chain_der(), "example.com", NOW)
    assert result.certificates == (leaf.certificate, sub.certificate, root.certificate)


def test_peer_may_send_the_root_and_unrelated_extras(
    leaf: IssuedCert, root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    stray = CertificateAuthority(now=NOW, common_name="stray").cert_der()
    chain = [*leaf.chain_der(), stray, root.cert_der()]
    assert len(verifier.verify(chain, "example.com", NOW).certificates) == 3


def test_naive_now_is_taken_as_utc(leaf: IssuedCert, verifier: CertificateVerifier) -> None:
    verifier.verify(leaf.chain_der(), "example.com", NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "name",
    ["example.com", "EXAMPLE.com", "example.com.", "a.wild.example", "A.WILD.EXAMPLE.",
     "127.0.0.1", "::1", "0:0:0:0:0:0:0:1"],
)  # fmt: skip
def test_matching_names_are_accepted(
    leaf: IssuedCert, verifier: CertificateVerifier, name: str
) -> None:
    verifier.verify(leaf.chain_der(), name, NOW)


@pytest.mark.parametrize(
    "key_type", ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa2048", "rsa3072"]
)
def test_rsa_and_ecdsa_cas_and_leaves_verify(key_type: str) -> None:
    authority = CertificateAuthority(key_type=key_type, now=NOW)
    leaf = authority.issue(["example.com"], key_type=key_type, now=NOW)
    verifier = CertificateVerifier(TrustStore([authority.certificate]))
    verifier.verify(leaf.chain_der(), "example.com", NOW)


@pytest.mark.parametrize("key_type", ["ed25519", "ed448"])
def test_eddsa_leaves_under_an_ecdsa_ca_verify(
    root: CertificateAuthority, verifier: CertificateVerifier, key_type: str
) -> None:
    leaf = root.issue(["example.com"], key_type=key_type, now=NOW)
    verifier.verify(leaf.chain_der(), "example.com", NOW)


def test_eddsa_ca_is_refused_as_outside_the_web_pki_profile() -> None:
    authority = CertificateAuthority(key_type="ed25519", now=NOW)
    verifier = CertificateVerifier(TrustStore([authority.certificate]))
    err = reject(verifier, authority.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.unsupported_certificate, 1, "Web PKI", "Forbidden")


# ---- validity period ----------------------------------------------------


def test_expired_leaf(leaf: IssuedCert, verifier: CertificateVerifier) -> None:
    err = reject(verifier, leaf.chain_der(), "example.com", NOW + timedelta(days=31))
    assert_error(err, A.certificate_expired, 10, "certificate has expired")
    assert err.message == "certificate has expired (notAfter 2026-03-31 12:00:00 UTC)"


def test_not_yet_valid_leaf(leaf: IssuedCert, verifier: CertificateVerifier) -> None:
    err = reject(verifier, leaf.chain_der(), "example.com", NOW - timedelta(hours=2))
    assert err.message == "certificate is not yet valid (notBefore 2026-03-01 11:00:00 UTC)"
    assert_error(err, A.certificate_expired, 9)


def test_expired_intermediate_is_named(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    old = root.intermediate(
        common_name="Old CA", not_before=NOW - timedelta(days=10), not_after=NOW - timedelta(days=1)
    )
    leaf = old.issue(
        ["example.com"], not_before=NOW - timedelta(days=5), not_after=NOW + timedelta(days=5)
    )
    err = reject(verifier, leaf.chain_der(), "example.com")
    assert_error(
        err, A.certificate_expired, 10, "CN=Old CA", "has expired", "2026-02-28 12:00:00 UTC"
    )


def test_a_verifier_reused_within_a_second_does_not_outlive_it(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    # The intermediate expires at NOW + 1 s while the leaf stays valid: the
    # verdict must follow the time of each call, second by second.
    edge = root.intermediate(
        common_name="Edge CA",
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(seconds=1),
    )
    leaf = edge.issue(["example.com"], not_before=NOW - timedelta(days=1))
    chain = leaf.chain_der()
    verifier.verify(chain, "example.com", NOW)
    verifier.verify(chain, "example.com", NOW + timedelta(microseconds=999_999))
    verifier.verify(chain, None, NOW + timedelta(seconds=1))  # notAfter is inclusive
    err = reject(verifier, chain, "example.com", NOW + timedelta(seconds=2))
    assert_error(err, A.certificate_expired, 10, "CN=Edge CA", "has expired")


def test_anchors_added_to_a_trust_store_count_at_the_next_verification(
    leaf: IssuedCert, root: CertificateAuthority
) -> None:
    store = TrustStore([CertificateAuthority(now=NOW).certificate])
    checker = CertificateVerifier(store)
    reject(checker, leaf.chain_der(), "example.com")
    store.add_certificate(root.certificate)
    assert checker.verify(leaf.chain_der(), "example.com", NOW).certificates[-1] == root.certificate


def test_client_and_anonymous_server_verifiers_are_not_confused(
    sub: CertificateAuthority, store: TrustStore
) -> None:
    # Same store and second: a serverAuth-only leaf passes the nameless server
    # check and fails the client check (EKU clientAuth), in either order.
    server_only = sub.issue(["example.com"], now=NOW)
    for _ in range(2):
        CertificateVerifier(store, check_hostname=False).verify(server_only.chain_der(), None, NOW)
        err = reject(CertificateVerifier(store, purpose="client"), server_only.chain_der(), None)
        assert err.verify_code == 26


# ---- identity -----------------------------------------------------------


def test_wrong_host_lists_the_certificate_names(
    leaf: IssuedCert, verifier: CertificateVerifier
) -> None:
    err = reject(verifier, leaf.chain_der(), "other.example")
    assert_error(err, A.certificate_unknown, 62)
    assert err.message == (
        "hostname 'other.example' does not match the certificate "
        "(names: example.com, *.wild.example, 127.0.0.1, ::1)"
    )


@pytest.mark.parametrize("name", ["127.0.0.2", "::2"])
def test_wrong_ip_is_an_ip_mismatch(
    leaf: IssuedCert, verifier: CertificateVerifier, name: str
) -> None:
    err = reject(verifier, leaf.chain_der(), name)
    assert_error(err, A.certificate_unknown, 64, f"IP address '{name}'", "127.0.0.1")


@pytest.mark.parametrize("name", ["a.b.wild.example", "wild.example", "awild.example"])
def test_wildcard_covers_exactly_one_left_most_label(
    leaf: IssuedCert, verifier: CertificateVerifier, name: str
) -> None:
    assert_error(reject(verifier, leaf.chain_der(), name), A.certificate_unknown, 62, name)


def test_ip_address_is_never_matched_against_the_common_name(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    leaf = root.issue(["dns.example"], common_name="10.1.2.3", now=NOW)
    assert_error(reject(verifier, leaf.chain_der(), "10.1.2.3"), A.certificate_unknown, 64)


def test_certificate_without_san_fails_a_name_check(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    leaf = root.issue([], common_name="example.com", now=NOW)
    err = reject(verifier, leaf.chain_der(), "example.com")
    assert_error(err, A.certificate_unknown, 62, "no subjectAltName")


def test_names_cryptography_cannot_express_use_our_matcher(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    leaf = root.issue(["under_score.example"], now=NOW)
    verifier.verify(leaf.chain_der(), "under_score.example", NOW)
    err = reject(verifier, leaf.chain_der(), "other_name.example")
    assert_error(err, A.certificate_unknown, 62, "under_score.example")


def test_check_hostname_off_still_validates_the_chain(
    leaf: IssuedCert, store: TrustStore, root: CertificateAuthority
) -> None:
    verifier = CertificateVerifier(store, check_hostname=False)
    assert len(verifier.verify(leaf.chain_der(), "other.example", NOW).certificates) == 3
    stranger = CertificateAuthority(now=NOW, common_name="Stranger").issue(now=NOW)
    assert_error(reject(verifier, stranger.chain_der(), None), A.unknown_ca, 20)


def test_no_name_accepts_a_server_certificate_without_san(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    leaf = root.issue([], common_name="cn-only", now=NOW)
    verifier.verify(leaf.chain_der(), None, NOW)


# ---- issuers ------------------------------------------------------------


def test_unknown_ca(verifier: CertificateVerifier) -> None:
    foreign = CertificateAuthority(common_name="Foreign CA", now=NOW)
    err = reject(verifier, foreign.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.unknown_ca, 20)
    assert (
        err.message
        == "unable to get local issuer certificate for CN=example.com, issuer CN=Foreign CA"
    )


def test_unknown_ca_with_the_same_name_as_a_trusted_one(verifier: CertificateVerifier) -> None:
    twin = CertificateAuthority(now=NOW)  # same subject as the trusted root, other key
    err = reject(verifier, twin.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.unknown_ca, 20, "issuer CN=puretls test CA")


def test_missing_intermediate(leaf: IssuedCert, verifier: CertificateVerifier) -> None:
    err = reject(verifier, leaf.chain_der()[:1], "example.com")
    assert_error(err, A.unknown_ca, 20, "issuer CN=puretls test intermediate CA")


def test_self_signed_leaf(verifier: CertificateVerifier) -> None:
    lone = CertificateAuthority(common_name="Lone", now=NOW)
    err = reject(verifier, [lone.cert_der()], "example.com")
    assert_error(err, A.unknown_ca, 18, "self-signed certificate", "CN=Lone")


def test_self_signed_root_in_the_chain(verifier: CertificateVerifier) -> None:
    foreign = CertificateAuthority(common_name="Foreign Root", now=NOW)
    leaf = foreign.issue(["example.com"], now=NOW)
    err = reject(verifier, [*leaf.chain_der(), foreign.cert_der()], "example.com")
    assert_error(
        err, A.unknown_ca, 19, "self-signed certificate in certificate chain", "Foreign Root"
    )


def test_bad_signature(root: CertificateAuthority, verifier: CertificateVerifier) -> None:
    # Same issuer name and key identifier as the trusted root, wrong key.
    forger = CertificateAuthority.from_certificate(root.certificate, generate_private_key())
    err = reject(verifier, forger.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.bad_certificate, 7, "signature failure", "CN=example.com")


def test_issuer_that_is_not_a_ca(root: CertificateAuthority, verifier: CertificateVerifier) -> None:
    holder = root.issue(["holder.example"], now=NOW)
    fake = CertificateAuthority.from_certificate(holder.certificate, holder.private_key)
    leaf = fake.issue(["example.com"], now=NOW)
    err = reject(verifier, [*leaf.chain_der(), holder.cert_der()], "example.com")
    assert_error(err, A.bad_certificate, 24, "CN=holder.example", "not a CA")


def test_path_length_exceeded(root: CertificateAuthority, verifier: CertificateVerifier) -> None:
    capped = root.intermediate(common_name="Capped", path_length=0, now=NOW)
    below = capped.intermediate(common_name="Below", now=NOW)
    err = reject(verifier, below.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.bad_certificate, 25, "path length", "CN=Capped")


def test_max_chain_depth(leaf: IssuedCert, store: TrustStore) -> None:
    CertificateVerifier(store, max_chain_depth=1).verify(leaf.chain_der(), "example.com", NOW)
    err = reject(CertificateVerifier(store, max_chain_depth=0), leaf.chain_der(), "example.com")
    assert_error(err, A.bad_certificate, 22, "too long")


def constrained_ca(
    root: CertificateAuthority, constraints: x509.NameConstraints
) -> CertificateAuthority:
    key = generate_private_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(root.private_key.public_key())  # type: ignore[arg-type]
    usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Constrained")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
        .add_extension(constraints, critical=True)
        .sign(root.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return CertificateAuthority.from_certificate(cert, key)


def test_name_constraints_permitted_and_excluded(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    permitted = constrained_ca(root, x509.NameConstraints([x509.DNSName("allowed.test")], None))
    verifier.verify(
        permitted.issue(["www.allowed.test"], now=NOW).chain_der(), "www.allowed.test", NOW
    )
    err = reject(verifier, permitted.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.bad_certificate, 47, "name constraints")
    excluded = constrained_ca(root, x509.NameConstraints(None, [x509.DNSName("example.com")]))
    err = reject(verifier, excluded.issue(["example.com"], now=NOW).chain_der(), "example.com")
    assert_error(err, A.bad_certificate, 48, "name constraints", "excluded")


def test_empty_trust_store_knows_no_issuer(leaf: IssuedCert) -> None:
    err = reject(CertificateVerifier(TrustStore()), leaf.chain_der(), "example.com")
    assert_error(err, A.unknown_ca, 20)


# ---- purpose (extended key usage) ---------------------------------------


def test_client_auth_only_certificate_is_refused_for_a_server(
    root: CertificateAuthority, verifier: CertificateVerifier
) -> None:
    leaf = root.issue(["example.com"], client=True, server=False, now=NOW)
    for name in ("example.com", None):
        err = reject(verifier, leaf.chain_der(), name)
        assert_error(err, A.bad_certificate, 26, "serverAuth", "clientAuth")


def test_client_purpose_accepts_a_client_certificate_without_san(
    root: CertificateAuthority, store: TrustStore
) -> None:
    verifier = CertificateVerifier(store, purpose="client")
    leaf = root.intermediate(now=NOW).issue([], client=True, server=False, now=NOW)
    result = verifier.verify(leaf.chain_der(), "ignored.example", NOW)
    assert result.leaf == leaf.certificate
    assert len(result.certificates) == 3


def test_client_purpose_refuses_a_server_only_certificate(
    root: CertificateAuthority, store: TrustStore
) -> None:
    verifier = CertificateVerifier(store, purpose="client")
    err = reject(verifier, root.issue(["example.com"], now=NOW).chain_der(), None)
    assert_error(err, A.bad_certificate, 26, "clientAuth")


def test_unknown_purpose_is_a_programming_error(store: TrustStore) -> None:
    with pytest.raises(ValueError, match="purpose"):
        CertificateVerifier(store, purpose="email")  # type: ignore[arg-type]


def test_leaf_key_usage_for_signing_and_key_transport(root: CertificateAuthority) -> None:
    ecdsa = root.issue(now=NOW).certificate
    check_leaf_key_usage(ecdsa)
    with pytest.raises(CertificateError) as info:
        check_leaf_key_usage(ecdsa, signing=False)
    assert info.value.alert == A.unsupported_certificate
    check_leaf_key_usage(root.issue(key_type="rsa2048", now=NOW).certificate, signing=False)
    enc_only = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    with pytest.raises(CertificateError) as info:
        check_leaf_key_usage(root.issue(key_usage=enc_only, now=NOW).certificate)
    assert_error(info.value, A.unsupported_certificate, 39, "digitalSignature")


def test_leaf_key_usage_verdict_is_the_same_on_every_check(root: CertificateAuthority) -> None:
    # The KeyUsage of a certificate object is looked up once and kept.
    enc_only = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    leaf = root.issue(key_usage=enc_only, now=NOW).certificate
    for _ in range(3):
        check_leaf_key_usage(leaf, signing=False)
        with pytest.raises(CertificateError, match="digitalSignature"):
            check_leaf_key_usage(leaf)
    # An equal certificate parsed anew gets the same verdict.
    again = x509.load_der_x509_certificate(leaf.public_bytes(serialization.Encoding.DER))
    with pytest.raises(CertificateError, match="digitalSignature"):
        check_leaf_key_usage(again)


# ---- malformed input ----------------------------------------------------


def test_empty_chain(verifier: CertificateVerifier) -> None:
    assert_error(
        reject(verifier, [], "example.com"), A.bad_certificate, 0, "peer sent no certificate"
    )


def test_malformed_certificate(leaf: IssuedCert, verifier: CertificateVerifier) -> None:
    chain = leaf.chain_der()
    err = reject(verifier, [chain[0], chain[1][:-10]], "example.com")
    assert_error(err, A.bad_certificate, 0, "#1 is malformed")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=3), st.one_of(st.none(), st.text(max_size=20)))
def test_arbitrary_input_raises_only_certificate_error(
    chain: list[bytes], name: str | None
) -> None:
    verifier = CertificateVerifier(TrustStore())
    with pytest.raises(CertificateError):
        verifier.verify(chain, name, NOW)


# ---- name helpers -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("127.0.0.1", True), ("::1", True), ("fe80::1%eth0", True), ("2001:db8::1", True),
     ("localhost", False), ("1.2.3", False), ("example.com", False), ("", False), ("[::1]", False)],
)  # fmt: skip
def test_is_ip_address(name: str, expected: bool) -> None:
    assert is_ip_address(name) is expected


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [("example.com", "Example.COM", True), ("*.example.com", "a.example.com", True),
     ("*.example.com", "a.b.example.com", False), ("*.example.com", "example.com", False),
     ("*.com", "example.com", False), ("f*.example.com", "foo.example.com", False),
     ("*.*.example.com", "a.b.example.com", False), ("example.com.", "example.com", True),
     ("xn--bcher-kva.example", "bücher.example", True)],
)  # fmt: skip
def test_match_hostname_follows_rfc_6125(
    root: CertificateAuthority, pattern: str, host: str, expected: bool
) -> None:
    cert = root.issue([pattern], now=NOW).certificate
    assert match_hostname(cert, host) is expected


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True))
def test_wildcard_matches_any_single_label(label: str) -> None:
    cert = _WILDCARD_CERT
    assert match_hostname(cert, f"{label}.example.com")
    assert match_hostname(cert, f"{label.upper()}.EXAMPLE.COM.")
    assert not match_hostname(cert, f"{label}.x.example.com")


_WILDCARD_CERT = CertificateAuthority(now=NOW).issue(["*.example.com"], now=NOW).certificate


def test_subject_alt_names_lists_dns_and_ip(leaf: IssuedCert) -> None:
    assert subject_alt_names(leaf.certificate) == HOSTS


# ---- trust store --------------------------------------------------------


def test_trust_store_deduplicates_and_counts(
    root: CertificateAuthority, sub: CertificateAuthority
) -> None:
    store = TrustStore()
    assert store.add_pem(root.cert_pem() + sub.cert_pem()) == 2
    assert store.add_der(root.cert_der()) == 0
    assert store.add_pem(root.cert_pem().decode()) == 0
    assert len(store) == 2
    assert store.certificates() == [root.certificate, sub.certificate]
    assert root.certificate in store
    leaf = root.issue(now=NOW)
    store.add_certificate(leaf.certificate)
    assert store.stats() == {"x509": 3, "crl": 0, "x509_ca": 2}


def test_trust_store_caches_the_built_store_until_anchors_change(
    root: CertificateAuthority, sub: CertificateAuthority
) -> None:
    store = TrustStore()
    assert store.x509_store() is None
    store.add_certificate(root.certificate)
    first = store.x509_store()
    assert first is not None and store.x509_store() is first
    store.add_certificate(root.certificate)  # duplicate: nothing changed
    assert store.x509_store() is first
    store.add_certificate(sub.certificate)
    assert store.x509_store() is not first


def test_trust_store_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="no certificate"):
        TrustStore().add_pem(b"not a pem")
    with pytest.raises(ValueError, match="malformed"):
        TrustStore().add_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="malformed"):
        TrustStore().add_der(b"\x30\x03\x02\x01")


def test_cafile(root: CertificateAuthority, sub: CertificateAuthority, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# comment\n" + root.cert_pem() + b"\n" + sub.cert_pem())
    store = TrustStore()
    assert store.add_cafile(bundle) == 2


def _subject_hash(pem_path: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pem_path)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_capath_with_an_openssl_hashed_directory(
    root: CertificateAuthority, leaf: IssuedCert, tmp_path: Path
) -> None:
    source = tmp_path / "root.pem"
    source.write_bytes(root.cert_pem())
    hashed = tmp_path / "certs"
    hashed.mkdir()
    (hashed / f"{_subject_hash(source)}.0").write_bytes(root.cert_pem())
    (hashed / "README").write_text("not a certificate")
    (hashed / "deadbeef.r0").write_text("a CRL slot, not an anchor")
    (hashed / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    store = TrustStore()
    assert store.add_capath(hashed) == 1
    CertificateVerifier(store).verify(leaf.chain_der(), "example.com", NOW)


@pytest.mark.filterwarnings("ignore:Parsed a serial number")
def test_load_default_finds_the_system_store() -> None:
    store = TrustStore()
    added = store.load_default()
    assert added == len(store)
    paths = ssl.get_default_verify_paths()
    if any(Path(p).exists() for p in (paths.cafile, paths.capath) if p):
        assert len(store) > 0
        assert store.stats()["x509_ca"] > 0


# ---- getpeercert() ------------------------------------------------------


def _stdlib_decode(cert: x509.Certificate, tmp_path: Path) -> object:
    path = tmp_path / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]


def _rich_certificate(root: CertificateAuthority, serial: int) -> x509.Certificate:
    key = generate_private_key("ecdsa-p256")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Berlin"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Berlin"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ex Ample GmbH"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops"),
            x509.NameAttribute(NameOID.COMMON_NAME, "rich.example"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@example.com"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "42"),
            x509.NameAttribute(NameOID.SURNAME, "Doe"),
            x509.NameAttribute(NameOID.GIVEN_NAME, "Jane"),
            x509.NameAttribute(NameOID.TITLE, "Dr"),
            x509.NameAttribute(NameOID.STREET_ADDRESS, "Main St 1"),
            x509.NameAttribute(NameOID.POSTAL_CODE, "10115"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
            x509.NameAttribute(NameOID.USER_ID, "jdoe"),
            x509.NameAttribute(NameOID.BUSINESS_CATEGORY, "Private Organization"),
            x509.NameAttribute(NameOID.JURISDICTION_COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "VATDE-123"),
            x509.NameAttribute(NameOID.PSEUDONYM, "jd"),
            x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4.5"), "private attribute"),
        ]
    )
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("rich.example"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
            x509.IPAddress(ipaddress.ip_address("2001:db8::a:1")),
            x509.RFC822Name("ops@example.com"),
            x509.UniformResourceIdentifier("https://rich.example/"),
            x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
            x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dir")])),
        ]
    )
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier("http://ocsp.example/"),
            ),
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://ca.example/ca.der"),
            ),
        ]
    )
    crl = x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                [x509.UniformResourceIdentifier("http://crl.example/a.crl")], None, None, None
            )
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime(2018, 1, 5, 9, 34, 43, tzinfo=timezone.utc))
        .not_valid_after(datetime(2031, 12, 25, 23, 0, 1, tzinfo=timezone.utc))
        .add_extension(san, critical=False)
        .add_extension(aia, critical=False)
        .add_extension(crl, critical=False)
        .sign(root.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("serial", [1, 0xABC, 0x80, 2**159 - 1])
def test_certificate_to_dict_equals_the_stdlib_for_a_rich_certificate(
    root: CertificateAuthority, tmp_path: Path, serial: int
) -> None:
    cert = _rich_certificate(root, serial)
    assert certificate_to_dict(cert) == _stdlib_decode(cert, tmp_path)


def test_certificate_to_dict_layout(root: CertificateAuthority) -> None:
    cert = _rich_certificate(root, 0xABC)
    decoded = certificate_to_dict(cert)
    assert list(decoded) == [
        "subject", "issuer", "version", "serialNumber", "notBefore", "notAfter",
        "subjectAltName", "OCSP", "caIssuers", "crlDistributionPoints",
    ]  # fmt: skip
    assert decoded["serialNumber"] == "0ABC"
    assert decoded["notBefore"] == "Jan  5 09:34:43 2018 GMT"
    assert ("IP Address", "2001:DB8:0:0:0:0:A:1") in decoded["subjectAltName"]
    assert decoded["subject"][5] == (("commonName", "rich.example"),)


@pytest.mark.parametrize("key_type", ["rsa2048", "ed25519", "ecdsa-p384"])
def test_certificate_to_dict_equals_the_stdlib_for_issued_certificates(
    root: CertificateAuthority, tmp_path: Path, key_type: str
) -> None:
    for cert in (
        root.certificate,
        root.issue(
            ["localhost", "127.0.0.1", "::1", "*.example.com"], key_type=key_type, now=NOW
        ).certificate,
        root.issue([], client=True, now=NOW).certificate,
    ):
        assert certificate_to_dict(cert) == _stdlib_decode(cert, tmp_path)


def test_certificate_errors_are_tls_errors() -> None:
    assert issubclass(CertificateError, TLSError)


def test_self_signed_leaf_trusted_as_itself_is_accepted() -> None:
    """As with OpenSSL: a self-signed server cert given as cafile verifies."""
    ca = CertificateAuthority(common_name="localhost")
    store = TrustStore()
    store.add_pem(ca.cert_pem())
    verifier = CertificateVerifier(store)
    now = datetime.now(timezone.utc)
    chain = verifier.verify([ca.cert_der()], None, now)
    assert chain.certificates == (ca.certificate,)
    with pytest.raises(CertificateError) as err:
        verifier.verify([ca.cert_der()], "example.com", now)
    assert "example.com" in err.value.message


def test_repeated_chain_verifies_again_and_still_fails_for_other_names(
    leaf: IssuedCert, verifier: CertificateVerifier
) -> None:
    # The parsed certificates are kept between verifications; the checks are not.
    for _ in range(2):
        verifier.verify(leaf.chain_der(), "example.com", NOW)
        err = reject(verifier, leaf.chain_der(), "other.example")
        assert_error(err, A.certificate_unknown, 62)
        err = reject(verifier, leaf.chain_der(), "example.com", NOW + timedelta(days=31))
        assert_error(err, A.certificate_expired, 10)


def test_trust_store_looks_up_a_certificate_by_its_der(root: CertificateAuthority) -> None:
    store = TrustStore()
    store.add_pem(root.cert_pem())
    assert store.contains_der(root.cert_der())
    assert not store.contains_der(root.intermediate(common_name="Not an anchor").cert_der())
