"""TLS 1.2 handshake message codecs: byte-exact vectors, round trips, fuzz."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.errors import DecodeError, TLSError, UnexpectedMessage
from puretls.messages import (
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    CertificateVerify,
    ClientKeyExchange,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
    decode_handshake,
    decode_handshake12,
)

VECTORS = Path(__file__).parent / "vectors"
u16 = st.integers(0, 0xFFFF)


def _vector(name: str) -> bytes:
    data = json.loads((VECTORS / "illustrated_tls12.json").read_text())
    return bytes.fromhex(data["handshake_messages"][name])


def test_illustrated_server_key_exchange_fields() -> None:
    raw = _vector("server_key_exchange")
    ske = decode_handshake12(raw[0], raw[4:])
    assert isinstance(ske, ServerKeyExchange)
    assert ske.named_group == 0x001D  # x25519
    assert ske.algorithm == 0x0401  # rsa_pkcs1_sha256
    assert ske.params().hex() == (
        "03001d209fd7ad6dcff4298dd3f96d5b1b2af910a0535b1488d7f8fabb349a982880b615"
    )
    assert ske.encode() == raw


def test_illustrated_client_key_exchange_is_an_ecdh_point() -> None:
    raw = _vector("client_key_exchange")
    cke = decode_handshake12(raw[0], raw[4:])
    assert isinstance(cke, ClientKeyExchange)
    assert cke.ecdh_public().hex().startswith("358072d6")
    assert ClientKeyExchange.for_ecdhe(cke.ecdh_public()).encode() == raw


def test_illustrated_certificate_and_done() -> None:
    raw = _vector("certificate")
    cert = decode_handshake12(raw[0], raw[4:])
    assert isinstance(cert, Certificate12) and len(cert.certificate_list) == 1
    assert decode_handshake12(14, b"") == ServerHelloDone()
    assert ServerHelloDone().encode() == bytes.fromhex("0e000000")
    assert HelloRequest().encode() == bytes.fromhex("00000000")


def test_tls12_only_types_are_unexpected_in_tls13() -> None:
    for msg_type in (0, 12, 14, 16, 22):
        with pytest.raises(UnexpectedMessage):
            decode_handshake(msg_type, b"")


def test_tls13_only_types_are_unexpected_in_tls12() -> None:
    for msg_type in (5, 8, 24):
        with pytest.raises(UnexpectedMessage):
            decode_handshake12(msg_type, b"")


def test_explicit_curve_server_key_exchange_is_refused() -> None:
    with pytest.raises(TLSError) as info:
        decode_handshake12(12, b"\x01" + bytes(10))
    assert info.value.alert.name == "illegal_parameter"


def test_rsa_client_key_exchange_round_trip_and_wrong_reading() -> None:
    cke = ClientKeyExchange.for_rsa(b"\xaa" * 256)
    assert cke.encrypted_pre_master() == b"\xaa" * 256
    with pytest.raises(DecodeError):
        cke.ecdh_public()
    with pytest.raises(DecodeError):
        decode_handshake12(16, b"")


def test_certificate_status_carries_ocsp_only() -> None:
    status = CertificateStatus(ocsp_response=b"\x30\x03\x0a\x01\x00")
    raw = status.encode()
    assert raw[4] == 1 and decode_handshake12(raw[0], raw[4:]) == status
    with pytest.raises(DecodeError):
        decode_handshake12(22, b"\x02" + raw[5:])


_blob = st.binary(min_size=1, max_size=40)
tls12_messages: st.SearchStrategy[HandshakeMessage] = st.one_of(
    st.builds(HelloRequest),
    st.builds(ServerHelloDone),
    st.builds(Certificate12, certificate_list=st.lists(_blob, max_size=3).map(tuple)),
    st.builds(
        ServerKeyExchange,
        named_group=u16,
        public=_blob,
        algorithm=u16,
        signature=st.binary(max_size=80),
    ),
    st.builds(ClientKeyExchange.for_ecdhe, _blob),
    st.builds(ClientKeyExchange.for_rsa, st.binary(max_size=300)),
    st.builds(
        CertificateRequest12,
        certificate_types=_blob,
        supported_signature_algorithms=st.lists(u16, min_size=1, max_size=10).map(tuple),
        certificate_authorities=st.binary(max_size=40),
    ),
    st.builds(NewSessionTicket12, ticket_lifetime_hint=st.integers(0, 2**32 - 1), ticket=_blob),
    st.builds(CertificateStatus, ocsp_response=_blob),
    st.builds(CertificateVerify, algorithm=u16, signature=st.binary(max_size=80)),
    st.builds(Finished, verify_data=st.binary(min_size=12, max_size=12)),
)


@given(tls12_messages)
def test_tls12_messages_round_trip_byte_exact(message: HandshakeMessage) -> None:
    raw = message.encode()
    decoded = decode_handshake12(raw[0], raw[4:])
    assert decoded == message
    assert decoded.encode() == raw


@given(st.integers(0, 30), st.binary(max_size=64))
def test_tls12_decoder_never_crashes_on_garbage(msg_type: int, body: bytes) -> None:
    try:
        message = decode_handshake12(msg_type, body)
    except TLSError:
        return
    assert message.encode()[4:] == body
