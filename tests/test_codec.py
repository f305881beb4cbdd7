"""Reader and Writer: every vector reads back what was written, every bad length is DecodeError."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable
from struct import Struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls._codec import Reader, Writer, decoded_constructor, direct_init
from puretls.errors import DecodeError

SIZES = st.sampled_from([1, 2, 3])


@given(size=SIZES, data=st.binary(max_size=300), tail=st.binary(max_size=8))
def test_opaque_reads_back_what_was_written(size: int, data: bytes, tail: bytes) -> None:
    if size == 1 and len(data) > 255:
        data = data[:255]
    w = Writer()
    w.opaque(size, data)
    w.raw(tail)
    r = Reader(w.getvalue())
    assert r.opaque(size) == data
    assert r.rest() == tail


@given(size=SIZES, data=st.binary(min_size=1, max_size=64))
def test_block_must_be_consumed_exactly(size: int, data: bytes) -> None:
    w = Writer()
    with w.block(size):
        w.raw(data)
    r = Reader(w.getvalue())
    with r.block(size) as sub:
        assert sub.raw(len(data)) == data
    assert r.at_end()
    r = Reader(w.getvalue())
    with pytest.raises(DecodeError, match="trailing bytes after body"), r.block(size, what="body"):
        pass


@given(encoded=st.binary(max_size=40), size=SIZES)
def test_truncated_or_arbitrary_input_raises_only_decode_error(encoded: bytes, size: int) -> None:
    for read in (
        lambda r: r.opaque(size),
        lambda r: r.list_u16(size),
        lambda r: r.list_u8(size),
        lambda r: r.block(size).rest(),
    ):
        with contextlib.suppress(DecodeError):
            read(Reader(encoded))


def test_length_outside_the_allowed_range_is_named() -> None:
    r = Reader(b"\x00\x01\xaa")
    with pytest.raises(DecodeError, match=r"cookie length 1 outside 2\.\.10"):
        r.opaque(2, 2, 10, what="cookie")


def test_length_longer_than_the_data_is_a_short_read() -> None:
    with pytest.raises(DecodeError, match="need 5 bytes, only 2 left"):
        Reader(b"\x05ab").opaque(1)
    with pytest.raises(DecodeError, match="need 2 bytes, only 1 left"):
        Reader(b"\x05").block(2)


@given(data=st.binary(max_size=12), skip=st.integers(0, 3))
def test_fixed_width_reads_agree_with_the_bytes(data: bytes, skip: int) -> None:
    start = min(skip, len(data))
    layout = Struct(">HB")
    reads: list[tuple[Callable[[Reader], object], int, Callable[[bytes], object]]] = [
        (Reader.u24, 3, lambda b: int.from_bytes(b, "big")),
        (Reader.u32, 4, lambda b: int.from_bytes(b, "big")),
        (lambda r: r.fixed(layout), 3, layout.unpack),
    ]
    for read, width, expected in reads:
        r = Reader(data, start)
        piece = data[start : start + width]
        if len(piece) < width:
            with pytest.raises(DecodeError, match=f"need {width} bytes, only {len(piece)} left"):
                read(r)
            assert r.remaining == len(piece)  # nothing consumed
        else:
            assert read(r) == expected(piece)
            assert r.remaining == len(data) - start - width


@given(values=st.lists(st.integers(0, 0xFFFF), max_size=50))
def test_u16_lists_round_trip(values: list[int]) -> None:
    w = Writer()
    w.list_u16(2, values)
    assert Reader(w.getvalue()).list_u16(2) == tuple(values)


def test_odd_u16_list_length_is_refused() -> None:
    with pytest.raises(DecodeError, match="groups length 3 is odd"):
        Reader(b"\x00\x03\x00\x1d\x00").list_u16(2, what="groups")


def test_reader_works_on_a_window_of_a_larger_buffer() -> None:
    data = bytearray(b"xx\x02hiyy")
    r = Reader(data, 2, 5)
    assert r.opaque(1) == b"hi"
    assert r.at_end()


def test_writer_refuses_a_body_longer_than_its_length_field() -> None:
    w = Writer()
    with pytest.raises(ValueError, match="do not fit a 1-byte length"), w.block(1):
        w.raw(bytes(256))
    with pytest.raises(ValueError, match="256 bytes do not fit a 1-byte length"):
        Writer().opaque(1, bytes(256))
    with pytest.raises(ValueError, match="65536 bytes do not fit a 2-byte length"):
        Writer().opaque(2, bytearray(65536))
    w = Writer()
    w.opaque(2, bytes(65535))  # the largest that fits
    assert w[:2] == b"\xff\xff" and len(w) == 65537


def _typed(*items: tuple[int, bytes]) -> bytes:
    body = b"".join(t.to_bytes(2, "big") + len(b).to_bytes(2, "big") + b for t, b in items)
    return len(body).to_bytes(2, "big") + body


def test_typed_bodies_yield_each_type_and_body_past_the_list() -> None:
    r = Reader(_typed((1, b"ab"), (0xFFFF, b""), (7, b"xyz")) + b"tail")
    assert list(r.typed_bodies()) == [(1, b"ab"), (0xFFFF, b""), (7, b"xyz")]
    assert r.rest() == b"tail"


def test_typed_bodies_yield_bytes_from_a_bytearray() -> None:
    r = Reader(bytearray(_typed((3, b"q"))))
    [(item_type, body)] = r.typed_bodies()
    assert (item_type, type(body), body) == (3, bytes, b"q")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x00\x03\x00\x01\x00", "need 4 bytes, only 3 left"),
        (b"\x00\x05\x00\x01\x00\x02\x00", "need 2 bytes, only 1 left"),
        (b"\x00\x05\x00\x01", "need 5 bytes, only 2 left"),
    ],
)
def test_typed_bodies_refuse_truncated_items(data: bytes, error: str) -> None:
    with pytest.raises(DecodeError, match=error):
        list(Reader(data).typed_bodies())


@given(encoded=st.binary(max_size=40))
def test_typed_bodies_on_arbitrary_input_raise_only_decode_error(encoded: bytes) -> None:
    r = Reader(encoded)
    with contextlib.suppress(DecodeError):
        for _ in r.typed_bodies():
            pass


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Sample:
    number: int
    data: bytes = b"default"
    items: tuple[int, ...] = ()


@given(number=st.integers(), data=st.binary(max_size=8), items=st.lists(st.integers()))
def test_decoded_constructor_builds_what_the_class_builds(
    number: int, data: bytes, items: list[int]
) -> None:
    make = decoded_constructor(_Sample)
    made = make(number=number, data=data, items=tuple(items))
    usual = _Sample(number=number, data=data, items=tuple(items))
    assert type(made) is _Sample
    assert made == usual
    assert hash(made) == hash(usual)
    assert repr(made) == repr(usual)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.number = 0  # type: ignore[misc]


def test_decoded_constructor_keeps_the_keyword_only_fields_and_defaults() -> None:
    make = decoded_constructor(_Sample)
    assert make(number=1) == _Sample(number=1)
    parameters = inspect.signature(make).parameters
    assert list(parameters) == [f.name for f in dataclasses.fields(_Sample)]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    with pytest.raises(TypeError):
        make(1)
    with pytest.raises(TypeError):
        make(data=b"")  # the required field is still required
    with pytest.raises(TypeError):
        make(number=1, colour=2)


def test_decoded_constructor_refuses_classes_it_would_build_differently() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class NoSlots:
        number: int

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Factory:
        items: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class PostInit:
        number: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, Factory, PostInit, int):
        with pytest.raises(TypeError):
            decoded_constructor(cls)


@direct_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Direct:
    number: int
    data: bytes = b"default"


@direct_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _NoFields:
    pass


@given(number=st.integers(), data=st.binary(max_size=8))
def test_direct_init_builds_what_dataclasses_builds(number: int, data: bytes) -> None:
    made = _Direct(number=number, data=data)
    usual = _Sample(number=number, data=data)
    assert (made.number, made.data) == (usual.number, usual.data)
    assert made == _Direct(number=number, data=data)
    assert made != _Direct(number=number + 1, data=data)
    assert repr(made) == repr(usual).replace("_Sample", "_Direct").replace(", items=()", "")
    assert hash(made) == hash(_Direct(number=number, data=data))
    assert dataclasses.replace(made, number=0) == _Direct(number=0, data=data)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.number = 0  # type: ignore[misc]


def test_direct_init_keeps_the_keyword_only_signature() -> None:
    assert _Direct(number=1) == _Direct(number=1, data=b"default")
    assert _NoFields() == _NoFields()
    parameters = inspect.signature(_Direct).parameters
    assert list(parameters) == ["number", "data"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    with pytest.raises(TypeError):
        _Direct(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        _Direct()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _NoFields(number=1)  # type: ignore[call-arg]
