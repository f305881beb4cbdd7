"""Describing a connection and a certificate as aligned lines."""

from __future__ import annotations

from puretls.cli.report import (
    certificate_rows,
    format_rows,
    handshake_messages,
    negotiated_state,
    subject_alt_names,
)
from puretls.testing import CertificateAuthority


def test_format_rows_aligns_values() -> None:
    text = format_rows([("protocol", "TLSv1.3"), ("ALPN", "h2")])
    assert text.splitlines() == ["protocol: TLSv1.3", "ALPN:     h2"]
    assert format_rows([]) == ""


def test_certificate_rows_show_subject_issuer_validity_and_names() -> None:
    ca = CertificateAuthority(common_name="Row CA")
    leaf = ca.issue(["localhost", "127.0.0.1", "::1"])
    rows = dict(certificate_rows(leaf.cert_der(), prefix="server "))
    assert "CN=localhost" in rows["server subject"]
    assert "CN=Row CA" in rows["server issuer"]
    assert rows["server valid from"].endswith(" UTC")
    assert rows["server valid until"] > rows["server valid from"]
    assert rows["server names"] == "DNS:localhost, IP:127.0.0.1, IP:::1"


def test_certificate_rows_without_a_certificate() -> None:
    assert certificate_rows(None) == [("certificate", "(none)")]


def test_subject_alt_names_empty_without_the_extension() -> None:
    leaf = CertificateAuthority().issue([], common_name="no names")
    assert subject_alt_names(leaf.certificate) == []


def test_non_puretls_sockets_have_no_handshake_record() -> None:
    assert negotiated_state(object()) is None
    assert handshake_messages(object()) == []
