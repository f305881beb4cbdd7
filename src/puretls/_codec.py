"""Reader and Writer for the TLS presentation language (RFC 8446 3).

A Reader raises only :class:`puretls.errors.DecodeError`: a short buffer,
an out-of-range vector length or leftover bytes in a length-prefixed block
all end there, so no IndexError or struct.error ever escapes a decoder.

Every handshake message passes through here, so the methods are written
flat: each reads its bytes in its own frame rather than through smaller
helpers, because a Python call costs more than the arithmetic it wraps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from struct import Struct, pack, unpack_from
from struct import error as StructError
from typing import Any, TypeVar, cast

from puretls.enums import AlertDescription
from puretls.errors import DecodeError

_T = TypeVar("_T")

_unpack_u16_pair = Struct(">HH").unpack_from

_MAX = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}


class Reader:
    """Consumes a bytes buffer front to back."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        # Held as bytes so that every slice below is already the bytes a
        # decoder returns (a bytearray or memoryview is copied once, here).
        self._data = data if type(data) is bytes else bytes(data)
        self._pos = start
        self._end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def expect_end(self, what: str = "message") -> None:
        """Reject leftover bytes (RFC 8446 4: decode_error)."""
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} trailing bytes after {what}")

    def uint(self, size: int) -> int:
        pos = self._pos
        end = pos + size
        if end > self._end:
            raise DecodeError(f"need {size} bytes, only {self._end - pos} left")
        self._pos = end
        return int.from_bytes(self._data[pos:end], "big")

    def u8(self) -> int:
        pos = self._pos
        if pos >= self._end:
            raise DecodeError(f"need 1 bytes, only {self._end - pos} left")
        self._pos = pos + 1
        return self._data[pos]

    def u16(self) -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise DecodeError(f"need 2 bytes, only {self._end - pos} left")
        self._pos = pos + 2
        d = self._data
        return (d[pos] << 8) | d[pos + 1]

    def u24(self) -> int:
        pos = self._pos
        end = pos + 3
        if end > self._end:
            raise DecodeError(f"need 3 bytes, only {self._end - pos} left")
        self._pos = end
        return int.from_bytes(self._data[pos:end], "big")

    def u32(self) -> int:
        pos = self._pos
        end = pos + 4
        if end > self._end:
            raise DecodeError(f"need 4 bytes, only {self._end - pos} left")
        self._pos = end
        return int.from_bytes(self._data[pos:end], "big")

    def fixed(self, layout: Struct) -> tuple[Any, ...]:
        """The fields of a fixed-size run (``layout``, big-endian) in one C call.

        For the fixed heads of messages (a ServerHello's version and random,
        a NewSessionTicket's two uint32): one read instead of one per field.
        """
        pos = self._pos
        end = pos + layout.size
        if end > self._end:
            raise DecodeError(f"need {layout.size} bytes, only {self._end - pos} left")
        self._pos = end
        return layout.unpack_from(self._data, pos)

    def raw(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end > self._end:
            raise DecodeError(f"need {n} bytes, only {self._end - pos} left")
        self._pos = end
        return self._data[pos:end]

    def rest(self) -> bytes:
        pos = self._pos
        self._pos = self._end
        return self._data[pos : self._end]

    def opaque(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "vector"
    ) -> bytes:
        """``opaque x<minimum..maximum>`` with a ``size``-byte length prefix."""
        start = self._vector(size, minimum, maximum, what)
        return self._data[start : self._pos]

    def _vector(self, size: int, minimum: int, maximum: int | None, what: str) -> int:
        """Read a length prefix, check it, take the body; returns where the body starts.

        The length, range and body checks in one frame: every opaque vector
        and block of every message comes through here.
        """
        pos = self._pos
        start = pos + size
        end = self._end
        if start > end:
            raise DecodeError(f"need {size} bytes, only {end - pos} left")
        d = self._data
        if size == 2:
            n = (d[pos] << 8) | d[pos + 1]
        elif size == 1:
            n = d[pos]
        else:
            n = int.from_bytes(d[pos:start], "big")
        stop = start + n
        # A length read from ``size`` bytes cannot pass that size's own
        # maximum, so only an explicit upper bound needs a test.
        if n < minimum or stop > end or (maximum is not None and n > maximum):
            self._pos = start
            raise _vector_error(size, n, minimum, maximum, what, end - start)
        self._pos = stop
        return start

    def block(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "vector"
    ) -> _ReaderBlock:
        """A length-prefixed sub-reader that must be consumed exactly.

        Use as ``with r.block(2) as sub:``; leftover bytes in ``sub`` when
        the block ends raise DecodeError.
        """
        start = self._vector(size, minimum, maximum, what)
        return _ReaderBlock(self._data, start, self._pos, what)

    def typed_bodies(self, what: str = "extensions") -> Iterator[tuple[int, bytes]]:
        """Walk ``struct { uint16 type; opaque body<0..2^16-1>; } list<0..2^16-1>``.

        This is the shape of every Extension list (RFC 8446 4.2).  It yields
        each item's type and body bytes, and this reader is already past the
        whole list.  Handing out the body (rather than this reader narrowed
        to it) lets a caller that keeps decoded values by body (see
        messages/extensions.py) look one up without another reader call; a
        caller that decodes a body reads it with its own Reader and must
        consume it exactly.
        """
        start = self._vector(2, 0, None, what)
        stop = self._pos
        d = self._data
        pos = start
        while pos < stop:
            if pos + 4 > stop:
                raise DecodeError(f"need 4 bytes, only {stop - pos} left")
            # One C call for the type and the length (two shift-and-or reads
            # cost twice as much in the interpreter).
            ext_type, n = _unpack_u16_pair(d, pos)
            pos += 4
            body_end = pos + n
            if body_end > stop:
                raise DecodeError(f"need {n} bytes, only {stop - pos} left")
            yield ext_type, d[pos:body_end]
            pos = body_end

    def list_u16(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "list"
    ) -> tuple[int, ...]:
        """A vector of uint16 values (suites, groups, schemes)."""
        start = self._vector(size, minimum, maximum, what)
        n = self._pos - start
        if n & 1:
            raise DecodeError(f"{what} length {n} is odd")
        return unpack_from(f">{n >> 1}H", self._data, start)

    def list_u8(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "list"
    ) -> tuple[int, ...]:
        start = self._vector(size, minimum, maximum, what)
        return tuple(self._data[start : self._pos])


class Writer(bytearray):
    """A growing bytearray with the presentation language's writers.

    Being the bytearray itself (rather than holding one) lets an encoder
    append a precomputed or ``struct.pack``-ed run with ``w += ...`` and
    hand the result on without a copy.
    """

    __slots__ = ()

    def getvalue(self) -> bytes:
        return bytes(self)

    def uint(self, size: int, value: int) -> None:
        self += value.to_bytes(size, "big")

    def u8(self, value: int) -> None:
        self.append(value)

    def u16(self, value: int) -> None:
        self += value.to_bytes(2, "big")

    def u24(self, value: int) -> None:
        self += value.to_bytes(3, "big")

    def u32(self, value: int) -> None:
        self += value.to_bytes(4, "big")

    def raw(self, data: bytes | bytearray) -> None:
        self += data

    def opaque(self, size: int, data: bytes | bytearray) -> None:
        # length_prefix in this frame: every vector of every encoder comes here.
        try:
            self += len(data).to_bytes(size, "big")
        except OverflowError:
            raise _too_long(size, len(data)) from None
        self += data

    def block(self, size: int) -> _WriterBlock:
        """Write a ``size``-byte length prefix that covers what the body adds.

        Use as ``with w.block(2):``; the prefix is filled in when it ends.
        """
        start = len(self)
        self += bytes(size)
        return _WriterBlock(self, start, size)

    def list_u16(self, size: int, values: tuple[int, ...] | list[int]) -> None:
        n = len(values)
        self += length_prefix(size, 2 * n)
        try:
            self += pack(f">{n}H", *values)
        except StructError:
            raise OverflowError(f"a uint16 list holds a value outside 0..65535: {values}") from None

    def list_u8(self, size: int, values: tuple[int, ...] | list[int]) -> None:
        self.opaque(size, bytes(values))


def length_prefix(size: int, n: int) -> bytes:
    """The ``size``-byte length of an ``n``-byte vector; ValueError if it does not fit."""
    try:
        return n.to_bytes(size, "big")
    except OverflowError:
        raise _too_long(size, n) from None


def _too_long(size: int, n: int) -> ValueError:
    return ValueError(f"{n} bytes do not fit a {size}-byte length")


def framed(msg_type: int, body: bytes | bytearray) -> bytes:
    """``struct { uint8 msg_type; uint24 length; opaque body[length]; }``.

    The header of every handshake message (RFC 8446 4, RFC 5246 7.4) in
    one ``to_bytes``: the type and the length share one 32-bit word.
    """
    n = len(body)
    if n > 0xFFFFFF:
        raise ValueError(f"{n} bytes do not fit a 3-byte length")
    return ((msg_type << 24) | n).to_bytes(4, "big") + body


class _ReaderBlock(Reader):
    """The sub-reader of :meth:`Reader.block`.

    A class rather than a generator-based context manager: blocks are on
    every decode path and a generator per block costs more than the read.
    """

    __slots__ = ("_what",)

    def __init__(self, data: bytes, start: int, end: int, what: str) -> None:
        # Reader.__init__ inlined: the parent's data is already bytes.
        self._data = data
        self._pos = start
        self._end = end
        self._what = what

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self._pos != self._end:
            self.expect_end(self._what)


class _WriterBlock:
    """The context of :meth:`Writer.block`: fills the length prefix on exit."""

    __slots__ = ("_size", "_start", "_writer")

    def __init__(self, writer: Writer, start: int, size: int) -> None:
        self._writer = writer
        self._start = start
        self._size = size

    def __enter__(self) -> Writer:
        return self._writer

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            w, start, size = self._writer, self._start, self._size
            w[start : start + size] = length_prefix(size, len(w) - start - size)


def _vector_error(
    size: int, n: int, minimum: int, maximum: int | None, what: str, left: int
) -> DecodeError:
    """The error for a vector length out of range (named first) or past the data."""
    hi = _MAX[size] if maximum is None else maximum
    if n < minimum or n > hi:
        return DecodeError(f"{what} length {n} outside {minimum}..{hi}")
    return DecodeError(f"need {n} bytes, only {left} left")


def illegal(message: str) -> DecodeError:
    """A DecodeError that RFC 8446 says must be answered with illegal_parameter."""
    return DecodeError(message, alert=AlertDescription.illegal_parameter)


def decoded_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of ``cls`` (a frozen slotted dataclass) for decoders.

    It takes the same keyword-only fields, with the same defaults, and
    builds the same object: same fields, equality, hash and repr. It skips
    only the cost of calling the class: ``cls(**fields)`` goes through
    ``type.__call__``, which builds a keyword dictionary for ``__init__``
    (about 2 k interpreter instructions); this makes the object and fills
    its slots itself. Decoders use it on values they have just read and
    checked; everything else builds messages the ordinary way. The function
    is generated from the dataclass fields, as ``dataclasses`` generates
    ``__init__``, so it cannot drift from them.
    """
    namespace: dict[str, object] = {"_new": object.__new__, "_cls": cls}
    params, sets = _slot_setters(cls, namespace, "obj")
    source = f"def make({params}):\n    obj = _new(_cls)\n{sets}\n    return obj\n"
    exec(source, namespace)  # built from the field names only, as dataclasses does
    return cast("Callable[..., _T]", namespace["make"])


def direct_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slotted dataclass an ``__init__`` that sets its slots directly.

    A class decorator, applied over ``@dataclass``. The ``__init__`` that
    ``dataclasses`` writes for a frozen class sets each field through
    ``object.__setattr__``, a global and an attribute lookup and a generic
    call per field (about 600 interpreter instructions each); this one calls
    each slot's descriptor. Same keyword-only parameters and defaults, same
    object; only the cost differs.
    """
    namespace: dict[str, object] = {}
    params, sets = _slot_setters(cls, namespace, "self")
    head = f"def __init__(self, {params}):" if params else "def __init__(self):"
    exec(f"{head}\n{sets or '    pass'}\n", namespace)  # as dataclasses writes __init__
    init = cast("Callable[..., None]", namespace["__init__"])
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - a dunder mypy will not let be assigned
    return cls


def _slot_setters(cls: type, namespace: dict[str, object], target: str) -> tuple[str, str]:
    """The keyword-only parameter list of ``cls``'s fields and the lines setting them."""
    if not (dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__, which this would skip")
    params: list[str] = []
    sets: list[str] = []
    for f in dataclasses.fields(cls):
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields are supported")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        namespace[f"_s_{f.name}"] = getattr(cls, f.name).__set__
        sets.append(f"    _s_{f.name}({target}, {f.name})")
    return ("*, " + ", ".join(params) if params else ""), "\n".join(sets)
