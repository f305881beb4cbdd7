"""The record layer as the connection sees it (RFC 8446 5).

``feed`` bytes in, ``read`` (content type, plaintext) out; ``write`` content
and get the bytes of whole records back.  The layer holds the current read
and write protection and enforces the record-level rules, but decides
nothing about the handshake: a change_cipher_spec record, for instance, is
handed up and the connection chooses whether to drop it.
"""

from __future__ import annotations

from collections.abc import Callable

from puretls.enums import ContentType
from puretls.errors import BadRecordMac, TLSError, UnexpectedMessage
from puretls.record.deframer import (
    MAX_PLAINTEXT_LENGTH,
    MAX_TLS13_CIPHERTEXT_LENGTH,
    Record,
    RecordDeframer,
    check_fragment,
)
from puretls.record.fragment import fragment
from puretls.record.protection import (
    TAG_LENGTH,
    NullProtection,
    RecordProtection,
    TLS13Protection,
    split_inner_plaintext,
)

_CCS = int(ContentType.change_cipher_spec)
_APPLICATION_DATA = int(ContentType.application_data)
_ALERT = int(ContentType.alert)
_APPLICATION_DATA_TYPE = bytes((_APPLICATION_DATA,))

# What a skipped record is charged against the early data budget: its
# fragment less the smallest TLS 1.3 overhead (tag and inner content type).
# RFC 8446 4.6.1 counts only application data payload, so an honest client
# that sends exactly max_early_data_size is never over budget.
_MIN_PROTECTED_OVERHEAD = TAG_LENGTH + 1

RecordObserver = Callable[[str, int, bytes, bytes, "int | None"], None]
"""``observer(direction, content_type, content, record, seq)`` for puretls.trace:
the real content type and content, the whole record as on the wire, and the
sequence number of a protected record (None for a plaintext one)."""


def _as_bytes(fragment: bytes | memoryview) -> bytes:
    return fragment if isinstance(fragment, bytes) else fragment.tobytes()


