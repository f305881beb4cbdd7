"""The ``ssl``-module-compatible face of puretls.

``import puretls as ssl`` gives a program written for the stdlib's ``ssl``
module the same names, backed by puretls: ``SSLContext``, ``SSLObject``
(``wrap_bio``), ``SSLSocket`` (``wrap_socket``), the constants and the
stdlib's own exception classes.
"""

from __future__ import annotations

import os
import socket
import ssl
from ssl import (
    CertificateError,
    DER_cert_to_PEM_cert,
    PEM_cert_to_DER_cert,
    SSLCertVerificationError,
    SSLEOFError,
    SSLError,
    SSLSyscallError,
    SSLWantReadError,
    SSLWantWriteError,
    SSLZeroReturnError,
)
from typing import Any

from puretls.sslcompat import constants as _constants
from puretls.sslcompat.constants import *  # noqa: F403 - the stdlib's names, by design
from puretls.sslcompat.context import (
    SSLContext,
    create_default_context,
)
from puretls.sslcompat.context import (
    _create_unverified_context as _create_unverified_context,
)
from puretls.sslcompat.sslobject import SSLObject
from puretls.sslcompat.sslsocket import SSLSocket

SSLContext.sslsocket_class = SSLSocket
SSLContext.sslobject_class = SSLObject

socket_error = OSError
_create_default_https_context = create_default_context


def RAND_bytes(n: int, /) -> bytes:
    """Random bytes from the OS, like the stdlib's (OpenSSL) RAND_bytes."""
    if n < 0:
        raise ValueError("num must be positive")
    return os.urandom(n)


def RAND_status() -> bool:
    return True


def RAND_add(string: str | bytes, entropy: float, /) -> None:
    """Accepted and ignored: the OS entropy pool needs no seeding."""


def get_server_certificate(
    addr: tuple[str, int],
    ssl_version: int = PROTOCOL_TLS_CLIENT,  # noqa: F405
    ca_certs: str | None = None,
    timeout: float | None = None,
) -> str:
    """The server's leaf certificate as PEM, like ``ssl.get_server_certificate``."""
    host = addr[0]
    if ca_certs is not None:
        context = SSLContext(ssl_version)
        context.load_verify_locations(cafile=ca_certs)
    else:
        context = SSLContext(PROTOCOL_TLS_CLIENT)  # noqa: F405
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(addr, timeout=timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der: Any = tls.getpeercert(True)
    return DER_cert_to_PEM_cert(der)


__all__: list[str] = [
    *_constants.__all__,
    "CertificateError",
    "DER_cert_to_PEM_cert",
    "PEM_cert_to_DER_cert",
    "RAND_add",
    "RAND_bytes",
    "RAND_status",
    "SSLCertVerificationError",
    "SSLContext",
    "SSLEOFError",
    "SSLError",
    "SSLObject",
    "SSLSocket",
    "SSLSyscallError",
    "SSLWantReadError",
    "SSLWantWriteError",
    "SSLZeroReturnError",
    "create_default_context",
    "get_server_certificate",
    "socket_error",
]
