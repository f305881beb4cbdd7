"""TLS 1.2 client handshake (RFC 5246 7.3, 7.4), one class per state.

The ClientHello is the TLS 1.3 client's (one hello offers both versions);
this module adds its TLS 1.2 suites and extensions and takes over when the
ServerHello has no supported_versions, i.e. the server chose TLS 1.2.

Full handshake::

    ServerHello  Certificate  [CertificateStatus]  [ServerKeyExchange]
    [CertificateRequest]  ServerHelloDone
        -> [Certificate]  ClientKeyExchange  [CertificateVerify]
           ChangeCipherSpec  Finished
    [NewSessionTicket]  ChangeCipherSpec  Finished

Abbreviated (resumed) handshake: ServerHello [NewSessionTicket]
ChangeCipherSpec Finished, then our ChangeCipherSpec and Finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import padding, rsa

from puretls.config import TLSConfig
from puretls.crypto import prf
from puretls.crypto.certs import public_key_from_der
from puretls.crypto.groups import KeyExchange, generate_key_exchange
from puretls.crypto.signatures import PrivateKey, PublicKey, sign, verify
from puretls.crypto.suites import CipherSuiteInfo, suite_info
from puretls.enums import ProtocolVersion
from puretls.errors import (
    DecodeError,
    HandshakeFailure,
    IllegalParameter,
    ProtocolVersionError,
    UnexpectedMessage,
)
from puretls.events import HandshakeComplete, NewSessionTicketReceived
from puretls.handshake import auth13
from puretls.handshake.base import HandshakeIO, State, check_offered, unexpected
from puretls.handshake.common12 import (
    TLS12,
    VERSION_NAME,
    Traffic12,
    check_renegotiation_info,
    choose_scheme12,
    install_keys,
    key_can_authenticate,
    signed_params,
)
from puretls.handshake.common13 import DOWNGRADE_SENTINELS
from puretls.handshake.session12 import TLS12Session, session_of
from puretls.messages import (
    ALPN,
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    CertificateVerify,
    ClientKeyExchange,
    EcPointFormats,
    ExtendedMasterSecret,
    Extension,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NewSessionTicket12,
    RenegotiationInfo,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    SessionTicket,
    StatusRequest,
    SupportedVersions,
    find_extension,
)
from puretls.transcript import Transcript

_TLS13 = ProtocolVersion.TLSv1_3
# RFC 8422 5.1.2: uncompressed points only.
_UNCOMPRESSED = 0


def offers_tls12(config: TLSConfig) -> bool:
    return config.min_version <= TLS12 <= config.max_version


def offered_versions(config: TLSConfig) -> tuple[int, ...]:
    """supported_versions, best first (RFC 8446 4.2.1)."""
    low, high = config.min_version, config.max_version
    return _VERSIONS[(low <= _TLS13 <= high, low <= TLS12 <= high)]


_VERSIONS: dict[tuple[bool, bool], tuple[int, ...]] = {
    (True, True): (_TLS13, TLS12),
    (True, False): (_TLS13,),
    (False, True): (TLS12,),
    (False, False): (),
}


def offered_suites(config: TLSConfig) -> tuple[int, ...]:
    """The TLS 1.2 suites to add to ClientHello.cipher_suites (none if 1.2 is off)."""
    if not offers_tls12(config):
        return ()
    return tls12_suites(config.cipher_suites)


def tls12_suites(cipher_suites: Sequence[int]) -> tuple[int, ...]:
    """The TLS 1.2 suites we know among ``cipher_suites``, in their order."""
    return tuple(s for s in cipher_suites if (i := suite_info(s)) and not i.tls13)


def hello_extensions(config: TLSConfig) -> list[Extension]:
    """The TLS 1.2 extensions of our ClientHello (none if 1.2 is off)."""
    if not offers_tls12(config):
        return []
    session = config.tls12_session
    if session is None:
        return [*_TLS12_HELLO_EXTENSIONS, _ASK_FOR_TICKET]
    return [*_TLS12_HELLO_EXTENSIONS, SessionTicket(ticket=session.ticket)]


# Frozen values, the same in every ClientHello: made once.
_TLS12_HELLO_EXTENSIONS: tuple[Extension, ...] = (
    EcPointFormats(formats=(_UNCOMPRESSED,)),
    ExtendedMasterSecret(),
    # RFC 5746 3.4: an empty renegotiation_info signals secure renegotiation
    # support; we never renegotiate, but servers expect the signal.
    RenegotiationInfo(),
)
# RFC 5077 3.2: an empty SessionTicket asks for a ticket; ours resumes.
_ASK_FOR_TICKET = SessionTicket(ticket=b"")


def resumption_session_id(config: TLSConfig) -> bytes | None:
    """The session ID to offer for session-ID resumption, if any (RFC 5246 7.4.1.2)."""
    session = config.tls12_session
    if session is None or not offers_tls12(config):
        return None
    if session.ticket:
        # RFC 5077 3.4: a fresh ID, echoed only if the server takes the
        # ticket, tells resumption from a full handshake.
        return config.rng(32)
    return session.session_id or None


def is_tls12_server_hello(hello: ServerHello) -> bool:
    """RFC 8446 4.1.3: a ServerHello without supported_versions chose TLS 1.2 or below."""
    return find_extension(hello.extensions, SupportedVersions) is None


@dataclass(slots=True, kw_only=True)
class Offer12:
    """What our ClientHello offered, as the TLS 1.2 states need it."""

    client_random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    offered_types: frozenset[int]
    transcript: Transcript
    retried: bool


@dataclass(slots=True, kw_only=True)
class _Context:
    """What the client carries from ServerHello to its Finished."""

    transcript: Transcript
    suite: CipherSuiteInfo
    client_random: bytes
    server_random: bytes
    session_id: bytes
    extended_master_secret: bool
    ticket_expected: bool
    status_expected: bool
    public_key: PublicKey | None = None
    server_kx: tuple[int, bytes] | None = None  # (group, point) from ServerKeyExchange
    certificate_request: CertificateRequest12 | None = None
    master_secret: bytes = field(default=b"", repr=False)
    new_ticket: NewSessionTicket12 | None = None


def handle_server_hello(hello: ServerHello, raw: bytes, io: HandshakeIO, offer: Offer12) -> State:
    """The server chose TLS 1.2: check its hello, then follow the 1.2 flow."""
    config = io.config
    if config.max_version >= _TLS13 and hello.random[-8:] in DOWNGRADE_SENTINELS:
        # RFC 8446 4.1.3: a TLS 1.3 server was pushed down to 1.2 or below.
        raise IllegalParameter("ServerHello.random carries a downgrade sentinel")
    if hello.legacy_version != TLS12:
        raise ProtocolVersionError(
            f"server chose version 0x{hello.legacy_version:04x}; only TLS 1.2 and 1.3 are supported"
        )
    if not offers_tls12(config):
        raise ProtocolVersionError("server chose TLS 1.2, which is disabled (minimum_version)")
    if offer.retried:
        raise IllegalParameter("server chose TLS 1.2 after a TLS 1.3 HelloRetryRequest")
    info = suite_info(hello.cipher_suite)
    if info is None or info.tls13 or hello.cipher_suite not in offer.cipher_suites:
        raise IllegalParameter(f"server chose cipher suite 0x{hello.cipher_suite:04x} not offered")
    if hello.legacy_compression_method != 0:
        raise IllegalParameter("ServerHello selects a compression method")
    # RFC 5746 3.4: renegotiation_info is an answer to our own signal.
    check_offered(hello.extensions, offer.offered_types, "ServerHello")
    reneg = find_extension(hello.extensions, RenegotiationInfo)
    if reneg is not None:
        check_renegotiation_info(reneg.renegotiated_connection)
    ems = find_extension(hello.extensions, ExtendedMasterSecret) is not None
    _apply_alpn(io, hello)
    negotiated = io.negotiated
    negotiated.version = VERSION_NAME
    negotiated.cipher_suite = info
    negotiated.extended_master_secret = ems
    negotiated.server_name = config.server_name
    transcript = offer.transcript
    transcript.keep_messages()
    transcript.set_hash(info.hash_name)
    transcript.update(raw)
    ctx = _Context(
        transcript=transcript,
        suite=info,
        client_random=offer.client_random,
        server_random=hello.random,
        session_id=hello.legacy_session_id_echo,
        extended_master_secret=ems,
        ticket_expected=find_extension(hello.extensions, SessionTicket) is not None,
        status_expected=find_extension(hello.extensions, StatusRequest) is not None,
    )
    resumed = _resumed_session(io, hello, offer, info, ems)
    if resumed is not None:
        return _start_abbreviated(io, ctx, resumed)
    if not ems and config.require_extended_master_secret:
        # RFC 7627 5.2: without it the master secret is not bound to the handshake.
        raise HandshakeFailure(
            "server does not support extended_master_secret (RFC 7627); "
            "set require_extended_master_secret=False to allow it"
        )
    return ExpectCertificate(ctx=ctx)


def _apply_alpn(io: HandshakeIO, hello: ServerHello) -> None:
    alpn = find_extension(hello.extensions, ALPN)
    if alpn is None:
        return
    # RFC 7301 3.1: exactly one protocol, one that we offered.
    if len(alpn.protocols) != 1 or alpn.protocols[0] not in io.config.alpn_protocols:
        raise IllegalParameter("server selected an ALPN protocol we did not offer")
    io.negotiated.alpn_protocol = alpn.protocols[0].decode("ascii", "replace")


def _resumed_session(
    io: HandshakeIO, hello: ServerHello, offer: Offer12, info: CipherSuiteInfo, ems: bool
) -> TLS12Session | None:
    """RFC 5246 7.4.1.3 / RFC 5077 3.4: an echoed session ID means resumption."""
    session = io.config.tls12_session
    echoed = hello.legacy_session_id_echo
    if session is None or not echoed or echoed != offer.session_id:
        if echoed and echoed == offer.session_id and offer.session_id:
            # We offered a random ID (compatibility) and nothing to resume.
            raise IllegalParameter("server resumed a session we never had")
        return None
    if session.cipher_suite != info.suite:
        raise IllegalParameter("server resumed a session with a different cipher suite")
    if session.extended_master_secret != ems:
        # RFC 7627 5.3: the resumed handshake must agree with the original.
        raise HandshakeFailure("resumed session disagrees on extended_master_secret")
    return session


def _start_abbreviated(io: HandshakeIO, ctx: _Context, session: TLS12Session) -> State:
    ctx.master_secret = session.master_secret
    negotiated = io.negotiated
    negotiated.session_resumed = True
    negotiated.peer_certificates = session.peer_certificates
    io.keylog("CLIENT_RANDOM", session.master_secret)
    negotiated.tls12_session = session
    if ctx.ticket_expected:
        return ExpectNewSessionTicket(ctx=ctx, resumed=True)
    return ExpectChangeCipherSpec(ctx=ctx, resumed=True)


@dataclass(slots=True, kw_only=True)
class ExpectCertificate:
    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, Certificate12):
            raise unexpected(message, self)
        if not message.certificate_list:
            raise DecodeError("server sent an empty Certificate message")
        ctx = self.ctx
        chain = message.certificate_list
        public_key = public_key_from_der(chain[0])
        if not key_can_authenticate(ctx.suite, public_key):
            raise IllegalParameter(
                f"server certificate key does not fit {ctx.suite.openssl_name} (RFC 8422 5.3)"
            )
        negotiated = io.negotiated
        negotiated.peer_certificates = chain
        verifier = io.config.verifier
        if verifier is not None:
            verified = verifier.verify(chain, io.config.server_name, io.config.clock())
            negotiated.verified_chain = verified.certificates
        ctx.public_key = public_key
        ctx.transcript.update(raw)
        if ctx.status_expected:
            return ExpectCertificateStatus(ctx=ctx)
        _check_staple(io, None)
        return _after_certificate(ctx)


def _after_certificate(ctx: _Context) -> State:
    if ctx.suite.key_exchange == "ECDHE":
        return ExpectServerKeyExchange(ctx=ctx)
    return ExpectServerHelloDone(ctx=ctx)


@dataclass(slots=True, kw_only=True)
class ExpectCertificateStatus:
    """RFC 6066 8: the stapled OCSP response the server promised (it may skip it)."""

    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if isinstance(message, CertificateStatus):
            self.ctx.transcript.update(raw)
            _check_staple(io, message.ocsp_response)
            return _after_certificate(self.ctx)
        _check_staple(io, None)
        return _after_certificate(self.ctx).handle(message, raw, io)


def _check_staple(io: HandshakeIO, staple: bytes | None) -> None:
    """The OCSP staple (or its absence) against the verified chain (RFC 6066 8)."""
    io.negotiated.ocsp_response = staple
    path = io.negotiated.verified_chain
    if path is not None:
        auth13.check_staple(io.config, staple, path, io.config.clock())


@dataclass(slots=True, kw_only=True)
class ExpectServerKeyExchange:
    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, ServerKeyExchange):
            raise unexpected(message, self)
        ctx = self.ctx
        config = io.config
        if message.named_group not in config.groups:
            raise IllegalParameter(
                f"ServerKeyExchange uses group 0x{message.named_group:04x} we did not offer"
            )
        if message.algorithm not in config.signature_schemes:
            # Our list has no MD5 / SHA-1 schemes: RFC 9155 holds here too.
            raise IllegalParameter(
                f"ServerKeyExchange signed with scheme 0x{message.algorithm:04x} not offered"
            )
        assert ctx.public_key is not None
        content = signed_params(ctx.client_random, ctx.server_random, message.params())
        verify(
            message.algorithm,
            ctx.public_key,
            content,
            message.signature,
            tls13=False,
            what="ServerKeyExchange",
        )
        io.negotiated.group = message.named_group
        io.negotiated.signature_scheme = message.algorithm
        ctx.server_kx = (message.named_group, message.public)
        ctx.transcript.update(raw)
        return ExpectServerHelloDone(ctx=ctx)


@dataclass(slots=True, kw_only=True)
class ExpectServerHelloDone:
    """Waits for ServerHelloDone, possibly after a CertificateRequest."""

    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        ctx = self.ctx
        if isinstance(message, CertificateRequest12) and ctx.certificate_request is None:
            ctx.certificate_request = message
            ctx.transcript.update(raw)
            return self
        if not isinstance(message, ServerHelloDone):
            raise unexpected(message, self)
        ctx.transcript.update(raw)
        return _send_client_flight(io, ctx)


def _send_client_flight(io: HandshakeIO, ctx: _Context) -> State:
    """RFC 5246 7.3: [Certificate] ClientKeyExchange [CertificateVerify] CCS Finished."""
    transcript = ctx.transcript
    signer = _send_client_certificate(io, ctx) if ctx.certificate_request else None
    pre_master = _send_client_key_exchange(io, ctx)
    ems = ctx.extended_master_secret
    hash_name = ctx.suite.hash_name
    if ems:
        # RFC 7627 4: session_hash covers everything through ClientKeyExchange.
        master = prf.extended_master_secret(hash_name, pre_master, transcript.digest())
    else:
        master = prf.master_secret(hash_name, pre_master, ctx.client_random, ctx.server_random)
    ctx.master_secret = master
    io.keylog("CLIENT_RANDOM", master)
    if signer is not None:
        key, scheme = signer
        # RFC 5246 7.4.8: the signature covers every handshake message so far.
        signature = sign(scheme, key, transcript.messages(), tls13=False)
        transcript.update(
            io.send_handshake(CertificateVerify(algorithm=scheme, signature=signature))
        )
    _send_finished(io, ctx)
    if ctx.ticket_expected:
        return ExpectNewSessionTicket(ctx=ctx, resumed=False)
    return ExpectChangeCipherSpec(ctx=ctx, resumed=False)


def _send_client_certificate(io: HandshakeIO, ctx: _Context) -> tuple[PrivateKey, int] | None:
    """RFC 5246 7.4.6: a chain whose key can sign a scheme the server asked for."""
    request = ctx.certificate_request
    assert request is not None
    config = io.config
    for certified in config.certificates:
        scheme = choose_scheme12(
            certified.private_key, request.supported_signature_algorithms, config.signature_schemes
        )
        if scheme is not None:
            ctx.transcript.update(
                io.send_handshake(Certificate12(certificate_list=certified.chain))
            )
            return certified.private_key, scheme
    # No fitting certificate: an empty list, and the server decides.
    ctx.transcript.update(io.send_handshake(Certificate12()))
    return None


def _send_client_key_exchange(io: HandshakeIO, ctx: _Context) -> bytes:
    """RFC 8422 5.7 (our ECDHE point) or RFC 5246 7.4.7.1 (encrypted secret)."""
    config = io.config
    if ctx.suite.key_exchange == "ECDHE":
        assert ctx.server_kx is not None
        group, point = ctx.server_kx
        kx: KeyExchange = generate_key_exchange(group, config.rng)
        pre_master = kx.exchange(point)
        message = ClientKeyExchange.for_ecdhe(kx.public_bytes())
    else:
        server_key = ctx.public_key
        if not isinstance(server_key, rsa.RSAPublicKey):
            raise IllegalParameter("RSA key exchange needs an RSA server certificate")
        # client_version is the version we offered in ClientHello.legacy_version.
        pre_master = TLS12.to_bytes(2, "big") + config.rng(46)
        encrypted = server_key.encrypt(pre_master, padding.PKCS1v15())
        message = ClientKeyExchange.for_rsa(encrypted)
    ctx.transcript.update(io.send_handshake(message))
    return pre_master


def _send_finished(io: HandshakeIO, ctx: _Context) -> None:
    client_write, _ = install_keys(
        io, ctx.suite, ctx.master_secret, ctx.client_random, ctx.server_random
    )
    io.send_change_cipher_spec()
    io.set_write_protection(client_write)
    verify_data = prf.finished_verify_data(
        ctx.suite.hash_name, ctx.master_secret, True, ctx.transcript.digest()
    )
    ctx.transcript.update(io.send_handshake(Finished(verify_data=verify_data)))


@dataclass(slots=True, kw_only=True)
class ExpectNewSessionTicket:
    """RFC 5077 3.3: the server promised a ticket; it comes before its CCS."""

    ctx: _Context
    resumed: bool

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, NewSessionTicket12):
            raise unexpected(message, self)
        self.ctx.new_ticket = message
        self.ctx.transcript.update(raw)
        io.emit(
            NewSessionTicketReceived(
                ticket_lifetime=message.ticket_lifetime_hint, ticket=message.ticket
            )
        )
        return ExpectChangeCipherSpec(ctx=self.ctx, resumed=self.resumed)


@dataclass(slots=True, kw_only=True)
class ExpectChangeCipherSpec:
    """Only the server's change_cipher_spec record may come now (RFC 5246 7.1)."""

    ctx: _Context
    resumed: bool

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        raise UnexpectedMessage(f"{type(message).__name__} before the server's ChangeCipherSpec")

    def handle_change_cipher_spec(self, io: HandshakeIO) -> State:
        ctx = self.ctx
        _, server_write = install_keys(
            io, ctx.suite, ctx.master_secret, ctx.client_random, ctx.server_random
        )
        io.set_read_protection(server_write)
        return ExpectFinished(ctx=ctx, resumed=self.resumed)