class RecordLayer:
    """Deframes, deprotects, fragments and protects records for one connection."""

    def __init__(
        self,
        max_record_length: int = MAX_TLS13_CIPHERTEXT_LENGTH,
        max_fragment_length: int = MAX_PLAINTEXT_LENGTH,
    ) -> None:
        self._deframer = deframer = RecordDeframer(max_record_length)
        # Receiving: ``feed(data)`` adds received bytes (a fed bytearray is
        # borrowed until ``settle()``, which copies what is left unread).
        # Both are the deframer's own methods, bound here once so that a
        # received chunk costs no wrapper call.
        self.feed = deframer.feed
        self.settle = deframer.settle
        self._read: RecordProtection = NullProtection()
        self._write: RecordProtection = NullProtection()
        # Plaintext bytes per outgoing record.  RFC 8449 record_size_limit
        # in TLS 1.3 counts the inner content type too: set it to limit - 1.
        self.max_fragment_length = max_fragment_length
        # Records read / written under the current key, for key-update policy.
        self.records_read = 0
        self.records_written = 0
        self._skip_budget: int | None = None
        self.early_data_skipped = 0
        # Set by a traced connection only; None costs one check per record.
        self.observer: RecordObserver | None = None
        # What a coalescing read decrypted past the application data it
        # returned: the next record's (type, content), or the error it raised.
        self._stashed: tuple[int, bytes] | None = None
        self._stashed_error: TLSError | None = None

    # -- configuration -------------------------------------------------------

    @property
    def max_record_length(self) -> int:
        """The largest record length field accepted (2^14 + 2048 for TLS 1.2)."""
        return self._deframer.max_record_length

    @max_record_length.setter
    def max_record_length(self, value: int) -> None:
        self._deframer.max_record_length = value

    @property
    def read_protection(self) -> RecordProtection:
        return self._read

    @property
    def write_protection(self) -> RecordProtection:
        return self._write

    def set_read_protection(self, protection: RecordProtection) -> None:
        self._read = protection
        self.records_read = 0

    def set_write_protection(self, protection: RecordProtection) -> None:
        self._write = protection
        self.records_written = 0

    @property
    def buffered(self) -> int:
        """Received bytes that do not yet form a whole record."""
        return self._deframer.buffered

    # -- early data skipping (RFC 8446 4.2.10) -------------------------------

    @property
    def skipping_early_data(self) -> bool:
        return self._skip_budget is not None

    def skip_early_data(self, budget: int) -> None:
        """Drop 0-RTT records the server will not read, up to ``budget`` bytes.

        RFC 8446 4.2.10: a server that rejects early data skips records that
        fail to deprotect under its current read key; after a
        HelloRetryRequest (read protection still plaintext) it skips every
        application_data record.  The first record that deprotects ends
        skipping; so does :meth:`stop_skipping_early_data`.
        """
        self._skip_budget = budget

    def stop_skipping_early_data(self) -> None:
        self._skip_budget = None

    def _charge_skipped(self, fragment_length: int) -> None:
        assert self._skip_budget is not None
        cost = max(0, fragment_length - _MIN_PROTECTED_OVERHEAD)
        self.early_data_skipped += cost
        self._skip_budget -= cost
        if self._skip_budget < 0:
            raise BadRecordMac(
                f"too much early data skipped: {self.early_data_skipped} bytes, "
                "more than max_early_data_size"
            )

    # -- receiving -----------------------------------------------------------

    def discard_received(self) -> None:
        """Forget received bytes not yet read (the connection failed)."""
        self._deframer.clear()
        self._stashed = None
        self._stashed_error = None

    def read(self, coalesce: bool = False) -> tuple[int, bytes] | None:
        """The next (content type, plaintext), or None until more bytes arrive.

        With ``coalesce``, consecutive TLS 1.3 application_data records come
        back as one item (the API promises no record boundaries to the
        application); any other record ends the run and is returned by the
        next call, so the order of everything else is unchanged.
        """
        if self._stashed_error is not None:
            error, self._stashed_error = self._stashed_error, None
            raise error
        stashed = self._stashed
        if stashed is not None:
            self._stashed = None
            return stashed
        read = self._read
        if (
            coalesce
            and self.observer is None
            and self._skip_budget is None
            and isinstance(read, TLS13Protection)
        ):
            # The bulk receive path: decrypt records in place and join their
            # data.  Each part is a TLSInnerPlaintext without padding:
            # content || type.
            parts: list[bytes] = []
            item: tuple[int, bytes] | None
            try:
                item = self._next_protected(read, parts)
            except TLSError as exc:
                if not parts:
                    raise
                # Deliver what came before the bad record first, as a record-
                # by-record read would have; the error follows on the next read.
                self._stashed_error = exc
                item = None
            if parts:
                self._stashed = item
                if len(parts) == 1:
                    return _APPLICATION_DATA, parts[0][:-1]
                return _APPLICATION_DATA, b"".join([memoryview(part)[:-1] for part in parts])
            return item
        deframer = self._deframer
        while (raw := deframer.next_raw()) is not None:
            result = self._receive(*raw)
            if result is not None:
                if self.observer is not None:
                    self._observe_received(raw[0], raw[1], *result)
                return result
        return None

    def _next_protected(
        self, protection: TLS13Protection, parts: list[bytes]
    ) -> tuple[int, bytes] | None:
        """Append application data to ``parts`` until another record type comes."""
        deframer = self._deframer
        while (raw := deframer.next_raw()) is not None:
            header, fragment = raw
            if header[0] != _APPLICATION_DATA:
                # A clear alert or CCS (or a record that is an error here).
                return self._receive(header, fragment)
            inner = protection.open_inner(header, fragment)
            self.records_read += 1
            if inner and inner[-1] == _APPLICATION_DATA:
                # No padding: the content is all but the type byte, and at
                # most 2^14 bytes since open_inner checked the inner length.
                parts.append(inner)
                continue
            content_type, content = split_inner_plaintext(inner)
            check_fragment(content_type, len(content))
            if content_type != _APPLICATION_DATA:
                return content_type, content
            parts.append(content + _APPLICATION_DATA_TYPE)
        return None

    def _observe_received(
        self, header: bytes, fragment: bytes | memoryview, content_type: int, content: bytes
    ) -> None:
        assert self.observer is not None
        read = self._read
        # A clear alert or CCS may arrive under TLS 1.3 keys (see _receive).
        protected = read.protected and not (
            read.hides_content_type and header[0] != _APPLICATION_DATA
        )
        seq = read.seq - 1 if protected else None
        self.observer("received", content_type, content, header + fragment, seq)

    def _receive(self, header: bytes, fragment: bytes | memoryview) -> tuple[int, bytes] | None:
        """The (type, content) of one record from the deframer, or None if skipped.

        The records of a normal handshake are read from the header and the
        fragment as they lie; a :class:`Record` is built only for the rest
        (TLS 1.2, skipped 0-RTT, records that are an error here).
        """
        protection = self._read
        content_type = header[0]
        if isinstance(protection, TLS13Protection):
            if content_type == _APPLICATION_DATA:
                if self._skip_budget is None:
                    inner = protection.open_inner(header, fragment)
                    self.records_read += 1
                    content_type, content = split_inner_plaintext(inner)
                    if not content:
                        # open_inner bounded the length; the empty rule is left.
                        check_fragment(content_type, 0)
                    return content_type, content
            elif content_type == _CCS or (content_type == _ALERT and not self.records_read):
                # RFC 8446 5: an unprotected change_cipher_spec may arrive
                # while handshake keys are in use (middlebox compatibility,
                # D.4); and a peer that failed before deriving its keys (e.g.
                # on our ServerHello) can only send its alert in clear.
                check_fragment(content_type, len(fragment))
                return content_type, fragment if type(fragment) is bytes else bytes(fragment)
        elif isinstance(protection, NullProtection):
            return self._receive_plaintext(protection, content_type, fragment)
        return self._receive_record(
            Record(
                content_type=content_type,
                legacy_version=(header[1] << 8) | header[2],
                fragment=_as_bytes(fragment),
                header=header,
            )
        )

    def _receive_record(self, rec: Record) -> tuple[int, bytes] | None:
        protection = self._read
        if self._skip_budget is not None and rec.content_type == _APPLICATION_DATA:
            try:
                content_type, data = protection.open(rec)
            except BadRecordMac:
                self._charge_skipped(len(rec.fragment))
                return None
            self._skip_budget = None
        else:
            content_type, data = protection.open(rec)
        check_fragment(content_type, len(data))
        self.records_read += 1
        return content_type, data

    def _receive_plaintext(
        self, protection: NullProtection, content_type: int, fragment: bytes | memoryview
    ) -> tuple[int, bytes] | None:
        if content_type == _APPLICATION_DATA:
            if self._skip_budget is not None:
                # After a HelloRetryRequest: 0-RTT records we cannot read.
                self._charge_skipped(len(fragment))
                return None
            raise UnexpectedMessage("application_data record before keys were established")
        check_fragment(content_type, len(fragment))
        self.records_read += 1
        return protection.open_fragment(
            content_type, fragment if type(fragment) is bytes else bytes(fragment)
        )

    # -- sending -------------------------------------------------------------

    def write(self, content_type: int, data: bytes | bytearray | memoryview) -> bytes:
        """The bytes of the records that carry ``data`` (none if it is empty)."""
        protection = self._write
        if content_type == _CCS and protection.hides_content_type:
            # RFC 8446 D.4: the compatibility change_cipher_spec goes out as a
            # plaintext record even when handshake keys are already set (and
            # uses none of their sequence numbers).
            protection = NullProtection()
        if 0 < len(data) <= self.max_fragment_length and self.observer is None:
            # One record: no fragmenting, no list, no join.
            record = protection.seal(content_type, data)
            if protection is self._write:
                self.records_written += 1
            return record
        records = [
            protection.seal(content_type, piece)
            for piece in fragment(data, self.max_fragment_length)
        ]
        if protection is self._write:
            self.records_written += len(records)
        if self.observer is not None:
            first = protection.seq - len(records)
            pieces = fragment(data, self.max_fragment_length)
            for i, (piece, record) in enumerate(zip(pieces, records, strict=True)):
                seq = first + i if protection.protected else None
                self.observer("sent", content_type, bytes(piece), record, seq)
        return b"".join(records)
