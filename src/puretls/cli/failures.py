"""One plain line for why a connection failed."""

from __future__ import annotations

import re
import socket
import ssl

from puretls.errors import TLSError

# The stdlib appends the C source position: "... (_ssl.c:1006)".
_SOURCE_POSITION = re.compile(r"\s*\(_ssl\.c:\d+\)$")
# OpenSSL's reason for an alert received from the peer.
_ALERT_REASON = re.compile(r"^(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z0-9_]+)$")
# "[SSL: REASON] message" -> "message"
_REASON_PREFIX = re.compile(r"^\[SSL: [A-Z0-9_]+\]\s*")


def describe_error(exc: BaseException, *, address: str = "", timeout: float | None = None) -> str:
    """A short reason, e.g. ``connection refused by 127.0.0.1:4433``."""
    suffix = f" ({address})" if address else ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or _ssl_text(exc)
        return f"certificate verify failed: {_strip_prefix(reason)}"
    if isinstance(exc, ssl.SSLEOFError):
        return f"the peer closed the connection during the TLS handshake{suffix}"
    if isinstance(exc, ssl.SSLError):
        alert = _ALERT_REASON.match(getattr(exc, "reason", None) or "")
        if alert:
            return f"TLS failure: the peer sent a fatal {alert.group(1).lower()} alert{suffix}"
        return f"TLS failure: {_ssl_text(exc)}"
    if isinstance(exc, TLSError):
        return f"TLS failure ({exc.alert.name}): {exc.message}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {address}" if address else "connection refused"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by the peer{suffix}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host{suffix}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        seconds = f" after {timeout:g} s" if timeout else ""
        return f"timed out{seconds}{suffix}"
    if isinstance(exc, OSError):
        filename = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{filename}{suffix}"
    return f"{type(exc).__name__}: {exc}"


def _ssl_text(exc: ssl.SSLError) -> str:
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    text = _SOURCE_POSITION.sub("", text)
    reason = getattr(exc, "reason", None)
    stripped = _strip_prefix(text)
    if reason and stripped and stripped.lower() != reason.lower().replace("_", " "):
        return f"{stripped} ({reason})"
    return stripped or str(reason or exc)


def _strip_prefix(text: str) -> str:
    text = _REASON_PREFIX.sub("", text)
    if text.startswith("certificate verify failed: "):
        text = text[len("certificate verify failed: ") :]
    return text
