"""Tests for puretls.messages.handshake: RFC 8448 vectors, round trips, fuzzing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages_strategies import client_hellos, handshake_messages
from puretls._codec import Writer
from puretls.enums import AlertDescription, HandshakeType
from puretls.errors import DecodeError, TLSError, UnexpectedMessage
from puretls.messages import (
    HRR_RANDOM,
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    Cookie,
    EarlyData,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
    HelloRetryRequest,
    KeyShare,
    KeyShareEntry,
    KeyUpdate,
    MessageHash,
    NewSessionTicket,
    PreSharedKey,
    PskIdentity,
    RecordSizeLimit,
    ServerHello,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersions,
    client_hello_binder_prefix_length,
    decode_handshake,
    decode_handshake_message,
    decode_server_hello,
    find_extension,
)
from puretls.messages.extensions import Extension, UnknownExtension

HT = HandshakeType
VECTORS = Path(__file__).parent / "vectors"
VECTOR_FILES = [
    "rfc8448_section3_simple_1rtt.json",
    "rfc8448_section4_resumed_0rtt.json",
    "rfc8448_section5_hello_retry_request.json",
    "rfc8448_section6_client_authentication.json",
    "rfc8448_section7_compatibility_mode.json",
    "illustrated_tls13.json",
]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def vector_messages() -> list[tuple[str, bytes]]:
    out = []
    for name in VECTOR_FILES:
        for key, hex_msg in load(name)["handshake_messages"].items():
            if key != "client_hello_truncated":
                out.append(
                    (f"{name.split('_')[0]}{name.split('_')[1]}:{key}", bytes.fromhex(hex_msg))
                )
    return out


VECTOR_MESSAGES = vector_messages()


def decode_full(data: bytes) -> HandshakeMessage:
    return decode_handshake(data[0], data[4:])


def message(name: str, key: str) -> HandshakeMessage:
    return decode_full(bytes.fromhex(load(name)["handshake_messages"][key]))


Hello = ClientHello | ServerHello | HelloRetryRequest


def check_hello_fields(msg: Hello, f: dict[str, Any], ctx: HandshakeType) -> None:
    """Each extension re-encodes to the body the vector file lists for it."""
    assert msg.legacy_version == int(f["legacy_version"], 16)
    assert msg.random.hex() == f["random"]
    listed = [(e["type"], e["data"]) for e in f["extensions"]]
    assert [(e.ext_type, _body(e, ctx)) for e in msg.extensions] == listed


def _body(ext: Extension, ctx: HandshakeType) -> str:
    w = Writer()
    ext.encode_body(w, ctx)
    return w.getvalue().hex()


# --- RFC 8448 and Illustrated TLS 1.3 ----------------------------------------


@pytest.mark.parametrize(("name", "data"), VECTOR_MESSAGES, ids=[n for n, _ in VECTOR_MESSAGES])
def test_vector_message_decodes_and_re_encodes_byte_for_byte(name: str, data: bytes) -> None:
    msg = decode_full(data)
    assert msg.encode() == data
    assert decode_handshake_message(data) == msg


def test_section3_client_hello_fields() -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    ch = message("rfc8448_section3_simple_1rtt.json", "client_hello")
    assert isinstance(ch, ClientHello)
    f = v["client_hello_fields"]
    check_hello_fields(ch, f, HT.client_hello)
    assert ch.cipher_suites == tuple(int(s, 16) for s in f["cipher_suites"])
    assert ch.cipher_suites == (0x1301, 0x1303, 0x1302)
    assert ch.legacy_session_id == b""
    assert find_extension(ch.extensions, ServerName) == ServerName(host_name="server")
    assert find_extension(ch.extensions, SupportedVersions) == SupportedVersions(versions=(0x0304,))
    assert find_extension(ch.extensions, RecordSizeLimit) == RecordSizeLimit(limit=0x4001)
    groups = find_extension(ch.extensions, SupportedGroups)
    assert groups is not None and groups.groups[:2] == (0x001D, 0x0017)
    share = find_extension(ch.extensions, KeyShare)
    assert share is not None
    x25519 = bytes.fromhex("99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c")
    assert share.client_shares == (KeyShareEntry(group=0x1D, key_exchange=x25519),)


def test_section3_server_hello_fields() -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    sh = message("rfc8448_section3_simple_1rtt.json", "server_hello")
    assert isinstance(sh, ServerHello)
    check_hello_fields(sh, v["server_hello_fields"], HT.server_hello)
    assert sh.cipher_suite == 0x1301
    assert find_extension(sh.extensions, SupportedVersions) == SupportedVersions(selected=0x0304)
    share = find_extension(sh.extensions, KeyShare)
    assert share is not None and share.server_share is not None
    assert share.server_share.group == 0x1D
    assert (
        share.server_share.key_exchange.hex()
        == v["server_hello_fields"]["extensions"][0]["data"][8:]
    )


def test_section3_encrypted_extensions() -> None:
    ee = message("rfc8448_section3_simple_1rtt.json", "encrypted_extensions")
    assert isinstance(ee, EncryptedExtensions)
    assert find_extension(ee.extensions, ServerName) == ServerName()
    assert find_extension(ee.extensions, RecordSizeLimit) == RecordSizeLimit(limit=0x4001)


@pytest.mark.parametrize(
    ("name", "key", "fields"),
    [
        ("rfc8448_section3_simple_1rtt.json", "certificate", "certificate_fields"),
        ("rfc8448_section5_hello_retry_request.json", "certificate", "certificate_fields"),
        (
            "rfc8448_section6_client_authentication.json",
            "server_certificate",
            "server_certificate_fields",
        ),
        (
            "rfc8448_section6_client_authentication.json",
            "client_certificate",
            "client_certificate_fields",
        ),
    ],
)
def test_certificate_fields(name: str, key: str, fields: str) -> None:
    cert = message(name, key)
    f = load(name)[fields]
    assert isinstance(cert, Certificate)
    assert cert.certificate_request_context.hex() == f["certificate_request_context"]
    assert [e.cert_data.hex() for e in cert.certificate_list] == [
        e["cert_data"] for e in f["certificate_list"]
    ]


@pytest.mark.parametrize(
    ("name", "key", "fields"),
    [
        ("rfc8448_section3_simple_1rtt.json", "certificate_verify", "certificate_verify_fields"),
        (
            "rfc8448_section6_client_authentication.json",
            "server_certificate_verify",
            "server_certificate_verify_fields",
        ),
        (
            "rfc8448_section6_client_authentication.json",
            "client_certificate_verify",
            "client_certificate_verify_fields",
        ),
    ],
)
def test_certificate_verify_fields(name: str, key: str, fields: str) -> None:
    cv = message(name, key)
    f = load(name)[fields]
    assert cv == CertificateVerify(
        algorithm=int(f["algorithm"], 16), signature=bytes.fromhex(f["signature"])
    )


def test_section3_new_session_ticket_fields() -> None:
    f = load("rfc8448_section3_simple_1rtt.json")["new_session_ticket"]
    nst = decode_full(bytes.fromhex(f["message"]))
    assert nst == NewSessionTicket(
        ticket_lifetime=f["ticket_lifetime"],
        ticket_age_add=int(f["ticket_age_add"], 16),
        ticket_nonce=bytes.fromhex(f["ticket_nonce"]),
        ticket=bytes.fromhex(f["ticket"]),
        extensions=(EarlyData(max_early_data_size=f["early_data_max_early_data_size"]),),
    )


def test_section3_finished_is_the_whole_body() -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    fin = message("rfc8448_section3_simple_1rtt.json", "server_finished")
    assert fin == Finished(
        verify_data=bytes.fromhex(v["handshake_messages"]["server_finished"])[4:]
    )


def test_section4_client_hello_offers_a_psk_and_early_data() -> None:
    ch = message("rfc8448_section4_resumed_0rtt.json", "client_hello")
    assert isinstance(ch, ClientHello)
    psk = ch.extensions[-1]
    assert isinstance(psk, PreSharedKey)
    s3_ticket = load("rfc8448_section3_simple_1rtt.json")["new_session_ticket"]["ticket"]
    assert psk.identities[0].identity.hex() == s3_ticket
    assert len(psk.binders) == 1 and len(psk.binders[0]) == 32
    assert find_extension(ch.extensions, EarlyData) == EarlyData()


def test_section4_binder_prefix_is_the_truncated_client_hello() -> None:
    v = load("rfc8448_section4_resumed_0rtt.json")
    full = bytes.fromhex(v["handshake_messages"]["client_hello"])
    truncated = bytes.fromhex(v["handshake_messages"]["client_hello_truncated"])
    assert full[: client_hello_binder_prefix_length(full)] == truncated


def test_section4_with_binders_replaces_only_the_binders() -> None:
    v = load("rfc8448_section4_resumed_0rtt.json")
    full = bytes.fromhex(v["handshake_messages"]["client_hello"])
    ch = decode_full(full)
    assert isinstance(ch, ClientHello)
    psk = ch.extensions[-1]
    assert isinstance(psk, PreSharedKey)
    blank = ch.with_binders([bytes(32)])
    encoded = blank.encode()
    n = client_hello_binder_prefix_length(full)
    assert encoded[:n] == full[:n]
    assert blank.with_binders(psk.binders).encode() == full


def test_section4_server_hello_selects_identity_zero() -> None:
    sh = message("rfc8448_section4_resumed_0rtt.json", "server_hello")
    assert isinstance(sh, ServerHello)
    assert find_extension(sh.extensions, PreSharedKey) == PreSharedKey(selected_identity=0)


def test_section5_hello_retry_request_is_recognised_by_its_random() -> None:
    v = load("rfc8448_section5_hello_retry_request.json")
    hrr = message("rfc8448_section5_hello_retry_request.json", "hello_retry_request")
    assert isinstance(hrr, HelloRetryRequest)
    check_hello_fields(hrr, v["hello_retry_request_fields"], HT.hello_retry_request)
    assert hrr.random == HRR_RANDOM
    assert find_extension(hrr.extensions, KeyShare) == KeyShare(selected_group=0x17)
    assert find_extension(hrr.extensions, Cookie) == Cookie(cookie=bytes.fromhex(v["cookie"]))
    assert find_extension(hrr.extensions, SupportedVersions) == SupportedVersions(selected=0x0304)
    sh = message("rfc8448_section5_hello_retry_request.json", "server_hello")
    assert isinstance(sh, ServerHello)


def test_section5_second_client_hello_echoes_the_cookie() -> None:
    v = load("rfc8448_section5_hello_retry_request.json")
    ch2 = message("rfc8448_section5_hello_retry_request.json", "client_hello_2")
    assert isinstance(ch2, ClientHello)
    assert find_extension(ch2.extensions, Cookie) == Cookie(cookie=bytes.fromhex(v["cookie"]))


def test_section6_certificate_request_asks_for_signature_algorithms() -> None:
    cr = message("rfc8448_section6_client_authentication.json", "certificate_request")
    assert isinstance(cr, CertificateRequest)
    assert cr.certificate_request_context == b""
    assert isinstance(cr.extensions[0], SignatureAlgorithms)


def test_section7_compatibility_mode_session_id_is_echoed() -> None:
    v = load("rfc8448_section7_compatibility_mode.json")
    ch = message("rfc8448_section7_compatibility_mode.json", "client_hello")
    sh = message("rfc8448_section7_compatibility_mode.json", "server_hello")
    assert isinstance(ch, ClientHello) and isinstance(sh, ServerHello)
    assert ch.legacy_session_id.hex() == v["legacy_session_id"]
    assert sh.legacy_session_id_echo == ch.legacy_session_id


def test_illustrated_client_hello_keeps_tls12_extensions() -> None:
    ch = message("illustrated_tls13.json", "client_hello")
    assert isinstance(ch, ClientHello)
    assert find_extension(ch.extensions, ServerName) == ServerName(host_name="example.ulfheim.net")
    assert UnknownExtension(ext_type=22, data=b"") in ch.extensions  # encrypt_then_mac
    assert ch.cipher_suites[-1] == 0x00FF


def test_illustrated_new_session_tickets() -> None:
    nst = message("illustrated_tls13.json", "new_session_ticket_1")
    assert isinstance(nst, NewSessionTicket)
    assert nst.ticket_lifetime == 0x1C20
    assert nst.extensions == ()


# --- Constructed messages ----------------------------------------------------


def test_hrr_random_is_sha256_of_hello_retry_request() -> None:
    assert hashlib.sha256(b"HelloRetryRequest").digest() == HRR_RANDOM


def test_hello_retry_request_encodes_as_a_server_hello() -> None:
    hrr = HelloRetryRequest(
        cipher_suite=0x1301,
        extensions=(SupportedVersions(selected=0x0304), KeyShare(selected_group=0x17)),
    )
    data = hrr.encode()
    assert data[0] == HT.server_hello
    assert decode_server_hello(data[4:]) == hrr


def test_client_hello_without_extensions_block_is_valid() -> None:
    body = bytes.fromhex("0303") + bytes(32) + b"\x00" + bytes.fromhex("0002c02f") + b"\x01\x00"
    ch = decode_handshake(HT.client_hello, body)
    assert ch == ClientHello(random=bytes(32), cipher_suites=(0xC02F,))
    assert ch.encode()[4:] == body


def test_end_of_early_data_and_key_update_encodings() -> None:
    assert EndOfEarlyData().encode() == b"\x05\x00\x00\x00"
    assert KeyUpdate(request_update=1).encode() == b"\x18\x00\x00\x01\x01"
    assert decode_handshake(HT.key_update, b"\x00") == KeyUpdate(request_update=0)


def test_message_hash_encoding() -> None:
    digest = bytes(range(32))
    assert MessageHash(hash_value=digest).encode() == b"\xfe\x00\x00\x20" + digest
    assert MessageHash.decode_body(digest) == MessageHash(hash_value=digest)


def test_with_binders_requires_a_pre_shared_key() -> None:
    ch = ClientHello(random=bytes(32), cipher_suites=(0x1301,))
    with pytest.raises(ValueError):
        ch.with_binders([bytes(32)])


# --- Failures with the exact alert --------------------------------------------


S3_CH = bytes.fromhex(load(VECTOR_FILES[0])["handshake_messages"]["client_hello"])


def assert_alert(alert: AlertDescription, msg_type: int, body: bytes) -> None:
    with pytest.raises(TLSError) as info:
        decode_handshake(msg_type, body)
    assert info.value.alert == alert


def test_trailing_bytes_after_client_hello_are_a_decode_error() -> None:
    assert_alert(AlertDescription.decode_error, HT.client_hello, S3_CH[4:] + b"\x00")


def test_truncated_client_hello_is_a_decode_error() -> None:
    assert_alert(AlertDescription.decode_error, HT.client_hello, S3_CH[4:-1])


def test_wrong_extensions_block_length_is_a_decode_error() -> None:
    body = bytearray(S3_CH[4:])
    ext_len_at = 2 + 32 + 1 + 2 + 6 + 2  # after suites and compression
    assert body[ext_len_at : ext_len_at + 2] == b"\x00\x91"
    body[ext_len_at + 1] -= 1
    assert_alert(AlertDescription.decode_error, HT.client_hello, bytes(body))


def test_session_id_longer_than_32_bytes_is_a_decode_error() -> None:
    body = bytes.fromhex("0303") + bytes(32) + b"\x21" + bytes(33) + bytes.fromhex("00021301")
    assert_alert(AlertDescription.decode_error, HT.client_hello, body + b"\x01\x00")


def test_duplicate_extension_in_encrypted_extensions_is_illegal_parameter() -> None:
    sni = bytes.fromhex("00000000")
    assert_alert(
        AlertDescription.illegal_parameter,
        HT.encrypted_extensions,
        b"\x00\x08" + sni + sni,
    )


def test_psk_not_last_in_client_hello_is_illegal_parameter() -> None:
    ch = ClientHello(
        random=bytes(32),
        cipher_suites=(0x1301,),
        extensions=(
            PreSharedKey(
                identities=(PskIdentity(identity=b"id", obfuscated_ticket_age=0),),
                binders=(bytes(32),),
            ),
            ServerName(host_name="example.com"),
        ),
    )
    assert_alert(AlertDescription.illegal_parameter, HT.client_hello, ch.encode()[4:])


def test_hello_retry_request_with_disallowed_extension_is_illegal_parameter() -> None:
    for bad in (EarlyData(), ServerName(), PreSharedKey(selected_identity=0)):
        exts: tuple[Extension, ...] = (SupportedVersions(selected=0x0304), bad)
        hrr = HelloRetryRequest(cipher_suite=0x1301, extensions=exts)
        assert_alert(AlertDescription.illegal_parameter, HT.server_hello, hrr.encode()[4:])
        # The same extensions are fine in a ServerHello where the table allows them.
        if isinstance(bad, PreSharedKey | ServerName):
            sh = ServerHello(random=bytes(32), cipher_suite=0x1301, extensions=exts)
            assert decode_handshake(HT.server_hello, sh.encode()[4:]) == sh


@pytest.mark.parametrize("value", [2, 255])
def test_bad_key_update_value_is_illegal_parameter(value: int) -> None:
    assert_alert(AlertDescription.illegal_parameter, HT.key_update, bytes([value]))


def test_key_update_with_extra_byte_is_a_decode_error() -> None:
    assert_alert(AlertDescription.decode_error, HT.key_update, b"\x00\x00")


def test_end_of_early_data_with_body_is_a_decode_error() -> None:
    assert_alert(AlertDescription.decode_error, HT.end_of_early_data, b"\x00")


def test_certificate_request_without_extensions_is_a_decode_error() -> None:
    assert_alert(AlertDescription.decode_error, HT.certificate_request, b"\x00\x00\x00")


def test_certificate_entry_with_empty_cert_data_is_a_decode_error() -> None:
    body = b"\x00" + b"\x00\x00\x05" + b"\x00\x00\x00" + b"\x00\x00"
    assert_alert(AlertDescription.decode_error, HT.certificate, body)


def test_new_session_ticket_with_empty_ticket_is_a_decode_error() -> None:
    body = bytes(8) + b"\x00" + b"\x00\x00" + b"\x00\x00"
    assert_alert(AlertDescription.decode_error, HT.new_session_ticket, body)


@pytest.mark.parametrize(
    "msg_type",
    [
        HT.hello_request,
        HT.hello_verify_request,
        HT.hello_retry_request,
        HT.server_key_exchange,
        HT.server_hello_done,
        HT.client_key_exchange,
        HT.message_hash,
        99,
    ],
)
def test_unknown_or_tls12_message_type_is_unexpected_message(msg_type: int) -> None:
    with pytest.raises(UnexpectedMessage) as info:
        decode_handshake(msg_type, b"")
    assert info.value.alert == AlertDescription.unexpected_message


def test_binder_prefix_of_client_hello_without_psk_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        client_hello_binder_prefix_length(S3_CH)


# --- Properties ---------------------------------------------------------------


@given(handshake_messages)
def test_random_messages_round_trip(msg: HandshakeMessage) -> None:
    data = msg.encode()
    assert int.from_bytes(data[1:4], "big") == len(data) - 4
    decoded = decode_full(data)
    assert decoded == msg
    assert decoded.encode() == data


@given(client_hellos)
def test_binder_prefix_ends_right_before_the_binders_list(ch: ClientHello) -> None:
    data = ch.encode()
    psk = ch.extensions[-1] if ch.extensions else None
    if not isinstance(psk, PreSharedKey):
        with pytest.raises(DecodeError):
            client_hello_binder_prefix_length(data)
        return
    n = client_hello_binder_prefix_length(data)
    binders_len = sum(1 + len(b) for b in psk.binders)
    assert n == len(data) - 2 - binders_len
    assert int.from_bytes(data[n : n + 2], "big") == binders_len


def _check_only_tls_errors(msg_type: int, body: bytes) -> None:
    try:
        msg = decode_handshake(msg_type, body)
    except TLSError:
        return
    # Whatever decodes must re-decode to itself after encoding.
    again = decode_full(msg.encode())
    assert again == msg
    # And re-encode byte for byte, except that an empty hello extensions
    # block and an absent one both decode to ().
    if not (isinstance(msg, ClientHello | ServerHello | HelloRetryRequest) and not msg.extensions):
        assert msg.encode()[4:] == body


@given(st.integers(0, 255), st.binary(max_size=300))
def test_random_bytes_raise_only_tls_errors(msg_type: int, body: bytes) -> None:
    _check_only_tls_errors(msg_type, body)


@settings(max_examples=500)
@given(st.sampled_from(VECTOR_MESSAGES), st.data())
def test_mutated_vectors_raise_only_tls_errors(vector: tuple[str, bytes], data: Any) -> None:
    _, full = vector
    body = bytearray(full[4:])
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert"]))
    if kind == "truncate":
        body = body[: data.draw(st.integers(0, len(body)))]
    elif kind == "flip" and body:
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    else:
        i = data.draw(st.integers(0, len(body)))
        body[i:i] = data.draw(st.binary(min_size=1, max_size=3))
    _check_only_tls_errors(full[0], bytes(body))


def test_decoders_build_every_field_of_their_message() -> None:
    # The decoders' constructors take exactly the dataclass fields, so a field
    # added later cannot be left unset on the decode path.
    import dataclasses
    import inspect

    from puretls.messages import handshake

    makers = [v for k, v in vars(handshake).items() if k.startswith("_new_") and callable(v)]
    assert len(makers) >= 13
    for maker in makers:
        built = maker.__globals__["_cls"]
        fields = [f.name for f in dataclasses.fields(built)]
        assert list(inspect.signature(maker).parameters) == fields
