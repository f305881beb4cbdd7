"""Handshake messages as named fields, for people reading a trace.

:func:`describe_message` turns a decoded message and its wire bytes into
:class:`Field` values: a name, a readable value (code points by name through
:func:`puretls.enums.enum_name`, ALPN and SNI as text, certificates
summarised) and the byte range of the field inside the message, so a viewer
can annotate the bytes.  Byte ranges follow the RFC 8446 4 presentation
syntax of each message; a message this module has no layout for (a TLS 1.2
message, say) still gets its dataclass fields, without ranges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from puretls.enums import (
    CipherSuite,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
    enum_name,
)
from puretls.messages import (
    ALPN,
    Certificate,
    CertificateRequest,
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
    KeyUpdate,
    NewSessionTicket,
    Padding,
    PreSharedKey,
    PskKeyExchangeModes,
    RecordSizeLimit,
    ServerHello,
    ServerName,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersions,
    UnknownExtension,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """One named field of a message; ``start``/``end`` index the message bytes."""

    name: str
    value: str = ""
    start: int | None = None
    end: int | None = None
    children: tuple[Field, ...] = ()


def _names(cls: type[IntEnum], values: Sequence[int]) -> str:
    return ", ".join(enum_name(cls, v) for v in values)


def _short_hex(data: bytes, limit: int = 32) -> str:
    if len(data) <= limit:
        return data.hex() or "(empty)"
    return f"{data[:limit].hex()}... ({len(data)} bytes)"


# --- extensions ------------------------------------------------------------


def describe_extension(ext: Extension) -> str:
    """A one-line reading of one extension's content."""
    if isinstance(ext, ServerName):
        return ext.host_name or "(empty: the server acknowledges SNI)"
    if isinstance(ext, SupportedGroups):
        return _names(NamedGroup, ext.groups)
    if isinstance(ext, SignatureAlgorithms | SignatureAlgorithmsCert):
        return _names(SignatureScheme, ext.schemes)
    if isinstance(ext, SupportedVersions):
        if ext.selected is not None:
            return f"selected {enum_name(ProtocolVersion, ext.selected)}"
        return _names(ProtocolVersion, ext.versions)
    if isinstance(ext, KeyShare):
        return _describe_key_share(ext)
    if isinstance(ext, ALPN):
        return ", ".join(p.decode("ascii", "replace") for p in ext.protocols)
    if isinstance(ext, PskKeyExchangeModes):
        return _names(PskKeyExchangeMode, ext.modes)
    if isinstance(ext, Cookie):
        return f"{len(ext.cookie)} bytes"
    if isinstance(ext, RecordSizeLimit):
        return str(ext.limit)
    if isinstance(ext, Padding):
        return f"{ext.length} zero bytes"
    if isinstance(ext, EarlyData):
        if ext.max_early_data_size is None:
            return "(empty)"
        return f"max_early_data_size {ext.max_early_data_size}"
    if isinstance(ext, PreSharedKey):
        if ext.selected_identity is not None:
            return f"selected identity {ext.selected_identity}"
        return f"{len(ext.identities)} identities, {len(ext.binders)} binders"
    if isinstance(ext, UnknownExtension):
        return _short_hex(ext.data)
    return _generic(ext) or "(empty)"


def _describe_key_share(ext: KeyShare) -> str:
    if ext.selected_group is not None:
        return f"retry with {enum_name(NamedGroup, ext.selected_group)}"
    shares = ext.client_shares or ((ext.server_share,) if ext.server_share else ())
    return "; ".join(
        f"{enum_name(NamedGroup, s.group)} {_short_hex(s.key_exchange, 8)}" for s in shares
    )


def _generic(value: object) -> str:
    """name=value for the dataclass fields of something we have no reading for."""
    if not dataclasses.is_dataclass(value):
        return repr(value)
    parts = []
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        text = _short_hex(item, 16) if isinstance(item, bytes) else repr(item)
        parts.append(f"{f.name}={text}")
    return ", ".join(parts)


# --- certificates ----------------------------------------------------------


def describe_certificate(der: bytes) -> str:
    """Subject, issuer and validity of a DER certificate (RFC 5280 4.1)."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string() or "(empty subject)"
        issuer = cert.issuer.rfc4514_string() or "(empty issuer)"
        not_before = cert.not_valid_before_utc.strftime("%Y-%m-%d")
        not_after = cert.not_valid_after_utc.strftime("%Y-%m-%d")
        key = type(cert.public_key()).__name__.removeprefix("_").replace("PublicKey", "")
    except (ValueError, TypeError) as exc:
        return f"unparseable certificate ({len(der)} bytes): {exc}"
    return f"subject {subject}; issuer {issuer}; valid {not_before} to {not_after}; {key} key"


# --- byte layouts (RFC 8446 4) ---------------------------------------------


class _Walker:
    """Walks the message bytes alongside the decoded message to find ranges."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 4  # after msg_type and the uint24 length

    def fixed(self, name: str, size: int, value: str) -> Field:
        start = self.pos
        self.pos += size
        return Field(name=name, value=value, start=start, end=self.pos)

    def length_of(self, size: int) -> int:
        return int.from_bytes(self.raw[self.pos : self.pos + size], "big")

    def vector(self, name: str, size: int, value: str, children: tuple[Field, ...] = ()) -> Field:
        start = self.pos
        self.pos += size + self.length_of(size)
        return Field(name=name, value=value, start=start, end=self.pos, children=children)

    def rest(self, name: str, value: str) -> Field:
        start, self.pos = self.pos, len(self.raw)
        return Field(name=name, value=value, start=start, end=self.pos)

    def extensions(self, exts: Sequence[Extension]) -> Field:
        start = self.pos
        if start >= len(self.raw):
            return Field(name="extensions", value="(none)", start=start, end=start)
        self.pos += 2
        children = []
        for ext in exts:
            ext_start = self.pos
            self.pos += 2
            size = self.length_of(2)
            self.pos += 2 + size
            children.append(
                Field(
                    name=enum_name(ExtensionType, int(ext.ext_type)),
                    value=describe_extension(ext),
                    start=ext_start,
                    end=self.pos,
                )
            )
        return Field(
            name="extensions",
            value=f"{len(exts)} extensions",
            start=start,
            end=self.pos,
            children=tuple(children),
        )


