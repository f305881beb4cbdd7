"""The ssl-compatible certificate surface: mutual TLS, post-handshake auth,
several chains and SNI, OCSP stapling, compression; against the stdlib too."""

from __future__ import annotations

import contextlib
import ssl
from types import ModuleType
from typing import Any

import pytest

import puretls
from puretls.testing import CertificateAuthority, IssuedCert
from test_sslcompat_bio import Pair

SIDES = [(puretls, puretls), (puretls, ssl), (ssl, puretls)]
IDS = ["puretls-puretls", "puretls-client-stdlib-server", "stdlib-client-puretls-server"]


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority(common_name="certauth CA")


@pytest.fixture(scope="module")
def files(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("certauth")
    other = CertificateAuthority(common_name="certauth other CA")
    leaves: dict[str, IssuedCert] = {
        "server": ca.issue(["localhost"]),
        "a": ca.issue(["a.test"]),
        "b": ca.issue(["b.test"], key_type="rsa2048"),
        "client": ca.issue([], common_name="alice", client=True, server=False),
        "stranger": other.issue([], common_name="mallory", client=True, server=False),
    }
    out: dict[str, Any] = {name: leaf.write(directory, name) for name, leaf in leaves.items()}
    out["leaves"] = leaves
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.cert_pem())
    out["ca"] = ca_file
    return out


def server_ctx(module: ModuleType, files: dict[str, Any], mode: int = ssl.CERT_NONE) -> Any:
    ctx = module.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files["server"])
    if mode != ssl.CERT_NONE:
        ctx.load_verify_locations(files["ca"])
        ctx.verify_mode = mode
    return ctx


def client_ctx(module: ModuleType, files: dict[str, Any], cert: str | None = None) -> Any:
    ctx = module.create_default_context(cafile=str(files["ca"]))
    if cert is not None:
        ctx.load_cert_chain(*files[cert])
    return ctx


def exchange(pair: Pair) -> None:
    """Data both ways (post-handshake messages ride along)."""
    for _ in range(3):
        with contextlib.suppress(ssl.SSLWantReadError):
            pair.server.read()
        with contextlib.suppress(ssl.SSLWantReadError):
            pair.client.read()
        pair.pump()


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_cert_required_mutual_tls(
    client_mod: ModuleType, server_mod: ModuleType, files: dict[str, Any]
) -> None:
    pair = Pair(
        client_ctx(client_mod, files, "client"),
        server_ctx(server_mod, files, ssl.CERT_REQUIRED),
        "localhost",
    )
    pair.handshake()
    exchange(pair)
    subject = dict(x[0] for x in pair.server.getpeercert()["subject"])
    assert subject["commonName"] == "alice"


def test_cert_optional_accepts_no_certificate(files: dict[str, Any]) -> None:
    pair = Pair(
        client_ctx(puretls, files), server_ctx(puretls, files, ssl.CERT_OPTIONAL), "localhost"
    )
    pair.handshake()
    assert pair.server.getpeercert() is None


def test_cert_optional_refuses_a_bad_certificate(files: dict[str, Any]) -> None:
    pair = Pair(
        client_ctx(puretls, files, "stranger"),
        server_ctx(puretls, files, ssl.CERT_OPTIONAL),
        "localhost",
    )
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        pair.handshake()
    assert "certauth other CA" in info.value.verify_message


def test_cert_required_without_certificate_is_certificate_required(
    files: dict[str, Any],
) -> None:
    pair = Pair(
        client_ctx(puretls, files), server_ctx(puretls, files, ssl.CERT_REQUIRED), "localhost"
    )
    with pytest.raises(ssl.SSLError) as info:
        pair.handshake()
        exchange(pair)
    assert "certificate" in str(info.value).lower()


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_post_handshake_auth(
    client_mod: ModuleType, server_mod: ModuleType, files: dict[str, Any]
) -> None:
    client = client_ctx(client_mod, files, "client")
    client.post_handshake_auth = True
    server = server_ctx(server_mod, files, ssl.CERT_OPTIONAL)
    server.post_handshake_auth = True
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    pair = Pair(client, server, "localhost")
    pair.handshake()
    exchange(pair)
    assert pair.server.getpeercert() is None  # not asked for yet... the stdlib agrees
    pair.server.verify_client_post_handshake()
    pair.server.write(b"hello")  # the stdlib sends the request with the next write
    pair.pump()
    assert pair.client.read() == b"hello"
    pair.client.write(b"me")
    pair.pump()
    assert pair.server.read() == b"me"
    subject = dict(x[0] for x in pair.server.getpeercert()["subject"])
    assert subject["commonName"] == "alice"


