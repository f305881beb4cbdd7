"""TLS 1.3 server handshake (RFC 8446 2, 4.1-4.4), one class per state.

The server reads a ClientHello, chooses version, suite, group, certificate
and ALPN, asks for a retry when no usable key share came, then sends its
whole flight (ServerHello .. Finished) at once and waits for the client's
Finished (and certificate, when it asked for one).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from puretls.config import TLSConfig
from puretls.crypto import key_schedule as ks
from puretls.crypto.groups import KeyExchange, generate_key_exchange, is_supported_group
from puretls.crypto.signatures import (
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    PublicKey,
    sign,
    tls13_signed_content,
    verify,
)
from puretls.crypto.suites import CipherSuiteInfo, suite_info
from puretls.enums import KeyUpdateRequest, ProtocolVersion, PskKeyExchangeMode
from puretls.errors import (
    HandshakeFailure,
    IllegalParameter,
    MissingExtension,
    NoApplicationProtocol,
    ProtocolVersionError,
    UnexpectedMessage,
)
from puretls.events import HandshakeComplete
from puretls.handshake import auth13, certselect, early_data, psk13, server12
from puretls.handshake.base import HandshakeIO, State, hello_extension, unexpected
from puretls.handshake.common13 import handle_key_update
from puretls.messages import (
    ALPN,
    CertificateVerify,
    ClientHello,
    Cookie,
    EarlyData,
    EncryptedExtensions,
    Extension,
    Finished,
    HandshakeMessage,
    HelloRetryRequest,
    KeyShare,
    KeyShareEntry,
    KeyUpdate,
    NewSessionTicket,
    PostHandshakeAuth,
    PreSharedKey,
    PskKeyExchangeModes,
    ServerHello,
    ServerName,
    SupportedGroups,
    SupportedVersions,
    decode_server_hello,
    find_extension,
)
from puretls.record.protection import TLS13Protection
from puretls.transcript import Transcript

TLS13 = ProtocolVersion.TLSv1_3

# Extensions with the same value in every handshake: frozen, so made once.
_SELECTED_TLS13 = SupportedVersions(selected=TLS13)  # RFC 8446 4.2.1
_SNI_ACKNOWLEDGED = ServerName()  # RFC 6066 3: empty in EncryptedExtensions
_EARLY_DATA_ACCEPTED = EarlyData()  # RFC 8446 4.2.10: empty in EncryptedExtensions

# TLSConfig.last_key_share_group when the last first ClientHello used no key
# share of ours (a HelloRetryRequest, psk_ke, TLS 1.2): prepare none.
_NO_SHARE = -1


@dataclass(slots=True, kw_only=True)
class _Retry:
    """What the server remembers across its HelloRetryRequest."""

    suite: CipherSuiteInfo
    group: int
    cookie: bytes
    session_id: bytes


@dataclass(slots=True, kw_only=True)
class _Choice:
    """The parameters chosen for one ClientHello."""

    suite: CipherSuiteInfo
    group: int
    client_share: KeyShareEntry | None
    psk: psk13.AcceptedPsk | None = None

    @property
    def needs_retry(self) -> bool:
        """No usable key share, and one is needed (psk_ke needs none)."""
        psk_ke = self.psk is not None and self.psk.mode == PskKeyExchangeMode.psk_ke
        return self.client_share is None and not psk_ke


def _check_versions(hello: ClientHello) -> None:
    """RFC 8446 4.2.1: TLS 1.3 is negotiated only through supported_versions."""
    versions = hello_extension(hello, SupportedVersions)
    if versions is None or TLS13 not in versions.versions:
        raise ProtocolVersionError("client does not offer TLS 1.3")
    if hello.legacy_compression_methods != b"\x00":
        # RFC 8446 4.1.2: exactly one byte, null compression.
        raise IllegalParameter("TLS 1.3 ClientHello must offer only null compression")


def _choose_suite(config: TLSConfig, hello: ClientHello) -> CipherSuiteInfo:
    offered = set(hello.cipher_suites)
    for suite in config.cipher_suites:
        info = suite_info(suite)
        if info is not None and info.tls13 and suite in offered:
            return info
    raise HandshakeFailure("no cipher suite in common with the client")


def _choose_group(config: TLSConfig, hello: ClientHello) -> tuple[int, KeyShareEntry | None]:
    """Prefer a group the client sent a share for; otherwise retry (RFC 8446 4.1.1)."""
    groups_ext = hello_extension(hello, SupportedGroups)
    share_ext = hello_extension(hello, KeyShare)
    if groups_ext is None or share_ext is None:
        # RFC 8446 9.2: both are mandatory for (EC)DHE.
        missing = "supported_groups" if groups_ext is None else "key_share"
        raise MissingExtension(f"ClientHello has no {missing} extension")
    client_groups = groups_ext.groups
    shares = {entry.group: entry for entry in share_ext.client_shares}
    for group in shares:
        if group not in client_groups:
            # RFC 8446 4.2.8: shares must be for groups listed in supported_groups.
            raise IllegalParameter("key_share for a group not in supported_groups")
    for group in config.groups:
        if group in shares:
            return group, shares[group]
    for group in config.groups:
        if group in client_groups:
            return group, None
    raise HandshakeFailure("no key exchange group in common with the client")


def _choose_alpn(config: TLSConfig, hello: ClientHello) -> bytes | None:
    """RFC 7301 3.2: our preference among the client's; no overlap is fatal."""
    alpn = hello_extension(hello, ALPN)
    if alpn is None or not config.alpn_protocols:
        return None
    for protocol in config.alpn_protocols:
        if protocol in alpn.protocols:
            return protocol
    raise NoApplicationProtocol(
        "no ALPN protocol in common (client offered "
        + ", ".join(p.decode("ascii", "replace") for p in alpn.protocols)
        + ")"
    )


