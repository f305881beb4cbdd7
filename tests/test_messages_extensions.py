"""Tests for puretls.messages.extensions: codecs, placement rules, failures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages_strategies import EXTENSIONS_BY_CONTEXT, extension_lists, single_extension
from puretls._codec import Reader, Writer
from puretls.enums import AlertDescription, ExtensionType, HandshakeType
from puretls.errors import DecodeError, TLSError
from puretls.messages import (
    ALPN,
    EarlyData,
    Extension,
    KeyShare,
    KeyShareEntry,
    PreSharedKey,
    RecordSizeLimit,
    ServerName,
    StatusRequest,
    SupportedGroups,
    SupportedVersions,
    UnknownExtension,
    decode_extensions,
    encode_extensions,
    find_extension,
    has_extension,
)

HT = HandshakeType
ET = ExtensionType
CONTEXTS = sorted(EXTENSIONS_BY_CONTEXT)


def ext(ext_type: int, body: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def block(*exts: bytes) -> bytes:
    data = b"".join(exts)
    return len(data).to_bytes(2, "big") + data


def decode(data: bytes, ctx: HandshakeType) -> tuple[Extension, ...]:
    r = Reader(data)
    exts = decode_extensions(r, ctx)
    r.expect_end()
    return exts


def encode(exts: tuple[Extension, ...], ctx: HandshakeType) -> bytes:
    w = Writer()
    encode_extensions(w, exts, ctx)
    return w.getvalue()


def decode_one(ext_type: int, body: bytes, ctx: HandshakeType) -> Extension:
    (only,) = decode(block(ext(ext_type, body)), ctx)
    return only


def assert_alert(alert: AlertDescription, ext_type: int, body: bytes, ctx: HandshakeType) -> None:
    with pytest.raises(TLSError) as info:
        decode_one(ext_type, body, ctx)
    assert info.value.alert == alert


SNI = ext(ET.server_name, bytes.fromhex("0009000006736572766572"))


# --- Round trips -------------------------------------------------------------


@pytest.mark.parametrize("ctx", CONTEXTS, ids=lambda c: c.name)
def test_extension_lists_round_trip_in_every_message(ctx: HandshakeType) -> None:
    @given(extension_lists(ctx))
    def check(exts: tuple[Extension, ...]) -> None:
        data = encode(exts, ctx)
        assert decode(data, ctx) == exts
        assert encode(decode(data, ctx), ctx) == data

    check()


@given(st.data())
def test_each_extension_body_round_trips(data: st.DataObject) -> None:
    ctx = data.draw(st.sampled_from(CONTEXTS))
    one = data.draw(single_extension(ctx))
    w = Writer()
    one.encode_body(w, ctx)
    assert decode_one(one.ext_type, w.getvalue(), ctx) == one


def test_unknown_extension_is_kept_byte_for_byte() -> None:
    raw = block(ext(0x1A1A, b"\x01\x02\x03"), ext(0xFE0D, b""))
    exts = decode(raw, HT.encrypted_extensions)
    assert exts == (
        UnknownExtension(ext_type=0x1A1A, data=b"\x01\x02\x03"),
        UnknownExtension(ext_type=0xFE0D, data=b""),
    )
    assert encode(exts, HT.encrypted_extensions) == raw


def test_known_extension_without_codec_is_kept_as_unknown_in_client_hello() -> None:
    (etm,) = decode(block(ext(ET.encrypt_then_mac, b"")), HT.client_hello)
    assert etm == UnknownExtension(ext_type=ET.encrypt_then_mac, data=b"")


# --- Per-message shapes ------------------------------------------------------


def test_server_name_client_hello_form_holds_the_host_name() -> None:
    assert decode(block(SNI), HT.client_hello) == (ServerName(host_name="server"),)


@pytest.mark.parametrize("ctx", [HT.encrypted_extensions, HT.server_hello])
def test_server_name_is_empty_in_server_messages(ctx: HandshakeType) -> None:
    assert decode_one(ET.server_name, b"", ctx) == ServerName()
    assert encode((ServerName(),), ctx) == block(ext(ET.server_name, b""))


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x00",  # empty server_name_list
        bytes.fromhex("0012") + bytes.fromhex("000006736572766572") * 2,  # two host_names
        bytes.fromhex("0009010006736572766572"),  # unknown name_type
        bytes.fromhex("0003000000"),  # empty HostName
        bytes.fromhex("0004000001ff"),  # not ASCII
        bytes.fromhex("0009000006736572766572ff"),  # trailing byte
    ],
)
def test_malformed_server_name_is_a_decode_error(body: bytes) -> None:
    assert_alert(AlertDescription.decode_error, ET.server_name, body, HT.client_hello)


def test_server_name_in_server_message_must_be_empty() -> None:
    assert_alert(AlertDescription.decode_error, ET.server_name, b"\x00", HT.encrypted_extensions)


def test_supported_versions_forms() -> None:
    ch = decode_one(ET.supported_versions, bytes.fromhex("0403040303"), HT.client_hello)
    assert ch == SupportedVersions(versions=(0x0304, 0x0303))
    for ctx in (HT.server_hello, HT.hello_retry_request):
        assert decode_one(ET.supported_versions, b"\x03\x04", ctx) == SupportedVersions(
            selected=0x0304
        )


def test_supported_versions_list_must_hold_at_least_one_version() -> None:
    assert_alert(AlertDescription.decode_error, ET.supported_versions, b"\x00", HT.client_hello)


def test_supported_groups_must_not_be_empty() -> None:
    assert_alert(AlertDescription.decode_error, ET.supported_groups, b"\x00\x00", HT.client_hello)


def test_key_share_forms() -> None:
    hrr = decode_one(ET.key_share, b"\x00\x17", HT.hello_retry_request)
    assert hrr == KeyShare(selected_group=0x17)
    sh = decode_one(ET.key_share, bytes.fromhex("001d000101"), HT.server_hello)
    assert sh == KeyShare(server_share=KeyShareEntry(group=0x1D, key_exchange=b"\x01"))


def test_key_share_with_duplicate_group_is_illegal_parameter() -> None:
    entry = bytes.fromhex("001d000101")
    body = (2 * len(entry)).to_bytes(2, "big") + entry * 2
    assert_alert(AlertDescription.illegal_parameter, ET.key_share, body, HT.client_hello)


def test_key_share_entry_with_empty_key_is_a_decode_error() -> None:
    assert_alert(
        AlertDescription.decode_error, ET.key_share, bytes.fromhex("0004001d0000"), HT.client_hello
    )


def test_server_alpn_must_name_exactly_one_protocol() -> None:
    two = bytes.fromhex("0006") + b"\x02h2" + b"\x02h3"
    offered = decode_one(ET.application_layer_protocol_negotiation, two, HT.client_hello)
    assert offered == ALPN(protocols=(b"h2", b"h3"))
    assert_alert(
        AlertDescription.decode_error,
        ET.application_layer_protocol_negotiation,
        two,
        HT.encrypted_extensions,
    )


def test_alpn_rejects_empty_protocol_name() -> None:
    body = bytes.fromhex("0003") + b"\x00" + b"\x01a"
    assert_alert(
        AlertDescription.decode_error,
        ET.application_layer_protocol_negotiation,
        body,
        HT.client_hello,
    )


def test_psk_binder_count_must_match_identity_count() -> None:
    identity = bytes.fromhex("0001aa00000000")
    identities = (2 * len(identity)).to_bytes(2, "big") + identity * 2
    binders = bytes.fromhex("0021") + b"\x20" + bytes(32)
    assert_alert(
        AlertDescription.illegal_parameter,
        ET.pre_shared_key,
        identities + binders,
        HT.client_hello,
    )


def test_psk_binder_shorter_than_32_bytes_is_a_decode_error() -> None:
    identities = bytes.fromhex("00070001aa00000000")
    binders = bytes.fromhex("0021") + b"\x1f" + bytes(32)
    assert_alert(
        AlertDescription.decode_error, ET.pre_shared_key, identities + binders, HT.client_hello
    )


def test_psk_server_form_is_the_selected_identity() -> None:
    assert decode_one(ET.pre_shared_key, b"\x00\x00", HT.server_hello) == PreSharedKey(
        selected_identity=0
    )


def test_early_data_carries_a_size_only_in_new_session_ticket() -> None:
    nst = decode_one(ET.early_data, bytes.fromhex("00000400"), HT.new_session_ticket)
    assert nst == EarlyData(max_early_data_size=1024)
    assert decode_one(ET.early_data, b"", HT.encrypted_extensions) == EarlyData()
    assert_alert(AlertDescription.decode_error, ET.early_data, b"\x00", HT.client_hello)


def test_status_request_forms() -> None:
    ch = decode_one(ET.status_request, bytes.fromhex("0100000000"), HT.client_hello)
    assert ch == StatusRequest()
    assert encode((ch,), HT.client_hello) == block(ext(ET.status_request, b"\x01\0\0\0\0"))
    assert decode_one(ET.status_request, b"", HT.certificate_request) == StatusRequest()
    assert encode((StatusRequest(),), HT.certificate_request) == block(ext(ET.status_request, b""))
    ct = decode_one(ET.status_request, bytes.fromhex("01000002abcd"), HT.certificate)
    assert ct == StatusRequest(ocsp_response=b"\xab\xcd")


def test_status_request_with_unknown_status_type_is_a_decode_error() -> None:
    assert_alert(
        AlertDescription.decode_error,
        ET.status_request,
        bytes.fromhex("0200000000"),
        HT.client_hello,
    )


def test_record_size_limit_below_64_is_illegal_parameter() -> None:
    assert decode_one(ET.record_size_limit, b"\x00\x40", HT.client_hello) == RecordSizeLimit(
        limit=64
    )
    assert_alert(
        AlertDescription.illegal_parameter, ET.record_size_limit, b"\x00\x3f", HT.client_hello
    )


def test_padding_with_non_zero_byte_is_a_decode_error() -> None:
    assert_alert(AlertDescription.decode_error, ET.padding, b"\x00\x01", HT.client_hello)


@pytest.mark.parametrize(
    "ext_type", [ET.post_handshake_auth, ET.extended_master_secret], ids=lambda t: t.name
)
def test_empty_extensions_reject_a_body(ext_type: ExtensionType) -> None:
    assert_alert(AlertDescription.decode_error, ext_type, b"\x00", HT.client_hello)


def test_compress_certificate_list_is_bounded() -> None:
    assert_alert(AlertDescription.decode_error, ET.compress_certificate, b"\x00", HT.client_hello)
    assert_alert(
        AlertDescription.decode_error, ET.compress_certificate, b"\x03\x00\x01\x00", HT.client_hello
    )


# --- The extensions block ----------------------------------------------------


def test_duplicate_extension_is_illegal_parameter() -> None:
    data = block(ext(ET.supported_groups, bytes.fromhex("0002001d")), SNI)
    assert len(decode(data, HT.client_hello)) == 2
    dup = block(SNI, SNI)
    with pytest.raises(DecodeError) as info:
        decode(dup, HT.client_hello)
    assert info.value.alert == AlertDescription.illegal_parameter


def test_duplicate_unknown_extension_is_illegal_parameter() -> None:
    with pytest.raises(DecodeError) as info:
        decode(block(ext(0x7777, b""), ext(0x7777, b"x")), HT.encrypted_extensions)
    assert info.value.alert == AlertDescription.illegal_parameter


def test_pre_shared_key_must_be_last_in_client_hello() -> None:
    psk = ext(ET.pre_shared_key, bytes.fromhex("00070001aa00000000002120") + bytes(32))
    assert isinstance(decode(block(SNI, psk), HT.client_hello)[-1], PreSharedKey)
    with pytest.raises(DecodeError) as info:
        decode(block(psk, SNI), HT.client_hello)
    assert info.value.alert == AlertDescription.illegal_parameter


@pytest.mark.parametrize(
    ("ctx", "ext_type", "body"),
    [
        (HT.hello_retry_request, ET.server_name, b""),
        (HT.hello_retry_request, ET.early_data, b""),
        (HT.hello_retry_request, ET.pre_shared_key, b"\x00\x00"),
        (HT.encrypted_extensions, ET.key_share, bytes.fromhex("001d000101")),
        (HT.encrypted_extensions, ET.renegotiation_info, b"\x00"),
        (HT.encrypted_extensions, ET.signature_algorithms, bytes.fromhex("00020804")),
        (HT.server_hello, ET.supported_groups, bytes.fromhex("0002001d")),
        (HT.server_hello, ET.cookie, bytes.fromhex("000101")),
        (HT.certificate, ET.server_name, b""),
        (HT.certificate_request, ET.supported_groups, bytes.fromhex("0002001d")),
        (HT.new_session_ticket, ET.server_name, b""),
        (HT.new_session_ticket, ET.encrypt_then_mac, b""),
    ],
)
def test_known_extension_in_a_message_that_forbids_it_is_illegal_parameter(
    ctx: HandshakeType, ext_type: ExtensionType, body: bytes
) -> None:
    assert_alert(AlertDescription.illegal_parameter, ext_type, body, ctx)


@pytest.mark.parametrize(
    "ext_type",
    [ET.renegotiation_info, ET.extended_master_secret, ET.server_name, ET.status_request],
    ids=lambda t: t.name,
)
def test_server_hello_accepts_tls12_server_hello_extensions(ext_type: ExtensionType) -> None:
    body = b"\x00" if ext_type == ET.renegotiation_info else b""
    assert decode_one(ext_type, body, HT.server_hello).ext_type == ext_type


def test_extension_body_longer_than_its_contents_is_a_decode_error() -> None:
    # supported_versions (SH form) with a 3-byte body: one byte left over.
    assert_alert(
        AlertDescription.decode_error, ET.supported_versions, b"\x03\x04\x00", HT.server_hello
    )


def test_extension_length_beyond_the_block_is_a_decode_error() -> None:
    data = block(ET.server_name.to_bytes(2, "big") + b"\x00\x10" + b"\x00")
    with pytest.raises(DecodeError) as info:
        decode(data, HT.client_hello)
    assert info.value.alert == AlertDescription.decode_error


@given(st.binary(max_size=64), st.sampled_from(CONTEXTS))
def test_random_extension_blocks_raise_only_tls_errors(data: bytes, ctx: HandshakeType) -> None:
    try:
        exts = decode_extensions(Reader(data), ctx)
    except TLSError:
        return
    assert decode_extensions(Reader(encode(exts, ctx)), ctx) == exts


# --- Lookup helpers ----------------------------------------------------------


def test_find_and_has_extension() -> None:
    exts: tuple[Extension, ...] = (
        ServerName(host_name="a"),
        UnknownExtension(ext_type=0x1A1A, data=b""),
        SupportedGroups(groups=(0x1D,)),
    )
    assert find_extension(exts, SupportedGroups) == SupportedGroups(groups=(0x1D,))
    assert find_extension(exts, ALPN) is None
    assert has_extension(exts, ET.server_name)
    assert has_extension(exts, 0x1A1A)
    assert not has_extension(exts, ET.key_share)


def test_decoders_build_every_field_of_their_extension() -> None:
    # The decoders' constructors take exactly the dataclass fields, so a field
    # added later cannot be left unset on the decode path.
    import dataclasses
    import inspect

    from puretls.messages import extensions

    makers = {
        name: value
        for name, value in vars(extensions).items()
        if name.startswith("_new_") and callable(value)
    }
    assert len(makers) >= 20
    for maker in makers.values():
        built = maker.__globals__["_cls"]
        fields = [f.name for f in dataclasses.fields(built)]
        assert list(inspect.signature(maker).parameters) == fields


# ---------------------------------------------------------------------------
# The tables of decoded and encoded values (a repeated body is not decoded,
# a repeated value not encoded, again)


def _decode_list(exts: tuple[Extension, ...], ctx: HandshakeType) -> tuple[Extension, ...]:
    w = Writer()
    encode_extensions(w, exts, ctx)
    r = Reader(bytes(w))
    decoded = decode_extensions(r, ctx)
    r.expect_end()
    return decoded


def test_repeated_extension_bodies_decode_to_equal_values() -> None:
    exts = (SupportedGroups(groups=(29, 23)),)
    first = _decode_list(exts, HandshakeType.client_hello)
    second = _decode_list(exts, HandshakeType.client_hello)
    assert first == second == exts


def test_key_shares_are_decoded_afresh_each_time() -> None:
    exts = (KeyShare(client_shares=(KeyShareEntry(group=29, key_exchange=b"k" * 32),)),)
    first = _decode_list(exts, HandshakeType.client_hello)
    second = _decode_list(exts, HandshakeType.client_hello)
    assert first == second == exts
    assert first[0] is not second[0]


def test_decoded_value_tables_stay_bounded() -> None:
    from puretls.messages import extensions as module  # the tables themselves

    for n in range(3 * module._MEMO_SIZE):
        ext = UnknownExtension(ext_type=0x4A4A, data=b"")
        _decode_list((RecordSizeLimit(limit=64 + n), ext), HandshakeType.encrypted_extensions)
    assert len(module._MEMO[HandshakeType.encrypted_extensions]) <= module._MEMO_SIZE
    assert len(module._ENCODED[HandshakeType.encrypted_extensions]) <= module._MEMO_SIZE


def test_a_remembered_body_still_checks_its_placement() -> None:
    body = SupportedGroups(groups=(29,))
    _decode_list((body,), HandshakeType.client_hello)  # remembered
    with pytest.raises(DecodeError, match="duplicate extension 10"):
        _decode_list((body, body), HandshakeType.client_hello)
    with pytest.raises(DecodeError, match="not allowed in certificate_request"):
        _decode_list((body,), HandshakeType.certificate_request)


def test_trailing_bytes_in_a_remembered_kind_are_refused() -> None:
    # record_size_limit holds a uint16; a third byte is left over.
    data = b"\x00\x07" + b"\x00\x1c\x00\x03\x40\x00\x00"
    with pytest.raises(DecodeError, match="1 trailing bytes after extension 28 body"):
        decode_extensions(Reader(data), HandshakeType.encrypted_extensions)


def test_trailing_bytes_in_a_kind_never_remembered_are_refused() -> None:
    # A ServerHello key_share: group x25519, a 1-byte key, then one byte more.
    data = b"\x00\x0a" + b"\x00\x33\x00\x06\x00\x1d\x00\x01\xaa\xbb"
    with pytest.raises(DecodeError, match="1 trailing bytes after extension 51 body"):
        decode_extensions(Reader(data), HandshakeType.server_hello)


def test_unknown_extensions_keep_their_body_bytes() -> None:
    data = b"\x00\x0a" + b"\xfa\xfa\x00\x02\x01\x02" + b"\x12\x34\x00\x00"
    exts = decode_extensions(Reader(data), HandshakeType.encrypted_extensions)
    assert exts == (
        UnknownExtension(ext_type=0xFAFA, data=b"\x01\x02"),
        UnknownExtension(ext_type=0x1234, data=b""),
    )


def test_an_extension_list_longer_than_its_length_field_is_refused() -> None:
    # Two unknown extensions of 40000 bytes each: 80008 bytes of list.
    exts = tuple(UnknownExtension(ext_type=t, data=bytes(40000)) for t in (0x7A7A, 0x7B7B))
    with pytest.raises(ValueError, match="80008 bytes do not fit a 2-byte length"):
        encode_extensions(Writer(), exts, HandshakeType.encrypted_extensions)


def test_a_value_with_an_unhashable_field_still_encodes() -> None:
    listed = SupportedGroups(groups=[29, 23])  # type: ignore[arg-type]
    w, expected = Writer(), Writer()
    encode_extensions(w, (listed,), HandshakeType.client_hello)
    encode_extensions(expected, (SupportedGroups(groups=(29, 23)),), HandshakeType.client_hello)
    assert bytes(w) == bytes(expected)
