"""TLS 1.3 client handshake (RFC 8446 2, 4.1-4.4), one class per state.

Reading order follows the protocol: send ClientHello, process a possible
HelloRetryRequest, process ServerHello and derive handshake keys, read the
server's parameters (EncryptedExtensions, CertificateRequest), its
Certificate and CertificateVerify, its Finished, then send ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, TypeVar

from puretls.config import TLSConfig
from puretls.crypto import key_schedule as ks
from puretls.crypto.groups import KeyExchange, generate_key_exchange
from puretls.crypto.signatures import (
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    PublicKey,
    tls13_signed_content,
    verify,
)
from puretls.crypto.suites import CipherSuiteInfo, suite_info
from puretls.enums import ExtensionType, KeyUpdateRequest, ProtocolVersion, PskKeyExchangeMode
from puretls.errors import (
    HandshakeFailure,
    IllegalParameter,
    MissingExtension,
    ProtocolVersionError,
    UnexpectedMessage,
)
from puretls.events import HandshakeComplete, NewSessionTicketReceived
from puretls.handshake import auth13, client12, early_data, psk13
from puretls.handshake.base import HandshakeIO, State, check_offered, unexpected
from puretls.handshake.common13 import (
    DOWNGRADE_SENTINELS,
    handle_key_update,
)
from puretls.limits import keep_recent
from puretls.messages import (
    ALPN,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    Cookie,
    EncryptedExtensions,
    Extension,
    Finished,
    HandshakeMessage,
    HelloRetryRequest,
    KeyShare,
    KeyShareEntry,
    KeyUpdate,
    NewSessionTicket,
    PskKeyExchangeModes,
    ServerHello,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersions,
    decode_handshake,
    find_extension,
)
from puretls.transcript import Transcript
from puretls.verify import is_ip_address

if TYPE_CHECKING:
    from functools import _lru_cache_wrapper

TLS13 = ProtocolVersion.TLSv1_3


@dataclass(slots=True, kw_only=True)
class _Offer:
    """What the client put in its ClientHello, to check the server against."""

    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    key_exchanges: dict[int, KeyExchange]
    extensions: tuple[Extension, ...]
    offered_types: frozenset[int]
    psk: psk13.ClientPskOffer | None = None
    ccs_sent: bool = False


def _build_client_hello(config: TLSConfig, offer: _Offer, cookie: bytes | None) -> ClientHello:
    """RFC 8446 4.1.2; extension order is free except pre_shared_key last."""
    settings = (
        config.server_name,
        config.max_version,
        client12.offered_versions(config),
        config.groups,
        config.signature_schemes,
        config.psk_key_exchange_modes,
    )
    head, tail = _per_config(_config_extensions, *settings)
    exts = list(head)
    if config.max_version >= TLS13:
        exts.append(
            KeyShare(
                client_shares=tuple(
                    KeyShareEntry(group=g, key_exchange=kx.public_bytes())
                    for g, kx in offer.key_exchanges.items()
                )
            )
        )
    exts += tail
    exts += client12.hello_extensions(config)
    exts += auth13.client_hello_extensions(config)
    if config.alpn_protocols:
        exts.append(ALPN(protocols=config.alpn_protocols))
    if cookie is not None:
        exts.append(Cookie(cookie=cookie))
    if offer.psk is not None:
        exts += offer.psk.extensions()  # RFC 8446 4.2.11: pre_shared_key last
    return ClientHello(
        random=offer.random,
        legacy_session_id=offer.session_id,
        cipher_suites=offer.cipher_suites,
        extensions=tuple(exts),
    )


_R = TypeVar("_R")


def _per_config(cached: _lru_cache_wrapper[_R], *settings: object) -> _R:
    """``cached(*settings)``, or uncached when a setting is a list (unhashable).

    The hashability test comes first so that a TypeError raised inside the
    function itself is never mistaken for it.
    """
    try:
        hash(settings)
    except TypeError:  # a list where the config wants a tuple
        return cached.__wrapped__(*settings)
    return cached(*settings)


@lru_cache(maxsize=64)
def _config_extensions(
    server_name: str | None,
    max_version: int,
    versions: tuple[int, ...],
    groups: tuple[int, ...],
    schemes: tuple[int, ...],
    psk_modes: tuple[int, ...],
) -> tuple[tuple[Extension, ...], tuple[Extension, ...]]:
    """The ClientHello extensions before and after key_share that follow from
    configuration alone.  They are frozen values, so they are made once per
    distinct configuration and shared by its handshakes."""
    head: list[Extension] = []
    # RFC 6066 3: literal IP addresses are not permitted in server_name.
    if server_name and not is_ip_address(server_name):
        head.append(ServerName(host_name=server_name.rstrip(".")))
    if max_version < TLS13:  # a TLS 1.2-only hello (client12)
        head += [SupportedGroups(groups=groups), SignatureAlgorithms(schemes=schemes)]
        return tuple(head), ()
    head += [
        SupportedVersions(versions=versions),
        SupportedGroups(groups=groups),
        SignatureAlgorithms(schemes=schemes),
    ]
    # Without psk_key_exchange_modes a server must not send tickets
    # (RFC 8446 4.2.9); psk_dhe_ke keeps resumption forward secret.
    modes = PskKeyExchangeModes(modes=psk_modes or (PskKeyExchangeMode.psk_dhe_ke,))
    return tuple(head), (modes,)


def _send_client_hello(
    io: HandshakeIO, offer: _Offer, cookie: bytes | None, transcript: Transcript | None = None
) -> bytes:
    """Send a ClientHello and remember what it offered, as sent."""
    hello = _build_client_hello(io.config, offer, cookie)
    if offer.psk is not None:
        hello = psk13.bind(io.config, hello, offer.psk, transcript)
    raw = io.send_handshake(hello)
    if io.config.message_hook is not None:
        sent = decode_handshake(raw[0], raw[4:])
        assert isinstance(sent, ClientHello)
        hello = sent
    offer.extensions = hello.extensions
    # Code points as the extensions carry them (an ExtensionType is an int
    # with an int's hash); attrgetter keeps the walk in C.
    offer.offered_types = frozenset(map(_ext_type, hello.extensions))
    return raw


_ext_type = attrgetter("ext_type")


def _tls13_suites(config: TLSConfig) -> tuple[int, ...]:
    settings = (config.cipher_suites, config.max_version >= TLS13, client12.offers_tls12(config))
    suites = _per_config(_offered_suites, *settings)
    if not suites:
        raise HandshakeFailure("no cipher suite is enabled for the allowed TLS versions")
    return suites


@lru_cache(maxsize=64)
def _offered_suites(cipher_suites: tuple[int, ...], tls13: bool, tls12: bool) -> tuple[int, ...]:
    """ClientHello.cipher_suites: the TLS 1.3 suites, then the TLS 1.2 ones.
    A function of the configuration alone, so made once per distinct one."""
    suites: tuple[int, ...] = ()
    if tls13:
        suites = tuple(s for s in cipher_suites if (i := suite_info(s)) and i.tls13)
    if tls12:
        suites += client12.tls12_suites(cipher_suites)
    return suites


def start(io: HandshakeIO) -> State:
    """Send the first ClientHello; the handshake then waits for ServerHello."""
    config = io.config
    if config.max_version < TLS13 and not client12.offers_tls12(config):
        raise ProtocolVersionError("no TLS version between minimum_version and maximum_version")
    groups = config.key_share_groups or config.groups[:1]
    if config.max_version < TLS13:
        groups = ()
    session_id = client12.resumption_session_id(config)
    if session_id is None:
        # RFC 8446 D.4: a non-empty session id turns on middlebox mode.
        session_id = config.rng(32) if config.middlebox_compat else b""
    offer = _Offer(
        random=config.rng(32),
        session_id=session_id,
        cipher_suites=_tls13_suites(config),
        key_exchanges={g: generate_key_exchange(g, config.rng) for g in groups},
        extensions=(),
        offered_types=frozenset(),
    )
    io.negotiated.client_random = offer.random
    offer.psk = psk13.client_offer(config, offer.cipher_suites)
    transcript = Transcript()
    raw_hello = _send_client_hello(io, offer, cookie=None)
    transcript.update(raw_hello)
    offer.ccs_sent = early_data.client_start(io, offer.psk, raw_hello)
    return ExpectServerHello(offer=offer, transcript=transcript, retried=False)


@dataclass(slots=True, kw_only=True)
class ExpectServerHello:
    offer: _Offer
    transcript: Transcript
    retried: bool
    retry_suite: int | None = None

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if isinstance(message, HelloRetryRequest):
            return self._process_hello_retry_request(message, raw, io)
        if not isinstance(message, ServerHello):
            raise unexpected(message, self)
        if client12.is_tls12_server_hello(message):  # the server chose TLS 1.2
            early_data.client_retry(io)  # no 0-RTT in TLS 1.2: back to plaintext
            return client12.handle_server_hello(message, raw, io, self._offer12())
        return self._process_server_hello(message, raw, io)

    def _offer12(self) -> client12.Offer12:
        offer = self.offer
        return client12.Offer12(
            client_random=offer.random,
            session_id=offer.session_id,
            cipher_suites=offer.cipher_suites,
            offered_types=offer.offered_types,
            transcript=self.transcript,
            retried=self.retried,
        )

    def _check_common(self, hello: ServerHello | HelloRetryRequest) -> CipherSuiteInfo:
        """Checks shared by ServerHello and HelloRetryRequest (RFC 8446 4.1.3)."""
        versions = find_extension(hello.extensions, SupportedVersions)
        if versions is None:
            # A server that negotiated TLS 1.2 or below; a TLS 1.3 server
            # downgraded by an attacker marks the random (RFC 8446 4.1.3).
            if hello.random[-8:] in DOWNGRADE_SENTINELS:
                raise IllegalParameter("ServerHello.random carries a downgrade sentinel")
            raise ProtocolVersionError("server chose a TLS version below 1.3, which is not offered")
        if versions.selected != TLS13:
            raise IllegalParameter(f"server selected version 0x{versions.selected or 0:04x}")
        if hello.legacy_version != ProtocolVersion.TLSv1_2:
            raise IllegalParameter("ServerHello.legacy_version is not 0x0303")
        if hello.legacy_session_id_echo != self.offer.session_id:
            raise IllegalParameter("ServerHello does not echo our legacy_session_id")
        if hello.legacy_compression_method != 0:
            raise IllegalParameter("ServerHello selects a compression method")
        info = suite_info(hello.cipher_suite)
        if info is None or hello.cipher_suite not in self.offer.cipher_suites:
            raise IllegalParameter(
                f"server chose cipher suite 0x{hello.cipher_suite:04x} we did not offer"
            )
        if self.retry_suite is not None and hello.cipher_suite != self.retry_suite:
            raise IllegalParameter("ServerHello cipher suite differs from the HelloRetryRequest's")
        allowed = self.offer.offered_types
        if isinstance(hello, HelloRetryRequest):
            # RFC 8446 4.2.2: the cookie is the server's to start.
            allowed = allowed | {ExtensionType.cookie}
        check_offered(hello.extensions, allowed, type(hello).__name__)
        return info

    def _process_hello_retry_request(
        self, hrr: HelloRetryRequest, raw: bytes, io: HandshakeIO
    ) -> State:
        """RFC 8446 4.1.4: one retry, with a new share and the cookie echoed."""
        if self.retried:
            raise unexpected(hrr, self)
        info = self._check_common(hrr)
        key_share = find_extension(hrr.extensions, KeyShare)
        cookie = find_extension(hrr.extensions, Cookie)
        if key_share is None and cookie is None:
            raise IllegalParameter("HelloRetryRequest would not change the ClientHello")
        offer = self.offer
        if key_share is not None:
            group = key_share.selected_group
            if group is None or group not in io.config.groups:
                raise IllegalParameter("HelloRetryRequest selects a group we did not offer")
            if group in offer.key_exchanges:
                raise IllegalParameter("HelloRetryRequest asks for a key share we already sent")
            offer.key_exchanges = {group: generate_key_exchange(group, io.config.rng)}
        io.negotiated.hello_retry_request = True
        self.transcript.set_hash(info.hash_name)
        self.transcript.rewrite_for_hello_retry_request()
        self.transcript.update(raw)
        early_data.client_retry(io)
        if offer.psk is not None:
            kept = psk13.after_retry(offer.psk, info.hash_name)
            offer.psk = kept if kept.candidates else None
        if io.config.middlebox_compat and not offer.ccs_sent:
            io.send_change_cipher_spec()
            offer.ccs_sent = True
        raw_hello = _send_client_hello(
            io, offer, cookie.cookie if cookie else None, self.transcript
        )
        self.transcript.update(raw_hello)
        return ExpectServerHello(
            offer=offer, transcript=self.transcript, retried=True, retry_suite=hrr.cipher_suite
        )

    def _process_server_hello(self, hello: ServerHello, raw: bytes, io: HandshakeIO) -> State:
        info = self._check_common(hello)
        psk = psk13.server_selected(hello, self.offer.psk, info)
        key_share = find_extension(hello.extensions, KeyShare)
        shared_secret: bytes | None = None
        share = key_share.server_share if key_share is not None else None
        if share is not None:
            kx = self.offer.key_exchanges.get(share.group)
            if kx is None:
                raise IllegalParameter("ServerHello key_share is for a group we sent no share for")
            shared_secret = kx.exchange(share.key_exchange)
        elif psk is None:
            raise MissingExtension("ServerHello has no key_share (and we offered no PSK)")
        if not self.retried:  # after a retry the hash is already known
            self.transcript.set_hash(info.hash_name)
        self.transcript.update(raw)
        hello_hash = self.transcript.digest()
        early = ks.EarlySecret(info.hash_name, psk.psk if psk is not None else None)
        handshake_secret = early.handshake_secret(shared_secret)
        client_secret = handshake_secret.client_handshake_traffic_secret(hello_hash)
        server_secret = handshake_secret.server_handshake_traffic_secret(hello_hash)
        io.keylog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_secret)
        io.keylog("SERVER_HANDSHAKE_TRAFFIC_SECRET", server_secret)
        io.set_read_key(info, server_secret)
        # Alerts from here on go under our handshake key, which the server
        # now expects; the dummy change_cipher_spec still goes in clear.
        # While 0-RTT may still be accepted, we keep writing early data.
        first = psk is not None and psk is self._first_psk()
        if not early_data.client_server_hello(io, first):
            io.set_write_key(info, client_secret)
        negotiated = io.negotiated
        negotiated.cipher_suite = info
        negotiated.group = share.group if share is not None else None
        negotiated.session_resumed = psk is not None
        return ExpectEncryptedExtensions(
            ctx=_ClientContext(
                offer=self.offer,
                transcript=self.transcript,
                suite=info,
                handshake_secret=handshake_secret,
                client_secret=client_secret,
                server_secret=server_secret,
                ccs_sent=self.offer.ccs_sent,
                psk=psk is not None,
            )
        )

    def _first_psk(self) -> psk13.PskCandidate | None:
        offer = self.offer.psk
        return offer.candidates[0] if offer is not None and offer.candidates else None


@dataclass(slots=True, kw_only=True)
class _ClientContext:
    """State carried from ServerHello to the client's Finished."""

    offer: _Offer
    transcript: Transcript
    suite: CipherSuiteInfo
    handshake_secret: ks.HandshakeSecret
    client_secret: bytes
    server_secret: bytes
    ccs_sent: bool
    psk: bool = False
    certificate_request: CertificateRequest | None = None


