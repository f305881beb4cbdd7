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
* re-exports of :class:`~puretls.truststore.TrustStore`, the name checks of
  :mod:`puretls.names` and :func:`~puretls.peercert.certificate_to_dict` (the
  shape of ``ssl.SSLSocket.getpeercert()``), so callers need one import.

The clock is a parameter: the sans-I/O core never reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Literal, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    ServerVerifier,
    Store,
    VerificationError,
)

from puretls.enums import AlertDescription
from puretls.errors import CertificateError
from puretls.names import (
    common_name,
    format_time,
    is_ip_address,
    match_hostname,
    normalize_dns,
    parse_ip,
    subject_alt_names,
)
from puretls.peercert import certificate_to_dict
from puretls.truststore import TrustStore

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
            f"{what} is not yet valid (notBefore {format_time(cert.not_valid_before_utc)})",
            alert=_A.certificate_expired,
            verify_code=_V.CERT_NOT_YET_VALID,
        )
    if now > cert.not_valid_after_utc:
        raise CertificateError(
            f"{what} has expired (notAfter {format_time(cert.not_valid_after_utc)})",
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


def _validity_window(der: bytes, cert: x509.Certificate) -> tuple[datetime, datetime]:
    """(notBefore, notAfter) of ``cert`` (whose DER is ``der``), UTC."""
    if len(der) <= _CACHEABLE_CERTIFICATE:
        return _validity_window_cached(der)
    return cert.not_valid_before_utc, cert.not_valid_after_utc


@lru_cache(maxsize=256)
def _validity_window_cached(der: bytes) -> tuple[datetime, datetime]:
    # Each property read makes a new datetime; a peer's leaf is kept parsed
    # (_load_der), and so is its window.
    cert = _load_der_cached(der)
    return cert.not_valid_before_utc, cert.not_valid_after_utc


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
    usage = _key_usage(cert)
    if usage is None:
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


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    # A peer's leaf comes from _load_der's cache, the same object on every
    # handshake, and its KeyUsage does not change: the last certificate's is
    # kept, keyed by identity (the entry holds the certificate, so that
    # identity cannot be reused while it is there).  Hashing a certificate
    # would cost more than cryptography's lookup it saves.
    global _last_key_usage
    last = _last_key_usage
    if last[0] is cert:
        return last[1]
    try:
        usage: x509.KeyUsage | None = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    _last_key_usage = (cert, usage)
    return usage


_last_key_usage: tuple[x509.Certificate | None, x509.KeyUsage | None] = (None, None)


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
        not_before, not_after = _validity_window(bytes(chain_der[0]), leaf)
        if not not_before <= now <= not_after:
            _check_validity(leaf, now, "certificate")  # names the bound crossed
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

    def _run(
        self,
        store: Store,
        now: datetime,
        leaf: x509.Certificate,
        intermediates: list[x509.Certificate],
        name: str | None,
    ) -> list[x509.Certificate]:
        # The verifiers are cryptography's, built for this store, depth and
        # second, and shared by the handshakes of that second (see _for_this_second).
        depth = self.max_chain_depth
        if self.purpose == "client":
            verifier = _client_verifier(store, depth, now, anonymous_server=False)
            return verifier.verify(leaf, intermediates).chain
        if name is not None:
            server_verifier = _server_verifier(store, depth, now, name)
            if server_verifier is not None:
                return server_verifier.verify(leaf, intermediates)
        anonymous = _client_verifier(store, depth, now, anonymous_server=True)
        path = anonymous.verify(leaf, intermediates).chain
        if name is not None and not match_hostname(leaf, name):
            raise self._name_mismatch(leaf, name)
        return path

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
                _check_validity(cert, now, f"issuer certificate {common_name(cert.subject)}")
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
                which = "certificate" if depth == 0 else f"issuer {common_name(cert.subject)}"
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


# --------------------------------------------------------------------------
# Built verifiers
# --------------------------------------------------------------------------

# A cryptography verifier is immutable and fixes its validation time at the
# second (an ASN.1 time has no fraction: PolicyBuilder.time drops the
# microseconds), so the verifier built for one trust store, depth and name
# in one second gives exactly the verdict of a fresh one for any time in
# that second, and the handshakes of that second share it.  Building one
# (builder, subject, policy) costs more than the rest of our own checks.
# Each entry remembers its second as [start, end); a lookup compares two
# datetimes (no datetime is made on a hit).  The key holds the Store itself
# (compared by identity): a changed trust store builds a new Store, so a
# stale entry cannot be hit.  Bounded: the dict is emptied when full.
_VERIFIER_CACHE_SIZE = 64
_ONE_SECOND = timedelta(seconds=1)
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")
_Remembered = dict[_Key, tuple[datetime, datetime, _Value]]
_SERVER_VERIFIERS: _Remembered[tuple[Store, int | None, str], ServerVerifier | None] = {}
_CLIENT_VERIFIERS: _Remembered[tuple[Store, int | None, bool], ClientVerifier] = {}


def _for_this_second(
    cache: _Remembered[_Key, _Value], key: _Key, now: datetime, build: Callable[[], _Value]
) -> _Value:
    """The value kept under ``key`` for the second of ``now``, else ``build()`` kept."""
    entry = cache.get(key)
    if entry is not None and entry[0] <= now < entry[1]:
        return entry[2]
    value = build()
    start = now.replace(microsecond=0)
    if len(cache) >= _VERIFIER_CACHE_SIZE:
        cache.clear()
    cache[key] = (start, start + _ONE_SECOND, value)
    return value


def _builder(store: Store, depth: int | None, now: datetime) -> PolicyBuilder:
    builder = PolicyBuilder().store(store).time(now)
    if depth is not None:
        builder = builder.max_chain_depth(depth)
    return builder


def _server_verifier(
    store: Store, depth: int | None, now: datetime, name: str
) -> ServerVerifier | None:
    """cryptography's verifier for ``name``; None when it cannot take the name."""
    return _for_this_second(
        _SERVER_VERIFIERS,
        (store, depth, name),
        now,
        lambda: _build_server_verifier(store, depth, now, name),
    )


def _build_server_verifier(
    store: Store, depth: int | None, now: datetime, name: str
) -> ServerVerifier | None:
    subject = _verification_subject(name)
    if subject is None:
        return None
    try:
        return _builder(store, depth, now).build_server_verifier(subject)
    except ValueError:
        # cryptography takes only LDH A-labels; names such as
        # "under_score.local" are legal in certificates and matched by
        # OpenSSL, so the chain is validated without a name and our RFC 6125
        # matcher decides the identity.
        return None


def _client_verifier(
    store: Store, depth: int | None, now: datetime, *, anonymous_server: bool
) -> ClientVerifier:
    """The verifier for client chains, or (``anonymous_server``) nameless server chains."""
    ca, ee = _ANONYMOUS_SERVER if anonymous_server else _CLIENT

    def build() -> ClientVerifier:
        builder = _builder(store, depth, now).extension_policies(ca_policy=ca, ee_policy=ee)
        return builder.build_client_verifier()

    return _for_this_second(_CLIENT_VERIFIERS, (store, depth, anonymous_server), now, build)


def _verification_subject(name: str) -> x509.DNSName | x509.IPAddress | None:
    """The verifier's subject for ``name``: IP literal or normalized DNS name."""
    ip = parse_ip(name)
    if ip is not None:
        return x509.IPAddress(ip)
    host = normalize_dns(name)
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
            f"certificate signature failure for {common_name(cert.subject)} "
            f"(issuer {common_name(cert.issuer)} did not sign it)",
            alert=_A.bad_certificate,
            verify_code=_V.CERT_SIGNATURE_FAILURE,
        )
    if cert.subject == cert.issuer and _signed_by(cert, cert):
        if depth == 0:
            return CertificateError(
                f"self-signed certificate ({common_name(cert.subject)} is not a trusted anchor)",
                alert=_A.unknown_ca,
                verify_code=_V.DEPTH_ZERO_SELF_SIGNED_CERT,
            )
        return CertificateError(
            "self-signed certificate in certificate chain "
            f"({common_name(cert.subject)} is not trusted)",
            alert=_A.unknown_ca,
            verify_code=_V.SELF_SIGNED_CERT_IN_CHAIN,
        )
    return CertificateError(
        f"unable to get local issuer certificate for {common_name(cert.subject)}, "
        f"issuer {common_name(cert.issuer)}",
        alert=_A.unknown_ca,
        verify_code=_V.UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    )


def _check_issuer(cert: x509.Certificate, depth: int) -> None:
    """RFC 5280 6.1.4 (k), (l), (n): the issuer must be a CA allowed this deep."""
    who = common_name(cert.subject)
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
