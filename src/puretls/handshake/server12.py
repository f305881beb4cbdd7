"""TLS 1.2 server handshake (RFC 5246 7.3, 7.4), one class per state.

The TLS 1.3 server hands a ClientHello over here when the client does not
offer TLS 1.3 (or our maximum_version is 1.2).  Full handshake::

    ClientHello -> ServerHello Certificate [CertificateStatus]
                   [ServerKeyExchange] [CertificateRequest] ServerHelloDone
    [Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished
                -> ChangeCipherSpec Finished

A ClientHello whose session ID is in our cache, or whose RFC 5077 ticket
opens under our ticket keys (tickets12.py), resumes that session in an
abbreviated handshake: ServerHello [NewSessionTicket] ChangeCipherSpec
Finished at once, then the client's ChangeCipherSpec and Finished.  A
client that asks for a ticket gets a NewSessionTicket before our
ChangeCipherSpec in the full handshake too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import padding, rsa

from puretls.config import CertifiedKey, TLSConfig
from puretls.crypto import prf
from puretls.crypto.certs import public_key_from_der
from puretls.crypto.groups import KeyExchange, generate_key_exchange
from puretls.crypto.signatures import PublicKey, sign, verify
from puretls.crypto.suites import CipherSuiteInfo, suite_info
from puretls.enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion
from puretls.errors import (
    CertificateError,
    HandshakeFailure,
    IllegalParameter,
    NoApplicationProtocol,
    ProtocolVersionError,
    TLSError,
    UnexpectedMessage,
)
from puretls.events import HandshakeComplete
from puretls.handshake import auth13, tickets12
from puretls.handshake.base import HandshakeIO, State, hello_extension, unexpected
from puretls.handshake.common12 import (
    TLS12,
    VERSION_NAME,
    Traffic12,
    check_renegotiation_info,
    choose_certificate12,
    install_keys,
    signed_params,
)
from puretls.handshake.common13 import DOWNGRADE_TLS12
from puretls.handshake.session12 import TLS12Session, session_of
from puretls.messages import (
    ALPN,
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    EcPointFormats,
    ExtendedMasterSecret,
    Extension,
    Finished,
    HandshakeMessage,
    RenegotiationInfo,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    StatusRequest,
    SupportedGroups,
    SupportedVersions,
)
from puretls.transcript import Transcript

_TLS13 = ProtocolVersion.TLSv1_3
_UNCOMPRESSED = 0
_SESSION_ID_LENGTH = 32


def wants_tls12(config: TLSConfig, hello: ClientHello) -> bool:
    """Whether this ClientHello is for the TLS 1.2 (or older) server."""
    versions = hello_extension(hello, SupportedVersions)
    return config.max_version < _TLS13 or versions is None or _TLS13 not in versions.versions


def _check_version(config: TLSConfig, hello: ClientHello) -> None:
    """RFC 5246 E.1 and RFC 8996: TLS 1.2 or nothing; RFC 7507 fallback check."""
    versions = hello_extension(hello, SupportedVersions)
    if versions is not None:
        offers_tls12 = TLS12 in versions.versions
        client_max = max(versions.versions, default=0)
    else:
        offers_tls12 = hello.legacy_version >= TLS12
        client_max = hello.legacy_version
    if not offers_tls12:
        raise ProtocolVersionError(
            f"client offers only versions below TLS 1.2 (0x{client_max:04x}); "
            "SSL 3.0, TLS 1.0 and TLS 1.1 are not supported (RFC 8996)"
        )
    if config.min_version > TLS12:
        raise ProtocolVersionError("client does not offer TLS 1.3, and TLS 1.2 is disabled")
    if CipherSuite.TLS_FALLBACK_SCSV in hello.cipher_suites and config.max_version > TLS12:
        # RFC 7507 3: a fallback connection while we support a higher version.
        raise TLSError(
            "client fell back to TLS 1.2 although both sides support TLS 1.3 (RFC 7507)",
            alert=AlertDescription.inappropriate_fallback,
        )
    if hello.legacy_compression_methods.find(b"\x00") < 0:
        raise IllegalParameter("ClientHello does not offer null compression")


def _client_groups(hello: ClientHello) -> tuple[int, ...]:
    groups = hello_extension(hello, SupportedGroups)
    # RFC 8422 4: without supported_groups the client accepts any curve;
    # secp256r1 is the one everyone implements.
    return groups.groups if groups is not None else (NamedGroup.secp256r1,)


@dataclass(slots=True, kw_only=True)
class _Choice:
    suite: CipherSuiteInfo
    certified: CertifiedKey
    scheme: int | None  # None for the RSA key exchange
    group: int | None  # None for the RSA key exchange


def _choose(config: TLSConfig, hello: ClientHello) -> _Choice:
    """Our preference among the client's TLS 1.2 suites that we can serve."""
    sig = hello_extension(hello, SignatureAlgorithms)
    # RFC 5246 7.4.1.4.1: without signature_algorithms a client means SHA-1,
    # which RFC 9155 forbids; such a client gets no ECDHE suite.
    peer_schemes = sig.schemes if sig is not None else ()
    client_groups = _client_groups(hello)
    group = next((g for g in config.groups if g in client_groups), None)
    offered = set(hello.cipher_suites)
    for suite in config.cipher_suites:
        info = suite_info(suite)
        if info is None or info.tls13 or suite not in offered:
            continue
        if info.key_exchange == "ECDHE" and group is None:
            continue
        chosen = choose_certificate12(
            config.certificates, info, peer_schemes, config.signature_schemes
        )
        if chosen is None:
            continue
        certified, scheme = chosen
        return _Choice(
            suite=info,
            certified=certified,
            scheme=scheme,
            group=group if info.key_exchange == "ECDHE" else None,
        )
    if not config.certificates:
        raise TLSError(
            "server has no certificate configured", alert=AlertDescription.internal_error
        )
    raise HandshakeFailure(
        "no TLS 1.2 cipher suite in common with the client (we offer only AEAD suites: "
        "ECDHE with AES-GCM or ChaCha20-Poly1305, and RSA key exchange only when named)"
    )


