"""Certificate chain and peer identity checks (RFC 8446 4.4.2.4, RFC 5280, RFC 6125).

The decision is always pyca/cryptography's Web PKI verifier
(``cryptography.x509.verification``): path building, signatures, validity,
basic constraints, key usage, extended key usage, name constraints and
subjectAltName matching.  This module adds what a TLS user needs around it:

* a :class:`TrustStore` that loads anchors the way OpenSSL's
  ``load_verify_locations`` / ``set_default_verify_paths`` do and caches the
  built ``Store`` (building one per handshake would be wasteful);
* a :class:`CertificateVerifier` that turns a refusal into a
  :class:`~puretls.errors.CertificateError` a person can act on, carrying the
  alert to send (RFC 8446 6.2) and OpenSSL's ``X509_V_ERR_*`` code so that
  ``ssl.SSLCertVerificationError.verify_code`` users see what they expect;
* :func:`certificate_to_dict`, the exact shape of ``ssl.SSLSocket.getpeercert()``.

The clock is a parameter: the sans-I/O core never reads it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from puretls.enums import AlertDescription
from puretls.errors import CertificateError

__all__ = [
    "CertificateVerifier",
    "TrustStore",
    "VerifiedChain",
    "VerifyCode",
    "certificate_to_dict",
    "check_leaf_key_usage",
    "is_ip_address",
    "match_hostname",
    "subject_alt_names",
]


class VerifyCode:
    """OpenSSL's ``X509_V_ERR_*`` numbers (include/openssl/x509_vfy.h)."""

    OK = 0
    UNSPECIFIED = 1
    CERT_SIGNATURE_FAILURE = 7
    CERT_NOT_YET_VALID = 9
    CERT_HAS_EXPIRED = 10
    DEPTH_ZERO_SELF_SIGNED_CERT = 18
    SELF_SIGNED_CERT_IN_CHAIN = 19
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
    CERT_CHAIN_TOO_LONG = 22
    INVALID_CA = 24
    PATH_LENGTH_EXCEEDED = 25
    INVALID_PURPOSE = 26
    KEYUSAGE_NO_CERTSIGN = 32
    KEYUSAGE_NO_DIGITAL_SIGNATURE = 39
    PERMITTED_VIOLATION = 47
    EXCLUDED_VIOLATION = 48
    HOSTNAME_MISMATCH = 62
    IP_ADDRESS_MISMATCH = 64


_A = AlertDescription
_V = VerifyCode
Purpose = Literal["server", "client"]


# --------------------------------------------------------------------------
# Names: IP literals, subjectAltName listing, RFC 6125 matching
# --------------------------------------------------------------------------


