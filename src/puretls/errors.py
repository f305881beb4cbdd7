"""The exception tree of puretls and the alert each exception sends.

Every protocol failure is raised, never sent by hand: the connection catches
a :class:`TLSError`, sends exactly one fatal alert taken from ``exc.alert``
and then stays closed.  The message the local user reads and the alert the
peer receives therefore come from the same object (DESIGN.md, "Rules").
"""

from __future__ import annotations

from puretls.enums import AlertDescription


class TLSError(Exception):
    """Base of every puretls protocol error; ``alert`` is what the peer gets."""

    default_alert: AlertDescription = AlertDescription.internal_error

    def __init__(self, message: str, *, alert: AlertDescription | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.alert: AlertDescription = alert if alert is not None else self.default_alert

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, alert={self.alert.name})"


class DecodeError(TLSError):
    """Malformed wire data: bad lengths, trailing bytes, out-of-range vectors."""

    default_alert = AlertDescription.decode_error


class UnexpectedMessage(TLSError):
    """A message or record arrived that the current state does not allow."""

    default_alert = AlertDescription.unexpected_message


class IllegalParameter(TLSError):
    """A syntactically valid field whose value is not allowed (RFC 8446 6.2)."""

    default_alert = AlertDescription.illegal_parameter


class BadRecordMac(TLSError):
    """A protected record failed AEAD authentication (RFC 8446 5.2)."""

    default_alert = AlertDescription.bad_record_mac


class RecordOverflow(TLSError):
    """A record longer than the limits of RFC 8446 5.1 / 5.2."""

    default_alert = AlertDescription.record_overflow


class HandshakeFailure(TLSError):
    """No acceptable set of parameters (RFC 8446 6.2)."""

    default_alert = AlertDescription.handshake_failure


class DecryptError(TLSError):
    """A handshake cryptographic check failed: signature, Finished, binder."""

    default_alert = AlertDescription.decrypt_error


class ProtocolVersionError(TLSError):
    """The peer's version is one we do not support."""

    default_alert = AlertDescription.protocol_version


class MissingExtension(TLSError):
    """A mandatory extension is absent (RFC 8446 9.2)."""

    default_alert = AlertDescription.missing_extension


class UnsupportedExtension(TLSError):
    """An extension appeared in a message that must not carry it (RFC 8446 4.2)."""

    default_alert = AlertDescription.unsupported_extension


class NoApplicationProtocol(TLSError):
    """ALPN: no protocol in common (RFC 7301 3.2)."""

    default_alert = AlertDescription.no_application_protocol


class CertificateError(TLSError):
    """The peer's certificate chain was rejected; ``alert`` names why."""

    default_alert = AlertDescription.bad_certificate

    def __init__(
        self,
        message: str,
        *,
        alert: AlertDescription | None = None,
        verify_code: int = 0,
    ) -> None:
        super().__init__(message, alert=alert)
        # OpenSSL's X509_V_ERR_* number, so ssl.SSLCertVerificationError
        # users see the verify_code they expect.
        self.verify_code = verify_code


class InternalError(TLSError):
    """A local failure unrelated to the peer (RFC 8446 6.2 internal_error)."""

    default_alert = AlertDescription.internal_error


class PeerAlert(TLSError):
    """The peer sent a fatal alert; nothing is sent back."""

    def __init__(self, description: AlertDescription | int) -> None:
        name = getattr(description, "name", str(int(description)))
        super().__init__(f"peer sent fatal alert {name}", alert=AlertDescription.close_notify)
        self.description = description


class ConnectionClosed(TLSError):
    """The connection is closed: no further data may be sent or received."""


class UnexpectedEOF(TLSError):
    """The transport ended without close_notify (RFC 8446 6.1): possible truncation.

    Nothing is sent for it: the transport is already gone.
    """

    default_alert = AlertDescription.close_notify
