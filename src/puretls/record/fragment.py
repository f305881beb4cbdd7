"""Cut outgoing data into record-sized pieces (RFC 8446 5.1).

Pieces are memoryviews into the caller's data, so no byte is copied here;
the protection copies once when it seals.
"""

from __future__ import annotations

from collections.abc import Iterator

from puretls.record.deframer import MAX_PLAINTEXT_LENGTH


def fragment(
    data: bytes | bytearray | memoryview,
    max_len: int = MAX_PLAINTEXT_LENGTH,
    *,
    allow_empty: bool = False,
) -> Iterator[memoryview]:
    """Yield consecutive chunks of at most ``max_len`` bytes.

    Empty data yields nothing: handshake fragments must never be empty
    (RFC 8446 5.1) and an empty application_data record carries nothing.
    ``allow_empty`` yields one empty chunk instead, for a caller that wants
    an empty record on purpose.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")
    view = memoryview(data)
    if not view:
        if allow_empty:
            yield view
        return
    for start in range(0, len(view), max_len):
        yield view[start : start + max_len]