@dataclass(slots=True, kw_only=True)
class ExpectEncryptedExtensions:
    ctx: _ClientContext

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, EncryptedExtensions):
            raise unexpected(message, self)
        check_offered(message.extensions, self.ctx.offer.offered_types, "EncryptedExtensions")
        alpn = find_extension(message.extensions, ALPN)
        if alpn is not None:
            # RFC 7301 3.1: exactly one protocol, one that we offered.
            if len(alpn.protocols) != 1 or alpn.protocols[0] not in io.config.alpn_protocols:
                raise IllegalParameter("server selected an ALPN protocol we did not offer")
            io.negotiated.alpn_protocol = alpn.protocols[0].decode("ascii", "replace")
        io.negotiated.server_name = io.config.server_name
        early_data.client_encrypted_extensions(io, message, self.ctx.suite, self.ctx.client_secret)
        self.ctx.transcript.update(raw)
        if self.ctx.psk:  # RFC 8446 2.2: a PSK handshake has no certificates
            return ExpectFinished(ctx=self.ctx)
        return ExpectCertificateOrCertificateRequest(ctx=self.ctx)


@dataclass(slots=True, kw_only=True)
class ExpectCertificateOrCertificateRequest:
    ctx: _ClientContext

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if isinstance(message, CertificateRequest):
            auth13.check_handshake_certificate_request(message)
            self.ctx.certificate_request = message
            self.ctx.transcript.update(raw)
            return ExpectCertificate(ctx=self.ctx)
        return ExpectCertificate(ctx=self.ctx).handle(message, raw, io)


