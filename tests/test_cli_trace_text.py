"""The text trace, and ``--trace`` / ``--trace-html`` on the commands.

The live test runs ``puretls client --trace --reveal-secrets`` against
``openssl s_server -keylogfile``: the secrets the trace prints must be the
ones OpenSSL wrote for that connection.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from cli_helpers import puretls_server, run_puretls
from puretls.cli.server import make_throwaway_certificate
from puretls.cli.trace_text import TextTracer, wants_colour
from test_cli_client import _s_server, needs_openssl
from test_connection import client_config, connect, server_config

# NSS key log label -> the name in the trace.
KEYLOG_NAMES = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "client_handshake_traffic_secret",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": "server_handshake_traffic_secret",
    "CLIENT_TRAFFIC_SECRET_0": "client_application_traffic_secret_0",
    "SERVER_TRAFFIC_SECRET_0": "server_application_traffic_secret_0",
    "EXPORTER_SECRET": "exporter_master_secret",
}


def traced_text(*, reveal: bool, colour: bool = False) -> str:
    out = io.StringIO()
    tracer = TextTracer(out, role="client", reveal_secrets=reveal, colour=colour)
    connect(client_config(tracer=tracer, alpn_protocols=(b"h2",)), server_config())
    return out.getvalue()


def test_text_trace_shows_one_block_per_message_with_arrows() -> None:
    text = traced_text(reveal=False)
    heads = re.findall(r"^(client (?:->|<-) server)  (\w+)", text, re.M)
    assert heads == [
        ("client -> server", "ClientHello"),
        ("client <- server", "ServerHello"),
        ("client <- server", "EncryptedExtensions"),
        ("client <- server", "Certificate"),
        ("client <- server", "CertificateVerify"),
        ("client <- server", "Finished"),
        ("client -> server", "Finished"),
        # Two session tickets by default (RFC 8446 4.6.1).
        ("client <- server", "NewSessionTicket"),
        ("client <- server", "NewSessionTicket"),
    ]
    assert re.search(r"^\s+server_name\s+localhost$", text, re.M)
    assert re.search(r"^\s+application_layer_protocol_negotiation\s+h2$", text, re.M)
    assert "supported_groups" in text and "x25519" in text
    assert "subject CN=localhost" in text and "valid " in text
    assert "protected by server_handshake_traffic_secret, seq 0" in text
    # Without --reveal-secrets: key changes by name only, no schedule lines.
    assert "read key <- server_handshake_traffic_secret" in text
    assert "HKDF-Extract" not in text and "\x1b[" not in text


def test_revealed_text_trace_lists_the_key_schedule_in_order() -> None:
    text = traced_text(reveal=True)
    names = re.findall(r"^\s+(\S+) = [0-9a-f]+$", text, re.M)
    main = [n for n in names if not n.startswith(("key(", "iv(", "finished_key("))]
    assert main == [
        "early_secret",
        "derived(early_secret)",
        "handshake_secret",
        "client_handshake_traffic_secret",
        "server_handshake_traffic_secret",
        "derived(handshake_secret)",
        "master_secret",
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
        # The PSK of each NewSessionTicket (RFC 8446 4.6.1).
        "resumption_psk",
        "resumption_psk",
    ]


def test_colour_only_on_a_terminal() -> None:
    assert "\x1b[36m" in traced_text(reveal=False, colour=True)
    assert not wants_colour(io.StringIO())


@needs_openssl
def test_live_trace_shows_the_secrets_openssl_logged(tmp_path: Path) -> None:
    ca, cert, key = make_throwaway_certificate(tmp_path)
    keylog = tmp_path / "openssl-keys.log"
    page = tmp_path / "client.html"
    with contextlib.closing(_s_server(cert, key, "-keylogfile", str(keylog))) as ports:
        port = next(ports)
        result = run_puretls(
            "client",
            "--trace",
            "--reveal-secrets",
            "--trace-html",
            str(page),
            "--cafile",
            str(ca),
            f"localhost:{port}",
            stdin=b"GET / HTTP/1.0\r\n\r\n",
        )
    assert result.returncode == 0, result.stderr
    trace = result.stderr.decode()
    ours = dict(re.findall(r"^\s+(\S+) = ([0-9a-f]+)$", trace, re.M))
    logged = {}
    for line in keylog.read_text().splitlines():
        parts = line.split()  # NSS format; OpenSSL starts with a # comment
        if len(parts) == 3 and parts[0] in KEYLOG_NAMES:
            logged[KEYLOG_NAMES[parts[0]]] = parts[2]
    assert set(logged) == set(KEYLOG_NAMES.values())
    assert {name: ours[name] for name in logged} == logged
    assert f"trace: HTML page written to {page}" in trace
    assert "<svg" in page.read_text() and "ClientHello" in page.read_text()


def test_server_trace_prints_what_the_server_saw(tmp_path: Path) -> None:
    page = tmp_path / "server.html"
    with puretls_server("--echo", "--trace", "--trace-html", str(page)) as server:
        assert server.ca_file is not None
        result = run_puretls(
            "client", "--cafile", str(server.ca_file), f"localhost:{server.port}", stdin=b"hi"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"hi"
        server.wait_for("client <- server  ServerHello")
        server.wait_for("client -> server  Finished")
    assert "HelloRetryRequest" not in "\n".join(server.lines)
    assert page.exists() and "Server" in page.read_text()
