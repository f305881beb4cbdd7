"""Reader and Writer for the TLS presentation language (RFC 8446 3).

A Reader raises only :class:`puretls.errors.DecodeError`: a short buffer,
an out-of-range vector length or leftover bytes in a length-prefixed block
all end there, so no IndexError or struct.error ever escapes a decoder.
"""

from __future__ import annotations

from struct import unpack_from

from puretls.enums import AlertDescription
from puretls.errors import DecodeError

_MAX = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}


class Reader:
    """Consumes a bytes buffer front to back."""

    __slots__ = ("_data", "_pos", "_end")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self._data = data
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
            raise DecodeError(f"{self.remaining} trailing bytes after {what}")

    def _take(self, n: int) -> int:
        pos = self._pos
        if n > self._end - pos:
            raise DecodeError(f"need {n} bytes, only {self._end - pos} left")
        self._pos = pos + n
        return pos

    def uint(self, size: int) -> int:
        pos = self._pos
        end = pos + size
        if end > self._end:
            raise DecodeError(f"need {size} bytes, only {self._end - pos} left")
        self._pos = end
        d = self._data
        # The one- and two-byte lengths of every vector are read without a
        # slice; this is the innermost call of every decoder.
        if size == 2:
            return (d[pos] << 8) | d[pos + 1]
        if size == 1:
            return d[pos]
        return int.from_bytes(d[pos:end], "big")

    def u8(self) -> int:
        pos = self._take(1)
        return self._data[pos]

    def u16(self) -> int:
        pos = self._take(2)
        d = self._data
        return (d[pos] << 8) | d[pos + 1]

    def u24(self) -> int:
        return self.uint(3)

    def u32(self) -> int:
        return self.uint(4)

    def raw(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end > self._end:
            raise DecodeError(f"need {n} bytes, only {self._end - pos} left")
        self._pos = end
        return bytes(self._data[pos:end])

    def rest(self) -> bytes:
        return self.raw(self.remaining)

    def _length(self, size: int, minimum: int, maximum: int | None, what: str) -> int:
        n = self.uint(size)
        hi = _MAX[size] if maximum is None else maximum
        if n < minimum or n > hi:
            raise DecodeError(f"{what} length {n} outside {minimum}..{hi}")
        return n

    def opaque(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "vector"
    ) -> bytes:
        """``opaque x<minimum..maximum>`` with a ``size``-byte length prefix."""
        start = self._vector(size, minimum, maximum, what)
        return bytes(self._data[start : self._pos])

    def _vector(self, size: int, minimum: int, maximum: int | None, what: str) -> int:
        """Read a length prefix, check it, take the body; returns where the body starts.

        The length, range and body checks of :meth:`_length` and :meth:`_take`
        in one frame: every opaque vector and block of every message comes
        through here.
        """
        pos = self._pos
        end = self._end
        d = self._data
        if pos + size > end:
            raise DecodeError(f"need {size} bytes, only {end - pos} left")
        if size == 2:
            n = (d[pos] << 8) | d[pos + 1]
        elif size == 1:
            n = d[pos]
        else:
            n = int.from_bytes(d[pos : pos + size], "big")
        pos += size
        hi = _MAX[size] if maximum is None else maximum
        if n < minimum or n > hi:
            self._pos = pos
            raise DecodeError(f"{what} length {n} outside {minimum}..{hi}")
        if n > end - pos:
            self._pos = pos
            raise DecodeError(f"need {n} bytes, only {end - pos} left")
        self._pos = pos + n
        return pos

    def block(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "vector"
    ) -> _ReaderBlock:
        """A length-prefixed sub-reader that must be consumed exactly.

        Use as ``with r.block(2) as sub:``; leftover bytes in ``sub`` when
        the block ends raise DecodeError.
        """
        start = self._vector(size, minimum, maximum, what)
        return _ReaderBlock(self._data, start, self._pos, what)

    def list_u16(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "list"
    ) -> tuple[int, ...]:
        """A vector of uint16 values (suites, groups, schemes)."""
        n = self._length(size, minimum, maximum, what)
        if n % 2:
            raise DecodeError(f"{what} length {n} is odd")
        pos = self._take(n)
        return unpack_from(f">{n >> 1}H", self._data, pos)

    def list_u8(
        self, size: int, minimum: int = 0, maximum: int | None = None, what: str = "list"
    ) -> tuple[int, ...]:
        return tuple(self.opaque(size, minimum, maximum, what))


class Writer:
    """Appends to a growing bytearray."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def __len__(self) -> int:
        return len(self._buf)

    def uint(self, size: int, value: int) -> None:
        self._buf += value.to_bytes(size, "big")

    def u8(self, value: int) -> None:
        self._buf.append(value)

    def u16(self, value: int) -> None:
        self._buf += value.to_bytes(2, "big")

    def u24(self, value: int) -> None:
        self._buf += value.to_bytes(3, "big")

    def u32(self, value: int) -> None:
        self._buf += value.to_bytes(4, "big")

    def raw(self, data: bytes) -> None:
        self._buf += data

    def opaque(self, size: int, data: bytes) -> None:
        if len(data) > _MAX[size]:
            raise ValueError(f"{len(data)} bytes do not fit a {size}-byte length")
        self._buf += len(data).to_bytes(size, "big")
        self._buf += data

    def block(self, size: int) -> _WriterBlock:
        """Write a ``size``-byte length prefix that covers what the body adds.

        Use as ``with w.block(2):``; the prefix is filled in when it ends.
        """
        start = len(self._buf)
        self._buf += bytes(size)
        return _WriterBlock(self, start, size)

    def list_u16(self, size: int, values: tuple[int, ...] | list[int]) -> None:
        self.uint(size, 2 * len(values))
        for v in values:
            self._buf += v.to_bytes(2, "big")

    def list_u8(self, size: int, values: tuple[int, ...] | list[int]) -> None:
        self.opaque(size, bytes(values))


class _ReaderBlock(Reader):
    """The sub-reader of :meth:`Reader.block`.

    A class rather than a generator-based context manager: blocks are on
    every decode path and a generator per block costs more than the read.
    """

    __slots__ = ("_what",)

    def __init__(self, data: bytes, start: int, end: int, what: str) -> None:
        # Reader.__init__ inlined: one block per vector on every decode path.
        self._data = data
        self._pos = start
        self._end = end
        self._what = what

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
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
            # Writer._close_block inlined: one block per vector on every encode.
            buf = self._writer._buf
            start, size = self._start, self._size
            n = len(buf) - start - size
            if n > _MAX[size]:
                raise ValueError(f"{n} bytes do not fit a {size}-byte length")
            buf[start : start + size] = n.to_bytes(size, "big")


def illegal(message: str) -> DecodeError:
    """A DecodeError that RFC 8446 says must be answered with illegal_parameter."""
    return DecodeError(message, alert=AlertDescription.illegal_parameter)