@dataclass(slots=True, kw_only=True)
class ExpectFinished:
    ctx: _Context
    resumed: bool

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, Finished):
            raise unexpected(message, self)
        ctx = self.ctx
        prf.check_finished(
            ctx.suite.hash_name,
            ctx.master_secret,
            False,
            ctx.transcript.digest(),
            message.verify_data,
        )
        ctx.transcript.update(raw)
        if self.resumed:
            # RFC 5246 7.3: in a resumed handshake the client finishes second.
            _send_finished(io, ctx)
        session = _make_session(io, ctx)
        io.negotiated.tls12_session = session
        io.emit(HandshakeComplete(alpn_protocol=io.negotiated.alpn_protocol))
        return ClientTraffic12(
            suite=ctx.suite,
            master_secret=ctx.master_secret,
            client_random=ctx.client_random,
            server_random=ctx.server_random,
            session=session,
        )


def _make_session(io: HandshakeIO, ctx: _Context) -> TLS12Session | None:
    """The session to resume later: by ticket if we got one, else by ID."""
    previous = io.negotiated.tls12_session if io.negotiated.session_resumed else None
    ticket = ctx.new_ticket.ticket if ctx.new_ticket is not None else b""
    if previous is not None and not ticket:
        return previous
    if not ticket and not ctx.session_id:
        return None  # the server will not resume this session
    return session_of(
        io,
        ctx,
        server_name=io.config.server_name,
        lifetime=ctx.new_ticket.ticket_lifetime_hint if ctx.new_ticket else 7200,
        ticket=ticket,
    )


@dataclass(slots=True, kw_only=True)
class ClientTraffic12(Traffic12):
    """Application data; a HelloRequest is refused with no_renegotiation."""

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if isinstance(message, HelloRequest):
            self.refuse_renegotiation(io)
            return self
        raise unexpected(message, self)
