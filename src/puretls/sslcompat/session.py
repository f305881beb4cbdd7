"""``SSLSession``: the stdlib's session object, for TLS 1.3 tickets.

The stdlib's ``ssl.SSLSession`` cannot be built from Python, so this is a
look-alike with the same read-only attributes (``id``, ``time``,
``timeout``, ``ticket_lifetime_hint``, ``has_ticket``) around a puretls
:class:`~puretls.session.ClientSession`.  Give it back to
``wrap_socket(..., session=...)`` / ``wrap_bio(..., session=...)`` or assign
it to ``SSLSocket.session`` before the handshake to resume.
"""

from __future__ import annotations

from puretls.session import ClientSession


class SSLSession:
    """A resumable TLS 1.3 session (one ticket)."""

    __slots__ = ("_pt_session",)

    def __init__(self, session: ClientSession) -> None:
        self._pt_session = session

    @property
    def session(self) -> ClientSession:
        """puretls addition: the sans-I/O session (``TLSConfig.session``)."""
        return self._pt_session

    @property
    def id(self) -> bytes:
        return self._pt_session.id

    @property
    def time(self) -> int:
        """When the ticket arrived, in seconds since the epoch."""
        return int(self._pt_session.received_at)

    @property
    def timeout(self) -> int:
        return self._pt_session.lifetime

    @property
    def ticket_lifetime_hint(self) -> int:
        return self._pt_session.lifetime

    @property
    def has_ticket(self) -> bool:
        return bool(self._pt_session.ticket)

    @property
    def max_early_data_size(self) -> int:
        """puretls addition: how much 0-RTT data the server accepts with it."""
        return self._pt_session.max_early_data_size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SSLSession) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<puretls.SSLSession id={self.id.hex()[:16]} timeout={self.timeout}>"
