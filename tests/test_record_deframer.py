"""RecordDeframer and the plaintext record checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.enums import AlertDescription
from puretls.errors import DecodeError, RecordOverflow, TLSError, UnexpectedMessage
from puretls.record.deframer import (
    MAX_TLS12_CIPHERTEXT_LENGTH,
    MAX_TLS13_CIPHERTEXT_LENGTH,
    Record,
    RecordDeframer,
    check_plaintext_record,
)


def _record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    header = bytes((content_type, version >> 8, version & 0xFF))
    return header + len(body).to_bytes(2, "big") + body


def _drain(deframer: RecordDeframer) -> list[Record]:
    out = []
    while (rec := deframer.next_record()) is not None:
        out.append(rec)
    return out


STREAM = (
    _record(22, b"\x01\x00\x00\x00", version=0x0301)
    + _record(20, b"\x01")
    + _record(23, bytes(range(200)))
    + _record(21, b"\x02\x28")
)


def test_record_fields_come_from_the_header() -> None:
    deframer = RecordDeframer()
    deframer.feed(_record(22, b"hello", version=0x0301))
    rec = deframer.next_record()
    assert rec == Record(
        content_type=22, legacy_version=0x0301, fragment=b"hello", header=b"\x16\x03\x01\x00\x05"
    )


def test_records_split_byte_by_byte_come_out_whole() -> None:
    deframer = RecordDeframer()
    records: list[Record] = []
    for i in range(len(STREAM)):
        deframer.feed(STREAM[i : i + 1])
        records += _drain(deframer)
    assert [r.content_type for r in records] == [22, 20, 23, 21]
    assert b"".join(r.header + r.fragment for r in records) == STREAM
    assert deframer.buffered == 0


def test_many_records_in_one_feed() -> None:
    deframer = RecordDeframer()
    deframer.feed(STREAM * 3)
    assert len(_drain(deframer)) == 12
    assert deframer.buffered == 0


def test_incomplete_record_waits_and_counts_as_buffered() -> None:
    deframer = RecordDeframer()
    deframer.feed(STREAM[:12])
    assert [r.content_type for r in _drain(deframer)] == [22]
    assert deframer.buffered == 12 - 9
    deframer.feed(STREAM[12:])
    assert len(_drain(deframer)) == 3


def test_zero_length_record_is_framed() -> None:
    deframer = RecordDeframer()
    deframer.feed(_record(23, b""))
    rec = deframer.next_record()
    assert rec is not None and rec.fragment == b""


def test_long_stream_is_compacted_and_stays_correct() -> None:
    deframer = RecordDeframer()
    body = bytes(range(256)) * 64  # 16 KiB records push the offset past compaction
    for _ in range(20):
        deframer.feed(_record(23, body) + _record(23, body)[:7])
        recs = _drain(deframer)
        assert all(r.fragment == body for r in recs)
        deframer.feed(_record(23, body)[7:])
        assert [r.fragment for r in _drain(deframer)] == [body]
    assert deframer.buffered == 0


def test_length_above_limit_is_record_overflow_before_body_arrives() -> None:
    deframer = RecordDeframer()
    deframer.feed(b"\x17\x03\x03" + (MAX_TLS13_CIPHERTEXT_LENGTH + 1).to_bytes(2, "big"))
    with pytest.raises(RecordOverflow) as info:
        deframer.next_record()
    assert info.value.alert == AlertDescription.record_overflow


def test_limit_is_settable_for_tls12() -> None:
    deframer = RecordDeframer()
    deframer.max_record_length = MAX_TLS12_CIPHERTEXT_LENGTH
    body = bytes(MAX_TLS12_CIPHERTEXT_LENGTH)
    deframer.feed(_record(23, body))
    rec = deframer.next_record()
    assert rec is not None and len(rec.fragment) == MAX_TLS12_CIPHERTEXT_LENGTH


def test_length_at_limit_is_accepted() -> None:
    deframer = RecordDeframer()
    deframer.feed(_record(23, bytes(MAX_TLS13_CIPHERTEXT_LENGTH)))
    assert deframer.next_record() is not None


@pytest.mark.parametrize("content_type", [0, 19, 24, 25, 255])
def test_unknown_content_type_is_unexpected_message(content_type: int) -> None:
    deframer = RecordDeframer()
    deframer.feed(_record(content_type, b"x"))
    with pytest.raises(UnexpectedMessage):
        deframer.next_record()


def test_http_request_is_reported_as_not_tls() -> None:
    deframer = RecordDeframer()
    deframer.feed(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    with pytest.raises(DecodeError, match="not a TLS record") as info:
        deframer.next_record()
    assert "GET /" in str(info.value)
    assert "HTTP" in str(info.value)
    assert info.value.alert == AlertDescription.decode_error


def test_sslv2_hello_is_not_a_tls_record() -> None:
    deframer = RecordDeframer()
    deframer.feed(b"\x80\x2e\x01\x00\x02\x00\x15")
    with pytest.raises(DecodeError, match="not a TLS record"):
        deframer.next_record()


def test_wrong_major_version_with_known_type_is_decode_error() -> None:
    deframer = RecordDeframer()
    deframer.feed(_record(22, b"x", version=0x0203))
    with pytest.raises(DecodeError):
        deframer.next_record()


def test_short_header_waits() -> None:
    deframer = RecordDeframer()
    deframer.feed(b"\x16\x03\x03\x00")
    assert deframer.next_record() is None
    assert deframer.buffered == 4


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_arbitrary_bytes_raise_only_tls_errors(chunks: list[bytes]) -> None:
    deframer = RecordDeframer(max_record_length=64)
    try:
        for chunk in chunks:
            deframer.feed(chunk)
            for rec in _drain(deframer):
                assert len(rec.header) == 5
                assert len(rec.fragment) <= 64
    except TLSError:
        pass


@given(st.lists(st.tuples(st.sampled_from([20, 21, 22, 23]), st.binary(max_size=300))), st.data())
def test_any_split_of_valid_records_round_trips(
    records: list[tuple[int, bytes]], data: st.DataObject
) -> None:
    stream = b"".join(_record(t, b) for t, b in records)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    deframer = RecordDeframer()
    out: list[Record] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        deframer.feed(stream[start:end])
        out += _drain(deframer)
    assert [(r.content_type, r.fragment) for r in out] == records


# -- check_plaintext_record (RFC 8446 5.1) ----------------------------------


def _plain(content_type: int, fragment: bytes) -> Record:
    header = _record(content_type, fragment)[:5]
    return Record(
        content_type=content_type, legacy_version=0x0303, fragment=fragment, header=header
    )


@pytest.mark.parametrize("content_type", [20, 22], ids=["change_cipher_spec", "handshake"])
def test_zero_length_handshake_or_ccs_record_is_unexpected_message(content_type: int) -> None:
    with pytest.raises(UnexpectedMessage, match="zero-length"):
        check_plaintext_record(_plain(content_type, b""))


def test_zero_length_alert_record_is_decode_error() -> None:
    with pytest.raises(DecodeError):
        check_plaintext_record(_plain(21, b""))


def test_zero_length_application_data_is_allowed() -> None:
    check_plaintext_record(_plain(23, b""))


def test_plaintext_above_two_to_the_fourteen_is_record_overflow() -> None:
    check_plaintext_record(_plain(22, bytes(2**14)))
    with pytest.raises(RecordOverflow):
        check_plaintext_record(_plain(22, bytes(2**14 + 1)))


# -- reading in place from the fed buffer -------------------------------------


def test_settle_keeps_unread_records_after_the_caller_reuses_its_buffer() -> None:
    stream = _record(23, b"first") + _record(23, b"second") + _record(23, b"thi")
    buffer = bytearray(stream[:-2])  # the last record is cut
    deframer = RecordDeframer()
    deframer.feed(buffer)
    first = deframer.next_record()
    assert first is not None and first.fragment == b"first"
    deframer.settle()
    buffer[:] = bytes(len(buffer))  # the caller reads into it again
    deframer.feed(stream[-2:])
    assert [r.fragment for r in _drain(deframer)] == [b"second", b"thi"]
    assert deframer.buffered == 0


def test_a_cut_record_is_completed_from_the_next_feed_and_the_rest_read_in_place() -> None:
    body = bytes(range(256)) * 4
    stream = _record(23, body) * 3
    deframer = RecordDeframer()
    deframer.feed(stream[:700])
    assert deframer.next_raw() is None
    deframer.settle()
    deframer.feed(stream[700:])
    raws = []
    while (raw := deframer.next_raw()) is not None:
        raws.append(raw)
    # The cut record comes out owned (bytes); the others are views of the feed.
    assert [type(fragment) for _, fragment in raws] == [bytes, memoryview, memoryview]
    assert [bytes(fragment) for _, fragment in raws] == [body] * 3


def test_feeding_again_before_reading_everything_keeps_the_order() -> None:
    deframer = RecordDeframer()
    deframer.feed(_record(23, b"a") + _record(23, b"b") + _record(23, b"c")[:3])
    deframer.feed(_record(23, b"c")[3:] + _record(23, b"d"))
    assert [r.fragment for r in _drain(deframer)] == [b"a", b"b", b"c", b"d"]


@given(
    st.lists(st.tuples(st.sampled_from([20, 21, 22, 23]), st.binary(max_size=300))),
    st.data(),
)
def test_any_split_fed_from_one_reused_bytearray_round_trips(
    records: list[tuple[int, bytes]], data: st.DataObject
) -> None:
    stream = b"".join(_record(t, b) for t, b in records)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    buffer = bytearray(len(stream) + 1)
    deframer = RecordDeframer()
    out: list[tuple[int, bytes]] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        buffer[: end - start] = stream[start:end]
        with memoryview(buffer) as view, view[: end - start] as chunk:
            deframer.feed(chunk)
            while (raw := deframer.next_raw()) is not None:
                header, fragment = raw
                out.append((header[0], bytes(fragment)))
            deframer.settle()
        buffer[:] = b"\xee" * len(buffer)  # scribble: nothing may still point here
    assert out == records
    assert deframer.buffered == 0
