"""Hypothesis strategies that build valid extensions and handshake messages.

Shared by tests/test_messages_extensions.py and tests/test_messages_handshake.py;
each strategy builds only what the codec must accept for the given message.
"""

from __future__ import annotations

from hypothesis import strategies as st

from puretls.enums import ExtensionType, HandshakeType
from puretls.messages import (
    ALPN,
    HRR_RANDOM,
    Certificate,
    CertificateAuthorities,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressCertificate,
    Cookie,
    EarlyData,
    EcPointFormats,
    EncryptedExtensions,
    EndOfEarlyData,
    ExtendedMasterSecret,
    Extension,
    Finished,
    HandshakeMessage,
    HelloRetryRequest,
    KeyShare,
    KeyShareEntry,
    KeyUpdate,
    NewSessionTicket,
    Padding,
    PostHandshakeAuth,
    PreSharedKey,
    PskIdentity,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerHello,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    StatusRequest,
    SupportedGroups,
    SupportedVersions,
    UnknownExtension,
)

HT = HandshakeType

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def blob(lo: int, hi: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=lo, max_size=hi)


def u16s(lo: int = 1, hi: int = 12) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(u16, min_size=lo, max_size=hi).map(tuple)


host_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)
key_share_entries = st.builds(KeyShareEntry, group=u16, key_exchange=blob(1, 70))
_KNOWN_TYPES = {int(t) for t in ExtensionType}
unknown_extensions = st.builds(
    UnknownExtension,
    ext_type=u16.filter(lambda t: t not in _KNOWN_TYPES),
    data=blob(0, 30),
)


@st.composite
def offered_psks(draw: st.DrawFn) -> PreSharedKey:
    n = draw(st.integers(1, 3))
    identities = draw(
        st.lists(
            st.builds(PskIdentity, identity=blob(1, 40), obfuscated_ticket_age=u32),
            min_size=n,
            max_size=n,
        )
    )
    binders = draw(st.lists(blob(32, 64), min_size=n, max_size=n))
    return PreSharedKey(identities=tuple(identities), binders=tuple(binders))


def _client_hello_extensions() -> list[st.SearchStrategy[Extension]]:
    return [
        st.builds(ServerName, host_name=host_names),
        st.builds(SupportedGroups, groups=u16s()),
        st.builds(SignatureAlgorithms, schemes=u16s()),
        st.builds(SignatureAlgorithmsCert, schemes=u16s()),
        st.builds(SupportedVersions, versions=u16s(1, 20)),
        st.lists(key_share_entries, max_size=3, unique_by=lambda e: e.group).map(
            lambda shares: KeyShare(client_shares=tuple(shares))
        ),
        st.builds(ALPN, protocols=st.lists(blob(1, 20), min_size=1, max_size=4).map(tuple)),
        st.builds(Cookie, cookie=blob(1, 60)),
        st.builds(PskKeyExchangeModes, modes=st.lists(u8, min_size=1, max_size=4).map(tuple)),
        st.just(EarlyData()),
        st.builds(StatusRequest, responder_id_list=blob(0, 20), request_extensions=blob(0, 20)),
        st.builds(Padding, length=st.integers(0, 60)),
        st.builds(RecordSizeLimit, limit=st.integers(64, 0xFFFF)),
        st.just(PostHandshakeAuth()),
        st.builds(
            CertificateAuthorities,
            authorities=st.lists(blob(1, 30), min_size=1, max_size=3).map(tuple),
        ),
        st.builds(CompressCertificate, algorithms=u16s(1, 10)),
        st.just(ExtendedMasterSecret()),
        st.builds(RenegotiationInfo, renegotiated_connection=blob(0, 40)),
        st.builds(EcPointFormats, formats=st.lists(u8, min_size=1, max_size=4).map(tuple)),
        st.builds(SessionTicket, ticket=blob(0, 40)),
        unknown_extensions,
    ]


_one_alpn = st.builds(ALPN, protocols=st.tuples(blob(1, 20)))
_selected_version = st.builds(SupportedVersions, selected=u16)

