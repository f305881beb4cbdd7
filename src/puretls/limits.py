"""Resource limits against hostile or broken peers (docs/robustness.md).

RFC 8446 bounds records (5.1) and vectors, but leaves many costs a peer can
impose unbounded: a ClientHello may carry thousands of extensions and key
shares, a Certificate message dozens of certificates, and a handshake
message may trickle in one byte per record.  (KeyUpdate floods are bounded
by ``max_peer_key_updates`` in :mod:`puretls.handshake.key_update`.)  Each
limit here has a safe default in :class:`~puretls.config.TLSConfig`;
crossing one raises a :class:`TLSError` whose alert the connection sends,
after which the connection drops what it buffered.

The connection calls :class:`LimitGuard` at two points: for every handshake
record that leaves a message incomplete, and for every decoded handshake
message (before the state machine sees it).  Keeping the checks here keeps
the states about the protocol and the limits in one readable place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from puretls.config import TLSConfig
from puretls.enums import AlertDescription
from puretls.errors import CertificateError, DecodeError, IllegalParameter, UnexpectedMessage
from puretls.messages import Certificate, ClientHello, HandshakeMessage, KeyShare

T = TypeVar("T")


def keep_recent(items: list[T], limit: int) -> None:
    """Drop the oldest of ``items`` beyond ``limit`` (in place).

    For what a peer may legitimately send without bound, such as
    NewSessionTickets (RFC 8446 4.6.1): not an error, but not kept forever.
    """
    excess = len(items) - max(limit, 0)
    if excess > 0:
        del items[:excess]


@dataclass(slots=True)
class LimitGuard:
    """Counts what a peer has made us hold or do, against ``config``'s limits."""

    config: TLSConfig
    # Records that carried part of the handshake message still incomplete.
    fragments_pending: int = 0

    def on_handshake_record(self, message_incomplete: bool) -> None:
        """One handshake record arrived; ``message_incomplete``: it left a partial message.

        RFC 8446 5.1 allows a message to be split over any number of records,
        so a peer could make us run the reassembler once per byte of a 64 KiB
        message; a real peer needs a handful of records per message.
        """
        if not message_incomplete:
            self.fragments_pending = 0
            return
        self.fragments_pending += 1
        limit = self.config.max_handshake_fragments
        if self.fragments_pending > limit:
            raise UnexpectedMessage(
                f"a handshake message is still incomplete after {limit} records "
                "(max_handshake_fragments)"
            )

    def check_message(self, message: HandshakeMessage) -> None:
        """The per-message limits, checked before the handshake state runs."""
        if isinstance(message, Certificate):
            self._check_certificate(message)
            return
        extensions = getattr(message, "extensions", None)
        if extensions is not None and len(extensions) > self.config.max_extensions:
            raise self._too_many_extensions(message, len(extensions))
        if isinstance(message, ClientHello):
            self._check_key_shares(message)

    def _too_many_extensions(self, message: HandshakeMessage, count: int) -> DecodeError:
        limit = self.config.max_extensions
        return DecodeError(
            f"{type(message).__name__} carries {count} extensions, more than the "
            f"limit of {limit} (max_extensions)"
        )

    def _check_key_shares(self, hello: ClientHello) -> None:
        # A server computes at most one shared secret, but every share is
        # decoded and checked against supported_groups (RFC 8446 4.2.8).
        # The decoder refuses duplicate extensions: the first key_share is the one.
        for ext in hello.extensions:
            if isinstance(ext, KeyShare):
                if len(ext.client_shares) > self.config.max_key_shares:
                    raise IllegalParameter(
                        f"ClientHello offers {len(ext.client_shares)} key shares, more than "
                        f"the limit of {self.config.max_key_shares} (max_key_shares)"
                    )
                return

    def _check_certificate(self, message: Certificate) -> None:
        """Certificate: its entries' extensions (RFC 8446 4.4.2), then the chain."""
        count = sum(len(entry.extensions) for entry in message.certificate_list)
        if count > self.config.max_extensions:
            raise self._too_many_extensions(message, count)
        self._check_certificate_chain(message)

    def _check_certificate_chain(self, message: Certificate) -> None:
        config = self.config
        entries = message.certificate_list
        if len(entries) > config.max_certificate_chain_length:
            raise CertificateError(
                f"peer sent {len(entries)} certificates, more than the limit of "
                f"{config.max_certificate_chain_length} (max_certificate_chain_length)",
                alert=AlertDescription.bad_certificate,
            )
        size = sum(len(entry.cert_data) for entry in entries)
        if size > config.max_certificate_chain_size:
            raise CertificateError(
                f"peer's certificate chain is {size} bytes, more than the limit of "
                f"{config.max_certificate_chain_size} (max_certificate_chain_size)",
                alert=AlertDescription.bad_certificate,
            )
