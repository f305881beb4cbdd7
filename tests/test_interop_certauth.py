"""Certificates against real peers on loopback: mutual TLS, post-handshake auth,
OCSP stapling and per-name certificates with openssl s_client / s_server, and a
client certificate with gnutls-cli (skipped when it is not installed)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from peers import OPENSSL, handshake, openssl_server, read_until_closed
from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription
from puretls.errors import PeerAlert
from puretls.events import ApplicationData, PeerCertificateVerified
from puretls.testing import CertificateAuthority
from puretls.verify import CertificateVerifier, TrustStore

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
GNUTLS_CLI = shutil.which("gnutls-cli")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("certauth-pki")
    ca = CertificateAuthority(common_name="interop CA")
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    server = ca.issue(["localhost", "127.0.0.1"])
    files: dict[str, Any] = {"dir": directory, "ca": directory / "ca.pem", "authority": ca}
    files["server"] = server.write(directory, "server")
    files["server_cert"] = server
    files["a"] = ca.issue(["a.test"]).write(directory, "a")
    files["b"] = ca.issue(["b.test"], key_type="rsa2048").write(directory, "b")
    client = ca.issue([], common_name="alice", client=True, server=False)
    files["client"] = client.write(directory, "client")
    staple = directory / "server.ocsp"
    staple.write_bytes(ca.ocsp_response(server))
    files["staple"] = staple
    return files


def trust(pki: dict[str, Any], purpose: str = "server") -> CertificateVerifier:
    store = TrustStore()
    store.add_cafile(pki["ca"])
    return CertificateVerifier(store, purpose=purpose)  # type: ignore[arg-type]


def certified(files: tuple[Path, Path]) -> CertifiedKey:
    cert, key = files
    chain = tuple(
        c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(cert.read_bytes())
    )
    private = load_pem_private_key(key.read_bytes(), None)
    return CertifiedKey(chain, private)  # type: ignore[arg-type]


def s_client(pki: dict[str, Any], port: int, *args: str, name: str = "localhost") -> str:
    assert OPENSSL is not None
    proc = subprocess.run(
        [
            OPENSSL,
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-CAfile",
            str(pki["ca"]),
            "-servername",
            name,
            "-tls1_3",
            "-ign_eof",
            *args,
        ],
        input=b"hello over tls\n",
        capture_output=True,
        timeout=20,
    )
    return (proc.stdout + proc.stderr).decode(errors="replace")


class Server:
    """A puretls Connection serving one loopback client in a thread.

    Reads one line, optionally asks for the client's certificate after the
    handshake (RFC 8446 4.6.2), then answers and closes.
    """

    def __init__(self, config: TLSConfig, *, post_handshake_auth: bool = False) -> None:
        self.conn = Connection(config)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port: int = self.listener.getsockname()[1]
        self.pha = post_handshake_auth
        self.errors: list[BaseException] = []
        self.verified: list[PeerCertificateVerified] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pump(self, sock: socket.socket, until: Any) -> bytes:
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            while (event := self.conn.next_event()) is not None:
                if isinstance(event, ApplicationData):
                    got += event.data
                elif isinstance(event, PeerCertificateVerified):
                    self.verified.append(event)
            if until(got):
                return got
            data = sock.recv(65536)
            if not data:
                break
            try:
                self.conn.receive_data(data)
            finally:
                sock.sendall(self.conn.data_to_send())
        return got

    def _run(self) -> None:
        with self.listener:
            sock, _ = self.listener.accept()
        with sock:
            sock.settimeout(10)
            try:
                got = self._pump(sock, lambda g: self.conn.handshake_complete and b"\n" in g)
                if self.pha:
                    self.conn.request_client_certificate()
                    sock.sendall(self.conn.data_to_send())
                    self._pump(sock, lambda g: bool(self.verified))
                self.conn.send_data(b"echo: " + got)
                self.conn.close()
                sock.sendall(self.conn.data_to_send())
            except Exception as exc:  # reported by the test
                self.errors.append(exc)

    def join(self) -> None:
        self.thread.join(15)


def server_config(pki: dict[str, Any], **kw: object) -> TLSConfig:
    options: dict[str, object] = {"certificates": (certified(pki["server"]),)}
    options.update(kw)
    return TLSConfig(is_server=True, **options)  # type: ignore[arg-type]


def test_openssl_client_certificate_to_puretls_server_that_requires_one(
    pki: dict[str, Any],
) -> None:
    server = Server(
        server_config(
            pki,
            request_client_certificate=True,
            require_client_certificate=True,
            verifier=trust(pki, "client"),
        )
    )
    cert, key = pki["client"]
    output = s_client(pki, server.port, "-cert", str(cert), "-key", str(key))
    server.join()
    assert not server.errors
    assert "echo: hello over tls" in output
    assert server.conn.negotiated.verified_chain is not None


def test_openssl_client_without_certificate_gets_certificate_required(
    pki: dict[str, Any],
) -> None:
    server = Server(
        server_config(
            pki,
            request_client_certificate=True,
            require_client_certificate=True,
            verifier=trust(pki, "client"),
        )
    )
    output = s_client(pki, server.port)
    server.join()
    assert "certificate required" in output.lower()
    assert server.errors and "no certificate" in str(server.errors[0])


def test_post_handshake_auth_with_openssl_enable_pha(pki: dict[str, Any]) -> None:
    server = Server(
        server_config(pki, verifier=trust(pki, "client"), require_client_certificate=True),
        post_handshake_auth=True,
    )
    cert, key = pki["client"]
    output = s_client(pki, server.port, "-enable_pha", "-cert", str(cert), "-key", str(key))
    server.join()
    assert not server.errors
    assert "echo: hello over tls" in output
    assert server.verified and server.verified[0].certificates
    assert server.conn.negotiated.verified_chain is not None


def test_openssl_client_status_shows_the_puretls_staple(pki: dict[str, Any]) -> None:
    staple = pki["staple"].read_bytes()
    server = Server(server_config(pki, ocsp_responses=lambda leaf: staple))
    output = s_client(pki, server.port, "-status")
    server.join()
    assert "OCSP Response Status: successful" in output
    assert "Cert Status: good" in output


def test_openssl_client_servername_selects_the_certificate(pki: dict[str, Any]) -> None:
    chains = (certified(pki["a"]), certified(pki["b"]))
    for name in ("a.test", "b.test"):
        server = Server(TLSConfig(is_server=True, certificates=chains))
        output = s_client(pki, server.port, "-verify_hostname", name, name=name)
        server.join()
        assert f"CN = {name}" in output
        assert "Verify return code: 0 (ok)" in output


def puretls_client(pki: dict[str, Any], port: int, **kw: object) -> tuple[Connection, bytes]:
    config = TLSConfig(is_server=False, server_name="localhost", verifier=trust(pki), **kw)  # type: ignore[arg-type]
    conn = Connection(config)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        handshake(conn, sock)
        conn.send_data(b"GET / HTTP/1.0\r\n\r\n")
        sock.sendall(conn.data_to_send())
        body = read_until_closed(conn, sock)
    return conn, body


def test_puretls_client_certificate_to_openssl_server_verify(pki: dict[str, Any]) -> None:
    cert, key = pki["server"]
    with openssl_server(cert, key, "-tls1_3", "-Verify", "1", "-CAfile", str(pki["ca"])) as port:
        conn, body = puretls_client(pki, port, certificates=(certified(pki["client"]),))
    assert b"200 ok" in body
    assert "Certificate" in conn.negotiated.messages


def test_puretls_client_without_certificate_to_openssl_server_verify(
    pki: dict[str, Any],
) -> None:
    cert, key = pki["server"]
    args = ("-tls1_3", "-Verify", "1", "-CAfile", str(pki["ca"]))
    with openssl_server(cert, key, *args) as port, pytest.raises(PeerAlert) as info:
        puretls_client(pki, port)
    assert info.value.description == AlertDescription.certificate_required


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_puretls_client_reads_openssl_status_file(pki: dict[str, Any], version: str) -> None:
    cert, key = pki["server"]
    staple = pki["staple"]
    with openssl_server(cert, key, version, "-status_file", str(staple)) as port:
        conn, body = puretls_client(pki, port, ocsp_stapling=True, ocsp_must_staple=True)
    assert conn.negotiated.ocsp_response == staple.read_bytes()
    assert conn.negotiated.version == ("TLSv1.3" if version == "-tls1_3" else "TLSv1.2")
    assert b"200 ok" in body


@pytest.mark.skipif(GNUTLS_CLI is None, reason="gnutls-cli not installed")
def test_gnutls_client_certificate_to_puretls_server(pki: dict[str, Any]) -> None:
    server = Server(
        server_config(
            pki,
            request_client_certificate=True,
            require_client_certificate=True,
            verifier=trust(pki, "client"),
        )
    )
    cert, key = pki["client"]
    assert GNUTLS_CLI is not None
    proc = subprocess.run(
        [
            GNUTLS_CLI,
            "--x509cafile",
            str(pki["ca"]),
            "--x509certfile",
            str(cert),
            "--x509keyfile",
            str(key),
            "--port",
            str(server.port),
            "127.0.0.1",
            "--sni-hostname",
            "localhost",
            "--verify-hostname",
            "localhost",
        ],
        input=b"hello over tls\n",
        capture_output=True,
        timeout=20,
    )
    server.join()
    output = (proc.stdout + proc.stderr).decode(errors="replace")
    assert not server.errors, output
    assert "echo: hello over tls" in output
    assert server.conn.negotiated.verified_chain is not None