def _apply_sni(io: HandshakeIO, hello: ClientHello) -> bool:
    sni = hello_extension(hello, ServerName)
    name = sni.host_name if sni is not None else None
    io.negotiated.server_name = name
    callback = io.config.sni_callback
    if callback is not None:
        replacement = callback(name)
        if replacement is not None:
            io.config = replacement
    return name is not None


def _choose_alpn(config: TLSConfig, hello: ClientHello) -> bytes | None:
    alpn = hello_extension(hello, ALPN)
    if alpn is None or not config.alpn_protocols:
        return None
    for protocol in config.alpn_protocols:
        if protocol in alpn.protocols:
            return protocol
    raise NoApplicationProtocol("no ALPN protocol in common with the client")


def handle_client_hello(hello: ClientHello, raw: bytes, io: HandshakeIO) -> State:
    """Answer a ClientHello that will get TLS 1.2 (RFC 5246 7.4.1.2, 7.4.1.3)."""
    config = io.config
    _check_version(config, hello)
    reneg = hello_extension(hello, RenegotiationInfo)
    if reneg is not None:
        check_renegotiation_info(reneg.renegotiated_connection)
    secure_reneg = (
        reneg is not None or CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites
    )
    sni = _apply_sni(io, hello)
    config = io.config
    ems = hello_extension(hello, ExtendedMasterSecret) is not None
    negotiated = io.negotiated
    negotiated.client_random = hello.random
    negotiated.version = VERSION_NAME
    negotiated.extended_master_secret = ems
    alpn = _choose_alpn(config, hello)
    negotiated.alpn_protocol = alpn.decode("ascii", "replace") if alpn else None
    server_random = config.rng(32)
    if config.max_version >= _TLS13:
        # RFC 8446 4.1.3: we could have done TLS 1.3; tell a 1.3 client.
        server_random = server_random[:24] + DOWNGRADE_TLS12
    extensions: list[Extension] = []
    if secure_reneg:
        extensions.append(RenegotiationInfo())
    if ems:
        extensions.append(ExtendedMasterSecret())
    if alpn is not None:
        extensions.append(ALPN(protocols=(alpn,)))
    transcript = Transcript()
    transcript.keep_messages()
    resumed = _find_session(io, hello, ems)
    if resumed is not None:
        return _resume(io, hello, raw, transcript, resumed, server_random, extensions)
    if not ems and config.require_extended_master_secret:
        # RFC 7627 5.2: a master secret not bound to the handshake.
        raise HandshakeFailure(
            "client did not offer extended_master_secret (RFC 7627); "
            "set require_extended_master_secret=False to allow such clients"
        )
    choice = _choose(config, hello)
    if choice.group is not None and hello_extension(hello, EcPointFormats) is not None:
        extensions.append(EcPointFormats(formats=(_UNCOMPRESSED,)))
    if sni:
        extensions.append(ServerName())
    # RFC 5077 3.2 / 3.4: promise a ticket with an empty session_ticket, and
    # then send an empty session ID: the ticket, not our cache, resumes.
    send_ticket = tickets12.client_wants_ticket(config, hello)
    if send_ticket:
        extensions.append(SessionTicket())
    caching = config.tls12_session_cache is not None and not send_ticket
    session_id = config.rng(_SESSION_ID_LENGTH) if caching else b""
    ctx = _Context(
        transcript=transcript,
        suite=choice.suite,
        client_random=hello.random,
        server_random=server_random,
        session_id=session_id,
        client_version=hello.legacy_version,
        extended_master_secret=ems,
        send_ticket=send_ticket,
    )
    return _send_server_flight(io, hello, raw, ctx, choice, tuple(extensions))


