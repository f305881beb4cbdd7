"""RecordLayer: the record layer as a connection drives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.crypto.suites import SUITES
from puretls.enums import AlertDescription, CipherSuite, ContentType
from puretls.errors import BadRecordMac, DecodeError, TLSError, UnexpectedMessage
from puretls.record.deframer import MAX_TLS12_CIPHERTEXT_LENGTH
from puretls.record.layer import RecordLayer
from puretls.record.protection import NullProtection, TLS12AEADProtection, TLS13Protection

VECTORS = Path(__file__).parent / "vectors"
AES128 = SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
TLS12_GCM = SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
KEY = bytes(range(16))
IV = bytes(range(12))
OTHER_KEY = bytes(range(1, 17))
HS, APP, CCS, ALERT = (
    ContentType.handshake,
    ContentType.application_data,
    ContentType.change_cipher_spec,
    ContentType.alert,
)


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def _protection(vec: dict[str, Any], which: str) -> TLS13Protection:
    keys = vec["traffic_keys"][which]
    return TLS13Protection(AES128, bytes.fromhex(keys["key"]), bytes.fromhex(keys["iv"]))


def _wire(vec: dict[str, Any], description: str, sender: str) -> bytes:
    for rec in vec["records"]:
        if rec["description"].startswith(description) and rec["sender"] == sender:
            return bytes.fromhex(rec["record"])
    raise KeyError(description)


def _payload(vec: dict[str, Any], description: str, sender: str) -> bytes:
    for rec in vec["records"]:
        if rec["description"].startswith(description) and rec["sender"] == sender:
            return bytes.fromhex(rec["payload"])
    raise KeyError(description)


def _plain(content_type: int, body: bytes) -> bytes:
    return bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body


def _drain(layer: RecordLayer) -> list[tuple[int, bytes]]:
    out = []
    while (item := layer.read()) is not None:
        out.append(item)
    return out


def _pair() -> tuple[RecordLayer, RecordLayer]:
    sender, receiver = RecordLayer(), RecordLayer()
    sender.set_write_protection(TLS13Protection(AES128, KEY, IV))
    receiver.set_read_protection(TLS13Protection(AES128, KEY, IV))
    return sender, receiver


# -- replaying RFC 8448 ------------------------------------------------------


def test_client_reads_compatibility_mode_server_flight_switching_keys_between_records() -> None:
    vec = _load("rfc8448_section7_compatibility_mode.json")
    flight = (
        _wire(vec, "ServerHello", "server")
        + _wire(vec, "change_cipher_spec", "server")
        + _wire(vec, "EncryptedExtensions", "server")
    )
    layer = RecordLayer()
    layer.feed(flight)
    assert layer.read() == (HS, _payload(vec, "ServerHello", "server"))
    assert layer.read() == (CCS, b"\x01")
    layer.set_read_protection(_protection(vec, "server_handshake"))
    assert layer.read() == (HS, _payload(vec, "EncryptedExtensions", "server"))
    assert layer.read() is None
    assert layer.records_read == 1


def test_client_writes_compatibility_mode_records_byte_exact() -> None:
    vec = _load("rfc8448_section7_compatibility_mode.json")
    layer = RecordLayer()
    layer.set_write_protection(NullProtection(legacy_version=0x0301))
    assert layer.write(HS, _payload(vec, "ClientHello", "client")) == _wire(
        vec, "ClientHello", "client"
    )
    layer.set_write_protection(_protection(vec, "client_handshake"))
    # RFC 8446 D.4: the dummy change_cipher_spec is plaintext even now.
    assert layer.write(CCS, b"\x01") == _wire(vec, "change_cipher_spec", "client")
    assert layer.write(HS, _payload(vec, "Finished", "client")) == _wire(vec, "Finished", "client")
    assert layer.records_written == 1


def test_server_reads_records_fed_byte_by_byte() -> None:
    vec = _load("rfc8448_section3_simple_1rtt.json")
    stream = _wire(vec, "ClientHello", "client") + _wire(vec, "Finished", "client")
    layer = RecordLayer()
    out: list[tuple[int, bytes]] = []
    for i in range(len(stream)):
        layer.feed(stream[i : i + 1])
        item = layer.read()
        if item is not None:
            out.append(item)
            if item[1][0] == 1:  # ClientHello read: the handshake key follows
                layer.set_read_protection(_protection(vec, "client_handshake"))
    assert out == [
        (HS, _payload(vec, "ClientHello", "client")),
        (HS, _payload(vec, "Finished", "client")),
    ]
    assert layer.buffered == 0


# -- early data skipping (RFC 8446 4.2.10) -----------------------------------


def _rejecting_server(budget: int) -> tuple[RecordLayer, dict[str, Any]]:
    """A server that read the 0-RTT ClientHello of RFC 8448 section 4, then rejected 0-RTT."""
    vec = _load("rfc8448_section4_resumed_0rtt.json")
    layer = RecordLayer()
    layer.feed(_wire(vec, "ClientHello", "client"))
    assert layer.read() is not None
    layer.set_read_protection(_protection(vec, "client_handshake"))
    layer.skip_early_data(budget)
    return layer, vec


def test_rejected_early_data_is_skipped_until_a_record_decrypts() -> None:
    layer, vec = _rejecting_server(budget=100)
    layer.feed(_wire(vec, "0-RTT", "client") + _wire(vec, "Finished", "client"))
    assert layer.skipping_early_data
    assert layer.read() == (HS, _payload(vec, "Finished", "client"))
    assert not layer.skipping_early_data
    # The 0-RTT record carried "ABCDEF": its payload is what is charged.
    assert layer.early_data_skipped == 6


def test_skipping_more_than_the_budget_is_bad_record_mac() -> None:
    layer, vec = _rejecting_server(budget=5)
    layer.feed(_wire(vec, "0-RTT", "client"))
    with pytest.raises(BadRecordMac, match="too much early data") as info:
        layer.read()
    assert info.value.alert == AlertDescription.bad_record_mac


def test_budget_is_spent_across_records() -> None:
    layer, vec = _rejecting_server(budget=11)
    layer.feed(_wire(vec, "0-RTT", "client"))
    assert layer.read() is None  # 6 of 11
    layer.feed(_wire(vec, "0-RTT", "client"))
    with pytest.raises(BadRecordMac):
        layer.read()  # 12 of 11


def test_after_skipping_ends_a_bad_record_is_fatal() -> None:
    layer, vec = _rejecting_server(budget=100)
    layer.feed(_wire(vec, "Finished", "client") + _wire(vec, "0-RTT", "client"))
    assert layer.read() is not None
    with pytest.raises(BadRecordMac):
        layer.read()


def test_stop_skipping_makes_undecryptable_records_fatal_again() -> None:
    layer, vec = _rejecting_server(budget=100)
    layer.stop_skipping_early_data()
    layer.feed(_wire(vec, "0-RTT", "client"))
    with pytest.raises(BadRecordMac):
        layer.read()


def test_after_hello_retry_request_application_data_records_are_dropped() -> None:
    # The server has no keys yet: every outer application_data record is
    # 0-RTT data for the abandoned first ClientHello.
    layer = RecordLayer()
    layer.skip_early_data(1000)
    early = TLS13Protection(AES128, KEY, IV).seal(APP, b"early bird")
    layer.feed(early + _plain(CCS, b"\x01") + early + _plain(HS, b"\x01\x00\x00\x00"))
    assert _drain(layer) == [(CCS, b"\x01"), (HS, b"\x01\x00\x00\x00")]
    assert layer.early_data_skipped == 20
    assert layer.skipping_early_data  # still on: more 0-RTT may follow


def test_after_hello_retry_request_budget_is_enforced() -> None:
    layer = RecordLayer()
    layer.skip_early_data(15)
    early = TLS13Protection(AES128, KEY, IV).seal(APP, b"early bird")
    layer.feed(early + early)
    with pytest.raises(BadRecordMac):
        _drain(layer)


# -- unprotected records -----------------------------------------------------


def test_plaintext_records_pass_through_with_their_type() -> None:
    layer = RecordLayer()
    layer.feed(_plain(HS, b"\x02\x00\x00\x00") + _plain(CCS, b"\x01") + _plain(ALERT, b"\x02\x28"))
    assert _drain(layer) == [(HS, b"\x02\x00\x00\x00"), (CCS, b"\x01"), (ALERT, b"\x02\x28")]


def test_plaintext_application_data_is_unexpected_message() -> None:
    layer = RecordLayer()
    layer.feed(_plain(APP, b"hi"))
    with pytest.raises(UnexpectedMessage):
        layer.read()


def test_zero_length_plaintext_handshake_record_is_unexpected_message() -> None:
    layer = RecordLayer()
    layer.feed(_plain(HS, b""))
    with pytest.raises(UnexpectedMessage):
        layer.read()


def test_http_request_to_tls_port_is_decode_error() -> None:
    layer = RecordLayer()
    layer.feed(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(DecodeError, match="not a TLS record"):
        layer.read()


# -- protected records -------------------------------------------------------


def test_large_write_is_fragmented_and_read_back() -> None:
    sender, receiver = _pair()
    data = bytes(range(256)) * 200  # 51200 bytes: four records
    wire = sender.write(APP, data)
    assert sender.records_written == 4
    receiver.feed(wire)
    out = _drain(receiver)
    assert [len(d) for _, d in out] == [2**14, 2**14, 2**14, 51200 - 3 * 2**14]
    assert b"".join(d for _, d in out) == data
    assert receiver.records_read == 4


def test_max_fragment_length_limits_records() -> None:
    sender, receiver = _pair()
    sender.max_fragment_length = 100
    receiver.feed(sender.write(HS, bytes(250)))
    assert [len(d) for _, d in _drain(receiver)] == [100, 100, 50]


def test_empty_write_sends_nothing() -> None:
    sender, _ = _pair()
    assert sender.write(APP, b"") == b""
    assert sender.write_protection.seq == 0


def test_counters_reset_when_protection_changes() -> None:
    sender, receiver = _pair()
    receiver.feed(sender.write(APP, b"a") + sender.write(APP, b"b"))
    _drain(receiver)
    assert (sender.records_written, receiver.records_read) == (2, 2)
    sender.set_write_protection(TLS13Protection(AES128, OTHER_KEY, IV))
    receiver.set_read_protection(TLS13Protection(AES128, OTHER_KEY, IV))
    assert (sender.records_written, receiver.records_read) == (0, 0)
    receiver.feed(sender.write(APP, b"c"))
    assert receiver.read() == (APP, b"c")
    assert receiver.read_protection.seq == 1


def test_unprotected_change_cipher_spec_passes_through_under_tls13_keys() -> None:
    sender, receiver = _pair()
    receiver.feed(_plain(CCS, b"\x01") + sender.write(HS, b"\x14\x00\x00\x00"))
    assert _drain(receiver) == [(CCS, b"\x01"), (HS, b"\x14\x00\x00\x00")]
    assert receiver.read_protection.seq == 1


def test_unprotected_handshake_under_tls13_keys_is_unexpected() -> None:
    _, receiver = _pair()
    receiver.feed(_plain(HS, b"\x01\x00"))
    with pytest.raises(UnexpectedMessage):
        receiver.read()


def test_clear_alert_before_any_protected_record_passes_through() -> None:
    # A peer that failed on our ServerHello has no keys to protect its alert.
    _, receiver = _pair()
    receiver.feed(_plain(ALERT, b"\x02\x28"))
    assert receiver.read() == (ALERT, b"\x02\x28")


def test_clear_alert_after_a_protected_record_is_unexpected() -> None:
    sender, receiver = _pair()
    receiver.feed(sender.write(APP, b"x") + _plain(ALERT, b"\x02\x28"))
    assert receiver.read() == (APP, b"x")
    with pytest.raises(UnexpectedMessage):
        receiver.read()


def test_empty_clear_change_cipher_spec_under_tls13_keys_is_unexpected_message() -> None:
    _, receiver = _pair()
    receiver.feed(_plain(CCS, b""))
    with pytest.raises(UnexpectedMessage):
        receiver.read()


def test_empty_clear_alert_under_tls13_keys_is_decode_error() -> None:
    _, receiver = _pair()
    receiver.feed(_plain(ALERT, b""))
    with pytest.raises(DecodeError):
        receiver.read()


def test_clear_records_under_tls13_keys_do_not_alias_the_fed_buffer() -> None:
    _, receiver = _pair()
    buffer = bytearray(_plain(CCS, b"\x01") + _plain(ALERT, b"\x02\x28"))
    receiver.feed(buffer)
    items = _drain(receiver)
    buffer[:] = bytes(len(buffer))  # the caller reuses its buffer
    assert items == [(CCS, b"\x01"), (ALERT, b"\x02\x28")]
    assert all(type(content) is bytes for _, content in items)


def test_protected_zero_length_handshake_is_unexpected_message() -> None:
    _, receiver = _pair()
    receiver.feed(TLS13Protection(AES128, KEY, IV).seal(HS, b""))
    with pytest.raises(UnexpectedMessage):
        receiver.read()


def test_protected_zero_length_application_data_is_delivered() -> None:
    _, receiver = _pair()
    receiver.feed(TLS13Protection(AES128, KEY, IV).seal(APP, b""))
    assert receiver.read() == (APP, b"")


def test_tampered_record_is_bad_record_mac() -> None:
    sender, receiver = _pair()
    wire = bytearray(sender.write(APP, b"payload"))
    wire[-1] ^= 0x80
    receiver.feed(bytes(wire))
    with pytest.raises(BadRecordMac):
        receiver.read()


def test_tls12_layer_round_trip_with_larger_record_limit() -> None:
    sender, receiver = RecordLayer(), RecordLayer()
    receiver.max_record_length = MAX_TLS12_CIPHERTEXT_LENGTH
    assert receiver.max_record_length == MAX_TLS12_CIPHERTEXT_LENGTH
    sender.set_write_protection(TLS12AEADProtection(TLS12_GCM, KEY, IV[:4]))
    receiver.set_read_protection(TLS12AEADProtection(TLS12_GCM, KEY, IV[:4]))
    receiver.feed(sender.write(HS, b"\x14\x00\x00\x0c" + bytes(12)) + sender.write(APP, b"x"))
    assert _drain(receiver) == [(HS, b"\x14\x00\x00\x0c" + bytes(12)), (APP, b"x")]


def test_tls12_change_cipher_spec_under_keys_is_unexpected() -> None:
    receiver = RecordLayer()
    receiver.set_read_protection(TLS12AEADProtection(TLS12_GCM, KEY, IV[:4]))
    receiver.feed(_plain(CCS, b"\x01"))
    with pytest.raises(UnexpectedMessage):
        receiver.read()


# Mostly well-framed records of any type and content, so that the checks
# past the header are reached, mixed with raw garbage.
_framed = st.builds(
    lambda t, b: bytes((t, 3, 3)) + len(b).to_bytes(2, "big") + b,
    st.integers(19, 24),
    st.binary(max_size=60),
)


@given(st.lists(_framed | st.binary(max_size=60), max_size=10), st.booleans(), st.booleans())
def test_arbitrary_input_raises_only_tls_errors(
    chunks: list[bytes], protected: bool, skipping: bool
) -> None:
    layer = RecordLayer()
    if protected:
        layer.set_read_protection(TLS13Protection(AES128, KEY, IV))
    if skipping:
        layer.skip_early_data(100)
    try:
        for chunk in chunks:
            layer.feed(chunk)
            _drain(layer)
    except TLSError:
        pass


# -- coalescing reads (the bulk receive path) --------------------------------


def _read_all(receiver: RecordLayer, coalesce: bool = True) -> list[tuple[int, bytes]]:
    out = []
    while (item := receiver.read(coalesce)) is not None:
        out.append(item)
    return out


def test_coalescing_read_joins_a_run_of_application_data_records() -> None:
    sender, receiver = _pair()
    data = bytes(range(256)) * 200  # four records
    receiver.feed(sender.write(APP, data))
    assert _read_all(receiver) == [(APP, data)]
    assert receiver.records_read == 4


def test_coalescing_read_stops_at_other_record_types_and_keeps_the_order() -> None:
    sender, receiver = _pair()
    wire = (
        sender.write(APP, b"one")
        + sender.write(APP, b"two")
        + sender.write(HS, b"\x18\x00\x00\x01\x00")  # a KeyUpdate, say
        + sender.write(APP, b"three")
        + sender.write(ALERT, b"\x01\x00")
    )
    receiver.feed(wire)
    assert _read_all(receiver) == [
        (APP, b"onetwo"),
        (HS, b"\x18\x00\x00\x01\x00"),
        (APP, b"three"),
        (ALERT, b"\x01\x00"),
    ]


def test_coalescing_read_strips_padding_and_keeps_empty_records() -> None:
    sender, receiver = _pair()
    sender.set_write_protection(TLS13Protection(AES128, KEY, IV, padding=lambda _t, _n: 7))
    receiver.feed(sender.write(APP, b"pad") + sender.write(APP, b"") + sender.write(APP, b"ded"))
    assert _read_all(receiver) == [(APP, b"padded")]
    # A run of nothing but empty records still reads as one empty item.
    _, alone = _pair()
    alone.feed(TLS13Protection(AES128, KEY, IV).seal(APP, b""))
    assert _read_all(alone) == [(APP, b"")]


def test_coalescing_read_delivers_data_before_a_bad_record_then_raises() -> None:
    sender, receiver = _pair()
    good = sender.write(APP, b"good")
    bad = bytearray(sender.write(APP, b"bad"))
    bad[-1] ^= 1
    receiver.feed(good + bytes(bad))
    assert receiver.read(coalesce=True) == (APP, b"good")
    with pytest.raises(BadRecordMac):
        receiver.read(coalesce=True)


def test_coalescing_read_reads_in_place_from_a_reused_buffer() -> None:
    sender, receiver = _pair()
    wire = sender.write(APP, bytes(range(256)) * 100)  # two records
    buffer = bytearray(wire[:20000])
    receiver.feed(buffer)
    first = receiver.read(coalesce=True)
    receiver.settle()
    buffer[:] = bytes(len(buffer))
    receiver.feed(wire[20000:])
    second = receiver.read(coalesce=True)
    assert first is not None and second is not None
    assert first[1] + second[1] == bytes(range(256)) * 100


def test_coalescing_is_off_while_traced() -> None:
    sender, receiver = _pair()
    seen: list[object] = []
    receiver.observer = lambda *args: seen.append(args)
    receiver.feed(sender.write(APP, b"a") + sender.write(APP, b"b"))
    assert _read_all(receiver) == [(APP, b"a"), (APP, b"b")]
    assert len(seen) == 2
