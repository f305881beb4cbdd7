"""TLS 1.2 sessions: what an abbreviated handshake resumes, and the server cache.

RFC 5246 7.3 and F.1.4: a session is its master secret, cipher suite and
peer identity, named by a session ID the server chose.  A resumed handshake
skips the key exchange and both sides derive new keys from the master
secret and the fresh randoms.  RFC 7627 5.3: a session made without the
extended master secret is never resumed by a handshake that has it, nor
the other way round.

The server keeps sessions in a bounded cache (least recently used out
first) with a lifetime, read from the injected clock (``config.time``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from puretls.crypto.suites import CipherSuiteInfo
    from puretls.handshake.base import HandshakeIO


@dataclass(frozen=True, slots=True, kw_only=True)
class TLS12Session:
    """One resumable TLS 1.2 session (either side)."""

    session_id: bytes
    cipher_suite: int
    master_secret: bytes
    extended_master_secret: bool
    created: float
    peer_certificates: tuple[bytes, ...] = ()
    alpn_protocol: str | None = None
    server_name: str | None = None
    # Client: an RFC 5077 ticket from the server, sent back to resume.
    ticket: bytes = b""
    lifetime: int = 7200

    def __repr__(self) -> str:  # the master secret never reaches a repr
        return (
            f"TLS12Session(id={self.session_id.hex()[:16]}..., suite=0x{self.cipher_suite:04x}, "
            f"ems={self.extended_master_secret}, ticket={bool(self.ticket)})"
        )

    def is_fresh(self, now: float) -> bool:
        return 0 <= now - self.created < self.lifetime

    def expired(self, now: float) -> bool:
        """Client: past the server's lifetime hint (what a session cache asks)."""
        return not self.is_fresh(now)


class Established12(Protocol):
    """What a finished TLS 1.2 handshake knows about its session (either side)."""

    suite: CipherSuiteInfo
    session_id: bytes
    extended_master_secret: bool
    master_secret: bytes


def session_of(
    io: HandshakeIO,
    ctx: Established12,
    *,
    server_name: str | None,
    lifetime: int,
    ticket: bytes = b"",
) -> TLS12Session:
    """The session a full handshake just made, for a cache, a ticket or the client."""
    return TLS12Session(
        session_id=ctx.session_id,
        cipher_suite=ctx.suite.suite,
        master_secret=ctx.master_secret,
        extended_master_secret=ctx.extended_master_secret,
        created=io.config.time(),
        peer_certificates=io.negotiated.peer_certificates,
        alpn_protocol=io.negotiated.alpn_protocol,
        server_name=server_name,
        ticket=ticket,
        lifetime=lifetime,
    )


class SessionCache12:
    """A server's bounded session-ID cache (RFC 5246 F.1.4: limit its lifetime).

    Shared by the connections of one server configuration; ``maxsize``
    bounds memory whatever clients do.
    """

    def __init__(self, maxsize: int = 1024, lifetime: int = 7200) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must not be negative")
        self.maxsize = maxsize
        self.lifetime = lifetime
        self._sessions: OrderedDict[bytes, TLS12Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def put(self, session: TLS12Session) -> None:
        if not session.session_id or self.maxsize == 0:
            return
        self._sessions[session.session_id] = session
        self._sessions.move_to_end(session.session_id)
        while len(self._sessions) > self.maxsize:
            self._sessions.popitem(last=False)

    def get(self, session_id: bytes, now: float) -> TLS12Session | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if not session.is_fresh(now) or now - session.created >= self.lifetime:
            del self._sessions[session_id]
            return None
        self._sessions.move_to_end(session_id)
        return session

    def remove(self, session_id: bytes) -> None:
        self._sessions.pop(session_id, None)