def _apply_sni(io: HandshakeIO, hello: ClientHello) -> bool:
    """Record the client's server_name and let the application switch configs."""
    sni = hello_extension(hello, ServerName)
    name = sni.host_name if sni is not None else None
    io.negotiated.server_name = name
    callback = io.config.sni_callback
    if callback is not None:
        replacement = callback(name)
        if replacement is not None:
            io.config = replacement
    return name is not None


@dataclass(slots=True, kw_only=True)
class _PreparedShare:
    """A key pair made before the ClientHello came (ExpectClientHello.prepare)."""

    group: int
    rng: Callable[[int], bytes]  # the one it was drawn from
    kx: KeyExchange
    public: bytes


def _remember_group(config: TLSConfig, group: int) -> None:
    """Note on the (shared) config which group the next hello will likely need."""
    if config.last_key_share_group != group:
        # The one mutable value of the frozen config: a hint, never part of a decision.
        object.__setattr__(config, "last_key_share_group", group)


@dataclass(slots=True, kw_only=True)
class ExpectClientHello:
    """Waits for the first ClientHello, or the second after a retry."""

    transcript: Transcript
    retry: _Retry | None = None
    # Made by prepare(), used by at most one _send_server_flight.
    prepared_share: _PreparedShare | None = None

    def prepare(self, io: HandshakeIO) -> None:
        """Make the key share the hello will most likely ask for (base.Preparing).

        The group the config's last ClientHello chose (else our first), or
        the one our HelloRetryRequest named.  It is drawn from ``config.rng``
        exactly as _send_server_flight would draw it, first thing: when the
        group matches, the handshake's bytes do not change; when it does not,
        the key is dropped and a fresh one made (the rng stream moves on).
        """
        config = io.config
        if self.prepared_share is not None or config.max_version < TLS13:
            return
        if self.retry is not None:
            group = self.retry.group
        else:
            group = config.last_key_share_group or (config.groups[0] if config.groups else 0)
        if group == _NO_SHARE or not is_supported_group(group):
            return
        kx = generate_key_exchange(group, config.rng)
        self.prepared_share = _PreparedShare(
            group=group, rng=config.rng, kx=kx, public=kx.public_bytes()
        )

    def _key_share(self, group: int, config: TLSConfig) -> tuple[KeyExchange, bytes]:
        """Our key pair for ``group``: the prepared one if it fits, else a new one."""
        prepared = self.prepared_share
        if prepared is not None:
            self.prepared_share = None  # single use, whatever happens next
            if prepared.group == group and prepared.rng is config.rng:
                return prepared.kx, prepared.public
        kx = generate_key_exchange(group, config.rng)
        return kx, kx.public_bytes()

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, ClientHello):
            raise unexpected(message, self)
        hello = message
        first_config = io.config  # the one prepare() read, before any SNI switch
        if self.retry is None and server12.wants_tls12(io.config, hello):
            _remember_group(first_config, _NO_SHARE)
            return server12.handle_client_hello(hello, raw, io)
        _check_versions(hello)
        if self.retry is None:
            sni_acknowledged = _apply_sni(io, hello)
            io.negotiated.client_random = hello.random
        else:
            sni_acknowledged = io.negotiated.server_name is not None
        choice = self._choose(io, hello, raw)
        if self.retry is None:
            share = choice.client_share is not None
            _remember_group(first_config, choice.group if share else _NO_SHARE)
        if choice.needs_retry:
            return self._send_hello_retry_request(hello, raw, choice, io)
        return self._send_server_flight(hello, raw, choice, sni_acknowledged, io)

    def _choose(self, io: HandshakeIO, hello: ClientHello, raw: bytes) -> _Choice:
        if self.retry is None:
            psk = psk13.server_select(io, hello, raw, None, None)
            suite = psk.suite if psk is not None else _choose_suite(io.config, hello)
            if psk is not None and psk.mode == PskKeyExchangeMode.psk_ke:
                return _Choice(suite=suite, group=0, client_share=None, psk=psk)
            group, share = _choose_group(io.config, hello)
            return _Choice(suite=suite, group=group, client_share=share, psk=psk)
        choice = self._check_second_hello(hello)
        choice.psk = psk13.server_select(io, hello, raw, [choice.suite], self.transcript)
        return choice

    def _check_second_hello(self, hello: ClientHello) -> _Choice:
        """RFC 8446 4.1.2: the retried hello answers exactly what we asked."""
        retry = self.retry
        assert retry is not None
        if hello.legacy_session_id != retry.session_id:
            raise IllegalParameter("second ClientHello changed legacy_session_id")
        if retry.suite.suite not in hello.cipher_suites:
            raise IllegalParameter("second ClientHello dropped the cipher suite we selected")
        cookie = hello_extension(hello, Cookie)
        if cookie is None or cookie.cookie != retry.cookie:
            raise IllegalParameter("second ClientHello does not echo our cookie")
        share_ext = hello_extension(hello, KeyShare)
        shares = share_ext.client_shares if share_ext else ()
        if len(shares) != 1 or shares[0].group != retry.group:
            raise IllegalParameter("second ClientHello lacks the one key share we asked for")
        if hello_extension(hello, EarlyData) is not None:
            # RFC 8446 4.2.10: no early data after a HelloRetryRequest.
            raise IllegalParameter("second ClientHello offers early data")
        return _Choice(suite=retry.suite, group=retry.group, client_share=shares[0])

    def _send_hello_retry_request(
        self, hello: ClientHello, raw: bytes, choice: _Choice, io: HandshakeIO
    ) -> State:
        if self.retry is not None:
            raise IllegalParameter("second ClientHello still has no usable key share")
        config = io.config
        cookie = config.rng(32)
        hrr = HelloRetryRequest(
            legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=choice.suite.suite,
            extensions=(
                KeyShare(selected_group=choice.group),
                _SELECTED_TLS13,
                Cookie(cookie=cookie),
            ),
        )
        transcript = self.transcript
        transcript.set_hash(choice.suite.hash_name)
        transcript.update(raw)
        transcript.rewrite_for_hello_retry_request()
        raw_hrr = io.send_handshake(hrr)
        transcript.update(raw_hrr)
        if config.message_hook is not None:  # keep the cookie actually sent
            sent = decode_server_hello(raw_hrr[4:])
            sent_cookie = find_extension(sent.extensions, Cookie)
            cookie = sent_cookie.cookie if sent_cookie else cookie
        io.negotiated.hello_retry_request = True
        if hello.legacy_session_id:
            io.send_change_cipher_spec()
        if hello_extension(hello, EarlyData) is not None:
            # RFC 8446 4.2.10: early data records follow; skip them.
            io.skip_early_data(True)
        retry = _Retry(
            suite=choice.suite,
            group=choice.group,
            cookie=cookie,
            session_id=hello.legacy_session_id,
        )
        return ExpectClientHello(transcript=transcript, retry=retry)

    def _send_server_flight(
        self,
        hello: ClientHello,
        raw: bytes,
        choice: _Choice,
        sni_acknowledged: bool,
        io: HandshakeIO,
    ) -> State:
        config = io.config
        psk = choice.psk
        chosen = None if psk is not None else certselect.select_server_certificate(config, hello)
        # RFC 8446 4.2.6 (the decoder always reads it as PostHandshakeAuth).
        io.negotiated.post_handshake_auth = hello_extension(hello, PostHandshakeAuth) is not None
        alpn = _choose_alpn(config, hello)
        sh_extensions: list[Extension] = []
        if psk is not None:
            sh_extensions.append(PreSharedKey(selected_identity=psk.index))
        shared_secret: bytes | None = None
        if choice.client_share is not None:  # absent only in psk_ke mode
            kx, public = self._key_share(choice.group, config)
            shared_secret = kx.exchange(choice.client_share.key_exchange)
            entry = KeyShareEntry(group=choice.group, key_exchange=public)
            sh_extensions.append(KeyShare(server_share=entry))
        sh_extensions.append(_SELECTED_TLS13)
        suite = choice.suite
        server_hello = ServerHello(
            random=config.rng(32),
            legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=suite.suite,
            extensions=tuple(sh_extensions),
        )
        transcript = self.transcript
        if self.retry is None:
            transcript.set_hash(suite.hash_name)
        transcript.update(raw)
        transcript.update(io.send_handshake(server_hello))
        hello_hash = transcript.digest()
        negotiated = io.negotiated
        negotiated.cipher_suite = suite
        negotiated.group = choice.group if choice.client_share is not None else None
        negotiated.signature_scheme = chosen[1] if chosen is not None else None
        negotiated.alpn_protocol = alpn.decode("ascii", "replace") if alpn else None
        negotiated.session_resumed = psk is not None
        accept_early = early_data.server_accepts(io, psk, suite, negotiated.alpn_protocol)

        early_secret = ks.EarlySecret(suite.hash_name, psk.psk if psk is not None else None)
        handshake_secret = early_secret.handshake_secret(shared_secret)
        client_hs = handshake_secret.client_handshake_traffic_secret(hello_hash)
        server_hs = handshake_secret.server_handshake_traffic_secret(hello_hash)
        io.keylog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_hs)
        io.keylog("SERVER_HANDSHAKE_TRAFFIC_SECRET", server_hs)
        # RFC 8446 D.4: one dummy change_cipher_spec after our first flight
        # message when the client is in compatibility mode.
        if hello.legacy_session_id and self.retry is None:
            io.send_change_cipher_spec()
        io.set_write_key(suite, server_hs)

        extensions: list[Extension] = []
        if sni_acknowledged:
            extensions.append(_SNI_ACKNOWLEDGED)
        if alpn is not None:
            extensions.append(ALPN(protocols=(alpn,)))
        if accept_early:
            extensions.append(_EARLY_DATA_ACCEPTED)
        transcript.update(io.send_handshake(EncryptedExtensions(extensions=tuple(extensions))))
        request_certificate = chosen is not None and auth13.request_in_handshake(config, hello)
        if chosen is not None:  # RFC 8446 2.2: a PSK handshake sends no certificate
            certified, scheme = chosen
            if request_certificate:
                transcript.update(io.send_handshake(auth13.build_certificate_request(config)))
            certificate = auth13.server_certificate_message(config, hello, certified, io)
            transcript.update(io.send_handshake(certificate))
            signature = sign(
                scheme, certified.private_key, tls13_signed_content(True, transcript.digest())
            )
            transcript.update(
                io.send_handshake(CertificateVerify(algorithm=scheme, signature=signature))
            )
        verify_data = ks.finished_verify_data(suite.hash_name, server_hs, transcript.digest())
        transcript.update(io.send_handshake(Finished(verify_data=verify_data)))

        server_finished_hash = transcript.digest()
        master = handshake_secret.master_secret()
        client_app = master.client_application_traffic_secret_0(server_finished_hash)
        server_app = master.server_application_traffic_secret_0(server_finished_hash)
        exporter = master.exporter_master_secret(server_finished_hash)
        io.keylog("CLIENT_TRAFFIC_SECRET_0", client_app)
        io.keylog("SERVER_TRAFFIC_SECRET_0", server_app)
        io.keylog("EXPORTER_SECRET", exporter)
        io.set_write_key(suite, server_app)
        io.set_read_key(suite, client_hs)
        ctx = _ServerContext(
            transcript=transcript,
            suite=suite,
            master=master,
            client_hs=client_hs,
            client_app=client_app,
            server_app=server_app,
            exporter=exporter,
            # RFC 8446 4.6.1: tickets only for a client that sent psk modes.
            send_tickets=hello_extension(hello, PskKeyExchangeModes) is not None,
        )
        next_state: State = (
            ExpectClientCertificate(ctx=ctx)
            if request_certificate
            else ExpectClientFinished(ctx=ctx)
        )
        if accept_early:
            assert psk is not None
            return early_data.server_read_early_data(
                io, psk, suite, raw, transcript, client_hs, next_state
            )
        if hello_extension(hello, EarlyData) is not None:
            # RFC 8446 4.2.10: 0-RTT refused; skip what we cannot decrypt.
            io.skip_early_data(True)
        return next_state


