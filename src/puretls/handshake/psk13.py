"""TLS 1.3 pre-shared keys: resumption tickets and external PSKs (RFC 8446 2.2, 4.2.11, 4.6.1).

Client: :func:`client_offer` picks what to offer (a cached session, external
PSKs), :func:`bind` computes the binders over the truncated ClientHello, and
:func:`server_selected` checks the server's choice.  Server:
:func:`server_select` opens tickets, checks age, suite hash and SNI, verifies
the binder (a wrong binder is fatal: decrypt_error), and
:func:`send_tickets` issues NewSessionTickets after the client's Finished.
Anything unusable about a ticket makes the server ignore it, and the
handshake falls back to a full one.  RFC 9258 imported PSKs are in
:class:`ExternalPsk`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from puretls.config import TLSConfig
from puretls.crypto import key_schedule as ks
from puretls.crypto.suites import CipherSuiteInfo, suite_info
from puretls.enums import ProtocolVersion, PskKeyExchangeMode
from puretls.errors import DecodeError, IllegalParameter, MissingExtension
from puretls.handshake.base import HandshakeIO, hello_extension
from puretls.messages import (
    ClientHello,
    EarlyData,
    Extension,
    KeyShare,
    NewSessionTicket,
    PreSharedKey,
    PskIdentity,
    PskKeyExchangeModes,
    ServerHello,
    client_hello_binder_prefix_length,
    find_extension,
)
from puretls.session import (
    MAX_TICKET_LIFETIME,
    ClientSession,
    ResumptionState,
    pack_resumption_state,
)
from puretls.transcript import Transcript

_MS = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class PskCandidate:
    """One PSK a client offers (or a server found): secret, hash and binder label."""

    identity: bytes
    psk: bytes
    hash_name: str
    # RFC 8446 7.1 "res binder" / "ext binder"; RFC 9258 4.2 "imp binder".
    binder_label: bytes
    obfuscated_age: int = 0
    session: ClientSession | None = None

    def __repr__(self) -> str:
        return f"PskCandidate(identity=<{len(self.identity)} bytes>, {self.hash_name})"

    def binder_key(self) -> bytes:
        early = ks.EarlySecret(self.hash_name, self.psk)
        return ks.derive_secret(
            self.hash_name, early.secret, self.binder_label, ks.empty_hash(self.hash_name)
        )


@dataclass(slots=True, kw_only=True)
class ClientPskOffer:
    """What the client offered, kept to check the ServerHello against."""

    candidates: list[PskCandidate]
    modes: tuple[int, ...]
    # 0-RTT: offered with the first candidate (RFC 8446 4.2.10).
    early_data: bool = False
    early_suite: CipherSuiteInfo | None = None
    max_early_data_size: int = 0

    def extensions(self) -> list[Extension]:
        """early_data (if any), then pre_shared_key, which must come last."""
        exts: list[Extension] = []
        if self.early_data:
            exts.append(EarlyData())
        identities = tuple(
            PskIdentity(identity=c.identity, obfuscated_ticket_age=c.obfuscated_age)
            for c in self.candidates
        )
        # Placeholder binders of the right length; bind() fills them in.
        binders = tuple(bytes(ks.hash_length(c.hash_name)) for c in self.candidates)
        exts.append(PreSharedKey(identities=identities, binders=binders))
        return exts


def _external_candidates(config: TLSConfig) -> list[PskCandidate]:
    return [
        PskCandidate(
            identity=p.wire_identity(),
            psk=p.derived_key(),
            hash_name=p.hash_name,
            binder_label=b"imp binder" if p.imported else b"ext binder",
        )
        for p in config.external_psks
    ]


def client_offer(config: TLSConfig, offered_suites: tuple[int, ...]) -> ClientPskOffer | None:
    """The PSKs to offer: the configured session first (if usable), then external PSKs."""
    if config.max_version < ProtocolVersion.TLSv1_3:
        return None  # a TLS 1.2-only ClientHello carries no TLS 1.3 PSKs
    now = config.time()
    candidates: list[PskCandidate] = []
    session = config.session
    early = False
    early_suite = None
    if session is not None and not session.expired(now) and session.cipher_suite in offered_suites:
        info = suite_info(session.cipher_suite)
        name_ok = session.server_name is None or session.server_name == config.server_name
        if info is not None and info.tls13 and name_ok:
            candidates.append(
                PskCandidate(
                    identity=session.ticket,
                    psk=session.psk,
                    hash_name=session.hash_name or info.hash_name,
                    binder_label=b"ext binder" if session.external else b"res binder",
                    obfuscated_age=session.obfuscated_age(now),
                    session=session,
                )
            )
            # RFC 8446 4.2.10: 0-RTT needs the same ALPN as the session.
            alpn = session.alpn_protocol
            alpn_ok = alpn is None or alpn.encode() in config.alpn_protocols
            if config.early_data and session.max_early_data_size > 0 and alpn_ok:
                early = True
                early_suite = info
            session.used = True
    candidates += _external_candidates(config)
    if not candidates:
        return None
    return ClientPskOffer(
        candidates=candidates,
        modes=config.psk_key_exchange_modes,
        early_data=early,
        early_suite=early_suite,
        max_early_data_size=session.max_early_data_size if early and session else 0,
    )


def _binder_hash(hash_name: str, transcript: Transcript | None, truncated: bytes) -> bytes:
    """Transcript-Hash(previous messages, truncated ClientHello) (RFC 8446 4.2.11.2)."""
    if transcript is not None and transcript.hash_known:
        return transcript.digest_with(truncated)
    return hashlib.new(hash_name, truncated).digest()


def bind(
    config: TLSConfig,
    hello: ClientHello,
    offer: ClientPskOffer,
    transcript: Transcript | None,
) -> ClientHello:
    """Fill in the binders of ``hello`` (RFC 8446 4.2.11.2).

    The message hook runs first, so the binders cover the ClientHello
    that will really be sent (the connection applies the hook again).
    """
    if config.message_hook is not None:
        hooked = config.message_hook(hello)
        assert isinstance(hooked, ClientHello)
        hello = hooked
    encoded = hello.encode()
    truncated = encoded[: client_hello_binder_prefix_length(encoded)]
    binders = [
        ks.finished_verify_data(
            c.hash_name, c.binder_key(), _binder_hash(c.hash_name, transcript, truncated)
        )
        for c in offer.candidates
    ]
    return hello.with_binders(binders)


def after_retry(offer: ClientPskOffer, hash_name: str) -> ClientPskOffer:
    """The offer for a second ClientHello: no 0-RTT, only PSKs of the suite's hash."""
    kept = [c for c in offer.candidates if c.hash_name == hash_name]
    return ClientPskOffer(candidates=kept, modes=offer.modes)


