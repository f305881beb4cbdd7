"""Authentication in the TLS 1.3 handshake: mutual TLS, several chains, SNI,
OCSP stapling, certificate compression and post-handshake authentication.

In-memory client/server pairs; every negative case checks the local reason
and the alert the peer receives.
"""

from __future__ import annotations

import functools
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription, SignatureScheme
from puretls.errors import CertificateError, PeerAlert, TLSError, UnexpectedMessage
from puretls.events import ApplicationData, PeerCertificateVerified
from puretls.handshake import certselect
from puretls.handshake.certcompress import AVAILABLE_ALGORITHMS, CertificateCompressionAlgorithm
from puretls.messages import CompressedCertificate
from puretls.testing import CertificateAuthority, IssuedCert
from puretls.verify import CertificateVerifier, TrustStore
from test_connection import connect, events, failure, pump

NOW = datetime.now(timezone.utc)
ZLIB = CertificateCompressionAlgorithm.zlib


@functools.cache
def ca() -> CertificateAuthority:
    return CertificateAuthority(common_name="auth13 test CA")


@functools.cache
def other_ca() -> CertificateAuthority:
    return CertificateAuthority(common_name="auth13 other CA")


def certified(issued: IssuedCert) -> CertifiedKey:
    return CertifiedKey(tuple(issued.chain_der()), issued.private_key)


@functools.cache
def server_leaf(host: str = "localhost", key_type: str = "ecdsa-p256") -> IssuedCert:
    return ca().issue([host], key_type=key_type)


@functools.cache
def client_leaf(authority: str = "ca") -> IssuedCert:
    issuer = ca() if authority == "ca" else other_ca()
    return issuer.issue([], common_name="alice", client=True, server=False)


def trust(*authorities: CertificateAuthority) -> TrustStore:
    store = TrustStore()
    for authority in authorities or (ca(),):
        store.add_pem(authority.cert_pem())
    return store


def client(**kw: object) -> TLSConfig:
    options: dict[str, object] = {
        "server_name": "localhost",
        "verifier": CertificateVerifier(trust()),
    }
    options.update(kw)
    return TLSConfig(is_server=False, **options)  # type: ignore[arg-type]


def server(**kw: object) -> TLSConfig:
    options: dict[str, object] = {"certificates": (certified(server_leaf()),)}
    options.update(kw)
    return TLSConfig(is_server=True, **options)  # type: ignore[arg-type]


def mtls_server(**kw: object) -> TLSConfig:
    options: dict[str, object] = {
        "request_client_certificate": True,
        "require_client_certificate": True,
        "verifier": CertificateVerifier(trust(), purpose="client"),
    }
    options.update(kw)
    return server(**options)


def leaf_of(conn: Connection) -> x509.Certificate:
    return x509.load_der_x509_certificate(conn.negotiated.peer_certificates[0])


def assert_alert(peer_error: TLSError | None, alert: AlertDescription) -> None:
    assert isinstance(peer_error, PeerAlert)
    assert peer_error.description == alert


# -- mutual TLS ------------------------------------------------------------------


def test_optional_client_certificate_may_be_absent() -> None:
    c, s = connect(client(), mtls_server(require_client_certificate=False))
    assert c.handshake_complete and s.handshake_complete
    assert s.negotiated.peer_certificates == ()
    assert "Certificate" in c.negotiated.messages  # the empty one we sent


def test_optional_client_certificate_that_is_presented_must_verify() -> None:
    stranger = certified(client_leaf("other"))
    local, peer, _, _ = failure(
        client(certificates=(stranger,)), mtls_server(require_client_certificate=False)
    )
    assert isinstance(local, CertificateError)
    assert local.alert == AlertDescription.unknown_ca
    assert "auth13 other CA" in str(local)
    assert_alert(peer, AlertDescription.unknown_ca)


def test_required_client_certificate_verified_for_client_auth() -> None:
    _c, s = connect(client(certificates=(certified(client_leaf()),)), mtls_server())
    assert s.handshake_complete
    assert s.negotiated.verified_chain is not None
    assert "CN=alice" in leaf_of(s).subject.rfc4514_string()


def test_client_certificate_with_server_only_eku_is_refused() -> None:
    wrong = ca().issue([], common_name="bob", client=False, server=True)
    local, peer, _, _ = failure(client(certificates=(certified(wrong),)), mtls_server())
    assert "not valid for clientAuth" in str(local)
    assert_alert(peer, AlertDescription.bad_certificate)


