"""Split a byte stream into TLS records (RFC 8446 5.1, RFC 5246 6.2).

The deframer only finds record boundaries and checks the 5-byte header:
content type, the major version byte and the length limit.  It neither
decrypts nor interprets fragments; :mod:`puretls.record.layer` does that.

This is the receive hot path, so records are read in place from the bytes
the caller fed (see :class:`RecordDeframer`); only a record cut by a feed
boundary is copied, into one bytearray consumed by moving a read offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from puretls.enums import ContentType
from puretls.errors import DecodeError, RecordOverflow, UnexpectedMessage

HEADER_LENGTH = 5

# RFC 8446 5.1: TLSPlaintext.length MUST NOT exceed 2^14.
MAX_PLAINTEXT_LENGTH = 2**14
# RFC 8446 5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.
MAX_TLS13_CIPHERTEXT_LENGTH = 2**14 + 256
# RFC 5246 6.2.3: TLS 1.2 ciphertext may carry up to 2048 bytes of expansion.
MAX_TLS12_CIPHERTEXT_LENGTH = 2**14 + 2048

# RFC 8446 5 / B.1: the record types this stack understands (heartbeat is not
# negotiated, so it is as unexpected as an unassigned value).
_KNOWN_TYPES = frozenset(
    (
        ContentType.change_cipher_spec,
        ContentType.alert,
        ContentType.handshake,
        ContentType.application_data,
    )
)

# Drop the consumed prefix once it is at least this large: rare enough to be
# cheap, small enough that a long-lived connection does not hoard memory.
_COMPACT_THRESHOLD = 1 << 16

_EMPTY = memoryview(b"")


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One record as it came off the wire (TLSPlaintext or TLSCiphertext)."""

    content_type: int
    legacy_version: int
    fragment: bytes
    # The 5 header bytes as received: the additional data of a TLS 1.3
    # record (RFC 8446 5.2), kept so it is not rebuilt per record.
    header: bytes


def _describe_foreign(head: bytes) -> str:
    """A message for a peer that is not speaking TLS at all."""
    text = f"not a TLS record (first bytes {head!r})"
    if all(32 <= b < 127 for b in head):
        # Typically "GET /" or "POST ": plain HTTP sent to a TLS port.
        text += ": the peer sent plaintext, e.g. HTTP to a TLS port"
    return text


def check_header(header: bytes | bytearray, max_record_length: int) -> int:
    """Validate a 5-byte record header and return its length field."""
    content_type, major = header[0], header[1]
    # The version byte is checked first so that an HTTP request or an SSLv2
    # hello gets a message that says what happened, not "unknown type 71".
    if major != 0x03:
        raise DecodeError(_describe_foreign(bytes(header)))
    if content_type not in _KNOWN_TYPES:
        # RFC 8446 5: an unexpected record type is fatal, unexpected_message.
        raise UnexpectedMessage(f"unknown record content type {content_type}")
    length = (header[3] << 8) | header[4]
    if length > max_record_length:
        raise RecordOverflow(
            f"record length {length} exceeds the limit of {max_record_length} bytes"
        )
    return length


def check_plaintext_record(rec: Record) -> None:
    """The rules for an unprotected record's fragment (RFC 8446 5.1).

    Also applies to the content recovered from a protected record: the
    zero-length rule covers handshake fragments "even if those fragments
    contain padding".
    """
    check_fragment(rec.content_type, len(rec.fragment))


def check_fragment(content_type: int, length: int) -> None:
    """Length rules shared by plaintext records and decrypted contents."""
    if length > MAX_PLAINTEXT_LENGTH:
        raise RecordOverflow(f"plaintext record of {length} bytes exceeds {MAX_PLAINTEXT_LENGTH}")
    if length == 0:
        # RFC 8446 5.1: "Implementations MUST NOT send zero-length fragments
        # of Handshake types"; an Alert record holds exactly one alert, so an
        # empty one is malformed; RFC 5246 6.2.1 adds ChangeCipherSpec, whose
        # only valid body is 0x01 (RFC 8446 5: otherwise unexpected_message).
        # Empty application_data is allowed.
        if content_type in (ContentType.handshake, ContentType.change_cipher_spec):
            raise UnexpectedMessage(f"zero-length {ContentType(content_type).name} record")
        if content_type == ContentType.alert:
            raise DecodeError("zero-length alert record")