@dataclass(slots=True, kw_only=True)
class _ServerContext:
    transcript: Transcript
    suite: CipherSuiteInfo
    master: ks.MasterSecret
    client_hs: bytes
    client_app: bytes
    server_app: bytes
    exporter: bytes
    send_tickets: bool = False


@dataclass(slots=True, kw_only=True)
class ExpectClientCertificate:
    ctx: _ServerContext

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        io.skip_early_data(False)
        config = io.config
        certificate = auth13.as_certificate(message, config, bool(config.certificate_compression))
        if certificate is None:
            raise unexpected(message, self)
        public_key = auth13.receive_client_certificate(certificate, io, b"")
        self.ctx.transcript.update(raw)
        if public_key is None:
            return ExpectClientFinished(ctx=self.ctx)
        return ExpectClientCertificateVerify(ctx=self.ctx, public_key=public_key)


@dataclass(slots=True, kw_only=True)
class ExpectClientCertificateVerify:
    ctx: _ServerContext
    public_key: PublicKey

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        if not isinstance(message, CertificateVerify):
            raise unexpected(message, self)
        scheme = message.algorithm
        if (
            scheme not in io.config.signature_schemes
            or scheme not in TLS13_CERTIFICATE_VERIFY_SCHEMES
        ):
            raise IllegalParameter(
                f"client CertificateVerify uses scheme 0x{scheme:04x} we did not offer"
            )
        content = tls13_signed_content(False, self.ctx.transcript.digest())
        verify(scheme, self.public_key, content, message.signature)
        self.ctx.transcript.update(raw)
        return ExpectClientFinished(ctx=self.ctx)