def _parse_ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Cached: the same few names come on every handshake, the answer (an
    # immutable address or None) depends on the name alone, and ipaddress
    # tells a DNS name from an address by failing to parse it twice, which is
    # slow.  A name can come from a peer (SNI), so only DNS-sized names are
    # kept (RFC 1035 2.3.4: 255 octets at most).
    if len(name) <= 255:
        return _parse_ip_cached(name)
    return _parse_ip_uncached(name)


def _parse_ip_uncached(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # A scope ("fe80::1%eth0") names a local interface, not part of the
    # address that a certificate could list.
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None


_parse_ip_cached = lru_cache(maxsize=1024)(_parse_ip_uncached)


def is_ip_address(name: str) -> bool:
    """True for IPv4/IPv6 literals, which RFC 6066 3 forbids in server_name."""
    return _parse_ip(name) is not None


def _normalize_dns(name: str) -> str | None:
    """Lower-case A-label form without the root dot, or None if not a DNS name."""
    if name.endswith("."):
        name = name[:-1]  # the absolute form names the same host (RFC 6125 6.4.1)
    if not name.isascii():
        # The stdlib codec implements IDNA 2003 (RFC 3490); certificates
        # carry A-labels, so a U-label host has to be converted to compare.
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return name.lower() if name else None


def _dns_pattern_matches(pattern: str, host: str) -> bool:
    """RFC 6125 6.4.3 with the Web PKI restrictions: ``*`` only as a whole left-most label."""
    pat = _normalize_dns(pattern)
    if pat is None:
        return False
    if not pat.startswith("*."):
        return "*" not in pat and pat == host
    suffix = pat[1:]  # ".example.com"
    # A wildcard stands for exactly one label, never for a public suffix
    # like "*.com" nor for a second wildcard.
    if "*" in suffix or suffix.count(".") < 2:
        return False
    label, dot, rest = host.partition(".")
    return bool(label) and bool(dot) and "." + rest == suffix


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a malformed extension: treat as absent for naming
        return None


def subject_alt_names(cert: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses a certificate is valid for, in order."""
    san = _san(cert)
    if san is None:
        return []
    names: list[str] = []
    for general_name in san:
        if isinstance(general_name, x509.DNSName):
            names.append(general_name.value)
        elif isinstance(general_name, x509.IPAddress):
            names.append(str(general_name.value))
    return names


def match_hostname(cert: x509.Certificate, name: str) -> bool:
    """Does ``cert`` name ``name``?  IPs match only IPAddress SANs, never the CN.

    DNS names compare case-insensitively and tolerate a trailing dot; the
    common name is not consulted (RFC 6125 6.4.4 allows skipping it once a
    subjectAltName is present, and the Web PKI requires the SAN).
    """
    san = _san(cert)
    if san is None:
        return False
    ip = _parse_ip(name)
    if ip is not None:
        return any(ip == value for value in san.get_values_for_type(x509.IPAddress))
    host = _normalize_dns(name)
    if host is None:
        return False
    return any(_dns_pattern_matches(p, host) for p in san.get_values_for_type(x509.DNSName))


def _describe(name: x509.Name) -> str:
    text = name.rfc4514_string()
    return text if text else "<empty name>"


def _cn(name: x509.Name) -> str:
    # "CN=..." reads best in a message; fall back to the whole name.
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if attrs:
        value = attrs[0].value
        return f"CN={value if isinstance(value, str) else value.decode('latin-1')}"
    return _describe(name)


def _fmt_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


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


# --------------------------------------------------------------------------
# Extension policies
# --------------------------------------------------------------------------


def _ee_requires_server_auth(
    _policy: Policy, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None
) -> None:
    # Same rule as cryptography's own server policy: an EKU, when present,
    # must list serverAuth itself (CA/B Forum BR 7.1.2.7.10).
    if eku is not None and ExtendedKeyUsageOID.SERVER_AUTH not in eku:
        raise ValueError("required EKU serverAuth not found")


def _ca_allows_server_auth(
    _policy: Policy, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None
) -> None:
    if eku is None:
        return
    if ExtendedKeyUsageOID.SERVER_AUTH not in eku and (
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku
    ):
        raise ValueError("required EKU serverAuth not found in CA")


def _anonymous_server_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """Web PKI policies for a server chain validated without a name.

    cryptography builds a server verifier only around a subject, and its
    client verifier enforces clientAuth through the EKU validators.  The
    client verifier with these policies is the honest fit: the defaults
    (basic constraints, key usage, AKI, name constraints, ...) stay, the
    EKU validators are swapped for serverAuth ones on the leaf and the CAs,
    and the leaf's subjectAltName becomes optional, because with no name to
    check (check_hostname off, like OpenSSL's CERT_REQUIRED without a host)
    the SAN has no role.  Substituting a name taken from the certificate
    instead would fail certificates that carry only a CN.
    """
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _ca_allows_server_auth
    )
    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        .may_be_present(x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _ee_requires_server_auth)
    )
    return ca, ee


def _client_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """Web PKI defaults (EKU clientAuth) but with the leaf's SAN optional.

    Client certificates often name their holder only in the subject; the
    server decides what the identity means, so OpenSSL does not require a
    SAN there either.
    """
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    return ExtensionPolicy.webpki_defaults_ca(), ee


_ANONYMOUS_SERVER = _anonymous_server_policies()
_CLIENT = _client_policies()


# --------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedChain:
    """A chain that passed verification, leaf first, trust anchor last.

    Only :meth:`CertificateVerifier.verify` makes these, so code that
    requires one cannot be reached with an unchecked chain.
    """

    certificates: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now


def _check_validity(cert: x509.Certificate, now: datetime, what: str) -> None:
    """RFC 5280 4.1.2.5: ``now`` must lie within notBefore..notAfter inclusive."""
    if now < cert.not_valid_before_utc:
        raise CertificateError(
            f"{what} is not yet valid (notBefore {_fmt_time(cert.not_valid_before_utc)})",
            alert=_A.certificate_expired,
            verify_code=_V.CERT_NOT_YET_VALID,
        )
    if now > cert.not_valid_after_utc:
        raise CertificateError(
            f"{what} has expired (notAfter {_fmt_time(cert.not_valid_after_utc)})",
            alert=_A.certificate_expired,
            verify_code=_V.CERT_HAS_EXPIRED,
        )


def _load_der(der: bytes) -> x509.Certificate:
    # Peers send the same chain on every handshake.  A parsed certificate is
    # immutable, and keeping it also keeps the extensions cryptography parsed
    # on first use (KeyUsage, SAN): an unchanged chain is not parsed again.
    # Peers choose what they send, so only certificates of ordinary size are
    # kept (256 x 16 KiB at most).
    if len(der) <= _CACHEABLE_CERTIFICATE:
        return _load_der_cached(der)
    return x509.load_der_x509_certificate(der)


_CACHEABLE_CERTIFICATE = 16 * 1024
_load_der_cached = lru_cache(maxsize=256)(x509.load_der_x509_certificate)


def _parse_chain(chain_der: Sequence[bytes]) -> list[x509.Certificate]:
    if not chain_der:
        raise CertificateError("peer sent no certificate", alert=_A.bad_certificate)
    certs = []
    for index, der in enumerate(chain_der):
        try:
            certs.append(_load_der(bytes(der)))
        except ValueError as exc:
            raise CertificateError(
                f"peer certificate #{index} is malformed: {exc}", alert=_A.bad_certificate
            ) from None
    return certs


def check_leaf_key_usage(cert: x509.Certificate, *, signing: bool = True) -> None:
    """The leaf's KeyUsage must allow the TLS operation (RFC 5280 4.2.1.3).

    ``signing``: TLS 1.3 CertificateVerify and (EC)DHE signatures need
    digitalSignature (RFC 8446 4.4.2.2); otherwise TLS 1.2 RSA key transport
    needs keyEncipherment (RFC 5246 7.4.2).  No KeyUsage means any use.
    """
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if signing and not usage.digital_signature:
        raise CertificateError(
            "certificate key usage does not allow digitalSignature",
            alert=_A.unsupported_certificate,
            verify_code=_V.KEYUSAGE_NO_DIGITAL_SIGNATURE,
        )
    if not signing and not usage.key_encipherment:
        raise CertificateError(
            "certificate key usage does not allow keyEncipherment",
            alert=_A.unsupported_certificate,
            verify_code=_V.INVALID_PURPOSE,
        )


class CertificateVerifier:
    """Verify a peer's chain against a :class:`TrustStore` and, for servers, a name.

    ``purpose="server"``: a client checking a server (EKU serverAuth, and
    the name when ``check_hostname``); ``purpose="client"``: a server
    checking a client certificate (EKU clientAuth, no name).
    """

    def __init__(
        self,
        trust_store: TrustStore,
        *,
        check_hostname: bool = True,
        purpose: Purpose = "server",
        max_chain_depth: int | None = None,
    ) -> None:
        if purpose not in ("server", "client"):
            raise ValueError(f"purpose must be 'server' or 'client', not {purpose!r}")
        self.trust_store = trust_store
        self.check_hostname = check_hostname
        self.purpose: Purpose = purpose
        # cryptography's meaning: the most intermediate CAs allowed between
        # the leaf and the anchor (its default is 8).
        self.max_chain_depth = max_chain_depth

    def verify(
        self, chain_der: Sequence[bytes], server_name: str | None, now: datetime
    ) -> VerifiedChain:
        """Verify ``chain_der`` (peer's leaf first, then untrusted intermediates).

        Raises :class:`CertificateError` naming the first problem found.
        """
        now = _utc(now)
        certs = _parse_chain(chain_der)
        leaf, intermediates = certs[0], certs[1:]
        # Checked first so that the most common failure reads precisely.
        _check_validity(leaf, now, "certificate")
        name = server_name if self._checks_name(server_name) else None
        if self.trust_store.contains_der(bytes(chain_der[0])):
            # A certificate trusted as itself (a self-signed server cert
            # given as cafile) is accepted as OpenSSL and the ssl module do;
            # the Web PKI profile alone would refuse its CA:TRUE.
            return self._trusted_leaf(leaf, name)
        store = self.trust_store.x509_store()
        if store is None:
            raise self._diagnose(certs, name, now, "the trust store is empty")
        try:
            path = self._run(store, now, leaf, intermediates, name)
        except VerificationError as exc:
            raise self._diagnose(certs, name, now, str(exc)) from None
        return VerifiedChain(certificates=tuple(path))

    def _trusted_leaf(self, leaf: x509.Certificate, name: str | None) -> VerifiedChain:
        if name is not None and not match_hostname(leaf, name):
            raise self._name_mismatch(leaf, name)
        return VerifiedChain(certificates=(leaf,))

    def _checks_name(self, server_name: str | None) -> bool:
        return self.purpose == "server" and self.check_hostname and bool(server_name)

    def _builder(self, store: Store, now: datetime) -> PolicyBuilder:
        builder = PolicyBuilder().store(store).time(now)
        if self.max_chain_depth is not None:
            builder = builder.max_chain_depth(self.max_chain_depth)
        return builder

    def _run(
        self,
        store: Store,
        now: datetime,
        leaf: x509.Certificate,
        intermediates: list[x509.Certificate],
        name: str | None,
    ) -> list[x509.Certificate]:
        builder = self._builder(store, now)
        if self.purpose == "client":
            ca, ee = _CLIENT
            verified = builder.extension_policies(ca_policy=ca, ee_policy=ee)
            return verified.build_client_verifier().verify(leaf, intermediates).chain
        subject = _verification_subject(name) if name is not None else None
        if subject is not None:
            try:
                verifier = builder.build_server_verifier(subject)
            except ValueError:
                # cryptography takes only LDH A-labels; names such as
                # "under_score.local" are legal in certificates and matched
                # by OpenSSL, so validate the chain without a name and let
                # our RFC 6125 matcher decide the identity.
                verifier = None
            if verifier is not None:
                return verifier.verify(leaf, intermediates)
        path = self._run_anonymous_server(builder, leaf, intermediates)
        if name is not None and not match_hostname(leaf, name):
            raise self._name_mismatch(leaf, name)
        return path

    @staticmethod
    def _run_anonymous_server(
        builder: PolicyBuilder, leaf: x509.Certificate, intermediates: list[x509.Certificate]
    ) -> list[x509.Certificate]:
        ca, ee = _ANONYMOUS_SERVER
        verifier = builder.extension_policies(ca_policy=ca, ee_policy=ee).build_client_verifier()
        return verifier.verify(leaf, intermediates).chain

    # ---- turning a refusal into a precise error --------------------------

    def _diagnose(
        self, certs: list[x509.Certificate], name: str | None, now: datetime, reason: str
    ) -> CertificateError:
        """Find the first problem the way OpenSSL orders them.

        cryptography says only that candidates were exhausted, so the path
        is rebuilt here (by name, key identifier and signature) to name the
        certificate at fault.  The verdict stays cryptography's: this runs
        only after it refused, and falls back to its own reason.
        """
        anchors = self.trust_store.certificates()
        path, broken = _build_path(certs, anchors)
        try:
            if broken is not None:
                raise broken
            for depth, cert in enumerate(path[1:], start=1):
                _check_validity(cert, now, f"issuer certificate {_cn(cert.subject)}")
                _check_issuer(cert, depth)
            self._check_purpose(path)
            _check_algorithms(reason)
            _check_name_constraints(reason)
            if self.max_chain_depth is not None and "depth" in reason:
                raise CertificateError(
                    f"certificate chain too long (maximum depth {self.max_chain_depth})",
                    alert=_A.bad_certificate,
                    verify_code=_V.CERT_CHAIN_TOO_LONG,
                )
            if name is not None and not match_hostname(certs[0], name):
                raise self._name_mismatch(certs[0], name)
        except CertificateError as exc:
            return exc
        return CertificateError(
            f"certificate rejected: {reason}",
            alert=_A.bad_certificate,
            verify_code=_V.UNSPECIFIED,
        )

    def _check_purpose(self, path: list[x509.Certificate]) -> None:
        wanted = (
            ExtendedKeyUsageOID.SERVER_AUTH
            if self.purpose == "server"
            else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        label = "serverAuth" if self.purpose == "server" else "clientAuth"
        for depth, cert in enumerate(path):
            usages = _eku(cert)
            if usages is None:
                continue
            allowed = (
                {wanted} if depth == 0 else {wanted, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
            )
            if not allowed & set(usages):
                which = "certificate" if depth == 0 else f"issuer {_cn(cert.subject)}"
                have = ", ".join(getattr(u, "_name", u.dotted_string) for u in usages) or "none"
                raise CertificateError(
                    f"{which} is not valid for {label} (extended key usage: {have})",
                    alert=_A.bad_certificate,
                    verify_code=_V.INVALID_PURPOSE,
                )

    @staticmethod
    def _name_mismatch(leaf: x509.Certificate, name: str) -> CertificateError:
        names = subject_alt_names(leaf)
        listed = ", ".join(names) if names else "no subjectAltName"
        ip = is_ip_address(name)
        what = "IP address" if ip else "hostname"
        return CertificateError(
            f"{what} {name!r} does not match the certificate (names: {listed})",
            alert=_A.certificate_unknown,
            verify_code=_V.IP_ADDRESS_MISMATCH if ip else _V.HOSTNAME_MISMATCH,
        )


def _verification_subject(name: str) -> x509.DNSName | x509.IPAddress | None:
    """The verifier's subject for ``name``: IP literal or normalized DNS name."""
    ip = _parse_ip(name)
    if ip is not None:
        return x509.IPAddress(ip)
    host = _normalize_dns(name)
    return x509.DNSName(host) if host is not None else None


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return []


def _aki_matches(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """RFC 5280 4.2.1.1: a keyIdentifier in the AKI names the issuer's SKI."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except (x509.ExtensionNotFound, ValueError):
        return True
    return aki.key_identifier is None or aki.key_identifier == ski.digest


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _find_issuer(
    cert: x509.Certificate, pool: list[x509.Certificate]
) -> tuple[x509.Certificate | None, bool]:
    """(issuer whose signature verifies, whether a named candidate failed the signature)."""
    bad_signature = False
    for candidate in pool:
        if candidate.subject != cert.issuer or not _aki_matches(cert, candidate):
            continue
        if _signed_by(cert, candidate):
            return candidate, False
        bad_signature = True
    return None, bad_signature


def _build_path(
    certs: list[x509.Certificate], anchors: list[x509.Certificate]
) -> tuple[list[x509.Certificate], CertificateError | None]:
    """Greedy leaf-to-anchor path for diagnosis; the error if it breaks."""
    path = [certs[0]]
    # Anchors first: a peer that also sends a cross-signed copy of a root we
    # trust should end at our copy.
    pool = anchors + certs[1:]
    while True:
        current = path[-1]
        if current in anchors:
            return path, None
        issuer, bad_signature = _find_issuer(current, [c for c in pool if c not in path])
        if issuer is None:
            return path, _untrusted(current, len(path) - 1, bad_signature)
        path.append(issuer)


def _untrusted(cert: x509.Certificate, depth: int, bad_signature: bool) -> CertificateError:
    if bad_signature:
        return CertificateError(
            f"certificate signature failure for {_cn(cert.subject)} "
            f"(issuer {_cn(cert.issuer)} did not sign it)",
            alert=_A.bad_certificate,
            verify_code=_V.CERT_SIGNATURE_FAILURE,
        )
    if cert.subject == cert.issuer and _signed_by(cert, cert):
        if depth == 0:
            return CertificateError(
                f"self-signed certificate ({_cn(cert.subject)} is not a trusted anchor)",
                alert=_A.unknown_ca,
                verify_code=_V.DEPTH_ZERO_SELF_SIGNED_CERT,
            )
        return CertificateError(
            f"self-signed certificate in certificate chain ({_cn(cert.subject)} is not trusted)",
            alert=_A.unknown_ca,
            verify_code=_V.SELF_SIGNED_CERT_IN_CHAIN,
        )
    return CertificateError(
        f"unable to get local issuer certificate for {_cn(cert.subject)}, "
        f"issuer {_cn(cert.issuer)}",
        alert=_A.unknown_ca,
        verify_code=_V.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    )


def _check_issuer(cert: x509.Certificate, depth: int) -> None:
    """RFC 5280 6.1.4 (k), (l), (n): the issuer must be a CA allowed this deep."""
    who = _cn(cert.subject)
    try:
        constraints: x509.BasicConstraints | None = cert.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CertificateError(
            f"invalid CA certificate: issuer {who} is not a CA (basicConstraints CA:FALSE)",
            alert=_A.bad_certificate,
            verify_code=_V.INVALID_CA,
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise CertificateError(
            f"issuer {who} key usage does not allow certificate signing (keyCertSign)",
            alert=_A.unsupported_certificate,
            verify_code=_V.KEYUSAGE_NO_CERTSIGN,
        )
    below = depth - 1  # CA certificates between this one and the leaf
    if constraints.path_length is not None and below > constraints.path_length:
        raise CertificateError(
            f"path length constraint exceeded: issuer {who} allows "
            f"{constraints.path_length} intermediate CA(s) below it, found {below}",
            alert=_A.bad_certificate,
            verify_code=_V.PATH_LENGTH_EXCEEDED,
        )


def _check_name_constraints(reason: str) -> None:
    # Name constraints are evaluated only by cryptography (RFC 5280 4.2.1.10);
    # its reason text says which kind failed.
    lowered = reason.lower()
    if "excluded" in lowered:
        code = _V.EXCLUDED_VIOLATION
    elif "permit" in lowered or "name constraint" in lowered:
        code = _V.PERMITTED_VIOLATION
    else:
        return
    raise CertificateError(
        f"name constraints violation: {reason}",
        alert=_A.bad_certificate,
        verify_code=code,
    )


def _check_algorithms(reason: str) -> None:
    # The Web PKI profile permits only RSA (>= 2048 bits) and ECDSA
    # P-256/P-384/P-521 keys and signatures on certificates (CA/B Forum BR
    # 6.1.5, 7.1.3): an Ed25519/Ed448 CA, SHA-1 or a short RSA key is refused
    # where OpenSSL would accept it, so say so plainly.
    lowered = reason.lower()
    if "forbidden" in lowered or "too weak" in lowered:
        raise CertificateError(
            "certificate uses a key or signature algorithm the Web PKI profile does not "
            f"permit (only RSA >= 2048 and ECDSA P-256/P-384/P-521 may sign): {reason}",
            alert=_A.unsupported_certificate,
            verify_code=_V.UNSPECIFIED,
        )


# --------------------------------------------------------------------------
# getpeercert()
# --------------------------------------------------------------------------

# OpenSSL long names (crypto/objects/objects.txt), which the stdlib reports.
_LONG_NAMES: dict[str, str] = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.13": "description",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.41": "name",
    "2.5.4.42": "givenName",
    "2.5.4.43": "initials",
    "2.5.4.44": "generationQualifier",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "2.5.4.97": "organizationIdentifier",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionLocalityName",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionStateOrProvinceName",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

NameTuple = tuple[tuple[tuple[str, str], ...], ...]


def _attr_name(oid: x509.ObjectIdentifier) -> str:
    return _LONG_NAMES.get(oid.dotted_string, oid.dotted_string)


def _attr_value(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _name_tuple(name: x509.Name) -> NameTuple:
    return tuple(tuple((_attr_name(a.oid), _attr_value(a.value)) for a in rdn) for rdn in name.rdns)


def _openssl_time(moment: datetime) -> str:
    # ASN1_TIME_print: "Jan  5 09:34:43 2018 GMT" (day padded with a space).
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day:2d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {moment.year} GMT"
    )


def _openssl_serial(serial: int) -> str:
    # i2a_ASN1_INTEGER: upper-case hex, whole bytes, "-" for negatives.
    digits = f"{abs(serial):X}"
    if len(digits) % 2:
        digits = "0" + digits
    return ("-" if serial < 0 else "") + digits


def _ip_text(address: Any) -> str:
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if isinstance(address, ipaddress.IPv6Address):
        # CPython prints all eight groups, upper-case, without "::" compression.
        return ":".join(f"{int(group, 16):X}" for group in address.exploded.split(":"))
    return "<invalid>"


def _general_name(gn: x509.GeneralName) -> tuple[str, Any]:
    if isinstance(gn, x509.DNSName):
        return ("DNS", gn.value)
    if isinstance(gn, x509.IPAddress):
        return ("IP Address", _ip_text(gn.value))
    if isinstance(gn, x509.RFC822Name):
        return ("email", gn.value)
    if isinstance(gn, x509.UniformResourceIdentifier):
        return ("URI", gn.value)
    if isinstance(gn, x509.DirectoryName):
        return ("DirName", _name_tuple(gn.value))
    if isinstance(gn, x509.RegisteredID):
        return ("Registered ID", _attr_name(gn.value))
    return ("othername", "<unsupported>")


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _access_uris(aia: x509.AuthorityInformationAccess, method: x509.ObjectIdentifier) -> Any:
    uris = tuple(
        d.access_location.value
        for d in aia
        if d.access_method == method
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    )
    return uris or None


def _crl_uris(points: x509.CRLDistributionPoints) -> tuple[str, ...]:
    return tuple(
        name.value
        for point in points
        for name in (point.full_name or ())
        if isinstance(name, x509.UniformResourceIdentifier)
    )


def certificate_to_dict(cert: x509.Certificate) -> dict[str, Any]:
    """The dict ``ssl.SSLSocket.getpeercert()`` returns for ``cert``."""
    result: dict[str, Any] = {
        "subject": _name_tuple(cert.subject),
        "issuer": _name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _openssl_serial(cert.serial_number),
        "notBefore": _openssl_time(cert.not_valid_before_utc),
        "notAfter": _openssl_time(cert.not_valid_after_utc),
    }
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is not None:
        result["subjectAltName"] = tuple(_general_name(gn) for gn in san)
    aia = _extension(cert, x509.AuthorityInformationAccess)
    if aia is not None:
        for key, method in (
            ("OCSP", AuthorityInformationAccessOID.OCSP),
            ("caIssuers", AuthorityInformationAccessOID.CA_ISSUERS),
        ):
            uris = _access_uris(aia, method)
            if uris is not None:
                result[key] = uris
    points = _extension(cert, x509.CRLDistributionPoints)
    if points is not None:
        result["crlDistributionPoints"] = _crl_uris(points)
    return result