@dataclass(slots=True, kw_only=True)
class _Context:
    transcript: Transcript
    suite: CipherSuiteInfo
    client_random: bytes
    server_random: bytes
    session_id: bytes
    client_version: int
    extended_master_secret: bool
    # Our ECDHE KeyExchange, or the RSA private key for the RSA key exchange.
    kx_private: KeyExchange | rsa.RSAPrivateKey | None = None
    client_public_key: PublicKey | None = None
    master_secret: bytes = field(default=b"", repr=False)
    # RFC 5077 3.3: a NewSessionTicket goes out before our ChangeCipherSpec.
    send_ticket: bool = False


def _send_server_flight(
    io: HandshakeIO,
    hello: ClientHello,
    raw: bytes,
    ctx: _Context,
    choice: _Choice,
    extensions: tuple[Extension, ...],
) -> State:
    config = io.config
    negotiated = io.negotiated
    negotiated.cipher_suite = choice.suite
    transcript = ctx.transcript
    transcript.set_hash(choice.suite.hash_name)
    transcript.update(raw)
    # RFC 6066 8: an empty status_request in ServerHello promises a
    # CertificateStatus right after the Certificate.
    staple = auth13.server_staple(config, hello, choice.certified)
    negotiated.ocsp_response = staple
    if staple is not None:
        extensions = (*extensions, StatusRequest())
    server_hello = ServerHello(
        random=ctx.server_random,
        legacy_session_id_echo=ctx.session_id,
        cipher_suite=choice.suite.suite,
        extensions=extensions,
    )
    transcript.update(io.send_handshake(server_hello))
    transcript.update(io.send_handshake(Certificate12(certificate_list=choice.certified.chain)))
    if staple is not None:
        transcript.update(io.send_handshake(CertificateStatus(ocsp_response=staple)))
    if choice.group is not None:
        assert choice.scheme is not None
        kx = generate_key_exchange(choice.group, config.rng)
        ctx.kx_private = kx
        unsigned = ServerKeyExchange(
            named_group=choice.group,
            public=kx.public_bytes(),
            algorithm=choice.scheme,
            signature=b"",
        )
        content = signed_params(ctx.client_random, ctx.server_random, unsigned.params())
        signature = sign(choice.scheme, choice.certified.private_key, content, tls13=False)
        ske = ServerKeyExchange(
            named_group=choice.group,
            public=unsigned.public,
            algorithm=choice.scheme,
            signature=signature,
        )
        transcript.update(io.send_handshake(ske))
        negotiated.group = choice.group
        negotiated.signature_scheme = choice.scheme
    else:
        key = choice.certified.private_key
        assert isinstance(key, rsa.RSAPrivateKey)
        ctx.kx_private = key
    if config.request_client_certificate:
        request = CertificateRequest12(supported_signature_algorithms=config.signature_schemes)
        transcript.update(io.send_handshake(request))
    transcript.update(io.send_handshake(ServerHelloDone()))
    if config.request_client_certificate:
        return ExpectClientCertificate(ctx=ctx)
    return ExpectClientKeyExchange(ctx=ctx)