@dataclass(slots=True, kw_only=True)
class ExpectCertificate:
    ctx: _ClientContext

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        offered = self.ctx.offer.offered_types
        certificate = auth13.as_certificate(
            message, io.config, ExtensionType.compress_certificate in offered
        )
        if certificate is None:
            raise unexpected(message, self)
        public_key = auth13.receive_server_certificate(certificate, io, offered)
        self.ctx.transcript.update(raw)
        return ExpectCertificateVerify(ctx=self.ctx, public_key=public_key)


@dataclass(slots=True, kw_only=True)
class ExpectCertificateVerify:
    ctx: _ClientContext
    public_key: PublicKey

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, CertificateVerify):
            raise unexpected(message, self)
        scheme = message.algorithm
        # RFC 8446 4.4.3: a scheme we offered, and never PKCS#1 v1.5 or SHA-1.
        if (
            scheme not in io.config.signature_schemes
            or scheme not in TLS13_CERTIFICATE_VERIFY_SCHEMES
        ):
            raise IllegalParameter(f"CertificateVerify uses scheme 0x{scheme:04x} we did not offer")
        content = tls13_signed_content(True, self.ctx.transcript.digest())
        verify(scheme, self.public_key, content, message.signature)
        io.negotiated.signature_scheme = scheme
        self.ctx.transcript.update(raw)
        return ExpectFinished(ctx=self.ctx)