EXTENSIONS_BY_CONTEXT: dict[HandshakeType, list[st.SearchStrategy[Extension]]] = {
    HT.client_hello: _client_hello_extensions(),
    HT.server_hello: [
        st.builds(KeyShare, server_share=key_share_entries),
        st.builds(PreSharedKey, selected_identity=u16),
        _selected_version,
        st.builds(RenegotiationInfo, renegotiated_connection=blob(0, 40)),
        st.just(ExtendedMasterSecret()),
        st.builds(EcPointFormats, formats=st.lists(u8, min_size=1, max_size=4).map(tuple)),
        st.builds(SessionTicket, ticket=blob(0, 40)),
        _one_alpn,
        st.just(ServerName()),
        st.just(StatusRequest()),
        unknown_extensions,
    ],
    HT.hello_retry_request: [
        st.builds(KeyShare, selected_group=u16),
        st.builds(Cookie, cookie=blob(1, 60)),
        _selected_version,
        unknown_extensions,
    ],
    HT.encrypted_extensions: [
        st.just(ServerName()),
        st.builds(SupportedGroups, groups=u16s()),
        _one_alpn,
        st.just(EarlyData()),
        st.builds(RecordSizeLimit, limit=st.integers(64, 0xFFFF)),
        unknown_extensions,
    ],
    HT.certificate: [
        st.builds(StatusRequest, ocsp_response=blob(1, 60)),
        unknown_extensions,
    ],
    HT.certificate_request: [
        st.just(StatusRequest()),
        st.builds(SignatureAlgorithms, schemes=u16s()),
        st.builds(SignatureAlgorithmsCert, schemes=u16s()),
        st.builds(
            CertificateAuthorities,
            authorities=st.lists(blob(1, 30), min_size=1, max_size=3).map(tuple),
        ),
        st.builds(CompressCertificate, algorithms=u16s(1, 10)),
        unknown_extensions,
    ],
    HT.new_session_ticket: [
        st.builds(EarlyData, max_early_data_size=u32),
        unknown_extensions,
    ],
}


def single_extension(ctx: HandshakeType) -> st.SearchStrategy[Extension]:
    return st.one_of(EXTENSIONS_BY_CONTEXT[ctx])


def extension_lists(
    ctx: HandshakeType, min_size: int = 0, max_size: int = 8
) -> st.SearchStrategy[tuple[Extension, ...]]:
    """Distinct-type extensions valid in ``ctx``; a ClientHello may end with a PSK."""
    base = st.lists(
        single_extension(ctx),
        min_size=min_size,
        max_size=max_size,
        unique_by=lambda e: e.ext_type,
    ).map(tuple)
    if ctx != HT.client_hello:
        return base
    return st.tuples(base, st.booleans(), offered_psks()).map(
        lambda t: (*t[0], t[2]) if t[1] else t[0]
    )


_randoms = blob(32, 32).filter(lambda r: r != HRR_RANDOM)

client_hellos = st.builds(
    ClientHello,
    legacy_version=u16,
    random=_randoms,
    legacy_session_id=blob(0, 32),
    cipher_suites=u16s(1, 10),
    legacy_compression_methods=blob(1, 3),
    extensions=extension_lists(HT.client_hello),
)
server_hellos = st.builds(
    ServerHello,
    legacy_version=u16,
    random=_randoms,
    legacy_session_id_echo=blob(0, 32),
    cipher_suite=u16,
    legacy_compression_method=u8,
    extensions=extension_lists(HT.server_hello),
)
hello_retry_requests = st.builds(
    HelloRetryRequest,
    legacy_session_id_echo=blob(0, 32),
    cipher_suite=u16,
    extensions=extension_lists(HT.hello_retry_request),
)
certificates = st.builds(
    Certificate,
    certificate_request_context=blob(0, 10),
    certificate_list=st.lists(
        st.builds(
            CertificateEntry,
            cert_data=blob(1, 100),
            extensions=extension_lists(HT.certificate, max_size=2),
        ),
        max_size=3,
    ).map(tuple),
)

handshake_messages: st.SearchStrategy[HandshakeMessage] = st.one_of(
    client_hellos,
    server_hellos,
    hello_retry_requests,
    st.builds(EncryptedExtensions, extensions=extension_lists(HT.encrypted_extensions)),
    certificates,
    st.builds(
        CertificateRequest,
        certificate_request_context=blob(0, 10),
        extensions=extension_lists(HT.certificate_request, min_size=1),
    ),
    st.builds(CertificateVerify, algorithm=u16, signature=blob(0, 100)),
    st.builds(Finished, verify_data=blob(0, 64)),
    st.builds(
        NewSessionTicket,
        ticket_lifetime=u32,
        ticket_age_add=u32,
        ticket_nonce=blob(0, 8),
        ticket=blob(1, 80),
        extensions=extension_lists(HT.new_session_ticket),
    ),
    st.just(EndOfEarlyData()),
    st.builds(KeyUpdate, request_update=st.integers(0, 1)),
)