@dataclass(slots=True, kw_only=True)
class ExpectClientCertificate:
    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, Certificate12):
            raise unexpected(message, self)
        ctx = self.ctx
        ctx.transcript.update(raw)
        chain = message.certificate_list
        if not chain:
            if io.config.require_client_certificate:
                # RFC 5246 7.4.6: a server may end the handshake here.
                raise CertificateError(
                    "client sent no certificate, but one is required",
                    alert=AlertDescription.handshake_failure,
                )
            return ExpectClientKeyExchange(ctx=ctx)
        ctx.client_public_key = public_key_from_der(chain[0])
        io.negotiated.peer_certificates = chain
        verifier = io.config.verifier
        if verifier is not None:
            verified = verifier.verify(chain, None, io.config.clock())
            io.negotiated.verified_chain = verified.certificates
        return ExpectClientKeyExchange(ctx=ctx)


def _rsa_pre_master(
    key: rsa.RSAPrivateKey, encrypted: bytes, client_version: int, rng: bytes
) -> bytes:
    """RFC 5246 7.4.7.1: decrypt without telling anyone whether it worked.

    ``rng`` (46 random bytes) is drawn before decryption.  On any failure
    (bad padding, wrong length) the pre-master secret is client_version || R;
    the version bytes inside M are ignored in favour of the ClientHello's,
    so a wrong version is just another wrong secret.  Either way the
    handshake goes on and fails only at the client's Finished, with the
    same bad_record_mac a wrong secret always gives.
    """
    fake = client_version.to_bytes(2, "big") + rng
    try:
        message = key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        message = fake
    if len(message) != 48:
        message = fake
    return client_version.to_bytes(2, "big") + message[2:]


@dataclass(slots=True, kw_only=True)
class ExpectClientKeyExchange:
    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, ClientKeyExchange):
            raise unexpected(message, self)
        ctx = self.ctx
        private = ctx.kx_private
        if isinstance(private, rsa.RSAPrivateKey):
            random46 = io.config.rng(46)
            pre_master = _rsa_pre_master(
                private, message.encrypted_pre_master(), ctx.client_version, random46
            )
        else:
            assert isinstance(private, KeyExchange)
            pre_master = private.exchange(message.ecdh_public())
        ctx.transcript.update(raw)
        hash_name = ctx.suite.hash_name
        if ctx.extended_master_secret:
            session_hash = ctx.transcript.digest()
            ctx.master_secret = prf.extended_master_secret(hash_name, pre_master, session_hash)
        else:
            ctx.master_secret = prf.master_secret(
                hash_name, pre_master, ctx.client_random, ctx.server_random
            )
        io.keylog("CLIENT_RANDOM", ctx.master_secret)
        if ctx.client_public_key is not None:
            return ExpectClientCertificateVerify(ctx=ctx)
        return ExpectChangeCipherSpec(ctx=ctx, resumed=False)


@dataclass(slots=True, kw_only=True)
class ExpectClientCertificateVerify:
    ctx: _Context

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, CertificateVerify):
            raise unexpected(message, self)
        ctx = self.ctx
        if message.algorithm not in io.config.signature_schemes:
            raise IllegalParameter(
                f"client CertificateVerify uses scheme 0x{message.algorithm:04x} we did not offer"
            )
        assert ctx.client_public_key is not None
        verify(
            message.algorithm,
            ctx.client_public_key,
            ctx.transcript.messages(),
            message.signature,
            tls13=False,
        )
        ctx.transcript.update(raw)
        return ExpectChangeCipherSpec(ctx=ctx, resumed=False)


@dataclass(slots=True, kw_only=True)
class ExpectChangeCipherSpec:
    ctx: _Context
    resumed: bool

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        raise UnexpectedMessage(f"{type(message).__name__} before the client's ChangeCipherSpec")

    def handle_change_cipher_spec(self, io: HandshakeIO) -> State:
        ctx = self.ctx
        client_write, _ = install_keys(
            io, ctx.suite, ctx.master_secret, ctx.client_random, ctx.server_random
        )
        io.set_read_protection(client_write)
        return ExpectClientFinished(ctx=ctx, resumed=self.resumed)


@dataclass(slots=True, kw_only=True)
class ExpectClientFinished:
    ctx: _Context
    resumed: bool

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, Finished):
            raise unexpected(message, self)
        ctx = self.ctx
        prf.check_finished(
            ctx.suite.hash_name,
            ctx.master_secret,
            True,
            ctx.transcript.digest(),
            message.verify_data,
        )
        ctx.transcript.update(raw)
        if not self.resumed:
            if ctx.send_ticket:
                tickets12.send_ticket(io, ctx.transcript, _session_of(io, ctx))
            _send_finished(io, ctx)
            _cache_session(io, ctx)
        io.emit(HandshakeComplete(alpn_protocol=io.negotiated.alpn_protocol))
        return _traffic(ctx)