def server_selected(
    hello: ServerHello, offer: ClientPskOffer | None, suite: CipherSuiteInfo
) -> PskCandidate | None:
    """The PSK the server chose, checked against what we offered (RFC 8446 4.2.11)."""
    selected = find_extension(hello.extensions, PreSharedKey)
    if selected is None:
        return None
    index = selected.selected_identity
    if offer is None or index is None or index >= len(offer.candidates):
        raise IllegalParameter("server selected a PSK identity we did not offer")
    candidate = offer.candidates[index]
    if candidate.hash_name != suite.hash_name:
        raise IllegalParameter("server selected a PSK with a cipher suite of another hash")
    if find_extension(hello.extensions, KeyShare) is None and (
        PskKeyExchangeMode.psk_ke not in offer.modes
    ):
        raise MissingExtension("ServerHello has no key_share and we did not offer psk_ke")
    return candidate


def session_from_ticket(
    io: HandshakeIO, ticket: NewSessionTicket, suite: CipherSuiteInfo, resumption_secret: bytes
) -> ClientSession:
    """A resumable session from a NewSessionTicket (RFC 8446 4.6.1)."""
    early = find_extension(ticket.extensions, EarlyData)
    return ClientSession(
        cipher_suite=suite.suite,
        psk=ks.resumption_psk(suite.hash_name, resumption_secret, ticket.ticket_nonce),
        ticket=ticket.ticket,
        ticket_age_add=ticket.ticket_age_add,
        lifetime=ticket.ticket_lifetime,
        received_at=io.config.time(),
        max_early_data_size=(early.max_early_data_size or 0) if early else 0,
        server_name=io.config.server_name,
        alpn_protocol=io.negotiated.alpn_protocol,
    )


