"""RFC 5077 session tickets for the TLS 1.2 server.

The server keeps no state: it seals the session (RFC 5077 4 recommends the
shape, RFC 5077 3.3 says what is in it) with the same ``TLSConfig.ticket_keys``
that seal TLS 1.3 tickets, so one key ring, one rotation and one key file
serve both versions.  What a TLS 1.2 ticket carries::

    uint16 version = 0x0303;        // never 0x01, the TLS 1.3 state's first byte
    uint16 cipher_suite;
    opaque master_secret<48>;
    uint8  extended_master_secret;  // RFC 7627 5.3
    uint64 issued_at;               // seconds since the epoch, TLSConfig.time
    uint32 lifetime;                // seconds
    opaque server_name<0..2^16-1>;  // RFC 6066 3: a session belongs to its name
    opaque alpn_protocol<0..255>;
    opaque peer_certificates<0..2^24-1>;  // DER, each with a 24-bit length

Opening a ticket never fails the handshake: a ticket that no live key
opens, that has expired, whose suite the client no longer offers, that
disagrees on the extended master secret or was issued for another name
simply gives a full handshake (RFC 5077 3.4) and, when asked for, a new
ticket.
"""

from __future__ import annotations

from dataclasses import replace

from puretls._codec import Reader, Writer
from puretls.config import TLSConfig
from puretls.errors import DecodeError
from puretls.handshake.base import HandshakeIO, hello_extension
from puretls.handshake.session12 import TLS12Session
from puretls.messages import (
    ClientHello,
    ExtendedMasterSecret,
    NewSessionTicket12,
    SessionTicket,
)
from puretls.transcript import Transcript

_STATE_VERSION = 0x0303
_MASTER_SECRET_LENGTH = 48
# RFC 5077 3.3: opaque ticket<0..2^16-1>; the sealing adds 16 + 12 + 16 bytes.
_MAX_STATE = 0xFFFF - 64


def encode_state(session: TLS12Session) -> bytes:
    """The bytes sealed into a ticket (see the module docstring)."""
    w = Writer()
    w.u16(_STATE_VERSION)
    w.u16(session.cipher_suite)
    w.opaque(1, session.master_secret)
    w.u8(1 if session.extended_master_secret else 0)
    w.uint(8, int(session.created))
    w.u32(session.lifetime)
    w.opaque(2, (session.server_name or "").encode("utf-8"))
    w.opaque(1, (session.alpn_protocol or "").encode("utf-8"))
    with w.block(3):
        for der in session.peer_certificates:
            w.opaque(3, der)
    return w.getvalue()


def decode_state(data: bytes, session_id: bytes) -> TLS12Session:
    """A sealed state back into a session named by the client's ``session_id``."""
    r = Reader(data)
    if r.u16() != _STATE_VERSION:
        raise DecodeError("not a TLS 1.2 ticket state")
    cipher_suite = r.u16()
    master_secret = r.opaque(1, _MASTER_SECRET_LENGTH, _MASTER_SECRET_LENGTH, "master secret")
    ems = r.u8()
    if ems > 1:
        raise DecodeError("bad extended_master_secret flag in ticket state")
    created = r.uint(8)
    lifetime = r.u32()
    try:
        server_name = r.opaque(2).decode("utf-8") or None
        alpn = r.opaque(1).decode("utf-8") or None
    except UnicodeDecodeError:
        raise DecodeError("ticket state names are not UTF-8") from None
    certificates = []
    with r.block(3, what="peer certificates") as sub:
        while not sub.at_end():
            certificates.append(sub.opaque(3, 1, what="certificate"))
    r.expect_end("TLS 1.2 ticket state")
    return TLS12Session(
        session_id=session_id,
        cipher_suite=cipher_suite,
        master_secret=master_secret,
        extended_master_secret=bool(ems),
        created=float(created),
        peer_certificates=tuple(certificates),
        alpn_protocol=alpn,
        server_name=server_name,
        lifetime=lifetime,
    )


def client_wants_ticket(config: TLSConfig, hello: ClientHello) -> bool:
    """RFC 5077 3.2: the client sent session_ticket, and we issue tickets at all.

    ``session_tickets`` (the stdlib's ``num_tickets``) is the one switch for
    both versions: 0 turns tickets off in TLS 1.3 and TLS 1.2 alike.
    """
    return config.session_tickets > 0 and (hello_extension(hello, SessionTicket) is not None)


def presented_ticket(hello: ClientHello) -> bytes:
    """The ticket in the ClientHello's session_ticket extension (empty: none)."""
    ext = hello_extension(hello, SessionTicket)
    return ext.ticket if ext is not None else b""


def open_ticket(io: HandshakeIO, hello: ClientHello, ticket: bytes) -> TLS12Session | None:
    """The session in ``ticket`` if this ClientHello may resume it, else None.

    The session keeps the client's session ID: RFC 5077 3.4 has the server
    echo it when it accepts the ticket, which is how the client tells an
    abbreviated handshake from a full one.
    """
    config = io.config
    now = config.time()
    opened = config.ticket_keys.open(ticket, now)
    if opened is None:
        return None  # another server's key, a retired key, or garbage
    try:
        session = decode_state(opened, hello.legacy_session_id)
    except DecodeError:
        return None  # for example a TLS 1.3 ticket: another state format
    if not session.is_fresh(now):
        return None  # RFC 5077 5.6: past its lifetime
    if session.cipher_suite not in hello.cipher_suites:
        return None  # RFC 5246 7.4.1.2: the client must still offer the suite
    if session.cipher_suite not in config.cipher_suites:
        return None
    if session.extended_master_secret != offers_ems(hello):
        # RFC 7627 5.3: never resume across a change in extended_master_secret;
        # the full handshake then applies require_extended_master_secret.
        return None
    if session.server_name != io.negotiated.server_name:
        return None  # RFC 6066 3: a session belongs to its server name
    if config.require_client_certificate and not session.peer_certificates:
        return None  # resuming must not skip a client certificate we now require
    return replace(session, ticket=ticket)


def offers_ems(hello: ClientHello) -> bool:
    return hello_extension(hello, ExtendedMasterSecret) is not None


def send_ticket(io: HandshakeIO, transcript: Transcript, session: TLS12Session) -> None:
    """RFC 5077 3.3: seal ``session`` and send NewSessionTicket (before our CCS).

    A renewed ticket keeps the original issue time, so renewing never makes
    a master secret live longer than one lifetime; the hint is what is
    left.  A state too big for a ticket (a very long client certificate
    chain) gets the zero-length ticket RFC 5077 3.3 provides for a server
    that changed its mind after promising one in ServerHello.
    """
    config = io.config
    now = config.time()
    state = encode_state(session)
    if len(state) > _MAX_STATE:
        message = NewSessionTicket12(ticket_lifetime_hint=0, ticket=b"")
    else:
        sealed = config.ticket_keys.seal(state, now, config.rng)
        remaining = max(0, int(session.created) + session.lifetime - int(now))
        message = NewSessionTicket12(ticket_lifetime_hint=remaining, ticket=sealed)
    transcript.update(io.send_handshake(message))
