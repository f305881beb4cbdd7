"""Certificate and authentication settings of :class:`SSLContext` beyond the stdlib.

The stdlib's ``ssl`` has no API for OCSP stapling, certificate compression
or certificate_authorities; these follow the names other Python TLS APIs
use where there is one (``ocsp_stapling``, ``set_ocsp_response``) and are
plain attributes otherwise.  Kept apart from ``context.py`` so that file
stays the stdlib's surface.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from puretls.handshake.certcompress import (
    AVAILABLE_ALGORITHMS,
    CertificateCompressionAlgorithm,
    algorithm_name,
    check_algorithms,
)
from puretls.ocsp import ocsp_response_serial
from puretls.verify import TrustStore

OCSPCallback = Callable[[bytes], "bytes | None"]


def _algorithm(value: str | int) -> int:
    if isinstance(value, str):
        try:
            return CertificateCompressionAlgorithm[value.lower()].value
        except KeyError:
            raise ValueError(f"unknown certificate compression algorithm {value!r}") from None
    return int(value)


class CertificateSettings:
    """Mixed into SSLContext: OCSP, compression, strict SNI, CA names."""

    _pt_trust: TrustStore
    _pt_verify_mode: ssl.VerifyMode
    _pt_post_handshake_auth: bool

    def _pt_init_certificate_settings(self) -> None:
        self._pt_ocsp_by_serial: dict[int, bytes] = {}
        self._pt_ocsp_callback: OCSPCallback | None = None
        self._pt_ocsp_stapling = False
        self._pt_ocsp_must_staple = False
        self._pt_strict_server_name = False
        self._pt_send_ca_names = False
        self._pt_compression: tuple[int, ...] = ()

    # -- OCSP stapling -------------------------------------------------------

    @property
    def ocsp_stapling(self) -> bool:
        """Client: ask the server for a stapled OCSP response and check it."""
        return self._pt_ocsp_stapling

    @ocsp_stapling.setter
    def ocsp_stapling(self, value: bool) -> None:
        self._pt_ocsp_stapling = bool(value)

    @property
    def ocsp_must_staple(self) -> bool:
        """Client: fail the handshake when the server staples nothing."""
        return self._pt_ocsp_must_staple

    @ocsp_must_staple.setter
    def ocsp_must_staple(self, value: bool) -> None:
        self._pt_ocsp_must_staple = bool(value)

    def set_ocsp_response(self, response: bytes) -> None:
        """Server: staple this DER OCSPResponse for the certificate it is about."""
        serial = ocsp_response_serial(bytes(response))
        if serial is None:
            raise ValueError("not a successful DER OCSP response")
        # A new dict, not an update in place: SSLContext counts attribute
        # sets to know when its shared configs are stale.
        self._pt_ocsp_by_serial = {**self._pt_ocsp_by_serial, serial: bytes(response)}

    @property
    def ocsp_response_callback(self) -> OCSPCallback | None:
        """Server: ``callback(leaf_der) -> der or None``, asked on each handshake."""
        return self._pt_ocsp_callback

    @ocsp_response_callback.setter
    def ocsp_response_callback(self, callback: OCSPCallback | None) -> None:
        if callback is not None and not callable(callback):
            raise TypeError("not a callable object")
        self._pt_ocsp_callback = callback

    def _pt_staple_for(self, leaf_der: bytes) -> bytes | None:
        if self._pt_ocsp_callback is not None:
            staple = self._pt_ocsp_callback(leaf_der)
            if staple is not None:
                return bytes(staple)
        if not self._pt_ocsp_by_serial:
            return None
        serial = x509.load_der_x509_certificate(leaf_der).serial_number
        return self._pt_ocsp_by_serial.get(serial)

    # -- names and compression -----------------------------------------------

    @property
    def strict_server_name(self) -> bool:
        """Server: answer a server_name no certificate covers with unrecognized_name."""
        return self._pt_strict_server_name

    @strict_server_name.setter
    def strict_server_name(self, value: bool) -> None:
        self._pt_strict_server_name = bool(value)

    @property
    def send_ca_names(self) -> bool:
        """Server: list the loaded CAs in CertificateRequest (certificate_authorities)."""
        return self._pt_send_ca_names

    @send_ca_names.setter
    def send_ca_names(self, value: bool) -> None:
        self._pt_send_ca_names = bool(value)

    @property
    def certificate_compression(self) -> tuple[str, ...]:
        """RFC 8879 algorithms, by preference: ``("zlib",)``; empty turns it off."""
        return tuple(algorithm_name(a) for a in self._pt_compression)

    @certificate_compression.setter
    def certificate_compression(self, algorithms: Iterable[str | int]) -> None:
        if isinstance(algorithms, str):
            algorithms = [algorithms]
        self._pt_compression = check_algorithms([_algorithm(a) for a in algorithms])

    @staticmethod
    def available_certificate_compression() -> tuple[str, ...]:
        """The algorithms this installation can run (zlib, plus brotli/zstd if installed)."""
        return tuple(algorithm_name(a) for a in AVAILABLE_ALGORITHMS)

    # -- into TLSConfig ----------------------------------------------------------

    def _pt_certificate_options(self, server_side: bool) -> dict[str, Any]:
        options: dict[str, Any] = {
            "post_handshake_auth": self._pt_post_handshake_auth,
            "certificate_compression": self._pt_compression,
        }
        if server_side:
            options["strict_server_name"] = self._pt_strict_server_name
            if self._pt_ocsp_callback is not None or self._pt_ocsp_by_serial:
                options["ocsp_responses"] = self._pt_staple_for
            if self._pt_send_ca_names and self._pt_verify_mode != ssl.CERT_NONE:
                options["certificate_authorities"] = tuple(
                    cert.subject.public_bytes(serialization.Encoding.DER)
                    for cert in self._pt_trust.certificates()
                )
        else:
            options["ocsp_stapling"] = self._pt_ocsp_stapling
            options["ocsp_must_staple"] = self._pt_ocsp_must_staple
        return options