def test_certificate_request_lists_authorities_and_client_picks_matching_chain() -> None:
    names = (ca().certificate.subject.public_bytes(serialization.Encoding.DER),)
    ours = (certified(client_leaf("other")), certified(client_leaf("ca")))
    _c, s = connect(client(certificates=ours), mtls_server(certificate_authorities=names))
    assert s.handshake_complete
    assert leaf_of(s).issuer == ca().certificate.subject


def test_leaf_without_digital_signature_key_usage_is_unsupported_certificate() -> None:
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=True,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    leaf = ca().issue(["localhost"], key_usage=usage)
    local, peer, _, _ = failure(client(), server(certificates=(certified(leaf),)))
    assert "digitalSignature" in str(local)
    assert_alert(peer, AlertDescription.unsupported_certificate)


# -- several chains, SNI -----------------------------------------------------------


def test_server_picks_chain_by_signature_algorithms() -> None:
    chains = (
        certified(server_leaf(key_type="ecdsa-p256")),
        certified(server_leaf(key_type="rsa2048")),
    )
    rsa_only = (SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pkcs1_sha256)
    c, _ = connect(client(signature_schemes=rsa_only), server(certificates=chains))
    assert c.negotiated.signature_scheme == SignatureScheme.rsa_pss_rsae_sha256
    c, _ = connect(client(), server(certificates=chains))
    assert c.negotiated.signature_scheme == SignatureScheme.ecdsa_secp256r1_sha256


def test_server_picks_chain_by_server_name() -> None:
    chains = (certified(server_leaf("a.test")), certified(server_leaf("b.test")))
    for name in ("a.test", "b.test"):
        c, _ = connect(client(server_name=name), server(certificates=chains))
        assert c.handshake_complete
        assert certselect.leaf_covers_name(CertifiedKey(c.negotiated.peer_certificates, None), name)  # type: ignore[arg-type]


def test_unknown_server_name_gets_default_chain_or_unrecognized_name_when_strict() -> None:
    chains = (certified(server_leaf("a.test")),)
    c, _ = connect(client(server_name="c.test", verifier=None), server(certificates=chains))
    assert c.handshake_complete
    local, peer, _, _ = failure(
        client(server_name="c.test"), server(certificates=chains, strict_server_name=True)
    )
    assert local.alert == AlertDescription.unrecognized_name
    assert "'c.test'" in str(local)
    assert_alert(peer, AlertDescription.unrecognized_name)


def test_signature_algorithms_cert_prefers_a_chain_the_peer_can_check() -> None:
    rsa_ca = CertificateAuthority(key_type="rsa2048", common_name="rsa CA")
    by_rsa = certified(rsa_ca.issue(["localhost"]))
    by_ecdsa = certified(ca().issue(["localhost"]))
    ecdsa_schemes = (SignatureScheme.ecdsa_secp256r1_sha256,)
    chosen = certselect.select_certificate(
        (by_rsa, by_ecdsa), ecdsa_schemes, cert_schemes=ecdsa_schemes
    )
    assert chosen is not None and chosen[0] is by_ecdsa
    chosen = certselect.select_certificate(
        (by_ecdsa, by_rsa), ecdsa_schemes, cert_schemes=(SignatureScheme.rsa_pkcs1_sha256,)
    )
    assert chosen is not None and chosen[0] is by_rsa