def _traffic(ctx: _Context) -> ServerTraffic12:
    return ServerTraffic12(
        suite=ctx.suite,
        master_secret=ctx.master_secret,
        client_random=ctx.client_random,
        server_random=ctx.server_random,
    )


def _send_finished(io: HandshakeIO, ctx: _Context) -> None:
    _, server_write = install_keys(
        io, ctx.suite, ctx.master_secret, ctx.client_random, ctx.server_random
    )
    io.send_change_cipher_spec()
    io.set_write_protection(server_write)
    verify_data = prf.finished_verify_data(
        ctx.suite.hash_name, ctx.master_secret, False, ctx.transcript.digest()
    )
    ctx.transcript.update(io.send_handshake(Finished(verify_data=verify_data)))


# -- session-ID resumption (RFC 5246 7.3, F.1.4) -------------------------------


def _session_of(io: HandshakeIO, ctx: _Context, lifetime: int | None = None) -> TLS12Session:
    """The session a full handshake made, for the cache or a ticket."""
    return session_of(
        io,
        ctx,
        server_name=io.negotiated.server_name,
        lifetime=io.config.ticket_lifetime if lifetime is None else lifetime,
    )


def _cache_session(io: HandshakeIO, ctx: _Context) -> None:
    cache = io.config.tls12_session_cache
    if cache is None or not ctx.session_id:
        return
    cache.put(_session_of(io, ctx, cache.lifetime))


def _find_session(io: HandshakeIO, hello: ClientHello, ems: bool) -> TLS12Session | None:
    """A session the client may resume (by ticket or ID), or None for a full handshake."""
    ticket = tickets12.presented_ticket(hello)
    if ticket:
        # RFC 5077 3.4: with a ticket the session ID is not looked up.
        return tickets12.open_ticket(io, hello, ticket)
    cache = io.config.tls12_session_cache
    if cache is None or not hello.legacy_session_id:
        return None
    session = cache.get(hello.legacy_session_id, io.config.time())
    if session is None or session.cipher_suite not in hello.cipher_suites:
        return None
    if session.cipher_suite not in io.config.cipher_suites:
        return None
    if session.extended_master_secret != ems:
        # RFC 7627 5.3: never resume across a change in extended_master_secret.
        if session.extended_master_secret:
            raise HandshakeFailure("client resumes an extended_master_secret session without it")
        return None
    if session.server_name != io.negotiated.server_name:
        return None  # RFC 6066 3: a session belongs to its server name
    return session


def _resume(
    io: HandshakeIO,
    hello: ClientHello,
    raw: bytes,
    transcript: Transcript,
    session: TLS12Session,
    server_random: bytes,
    extensions: list[Extension],
) -> State:
    """RFC 5246 7.3: ServerHello, ChangeCipherSpec, Finished; the client finishes."""
    info = suite_info(session.cipher_suite)
    assert info is not None
    negotiated = io.negotiated
    negotiated.cipher_suite = info
    negotiated.session_resumed = True
    negotiated.peer_certificates = session.peer_certificates
    transcript.set_hash(info.hash_name)
    transcript.update(raw)
    # RFC 5077 3.1: a server that accepted a ticket may renew it.
    renew = bool(session.ticket) and tickets12.client_wants_ticket(io.config, hello)
    if renew:
        extensions.append(SessionTicket())
    server_hello = ServerHello(
        random=server_random,
        legacy_session_id_echo=session.session_id,
        cipher_suite=info.suite,
        extensions=tuple(extensions),
    )
    transcript.update(io.send_handshake(server_hello))
    if renew:
        tickets12.send_ticket(io, transcript, session)
    ctx = _Context(
        transcript=transcript,
        suite=info,
        client_random=hello.random,
        server_random=server_random,
        session_id=session.session_id,
        client_version=hello.legacy_version,
        extended_master_secret=session.extended_master_secret,
        master_secret=session.master_secret,
    )
    io.keylog("CLIENT_RANDOM", session.master_secret)
    _send_finished(io, ctx)
    return ExpectChangeCipherSpec(ctx=ctx, resumed=True)


@dataclass(slots=True, kw_only=True)
class ServerTraffic12(Traffic12):
    """Application data; a new ClientHello is refused with no_renegotiation."""

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if isinstance(message, ClientHello):
            self.refuse_renegotiation(io)
            return self
        raise unexpected(message, self)
