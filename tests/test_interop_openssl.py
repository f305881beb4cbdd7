"""Interop with OpenSSL's s_server and s_client on loopback, both directions."""

from __future__ import annotations

import functools
import socket
import subprocess
from pathlib import Path

import pytest

from peers import OPENSSL, handshake, openssl_server, read_until_closed, serve_once
from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import CipherSuite, NamedGroup
from puretls.testing import CertificateAuthority
from puretls.verify import CertificateVerifier, TrustStore

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")

SUITES = [
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
]
# OpenSSL's names for our groups.
GROUPS = {
    NamedGroup.x25519: "X25519",
    NamedGroup.x448: "X448",
    NamedGroup.secp256r1: "P-256",
    NamedGroup.secp384r1: "P-384",
    NamedGroup.secp521r1: "P-521",
}
KEY_TYPES = ["ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "ed448"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority()
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    for key_type in KEY_TYPES:
        ca.issue(["localhost", "127.0.0.1"], key_type=key_type).write(directory, key_type)
    return directory


@functools.cache
def _verifier(ca_file: str) -> CertificateVerifier:
    store = TrustStore()
    store.add_cafile(ca_file)
    return CertificateVerifier(store)


def puretls_client(pki: Path, port: int, **kw: object) -> tuple[Connection, bytes]:
    config = TLSConfig(
        is_server=False,
        server_name="localhost",
        verifier=_verifier(str(pki / "ca.pem")),
        **kw,  # type: ignore[arg-type]
    )
    conn = Connection(config)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        handshake(conn, sock)
        conn.send_data(b"GET / HTTP/1.0\r\n\r\n")
        sock.sendall(conn.data_to_send())
        body = read_until_closed(conn, sock)
    return conn, body


def cert_files(pki: Path, key_type: str) -> tuple[Path, Path]:
    return pki / f"{key_type}.pem", pki / f"{key_type}.key"


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.name)
def test_puretls_client_to_openssl_server_suites_and_groups(
    pki: Path, suite: int, group: int
) -> None:
    cert, key = cert_files(pki, "ecdsa-p256")
    with openssl_server(cert, key, "-tls1_3", "-groups", GROUPS[group]) as port:
        conn, body = puretls_client(pki, port, cipher_suites=(suite,), groups=(group,))
    assert conn.negotiated.cipher_suite is not None
    assert conn.negotiated.cipher_suite.suite == suite
    assert conn.negotiated.group == group
    assert b"HTTP/1.0 200 ok" in body and b"TLSv1.3" in body
    # OpenSSL sends two tickets after the handshake; the client keeps them.
    assert len(conn.negotiated.session_tickets) == 2


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_puretls_client_to_openssl_server_certificate_types(pki: Path, key_type: str) -> None:
    cert, key = cert_files(pki, key_type)
    with openssl_server(cert, key, "-tls1_3") as port:
        conn, body = puretls_client(pki, port)
    assert conn.negotiated.verified_chain is not None
    assert b"200 ok" in body


def test_puretls_client_handles_openssl_hello_retry_request(pki: Path) -> None:
    cert, key = cert_files(pki, "ecdsa-p256")
    with openssl_server(cert, key, "-tls1_3", "-groups", "P-384") as port:
        conn, body = puretls_client(pki, port)
    assert conn.negotiated.hello_retry_request
    assert conn.negotiated.group == NamedGroup.secp384r1
    assert b"200 ok" in body


def _puretls_server(pki: Path, key_type: str, **kw: object) -> tuple[Connection, socket.socket]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

    cert, key = cert_files(pki, key_type)
    chain = tuple(
        c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(cert.read_bytes())
    )
    private = load_pem_private_key(key.read_bytes(), None)
    config = TLSConfig(is_server=True, certificates=(CertifiedKey(chain, private),), **kw)  # type: ignore[arg-type]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return Connection(config), listener


def _s_client(pki: Path, port: int, *args: str) -> str:
    assert OPENSSL is not None
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}"]
    command += ["-CAfile", str(pki / "ca.pem"), "-servername", "localhost"]
    command += ["-verify_return_error", "-tls1_3", "-ign_eof", *args]
    proc = subprocess.run(
        command,
        input=b"hello over tls\n",
        capture_output=True,
        timeout=20,
    )
    return (proc.stdout + proc.stderr).decode(errors="replace")


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_openssl_client_to_puretls_server_certificate_types(pki: Path, key_type: str) -> None:
    conn, listener = _puretls_server(pki, key_type)
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client(pki, listener.getsockname()[1])
        thread.join(10)
    assert not thread.errors  # type: ignore[attr-defined]
    assert "Verify return code: 0 (ok)" in output
    assert "echo: hello over tls" in output
    assert conn.handshake_complete


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.name)
def test_openssl_client_to_puretls_server_suites_and_groups(
    pki: Path, suite: CipherSuite, group: int
) -> None:
    conn, listener = _puretls_server(pki, "ecdsa-p256")
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client(
            pki, listener.getsockname()[1], "-ciphersuites", suite.name, "-groups", GROUPS[group]
        )
        thread.join(10)
    assert f"Cipher is {suite.name}" in output or suite.name in output
    assert "echo: hello over tls" in output
    assert conn.negotiated.group == group


def test_openssl_client_gets_hello_retry_request_from_puretls(pki: Path) -> None:
    conn, listener = _puretls_server(pki, "ecdsa-p256", groups=(NamedGroup.secp384r1,))
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client(pki, listener.getsockname()[1], "-groups", "X25519:P-384")
        thread.join(10)
    assert conn.negotiated.hello_retry_request
    assert "echo: hello over tls" in output


def test_openssl_client_alpn_with_puretls_server(pki: Path) -> None:
    conn, listener = _puretls_server(pki, "ecdsa-p256", alpn_protocols=(b"h2", b"http/1.1"))
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client(pki, listener.getsockname()[1], "-alpn", "http/1.1")
        thread.join(10)
    assert "ALPN protocol: http/1.1" in output
    assert conn.negotiated.alpn_protocol == "http/1.1"


def test_openssl_client_with_wrong_name_is_refused_by_its_verification(pki: Path) -> None:
    conn, listener = _puretls_server(pki, "ecdsa-p256")
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client(pki, listener.getsockname()[1], "-verify_hostname", "example.com")
        thread.join(10)
    assert "hostname mismatch" in output.lower() or "verify error" in output.lower()