# --- server -------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class AcceptedPsk:
    """The PSK the server will use for this handshake."""

    index: int
    suite: CipherSuiteInfo
    psk: bytes = field(repr=False)
    mode: int
    identity: bytes = field(repr=False)
    state: ResumptionState | None
    client_age_ms: int = 0
    early_data_offered: bool = False


def _choose_mode(config: TLSConfig, hello: ClientHello) -> int | None:
    modes_ext = hello_extension(hello, PskKeyExchangeModes)
    if modes_ext is None:
        # RFC 8446 4.2.9: a PSK without modes is a protocol violation.
        raise MissingExtension("ClientHello offers a PSK without psk_key_exchange_modes")
    modes = modes_ext.modes
    has_share = hello_extension(hello, KeyShare) is not None
    if PskKeyExchangeMode.psk_dhe_ke in modes and has_share:
        return PskKeyExchangeMode.psk_dhe_ke
    if PskKeyExchangeMode.psk_ke in modes and config.allow_psk_ke:
        return PskKeyExchangeMode.psk_ke
    return None


def _open_ticket(
    config: TLSConfig, identity: PskIdentity, now: float, server_name: str | None
) -> tuple[ResumptionState, int] | None:
    """The resumption state of a ticket we can use, or None (full handshake)."""
    opened = config.ticket_keys.open(identity.identity, now)
    if opened is None:
        return None  # another server's key, a retired key, or garbage
    try:
        state = ResumptionState.decode(opened)
    except DecodeError:
        return None
    age_ms = int(now * _MS) - state.issued_at_ms
    if age_ms < -config.max_ticket_age_skew * _MS or age_ms > state.lifetime * _MS:
        return None  # RFC 8446 4.6.1: expired
    if state.server_name != server_name:
        return None  # RFC 8446 4.6.1: issued for another name
    client_age = (identity.obfuscated_ticket_age - state.ticket_age_add) & 0xFFFFFFFF
    return state, client_age


def mutual_suites(config: TLSConfig, hello: ClientHello) -> list[CipherSuiteInfo]:
    """Our TLS 1.3 suites the client offers, in our order of preference."""
    offered = set(hello.cipher_suites)
    infos = (suite_info(s) for s in config.cipher_suites if s in offered)
    return [i for i in infos if i is not None and i.tls13]


def _suite_for(
    suites: list[CipherSuiteInfo], hash_name: str, preferred: int | None
) -> CipherSuiteInfo | None:
    """RFC 8446 4.2.11: a suite of the PSK's hash; the ticket's own suite first."""
    same_hash = [s for s in suites if s.hash_name == hash_name]
    for info in same_hash:
        if info.suite == preferred:
            return info
    return same_hash[0] if same_hash else None