def _client_hello(m: ClientHello, w: _Walker) -> list[Field]:
    return [
        w.fixed("legacy_version", 2, enum_name(ProtocolVersion, m.legacy_version)),
        w.fixed("random", 32, m.random.hex()),
        w.vector("legacy_session_id", 1, _short_hex(m.legacy_session_id)),
        w.vector("cipher_suites", 2, _names(CipherSuite, m.cipher_suites)),
        w.vector("legacy_compression_methods", 1, m.legacy_compression_methods.hex()),
        w.extensions(m.extensions),
    ]


def _server_hello(m: ServerHello | HelloRetryRequest, w: _Walker) -> list[Field]:
    random_note = " (HelloRetryRequest magic value)" if isinstance(m, HelloRetryRequest) else ""
    return [
        w.fixed("legacy_version", 2, enum_name(ProtocolVersion, m.legacy_version)),
        w.fixed("random", 32, m.random.hex() + random_note),
        w.vector("legacy_session_id_echo", 1, _short_hex(m.legacy_session_id_echo)),
        w.fixed("cipher_suite", 2, enum_name(CipherSuite, m.cipher_suite)),
        w.fixed("legacy_compression_method", 1, str(m.legacy_compression_method)),
        w.extensions(m.extensions),
    ]


def _certificate(m: Certificate, w: _Walker) -> list[Field]:
    context = w.vector("certificate_request_context", 1, _short_hex(m.certificate_request_context))
    list_start = w.pos
    w.pos += 3
    entries = []
    for i, entry in enumerate(m.certificate_list):
        cert = w.vector("cert_data", 3, describe_certificate(entry.cert_data))
        exts = w.extensions(entry.extensions)
        entries.append(
            Field(
                name=f"certificate {i}" + (" (leaf)" if i == 0 else ""),
                value=f"{len(entry.cert_data)} bytes of DER",
                start=cert.start,
                end=w.pos,
                children=(cert, exts),
            )
        )
    certs = Field(
        name="certificate_list",
        value=f"{len(entries)} certificates",
        start=list_start,
        end=w.pos,
        children=tuple(entries),
    )
    return [context, certs]


def _layout(message: HandshakeMessage, w: _Walker) -> list[Field] | None:
    if isinstance(message, ClientHello):
        return _client_hello(message, w)
    if isinstance(message, ServerHello | HelloRetryRequest):
        return _server_hello(message, w)
    if isinstance(message, EncryptedExtensions):
        return [w.extensions(message.extensions)]
    if isinstance(message, CertificateRequest):
        return [
            w.vector(
                "certificate_request_context", 1, _short_hex(message.certificate_request_context)
            ),
            w.extensions(message.extensions),
        ]
    if isinstance(message, Certificate):
        return _certificate(message, w)
    if isinstance(message, CertificateVerify):
        return [
            w.fixed("algorithm", 2, enum_name(SignatureScheme, message.algorithm)),
            w.vector("signature", 2, _short_hex(message.signature)),
        ]
    if isinstance(message, Finished):
        return [w.rest("verify_data", message.verify_data.hex())]
    if isinstance(message, NewSessionTicket):
        return [
            w.fixed("ticket_lifetime", 4, f"{message.ticket_lifetime} s"),
            w.fixed("ticket_age_add", 4, str(message.ticket_age_add)),
            w.vector("ticket_nonce", 1, _short_hex(message.ticket_nonce)),
            w.vector("ticket", 2, _short_hex(message.ticket)),
            w.extensions(message.extensions),
        ]
    if isinstance(message, KeyUpdate):
        return [w.fixed("request_update", 1, enum_name(KeyUpdateRequest, message.request_update))]
    return None


def describe_message(message: HandshakeMessage, raw: bytes) -> tuple[Field, ...]:
    """The named fields of ``message`` (whose wire bytes are ``raw``)."""
    header = [
        Field(name="msg_type", value=f"{raw[0]} ({type(message).__name__})", start=0, end=1),
        Field(name="length", value=str(len(raw) - 4), start=1, end=4),
    ]
    try:
        fields = _layout(message, _Walker(raw))
    except (IndexError, ValueError):  # a layout that does not fit: show the values only
        fields = None
    if fields is None:
        fields = [
            Field(name=f.name, value=_value_text(getattr(message, f.name)))
            for f in dataclasses.fields(message)
        ]
        if len(raw) > 4:
            fields.append(Field(name="body", value=f"{len(raw) - 4} bytes", start=4, end=len(raw)))
    return tuple(header + fields)


def _value_text(value: object) -> str:
    if isinstance(value, bytes):
        return _short_hex(value)
    if isinstance(value, tuple):
        return ", ".join(_value_text(v) for v in value) or "(none)"
    if dataclasses.is_dataclass(value):
        return _generic(value)
    return str(value)