def test_shared_server_config_remembers_each_clients_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chains = (
        certified(server_leaf("a.test")),
        certified(server_leaf("b.test")),
        certified(server_leaf("a.test", key_type="rsa2048")),
    )
    shared = server(certificates=chains)
    calls: list[str | None] = []
    select = certselect.select_certificate

    def counting(*args: object, **kw: object) -> object:
        calls.append(kw.get("server_name"))  # type: ignore[arg-type]
        return select(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(certselect, "select_certificate", counting)
    rsa_only = (SignatureScheme.rsa_pss_rsae_sha256,)
    for _ in range(2):
        for name, schemes, expected in (
            ("a.test", None, chains[0]),
            ("b.test", None, chains[1]),
            ("a.test", rsa_only, chains[2]),
        ):
            options: dict[str, object] = {"server_name": name}
            if schemes is not None:
                options["signature_schemes"] = schemes
            c, s = connect(client(**options), shared)
            assert c.negotiated.peer_certificates == expected.chain
            assert s.negotiated.signature_scheme == c.negotiated.signature_scheme
    assert calls == ["a.test", "b.test", "a.test"]  # the second round came from the memo
    assert len(shared.certificate_choices) == 3
    assert len(shared.certificate_messages) == 3


def test_unrecognized_name_is_refused_every_time_not_remembered() -> None:
    strict = server(certificates=(certified(server_leaf("a.test")),), strict_server_name=True)
    for _ in range(2):
        local, _, _, _ = failure(client(server_name="c.test"), strict)
        assert local.alert == AlertDescription.unrecognized_name
    assert not strict.certificate_choices


def test_config_copies_start_with_empty_memos() -> None:
    shared = server()
    connect(client(), shared)
    assert shared.certificate_choices and shared.certificate_messages
    copy = shared.replace(certificates=(certified(server_leaf("b.test")),))
    assert not copy.certificate_choices and not copy.certificate_messages
    c, _ = connect(client(server_name="b.test"), copy)
    assert c.negotiated.peer_certificates == copy.certificates[0].chain
    assert shared.replace() == shared  # the memos take no part in equality


def test_lists_in_a_server_config_are_served_without_the_memos() -> None:
    leaf = server_leaf()
    as_list = CertifiedKey(list(leaf.chain_der()), leaf.private_key)  # type: ignore[arg-type]
    listed = server(certificates=[as_list])
    for _ in range(2):
        c, _ = connect(client(), listed)
        assert c.negotiated.peer_certificates == tuple(leaf.chain_der())
    assert not listed.certificate_choices and not listed.certificate_messages


def test_memo_starts_over_when_full() -> None:
    memo: dict[int, int] = {}
    for key in range(certselect._MEMO_SIZE + 1):
        certselect.remember(memo, key, key)
    assert memo == {certselect._MEMO_SIZE: certselect._MEMO_SIZE}


def test_stapled_or_compressed_certificates_are_built_per_connection() -> None:
    leaf = server_leaf()
    stapling = stapling_server(leaf, ca().ocsp_response(leaf))
    connect(client(ocsp_stapling=True), stapling)
    assert not stapling.certificate_messages
    compressing = server(certificate_compression=(ZLIB,))
    c, _ = connect(client(certificate_compression=(ZLIB,)), compressing)
    assert c.negotiated.peer_certificates == compressing.certificates[0].chain
    assert not compressing.certificate_messages


# -- OCSP stapling -----------------------------------------------------------------


def stapling_server(leaf: IssuedCert, response: bytes | None) -> TLSConfig:
    return server(certificates=(certified(leaf),), ocsp_responses=lambda der: response)


def test_good_staple_is_checked_and_kept() -> None:
    leaf = server_leaf()
    staple = ca().ocsp_response(leaf)
    c, s = connect(client(ocsp_stapling=True), stapling_server(leaf, staple))
    assert c.negotiated.ocsp_response == staple
    assert s.negotiated.ocsp_response == staple


def test_no_staple_without_status_request() -> None:
    leaf = server_leaf()
    c, _ = connect(client(), stapling_server(leaf, ca().ocsp_response(leaf)))
    assert c.negotiated.ocsp_response is None


def test_staple_from_delegated_responder_is_accepted() -> None:
    leaf = server_leaf()
    staple = ca().ocsp_response(leaf, responder=ca().ocsp_responder())
    c, _ = connect(client(ocsp_stapling=True), stapling_server(leaf, staple))
    assert c.negotiated.ocsp_response == staple


@pytest.mark.parametrize(
    ("make", "alert", "words"),
    [
        (lambda leaf: ca().ocsp_response(leaf, status="revoked"), "certificate_revoked", "revoked"),
        (
            lambda leaf: ca().ocsp_response(leaf, status="unknown"),
            "bad_certificate_status_response",
            "unknown",
        ),
        (
            lambda leaf: ca().ocsp_response(
                leaf, this_update=NOW - timedelta(days=9), next_update=NOW - timedelta(days=2)
            ),
            "bad_certificate_status_response",
            "stale",
        ),
        (
            lambda leaf: ca().ocsp_response(ca().issue(["localhost"])),
            "bad_certificate_status_response",
            "not about this certificate",
        ),
        (
            lambda leaf: ca().ocsp_response(leaf, responder=other_ca().ocsp_responder()),
            "bad_certificate_status_response",
            "not issued by",
        ),
        (lambda leaf: b"\x30\x03\x0a\x01\x00", "bad_certificate_status_response", "malformed"),
    ],
    ids=["revoked", "unknown", "stale", "other-cert", "foreign-responder", "garbage"],
)
def test_bad_staples_fail_with_reason(make: object, alert: str, words: str) -> None:
    leaf = server_leaf()
    staple = make(leaf)  # type: ignore[operator]
    local, peer, _, _ = failure(client(ocsp_stapling=True), stapling_server(leaf, staple))
    assert local.alert == AlertDescription[alert]
    assert words in str(local)
    assert_alert(peer, AlertDescription[alert])


def test_missing_staple_is_fatal_when_required() -> None:
    local, peer, _, _ = failure(client(ocsp_must_staple=True), server())
    assert "requires one" in str(local)
    assert_alert(peer, AlertDescription.bad_certificate_status_response)


def test_must_staple_certificate_without_staple_fails() -> None:
    leaf = ca().issue(["localhost"], must_staple=True)
    local, _, _, _ = failure(client(ocsp_stapling=True), stapling_server(leaf, None))
    assert "TLS Feature" in str(local)
    good = ca().ocsp_response(leaf)
    c, _ = connect(client(ocsp_stapling=True), stapling_server(leaf, good))
    assert c.handshake_complete


# -- certificate compression -----------------------------------------------------


@pytest.mark.parametrize("algorithm", AVAILABLE_ALGORITHMS, ids=lambda a: a.name)
def test_certificates_are_compressed_both_ways(algorithm: CertificateCompressionAlgorithm) -> None:
    c, s = connect(
        client(certificates=(certified(client_leaf()),), certificate_compression=(algorithm,)),
        mtls_server(certificate_compression=(algorithm,)),
    )
    assert s.handshake_complete
    assert "CompressedCertificate" in c.negotiated.messages
    assert "CompressedCertificate" in s.negotiated.messages
    assert "CN=alice" in leaf_of(s).subject.rfc4514_string()


def test_compression_only_when_both_sides_support_it() -> None:
    c, _ = connect(client(certificate_compression=(ZLIB,)), server())
    assert "CompressedCertificate" not in c.negotiated.messages
    assert "Certificate" in c.negotiated.messages


def test_decompression_bomb_is_bad_certificate() -> None:
    bomb = CompressedCertificate(
        algorithm=ZLIB,
        uncompressed_length=1000,
        compressed_certificate_message=zlib.compress(b"\x00" * 10_000_000),
    )

    def hook(message: object) -> object:
        return bomb if isinstance(message, CompressedCertificate) else message

    local, peer, _, _ = failure(
        client(certificate_compression=(ZLIB,)),
        server(certificate_compression=(ZLIB,), message_hook=hook),
    )
    assert local.alert == AlertDescription.bad_certificate
    assert "announced 1000" in str(local)
    assert_alert(peer, AlertDescription.bad_certificate)


def test_oversized_announced_length_is_bad_certificate() -> None:
    big = CompressedCertificate(
        algorithm=ZLIB, uncompressed_length=1 << 23, compressed_certificate_message=b"x"
    )
    local, _, _, _ = failure(
        client(certificate_compression=(ZLIB,)),
        server(
            certificate_compression=(ZLIB,),
            message_hook=lambda m: big if isinstance(m, CompressedCertificate) else m,
        ),
    )
    assert local.alert == AlertDescription.bad_certificate
    assert "limit" in str(local)


# -- post-handshake authentication -------------------------------------------------


def pha_pair(**client_kw: object) -> tuple[Connection, Connection]:
    options: dict[str, object] = {
        "post_handshake_auth": True,
        "certificates": (certified(client_leaf()),),
    }
    options.update(client_kw)
    return connect(
        client(**options),
        server(
            verifier=CertificateVerifier(trust(), purpose="client"),
            require_client_certificate=True,
        ),
    )


def test_post_handshake_auth_delivers_the_client_certificate() -> None:
    c, s = pha_pair()
    assert s.negotiated.peer_certificates == ()
    events(s)
    s.request_client_certificate()
    s.send_data(b"who are you?")
    pump(c, s)
    assert next(e for e in events(c) if isinstance(e, ApplicationData)).data == b"who are you?"
    got = [e for e in events(s) if isinstance(e, PeerCertificateVerified)]
    assert len(got) == 1 and got[0].certificates
    assert "CN=alice" in leaf_of(s).subject.rfc4514_string()
    assert s.negotiated.verified_chain is not None
    # A second request works too, and data still flows afterwards.
    s.request_client_certificate()
    pump(c, s)
    assert any(isinstance(e, PeerCertificateVerified) for e in events(s))
    c.send_data(b"still here")
    pump(c, s)
    assert [e.data for e in events(s) if isinstance(e, ApplicationData)] == [b"still here"]


def test_post_handshake_auth_without_certificate_is_certificate_required() -> None:
    c, s = pha_pair(certificates=())
    s.request_client_certificate()
    with pytest.raises(CertificateError) as info:
        pump(c, s)
    assert info.value.alert == AlertDescription.certificate_required
    with pytest.raises(PeerAlert) as peer:
        c.receive_data(s.data_to_send())
    assert peer.value.description == AlertDescription.certificate_required


def test_request_without_client_offer_is_refused_locally() -> None:
    c, s = pha_pair(post_handshake_auth=False)
    with pytest.raises(UnexpectedMessage, match="did not offer post-handshake"):
        s.request_client_certificate()
    # A local refusal: the connection carries on.
    s.send_data(b"ok")
    pump(c, s)
    assert not s.closed


def test_unsolicited_post_handshake_request_is_unexpected_message() -> None:
    c, s = pha_pair(post_handshake_auth=False)
    # A server that ignores the rules.  (A well-behaved one keeps no
    # post-handshake state for a client that did not offer it.)
    from puretls.handshake.auth13 import ServerPostHandshakeAuth
    from puretls.transcript import Transcript

    s.negotiated.post_handshake_auth = True
    s._state.post_handshake_auth = ServerPostHandshakeAuth(  # type: ignore[union-attr]
        handshake_transcript=Transcript("sha256")
    )
    s.request_client_certificate()
    with pytest.raises(UnexpectedMessage):
        c.receive_data(s.data_to_send())
    with pytest.raises(PeerAlert) as peer:
        s.receive_data(c.data_to_send())
    assert peer.value.description == AlertDescription.unexpected_message


# -- OCSP stapling in TLS 1.2 (RFC 6066 8: CertificateStatus) --------------------


def test_tls12_staple_travels_in_certificate_status() -> None:
    from puretls.enums import ProtocolVersion

    leaf = server_leaf()
    staple = ca().ocsp_response(leaf)
    c, s = connect(
        client(ocsp_stapling=True, max_version=ProtocolVersion.TLSv1_2),
        stapling_server(leaf, staple),
    )
    assert c.negotiated.version == "TLSv1.2"
    assert "CertificateStatus" in c.negotiated.messages
    assert c.negotiated.ocsp_response == staple == s.negotiated.ocsp_response


def test_tls12_revoked_staple_fails_the_handshake() -> None:
    from puretls.enums import ProtocolVersion

    leaf = server_leaf()
    staple = ca().ocsp_response(leaf, status="revoked")
    local, peer, _, _ = failure(
        client(ocsp_stapling=True, max_version=ProtocolVersion.TLSv1_2),
        stapling_server(leaf, staple),
    )
    assert local.alert == AlertDescription.certificate_revoked
    assert_alert(peer, AlertDescription.certificate_revoked)


def test_tls12_missing_required_staple_fails() -> None:
    from puretls.enums import ProtocolVersion

    local, _, _, _ = failure(
        client(ocsp_must_staple=True, max_version=ProtocolVersion.TLSv1_2), server()
    )
    assert local.alert == AlertDescription.bad_certificate_status_response


def test_chain_ranking_answers_are_the_same_cached_or_not() -> None:
    issued = server_leaf("a.test")
    chain = certified(issued).chain
    ecdsa = (SignatureScheme.ecdsa_secp256r1_sha256,)
    rsa = (SignatureScheme.rsa_pss_rsae_sha256,)
    for _ in range(2):  # the second round is answered from the caches
        assert certselect._chain_signed_acceptably(chain, ecdsa)
        assert not certselect._chain_signed_acceptably(chain, rsa)
        assert certselect.leaf_covers_name(CertifiedKey(chain, None), "a.test")  # type: ignore[arg-type]
        assert not certselect.leaf_covers_name(CertifiedKey(chain, None), "b.test")  # type: ignore[arg-type]
    # A list longer than the cache takes is checked directly, with the same answer.
    long_list = tuple(range(0x0900, 0x0900 + 100)) + ecdsa
    assert certselect._chain_signed_acceptably(chain, long_list)
    assert certselect._chain_signed_acceptably(list(chain), ecdsa)


def test_overlong_server_name_is_matched_without_being_cached() -> None:
    chain = certified(server_leaf("a.test")).chain
    long_name = "a" * 300 + ".test"
    before = certselect._leaf_covers_name.cache_info().currsize
    assert not certselect.leaf_covers_name(CertifiedKey(chain, None), long_name)  # type: ignore[arg-type]
    assert certselect._leaf_covers_name.cache_info().currsize == before
