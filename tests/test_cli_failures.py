"""One plain line per failure."""

from __future__ import annotations

import socket
import ssl

from puretls.cli.failures import describe_error
from puretls.errors import DecodeError


def test_certificate_errors_keep_the_plain_words_reason() -> None:
    exc = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate expired"
    )
    exc.verify_message = "certificate expired on 2025-01-31"
    assert describe_error(exc) == "certificate verify failed: certificate expired on 2025-01-31"


def test_ssl_errors_drop_the_c_source_position() -> None:
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    exc.reason = "WRONG_VERSION_NUMBER"
    assert describe_error(exc) == "TLS failure: wrong version number"


def test_ssl_errors_with_a_message_name_the_reason() -> None:
    exc = ssl.SSLError(1, "[SSL: HANDSHAKE_FAILURE] no common cipher suite")
    exc.reason = "HANDSHAKE_FAILURE"
    assert describe_error(exc) == "TLS failure: no common cipher suite (HANDSHAKE_FAILURE)"


def test_puretls_errors_name_their_alert() -> None:
    assert describe_error(DecodeError("truncated ClientHello")).startswith(
        "TLS failure (decode_error): truncated ClientHello"
    )


def test_socket_errors() -> None:
    assert describe_error(ConnectionRefusedError(111, "refused"), address="h:1") == (
        "connection refused by h:1"
    )
    assert describe_error(TimeoutError(), address="h:1", timeout=10) == "timed out after 10 s (h:1)"
    assert describe_error(socket.gaierror(-2, "Name or service not known"), address="x:1") == (
        "cannot resolve host (x:1): Name or service not known"
    )
    assert describe_error(ConnectionResetError(104, "reset")) == "connection reset by the peer"
    assert describe_error(FileNotFoundError(2, "No such file or directory")) == (
        "No such file or directory"
    )


def test_received_alerts_are_named_as_alerts() -> None:
    exc = ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure")
    exc.reason = "SSLV3_ALERT_HANDSHAKE_FAILURE"
    assert describe_error(exc, address="h:1") == (
        "TLS failure: the peer sent a fatal handshake_failure alert (h:1)"
    )
