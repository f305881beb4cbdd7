"""Split a byte stream into TLS records (RFC 8446 5.1, RFC 5246 6.2).

The deframer only finds record boundaries and checks the 5-byte header:
content type, the major version byte and the length limit.  It neither
decrypts nor interprets fragments; :mod:`puretls.record.layer` does that.

This is the receive hot path, so bytes are appended to one bytearray and
consumed by moving a read offset; the consumed prefix is dropped only when
it has grown large (or when everything has been read), never per record.
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
    """Buffers received bytes and hands out whole records one at a time."""

    __slots__ = ("_buf", "_pos", "max_record_length")

    def __init__(self, max_record_length: int = MAX_TLS13_CIPHERTEXT_LENGTH) -> None:
        self._buf = bytearray()
        self._pos = 0
        # Settable: a TLS 1.2 connection raises it to MAX_TLS12_CIPHERTEXT_LENGTH.
        self.max_record_length = max_record_length

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as part of a record."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def clear(self) -> None:
        """Drop everything buffered and release the buffer's memory."""
        self._buf = bytearray()
        self._pos = 0

    def next_record(self) -> Record | None:
        """The next complete record, or None until more bytes arrive.

        The header is validated as soon as its 5 bytes are here, so garbage
        is rejected without waiting for a body that may never come.
        """
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_LENGTH:
            return None
        header = bytes(buf[pos : pos + HEADER_LENGTH])
        length = check_header(header, self.max_record_length)
        end = pos + HEADER_LENGTH + length
        if len(buf) < end:
            return None
        with memoryview(buf) as view:
            fragment = view[pos + HEADER_LENGTH : end].tobytes()
        self._pos = end
        self._compact()
        return Record(
            content_type=header[0],
            legacy_version=(header[1] << 8) | header[2],
            fragment=fragment,
            header=header,
        )

    def _compact(self) -> None:
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos >= _COMPACT_THRESHOLD:
            del self._buf[: self._pos]
            self._pos = 0