@dataclass(slots=True, kw_only=True)
class ExpectFinished:
    ctx: _ClientContext

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, Finished):
            raise unexpected(message, self)
        ctx = self.ctx
        hash_name = ctx.suite.hash_name
        ks.verify_finished(
            hash_name, ctx.server_secret, ctx.transcript.digest(), message.verify_data
        )
        ctx.transcript.update(raw)
        server_finished_hash = ctx.transcript.digest()
        master = ctx.handshake_secret.master_secret()
        client_app = master.client_application_traffic_secret_0(server_finished_hash)
        server_app = master.server_application_traffic_secret_0(server_finished_hash)
        exporter = master.exporter_master_secret(server_finished_hash)
        io.keylog("CLIENT_TRAFFIC_SECRET_0", client_app)
        io.keylog("SERVER_TRAFFIC_SECRET_0", server_app)
        io.keylog("EXPORTER_SECRET", exporter)
        io.set_read_key(ctx.suite, server_app)
        early_data.client_end_of_early_data(io, ctx.transcript, ctx.suite, ctx.client_secret)
        if not ctx.ccs_sent and io.config.middlebox_compat:
            io.send_change_cipher_spec()
        if ctx.certificate_request is not None:
            auth13.send_client_certificate(io, ctx.transcript, ctx.certificate_request)
        verify_data = ks.finished_verify_data(hash_name, ctx.client_secret, ctx.transcript.digest())
        ctx.transcript.update(io.send_handshake(Finished(verify_data=verify_data)))
        io.set_write_key(ctx.suite, client_app)
        traffic = ClientTraffic(
            suite=ctx.suite,
            client_secret=client_app,
            server_secret=server_app,
            exporter_master_secret=exporter,
            resumption_master_secret=master.resumption_master_secret(ctx.transcript.digest()),
            # Kept only for post-handshake auth we offered; otherwise freed.
            transcript=ctx.transcript if io.config.post_handshake_auth else None,
        )
        io.emit(
            HandshakeComplete(
                alpn_protocol=io.negotiated.alpn_protocol,
                session_resumed=io.negotiated.session_resumed,
            )
        )
        return traffic


