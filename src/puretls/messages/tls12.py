"""TLS 1.2 handshake messages (RFC 5246 7.4, RFC 8422 5, RFC 5077 3.3, RFC 6066 8).

The messages TLS 1.3 does not have (ServerKeyExchange, ServerHelloDone,
ClientKeyExchange, CertificateStatus, HelloRequest), and the TLS 1.2 forms of
those whose layout changed in 1.3 (Certificate without request context or
entry extensions, CertificateRequest with certificate types and a plain
signature algorithm list, NewSessionTicket with only a lifetime hint).
CertificateVerify and Finished keep their TLS 1.3 layout and are shared.

Like the TLS 1.3 codecs, ``encode()`` returns the whole message with its
4-byte header and ``decode_body(body)`` takes the body alone; decoders are
strict, so what decodes re-encodes to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from puretls._codec import Reader, Writer, framed
from puretls.enums import CertificateStatusType, HandshakeType
from puretls.errors import DecodeError, IllegalParameter

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "CLIENT_CERTIFICATE_TYPES",
    "Certificate12",
    "CertificateRequest12",
    "CertificateStatus",
    "ClientKeyExchange",
    "HelloRequest",
    "NewSessionTicket12",
    "ServerHelloDone",
    "ServerKeyExchange",
]

_HT = HandshakeType

# RFC 8422 5.4: ECParameters.curve_type; only named_curve is allowed.
NAMED_CURVE = 3

# RFC 5246 7.4.4 ClientCertificateType: rsa_sign(1); RFC 8422 5.5 ecdsa_sign(64).
RSA_SIGN = 1
ECDSA_SIGN = 64
CLIENT_CERTIFICATE_TYPES = bytes((RSA_SIGN, ECDSA_SIGN))


@dataclass(frozen=True, slots=True, kw_only=True)
class HelloRequest:
    """RFC 5246 7.4.1.1: the server asks for a renegotiation (we never agree)."""

    msg_type: ClassVar[HandshakeType] = _HT.hello_request

    def encode(self) -> bytes:
        return framed(self.msg_type, b"")

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        Reader(body).expect_end("HelloRequest (must be empty)")
        return cls()


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate12:
    """RFC 5246 7.4.2: ``ASN.1Cert certificate_list<0..2^24-1>``, leaf first."""

    msg_type: ClassVar[HandshakeType] = _HT.certificate
    certificate_list: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        certs = Writer()
        for der in self.certificate_list:
            certs.opaque(3, der)  # opaque ASN.1Cert<1..2^24-1>
        w = Writer()
        w.opaque(3, certs)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        certs: list[bytes] = []
        with r.block(3, what="certificate_list") as lst:
            while not lst.at_end():
                certs.append(lst.opaque(3, 1, what="ASN.1Cert"))
        r.expect_end("Certificate")
        return cls(certificate_list=tuple(certs))


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerKeyExchange:
    """RFC 8422 5.4: ECDHE parameters over a named curve, and their signature.

    ``ServerECDHParams = { ECParameters curve_params; ECPoint public; }`` then
    ``digitally-signed`` (RFC 5246 4.7: SignatureAndHashAlgorithm + opaque).
    We never negotiate a key exchange that sends another kind of params.
    """

    msg_type: ClassVar[HandshakeType] = _HT.server_key_exchange
    named_group: int
    public: bytes  # ECPoint: opaque point<1..2^8-1>
    algorithm: int
    signature: bytes

    def params(self) -> bytes:
        """The ServerECDHParams bytes that the signature covers (RFC 8422 5.4)."""
        w = Writer()
        w.u8(NAMED_CURVE)
        w.u16(self.named_group)
        w.opaque(1, self.public)
        return w.getvalue()

    def encode(self) -> bytes:
        w = Writer(self.params())
        w.u16(self.algorithm)
        w.opaque(2, self.signature)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        curve_type = r.u8()
        if curve_type != NAMED_CURVE:
            # RFC 8422 5.4: explicit curves are deprecated and never accepted.
            raise IllegalParameter(f"ServerKeyExchange curve_type {curve_type} is not named_curve")
        msg = cls(
            named_group=r.u16(),
            public=r.opaque(1, 1, what="ECPoint"),
            algorithm=r.u16(),
            signature=r.opaque(2, what="signature"),
        )
        r.expect_end("ServerKeyExchange")
        return msg


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHelloDone:
    """RFC 5246 7.4.5: an empty message that ends the server's first flight."""

    msg_type: ClassVar[HandshakeType] = _HT.server_hello_done

    def encode(self) -> bytes:
        return framed(self.msg_type, b"")

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        Reader(body).expect_end("ServerHelloDone (must be empty)")
        return cls()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientKeyExchange:
    """RFC 5246 7.4.7: the body depends on the negotiated key exchange.

    ECDHE (RFC 8422 5.7): ``opaque point<1..2^8-1>``.  RSA (RFC 5246
    7.4.7.1): ``opaque EncryptedPreMasterSecret<0..2^16-1>``.  The decoder
    cannot know which, so it keeps the body and the handshake, which knows
    the suite, reads it with :meth:`ecdh_public` or :meth:`encrypted_pre_master`.
    """

    msg_type: ClassVar[HandshakeType] = _HT.client_key_exchange
    exchange_keys: bytes

    @classmethod
    def for_ecdhe(cls, public: bytes) -> Self:
        w = Writer()
        w.opaque(1, public)
        return cls(exchange_keys=w.getvalue())

    @classmethod
    def for_rsa(cls, encrypted_pre_master: bytes) -> Self:
        w = Writer()
        w.opaque(2, encrypted_pre_master)
        return cls(exchange_keys=w.getvalue())

    def ecdh_public(self) -> bytes:
        r = Reader(self.exchange_keys)
        public = r.opaque(1, 1, what="ClientECDiffieHellmanPublic")
        r.expect_end("ClientKeyExchange")
        return public

    def encrypted_pre_master(self) -> bytes:
        r = Reader(self.exchange_keys)
        encrypted = r.opaque(2, what="EncryptedPreMasterSecret")
        r.expect_end("ClientKeyExchange")
        return encrypted

    def encode(self) -> bytes:
        return framed(self.msg_type, self.exchange_keys)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        if not body:
            raise DecodeError("empty ClientKeyExchange")
        return cls(exchange_keys=bytes(body))


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRequest12:
    """RFC 5246 7.4.4: certificate types, signature algorithms, CA names."""

    msg_type: ClassVar[HandshakeType] = _HT.certificate_request
    certificate_types: bytes = CLIENT_CERTIFICATE_TYPES  # <1..2^8-1>
    supported_signature_algorithms: tuple[int, ...]  # <2..2^16-2>
    certificate_authorities: bytes = b""  # raw DistinguishedName list <0..2^16-1>

    def encode(self) -> bytes:
        w = Writer()
        w.opaque(1, self.certificate_types)
        w.list_u16(2, self.supported_signature_algorithms)
        w.opaque(2, self.certificate_authorities)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        msg = cls(
            certificate_types=r.opaque(1, 1, what="certificate_types"),
            supported_signature_algorithms=r.list_u16(
                2, 2, 0xFFFE, what="supported_signature_algorithms"
            ),
            certificate_authorities=r.opaque(2, what="certificate_authorities"),
        )
        r.expect_end("CertificateRequest")
        return msg


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSessionTicket12:
    """RFC 5077 3.3: ``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = _HT.new_session_ticket
    ticket_lifetime_hint: int
    ticket: bytes

    def encode(self) -> bytes:
        w = Writer()
        w.u32(self.ticket_lifetime_hint)
        w.opaque(2, self.ticket)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        msg = cls(ticket_lifetime_hint=r.u32(), ticket=r.opaque(2, what="ticket"))
        r.expect_end("NewSessionTicket")
        return msg


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateStatus:
    """RFC 6066 8: an OCSP response stapled after the server's Certificate."""

    msg_type: ClassVar[HandshakeType] = _HT.certificate_status
    ocsp_response: bytes  # opaque OCSPResponse<1..2^24-1>

    def encode(self) -> bytes:
        w = Writer()
        w.u8(CertificateStatusType.ocsp)
        w.opaque(3, self.ocsp_response)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        status_type = r.u8()
        if status_type != CertificateStatusType.ocsp:
            raise DecodeError(f"unsupported CertificateStatusType {status_type}")
        msg = cls(ocsp_response=r.opaque(3, 1, what="OCSPResponse"))
        r.expect_end("CertificateStatus")
        return msg
