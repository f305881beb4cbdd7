"""Hello and handshake extensions (RFC 8446 4.2), one frozen dataclass each.

Several extensions take a different shape in each message that carries them
(``supported_versions`` is a list in a ClientHello and one version in a
ServerHello), so ``decode_body`` receives the carrying message's
:class:`HandshakeType` as ``ctx``; a HelloRetryRequest is told apart with
``HandshakeType.hello_retry_request``.  ``encode_body`` picks the shape from
the fields that are set, and takes the same ``ctx`` for the one case where the
fields cannot tell (the empty ``status_request`` of a CertificateRequest).

Extensions we do not model are kept as :class:`UnknownExtension` and
re-encode byte for byte, so a decoded message always re-encodes to the bytes
that went into the transcript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeAlias, TypeVar, final

from puretls._codec import Reader, Writer, decoded_constructor, direct_init, illegal, length_prefix
from puretls.enums import CertificateStatusType, ExtensionType, HandshakeType, NameType
from puretls.errors import DecodeError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ALPN",
    "CertificateAuthorities",
    "CompressCertificate",
    "Cookie",
    "EarlyData",
    "EcPointFormats",
    "ExtendedMasterSecret",
    "Extension",
    "KeyShare",
    "KeyShareEntry",
    "Padding",
    "PostHandshakeAuth",
    "PreSharedKey",
    "PskIdentity",
    "PskKeyExchangeModes",
    "RecordSizeLimit",
    "RenegotiationInfo",
    "ServerName",
    "SessionTicket",
    "SignatureAlgorithms",
    "SignatureAlgorithmsCert",
    "StatusRequest",
    "SupportedGroups",
    "SupportedVersions",
    "UnknownExtension",
    "decode_extensions",
    "encode_extensions",
    "find_extension",
    "has_extension",
]

_HT = HandshakeType
_ET = ExtensionType

# Message types as plain module globals: decoders compare ``ctx`` with them
# for every extension, and an enum member looked up through its class costs
# several times a global's load.
_CH, _SH, _HRR = _HT.client_hello, _HT.server_hello, _HT.hello_retry_request
_EE, _CT, _CR = _HT.encrypted_extensions, _HT.certificate, _HT.certificate_request
_NST = _HT.new_session_ticket
_HOST_NAME = NameType.host_name


def _empty(r: Reader, what: str) -> None:
    if not r.at_end():
        r.expect_end(f"{what} extension (must be empty)")


# ---------------------------------------------------------------------------
# server_name (RFC 6066 3)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ServerName:
    """``server_name``: one host_name in a ClientHello, empty in SH/EE."""

    ext_type: ClassVar[ExtensionType] = _ET.server_name
    host_name: str | None = None

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        if self.host_name is None:
            return  # the server's acknowledgement is an empty body (RFC 6066 3)
        name = self.host_name.encode("ascii")
        # ServerName server_name_list<1..2^16-1> holding the one host_name entry.
        w += length_prefix(2, 3 + len(name))
        w.append(_HOST_NAME)
        w.opaque(2, name)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        if ctx != _CH:
            _empty(r, "server_name")
            return _new_server_name()
        names: list[str] = []
        with r.block(2, 1, what="server_name_list") as lst:
            while not lst.at_end():
                names.append(_decode_server_name_entry(lst))
        # RFC 6066 3: no two names of one type, and host_name is the only
        # type defined, so the list holds exactly one entry.
        if len(names) != 1:
            raise DecodeError("server_name_list must hold exactly one host_name")
        return _new_server_name(host_name=names[0])


def _decode_server_name_entry(r: Reader) -> str:
    name_type = r.u8()
    if name_type != _HOST_NAME:
        # Other name types have no defined body, so they cannot be skipped.
        raise DecodeError(f"unknown server_name name_type {name_type}")
    raw = r.opaque(2, 1, what="HostName")
    # RFC 6066 3: HostName is an ASCII DNS name (A-labels for IDNs).
    if not raw.isascii():
        raise DecodeError("server_name host_name is not ASCII")
    return raw.decode("ascii")


# ---------------------------------------------------------------------------
# Lists of 16-bit code points


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SupportedGroups:
    """``supported_groups`` (RFC 8446 4.2.7): NamedGroup named_group_list<2..2^16-1>."""

    ext_type: ClassVar[ExtensionType] = _ET.supported_groups
    groups: tuple[int, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.list_u16(2, self.groups)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_supported_groups(groups=r.list_u16(2, 2, what="named_group_list"))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureAlgorithms:
    """``signature_algorithms`` (RFC 8446 4.2.3): SignatureScheme list<2..2^16-2>."""

    ext_type: ClassVar[ExtensionType] = _ET.signature_algorithms
    schemes: tuple[int, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.list_u16(2, self.schemes)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_signature_algorithms(
            schemes=r.list_u16(2, 2, 0xFFFE, what="supported_signature_algorithms")
        )


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureAlgorithmsCert:
    """``signature_algorithms_cert`` (RFC 8446 4.2.3): same body as signature_algorithms."""

    ext_type: ClassVar[ExtensionType] = _ET.signature_algorithms_cert
    schemes: tuple[int, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.list_u16(2, self.schemes)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_signature_algorithms_cert(
            schemes=r.list_u16(2, 2, 0xFFFE, what="supported_signature_algorithms")
        )


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SupportedVersions:
    """``supported_versions`` (RFC 8446 4.2.1): a list in CH, one ``selected`` in SH/HRR."""

    ext_type: ClassVar[ExtensionType] = _ET.supported_versions
    versions: tuple[int, ...] = ()
    selected: int | None = None

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        if self.selected is not None:
            w.u16(self.selected)
        else:
            w.list_u16(1, self.versions)  # ProtocolVersion versions<2..254>

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        if ctx == _CH:
            return _new_supported_versions(versions=r.list_u16(1, 2, 254, what="versions"))
        return _new_supported_versions(selected=r.u16())


# ---------------------------------------------------------------------------
# key_share (RFC 8446 4.2.8)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class KeyShareEntry:
    """``struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry``."""

    group: int
    key_exchange: bytes

    def encode(self, w: Writer) -> None:
        w.u16(self.group)
        w.opaque(2, self.key_exchange)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        group = r.u16()
        return _new_key_share_entry(group=group, key_exchange=r.opaque(2, 1, what="key_exchange"))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class KeyShare:
    """``key_share``: client_shares in CH, server_share in SH, selected_group in HRR."""

    ext_type: ClassVar[ExtensionType] = _ET.key_share
    client_shares: tuple[KeyShareEntry, ...] = ()
    server_share: KeyShareEntry | None = None
    selected_group: int | None = None

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        if self.server_share is not None:
            self.server_share.encode(w)
        elif self.selected_group is not None:
            w.u16(self.selected_group)
        else:
            shares = Writer()
            for entry in self.client_shares:
                entry.encode(shares)
            w.opaque(2, shares)  # KeyShareEntry client_shares<0..2^16-1>

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        if ctx == _HRR:
            return _new_key_share(selected_group=r.u16())
        if ctx != _CH:
            return _new_key_share(server_share=KeyShareEntry.decode(r))
        shares: list[KeyShareEntry] = []
        with r.block(2, what="client_shares") as lst:
            while not lst.at_end():
                shares.append(KeyShareEntry.decode(lst))
        # RFC 8446 4.2.8: clients MUST NOT offer two shares for one group.
        if len({s.group for s in shares}) != len(shares):
            raise illegal("duplicate group in client_shares")
        return _new_key_share(client_shares=tuple(shares))


# ---------------------------------------------------------------------------
# ALPN (RFC 7301 3.1)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ALPN:
    """``application_layer_protocol_negotiation``: ProtocolName protocol_name_list."""

    ext_type: ClassVar[ExtensionType] = _ET.application_layer_protocol_negotiation
    protocols: tuple[bytes, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        with w.block(2):  # ProtocolName protocol_name_list<2..2^16-1>
            for name in self.protocols:
                w.opaque(1, name)  # opaque ProtocolName<1..2^8-1>

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        names: list[bytes] = []
        with r.block(2, 2, what="protocol_name_list") as lst:
            while not lst.at_end():
                names.append(lst.opaque(1, 1, what="ProtocolName"))
        # RFC 7301 3.1: the server's list MUST contain exactly one protocol.
        if ctx != _CH and len(names) != 1:
            raise DecodeError("server ALPN must name exactly one protocol")
        return _new_alpn(protocols=tuple(names))


# ---------------------------------------------------------------------------
# Small opaque and list bodies


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Cookie:
    """``cookie`` (RFC 8446 4.2.2): opaque cookie<1..2^16-1>."""

    ext_type: ClassVar[ExtensionType] = _ET.cookie
    cookie: bytes

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.opaque(2, self.cookie)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_cookie(cookie=r.opaque(2, 1, what="cookie"))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PskKeyExchangeModes:
    """``psk_key_exchange_modes`` (RFC 8446 4.2.9): PskKeyExchangeMode ke_modes<1..255>."""

    ext_type: ClassVar[ExtensionType] = _ET.psk_key_exchange_modes
    modes: tuple[int, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.list_u8(1, self.modes)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_psk_key_exchange_modes(modes=r.list_u8(1, 1, what="ke_modes"))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSizeLimit:
    """``record_size_limit`` (RFC 8449 4): uint16 RecordSizeLimit."""

    ext_type: ClassVar[ExtensionType] = _ET.record_size_limit
    limit: int

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.u16(self.limit)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        limit = r.u16()
        # RFC 8449 4: a value below 64 MUST be answered with illegal_parameter.
        if limit < 64:
            raise illegal(f"record_size_limit {limit} is below 64")
        return _new_record_size_limit(limit=limit)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Padding:
    """``padding`` (RFC 7685 3): ``length`` zero bytes."""

    ext_type: ClassVar[ExtensionType] = _ET.padding
    length: int

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.raw(bytes(self.length))

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        data = r.rest()
        # RFC 7685 3: the body MUST be all zero; anything else is malformed.
        if any(data):
            raise DecodeError("padding extension holds non-zero bytes")
        return _new_padding(length=len(data))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PostHandshakeAuth:
    """``post_handshake_auth`` (RFC 8446 4.2.6): empty body."""

    ext_type: ClassVar[ExtensionType] = _ET.post_handshake_auth

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        return None

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        _empty(r, "post_handshake_auth")
        return _new_post_handshake_auth()


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateAuthorities:
    """``certificate_authorities`` (RFC 8446 4.2.4): DER DistinguishedNames."""

    ext_type: ClassVar[ExtensionType] = _ET.certificate_authorities
    authorities: tuple[bytes, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        with w.block(2):  # DistinguishedName authorities<3..2^16-1>
            for name in self.authorities:
                w.opaque(2, name)  # opaque DistinguishedName<1..2^16-1>

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        names: list[bytes] = []
        with r.block(2, 3, what="authorities") as lst:
            while not lst.at_end():
                names.append(lst.opaque(2, 1, what="DistinguishedName"))
        return _new_certificate_authorities(authorities=tuple(names))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class CompressCertificate:
    """``compress_certificate`` (RFC 8879 3): CertificateCompressionAlgorithm list."""

    ext_type: ClassVar[ExtensionType] = _ET.compress_certificate
    algorithms: tuple[int, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.list_u16(1, self.algorithms)  # algorithms<2..2^8-2>

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_compress_certificate(algorithms=r.list_u16(1, 2, 0xFE, what="algorithms"))


# ---------------------------------------------------------------------------
# pre_shared_key (RFC 8446 4.2.11)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PskIdentity:
    """``struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; }``."""

    identity: bytes
    obfuscated_ticket_age: int

    def encode(self, w: Writer) -> None:
        w.opaque(2, self.identity)
        w.u32(self.obfuscated_ticket_age)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        identity = r.opaque(2, 1, what="PskIdentity.identity")
        return _new_psk_identity(identity=identity, obfuscated_ticket_age=r.u32())


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PreSharedKey:
    """``pre_shared_key``: OfferedPsks in a ClientHello, selected_identity in SH."""

    ext_type: ClassVar[ExtensionType] = _ET.pre_shared_key
    identities: tuple[PskIdentity, ...] = ()
    binders: tuple[bytes, ...] = ()
    selected_identity: int | None = None

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        if self.selected_identity is not None:
            w.u16(self.selected_identity)
            return
        with w.block(2):  # PskIdentity identities<7..2^16-1>
            for identity in self.identities:
                identity.encode(w)
        self.encode_binders(w, self.binders)

    @staticmethod
    def encode_binders(w: Writer, binders: Sequence[bytes]) -> None:
        """The ``PskBinderEntry binders<33..2^16-1>`` tail (RFC 8446 4.2.11)."""
        with w.block(2):
            for binder in binders:
                w.opaque(1, binder)  # opaque PskBinderEntry<32..255>

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        if ctx != _CH:
            return _new_pre_shared_key(selected_identity=r.u16())
        identities: list[PskIdentity] = []
        with r.block(2, 7, what="identities") as lst:
            while not lst.at_end():
                identities.append(PskIdentity.decode(lst))
        binders: list[bytes] = []
        with r.block(2, 33, what="binders") as lst:
            while not lst.at_end():
                binders.append(lst.opaque(1, 32, what="PskBinderEntry"))
        # RFC 8446 4.2.11: one binder per identity, else illegal_parameter.
        if len(binders) != len(identities):
            raise illegal("pre_shared_key binder count differs from identity count")
        return _new_pre_shared_key(identities=tuple(identities), binders=tuple(binders))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class EarlyData:
    """``early_data`` (RFC 8446 4.2.10): empty in CH/EE, a uint32 in NewSessionTicket."""

    ext_type: ClassVar[ExtensionType] = _ET.early_data
    max_early_data_size: int | None = None

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        if self.max_early_data_size is not None:
            w.u32(self.max_early_data_size)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        if ctx == _NST:
            return _new_early_data(max_early_data_size=r.u32())
        _empty(r, "early_data")
        return _new_early_data()


# ---------------------------------------------------------------------------
# status_request (RFC 6066 8, RFC 8446 4.4.2.1)


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRequest:
    """``status_request``: an OCSPStatusRequest in CH, empty in CR (and a TLS 1.2
    ServerHello), a CertificateStatus (``ocsp_response``) in a CertificateEntry."""

    ext_type: ClassVar[ExtensionType] = _ET.status_request
    responder_id_list: bytes = b""  # raw ResponderID responder_id_list<0..2^16-1>
    request_extensions: bytes = b""  # raw opaque Extensions<0..2^16-1>
    ocsp_response: bytes | None = None

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        if self.ocsp_response is not None:
            w.u8(CertificateStatusType.ocsp)
            w.opaque(3, self.ocsp_response)  # opaque OCSPResponse<1..2^24-1>
        elif ctx is None or ctx == _CH:
            w.u8(CertificateStatusType.ocsp)
            w.opaque(2, self.responder_id_list)
            w.opaque(2, self.request_extensions)
        # Otherwise the empty form of a CertificateRequest or 1.2 ServerHello.

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        if ctx == _CT:
            _expect_ocsp(r)
            return _new_status_request(ocsp_response=r.opaque(3, 1, what="OCSPResponse"))
        if ctx != _CH:
            _empty(r, "status_request")
            return _new_status_request()
        _expect_ocsp(r)
        responders = r.opaque(2, what="responder_id_list")
        return _new_status_request(responder_id_list=responders, request_extensions=r.opaque(2))


def _expect_ocsp(r: Reader) -> None:
    status_type = r.u8()
    if status_type != CertificateStatusType.ocsp:
        raise DecodeError(f"unsupported CertificateStatusType {status_type}")


# ---------------------------------------------------------------------------
# TLS 1.2 extensions


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ExtendedMasterSecret:
    """``extended_master_secret`` (RFC 7627 5.1): empty body."""

    ext_type: ClassVar[ExtensionType] = _ET.extended_master_secret

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        return None

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        _empty(r, "extended_master_secret")
        return _new_extended_master_secret()


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class RenegotiationInfo:
    """``renegotiation_info`` (RFC 5746 3.2): opaque renegotiated_connection<0..255>."""

    ext_type: ClassVar[ExtensionType] = _ET.renegotiation_info
    renegotiated_connection: bytes = b""

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.opaque(1, self.renegotiated_connection)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_renegotiation_info(
            renegotiated_connection=r.opaque(1, what="renegotiated_connection")
        )


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class EcPointFormats:
    """``ec_point_formats`` (RFC 8422 5.1.2): ECPointFormat ec_point_format_list<1..2^8-1>."""

    ext_type: ClassVar[ExtensionType] = _ET.ec_point_formats
    formats: tuple[int, ...]

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.list_u8(1, self.formats)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_ec_point_formats(formats=r.list_u8(1, 1, what="ec_point_format_list"))


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionTicket:
    """``session_ticket`` (RFC 5077 3.2): the whole body is the ticket (may be empty)."""

    ext_type: ClassVar[ExtensionType] = _ET.session_ticket
    ticket: bytes = b""

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.raw(self.ticket)

    @classmethod
    def decode_body(cls, r: Reader, ctx: HandshakeType) -> Self:
        return _new_session_ticket(ticket=r.rest())


# ---------------------------------------------------------------------------
# Anything else


@final
@direct_init
@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownExtension:
    """An extension we do not model, kept as raw bytes (RFC 8446 4.1.2: ignore)."""

    ext_type: int
    data: bytes

    def encode_body(self, w: Writer, ctx: HandshakeType | None = None) -> None:
        w.raw(self.data)


Extension: TypeAlias = (
    ServerName
    | SupportedGroups
    | SignatureAlgorithms
    | SignatureAlgorithmsCert
    | SupportedVersions
    | KeyShare
    | ALPN
    | Cookie
    | PskKeyExchangeModes
    | PreSharedKey
    | EarlyData
    | StatusRequest
    | Padding
    | RecordSizeLimit
    | PostHandshakeAuth
    | CertificateAuthorities
    | CompressCertificate
    | ExtendedMasterSecret
    | RenegotiationInfo
    | EcPointFormats
    | SessionTicket
    | UnknownExtension
)

_Decoder = Callable[[Reader, HandshakeType], Extension]
_DECODERS: dict[int, _Decoder] = {
    cls.ext_type: cls.decode_body
    for cls in (
        ServerName,
        SupportedGroups,
        SignatureAlgorithms,
        SignatureAlgorithmsCert,
        SupportedVersions,
        KeyShare,
        ALPN,
        Cookie,
        PskKeyExchangeModes,
        PreSharedKey,
        EarlyData,
        StatusRequest,
        Padding,
        RecordSizeLimit,
        PostHandshakeAuth,
        CertificateAuthorities,
        CompressCertificate,
        ExtendedMasterSecret,
        RenegotiationInfo,
        EcPointFormats,
        SessionTicket,
    )
}

# ---------------------------------------------------------------------------
# Where each known extension may appear (RFC 8446 4.2 table, plus RFC 8449 4
# for record_size_limit and RFC 8879 3 for compress_certificate).  TLS 1.2
# extensions appear in the two hellos only.  A code point missing from this
# table counts as unknown and is allowed anywhere.

_TLS12_HELLOS = frozenset({_CH, _SH})

_ALLOWED: dict[int, frozenset[HandshakeType]] = {
    _ET.server_name: frozenset({_CH, _EE}),
    _ET.max_fragment_length: frozenset({_CH, _EE}),
    _ET.status_request: frozenset({_CH, _CR, _CT}),
    _ET.supported_groups: frozenset({_CH, _EE}),
    _ET.signature_algorithms: frozenset({_CH, _CR}),
    _ET.use_srtp: frozenset({_CH, _EE}),
    _ET.heartbeat: frozenset({_CH, _EE}),
    _ET.application_layer_protocol_negotiation: frozenset({_CH, _EE}),
    _ET.signed_certificate_timestamp: frozenset({_CH, _CR, _CT}),
    _ET.client_certificate_type: frozenset({_CH, _EE}),
    _ET.server_certificate_type: frozenset({_CH, _EE}),
    _ET.padding: frozenset({_CH}),
    _ET.key_share: frozenset({_CH, _SH, _HRR}),
    _ET.pre_shared_key: frozenset({_CH, _SH}),
    _ET.psk_key_exchange_modes: frozenset({_CH}),
    _ET.early_data: frozenset({_CH, _EE, _NST}),
    _ET.cookie: frozenset({_CH, _HRR}),
    _ET.supported_versions: frozenset({_CH, _SH, _HRR}),
    _ET.certificate_authorities: frozenset({_CH, _CR}),
    _ET.oid_filters: frozenset({_CR}),
    _ET.post_handshake_auth: frozenset({_CH}),
    _ET.signature_algorithms_cert: frozenset({_CH, _CR}),
    _ET.record_size_limit: frozenset({_CH, _EE}),
    _ET.compress_certificate: frozenset({_CH, _CR}),
    _ET.ec_point_formats: _TLS12_HELLOS,
    _ET.encrypt_then_mac: _TLS12_HELLOS,
    _ET.extended_master_secret: _TLS12_HELLOS,
    _ET.session_ticket: _TLS12_HELLOS,
    _ET.renegotiation_info: _TLS12_HELLOS,
}

# A TLS 1.2 ServerHello answers these in the ServerHello itself; the version
# is not known while decoding, so the handshake rejects them in a 1.3 SH.
_TLS12_SERVER_HELLO = frozenset(
    {
        _ET.server_name,
        _ET.max_fragment_length,
        _ET.status_request,
        _ET.use_srtp,
        _ET.heartbeat,
        _ET.application_layer_protocol_negotiation,
        _ET.signed_certificate_timestamp,
        _ET.client_certificate_type,
        _ET.server_certificate_type,
        _ET.record_size_limit,
    }
)


def _allowed_in(ext_type: int, ctx: HandshakeType) -> bool:
    allowed = _ALLOWED.get(ext_type)
    if allowed is None or ctx == _CH or ctx in allowed:
        return True
    return ctx == _SH and ext_type in _TLS12_SERVER_HELLO


# The same rule as a table, so the decoder pays one set lookup per extension.
_FORBIDDEN: dict[int, frozenset[int]] = {
    ctx: frozenset(t for t in _ALLOWED if not _allowed_in(t, ctx)) for ctx in HandshakeType
}

_PRE_SHARED_KEY = int(_ET.pre_shared_key)

# Decoded extension values, by message type and wire bytes.  A decoder is a
# pure function of the body and the carrying message, and its values are
# frozen, so one decoded value can stand for every later body with the same
# bytes: a peer sends the same supported_versions, groups, signature
# algorithms, server_name, ... in each of its handshakes, and a hit skips the
# decoder (and its sub-readers) for them.  Bodies that differ in every
# handshake (key shares, PSK identities and binders, cookies) and unknown
# extensions (GREASE and ECH bodies are random) are decoded as before and
# never kept.  Each table is emptied when it reaches _MEMO_SIZE entries, so a
# peer sending ever new bodies costs one decode each, never memory.
_NOT_MEMOIZED = frozenset({_ET.key_share, _ET.pre_shared_key, _ET.cookie})
_MEMO_SIZE = 256
_MEMO: dict[int, dict[tuple[int, bytes], Extension]] = {ctx: {} for ctx in HandshakeType}


def decode_extensions(r: Reader, ctx: HandshakeType) -> tuple[Extension, ...]:
    """Read ``Extension extensions<0..2^16-1>`` of the message ``ctx`` (RFC 8446 4.2)."""
    exts: list[Extension] = []
    seen: set[int] = set()
    forbidden = _FORBIDDEN[ctx]
    memo = _MEMO[ctx]
    # typed_bodies hands out each extension's type and body bytes.
    for ext_type, body in r.typed_bodies("extensions"):
        # RFC 8446 4.2: no two extensions of one type in a message;
        # RFC 8446 4.2.11: pre_shared_key MUST be the last CH extension.
        if ext_type in seen or ext_type in forbidden or _PRE_SHARED_KEY in seen:
            _check_placement(ext_type, seen, forbidden, ctx)
        seen.add(ext_type)
        decoder = _DECODERS.get(ext_type)
        if decoder is None:
            exts.append(UnknownExtension(ext_type=ext_type, data=body))
        elif ext_type in _NOT_MEMOIZED:
            exts.append(_decode_body(decoder, ext_type, body, ctx))
        else:
            ext = memo.get((ext_type, body))
            if ext is None:
                ext = _decode_body(decoder, ext_type, body, ctx)
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[ext_type, body] = ext
            exts.append(ext)
    return tuple(exts)


def _check_placement(
    ext_type: int, seen: set[int], forbidden: frozenset[int], ctx: HandshakeType
) -> None:
    """Raise for an extension repeated, out of place, or after pre_shared_key."""
    if ext_type in seen:
        raise illegal(f"duplicate extension {ext_type}")
    if ext_type in forbidden:
        raise illegal(f"extension {ext_type} is not allowed in {ctx.name}")
    # pre_shared_key was seen: only a ClientHello requires it to be last.
    if ctx == _CH:
        raise illegal("pre_shared_key is not the last ClientHello extension")


def _decode_body(decoder: _Decoder, ext_type: int, body: bytes, ctx: HandshakeType) -> Extension:
    """One extension body, which its decoder must consume exactly."""
    sub = Reader(body)
    ext = decoder(sub, ctx)
    if not sub.at_end():
        raise DecodeError(f"{sub.remaining} trailing bytes after extension {ext_type} body")
    return ext


# Encoded extensions, by message type and value: the encoding is a function of
# the (frozen) value and the message alone.  A side sends the same values in
# every handshake (a client's hello extensions come from its configuration,
# a server answers with the same supported_versions), and a hit is one
# hash of the value.  The same kinds as above are never kept (their values
# differ in every handshake), nor values that cannot be hashed (a list in a
# field); each table is emptied when it reaches _MEMO_SIZE entries.
# The code point is part of the key so that values of different kinds with
# equal fields (two empty extensions) never compare.
_ENCODED: dict[int, dict[tuple[int, Extension], bytes]] = {ctx: {} for ctx in HandshakeType}


def encode_extensions(w: Writer, exts: Sequence[Extension], ctx: HandshakeType) -> None:
    """Write ``Extension extensions<0..2^16-1>`` for the message ``ctx``."""
    start = len(w)
    w += b"\x00\x00"
    memo = _ENCODED[ctx]
    for ext in exts:
        ext_type = ext.ext_type
        if ext_type in _NOT_MEMOIZED:
            _encode_extension(w, ext, ctx)
            continue
        key = (ext_type, ext)
        try:
            encoded = memo.get(key)
        except TypeError:  # an unhashable field: encoded every time
            _encode_extension(w, ext, ctx)
            continue
        if encoded is None:
            one = Writer()
            _encode_extension(one, ext, ctx)
            encoded = bytes(one)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = encoded
        w += encoded
    n = len(w) - start - 2
    if n > 0xFFFF:
        raise ValueError(f"{n} bytes do not fit a 2-byte length")
    w[start : start + 2] = n.to_bytes(2, "big")  # length_prefix, in this frame


def _encode_extension(w: Writer, ext: Extension, ctx: HandshakeType) -> None:
    """``struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; }``."""
    # The length is written after the body, into the bytes left for it: the
    # same as Writer.block, without a context manager.
    at = len(w)
    w += ext.ext_type.to_bytes(2, "big")
    w += b"\x00\x00"
    ext.encode_body(w, ctx)
    w[at + 2 : at + 4] = length_prefix(2, len(w) - at - 4)


T = TypeVar("T")


def find_extension(exts: Sequence[Extension], cls: type[T]) -> T | None:
    """The first extension of class ``cls`` in ``exts``, or None."""
    # The extension classes are final, so an identity test on the type is
    # the isinstance test; it skips isinstance's __instancecheck__ lookup,
    # which costs more than the rest of the loop.
    for ext in exts:
        if type(ext) is cls:
            return ext
    return None


def has_extension(exts: Sequence[Extension], ext_type: int) -> bool:
    """Whether an extension with code point ``ext_type`` is present (known or not)."""
    return any(ext.ext_type == ext_type for ext in exts)


# Decoders build their values without the cost of a class call (the values
# are the same frozen dataclasses; see puretls._codec.decoded_constructor).
_new_server_name = decoded_constructor(ServerName)
_new_supported_groups = decoded_constructor(SupportedGroups)
_new_signature_algorithms = decoded_constructor(SignatureAlgorithms)
_new_signature_algorithms_cert = decoded_constructor(SignatureAlgorithmsCert)
_new_supported_versions = decoded_constructor(SupportedVersions)
_new_key_share = decoded_constructor(KeyShare)
_new_alpn = decoded_constructor(ALPN)
_new_cookie = decoded_constructor(Cookie)
_new_psk_key_exchange_modes = decoded_constructor(PskKeyExchangeModes)
_new_record_size_limit = decoded_constructor(RecordSizeLimit)
_new_padding = decoded_constructor(Padding)
_new_post_handshake_auth = decoded_constructor(PostHandshakeAuth)
_new_certificate_authorities = decoded_constructor(CertificateAuthorities)
_new_compress_certificate = decoded_constructor(CompressCertificate)
_new_pre_shared_key = decoded_constructor(PreSharedKey)
_new_early_data = decoded_constructor(EarlyData)
_new_status_request = decoded_constructor(StatusRequest)
_new_extended_master_secret = decoded_constructor(ExtendedMasterSecret)
_new_renegotiation_info = decoded_constructor(RenegotiationInfo)
_new_ec_point_formats = decoded_constructor(EcPointFormats)
_new_session_ticket = decoded_constructor(SessionTicket)
_new_key_share_entry = decoded_constructor(KeyShareEntry)
_new_psk_identity = decoded_constructor(PskIdentity)