@dataclass(slots=True, kw_only=True)
class _PreparedFinish:
    """What handling the client's Finished needs, worked out while waiting for it."""

    expected: bytes  # the whole Finished message the client must send (RFC 8446 4.4.4)
    resumption: bytes  # resumption_master_secret over ..client Finished (RFC 8446 7.1)
    tickets: list[NewSessionTicket]  # made, not sent (psk13.make_tickets)
    # Our read protection under client_application_traffic_secret_0 (RFC 8446
    # 7.3): its key and IV do not depend on the client's Finished.
    client_read: TLS13Protection


@dataclass(slots=True, kw_only=True)
class ExpectClientFinished:
    ctx: _ServerContext
    prepared: _PreparedFinish | None = None

    def prepare(self, io: HandshakeIO) -> None:
        """While the client checks our flight, compute what its Finished will need.

        Only the client's Finished can come next in this state, and its
        bytes are determined by the transcript so far: the expected message,
        the transcript hash through it, the resumption master secret and
        our tickets follow from it (base.Preparing).  With a tracer the
        schedule steps would be reported ahead of the message that causes
        them, so a traced connection works everything out on arrival.
        """
        config = io.config
        if self.prepared is not None or config.tracer is not None:
            return
        ctx = self.ctx
        hash_name = ctx.suite.hash_name
        verify_data = ks.finished_verify_data(hash_name, ctx.client_hs, ctx.transcript.digest())
        expected = Finished(verify_data=verify_data).encode()
        resumption = ctx.master.resumption_master_secret(ctx.transcript.digest_with(expected))
        tickets = (
            psk13.make_tickets(io, ctx.suite, resumption, config.session_tickets)
            if ctx.send_tickets and config.session_tickets > 0
            else []
        )
        suite = ctx.suite
        key, iv = ks.traffic_key_iv(hash_name, ctx.client_app, suite.key_length, suite.iv_length)
        self.prepared = _PreparedFinish(
            expected=expected,
            resumption=resumption,
            tickets=tickets,
            client_read=TLS13Protection(suite, key, iv),
        )

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        io.skip_early_data(False)
        if not isinstance(message, Finished):
            raise unexpected(message, self)
        ctx = self.ctx
        prepared = self.prepared
        self.prepared = None
        # RFC 8446 4.4.4: the whole message equal to the one expected means
        # verify_data is right (constant time, as verify_finished compares).
        if prepared is not None and hmac.compare_digest(raw, prepared.expected):
            ctx.transcript.update(raw)
            resumption = prepared.resumption
            tickets: list[NewSessionTicket] | None = prepared.tickets
        else:
            hash_name = ctx.suite.hash_name
            ks.verify_finished(
                hash_name, ctx.client_hs, ctx.transcript.digest(), message.verify_data
            )
            ctx.transcript.update(raw)
            resumption = ctx.master.resumption_master_secret(ctx.transcript.digest())
            tickets = None
        if prepared is None:
            io.set_read_key(ctx.suite, ctx.client_app)
        else:
            io.set_read_protection(prepared.client_read)
        io.emit(
            HandshakeComplete(
                alpn_protocol=io.negotiated.alpn_protocol,
                session_resumed=io.negotiated.session_resumed,
            )
        )
        if ctx.send_tickets and io.config.session_tickets > 0:
            if tickets is None:
                psk13.send_tickets(io, ctx.suite, resumption, io.config.session_tickets)
            else:
                for ticket in tickets:
                    io.send_handshake(ticket)
        return ServerTraffic(
            suite=ctx.suite,
            client_secret=ctx.client_app,
            server_secret=ctx.server_app,
            exporter_master_secret=ctx.exporter,
            resumption_master_secret=resumption,
            # Only a client that offered post_handshake_auth needs the
            # transcript kept; for the others it is freed with the handshake.
            post_handshake_auth=auth13.ServerPostHandshakeAuth(handshake_transcript=ctx.transcript)
            if io.negotiated.post_handshake_auth
            else None,
        )


