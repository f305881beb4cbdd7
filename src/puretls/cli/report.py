"""What a connection negotiated, as aligned ``key: value`` lines."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any

from cryptography import x509

from puretls.enums import NamedGroup, SignatureScheme, enum_name

Rows = list[tuple[str, str]]


def format_rows(rows: Sequence[tuple[str, str]], indent: str = "") -> str:
    """``key: value`` lines with the values aligned in one column."""
    if not rows:
        return ""
    width = max(len(key) for key, _ in rows) + 1
    return "\n".join(f"{indent}{key + ':':<{width}} {value}" for key, value in rows)


def negotiated_state(sock: Any) -> Any:
    """The sans-I/O connection's ``negotiated`` record, if this is a puretls socket."""
    connection = getattr(sock, "connection", None)
    return getattr(connection, "negotiated", None)


def group_name(sock: ssl.SSLSocket) -> str:
    """The key exchange group: puretls's ``group()``, else the handshake record."""
    method = getattr(sock, "group", None)
    if callable(method):
        value = method()
        if value:
            return str(value)
    negotiated = negotiated_state(sock)
    group = getattr(negotiated, "group", None)
    return enum_name(NamedGroup, group) if isinstance(group, int) else "n/a"


def signature_scheme_name(sock: ssl.SSLSocket) -> str:
    """The server's CertificateVerify scheme: puretls's ``signature_scheme()``."""
    method = getattr(sock, "signature_scheme", None)
    if callable(method):
        value = method()
        if value:
            return str(value)
    negotiated = negotiated_state(sock)
    scheme = getattr(negotiated, "signature_scheme", None)
    return enum_name(SignatureScheme, scheme) if isinstance(scheme, int) else "n/a"


def connection_rows(sock: ssl.SSLSocket) -> Rows:
    """Protocol, suite, group, signature scheme and ALPN of a finished handshake."""
    cipher = sock.cipher()
    suite = f"{cipher[0]} ({cipher[2]}-bit key)" if cipher else "n/a"
    return [
        ("protocol", sock.version() or "n/a"),
        ("cipher suite", suite),
        ("key exchange", group_name(sock)),
        ("signature", signature_scheme_name(sock)),
        ("ALPN", sock.selected_alpn_protocol() or "(none)"),
    ]


def certificate_rows(der: bytes | None, prefix: str = "") -> Rows:
    """Subject, issuer, validity and names of a DER certificate."""
    if not der:
        return [(f"{prefix}certificate", "(none)")]
    cert = x509.load_der_x509_certificate(der)
    return [
        (f"{prefix}subject", cert.subject.rfc4514_string() or "(empty)"),
        (f"{prefix}issuer", cert.issuer.rfc4514_string() or "(empty)"),
        (f"{prefix}valid from", _when(cert.not_valid_before_utc)),
        (f"{prefix}valid until", _when(cert.not_valid_after_utc)),
        (f"{prefix}names", ", ".join(subject_alt_names(cert)) or "(no subjectAltName)"),
    ]


def _when(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def subject_alt_names(cert: x509.Certificate) -> list[str]:
    """DNS names and IP addresses of the subjectAltName extension, labelled."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    names = [f"DNS:{name}" for name in ext.value.get_values_for_type(x509.DNSName)]
    names += [f"IP:{addr}" for addr in ext.value.get_values_for_type(x509.IPAddress)]
    return names


def peer_certificate(sock: ssl.SSLSocket) -> bytes | None:
    try:
        return sock.getpeercert(binary_form=True)
    except (ValueError, OSError):
        return None


def handshake_messages(sock: Any) -> list[tuple[str, str]]:
    """(message, "sent"/"received") in the order this side saw them, if recorded."""
    negotiated = negotiated_state(sock)
    names = list(getattr(negotiated, "messages", None) or [])
    directions = list(getattr(negotiated, "message_directions", None) or [])
    directions += [""] * (len(names) - len(directions))
    return list(zip(names, directions, strict=False))
