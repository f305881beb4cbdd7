"""TLS 1.2 interop on loopback with OpenSSL's s_server / s_client, both directions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from peers import OPENSSL, openssl_server, serve_once
from puretls.enums import CipherSuite, ProtocolVersion
from puretls.handshake.session12 import SessionCache12
from test_interop_openssl import _puretls_server, cert_files, pki, puretls_client

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")

TLS12 = ProtocolVersion.TLSv1_2
_C = CipherSuite
# The default TLS 1.2 suites with the certificate each needs.
DEFAULT_SUITES = [
    (_C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ecdsa-p256"),
    (_C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "rsa2048"),
    (_C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ecdsa-p384"),
    (_C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "rsa2048"),
    (_C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ecdsa-p256"),
    (_C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "rsa2048"),
]
RSA_KX = [
    (_C.TLS_RSA_WITH_AES_128_GCM_SHA256, "rsa2048"),
    (_C.TLS_RSA_WITH_AES_256_GCM_SHA384, "rsa2048"),
]
_ = pki  # the fixture, imported for these tests


def _name(suite: int) -> str:
    from puretls.crypto.suites import suite_info

    info = suite_info(suite)
    assert info is not None
    return info.openssl_name


@pytest.mark.parametrize(("suite", "key_type"), DEFAULT_SUITES + RSA_KX, ids=lambda v: str(v))
def test_puretls_client_to_openssl_tls12_server(pki: Path, suite: int, key_type: str) -> None:
    cert, key = cert_files(pki, key_type)
    with openssl_server(cert, key, "-tls1_2", "-cipher", _name(suite)) as port:
        conn, body = puretls_client(pki, port, cipher_suites=(suite,))
    assert conn.negotiated.version == "TLSv1.2"
    assert conn.negotiated.extended_master_secret
    assert b"HTTP/1.0 200 ok" in body and b"TLSv1.2" in body
    assert _name(suite).encode() in body


def _s_client12(pki: Path, port: int, *args: str) -> str:
    assert OPENSSL is not None
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki / "ca.pem")]
    command += ["-servername", "localhost", "-verify_return_error", "-tls1_2", "-ign_eof", *args]
    proc = subprocess.run(command, input=b"hello over tls\n", capture_output=True, timeout=20)
    return (proc.stdout + proc.stderr).decode(errors="replace")


@pytest.mark.parametrize(("suite", "key_type"), DEFAULT_SUITES + RSA_KX, ids=lambda v: str(v))
def test_openssl_tls12_client_to_puretls_server(pki: Path, suite: int, key_type: str) -> None:
    conn, listener = _puretls_server(pki, key_type, cipher_suites=(suite,))
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client12(pki, listener.getsockname()[1], "-cipher", _name(suite))
        thread.join(10)
    assert not thread.errors  # type: ignore[attr-defined]
    assert f"Cipher is {_name(suite)}" in output
    assert "Extended master secret: yes" in output
    assert "echo: hello over tls" in output
    assert conn.negotiated.version == "TLSv1.2"


def test_openssl_client_resumes_a_session_id_with_puretls(pki: Path, tmp_path: Path) -> None:
    cache = SessionCache12()
    sess = tmp_path / "sess.pem"
    for flag, expect in (("-sess_out", "New, TLSv1.2"), ("-sess_in", "Reused, TLSv1.2")):
        conn, listener = _puretls_server(pki, "ecdsa-p256", tls12_session_cache=cache)
        with listener:
            thread = serve_once(conn, listener, b"echo: ")
            output = _s_client12(pki, listener.getsockname()[1], flag, str(sess), "-no_ticket")
            thread.join(10)
        assert expect in output, output
        assert "echo: hello over tls" in output
    assert conn.negotiated.session_resumed


def test_puretls_client_resumes_a_session_id_with_openssl(pki: Path) -> None:
    cert, key = cert_files(pki, "ecdsa-p256")
    with openssl_server(cert, key, "-tls1_2", "-no_ticket", "-naccept", "3") as port:
        first, _ = puretls_client(pki, port, max_version=TLS12)
        session = first.negotiated.tls12_session
        assert session is not None and not session.ticket
        second, body = puretls_client(pki, port, max_version=TLS12, tls12_session=session)
    assert second.negotiated.session_resumed
    assert b"200 ok" in body


def test_openssl_tls12_mutual_authentication_both_ways(pki: Path) -> None:
    from puretls.verify import CertificateVerifier, TrustStore

    store = TrustStore()
    store.add_cafile(str(pki / "ca.pem"))
    conn, listener = _puretls_server(
        pki,
        "ecdsa-p256",
        request_client_certificate=True,
        require_client_certificate=True,
        verifier=CertificateVerifier(store),
    )
    cert, key = cert_files(pki, "rsa2048")
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client12(pki, listener.getsockname()[1], "-cert", str(cert), "-key", str(key))
        thread.join(10)
    assert "echo: hello over tls" in output
    assert conn.negotiated.verified_chain is not None

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

    from puretls.config import CertifiedKey

    chain = tuple(
        c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(cert.read_bytes())
    )
    client_key = CertifiedKey(chain, load_pem_private_key(key.read_bytes(), None))  # type: ignore[arg-type]
    scert, skey = cert_files(pki, "ecdsa-p256")
    args = ("-tls1_2", "-Verify", "1", "-CAfile", str(pki / "ca.pem"))
    with openssl_server(scert, skey, *args) as port:
        client, body = puretls_client(pki, port, certificates=(client_key,))
    assert client.negotiated.version == "TLSv1.2"
    assert b"200 ok" in body


def test_puretls_client_detects_no_downgrade_from_tls12_only_openssl(pki: Path) -> None:
    """A TLS 1.2-only server does not set the sentinel: the default client accepts it."""
    cert, key = cert_files(pki, "ecdsa-p256")
    with openssl_server(cert, key, "-tls1_2") as port:
        conn, body = puretls_client(pki, port)
    assert conn.negotiated.version == "TLSv1.2" and b"200 ok" in body


def test_openssl_tls12_client_sees_downgrade_sentinel_from_tls13_server(pki: Path) -> None:
    conn, listener = _puretls_server(pki, "ecdsa-p256")
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client12(pki, listener.getsockname()[1])
        thread.join(10)
    # OpenSSL pinned to 1.2 does not check the sentinel; the handshake works.
    assert "echo: hello over tls" in output
    assert conn.negotiated.version == "TLSv1.2"


def test_puretls_refuses_openssl_tls11_client(pki: Path) -> None:
    conn, listener = _puretls_server(pki, "ecdsa-p256")
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        output = _s_client_raw(
            pki, listener.getsockname()[1], "-tls1_1", "-cipher", "ALL:@SECLEVEL=0"
        )
        thread.join(10)
    assert "alert protocol version" in output or "no protocols available" in output
    assert conn.error is None or conn.error.alert.name == "protocol_version"


def _s_client_raw(pki: Path, port: int, *args: str) -> str:
    assert OPENSSL is not None
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", *args]
    proc = subprocess.run(command, input=b"", capture_output=True, timeout=20)
    return (proc.stdout + proc.stderr).decode(errors="replace")


def test_puretls_client_resumes_with_an_openssl_session_ticket(pki: Path) -> None:
    """RFC 5077: the client sends the ticket back and the server echoes our session ID."""
    cert, key = cert_files(pki, "ecdsa-p256")
    with openssl_server(cert, key, "-tls1_2", "-naccept", "3") as port:
        first, _ = puretls_client(pki, port, max_version=TLS12)
        session = first.negotiated.tls12_session
        assert session is not None and session.ticket
        second, body = puretls_client(pki, port, max_version=TLS12, tls12_session=session)
    assert second.negotiated.session_resumed
    assert b"200 ok" in body and b"Reused" in body