@dataclass(slots=True, kw_only=True)
class ServerTraffic:
    """Application data flows; the client may only send KeyUpdate now."""

    suite: CipherSuiteInfo
    client_secret: bytes
    server_secret: bytes
    exporter_master_secret: bytes
    resumption_master_secret: bytes
    post_handshake_auth: auth13.ServerPostHandshakeAuth | None = None

    def handle(self, message: HandshakeMessage, raw: bytes, io: HandshakeIO) -> State:
        pha = self.post_handshake_auth
        if pha is not None and pha.accepts(message):
            pha.handle(message, raw, io, self.client_secret)
            return self
        if isinstance(message, KeyUpdate):
            self.client_secret, self.server_secret = handle_key_update(
                message, io, self.suite, self.client_secret, self.server_secret
            )
            return self
        raise unexpected(message, self)

    def request_client_certificate(self, io: HandshakeIO) -> None:
        """Post-handshake authentication (RFC 8446 4.6.2)."""
        if self.post_handshake_auth is None:
            raise UnexpectedMessage(
                "the client did not offer post-handshake authentication (post_handshake_auth)"
            )
        self.post_handshake_auth.request(io)

    def update_write_key(self, io: HandshakeIO, request_peer: bool) -> None:
        """Our own KeyUpdate (RFC 8446 4.6.3)."""
        request = (
            KeyUpdateRequest.update_requested
            if request_peer
            else KeyUpdateRequest.update_not_requested
        )
        io.send_handshake(KeyUpdate(request_update=request))
        self.server_secret = ks.next_application_traffic_secret(
            self.suite.hash_name, self.server_secret
        )
        io.set_write_key(self.suite, self.server_secret)
