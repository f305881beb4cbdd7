"""fragment(): cutting outgoing data into records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.record.fragment import fragment


def test_small_data_is_one_chunk() -> None:
    assert [bytes(c) for c in fragment(b"abc")] == [b"abc"]


def test_data_is_cut_at_max_len() -> None:
    chunks = [bytes(c) for c in fragment(bytes(2**14 * 2 + 1))]
    assert [len(c) for c in chunks] == [2**14, 2**14, 1]


def test_exact_multiple_has_no_empty_tail() -> None:
    assert [len(c) for c in fragment(bytes(10), max_len=5)] == [5, 5]


def test_empty_data_yields_nothing_unless_asked() -> None:
    assert list(fragment(b"")) == []
    assert [bytes(c) for c in fragment(b"", allow_empty=True)] == [b""]


def test_chunks_are_views_not_copies() -> None:
    data = bytearray(b"abcdef")
    chunk = next(fragment(data, max_len=3))
    assert isinstance(chunk, memoryview)
    assert chunk.obj is data


def test_non_positive_max_len_is_rejected() -> None:
    with pytest.raises(ValueError):
        list(fragment(b"abc", max_len=0))


@given(st.binary(max_size=1000), st.integers(min_value=1, max_value=300))
def test_chunks_concatenate_to_the_input(data: bytes, max_len: int) -> None:
    chunks = [bytes(c) for c in fragment(data, max_len)]
    assert b"".join(chunks) == data
    assert all(0 < len(c) <= max_len for c in chunks)
