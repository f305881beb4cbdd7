"""Certificate compression (RFC 8879): algorithms, compressing, inflating safely.

zlib is always available; brotli and zstd join when their Python packages
(``brotli``, ``zstandard``) are importable.  Inflating is bounded: a peer
cannot make us allocate more than the configured limit (RFC 8879 5: the
decompressed size is announced and must match; anything beyond the limit or
any decompression error is answered with bad_certificate).
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from puretls.enums import AlertDescription
from puretls.errors import CertificateError, IllegalParameter
from puretls.messages import Certificate, CompressedCertificate


class CertificateCompressionAlgorithm(IntEnum):
    """RFC 8879 7.3 registry."""

    zlib = 1
    brotli = 2
    zstd = 3


@dataclass(frozen=True, slots=True)
class _Codec:
    compress: Callable[[bytes], bytes]
    # (data, limit) -> at most limit + 1 bytes, so overflow is detectable.
    decompress: Callable[[bytes, int], bytes]


def _zlib_decompress(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit + 1)
    # A truncated stream, or trailing bytes after it (unless the limit hit first).
    if (not inflater.eof or inflater.unused_data) and len(out) <= limit:
        raise ValueError("the zlib stream is truncated or has trailing data")
    return out


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _brotli_codec() -> _Codec | None:
    brotli = _optional("brotli")
    if brotli is None:
        return None

    def decompress(data: bytes, limit: int) -> bytes:
        inflater = brotli.Decompressor()
        out = bytearray()
        # Feed in small pieces so a bomb stops close to the limit.
        for start in range(0, len(data), 1024):
            out += inflater.process(data[start : start + 1024])
            if len(out) > limit:
                return bytes(out)
        if not inflater.is_finished():
            raise ValueError("the brotli stream is truncated")
        return bytes(out)

    return _Codec(compress=brotli.compress, decompress=decompress)


def _zstd_codec() -> _Codec | None:
    zstandard = _optional("zstandard")
    if zstandard is None:
        return None

    def compress(data: bytes) -> bytes:
        return bytes(zstandard.ZstdCompressor().compress(data))

    def decompress(data: bytes, limit: int) -> bytes:
        inflater = zstandard.ZstdDecompressor().decompressobj()
        out = bytearray()
        for start in range(0, len(data), 1024):
            out += inflater.decompress(data[start : start + 1024])
            if len(out) > limit:
                return bytes(out)
        if not inflater.eof:
            raise ValueError("the zstd frame is truncated")
        return bytes(out)

    return _Codec(compress=compress, decompress=decompress)


def _available() -> dict[int, _Codec]:
    codecs: dict[int, _Codec] = {
        CertificateCompressionAlgorithm.zlib: _Codec(
            compress=lambda data: zlib.compress(data, 9), decompress=_zlib_decompress
        )
    }
    for algorithm, codec in (
        (CertificateCompressionAlgorithm.brotli, _brotli_codec()),
        (CertificateCompressionAlgorithm.zstd, _zstd_codec()),
    ):
        if codec is not None:
            codecs[algorithm] = codec
    return codecs


_CODECS = _available()

# Our preference when both sides support several: the densest first.
AVAILABLE_ALGORITHMS: tuple[int, ...] = tuple(
    a
    for a in (
        CertificateCompressionAlgorithm.brotli,
        CertificateCompressionAlgorithm.zstd,
        CertificateCompressionAlgorithm.zlib,
    )
    if a in _CODECS
)


def algorithm_name(algorithm: int) -> str:
    if algorithm in CertificateCompressionAlgorithm._value2member_map_:
        return CertificateCompressionAlgorithm(algorithm).name
    return f"0x{algorithm:04x}"


def check_algorithms(algorithms: Sequence[int]) -> tuple[int, ...]:
    """Configuration check: every name must be one we can actually run."""
    for algorithm in algorithms:
        if algorithm not in _CODECS:
            raise ValueError(
                f"certificate compression {algorithm_name(algorithm)} is not available "
                "(install the 'brotli' or 'zstandard' package)"
            )
    return tuple(algorithms)


def choose_algorithm(ours: Sequence[int], peers: Sequence[int]) -> int | None:
    """RFC 8879 3: the sender picks one the receiver listed; ours decides order."""
    for algorithm in ours:
        if algorithm in peers and algorithm in _CODECS:
            return algorithm
    return None


def compress_certificate(certificate: Certificate, algorithm: int) -> CompressedCertificate:
    """RFC 8879 4: the whole Certificate body, compressed."""
    body = certificate.encode()[4:]
    return CompressedCertificate(
        algorithm=algorithm,
        uncompressed_length=len(body),
        compressed_certificate_message=_CODECS[algorithm].compress(body),
    )


def decompress_certificate(
    message: CompressedCertificate, offered: Sequence[int], limit: int
) -> Certificate:
    """Inflate and decode; everything a peer gets wrong here is bad_certificate."""
    algorithm = message.algorithm
    if algorithm not in offered or algorithm not in _CODECS:
        # RFC 8879 4: an algorithm we did not offer is illegal_parameter.
        raise IllegalParameter(
            f"CompressedCertificate uses {algorithm_name(algorithm)}, which we did not offer"
        )
    if message.uncompressed_length > limit:
        raise CertificateError(
            f"compressed certificate announces {message.uncompressed_length} bytes, "
            f"more than the {limit}-byte limit",
            alert=AlertDescription.bad_certificate,
        )
    try:
        body = _CODECS[algorithm].decompress(message.compressed_certificate_message, limit)
    except Exception as exc:  # each library raises its own error type
        raise CertificateError(
            f"compressed certificate does not decompress ({algorithm_name(algorithm)}): {exc}",
            alert=AlertDescription.bad_certificate,
        ) from None
    if len(body) != message.uncompressed_length:
        raise CertificateError(
            f"compressed certificate inflates to {len(body)}"
            f"{'+' if len(body) > limit else ''} bytes, not the announced "
            f"{message.uncompressed_length}",
            alert=AlertDescription.bad_certificate,
        )
    try:
        return Certificate.decode_body(body)
    except Exception as exc:
        raise CertificateError(
            f"decompressed certificate message is malformed: {exc}",
            alert=AlertDescription.bad_certificate,
        ) from None


__all__ = [
    "AVAILABLE_ALGORITHMS",
    "CertificateCompressionAlgorithm",
    "algorithm_name",
    "check_algorithms",
    "choose_algorithm",
    "compress_certificate",
    "decompress_certificate",
]
