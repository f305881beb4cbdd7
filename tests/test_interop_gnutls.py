"""TLS 1.2 interop with GnuTLS (gnutls-serv / gnutls-cli) on loopback, both directions."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from peers import free_port, serve_once, wait_for_port
from test_interop_openssl import _puretls_server, cert_files, pki, puretls_client

GNUTLS_SERV = shutil.which("gnutls-serv")
GNUTLS_CLI = shutil.which("gnutls-cli")
pytestmark = pytest.mark.skipif(
    GNUTLS_SERV is None or GNUTLS_CLI is None, reason="gnutls-bin not installed"
)
PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
_ = pki  # the fixture, imported for these tests


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048"])
def test_puretls_client_to_gnutls_tls12_server(pki: Path, key_type: str) -> None:
    assert GNUTLS_SERV is not None
    cert, key = cert_files(pki, key_type)
    port = free_port()
    command = [GNUTLS_SERV, "-p", str(port), "--x509certfile", str(cert)]
    command += ["--x509keyfile", str(key), "--priority", PRIORITY, "--http"]
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, proc)
        conn, body = puretls_client(pki, port)
    finally:
        proc.kill()
        proc.wait(5)
    assert conn.negotiated.version == "TLSv1.2"
    assert conn.negotiated.extended_master_secret
    assert b"This is <a href" in body and b"GnuTLS" in body


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048"])
def test_gnutls_tls12_client_to_puretls_server(pki: Path, key_type: str) -> None:
    assert GNUTLS_CLI is not None
    conn, listener = _puretls_server(pki, key_type)
    with listener:
        thread = serve_once(conn, listener, b"echo: ")
        command = [GNUTLS_CLI, "-p", str(listener.getsockname()[1]), "localhost"]
        command += ["--x509cafile", str(pki / "ca.pem"), "--priority", PRIORITY]
        proc = subprocess.run(command, input=b"hello over tls\n", capture_output=True, timeout=20)
        thread.join(10)
    output = (proc.stdout + proc.stderr).decode(errors="replace")
    assert not thread.errors  # type: ignore[attr-defined]
    assert "echo: hello over tls" in output, output
    assert "(TLS1.2" in output
    assert conn.negotiated.version == "TLSv1.2"
