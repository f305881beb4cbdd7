"""``SSLSession``: the stdlib's session object, for TLS 1.3 and TLS 1.2 sessions.

The stdlib's ``ssl.SSLSession`` cannot be built from Python, so this is a
look-alike with the same read-only attributes (``id``, ``time``,
``timeout``, ``ticket_lifetime_hint``, ``has_ticket``) around either a
puretls :class:`~puretls.session.ClientSession` (a TLS 1.3 ticket) or a
:class:`~puretls.handshake.session12.TLS12Session` (a TLS 1.2 session ID
and/or RFC 5077 ticket).  Give it back to ``wrap_socket(..., session=...)`` /
``wrap_bio(..., session=...)`` or assign it to ``SSLSocket.session`` before
the handshake to resume.
"""

from __future__ import annotations

import hashlib

from puretls.handshake.session12 import TLS12Session
from puretls.session import ClientSession


class SSLSession:
    """A resumable session: one TLS 1.3 ticket, or one TLS 1.2 session."""

    __slots__ = ("_pt_session",)

    def __init__(self, session: ClientSession | TLS12Session) -> None:
        self._pt_session = session

    @property
    def session(self) -> ClientSession | TLS12Session:
        """puretls addition: the sans-I/O session.

        A ``ClientSession`` goes to ``TLSConfig.session``, a ``TLS12Session``
        to ``TLSConfig.tls12_session``.
        """
        return self._pt_session

    @property
    def id(self) -> bytes:
        session = self._pt_session
        if isinstance(session, TLS12Session):
            # The server's session ID; a ticket-only session (RFC 5077 3.4:
            # empty ID) is named by a hash of its ticket, as OpenSSL does.
            return session.session_id or hashlib.sha256(session.ticket).digest()
        return session.id

    @property
    def time(self) -> int:
        """When the session (or its ticket) arrived, in seconds since the epoch."""
        session = self._pt_session
        if isinstance(session, TLS12Session):
            return int(session.created)
        return int(session.received_at)

    @property
    def timeout(self) -> int:
        return self._pt_session.lifetime

    @property
    def ticket_lifetime_hint(self) -> int:
        session = self._pt_session
        if isinstance(session, TLS12Session) and not session.ticket:
            return 0  # no NewSessionTicket, no hint
        return session.lifetime

    @property
    def has_ticket(self) -> bool:
        return bool(self._pt_session.ticket)

    @property
    def max_early_data_size(self) -> int:
        """puretls addition: how much 0-RTT data the server accepts with it."""
        session = self._pt_session
        return 0 if isinstance(session, TLS12Session) else session.max_early_data_size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SSLSession) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<puretls.SSLSession id={self.id.hex()[:16]} timeout={self.timeout}>"
