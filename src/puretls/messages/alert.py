"""The Alert message (RFC 8446 6): ``AlertLevel level; AlertDescription description``."""

from __future__ import annotations

from dataclasses import dataclass

from puretls.errors import DecodeError

__all__ = ["Alert"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    level: int
    description: int

    def encode(self) -> bytes:
        return bytes((self.level, self.description))

    @classmethod
    def decode(cls, data: bytes) -> Alert:
        # An alert record holds exactly one 2-byte alert; RFC 8446 5.1 forbids
        # empty alert records and alerts are never fragmented.
        if len(data) != 2:
            raise DecodeError(f"alert must be 2 bytes, got {len(data)}")
        return cls(level=data[0], description=data[1])
