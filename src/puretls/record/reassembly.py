"""Handshake message reassembly (RFC 8446 5.1, RFC 5246 6.2.1).

Handshake messages may be coalesced into one record or split across many;
the reassembler turns the concatenated handshake fragments back into whole
messages, each with its 4-byte header (the transcript hashes those bytes).
"""

from __future__ import annotations

from puretls.errors import IllegalParameter

HANDSHAKE_HEADER_LENGTH = 4

# The largest message body accepted by default.  It bounds the memory a peer
# can make us buffer before any message is complete; a connection that
# expects long certificate chains can raise it.
DEFAULT_MAX_MESSAGE_SIZE = 2**16

_COMPACT_THRESHOLD = 1 << 16


class HandshakeReassembler:
    """Collects handshake fragments and returns whole messages in order.

    Most records carry whole messages, so a fragment fed while nothing is
    pending is kept as it is and messages are sliced straight out of it;
    only a message cut by a record boundary is gathered in a bytearray.
    """

    __slots__ = ("_buf", "_pos", "max_message_size")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        # The unread bytes are _buf[_pos:]: a fed fragment (bytes) or, while
        # a message spans fragments, an owned bytearray.
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self.max_message_size = max_message_size

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned in a message."""
        return len(self._buf) - self._pos

    @property
    def has_partial(self) -> bool:
        """Whether buffered bytes end inside an unfinished message.

        RFC 8446 5.1: handshake messages MUST NOT be interleaved with other
        record types and MUST NOT span key changes; the connection asks this
        before accepting another content type or switching keys.
        """
        pos, end = self._pos, len(self._buf)
        while pos < end:
            if end - pos < HANDSHAKE_HEADER_LENGTH:
                return True
            pos += HANDSHAKE_HEADER_LENGTH + self._body_length(pos)
            if pos > end:
                return True
        return False

    def feed(self, fragment: bytes | bytearray | memoryview) -> None:
        buf, pos = self._buf, self._pos
        if pos == len(buf):
            # Nothing pending: read the messages from the fragment itself.
            self._buf = fragment if type(fragment) is bytes else bytes(fragment)
            self._pos = 0
        elif type(buf) is bytes:
            # A message continues past its fragment: own its bytes from here.
            owned = bytearray(buf[pos:])
            owned += fragment
            self._buf = owned
            self._pos = 0
        else:
            buf += fragment

    def next_message(self) -> tuple[int, bytes] | None:
        """The next whole message as (msg_type, header + body), or None."""
        buf, pos = self._buf, self._pos
        size = len(buf)
        if size - pos < HANDSHAKE_HEADER_LENGTH:
            return None
        # The uint24 length, read here rather than by _body_length: this runs
        # once per message.
        length = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
        if length > self.max_message_size:
            raise self._too_long(buf[pos], length)
        end = pos + HANDSHAKE_HEADER_LENGTH + length
        if size < end:
            return None
        # A fragment that is one whole message comes back as it is: slicing
        # all of a bytes object returns that same object.
        message = bytes(buf[pos:end])
        if end == size:
            self._buf = b""
            self._pos = 0
        else:
            self._pos = end
            if end >= _COMPACT_THRESHOLD and type(buf) is bytearray:
                del buf[:end]
                self._pos = 0
        return message[0], message

    def _body_length(self, pos: int) -> int:
        """The uint24 length at ``pos``, checked against the size limit."""
        buf = self._buf
        length = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
        if length > self.max_message_size:
            raise self._too_long(buf[pos], length)
        return length

    def _too_long(self, msg_type: int, length: int) -> IllegalParameter:
        # No alert is prescribed for this; like OpenSSL's "excessive message
        # size" we answer illegal_parameter.
        return IllegalParameter(
            f"handshake message type {msg_type} declares {length} bytes, "
            f"more than the limit of {self.max_message_size}"
        )