def test_verify_client_post_handshake_without_client_opt_in(files: dict[str, Any]) -> None:
    pair = Pair(
        client_ctx(puretls, files, "client"),
        server_ctx(puretls, files, ssl.CERT_OPTIONAL),
        "localhost",
    )
    pair.handshake()
    with pytest.raises(ssl.SSLError, match="extension not received"):
        pair.server.verify_client_post_handshake()


def test_two_chains_and_sni(files: dict[str, Any], ca: CertificateAuthority) -> None:
    server = puretls.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*files["a"])
    server.load_cert_chain(*files["b"])
    for name in ("a.test", "b.test"):
        pair = Pair(client_ctx(puretls, files), server, name)
        pair.handshake()
        assert pair.client.getpeercert()["subjectAltName"] == (("DNS", name),)
    server.strict_server_name = True
    pair = Pair(client_ctx(puretls, files), server, "c.test")
    with pytest.raises(ssl.SSLError, match=r"UNRECOGNIZED_NAME|unrecognized"):
        pair.handshake()


def test_load_cert_chain_twice_with_same_leaf_replaces(files: dict[str, Any]) -> None:
    server = puretls.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(*files["a"])
    server.load_cert_chain(*files["a"])
    server.load_cert_chain(*files["server"])
    assert len(server._pt_certificates) == 2


def test_ocsp_staple_set_on_context_reaches_client(
    files: dict[str, Any], ca: CertificateAuthority
) -> None:
    staple = ca.ocsp_response(files["leaves"]["server"])
    server = server_ctx(puretls, files)
    server.set_ocsp_response(staple)
    client = client_ctx(puretls, files)
    client.ocsp_stapling = True
    pair = Pair(client, server, "localhost")
    pair.handshake()
    assert pair.client.ocsp_response() == staple


def test_ocsp_callback_revoked_fails_the_handshake(
    files: dict[str, Any], ca: CertificateAuthority
) -> None:
    revoked = ca.ocsp_response(files["leaves"]["server"], status="revoked")
    server = server_ctx(puretls, files)
    server.ocsp_response_callback = lambda leaf_der: revoked
    client = client_ctx(puretls, files)
    client.ocsp_stapling = True
    pair = Pair(client, server, "localhost")
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        pair.handshake()
    assert "revoked" in info.value.verify_message
    assert info.value.verify_code == 23


def test_ocsp_must_staple_without_staple(files: dict[str, Any]) -> None:
    client = client_ctx(puretls, files)
    client.ocsp_must_staple = True
    pair = Pair(client, server_ctx(puretls, files), "localhost")
    with pytest.raises(ssl.SSLError, match="OCSP"):
        pair.handshake()


def test_set_ocsp_response_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        puretls.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ocsp_response(b"junk")


def test_send_ca_names_and_compression(files: dict[str, Any]) -> None:
    server = server_ctx(puretls, files, ssl.CERT_REQUIRED)
    server.send_ca_names = True
    server.certificate_compression = ["zlib"]
    client = client_ctx(puretls, files, "client")
    client.certificate_compression = ("zlib",)
    assert "zlib" in client.available_certificate_compression()
    pair = Pair(client, server, "localhost")
    pair.handshake()
    exchange(pair)
    negotiated = pair.server.connection.negotiated
    assert "CompressedCertificate" in negotiated.messages
    with pytest.raises(ValueError, match="unknown"):
        client.certificate_compression = ["lzma"]
