"""HandshakeReassembler: handshake messages across and within records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.enums import AlertDescription
from puretls.errors import IllegalParameter, TLSError
from puretls.record.reassembly import HandshakeReassembler


def _msg(msg_type: int, body: bytes) -> bytes:
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def _drain(r: HandshakeReassembler) -> list[tuple[int, bytes]]:
    out = []
    while (m := r.next_message()) is not None:
        out.append(m)
    return out


MESSAGES = [
    _msg(8, b"\x00\x00"),
    _msg(11, bytes(range(256)) * 3),
    _msg(15, b"sig"),
    _msg(20, bytes(32)),
]


def test_many_messages_in_one_fragment_come_out_one_at_a_time() -> None:
    r = HandshakeReassembler()
    r.feed(b"".join(MESSAGES))
    assert r.next_message() == (8, MESSAGES[0])
    assert r.has_partial is False
    assert [m for _, m in _drain(r)] == MESSAGES[1:]
    assert r.buffered == 0


def test_message_split_byte_by_byte_is_reassembled() -> None:
    r = HandshakeReassembler()
    stream = b"".join(MESSAGES)
    boundaries = {sum(len(m) for m in MESSAGES[:k]) for k in range(len(MESSAGES) + 1)}
    out: list[tuple[int, bytes]] = []
    for i in range(len(stream)):
        r.feed(stream[i : i + 1])
        out += _drain(r)
        assert r.has_partial == (i + 1 not in boundaries)
    assert out == [(m[0], m) for m in MESSAGES]


def test_empty_body_message_is_complete_with_its_header() -> None:
    r = HandshakeReassembler()
    r.feed(b"\x05\x00\x00\x00")  # EndOfEarlyData
    assert r.next_message() == (5, b"\x05\x00\x00\x00")
    assert not r.has_partial


def test_has_partial_sees_partial_message_behind_complete_ones() -> None:
    r = HandshakeReassembler()
    r.feed(MESSAGES[0] + MESSAGES[1][:10])
    assert r.has_partial
    assert r.next_message() == (8, MESSAGES[0])
    assert r.has_partial
    assert r.next_message() is None


def test_has_partial_with_only_complete_messages_buffered_is_false() -> None:
    r = HandshakeReassembler()
    r.feed(MESSAGES[0] + MESSAGES[2])
    assert not r.has_partial
    assert r.buffered == len(MESSAGES[0]) + len(MESSAGES[2])


def test_partial_header_counts_as_partial() -> None:
    r = HandshakeReassembler()
    r.feed(b"\x14\x00")
    assert r.has_partial
    assert r.next_message() is None


def test_declared_length_above_limit_is_illegal_parameter_before_body() -> None:
    r = HandshakeReassembler(max_message_size=1000)
    r.feed(b"\x0b\x00\x03\xe9")  # 1001 bytes declared
    with pytest.raises(IllegalParameter, match="limit of 1000") as info:
        r.next_message()
    assert info.value.alert == AlertDescription.illegal_parameter


def test_default_limit_is_two_to_the_sixteen() -> None:
    r = HandshakeReassembler()
    r.feed(_msg(11, bytes(2**16)))
    assert r.next_message() is not None
    r.feed(b"\x0b" + (2**16 + 1).to_bytes(3, "big"))
    with pytest.raises(IllegalParameter):
        r.next_message()


def test_limit_is_configurable() -> None:
    r = HandshakeReassembler()
    r.max_message_size = 2**17
    r.feed(_msg(11, bytes(2**17)))
    assert r.next_message() is not None


def test_long_run_compacts_and_stays_correct() -> None:
    r = HandshakeReassembler()
    msg = _msg(4, bytes(range(250)) * 40)
    for _ in range(20):
        r.feed(msg + msg[:3])
        assert _drain(r) == [(4, msg)]
        r.feed(msg[3:])
        assert _drain(r) == [(4, msg)]
    assert r.buffered == 0


@given(st.lists(st.binary(max_size=50), max_size=20))
def test_arbitrary_fragments_raise_only_tls_errors(chunks: list[bytes]) -> None:
    r = HandshakeReassembler(max_message_size=100)
    try:
        for chunk in chunks:
            r.feed(chunk)
            for msg_type, msg in _drain(r):
                assert msg[0] == msg_type
                assert len(msg) == 4 + int.from_bytes(msg[1:4], "big")
            _ = r.has_partial
    except TLSError:
        pass


@given(
    st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=200)), max_size=8),
    st.data(),
)
def test_any_split_of_messages_round_trips(
    messages: list[tuple[int, bytes]], data: st.DataObject
) -> None:
    stream = b"".join(_msg(t, b) for t, b in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    r = HandshakeReassembler()
    out: list[tuple[int, bytes]] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        r.feed(stream[start:end])
        out += _drain(r)
    assert out == [(t, _msg(t, b)) for t, b in messages]
    assert not r.has_partial


def test_a_fragment_that_is_one_whole_message_comes_back_uncopied() -> None:
    r = HandshakeReassembler()
    fragment = MESSAGES[1]
    r.feed(fragment)
    item = r.next_message()
    assert item is not None and item[1] is fragment
    assert r.buffered == 0


def test_a_fed_bytearray_may_be_reused_by_the_caller() -> None:
    r = HandshakeReassembler()
    buffer = bytearray(MESSAGES[0] + MESSAGES[2][:3])
    r.feed(buffer)
    buffer[:] = bytes(len(buffer))  # the caller reuses its buffer
    r.feed(MESSAGES[2][3:])
    assert _drain(r) == [(8, MESSAGES[0]), (15, MESSAGES[2])]


def test_a_message_cut_after_whole_ones_is_completed_by_the_next_fragment() -> None:
    r = HandshakeReassembler()
    r.feed(MESSAGES[0] + MESSAGES[1][:100])
    assert r.next_message() == (8, MESSAGES[0])
    assert r.next_message() is None
    r.feed(MESSAGES[1][100:] + MESSAGES[3])
    assert _drain(r) == [(11, MESSAGES[1]), (20, MESSAGES[3])]
    assert r.buffered == 0 and not r.has_partial
