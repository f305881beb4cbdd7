"""Record protection against RFC 8448 and the Illustrated TLS 1.3 records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from puretls.crypto.suites import SUITES, CipherSuiteInfo
from puretls.enums import AlertDescription, CipherSuite, ContentType
from puretls.errors import (
    BadRecordMac,
    InternalError,
    RecordOverflow,
    TLSError,
    UnexpectedMessage,
)
from puretls.record.deframer import Record, RecordDeframer
from puretls.record.protection import (
    MAX_SEQ,
    NullProtection,
    TLS12AEADProtection,
    TLS13Protection,
)

VECTORS = Path(__file__).parent / "vectors"
RFC8448_FILES = (
    "rfc8448_section3_simple_1rtt.json",
    "rfc8448_section4_resumed_0rtt.json",
    "rfc8448_section5_hello_retry_request.json",
    "rfc8448_section6_client_authentication.json",
    "rfc8448_section7_compatibility_mode.json",
)
AES128 = SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
AES256 = SUITES[CipherSuite.TLS_AES_256_GCM_SHA384]
CHACHA = SUITES[CipherSuite.TLS_CHACHA20_POLY1305_SHA256]
TLS12_GCM = SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
TLS12_CHACHA = SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def _protected_cases() -> list[Any]:
    """(suite, key, iv, seq, record, inner type, payload) for every protected record."""
    cases = []
    for name in (*RFC8448_FILES, "illustrated_tls13.json"):
        vec = _load(name)
        suite = SUITES[int(vec["cipher_suite_code"], 16)]
        for i, rec in enumerate(vec["records"]):
            if rec["protection"] == "plaintext":
                continue
            keys = vec["traffic_keys"][rec["protection"]]
            if "payload" in rec:
                payload = bytes.fromhex(rec["payload"])
            else:  # Illustrated TLS 1.3: inner_plaintext ends with the type byte
                payload = bytes.fromhex(rec["inner_plaintext"])[:-1]
            case = (
                suite,
                bytes.fromhex(keys["key"]),
                bytes.fromhex(keys["iv"]),
                rec["sequence_number"],
                bytes.fromhex(rec["record"]),
                rec["inner_content_type"],
                payload,
            )
            cases.append(pytest.param(*case, id=f"{name[:-5]}-{i}"))
    return cases


def _plaintext_cases() -> list[Any]:
    cases = []
    for name in RFC8448_FILES:
        for i, rec in enumerate(_load(name)["records"]):
            if rec["protection"] == "plaintext":
                wire = bytes.fromhex(rec["record"])
                cases.append(pytest.param(wire, bytes.fromhex(rec["payload"]), id=f"{name}-{i}"))
    return cases


def _deframe(wire: bytes) -> Record:
    deframer = RecordDeframer()
    deframer.feed(wire)
    rec = deframer.next_record()
    assert rec is not None
    assert deframer.buffered == 0
    return rec


def _header(content_type: int, length: int, version: int = 0x0303) -> bytes:
    return bytes((content_type, version >> 8, version & 0xFF)) + length.to_bytes(2, "big")


def _raw_tls13(suite: CipherSuiteInfo, key: bytes, iv: bytes, seq: int, inner: bytes) -> Record:
    """A TLS 1.3 record built with cryptography directly, for any inner plaintext."""
    header = _header(23, len(inner) + 16)
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
    fragment = suite.aead(key).encrypt(nonce, inner, header)
    return Record(content_type=23, legacy_version=0x0303, fragment=fragment, header=header)


KEY16 = bytes(range(16))
KEY32 = bytes(range(32))
IV12 = bytes(range(100, 112))


# -- TLS 1.3: byte-exact against the published records ----------------------


@pytest.mark.parametrize(
    ("suite", "key", "iv", "seq", "wire", "inner_type", "payload"), _protected_cases()
)
def test_tls13_open_recovers_vector_payload(
    suite: CipherSuiteInfo,
    key: bytes,
    iv: bytes,
    seq: int,
    wire: bytes,
    inner_type: int,
    payload: bytes,
) -> None:
    protection = TLS13Protection(suite, key, iv)
    protection.seq = seq
    assert protection.open(_deframe(wire)) == (inner_type, payload)
    assert protection.seq == seq + 1


@pytest.mark.parametrize(
    ("suite", "key", "iv", "seq", "wire", "inner_type", "payload"), _protected_cases()
)
def test_tls13_seal_reproduces_vector_record(
    suite: CipherSuiteInfo,
    key: bytes,
    iv: bytes,
    seq: int,
    wire: bytes,
    inner_type: int,
    payload: bytes,
) -> None:
    protection = TLS13Protection(suite, key, iv)
    protection.seq = seq
    assert protection.seal(inner_type, payload) == wire


def test_tls13_sequence_of_server_records_opens_in_order() -> None:
    vec = _load("rfc8448_section4_resumed_0rtt.json")
    keys = vec["traffic_keys"]["client_early"]
    protection = TLS13Protection(AES128, bytes.fromhex(keys["key"]), bytes.fromhex(keys["iv"]))
    early = [r for r in vec["records"] if r["protection"] == "client_early"]
    opened = [protection.open(_deframe(bytes.fromhex(r["record"]))) for r in early]
    assert opened == [(r["inner_content_type"], bytes.fromhex(r["payload"])) for r in early]


@pytest.mark.parametrize(("wire", "payload"), _plaintext_cases())
def test_null_protection_matches_plaintext_vector_records(wire: bytes, payload: bytes) -> None:
    rec = _deframe(wire)
    assert NullProtection().open(rec) == (wire[0], payload)
    # The first ClientHello carries legacy_record_version 0x0301 (RFC 8446 5.1).
    assert NullProtection(legacy_version=rec.legacy_version).seal(wire[0], payload) == wire


# -- TLS 1.3: failures -------------------------------------------------------


@pytest.mark.parametrize("suite", [AES128, CHACHA], ids=["aes128gcm", "chacha20"])
def test_tls13_round_trip(suite: CipherSuiteInfo) -> None:
    key = KEY16 if suite.key_length == 16 else KEY32
    sender, receiver = TLS13Protection(suite, key, IV12), TLS13Protection(suite, key, IV12)
    for i, data in enumerate((b"hello", b"", bytes(2**14), b"\x00\x00")):
        wire = sender.seal(ContentType.application_data, data)
        assert receiver.open(_deframe(wire)) == (ContentType.application_data, data)
        assert sender.seq == receiver.seq == i + 1


def test_chacha20_matches_direct_aead_computation() -> None:
    inner = b"ping" + bytes((ContentType.application_data,))
    expected = _raw_tls13(CHACHA, KEY32, IV12, 7, inner)
    protection = TLS13Protection(CHACHA, KEY32, IV12)
    protection.seq = 7
    assert protection.seal(ContentType.application_data, b"ping") == expected.header + (
        expected.fragment
    )


@pytest.mark.parametrize("suite", [AES128, CHACHA], ids=["aes128gcm", "chacha20"])
def test_tls13_any_flipped_bit_is_bad_record_mac(suite: CipherSuiteInfo) -> None:
    key = KEY16 if suite.key_length == 16 else KEY32
    wire = TLS13Protection(suite, key, IV12).seal(ContentType.handshake, b"\x14\x00\x00\x01x")
    for pos in range(3, len(wire)):  # every length, ciphertext and tag byte
        if pos in (3, 4):
            continue  # the length bytes change the framing, tested below
        tampered = bytearray(wire)
        tampered[pos] ^= 0x01
        with pytest.raises(BadRecordMac) as info:
            TLS13Protection(suite, key, IV12).open(_deframe(bytes(tampered)))
        assert info.value.alert == AlertDescription.bad_record_mac


def test_tls13_header_is_authenticated() -> None:
    wire = TLS13Protection(AES128, KEY16, IV12).seal(ContentType.handshake, b"abc")
    rec = _deframe(wire)
    other = Record(
        content_type=23,
        legacy_version=0x0301,
        fragment=rec.fragment,
        header=b"\x17\x03\x01" + wire[3:5],
    )
    with pytest.raises(BadRecordMac):
        TLS13Protection(AES128, KEY16, IV12).open(other)


def test_tls13_wrong_sequence_number_fails_and_keeps_counter() -> None:
    wire = TLS13Protection(AES128, KEY16, IV12).seal(ContentType.application_data, b"x")
    receiver = TLS13Protection(AES128, KEY16, IV12)
    receiver.seq = 1
    with pytest.raises(BadRecordMac):
        receiver.open(_deframe(wire))
    assert receiver.seq == 1


def test_tls13_record_shorter_than_tag_is_bad_record_mac() -> None:
    rec = Record(content_type=23, legacy_version=0x0303, fragment=bytes(15), header=_header(23, 15))
    with pytest.raises(BadRecordMac):
        TLS13Protection(AES128, KEY16, IV12).open(rec)


def test_tls13_oversize_ciphertext_is_record_overflow() -> None:
    n = 2**14 + 257
    rec = Record(content_type=23, legacy_version=0x0303, fragment=bytes(n), header=_header(23, n))
    with pytest.raises(RecordOverflow) as info:
        TLS13Protection(AES128, KEY16, IV12).open(rec)
    assert info.value.alert == AlertDescription.record_overflow


def test_tls13_oversize_inner_plaintext_is_record_overflow() -> None:
    # 2^14 + 2 inner bytes: within the ciphertext limit, over the 2^14 + 1 one.
    rec = _raw_tls13(AES128, KEY16, IV12, 0, bytes(2**14) + b"\x17\x00")
    with pytest.raises(RecordOverflow):
        TLS13Protection(AES128, KEY16, IV12).open(rec)


def test_tls13_largest_inner_plaintext_is_accepted() -> None:
    rec = _raw_tls13(AES128, KEY16, IV12, 0, bytes(2**14) + b"\x17")
    assert TLS13Protection(AES128, KEY16, IV12).open(rec) == (23, bytes(2**14))


@pytest.mark.parametrize("inner", [b"", b"\x00", bytes(100)], ids=["empty", "one-zero", "zeros"])
def test_tls13_all_zero_inner_plaintext_is_unexpected_message(inner: bytes) -> None:
    rec = _raw_tls13(AES128, KEY16, IV12, 0, inner)
    with pytest.raises(UnexpectedMessage) as info:
        TLS13Protection(AES128, KEY16, IV12).open(rec)
    assert info.value.alert == AlertDescription.unexpected_message


@pytest.mark.parametrize("inner_type", [20, 24, 99])
def test_tls13_inner_type_other_than_alert_handshake_data_is_unexpected(inner_type: int) -> None:
    # RFC 8446 5: a protected change_cipher_spec is unexpected_message too.
    rec = _raw_tls13(AES128, KEY16, IV12, 0, b"\x01" + bytes((inner_type,)) + b"\x00")
    with pytest.raises(UnexpectedMessage):
        TLS13Protection(AES128, KEY16, IV12).open(rec)


def test_tls13_outer_type_other_than_application_data_is_unexpected() -> None:
    wire = bytearray(TLS13Protection(AES128, KEY16, IV12).seal(ContentType.handshake, b"abc"))
    wire[0] = ContentType.handshake
    with pytest.raises(UnexpectedMessage):
        TLS13Protection(AES128, KEY16, IV12).open(_deframe(bytes(wire)))


def test_tls13_padding_is_added_and_stripped() -> None:
    calls: list[tuple[int, int]] = []

    def pad(content_type: int, length: int) -> int:
        calls.append((content_type, length))
        return 10

    sender = TLS13Protection(AES128, KEY16, IV12, padding=pad)
    wire = sender.seal(ContentType.alert, b"\x01\x00")
    assert calls == [(ContentType.alert, 2)]
    assert len(wire) == 5 + 2 + 1 + 10 + 16
    assert TLS13Protection(AES128, KEY16, IV12).open(_deframe(wire)) == (21, b"\x01\x00")


def test_tls13_padding_never_exceeds_inner_plaintext_limit() -> None:
    sender = TLS13Protection(AES128, KEY16, IV12, padding=lambda _t, _n: 2**20)
    wire = sender.seal(ContentType.application_data, b"abc")
    assert len(wire) == 5 + 2**14 + 1 + 16
    assert TLS13Protection(AES128, KEY16, IV12).open(_deframe(wire)) == (23, b"abc")


def test_tls13_negative_padding_is_internal_error() -> None:
    sender = TLS13Protection(AES128, KEY16, IV12, padding=lambda _t, _n: -1)
    with pytest.raises(InternalError):
        sender.seal(ContentType.application_data, b"abc")


def test_tls13_sequence_number_exhaustion_stops_sealing() -> None:
    sender = TLS13Protection(AES128, KEY16, IV12)
    sender.seq = MAX_SEQ
    sender.seal(ContentType.application_data, b"last")  # 2^64 - 1 itself is usable
    with pytest.raises(InternalError):
        sender.seal(ContentType.application_data, b"one too many")


def test_tls13_seal_rejects_more_than_one_record_of_data() -> None:
    with pytest.raises(InternalError):
        TLS13Protection(AES128, KEY16, IV12).seal(ContentType.application_data, bytes(2**14 + 1))


def test_protection_rejects_wrong_key_or_iv_length() -> None:
    with pytest.raises(ValueError):
        TLS13Protection(AES128, KEY32, IV12)
    with pytest.raises(ValueError):
        TLS13Protection(AES128, KEY16, IV12[:8])
    with pytest.raises(ValueError):
        TLS12AEADProtection(TLS12_GCM, KEY16, IV12)


def test_protection_repr_hides_key_material() -> None:
    text = repr(TLS13Protection(AES256, KEY32, IV12))
    assert "TLS_AES_256_GCM_SHA384" in text
    assert KEY32.hex() not in text and IV12.hex() not in text


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=0xFFFF))
def test_tls13_open_of_arbitrary_fragment_raises_only_tls_errors(
    fragment: bytes, version: int
) -> None:
    header = bytes((23, version >> 8, version & 0xFF)) + len(fragment).to_bytes(2, "big")
    rec = Record(content_type=23, legacy_version=version, fragment=fragment, header=header)
    with pytest.raises(TLSError):
        TLS13Protection(AES128, KEY16, IV12).open(rec)


# -- TLS 1.2 AEAD ------------------------------------------------------------


SALT4 = b"\xaa\xbb\xcc\xdd"


def test_tls12_gcm_matches_direct_aead_computation() -> None:
    seq, data = 5, b"GET / HTTP/1.1\r\n\r\n"
    explicit = seq.to_bytes(8, "big")
    aad = explicit + _header(23, len(data))
    sealed = AESGCM(KEY16).encrypt(SALT4 + explicit, data, aad)
    expected = _header(23, 8 + len(sealed)) + explicit + sealed
    protection = TLS12AEADProtection(TLS12_GCM, KEY16, SALT4)
    protection.seq = seq
    assert protection.seal(ContentType.application_data, data) == expected


def test_tls12_chacha20_matches_direct_aead_computation() -> None:
    seq, data = 3, b"\x14\x00\x00\x0c" + bytes(12)
    nonce = (int.from_bytes(IV12, "big") ^ seq).to_bytes(12, "big")
    aad = seq.to_bytes(8, "big") + _header(22, len(data))
    sealed = ChaCha20Poly1305(KEY32).encrypt(nonce, data, aad)
    protection = TLS12AEADProtection(TLS12_CHACHA, KEY32, IV12)
    protection.seq = seq
    assert protection.seal(ContentType.handshake, data) == _header(22, len(sealed)) + sealed


@pytest.mark.parametrize(
    ("suite", "key", "iv"),
    [(TLS12_GCM, KEY16, SALT4), (TLS12_CHACHA, KEY32, IV12)],
    ids=["gcm", "chacha20"],
)
def test_tls12_round_trip_keeps_outer_content_type(
    suite: CipherSuiteInfo, key: bytes, iv: bytes
) -> None:
    sender, receiver = TLS12AEADProtection(suite, key, iv), TLS12AEADProtection(suite, key, iv)
    for content_type, data in (
        (22, b"\x14\x00\x00\x00"),
        (23, b"data"),
        (21, b"\x01\x00"),
        (23, b""),
    ):
        wire = sender.seal(content_type, data)
        assert wire[0] == content_type
        assert receiver.open(_deframe(wire)) == (content_type, data)
    assert receiver.seq == 4


@pytest.mark.parametrize(
    ("suite", "key", "iv"),
    [(TLS12_GCM, KEY16, SALT4), (TLS12_CHACHA, KEY32, IV12)],
    ids=["gcm", "chacha20"],
)
def test_tls12_tampering_is_bad_record_mac(suite: CipherSuiteInfo, key: bytes, iv: bytes) -> None:
    wire = TLS12AEADProtection(suite, key, iv).seal(23, b"secret")
    for pos in [0, 2, *range(5, len(wire))]:
        tampered = bytearray(wire)
        tampered[pos] ^= 0x02  # 23 -> 21 at pos 0: the type is in the AAD
        with pytest.raises(BadRecordMac):
            TLS12AEADProtection(suite, key, iv).open(_deframe(bytes(tampered)))


def test_tls12_short_record_is_bad_record_mac() -> None:
    rec = Record(content_type=23, legacy_version=0x0303, fragment=bytes(23), header=_header(23, 23))
    with pytest.raises(BadRecordMac):
        TLS12AEADProtection(TLS12_GCM, KEY16, SALT4).open(rec)


def test_tls12_oversize_plaintext_is_record_overflow() -> None:
    n = 8 + 2**14 + 1 + 16
    rec = Record(content_type=23, legacy_version=0x0303, fragment=bytes(n), header=_header(23, n))
    with pytest.raises(RecordOverflow):
        TLS12AEADProtection(TLS12_GCM, KEY16, SALT4).open(rec)
    n = 2**14 + 2049
    rec = Record(content_type=23, legacy_version=0x0303, fragment=bytes(n), header=_header(23, n))
    with pytest.raises(RecordOverflow):
        TLS12AEADProtection(TLS12_GCM, KEY16, SALT4).open(rec)


def test_tls12_change_cipher_spec_under_protection_is_unexpected() -> None:
    rec = Record(content_type=20, legacy_version=0x0303, fragment=b"\x01", header=_header(20, 1))
    with pytest.raises(UnexpectedMessage):
        TLS12AEADProtection(TLS12_GCM, KEY16, SALT4).open(rec)


def test_null_protection_seal_refuses_oversize_data() -> None:
    with pytest.raises(InternalError):
        NullProtection().seal(22, bytes(2**14 + 1))
