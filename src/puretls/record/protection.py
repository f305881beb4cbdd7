"""Record protection: plaintext, TLS 1.3 AEAD and TLS 1.2 AEAD records.

One instance protects one direction under one key: ``seq`` counts the
records sealed or opened with it (RFC 8446 5.3, RFC 5246 6.1), and a key
change means a new instance with ``seq`` back at zero.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from puretls.crypto.suites import CipherSuiteInfo
from puretls.enums import ContentType, ProtocolVersion
from puretls.errors import BadRecordMac, InternalError, RecordOverflow, UnexpectedMessage
from puretls.record.deframer import (
    MAX_PLAINTEXT_LENGTH,
    MAX_TLS12_CIPHERTEXT_LENGTH,
    MAX_TLS13_CIPHERTEXT_LENGTH,
    Record,
)

# Both AEADs we use (AES-GCM, ChaCha20-Poly1305) have a 16-byte tag.
TAG_LENGTH = 16
# RFC 8446 5.3: sequence numbers are 64-bit and MUST NOT wrap.
MAX_SEQ = 2**64 - 1
# RFC 8446 5.4: TLSInnerPlaintext is at most 2^14 content + 1 type byte.
MAX_INNER_PLAINTEXT_LENGTH = MAX_PLAINTEXT_LENGTH + 1

_TLS12 = int(ProtocolVersion.TLSv1_2)
_APPLICATION_DATA = int(ContentType.application_data)
# A record header: type, legacy_record_version, length (RFC 8446 5.1, 5.2:
# a TLS 1.3 record's "opaque_type ... always set to the value 23" and
# version 0x0303); one call per record.
_pack_header = struct.Struct(">BHH").pack
# The content type byte that ends a TLSInnerPlaintext, one object per value.
_TYPE_BYTES = tuple(bytes((value,)) for value in range(256))
# RFC 8446 5: change_cipher_spec is never protected in TLS 1.3, so a
# decrypted inner type may only be one of these.
_TLS13_INNER_TYPES = frozenset((ContentType.alert, ContentType.handshake, _APPLICATION_DATA))
_TLS12_PROTECTED_TYPES = _TLS13_INNER_TYPES

PaddingPolicy = Callable[[int, int], int]
"""``padding(content_type, length) -> number of zero bytes`` (RFC 8446 5.4)."""


def _header(content_type: int, version: int, length: int) -> bytes:
    return bytes((content_type, version >> 8, version & 0xFF, length >> 8, length & 0xFF))


class RecordProtection(ABC):
    """The protection of one direction of a connection."""

    # False only for NullProtection: records go out and come in as plaintext.
    protected: ClassVar[bool] = True
    # True for TLS 1.3, where the real content type is inside the encryption
    # and change_cipher_spec still travels unprotected (RFC 8446 5, D.4).
    hides_content_type: ClassVar[bool] = False
    # Records sealed or opened so far; the first ``+= 1`` makes it the
    # instance's own, so a new protection needs no __init__ call for it.
    seq: int = 0

    @abstractmethod
    def seal(self, content_type: int, data: bytes | bytearray | memoryview) -> bytes:
        """One whole record (header + fragment) carrying ``data``."""

    @abstractmethod
    def open(self, rec: Record) -> tuple[int, bytes]:
        """The (content type, plaintext) of a received record."""

    def _next_seq(self) -> int:
        """The sequence number for this record; the counter advances on use."""
        seq = self.seq
        if seq > MAX_SEQ:
            # RFC 8446 5.3: rekey or terminate rather than wrap.
            raise InternalError("record sequence number exhausted: the key must be updated")
        return seq

    def _check_plaintext_size(self, length: int) -> None:
        if length > MAX_PLAINTEXT_LENGTH:
            raise InternalError(f"{length} bytes do not fit one record; fragment first")


class NullProtection(RecordProtection):
    """Plaintext records, before any key is in place (RFC 8446 5.1)."""

    protected = False

    def __init__(self, legacy_version: int = _TLS12) -> None:
        # RFC 8446 5.1: 0x0303 everywhere, except that a client MAY use 0x0301
        # for its first ClientHello for compatibility with old middleboxes.
        self.legacy_version = legacy_version

    def seal(self, content_type: int, data: bytes | bytearray | memoryview) -> bytes:
        length = len(data)
        if length > MAX_PLAINTEXT_LENGTH:
            self._check_plaintext_size(length)
        self.seq += 1
        return _pack_header(content_type, self.legacy_version, length) + data

    def open(self, rec: Record) -> tuple[int, bytes]:
        return self.open_fragment(rec.content_type, rec.fragment)

    def open_fragment(self, content_type: int, fragment: bytes) -> tuple[int, bytes]:
        """:meth:`open` for a record known by its type and fragment alone."""
        self.seq += 1
        return content_type, fragment


class _AEADProtection(RecordProtection):
    """Key checks and the AEAD object shared by the TLS 1.3 and 1.2 variants.

    ``padding`` is TLS 1.3's record padding policy (RFC 8446 5.4), taken
    here so that a :class:`TLS13Protection` (four per handshake side) is
    built with one ``__init__`` call; TLS 1.2 passes none.
    """

    # None: no padding (a class default; an instance with a policy has its own).
    padding: PaddingPolicy | None = None

    def __init__(
        self,
        suite: CipherSuiteInfo,
        key: bytes,
        iv: bytes,
        padding: PaddingPolicy | None = None,
    ) -> None:
        if len(key) != suite.key_length:
            raise ValueError(f"{suite.name} needs a {suite.key_length}-byte key, got {len(key)}")
        if len(iv) != suite.iv_length:
            raise ValueError(f"{suite.name} needs a {suite.iv_length}-byte IV, got {len(iv)}")
        self.suite = suite
        # Built once per key: key setup is the costly part of an AEAD object.
        self._aead: AESGCM | ChaCha20Poly1305 = suite.aead(key)
        self._iv_int = int.from_bytes(iv, "big")
        if padding is not None:
            self.padding = padding

    def _xor_nonce(self, seq: int) -> bytes:
        # RFC 8446 5.3: the 64-bit sequence number, left-padded with zeros to
        # the IV length, XORed with the IV.  One int XOR, no byte loop.
        return (self._iv_int ^ seq).to_bytes(12, "big")

    def _decrypt(self, nonce: bytes, ciphertext: bytes | memoryview, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            # RFC 8446 5.2: deprotection failure is bad_record_mac.
            raise BadRecordMac("record authentication failed") from None

    def __repr__(self) -> str:
        # Never show keys or IVs (DESIGN.md: secrets never reach reprs).
        return f"{type(self).__name__}({self.suite.name}, seq={self.seq})"


class TLS13Protection(_AEADProtection):
    """TLS 1.3 record protection (RFC 8446 5.2 - 5.4).

    ``TLS13Protection(suite, key, iv, padding=None)``: ``padding`` is a
    :data:`PaddingPolicy`, or None for no padding.
    """

    hides_content_type = True

    def _padding_for(self, content_type: int, length: int) -> int:
        if self.padding is None:
            return 0
        pad = self.padding(content_type, length)
        if pad < 0:
            raise InternalError(f"padding policy returned {pad}")
        # RFC 8446 5.4: content + type + padding never exceeds 2^14 + 1.
        return min(pad, MAX_INNER_PLAINTEXT_LENGTH - 1 - length)

    def seal(self, content_type: int, data: bytes | bytearray | memoryview) -> bytes:
        # The bulk send path: the checks of _check_plaintext_size, _next_seq
        # and _xor_nonce are written out here (measured: each call costs
        # about as much as a 16 KiB copy).
        length = len(data)
        if length > MAX_PLAINTEXT_LENGTH:
            self._check_plaintext_size(length)
        seq = self.seq
        if seq > MAX_SEQ:
            self._next_seq()
        # RFC 8446 5.2: TLSInnerPlaintext = content || type || zeros[pad].
        if self.padding is None:
            inner = b"".join((data, _TYPE_BYTES[content_type]))
        else:
            pad = self._padding_for(content_type, length)
            inner = b"".join((data, _TYPE_BYTES[content_type], bytes(pad)))
        # RFC 8446 5.2: the additional data is the record header itself.
        header = _pack_header(_APPLICATION_DATA, 0x0303, len(inner) + TAG_LENGTH)
        nonce = (self._iv_int ^ seq).to_bytes(12, "big")
        fragment = self._aead.encrypt(nonce, inner, header)
        self.seq = seq + 1
        return header + fragment

    def open(self, rec: Record) -> tuple[int, bytes]:
        if rec.content_type != _APPLICATION_DATA:
            raise UnexpectedMessage(
                f"unprotected record of type {rec.content_type} after keys were set"
            )
        return split_inner_plaintext(self.open_inner(rec.header, rec.fragment))

    def open_inner(self, header: bytes, fragment: bytes | memoryview) -> bytes:
        """Decrypt one record body to its TLSInnerPlaintext (RFC 8446 5.2).

        ``header`` is the record header as received (the additional data);
        the caller has checked that its type is application_data.  The
        content type and any padding are still on the end.
        """
        length = len(fragment)
        if length > MAX_TLS13_CIPHERTEXT_LENGTH:
            raise RecordOverflow(f"protected record of {length} bytes is too long")
        if length < TAG_LENGTH:
            raise BadRecordMac("protected record shorter than the AEAD tag")
        seq = self.seq
        if seq > MAX_SEQ:
            self._next_seq()
        try:
            inner = self._aead.decrypt((self._iv_int ^ seq).to_bytes(12, "big"), fragment, header)
        except InvalidTag:
            # RFC 8446 5.2: deprotection failure is bad_record_mac.
            raise BadRecordMac("record authentication failed") from None
        self.seq = seq + 1
        if len(inner) > MAX_INNER_PLAINTEXT_LENGTH:
            raise RecordOverflow(f"TLSInnerPlaintext of {len(inner)} bytes is too long")
        return inner


def split_inner_plaintext(inner: bytes) -> tuple[int, bytes]:
    """The (content type, content) of a TLSInnerPlaintext, type checked."""
    if inner and inner[-1]:
        # The common case: no padding, so no scan and one copy.
        content_type, content = inner[-1], inner[:-1]
    else:
        content_type, content = _strip_padding(inner)
    if content_type not in _TLS13_INNER_TYPES:
        raise UnexpectedMessage(f"protected record with inner content type {content_type}")
    return content_type, content


def _strip_padding(inner: bytes) -> tuple[int, bytes]:
    """Strip the zero padding, then the content type (RFC 8446 5.4)."""
    end = len(inner.rstrip(b"\x00"))
    if end == 0:
        # RFC 8446 5.4: no non-zero octet in the cleartext.
        raise UnexpectedMessage("protected record has no content type (all zero)")
    return inner[end - 1], inner[: end - 1]


class TLS12AEADProtection(_AEADProtection):
    """TLS 1.2 AEAD records: AES-GCM (RFC 5288) and ChaCha20-Poly1305 (RFC 7905).

    ``salt_or_iv`` is the client/server_write_IV from the key block: 4 bytes
    of implicit salt for AES-GCM, a 12-byte IV for ChaCha20-Poly1305.
    """

    def __init__(
        self,
        suite: CipherSuiteInfo,
        key: bytes,
        salt_or_iv: bytes,
        version: int = _TLS12,
    ) -> None:
        super().__init__(suite, key, salt_or_iv)
        self.version = version
        # RFC 5288 3: GCM sends an 8-byte explicit nonce; RFC 7905 2: ChaCha20
        # derives its whole nonce from the IV and sends none.
        self._explicit = suite.iv_length == 4
        self._salt = salt_or_iv
        self._explicit_length = 8 if self._explicit else 0

    def _nonce(self, seq: int, explicit: bytes) -> bytes:
        if self._explicit:
            return self._salt + explicit
        return self._xor_nonce(seq)

    @staticmethod
    def _aad(seq: int, content_type: int, version: int, length: int) -> bytes:
        # RFC 5246 6.2.3.3: seq_num || type || version || length (of plaintext).
        return seq.to_bytes(8, "big") + _header(content_type, version, length)

    def seal(self, content_type: int, data: bytes | bytearray | memoryview) -> bytes:
        self._check_plaintext_size(len(data))
        seq = self._next_seq()
        # The sequence number is a fine explicit nonce: unique per key
        # (RFC 5288 3 allows it; it is what most implementations send).
        explicit = seq.to_bytes(8, "big") if self._explicit else b""
        aad = self._aad(seq, content_type, self.version, len(data))
        sealed = self._aead.encrypt(self._nonce(seq, explicit), data, aad)
        self.seq = seq + 1
        length = self._explicit_length + len(sealed)
        return b"".join((_header(content_type, self.version, length), explicit, sealed))

    def open(self, rec: Record) -> tuple[int, bytes]:
        if rec.content_type not in _TLS12_PROTECTED_TYPES:
            # A change_cipher_spec after keys are active is out of order.
            raise UnexpectedMessage(f"record of type {rec.content_type} after keys were set")
        fragment = rec.fragment
        if len(fragment) > MAX_TLS12_CIPHERTEXT_LENGTH:
            raise RecordOverflow(f"protected record of {len(fragment)} bytes is too long")
        plain_length = len(fragment) - self._explicit_length - TAG_LENGTH
        if plain_length < 0:
            raise BadRecordMac("protected record shorter than nonce and tag")
        if plain_length > MAX_PLAINTEXT_LENGTH:
            raise RecordOverflow(f"record plaintext of {plain_length} bytes is too long")
        seq = self._next_seq()
        explicit = fragment[: self._explicit_length]
        aad = self._aad(seq, rec.content_type, rec.legacy_version, plain_length)
        ciphertext = memoryview(fragment)[self._explicit_length :]
        plaintext = self._decrypt(self._nonce(seq, explicit), ciphertext, aad)
        self.seq = seq + 1
        return rec.content_type, plaintext