def server_select(
    io: HandshakeIO,
    hello: ClientHello,
    raw: bytes,
    suites: list[CipherSuiteInfo] | None,
    transcript: Transcript | None,
) -> AcceptedPsk | None:
    """Choose a PSK (and a suite of its hash) from the ClientHello, or None.

    ``suites`` are those the PSK may use; None means every TLS 1.3 suite we
    share with the client (worked out only when a PSK is offered).
    """
    offered = hello_extension(hello, PreSharedKey)
    if offered is None:
        return None
    config = io.config
    mode = _choose_mode(config, hello)
    if mode is None:
        return None
    if suites is None:
        suites = mutual_suites(config, hello)
    now = config.time()
    external = {p.wire_identity(): p for p in config.external_psks}
    for index, identity in enumerate(offered.identities):
        ext = external.get(identity.identity)
        state: ResumptionState | None = None
        client_age = 0
        if ext is not None:
            suite = _suite_for(suites, ext.hash_name, None)
            if suite is None:
                continue
            psk = ext.derived_key()
            label = b"imp binder" if ext.imported else b"ext binder"
        else:
            found = _open_ticket(config, identity, now, io.negotiated.server_name)
            if found is None:
                continue
            state, client_age = found
            info = suite_info(state.cipher_suite)
            # RFC 8446 4.6.1: resume only with a suite of the same hash.
            suite = _suite_for(suites, info.hash_name, info.suite) if info else None
            if suite is None:
                continue
            psk = state.psk
            label = b"res binder"
        candidate = PskCandidate(
            identity=identity.identity, psk=psk, hash_name=suite.hash_name, binder_label=label
        )
        _verify_binder(candidate, offered.binders[index], raw, transcript)
        return AcceptedPsk(
            index=index,
            suite=suite,
            psk=psk,
            mode=mode,
            identity=identity.identity,
            state=state,
            client_age_ms=client_age,
            early_data_offered=(
                index == 0 and transcript is None and hello_extension(hello, EarlyData) is not None
            ),
        )
    return None


def _verify_binder(
    candidate: PskCandidate, binder: bytes, raw: bytes, transcript: Transcript | None
) -> None:
    """RFC 8446 4.2.11.2: a wrong binder aborts with decrypt_error."""
    truncated = raw[: client_hello_binder_prefix_length(raw)]
    ks.verify_finished(
        candidate.hash_name,
        candidate.binder_key(),
        _binder_hash(candidate.hash_name, transcript, truncated),
        binder,
    )


def send_tickets(
    io: HandshakeIO, suite: CipherSuiteInfo, resumption_secret: bytes, count: int
) -> None:
    """Issue ``count`` NewSessionTickets (RFC 8446 4.6.1) sealed under our ticket keys."""
    for ticket in make_tickets(io, suite, resumption_secret, count):
        io.send_handshake(ticket)


def make_tickets(
    io: HandshakeIO, suite: CipherSuiteInfo, resumption_secret: bytes, count: int
) -> list[NewSessionTicket]:
    """The NewSessionTickets :func:`send_tickets` sends, made but not sent.

    A server may make them while it waits for the client's Finished
    (server13.ExpectClientFinished.prepare): the same rng draws in the same
    order (per ticket: ticket_age_add, then the sealing), so the tickets are
    the ones it would have made after the Finished.
    """
    config = io.config
    rng = config.rng
    now = config.time()  # one moment for the flight
    issued_at_ms = int(now * _MS)
    lifetime = min(config.ticket_lifetime, MAX_TICKET_LIFETIME)
    max_early = config.max_early_data_size
    extensions: tuple[Extension, ...] = ()
    if max_early > 0:
        extensions = (EarlyData(max_early_data_size=max_early),)
    negotiated = io.negotiated
    server_name = (negotiated.server_name or "").encode("utf-8")
    alpn = (negotiated.alpn_protocol or "").encode("utf-8")
    hash_name = suite.hash_name
    seal = config.ticket_keys.seal
    tickets = []
    for number in range(count):
        nonce = number.to_bytes(2, "big")
        age_add = int.from_bytes(rng(4), "big")
        # What ResumptionState(...).encode() gives, without the object.
        state = pack_resumption_state(
            suite.suite,
            ks.resumption_psk(hash_name, resumption_secret, nonce),
            issued_at_ms,
            age_add,
            lifetime,
            max_early,
            server_name,
            alpn,
        )
        tickets.append(
            NewSessionTicket(
                ticket_lifetime=lifetime,
                ticket_age_add=age_add,
                ticket_nonce=nonce,
                ticket=seal(state, now, rng),
                extensions=extensions,
            )
        )
    return tickets
