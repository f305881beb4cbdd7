"""TLS 1.3 handshake messages (RFC 8446 4), one frozen dataclass each.

``encode()`` returns the whole message, ``HandshakeType msg_type`` + ``uint24
length`` + body (RFC 8446 4), ready for the transcript and the record layer.
``decode_body(body)`` takes the body without that 4-byte header, which the
handshake reassembly has already split off.  Decoders are strict (every
length checked, nothing left over), so a decoded message re-encodes to the
bytes it came from.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from struct import Struct
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, final

from puretls._codec import (
    Reader,
    Writer,
    decoded_constructor,
    direct_init,
    framed,
    illegal,
    length_prefix,
)
from puretls.enums import ExtensionType, HandshakeType, KeyUpdateRequest
from puretls.errors import DecodeError, UnexpectedMessage
from puretls.messages.compressed_certificate import CompressedCertificate
from puretls.messages.extensions import (
    Extension,
    PreSharedKey,
    decode_extensions,
    encode_extensions,
)
from puretls.messages.tls12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    ClientKeyExchange,
    HelloRequest,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "HRR_RANDOM",
    "Certificate",
    "CertificateEntry",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "Finished",
    "HandshakeMessage",
    "HelloRetryRequest",
    "KeyUpdate",
    "MessageHash",
    "NewSessionTicket",
    "ServerHello",
    "client_hello_binder_prefix_length",
    "decode_handshake",
    "decode_handshake12",
    "decode_handshake_message",
    "decode_server_hello",
]

_HT = HandshakeType
# Plain globals for the hot paths: an enum member looked up through its
# class costs several times a global's load.
_CH, _SH, _HRR = _HT.client_hello, _HT.server_hello, _HT.hello_retry_request
_EE, _CT, _NST = _HT.encrypted_extensions, _HT.certificate, _HT.new_session_ticket

# RFC 8446 4.1.3: a HelloRetryRequest is a ServerHello whose random is
# SHA-256("HelloRetryRequest").
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()


# Fixed runs read in one Reader.fixed call: ProtocolVersion legacy_version
# and opaque Random[32] (both hellos, RFC 8446 4.1.2, 4.1.3); a ServerHello's
# CipherSuite and legacy_compression_method; NewSessionTicket's
# ticket_lifetime and ticket_age_add (RFC 8446 4.6.1).
_VERSION_RANDOM = Struct(">H32s")
_SUITE_COMPRESSION = Struct(">HB")
_TWO_UINT32 = Struct(">II")


def _optional_extensions(r: Reader, ctx: HandshakeType) -> tuple[Extension, ...]:
    """Hello extensions, which a TLS 1.2 peer may omit entirely (RFC 5246 7.4.1.2)."""
    if r.at_end():
        return ()
    return decode_extensions(r, ctx)


def _optional_encode(w: Writer, exts: tuple[Extension, ...], ctx: HandshakeType) -> None:
    if exts:
        encode_extensions(w, exts, ctx)


# ---------------------------------------------------------------------------
# ClientHello (RFC 8446 4.1.2)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ClientHello:
    msg_type: ClassVar[HandshakeType] = _HT.client_hello
    legacy_version: int = 0x0303
    random: bytes
    legacy_session_id: bytes = b""
    cipher_suites: tuple[int, ...]
    legacy_compression_methods: bytes = b"\x00"
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        w = Writer()
        w.u16(self.legacy_version)
        w += self.random
        w.opaque(1, self.legacy_session_id)
        w.list_u16(2, self.cipher_suites)
        w.opaque(1, self.legacy_compression_methods)
        _optional_encode(w, self.extensions, _CH)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        legacy_version, random = r.fixed(_VERSION_RANDOM)
        msg = _new_client_hello(
            legacy_version=legacy_version,
            random=random,
            legacy_session_id=r.opaque(1, 0, 32, what="legacy_session_id"),
            cipher_suites=r.list_u16(2, 2, 0xFFFE, what="cipher_suites"),
            legacy_compression_methods=r.opaque(1, 1, what="legacy_compression_methods"),
            extensions=_optional_extensions(r, _CH),
        )
        r.expect_end("ClientHello")
        return msg

    def with_binders(self, binders: Sequence[bytes]) -> Self:
        """A copy whose PreSharedKey (the last extension) carries ``binders``."""
        psk = self.extensions[-1] if self.extensions else None
        if not isinstance(psk, PreSharedKey):
            raise ValueError("the last ClientHello extension is not pre_shared_key")
        new_psk = dataclasses.replace(psk, binders=tuple(binders))
        return dataclasses.replace(self, extensions=(*self.extensions[:-1], new_psk))


def client_hello_binder_prefix_length(encoded_client_hello: bytes) -> int:
    """Length of the "truncated ClientHello" of RFC 8446 4.2.11.2.

    Binders are computed over the full message up to and including the
    PreSharedKey identities, i.e. everything before the 2-byte length of the
    binders list.  pre_shared_key is always the last extension, so the binders
    list ends the message and the prefix is everything before it.
    """
    r = Reader(encoded_client_hello)
    if r.u8() != _HT.client_hello:
        raise DecodeError("not a ClientHello")
    with r.block(3, what="ClientHello") as body:
        body.raw(2 + 32)  # legacy_version, random
        body.opaque(1, 0, 32, what="legacy_session_id")
        body.opaque(2, 2, 0xFFFE, what="cipher_suites")
        body.opaque(1, 1, what="legacy_compression_methods")
        with body.block(2, what="extensions") as exts:
            binders = _skip_to_binders(exts)
    return len(encoded_client_hello) - 2 - len(binders)


def _skip_to_binders(exts: Reader) -> bytes:
    """Walk the extensions to pre_shared_key and return its raw binders list."""
    while True:
        ext_type = exts.u16()
        if ext_type != ExtensionType.pre_shared_key:
            exts.opaque(2)
            continue
        with exts.block(2, what="pre_shared_key") as psk:
            psk.opaque(2, 7, what="identities")
            binders = psk.opaque(2, 33, what="binders")
        exts.expect_end("pre_shared_key (must be the last extension)")
        return binders


# ---------------------------------------------------------------------------
# ServerHello and HelloRetryRequest (RFC 8446 4.1.3, 4.1.4)


def _encode_server_hello(msg: ServerHello | HelloRetryRequest, ctx: HandshakeType) -> bytes:
    w = Writer()
    w.u16(msg.legacy_version)
    w += msg.random
    w.opaque(1, msg.legacy_session_id_echo)
    w += msg.cipher_suite.to_bytes(2, "big")
    w.append(msg.legacy_compression_method)
    _optional_encode(w, msg.extensions, ctx)
    return framed(msg.msg_type, w)


def _decode_server_hello_fields(body: bytes, ctx: HandshakeType) -> dict[str, Any]:
    """The fields shared by ServerHello and HelloRetryRequest, as keyword arguments."""
    r = Reader(body)
    legacy_version, random = r.fixed(_VERSION_RANDOM)
    session_id_echo = r.opaque(1, 0, 32, what="legacy_session_id_echo")
    cipher_suite, compression = r.fixed(_SUITE_COMPRESSION)
    fields: dict[str, Any] = {
        "legacy_version": legacy_version,
        "random": random,
        "legacy_session_id_echo": session_id_echo,
        "cipher_suite": cipher_suite,
        "legacy_compression_method": compression,
        "extensions": _optional_extensions(r, ctx),
    }
    r.expect_end("ServerHello")
    return fields


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHello:
    msg_type: ClassVar[HandshakeType] = _HT.server_hello
    legacy_version: int = 0x0303
    random: bytes
    legacy_session_id_echo: bytes = b""
    cipher_suite: int
    legacy_compression_method: int = 0
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        return _encode_server_hello(self, _SH)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        """Decode as a ServerHello whatever the random; see :func:`decode_server_hello`."""
        return _new_server_hello(**_decode_server_hello_fields(body, _SH))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class HelloRetryRequest:
    """A ServerHello with ``random == HRR_RANDOM``; its wire type is server_hello."""

    msg_type: ClassVar[HandshakeType] = _HT.server_hello
    legacy_version: int = 0x0303
    random: bytes = HRR_RANDOM
    legacy_session_id_echo: bytes = b""
    cipher_suite: int
    legacy_compression_method: int = 0
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        return _encode_server_hello(self, _HRR)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return _new_hello_retry_request(**_decode_server_hello_fields(body, _HRR))


def decode_server_hello(body: bytes) -> ServerHello | HelloRetryRequest:
    """A server_hello body, told apart from a HelloRetryRequest by its random."""
    if body[2:34] == HRR_RANDOM:
        return HelloRetryRequest.decode_body(body)
    return ServerHello.decode_body(body)


# ---------------------------------------------------------------------------
# Server parameters and authentication (RFC 8446 4.3, 4.4)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedExtensions:
    msg_type: ClassVar[HandshakeType] = _HT.encrypted_extensions
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        w = Writer()
        encode_extensions(w, self.extensions, self.msg_type)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        msg = _new_encrypted_extensions(extensions=decode_extensions(r, _EE))
        r.expect_end("EncryptedExtensions")
        return msg


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateEntry:
    """``opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>`` (RFC 8446 4.4.2).

    The same shape carries an X.509 certificate or a RawPublicKey SPKI.
    """

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()

    def encode(self, w: Writer) -> None:
        w.opaque(3, self.cert_data)
        encode_extensions(w, self.extensions, _CT)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        cert_data = r.opaque(3, 1, what="cert_data")
        return _new_certificate_entry(cert_data=cert_data, extensions=decode_extensions(r, _CT))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    msg_type: ClassVar[HandshakeType] = _HT.certificate
    certificate_request_context: bytes = b""
    certificate_list: tuple[CertificateEntry, ...] = ()

    def encode(self) -> bytes:
        entries = Writer()
        for entry in self.certificate_list:
            entry.encode(entries)
        w = Writer()
        w.opaque(1, self.certificate_request_context)
        w.opaque(3, entries)  # CertificateEntry certificate_list<0..2^24-1>
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        context = r.opaque(1, what="certificate_request_context")
        entries: list[CertificateEntry] = []
        with r.block(3, what="certificate_list") as lst:
            while not lst.at_end():
                entries.append(CertificateEntry.decode(lst))
        r.expect_end("Certificate")
        return _new_certificate(
            certificate_request_context=context, certificate_list=tuple(entries)
        )


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRequest:
    msg_type: ClassVar[HandshakeType] = _HT.certificate_request
    certificate_request_context: bytes = b""
    extensions: tuple[Extension, ...]

    def encode(self) -> bytes:
        w = Writer()
        w.opaque(1, self.certificate_request_context)
        encode_extensions(w, self.extensions, self.msg_type)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        context = r.opaque(1, what="certificate_request_context")
        extensions = decode_extensions(r, _HT.certificate_request)
        r.expect_end("CertificateRequest")
        # Extension extensions<2..2^16-1>: an empty block is out of range
        # (and signature_algorithms is mandatory, RFC 8446 4.3.2).
        if not extensions:
            raise DecodeError("CertificateRequest has no extensions")
        return _new_certificate_request(certificate_request_context=context, extensions=extensions)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateVerify:
    msg_type: ClassVar[HandshakeType] = _HT.certificate_verify
    algorithm: int
    signature: bytes

    def encode(self) -> bytes:
        signature = self.signature  # opaque signature<0..2^16-1>
        body = self.algorithm.to_bytes(2, "big") + length_prefix(2, len(signature)) + signature
        return framed(self.msg_type, body)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        msg = _new_certificate_verify(algorithm=r.u16(), signature=r.opaque(2, what="signature"))
        r.expect_end("CertificateVerify")
        return msg


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Finished:
    """``opaque verify_data[Hash.length]``: the handshake checks the length."""

    msg_type: ClassVar[HandshakeType] = _HT.finished
    verify_data: bytes

    def encode(self) -> bytes:
        return framed(self.msg_type, self.verify_data)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return _new_finished(verify_data=bytes(body))


# ---------------------------------------------------------------------------
# Post-handshake and early-data messages (RFC 8446 4.5, 4.6)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class NewSessionTicket:
    msg_type: ClassVar[HandshakeType] = _HT.new_session_ticket
    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        w = Writer(self.ticket_lifetime.to_bytes(4, "big"))
        w += self.ticket_age_add.to_bytes(4, "big")
        w.opaque(1, self.ticket_nonce)  # opaque ticket_nonce<0..255>
        w.opaque(2, self.ticket)  # opaque ticket<1..2^16-1>
        encode_extensions(w, self.extensions, self.msg_type)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        lifetime, age_add = r.fixed(_TWO_UINT32)
        msg = _new_new_session_ticket(
            ticket_lifetime=lifetime,
            ticket_age_add=age_add,
            ticket_nonce=r.opaque(1, what="ticket_nonce"),
            ticket=r.opaque(2, 1, what="ticket"),
            extensions=decode_extensions(r, _NST),
        )
        r.expect_end("NewSessionTicket")
        return msg


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfEarlyData:
    msg_type: ClassVar[HandshakeType] = _HT.end_of_early_data

    def encode(self) -> bytes:
        return framed(self.msg_type, b"")

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        Reader(body).expect_end("EndOfEarlyData (must be empty)")
        return _new_end_of_early_data()


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class KeyUpdate:
    msg_type: ClassVar[HandshakeType] = _HT.key_update
    request_update: int

    def encode(self) -> bytes:
        return framed(self.msg_type, bytes((self.request_update,)))

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        value = r.u8()
        r.expect_end("KeyUpdate")
        # RFC 8446 4.6.3: any other value MUST be answered with illegal_parameter.
        if value not in (KeyUpdateRequest.update_not_requested, KeyUpdateRequest.update_requested):
            raise illegal(f"KeyUpdate request_update {value}")
        return _new_key_update(request_update=value)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageHash:
    """The synthetic message that replaces ClientHello1 after an HRR (RFC 8446 4.4.1).

    It never travels on the wire, so :func:`decode_handshake` does not accept it.
    """

    msg_type: ClassVar[HandshakeType] = _HT.message_hash
    hash_value: bytes

    def encode(self) -> bytes:
        return framed(self.msg_type, self.hash_value)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return _new_message_hash(hash_value=bytes(body))


HandshakeMessage: TypeAlias = (
    ClientHello
    | ServerHello
    | HelloRetryRequest
    | EncryptedExtensions
    | Certificate
    | CompressedCertificate
    | CertificateRequest
    | CertificateVerify
    | Finished
    | NewSessionTicket
    | EndOfEarlyData
    | KeyUpdate
    | MessageHash
    | HelloRequest
    | Certificate12
    | CertificateRequest12
    | CertificateStatus
    | ClientKeyExchange
    | NewSessionTicket12
    | ServerHelloDone
    | ServerKeyExchange
)

# The messages a TLS 1.3 peer may send.
_DECODERS: dict[int, Callable[[bytes], HandshakeMessage]] = {
    _HT.client_hello: ClientHello.decode_body,
    _HT.server_hello: decode_server_hello,
    _HT.new_session_ticket: NewSessionTicket.decode_body,
    _HT.end_of_early_data: EndOfEarlyData.decode_body,
    _HT.encrypted_extensions: EncryptedExtensions.decode_body,
    _HT.certificate: Certificate.decode_body,
    _HT.compressed_certificate: CompressedCertificate.decode_body,
    _HT.certificate_request: CertificateRequest.decode_body,
    _HT.certificate_verify: CertificateVerify.decode_body,
    _HT.finished: Finished.decode_body,
    _HT.key_update: KeyUpdate.decode_body,
}


# The messages of a TLS 1.2 handshake (RFC 5246 7.4), once ServerHello has
# chosen 1.2: Certificate, CertificateRequest and NewSessionTicket take their
# TLS 1.2 forms, and a ServerHello can no longer be a HelloRetryRequest.
_DECODERS_TLS12: dict[int, Callable[[bytes], HandshakeMessage]] = {
    _HT.hello_request: HelloRequest.decode_body,
    _HT.client_hello: ClientHello.decode_body,
    _HT.server_hello: ServerHello.decode_body,
    _HT.new_session_ticket: NewSessionTicket12.decode_body,
    _HT.certificate: Certificate12.decode_body,
    _HT.server_key_exchange: ServerKeyExchange.decode_body,
    _HT.certificate_request: CertificateRequest12.decode_body,
    _HT.server_hello_done: ServerHelloDone.decode_body,
    _HT.certificate_verify: CertificateVerify.decode_body,
    _HT.client_key_exchange: ClientKeyExchange.decode_body,
    _HT.finished: Finished.decode_body,
    _HT.certificate_status: CertificateStatus.decode_body,
}


def decode_handshake12(msg_type: int, body: bytes) -> HandshakeMessage:
    """Decode one TLS 1.2 handshake message body of type ``msg_type``."""
    decoder = _DECODERS_TLS12.get(msg_type)
    if decoder is None:
        raise UnexpectedMessage(f"unexpected TLS 1.2 handshake message type {msg_type}")
    return decoder(body)


def decode_handshake(msg_type: int, body: bytes) -> HandshakeMessage:
    """Decode one handshake message body of type ``msg_type``."""
    decoder = _DECODERS.get(msg_type)
    if decoder is None:
        raise UnexpectedMessage(f"unexpected handshake message type {msg_type}")
    return decoder(body)


def decode_handshake_message(data: bytes) -> HandshakeMessage:
    """Decode exactly one full message (4-byte header plus body)."""
    r = Reader(data)
    msg_type = r.u8()
    body = r.opaque(3, what="handshake message")
    r.expect_end("handshake message")
    return decode_handshake(msg_type, body)


# Decoders build their values without the cost of a class call (the values
# are the same frozen dataclasses; see puretls._codec.decoded_constructor).
_new_client_hello = decoded_constructor(ClientHello)
_new_server_hello = decoded_constructor(ServerHello)
_new_hello_retry_request = decoded_constructor(HelloRetryRequest)
_new_encrypted_extensions = decoded_constructor(EncryptedExtensions)
_new_certificate_entry = decoded_constructor(CertificateEntry)
_new_certificate = decoded_constructor(Certificate)
_new_certificate_request = decoded_constructor(CertificateRequest)
_new_certificate_verify = decoded_constructor(CertificateVerify)
_new_finished = decoded_constructor(Finished)
_new_new_session_ticket = decoded_constructor(NewSessionTicket)
_new_end_of_early_data = decoded_constructor(EndOfEarlyData)
_new_key_update = decoded_constructor(KeyUpdate)
_new_message_hash = decoded_constructor(MessageHash)
