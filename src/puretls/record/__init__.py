"""The record layer (RFC 8446 5, RFC 5246 6.2).

- :mod:`.deframer`: bytes -> :class:`Record`, header and length checks.
- :mod:`.protection`: plaintext, TLS 1.3 and TLS 1.2 AEAD record protection.
- :mod:`.reassembly`: handshake fragments -> whole handshake messages.
- :mod:`.fragment`: outgoing data -> record-sized pieces.
- :mod:`.layer`: :class:`RecordLayer`, what the connection drives.
"""

from puretls.record.deframer import Record, RecordDeframer, check_plaintext_record
from puretls.record.fragment import fragment
from puretls.record.layer import RecordLayer
from puretls.record.protection import (
    NullProtection,
    RecordProtection,
    TLS12AEADProtection,
    TLS13Protection,
)
from puretls.record.reassembly import HandshakeReassembler

__all__ = [
    "HandshakeReassembler",
    "NullProtection",
    "Record",
    "RecordDeframer",
    "RecordLayer",
    "RecordProtection",
    "TLS12AEADProtection",
    "TLS13Protection",
    "check_plaintext_record",
    "fragment",
]
