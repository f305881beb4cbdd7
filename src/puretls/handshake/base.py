"""What every handshake state may ask of the connection, and the shared record
of what was negotiated.

A state receives one decoded message and a :class:`HandshakeIO`; it
validates, updates the transcript, derives keys and emits messages through
the IO, then returns the next state (DESIGN.md, "Rules of the house").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from puretls.config import TLSConfig
from puretls.crypto.suites import CipherSuiteInfo
from puretls.enums import ExtensionType
from puretls.errors import UnexpectedMessage, UnsupportedExtension
from puretls.events import Event
from puretls.messages import (
    ClientHello,
    Extension,
    HandshakeMessage,
    NewSessionTicket,
    find_extension,
)

if TYPE_CHECKING:
    from cryptography import x509

    from puretls.enums import AlertDescription
    from puretls.handshake.session12 import TLS12Session
    from puretls.record.protection import RecordProtection
    from puretls.session import ClientSession


@dataclass(slots=True, kw_only=True)
class Negotiated:
    """What the handshake settled on; filled in as the handshake proceeds."""

    version: str = "TLSv1.3"
    cipher_suite: CipherSuiteInfo | None = None
    group: int | None = None
    # The scheme of the server's CertificateVerify.
    signature_scheme: int | None = None
    alpn_protocol: str | None = None
    server_name: str | None = None
    peer_certificates: tuple[bytes, ...] = ()
    verified_chain: tuple[x509.Certificate, ...] | None = None
    # The DER OCSP response the server stapled (client) or sent (server).
    ocsp_response: bytes | None = None
    # Server: the client offered post_handshake_auth (RFC 8446 4.2.6).
    post_handshake_auth: bool = False
    session_resumed: bool = False
    # TLS 1.2 only: RFC 7627 in use, and the session to resume later.
    extended_master_secret: bool = False
    tls12_session: TLS12Session | None = None
    hello_retry_request: bool = False
    client_random: bytes = b""
    # Client: the NewSessionTickets received so far (RFC 8446 4.6.1), kept
    # for resumption.
    session_tickets: list[NewSessionTicket] = field(default_factory=list)
    # For people watching the handshake: message names in the order this
    # side sent or received them, and for each whether it was "sent" or
    # "received" (the connection appends to both as messages pass).
    messages: list[str] = field(default_factory=list)
    message_directions: list[str] = field(default_factory=list)
    # 0-RTT (RFC 8446 4.2.10): offered (client) and accepted or not (both).
    early_data_offered: bool = False
    early_data_accepted: bool | None = None
    max_early_data_size: int = 0
    # RFC 8446 7.5 early exporter, when 0-RTT keys exist; never in a repr.
    early_exporter_master_secret: bytes = field(default=b"", repr=False)
    # Client: resumable sessions built from the NewSessionTickets received.
    sessions: list[ClientSession] = field(default_factory=list)


class HandshakeIO(Protocol):
    """The connection as a handshake state sees it."""

    config: TLSConfig
    negotiated: Negotiated

    def send_handshake(self, message: HandshakeMessage) -> bytes:
        """Queue one message under the current write key; return its encoding."""

    def send_change_cipher_spec(self) -> None:
        """Queue the RFC 8446 D.4 dummy change_cipher_spec record."""

    def set_write_key(self, suite: CipherSuiteInfo, secret: bytes) -> None:
        """Protect everything sent from now on with keys from ``secret``."""

    def set_read_key(self, suite: CipherSuiteInfo, secret: bytes) -> None:
        """Expect everything received from now on under keys from ``secret``."""

    def clear_write_key(self) -> None:
        """Send plaintext records again (a client's second ClientHello after 0-RTT)."""

    def skip_early_data(self, enabled: bool) -> None:
        """Drop undecryptable 0-RTT records up to the limit (RFC 8446 4.2.10)."""

    def set_write_protection(self, protection: RecordProtection) -> None:
        """TLS 1.2: protect everything sent from now on with ``protection``."""

    def set_read_protection(self, protection: RecordProtection) -> None:
        """TLS 1.2: expect everything received from now on under ``protection``."""

    def send_warning_alert(self, description: AlertDescription) -> None:
        """Send a warning alert and carry on (TLS 1.2 no_renegotiation)."""

    def emit(self, event: Event) -> None:
        """Report an event to the application."""

    def keylog(self, label: str, secret: bytes) -> None:
        """Write one NSS key log line, when a key log was asked for."""


class State(Protocol):
    """One handshake state: named for the message it waits for."""

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        """Process ``message`` (its wire bytes are ``raw``); return the next state."""


class Preparing(Protocol):
    """A state with work it can do ahead, while its side waits for the peer.

    ``prepare`` runs only when the I/O layer is about to wait for input
    (:meth:`puretls.Connection.prepare`): it may compute what ``handle``
    will need (a key share, the expected Finished, tickets), but never
    sends, never changes state and never emits events, so calling it or
    not (once or many times) leaves the bytes on the wire the same.
    """

    def prepare(self, io: HandshakeIO) -> None:
        """Do work ahead for the next ``handle``; idempotent."""


# The extensions of the ClientHello being handled, by class.  A server asks
# about fifteen of them (versions, SNI, PSK, groups, shares, ALPN, signature
# algorithms, ...) in helpers spread over several modules, and a linear
# find_extension walks the whole list for each one that is absent.  The index
# of the last hello asked about is kept, keyed by the identity of its
# extensions tuple, which the entry holds (so that identity cannot be reused
# while it is there): one pass per hello, then one dict lookup per question.
# Entries are immutable tuples swapped in whole, so threads at worst rebuild.
_last_index: tuple[tuple[Extension, ...], dict[type, Extension]] = ((), {})

_T = TypeVar("_T")


def hello_extension(hello: ClientHello, cls: type[_T]) -> _T | None:
    """What ``find_extension(hello.extensions, cls)`` finds, from an index.

    Equivalent because no extension class derives from another; and the
    first of two extensions of one class wins in both (RFC 8446 4.2 forbids
    two, and the decoder rejects them, but a hook may build such a hello).
    """
    global _last_index
    extensions = hello.extensions
    last = _last_index
    if last[0] is not extensions:
        if type(extensions) is not tuple:  # a list can change under an index
            return find_extension(extensions, cls)
        last = (extensions, {type(e): e for e in reversed(extensions)})
        _last_index = last
    return last[1].get(cls)  # type: ignore[return-value]


def unexpected(message: HandshakeMessage, state: object) -> UnexpectedMessage:
    """The error for a message the state does not accept (RFC 8446 6.2)."""
    return UnexpectedMessage(f"unexpected {type(message).__name__} while in {type(state).__name__}")


def check_offered(extensions: tuple[Extension, ...], offered: frozenset[int], where: str) -> None:
    """A server may only answer extensions the client sent (RFC 8446 4.2)."""
    for ext in extensions:
        ext_type = int(ext.ext_type)
        if ext_type not in offered:
            name = (
                ExtensionType(ext_type).name
                if ext_type in ExtensionType._value2member_map_
                else ext_type
            )
            raise UnsupportedExtension(f"{where} carries extension {name} that was not offered")
