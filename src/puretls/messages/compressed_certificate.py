"""The CompressedCertificate handshake message (RFC 8879 4).

::

    struct {
        CertificateCompressionAlgorithm algorithm;
        uint24 uncompressed_length;
        opaque compressed_certificate_message<1..2^24-1>;
    } CompressedCertificate;

Only the framing lives here; the algorithms (and the limit on what a peer
may make us inflate) are in :mod:`puretls.handshake.certcompress`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from puretls._codec import Reader, Writer, framed
from puretls.enums import HandshakeType

if TYPE_CHECKING:
    from typing_extensions import Self


@dataclass(frozen=True, slots=True, kw_only=True)
class CompressedCertificate:
    msg_type: ClassVar[HandshakeType] = HandshakeType.compressed_certificate
    algorithm: int
    uncompressed_length: int
    compressed_certificate_message: bytes

    def encode(self) -> bytes:
        w = Writer()
        w.u16(self.algorithm)
        w.u24(self.uncompressed_length)
        w.opaque(3, self.compressed_certificate_message)
        return framed(self.msg_type, w)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        r = Reader(body)
        msg = cls(
            algorithm=r.u16(),
            uncompressed_length=r.u24(),
            compressed_certificate_message=r.opaque(3, 1, what="compressed_certificate_message"),
        )
        r.expect_end("CompressedCertificate")
        return msg
