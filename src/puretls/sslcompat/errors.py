"""Turning puretls errors into the stdlib's ``ssl`` exceptions.

asyncio, http.client, urllib3 and trio catch ``ssl.SSLWantReadError``,
``ssl.SSLCertVerificationError`` and friends by class, so the compat layer
raises the stdlib's own classes, filled in the way ``_ssl`` fills them:
``errno`` is an ``SSL_ERROR_*`` number, ``library`` is ``"SSL"``,
``reason`` an OpenSSL-style upper-case name, and ``str()`` reads
``"[SSL: REASON] message"``.
"""

from __future__ import annotations

import ssl

from puretls.enums import AlertDescription
from puretls.errors import CertificateError, PeerAlert, TLSError, UnexpectedEOF

# OpenSSL names received alerts after the protocol version that defined them:
# SSLv3 for the oldest, TLSv1 for RFC 2246 additions, TLSv1.3 for RFC 8446's.
_SSLV3_ALERTS = frozenset({10, 20, 30, 40, 41, 42, 43, 44, 45, 46, 47})
_TLSV13_ALERTS = frozenset({109, 116})


def alert_reason(description: int) -> str:
    """OpenSSL's reason for a received alert, e.g. ``TLSV1_ALERT_UNKNOWN_CA``."""
    try:
        name = AlertDescription(description).name.upper()
    except ValueError:
        return f"TLSV1_ALERT_{description}"
    if description in _SSLV3_ALERTS:
        return f"SSLV3_ALERT_{name}"
    if description in _TLSV13_ALERTS:
        return f"TLSV13_ALERT_{name}"
    return f"TLSV1_ALERT_{name}"


def make_ssl_error(
    cls: type[ssl.SSLError], errno: int, reason: str | None, message: str
) -> ssl.SSLError:
    """An ``ssl.SSLError`` (or subclass) shaped like the ones ``_ssl`` raises."""
    text = f"[SSL: {reason}] {message}" if reason else message
    exc = cls(errno, text)
    # typeshed declares these as str; _ssl leaves them None for want-read etc.
    exc.library = "SSL" if reason else None  # type: ignore[assignment]
    exc.reason = reason  # type: ignore[assignment]
    return exc


def want_read() -> ssl.SSLWantReadError:
    exc = make_ssl_error(
        ssl.SSLWantReadError, ssl.SSL_ERROR_WANT_READ, None, "The operation did not complete (read)"
    )
    assert isinstance(exc, ssl.SSLWantReadError)
    return exc


def want_write() -> ssl.SSLWantWriteError:
    exc = make_ssl_error(
        ssl.SSLWantWriteError,
        ssl.SSL_ERROR_WANT_WRITE,
        None,
        "The operation did not complete (write)",
    )
    assert isinstance(exc, ssl.SSLWantWriteError)
    return exc


def zero_return() -> ssl.SSLZeroReturnError:
    exc = make_ssl_error(
        ssl.SSLZeroReturnError,
        ssl.SSL_ERROR_ZERO_RETURN,
        None,
        "TLS/SSL connection has been closed (EOF)",
    )
    assert isinstance(exc, ssl.SSLZeroReturnError)
    return exc


def eof_error() -> ssl.SSLEOFError:
    """EOF without close_notify: a possible truncation attack (RFC 8446 6.1)."""
    exc = make_ssl_error(
        ssl.SSLEOFError,
        ssl.SSL_ERROR_EOF,
        "UNEXPECTED_EOF_WHILE_READING",
        "EOF occurred in violation of protocol",
    )
    assert isinstance(exc, ssl.SSLEOFError)
    return exc


def cert_verification_error(exc: CertificateError) -> ssl.SSLCertVerificationError:
    """The stdlib's verification error, keeping our plain-words reason."""
    err = make_ssl_error(
        ssl.SSLCertVerificationError,
        ssl.SSL_ERROR_SSL,
        "CERTIFICATE_VERIFY_FAILED",
        f"certificate verify failed: {exc.message}",
    )
    assert isinstance(err, ssl.SSLCertVerificationError)
    err.verify_code = exc.verify_code
    err.verify_message = exc.message
    return err


def _local_reason(exc: TLSError) -> str:
    # A TLSError subclass may name an OpenSSL-style reason itself
    # (e.g. NO_SHARED_CIPHER); otherwise the alert we sent names it.
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    return exc.alert.name.upper()


def to_ssl_error(exc: TLSError) -> ssl.SSLError:
    """The stdlib exception for a puretls protocol error."""
    if isinstance(exc, CertificateError):
        return cert_verification_error(exc)
    if isinstance(exc, UnexpectedEOF):
        return eof_error()
    if isinstance(exc, PeerAlert):
        description = int(exc.description)
        reason = alert_reason(description)
        words = reason.lower().replace("_", " ")
        return make_ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, reason, words)
    return make_ssl_error(ssl.SSLError, ssl.SSL_ERROR_SSL, _local_reason(exc), exc.message)