class RecordDeframer:
    """Buffers received bytes and hands out whole records one at a time.

    Receiving is the bulk hot path, so :meth:`feed` does not copy: it
    borrows the caller's buffer, and records that lie wholly inside it are
    read from it in place.  Only a record cut by the end of one feed is
    assembled in an owned buffer, and only its own bytes are copied there
    (the next feed tops it up, then borrowing resumes).  :meth:`settle`
    copies whatever is still unread into the owned buffer and lets the
    borrowed one go: call it before the caller may reuse or change a
    bytearray it fed.  ``bytes`` never change, so feeding ``bytes`` needs
    no settle.
    """

    __slots__ = ("_borrowed", "_bpos", "_buf", "_pos", "max_record_length")

    def __init__(self, max_record_length: int = MAX_TLS13_CIPHERTEXT_LENGTH) -> None:
        # Owned bytes: a record cut by a feed boundary, or input left by settle().
        self._buf = bytearray()
        self._pos = 0
        # The caller's buffer from the last feed, read in place from _bpos on.
        self._borrowed: memoryview = _EMPTY
        self._bpos = 0
        # Settable: a TLS 1.2 connection raises it to MAX_TLS12_CIPHERTEXT_LENGTH.
        self.max_record_length = max_record_length

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as part of a record."""
        return len(self._buf) - self._pos + len(self._borrowed) - self._bpos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes; ``data`` is borrowed until :meth:`settle`."""
        if len(self._borrowed) > self._bpos:
            # Records of the previous feed are still unread: keep it simple
            # and own everything from here on.
            self.settle()
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        if len(self._buf) > self._pos:
            # Complete the cut record from the front of the new data, copying
            # only its bytes: the header first, then the body it announces.
            view = self._top_up(view, HEADER_LENGTH)
            owned = len(self._buf) - self._pos
            if owned >= HEADER_LENGTH:
                head = self._buf[self._pos : self._pos + HEADER_LENGTH]
                first = HEADER_LENGTH + ((head[3] << 8) | head[4])
                if owned > first:
                    # More than one record is owned already (left by
                    # settle): the rest must follow them, so own it too.
                    self._buf += view
                    view = _EMPTY
                else:
                    view = self._top_up(view, first)
        self._borrowed = view
        self._bpos = 0

    def _top_up(self, view: memoryview, wanted: int) -> memoryview:
        missing = wanted - (len(self._buf) - self._pos)
        if missing <= 0:
            return view
        self._buf += view[:missing]
        return view[missing:]

    def clear(self) -> None:
        """Drop everything buffered and release the buffer's memory."""
        self._buf = bytearray()
        self._pos = 0
        self._borrowed = _EMPTY
        self._bpos = 0

    def settle(self) -> None:
        """Copy the unread rest of the borrowed buffer into the owned one."""
        borrowed, bpos = self._borrowed, self._bpos
        if len(borrowed) > bpos:
            self._compact()
            self._buf += borrowed[bpos:]
        self._borrowed = _EMPTY
        self._bpos = 0

    def next_raw(self) -> tuple[bytes, bytes | memoryview] | None:
        """The next record as (5 header bytes, fragment), or None for now.

        A fragment read in place is a memoryview into the fed buffer, valid
        until the next :meth:`feed` or :meth:`settle`; use it (decrypt it)
        before then.  The header is validated as soon as its 5 bytes are
        here, so garbage is rejected without waiting for a body that may
        never come.
        """
        buf, pos = self._buf, self._pos
        if len(buf) > pos:
            # The owned buffer comes first: it precedes the borrowed bytes.
            if len(buf) - pos < HEADER_LENGTH:
                return None
            header = bytes(buf[pos : pos + HEADER_LENGTH])
            end = pos + HEADER_LENGTH + check_header(header, self.max_record_length)
            if len(buf) < end:
                return None
            owned = bytes(buf[pos + HEADER_LENGTH : end])
            self._pos = end
            self._compact()
            return header, owned
        view, bpos = self._borrowed, self._bpos
        if len(view) - bpos < HEADER_LENGTH:
            return None
        header = bytes(view[bpos : bpos + HEADER_LENGTH])
        # check_header's three tests, written out for the good case (one
        # call fewer per record); check_header itself raises the error.
        length = (header[3] << 8) | header[4]
        if header[1] != 0x03 or header[0] not in _KNOWN_TYPES or length > self.max_record_length:
            check_header(header, self.max_record_length)
        end = bpos + HEADER_LENGTH + length
        if len(view) < end:
            return None
        self._bpos = end
        return header, view[bpos + HEADER_LENGTH : end]

    def next_record(self) -> Record | None:
        """The next complete record (its fragment copied out), or None."""
        raw = self.next_raw()
        if raw is None:
            return None
        header, fragment = raw
        return Record(
            content_type=header[0],
            legacy_version=(header[1] << 8) | header[2],
            fragment=fragment if isinstance(fragment, bytes) else fragment.tobytes(),
            header=header,
        )

    def _compact(self) -> None:
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos >= _COMPACT_THRESHOLD:
            del self._buf[: self._pos]
            self._pos = 0
