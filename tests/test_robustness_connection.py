"""Random and mutated input at every point of a real conversation.

A client and a server are driven record by record (robustness_helpers); at
step k of the conversation one side receives garbage, a bit-flipped,
truncated, duplicated or reordered record instead.  Whatever arrives, only
puretls's TLSError escapes, at most one fatal alert is queued, and the
connection ends closed.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puretls.enums import AlertDescription
from puretls.errors import BadRecordMac, RecordOverflow, TLSError, UnexpectedEOF
from robustness_helpers import Conversation, feed_and_close, full_transcript


@functools.cache
def steps() -> int:
    return len(full_transcript())


def conversation_at(k: int) -> Conversation:
    conv = Conversation.start()
    conv.advance(k)
    return conv


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def step_index(draw: st.DrawFn) -> int:
    return draw(st.integers(0, steps() - 1))


def test_conversation_covers_handshake_traffic_and_close() -> None:
    conv = Conversation.start()
    conv.run()
    assert conv.client.handshake_complete and conv.server.handshake_complete
    assert conv.client.peer_closed and conv.server.peer_closed
    assert conv.client.error is None and conv.server.error is None
    assert steps() >= 8


@SETTINGS
@given(k=step_index(), garbage=st.binary(min_size=1, max_size=300), to_server=st.booleans())
def test_random_bytes_at_any_step_fail_cleanly(k: int, garbage: bytes, to_server: bool) -> None:
    conv = conversation_at(k)
    target = conv.server if to_server else conv.client
    if target.closed:
        return
    feed_and_close(target, [garbage])


@SETTINGS
@given(
    k=step_index(),
    header_type=st.sampled_from([20, 21, 22, 23]),
    body=st.binary(max_size=200),
    to_server=st.booleans(),
)
def test_well_framed_garbage_records_fail_cleanly(
    k: int, header_type: int, body: bytes, to_server: bool
) -> None:
    conv = conversation_at(k)
    target = conv.server if to_server else conv.client
    if target.closed:
        return
    record = bytes((header_type, 3, 3)) + len(body).to_bytes(2, "big") + body
    feed_and_close(target, [record])


@SETTINGS
@given(k=step_index(), position=st.integers(0, 2**20))
def test_bit_flip_in_the_next_record_fails_cleanly(k: int, position: int) -> None:
    # Record lengths vary between runs (ECDSA signatures), so the bit is
    # drawn as a number and reduced modulo the record's size.
    conv = conversation_at(k)
    receiver, record = conv.pending[0]
    bit = position % (len(record) * 8)
    flipped = bytearray(record)
    flipped[bit // 8] ^= 1 << (bit % 8)
    rest = [rec for conn, rec in conv.pending[1:] if conn is receiver]
    feed_and_close(receiver, [bytes(flipped), *rest])


@SETTINGS
@given(k=step_index(), position=st.integers(0, 2**20))
def test_truncated_record_then_eof_fails_cleanly(k: int, position: int) -> None:
    conv = conversation_at(k)
    receiver, record = conv.pending[0]
    cut = 1 + position % (len(record) - 1)
    feed_and_close(receiver, [record[:cut]])


@SETTINGS
@given(k=step_index(), mode=st.sampled_from(["duplicate", "swap", "drop", "byte-at-a-time"]))
def test_reordered_duplicated_dropped_records_fail_cleanly(k: int, mode: str) -> None:
    conv = conversation_at(k)
    receiver = conv.pending[0][0]
    mine = [rec for conn, rec in conv.pending if conn is receiver]
    if mode == "duplicate":
        stream = [mine[0], mine[0], *mine[1:]]
    elif mode == "swap":
        stream = [*mine[1:2], mine[0], *mine[2:]]
    elif mode == "drop":
        stream = mine[1:]
    else:
        stream = [bytes((b,)) for rec in mine for b in rec]
    feed_and_close(receiver, stream)


@SETTINGS
@given(k=step_index(), length=st.integers(0, 0xFFFF))
def test_wrong_record_length_fails_cleanly(k: int, length: int) -> None:
    conv = conversation_at(k)
    receiver, record = conv.pending[0]
    forged = record[:3] + length.to_bytes(2, "big") + record[5:]
    feed_and_close(receiver, [forged])


# -- mutated valid transcripts end with the right alert ------------------------


def _first_protected(conv: Conversation) -> None:
    """Advance until the next pending record is an encrypted one (type 23)."""
    for _ in range(50):
        if conv.pending[0][1][0] == 23:
            return
        conv.step()
    raise AssertionError("no protected record")


def test_bit_flip_in_protected_record_is_bad_record_mac() -> None:
    conv = Conversation.start()
    _first_protected(conv)
    receiver, record = conv.pending[0]
    flipped = record[:-1] + bytes((record[-1] ^ 0x80,))
    with pytest.raises(BadRecordMac):
        receiver.receive_data(flipped)
    assert receiver.alerts_sent == [(2, AlertDescription.bad_record_mac)]


def test_duplicated_protected_record_is_bad_record_mac() -> None:
    conv = Conversation.start()
    _first_protected(conv)
    receiver, record = conv.pending[0]
    conv.step()
    if receiver.closed:
        pytest.skip("receiver closed after the record")
    with pytest.raises(BadRecordMac):
        receiver.receive_data(record)
    assert receiver.alerts_sent[-1] == (2, AlertDescription.bad_record_mac)


def test_oversized_record_length_is_record_overflow() -> None:
    conv = Conversation.start()
    receiver, record = conv.pending[0]
    with pytest.raises(RecordOverflow):
        receiver.receive_data(record[:3] + b"\xff\xff" + record[5:])
    assert receiver.alerts_sent == [(2, AlertDescription.record_overflow)]


def test_truncated_handshake_sends_nothing_and_reports_eof() -> None:
    conv = Conversation.start()
    receiver, record = conv.pending[0]
    receiver.receive_data(record[: len(record) // 2])
    with pytest.raises(UnexpectedEOF):
        receiver.receive_data(b"")
    assert receiver.alerts_sent == []
    assert receiver.closed


@pytest.mark.parametrize("k", range(0, 12))
def test_every_step_survives_a_byte_at_a_time_delivery(k: int) -> None:
    """Slow peers: the same conversation, one byte per receive_data call."""
    conv = conversation_at(k)
    if not conv.pending:
        return
    receiver = conv.pending[0][0]
    mine = [rec for conn, rec in conv.pending if conn is receiver]
    first = mine[0]
    for b in first:
        receiver.receive_data(bytes((b,)))
    assert receiver.error is None


def test_failed_connection_frees_buffered_input() -> None:
    conv = Conversation.start()
    server = conv.server
    # Half a record of a huge message stays buffered, then garbage.
    server.receive_data(b"\x16\x03\x01\x40\x00" + b"\x01\x00\x3f\xfc" + b"A" * 8000)
    assert server._records.buffered > 0
    with pytest.raises(TLSError):
        server.receive_data(b"\x00" * 20000)
    assert server._records.buffered == 0
    assert server._reassembler.buffered == 0
