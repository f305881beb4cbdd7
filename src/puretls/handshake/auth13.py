"""Certificates in TLS 1.3: sending ours, asking for the peer's, checking it.

The handshake states (client13, server13) call in here for everything about
authentication, so they stay a readable walk through RFC 8446 section 2:

- which of several chains to send is certselect's job (this module asks it);
- the CertificateRequest a server sends (4.3.2), in the handshake or after
  it (post-handshake authentication, 4.6.2);
- the Certificate message we send, with a stapled OCSP response (4.4.2.1)
  and, when both sides support it, compressed (RFC 8879);
- receiving the peer's Certificate: decompressing, verifying the chain, the
  leaf's key usage and the OCSP staple;
- post-handshake authentication on both sides (RFC 8446 4.6.2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from puretls.config import CertifiedKey, TLSConfig
from puretls.crypto import key_schedule as ks
from puretls.crypto.certs import public_key_from_der
from puretls.crypto.signatures import (
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    PublicKey,
    sign,
    tls13_signed_content,
    verify,
)
from puretls.crypto.suites import CipherSuiteInfo
from puretls.enums import AlertDescription
from puretls.errors import (
    CertificateError,
    DecodeError,
    IllegalParameter,
    MissingExtension,
    UnexpectedMessage,
)
from puretls.events import PeerCertificateVerified
from puretls.handshake.base import HandshakeIO, check_offered, hello_extension
from puretls.handshake.certcompress import (
    choose_algorithm,
    compress_certificate,
    decompress_certificate,
)
from puretls.handshake.certselect import remember, select_certificate
from puretls.messages import (
    Certificate,
    CertificateAuthorities,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressCertificate,
    CompressedCertificate,
    Extension,
    Finished,
    HandshakeMessage,
    PostHandshakeAuth,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    StatusRequest,
    find_extension,
)
from puretls.ocsp import check_ocsp_response, missing_staple, requires_staple
from puretls.transcript import Transcript
from puretls.verify import check_leaf_key_usage

# RFC 8446 4.6.2: the server picks the context; 8 random bytes make it unique.
_PHA_CONTEXT_LENGTH = 8


# ---------------------------------------------------------------------------
# What goes into hellos and requests


def client_hello_extensions(config: TLSConfig) -> list[Extension]:
    """The authentication-related extensions a client offers."""
    exts: list[Extension] = []
    if config.ocsp_stapling or config.ocsp_must_staple:
        exts.append(StatusRequest())  # RFC 6066 8: no responder ids, no extensions
    if config.certificate_compression:
        exts.append(CompressCertificate(algorithms=config.certificate_compression))
    if config.post_handshake_auth:
        exts.append(PostHandshakeAuth())
    return exts


def request_in_handshake(config: TLSConfig, hello: ClientHello) -> bool:
    """Whether the server's flight carries a CertificateRequest.

    A server configured for post-handshake auth waits when the client offers
    it (as OpenSSL's SSL_VERIFY_POST_HANDSHAKE does) and asks later.
    """
    if not config.request_client_certificate:
        return False
    offered = hello_extension(hello, PostHandshakeAuth) is not None
    return not (config.post_handshake_auth and offered)


def build_certificate_request(config: TLSConfig, context: bytes = b"") -> CertificateRequest:
    """RFC 8446 4.3.2: signature_algorithms always, the rest when configured."""
    exts: list[Extension] = [SignatureAlgorithms(schemes=config.signature_schemes)]
    if config.certificate_authorities:
        exts.append(CertificateAuthorities(authorities=config.certificate_authorities))
    if config.certificate_compression:
        # RFC 8879 3: in a CertificateRequest it offers to inflate the client's.
        exts.append(CompressCertificate(algorithms=config.certificate_compression))
    return CertificateRequest(certificate_request_context=context, extensions=tuple(exts))


def certificate_message(
    config: TLSConfig,
    certified: CertifiedKey | None,
    *,
    context: bytes = b"",
    staple: bytes | None = None,
    peer_compression: Sequence[int] = (),
) -> Certificate | CompressedCertificate:
    """Our Certificate (RFC 8446 4.4.2), compressed when both sides can (RFC 8879)."""
    entries: list[CertificateEntry] = []
    if certified is not None:
        for index, der in enumerate(certified.chain):
            exts: tuple[Extension, ...] = ()
            if index == 0 and staple is not None:
                # RFC 8446 4.4.2.1: the status goes with the leaf's entry.
                exts = (StatusRequest(ocsp_response=staple),)
            entries.append(CertificateEntry(cert_data=der, extensions=exts))
    certificate = Certificate(certificate_request_context=context, certificate_list=tuple(entries))
    algorithm = choose_algorithm(config.certificate_compression, peer_compression)
    if algorithm is None:
        return certificate
    return compress_certificate(certificate, algorithm)


def server_staple(config: TLSConfig, hello: ClientHello, certified: CertifiedKey) -> bytes | None:
    """The OCSP response to staple for ``certified``, if the client asked (RFC 6066 8)."""
    if hello_extension(hello, StatusRequest) is None or not config.ocsp_responses:
        return None
    return config.ocsp_responses(certified.chain[0])


def server_certificate_message(
    config: TLSConfig, hello: ClientHello, certified: CertifiedKey, io: HandshakeIO
) -> Certificate | CompressedCertificate:
    """The server's Certificate, with an OCSP staple when asked and available."""
    staple = server_staple(config, hello, certified)
    io.negotiated.ocsp_response = staple
    compress = hello_extension(hello, CompressCertificate)
    if (
        staple is None
        and (compress is None or not config.certificate_compression)
        and type(certified.chain) is tuple  # the key: hashable and fixed
    ):
        # The plain Certificate depends on the chain alone: build it once.
        memo = config.certificate_messages
        certificate = memo.get(certified.chain)
        if certificate is None:
            built = certificate_message(config, certified)
            assert isinstance(built, Certificate)  # no algorithm to compress with
            remember(memo, certified.chain, built)
            return built
        return certificate
    return certificate_message(
        config,
        certified,
        staple=staple,
        peer_compression=compress.algorithms if compress else (),
    )


# ---------------------------------------------------------------------------
# Receiving the peer's Certificate


def as_certificate(
    message: HandshakeMessage, config: TLSConfig, offered: bool
) -> Certificate | None:
    """A Certificate, inflating a CompressedCertificate we said we could read."""
    if isinstance(message, CompressedCertificate):
        if not offered:
            raise UnexpectedMessage("CompressedCertificate without compress_certificate offered")
        return decompress_certificate(
            message, config.certificate_compression, config.max_handshake_message_size
        )
    return message if isinstance(message, Certificate) else None


def receive_server_certificate(
    message: Certificate, io: HandshakeIO, offered_types: frozenset[int]
) -> PublicKey:
    """Client: check the server's chain, key usage and OCSP staple; its public key."""
    if message.certificate_request_context:
        raise IllegalParameter("server Certificate has a non-empty request context")
    if not message.certificate_list:
        raise DecodeError("server sent an empty Certificate message")  # RFC 8446 4.4.2.4
    for entry in message.certificate_list:
        # RFC 8446 4.4.2: entry extensions answer what the client offered.
        check_offered(entry.extensions, offered_types, "CertificateEntry")
    chain = tuple(entry.cert_data for entry in message.certificate_list)
    leaf_status = find_extension(message.certificate_list[0].extensions, StatusRequest)
    config = io.config
    negotiated = io.negotiated
    negotiated.peer_certificates = chain
    negotiated.ocsp_response = leaf_status.ocsp_response if leaf_status else None
    public_key = public_key_from_der(chain[0])
    verifier = config.verifier
    if verifier is None:
        return public_key
    now = config.clock()
    verified = verifier.verify(chain, config.server_name, now)
    leaf = verified.leaf
    check_leaf_key_usage(leaf)
    check_staple(config, negotiated.ocsp_response, verified.certificates, now)
    negotiated.verified_chain = verified.certificates
    return public_key


def check_staple(
    config: TLSConfig,
    staple: bytes | None,
    path: tuple[x509.Certificate, ...],
    now: datetime,
) -> None:
    leaf = path[0]
    if staple is None:
        if config.ocsp_must_staple:
            raise missing_staple("this client requires one (ocsp_must_staple)")
        if (config.ocsp_stapling or config.ocsp_must_staple) and requires_staple(leaf):
            raise missing_staple("the certificate carries the TLS Feature status_request")
        return
    if len(path) < 2:
        raise CertificateError(
            "cannot check the stapled OCSP response: the certificate's issuer is unknown",
            alert=AlertDescription.bad_certificate_status_response,
        )
    check_ocsp_response(staple, leaf, path[1], now)


def receive_client_certificate(
    message: Certificate, io: HandshakeIO, context: bytes
) -> PublicKey | None:
    """Server: check the client's chain; None for an empty (allowed) Certificate."""
    if message.certificate_request_context != context:
        raise IllegalParameter("client Certificate has the wrong request context")
    for entry in message.certificate_list:
        if entry.extensions:
            # RFC 8446 4.4.2: only extensions our CertificateRequest asked for.
            raise IllegalParameter("client CertificateEntry carries extensions we did not ask for")
    chain = tuple(entry.cert_data for entry in message.certificate_list)
    config = io.config
    if not chain:
        if config.require_client_certificate:
            raise CertificateError(
                "client sent no certificate, but one is required",
                alert=AlertDescription.certificate_required,  # RFC 8446 4.4.2.4
            )
        return None
    public_key = public_key_from_der(chain[0])
    io.negotiated.peer_certificates = chain
    verifier = config.verifier
    if verifier is not None:
        verified = verifier.verify(chain, None, config.clock())
        check_leaf_key_usage(verified.leaf)
        io.negotiated.verified_chain = verified.certificates
    return public_key


def check_certificate_verify(
    message: CertificateVerify,
    public_key: PublicKey,
    transcript: Transcript,
    config: TLSConfig,
    *,
    server: bool,
) -> None:
    """RFC 8446 4.4.3: a scheme we offered, never PKCS#1 v1.5, a valid signature."""
    scheme = message.algorithm
    if scheme not in config.signature_schemes or scheme not in TLS13_CERTIFICATE_VERIFY_SCHEMES:
        who = "server" if server else "client"
        raise IllegalParameter(
            f"{who} CertificateVerify uses scheme 0x{scheme:04x} we did not offer"
        )
    content = tls13_signed_content(server, transcript.digest())
    verify(scheme, public_key, content, message.signature)


# ---------------------------------------------------------------------------
# Answering a CertificateRequest (client)


def send_client_certificate(
    io: HandshakeIO, transcript: Transcript, request: CertificateRequest
) -> None:
    """RFC 8446 4.4.2: our chain (possibly empty) and, with one, CertificateVerify."""
    algorithms = find_extension(request.extensions, SignatureAlgorithms)
    cert_algorithms = find_extension(request.extensions, SignatureAlgorithmsCert)
    authorities = find_extension(request.extensions, CertificateAuthorities)
    compress = find_extension(request.extensions, CompressCertificate)
    chosen = select_certificate(
        io.config.certificates,
        algorithms.schemes if algorithms else (),
        cert_schemes=cert_algorithms.schemes if cert_algorithms else None,
        authorities=authorities.authorities if authorities else (),
    )
    certified = chosen[0] if chosen else None
    message = certificate_message(
        io.config,
        certified,
        context=request.certificate_request_context,
        peer_compression=compress.algorithms if compress else (),
    )
    transcript.update(io.send_handshake(message))
    if chosen is None:
        return
    key, scheme = chosen
    content = tls13_signed_content(False, transcript.digest())
    signature = sign(scheme, key.private_key, content)
    transcript.update(io.send_handshake(CertificateVerify(algorithm=scheme, signature=signature)))


def check_handshake_certificate_request(message: CertificateRequest) -> None:
    """RFC 8446 4.3.2: signature_algorithms is mandatory; the context is empty."""
    if find_extension(message.extensions, SignatureAlgorithms) is None:
        raise MissingExtension("CertificateRequest has no signature_algorithms")
    if message.certificate_request_context:
        raise IllegalParameter("CertificateRequest context must be empty in the handshake")


def answer_post_handshake_request(
    message: CertificateRequest,
    raw: bytes,
    io: HandshakeIO,
    handshake_transcript: Transcript,
    suite: CipherSuiteInfo,
    client_secret: bytes,
) -> None:
    """Client, RFC 8446 4.6.2: Certificate, CertificateVerify, Finished at once.

    The transcript is the main handshake's (through our Finished) plus this
    request; the Finished key comes from our current traffic secret (4.4).
    """
    if not io.config.post_handshake_auth:
        # RFC 8446 4.6.2: a request we did not invite is unexpected_message.
        raise UnexpectedMessage("CertificateRequest after the handshake, but we did not offer it")
    if find_extension(message.extensions, SignatureAlgorithms) is None:
        raise MissingExtension("CertificateRequest has no signature_algorithms")
    if not message.certificate_request_context:
        raise IllegalParameter("post-handshake CertificateRequest has an empty context")
    transcript = handshake_transcript.copy()
    transcript.update(raw)
    send_client_certificate(io, transcript, message)
    verify_data = ks.finished_verify_data(suite.hash_name, client_secret, transcript.digest())
    io.send_handshake(Finished(verify_data=verify_data))


# ---------------------------------------------------------------------------
# Post-handshake authentication (server)


@dataclass(slots=True, kw_only=True)
class _Pending:
    context: bytes
    transcript: Transcript
    public_key: PublicKey | None = None
    stage: str = "certificate"  # then "certificate_verify", then "finished"


@dataclass(slots=True, kw_only=True)
class ServerPostHandshakeAuth:
    """Server side of RFC 8446 4.6.2: requests sent, answers checked in order."""

    handshake_transcript: Transcript
    pending: deque[_Pending] = field(default_factory=deque)

    def request(self, io: HandshakeIO) -> None:
        if not io.negotiated.post_handshake_auth:
            raise UnexpectedMessage(
                "the client did not offer post-handshake authentication (post_handshake_auth)"
            )
        context = io.config.rng(_PHA_CONTEXT_LENGTH)
        transcript = self.handshake_transcript.copy()
        transcript.update(io.send_handshake(build_certificate_request(io.config, context)))
        self.pending.append(_Pending(context=context, transcript=transcript))

    def accepts(self, message: HandshakeMessage) -> bool:
        return isinstance(
            message, Certificate | CompressedCertificate | CertificateVerify | Finished
        )

    def handle(
        self, message: HandshakeMessage, raw: bytes, io: HandshakeIO, client_secret: bytes
    ) -> None:
        if not self.pending:
            raise UnexpectedMessage(f"unexpected {type(message).__name__} after the handshake")
        current = self.pending[0]
        if current.stage == "certificate":
            certificate = as_certificate(
                message, io.config, bool(io.config.certificate_compression)
            )
            if certificate is None:
                raise UnexpectedMessage(
                    f"expected the client's Certificate, not {type(message).__name__}"
                )
            current.public_key = receive_client_certificate(certificate, io, current.context)
            current.transcript.update(raw)
            current.stage = "certificate_verify" if current.public_key else "finished"
            return
        if current.stage == "certificate_verify":
            if not isinstance(message, CertificateVerify):
                raise UnexpectedMessage("expected the client's CertificateVerify")
            assert current.public_key is not None
            check_certificate_verify(
                message, current.public_key, current.transcript, io.config, server=False
            )
            current.transcript.update(raw)
            current.stage = "finished"
            return
        if not isinstance(message, Finished):
            raise UnexpectedMessage("expected the client's Finished")
        assert io.negotiated.cipher_suite is not None
        ks.verify_finished(
            io.negotiated.cipher_suite.hash_name,
            client_secret,
            current.transcript.digest(),
            message.verify_data,
        )
        self.pending.popleft()
        io.emit(
            PeerCertificateVerified(
                certificates=io.negotiated.peer_certificates if current.public_key else ()
            )
        )