@dataclass(slots=True, kw_only=True)
class ClientTraffic:
    """Application data flows; post-handshake messages arrive here (RFC 8446 4.6)."""

    suite: CipherSuiteInfo
    client_secret: bytes
    server_secret: bytes
    exporter_master_secret: bytes
    resumption_master_secret: bytes
    # The main handshake through our Finished, for post-handshake auth.
    transcript: Transcript | None = None

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if isinstance(message, CertificateRequest):
            if self.transcript is None:
                # RFC 8446 4.6.2: a request we did not invite.
                raise UnexpectedMessage(
                    "CertificateRequest after the handshake, but we did not offer it"
                )
            auth13.answer_post_handshake_request(
                message, raw, io, self.transcript, self.suite, self.client_secret
            )
            return self
        if isinstance(message, NewSessionTicket):
            io.negotiated.session_tickets.append(message)
            session = psk13.session_from_ticket(
                io, message, self.suite, self.resumption_master_secret
            )
            io.negotiated.sessions.append(session)
            limit = io.config.max_session_tickets_kept
            keep_recent(io.negotiated.session_tickets, limit)
            keep_recent(io.negotiated.sessions, limit)
            io.emit(
                NewSessionTicketReceived(
                    ticket_lifetime=message.ticket_lifetime, ticket=message.ticket, session=session
                )
            )
            return self
        if isinstance(message, KeyUpdate):
            self.server_secret, self.client_secret = handle_key_update(
                message, io, self.suite, self.server_secret, self.client_secret
            )
            return self
        raise unexpected(message, self)

    def update_write_key(self, io: HandshakeIO, request_peer: bool) -> None:
        """Our own KeyUpdate (RFC 8446 4.6.3)."""
        request = (
            KeyUpdateRequest.update_requested
            if request_peer
            else KeyUpdateRequest.update_not_requested
        )
        io.send_handshake(KeyUpdate(request_update=request))
        self.client_secret = ks.next_application_traffic_secret(
            self.suite.hash_name, self.client_secret
        )
        io.set_write_key(self.suite, self.client_secret)
