"""Events the sans-I/O :class:`~puretls.connection.Connection` reports.

Small frozen records in the h11 manner: the caller feeds bytes in with
``receive_data`` and takes these out with ``next_event``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from puretls.session import ClientSession


@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeComplete:
    """Both Finished messages are verified; application data may flow."""

    alpn_protocol: str | None
    session_resumed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationData:
    """Decrypted application data from the peer (``early`` for 0-RTT)."""

    data: bytes
    early: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseNotify:
    """The peer sent close_notify: it will send no more data (RFC 8446 6.1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSessionTicketReceived:
    """A TLS 1.3 NewSessionTicket arrived after the handshake (RFC 8446 4.6.1)."""

    ticket_lifetime: int
    ticket: bytes
    # What to put in ``TLSConfig.session`` to resume with this ticket.
    session: ClientSession | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyUpdated:
    """Traffic keys changed (RFC 8446 4.6.3); ``by_peer`` says who asked."""

    by_peer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerCertificateVerified:
    """Post-handshake authentication finished (RFC 8446 4.6.2).

    ``certificates`` is the client's chain (DER, leaf first), empty when it
    declined to send one.
    """

    certificates: tuple[bytes, ...]


Event = (
    HandshakeComplete
    | ApplicationData
    | CloseNotify
    | NewSessionTicketReceived
    | KeyUpdated
    | PeerCertificateVerified
)
