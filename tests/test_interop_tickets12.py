"""RFC 5077 tickets from the puretls TLS 1.2 server, resumed by OpenSSL and GnuTLS clients."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from peers import OPENSSL, serve_once
from puretls.enums import ProtocolVersion
from puretls.session import TicketKeys
from test_interop_openssl import _puretls_server, pki
from test_interop_tls12 import _s_client12

TLS12 = ProtocolVersion.TLSv1_2
GNUTLS_CLI = shutil.which("gnutls-cli")
_ = pki  # the fixture, imported for these tests


def _sess_text(path: Path) -> str:
    assert OPENSSL is not None
    command = [OPENSSL, "sess_id", "-in", str(path), "-noout", "-text"]
    return subprocess.run(command, capture_output=True, timeout=10, check=True).stdout.decode()


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
def test_openssl_tls12_client_resumes_a_puretls_ticket(pki: Path, tmp_path: Path) -> None:
    # No session cache on the server: only the ticket can resume.
    keys = TicketKeys()
    sess = tmp_path / "sess.pem"
    outputs, servers = [], []
    for flag in ("-sess_out", "-sess_in"):
        conn, listener = _puretls_server(pki, "ecdsa-p256", ticket_keys=keys)
        with listener:
            thread = serve_once(conn, listener, b"echo: ")
            outputs.append(_s_client12(pki, listener.getsockname()[1], flag, str(sess)))
            thread.join(10)
        assert not thread.errors  # type: ignore[attr-defined]
        servers.append(conn)
    first, second = outputs
    assert "New, TLSv1.2" in first and "echo: hello over tls" in first
    assert "TLS session ticket lifetime hint: 7200" in first
    assert "TLS session ticket lifetime hint" in _sess_text(sess)
    assert "Reused, TLSv1.2" in second and "echo: hello over tls" in second, second
    assert not servers[0].negotiated.session_resumed
    assert servers[1].negotiated.session_resumed
    assert "NewSessionTicket12" in servers[1].negotiated.messages  # renewed (RFC 5077 3.1)


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
def test_openssl_ticket_from_another_server_gets_a_full_handshake(
    pki: Path, tmp_path: Path
) -> None:
    sess = tmp_path / "sess.pem"
    outputs = []
    for flag in ("-sess_out", "-sess_in"):
        conn, listener = _puretls_server(pki, "ecdsa-p256", ticket_keys=TicketKeys())
        with listener:
            thread = serve_once(conn, listener, b"echo: ")
            outputs.append(_s_client12(pki, listener.getsockname()[1], flag, str(sess)))
            thread.join(10)
        assert not thread.errors  # type: ignore[attr-defined]
    assert "New, TLSv1.2" in outputs[1] and "echo: hello over tls" in outputs[1]
    assert not conn.negotiated.session_resumed


@pytest.mark.skipif(GNUTLS_CLI is None, reason="gnutls-bin not installed")
def test_gnutls_client_resumes_a_puretls_ticket(pki: Path) -> None:
    assert GNUTLS_CLI is not None
    keys = TicketKeys()
    first, listener = _puretls_server(pki, "ecdsa-p256", ticket_keys=keys)
    second, _unused = _puretls_server(pki, "ecdsa-p256", ticket_keys=keys)
    _unused.close()
    with listener:
        port = listener.getsockname()[1]
        thread = serve_once(first, listener, b"echo: ")
        command = [GNUTLS_CLI, "-p", str(port), "localhost", "--resume"]
        command += [
            "--x509cafile",
            str(pki / "ca.pem"),
            "--priority",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2",
        ]
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            thread.join(10)  # gnutls-cli says goodbye and reconnects with the ticket
            thread2 = serve_once(second, listener, b"echo: ")
            out, _ = proc.communicate(b"hello over tls\n", timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        thread2.join(10)
    output = out.decode(errors="replace")
    assert first.handshake_complete and not first.negotiated.session_resumed
    assert "This is a resumed session" in output, output
    assert second.negotiated.session_resumed and second.negotiated.version == "TLSv1.2"
