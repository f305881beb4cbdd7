"""``puretls demo``: the guided loopback handshake that ``make demo`` runs."""

from __future__ import annotations

import argparse
import io

from cli_helpers import run_puretls
from puretls.cli.demo import run_demo


def test_demo_exits_zero_and_shows_the_handshake_steps_in_order() -> None:
    result = run_puretls("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    steps = [
        "client -> server  ClientHello",
        "server -> client  ServerHello",
        "server -> client  EncryptedExtensions",
        "server -> client  Certificate",
        "server -> client  CertificateVerify",
        "server -> client  Finished",
        "client -> server  Finished",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "< HTTP/1.1 200 OK" in out
    assert "MISMATCH" not in out
    assert "all 20 values match RFC 8448" in out


def test_demo_names_the_chosen_parameters() -> None:
    out = io.StringIO()
    status = run_demo(argparse.Namespace(tls13=True, no_selfcheck=True), out)
    text = out.getvalue()
    assert status == 0
    assert "the server picks TLS_" in text
    assert "x25519" in text  # the default first group
    assert "ALPN: http/1.1" in text
    assert "CN=localhost" in text
    assert "RFC 8448" not in text  # --no-selfcheck


def test_demo_tls12_shows_the_extra_round_trip() -> None:
    out = io.StringIO()
    status = run_demo(argparse.Namespace(tls13=False, tls12=True, no_selfcheck=True), out)
    text = out.getvalue()
    assert status == 0
    assert "The handshake (TLSv1.2)" in text
    steps = ["ServerKeyExchange", "ServerHelloDone", "ClientKeyExchange"]
    positions = [text.index(f"  {step}\n") for step in steps]
    assert positions == sorted(positions)
    assert "two round trips" in text and "one round trip" in text
    assert "the server picks ECDHE-ECDSA-AES128-GCM-SHA256" in text
