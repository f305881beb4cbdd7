"""Trust anchors, loaded the way OpenSSL's ``load_verify_locations`` and
``set_default_verify_paths`` do, with the built verification ``Store`` cached.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import (
    Store,
)

# --------------------------------------------------------------------------
# Trust anchors
# --------------------------------------------------------------------------

_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
# OpenSSL's c_rehash names: 8 hex digits of the subject hash, ".", a counter.
# ".r<n>" files hold CRLs and are not anchors.
_HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.[0-9]+$")
_BUNDLE_SUFFIXES = (".pem", ".crt")
_DEBIAN_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        # OpenSSL's X509_check_ca counts self-signed v1 certificates as CAs.
        return cert.version is x509.Version.v1 and cert.subject == cert.issuer
    except ValueError:
        return False


def _parse_pem_certs(data: bytes, *, strict: bool) -> list[x509.Certificate]:
    certs = []
    with warnings.catch_warnings():
        # Some system roots carry a zero serial number; cryptography warns
        # about each, but OpenSSL has always accepted them as anchors.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for match in _PEM_CERT.finditer(data):
            try:
                cert = x509.load_pem_x509_certificate(match.group(0))
                _is_ca(cert)  # parses the extensions now, under the filter
                certs.append(cert)
            except ValueError:
                if strict:
                    raise ValueError("malformed PEM certificate") from None
    return certs


class TrustStore:
    """The trust anchors a verifier accepts, deduplicated, in insertion order.

    Loading is configuration, done before any handshake: errors are plain
    ``ValueError`` / ``OSError``, which the ssl-compatible layer turns into
    ``ssl.SSLError`` as the stdlib would.
    """

    def __init__(self, certificates: Iterable[x509.Certificate] = ()) -> None:
        self._anchors: dict[bytes, x509.Certificate] = {}
        self._store: Store | None = None
        for cert in certificates:
            self.add_certificate(cert)

    def add_certificate(self, cert: x509.Certificate) -> bool:
        """Add one anchor; False if it was already present."""
        key = cert.public_bytes(serialization.Encoding.DER)
        if key in self._anchors:
            return False
        self._anchors[key] = cert
        self._store = None  # anchors changed: rebuild lazily
        return True

    def _add_all(self, certs: Iterable[x509.Certificate]) -> int:
        return sum(self.add_certificate(c) for c in certs)

    def add_pem(self, data: bytes | str) -> int:
        """Add every ``CERTIFICATE`` block; returns how many were new."""
        raw = data.encode("ascii") if isinstance(data, str) else data
        certs = _parse_pem_certs(raw, strict=True)
        if not certs:
            raise ValueError("no certificate found in PEM data")
        return self._add_all(certs)

    def add_der(self, data: bytes) -> int:
        """Add one DER certificate; returns 1 if it was new."""
        try:
            cert = x509.load_der_x509_certificate(bytes(data))
        except ValueError:
            raise ValueError("malformed DER certificate") from None
        return int(self.add_certificate(cert))

    def add_cafile(self, path: str | os.PathLike[str]) -> int:
        """Add the certificates of a PEM bundle (``load_verify_locations(cafile=)``)."""
        return self.add_pem(Path(path).read_bytes())

    def add_capath(self, directory: str | os.PathLike[str]) -> int:
        """Add anchors from an OpenSSL hashed directory (``c_rehash`` / ``openssl rehash``).

        OpenSSL looks files up lazily by subject hash; loading all of them
        up front gives the same set of anchors.  ``*.pem`` / ``*.crt`` files
        are read too, so an un-hashed directory of certificates also works.
        Files that hold no parsable certificate are skipped, as OpenSSL does.
        """
        added = 0
        for entry in sorted(Path(directory).iterdir()):
            if not (_HASHED_NAME.match(entry.name) or entry.suffix in _BUNDLE_SUFFIXES):
                continue
            try:
                data = entry.read_bytes()
            except OSError:  # dangling symlink, directory, permissions
                continue
            added += self._add_all(_parse_pem_certs(data, strict=False))
        return added

    def load_default(self) -> int:
        """Add the system's anchors: OpenSSL's default paths, then certifi if installed."""
        import ssl  # only for the paths OpenSSL was built with; no sockets

        paths = ssl.get_default_verify_paths()
        files = [paths.cafile, paths.openssl_cafile, _DEBIAN_BUNDLE]
        dirs = [paths.capath, paths.openssl_capath]
        try:
            import certifi  # type: ignore[import-not-found, unused-ignore]

            files.append(certifi.where())
        except ImportError:
            pass
        added = 0
        for file in dict.fromkeys(f for f in files if f):
            if os.path.isfile(file):
                added += self._add_all(_parse_pem_certs(Path(file).read_bytes(), strict=False))
        for folder in dict.fromkeys(d for d in dirs if d):
            if os.path.isdir(folder):
                added += self.add_capath(folder)
        return added

    def certificates(self) -> list[x509.Certificate]:
        return list(self._anchors.values())

    def __len__(self) -> int:
        return len(self._anchors)

    def __contains__(self, cert: object) -> bool:
        if not isinstance(cert, x509.Certificate):
            return False
        return cert.public_bytes(serialization.Encoding.DER) in self._anchors

    def contains_der(self, der: bytes) -> bool:
        """Whether the certificate encoded as ``der`` is an anchor.

        The bytes a peer sent, looked up as they are: cryptography parses
        strict DER only, so they equal the parsed certificate's re-encoding,
        which ``in`` would compute again on every handshake.
        """
        return der in self._anchors

    def stats(self) -> dict[str, int]:
        """Like ``ssl.SSLContext.cert_store_stats()``."""
        return {
            "x509": len(self._anchors),
            "crl": 0,
            "x509_ca": sum(_is_ca(c) for c in self._anchors.values()),
        }

    def x509_store(self) -> Store | None:
        """The cached ``cryptography`` Store; None when there are no anchors."""
        if self._store is None and self._anchors:
            self._store = Store(list(self._anchors.values()))
        return self._store
