"""The one place the handshake turns certificate bytes into a public key."""

from __future__ import annotations

import functools

from cryptography import x509

from puretls.crypto.signatures import PublicKey
from puretls.enums import AlertDescription
from puretls.errors import TLSError


@functools.lru_cache(maxsize=256)
def public_key_from_der(der: bytes) -> PublicKey:
    """The subject public key of a DER certificate (RFC 8446 4.4.2.4).

    Cached by the certificate bytes: a client meets the same server
    certificate again and again, and parsing plus key loading cost more
    than the rest of the client's protocol work.  Failures are not cached.
    """
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError as exc:
        raise TLSError(
            f"peer certificate does not parse: {exc}", alert=AlertDescription.bad_certificate
        ) from exc
    except Exception as exc:  # unsupported key algorithms raise UnsupportedAlgorithm
        raise TLSError(
            f"peer certificate key is not supported: {exc}",
            alert=AlertDescription.unsupported_certificate,
        ) from exc
    return key  # type: ignore[return-value]
