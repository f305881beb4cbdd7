"""Checking a stapled OCSP response (RFC 6960, RFC 6066 8, RFC 8446 4.4.2.1).

A client that asked for status_request gets at most one OCSPResponse, in
the leaf's CertificateEntry.  It is worth something only when it is:

- a successful response (RFC 6960 4.2.1 responseStatus),
- about *this* certificate (serial number, issuer name hash and issuer key
  hash of a SingleResponse, RFC 6960 4.1.1 CertID),
- signed by the issuer itself or by a responder the issuer delegated with
  the id-kp-OCSPSigning extended key usage (RFC 6960 4.2.2.2),
- current: thisUpdate not in the future and nextUpdate (when present) not
  in the past, with a small allowance for clock skew.

Then a "revoked" status fails the handshake with certificate_revoked; any
other defect is bad_certificate_status_response.  A certificate with the
TLS Feature extension listing status_request (RFC 7633, "must-staple")
makes a missing staple fatal, as does the client's own ``ocsp_must_staple``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from puretls.enums import AlertDescription
from puretls.errors import CertificateError

# OpenSSL's X509_V_ERR_CERT_REVOKED, for SSLCertVerificationError.verify_code.
VERIFY_CODE_CERT_REVOKED = 23
# How far thisUpdate may be ahead of, and nextUpdate behind, our clock.
CLOCK_SKEW = timedelta(minutes=5)

_A = AlertDescription


@dataclass(frozen=True, slots=True, kw_only=True)
class OCSPStatus:
    """A stapled response that passed every check (status is GOOD)."""

    der: bytes
    produced_at: datetime
    this_update: datetime
    next_update: datetime | None
    responder: str

    def summary(self) -> str:
        until = self.next_update.isoformat() if self.next_update else "no nextUpdate"
        return (
            f"OCSP status good (responder {self.responder}, produced "
            f"{self.produced_at.isoformat()}, valid {self.this_update.isoformat()} .. {until})"
        )


def _bad(message: str) -> CertificateError:
    return CertificateError(message, alert=_A.bad_certificate_status_response)


def requires_staple(leaf: x509.Certificate) -> bool:
    """RFC 7633: the TLS Feature extension lists status_request (5)."""
    try:
        features = leaf.extensions.get_extension_for_class(x509.TLSFeature).value
    except x509.ExtensionNotFound:
        return False
    return x509.TLSFeatureType.status_request in features


def _verify_signature(key: object, signature: bytes, data: bytes, algo: object) -> None:
    """One signature in an X.509-style structure, by the signer's key type."""
    if isinstance(key, rsa.RSAPublicKey):
        assert isinstance(algo, hashes.HashAlgorithm)
        key.verify(signature, data, padding.PKCS1v15(), algo)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        assert isinstance(algo, hashes.HashAlgorithm)
        key.verify(signature, data, ec.ECDSA(algo))
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(signature, data)
    else:
        raise _bad(f"OCSP response signed with an unsupported key type {type(key).__name__}")


def _find_single(
    response: ocsp.OCSPResponse, leaf: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse:
    for single in response.responses:
        if single.serial_number != leaf.serial_number:
            continue
        # The CertID hashes use the response's own hash algorithm.
        request = (
            ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, single.hash_algorithm).build()
        )
        if (
            single.issuer_name_hash == request.issuer_name_hash
            and single.issuer_key_hash == request.issuer_key_hash
        ):
            return single
    raise _bad(
        f"the stapled OCSP response is not about this certificate (serial {leaf.serial_number:x})"
    )


def _responder_matches(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return response.responder_name == cert.subject
    key_hash = response.responder_key_hash
    digest = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    return key_hash == digest


def _signer(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime
) -> x509.Certificate:
    """RFC 6960 4.2.2.2: the issuer, or a certificate it issued for OCSP signing."""
    if _responder_matches(response, issuer):
        return issuer
    for cert in response.certificates:
        if not _responder_matches(response, cert):
            continue
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise _bad(
                "the OCSP responder certificate was not issued by the certificate's issuer"
            ) from None
        try:
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usages = None
        if usages is None or ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
            raise _bad("the OCSP responder certificate lacks the OCSPSigning extended key usage")
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _bad("the OCSP responder certificate is outside its validity period")
        return cert
    raise _bad(
        "the stapled OCSP response is signed by neither the issuer nor a delegated responder"
    )


def check_ocsp_response(
    der: bytes, leaf: x509.Certificate, issuer: x509.Certificate, now: datetime
) -> OCSPStatus:
    """Check a stapled response for ``leaf``; raise CertificateError unless GOOD."""
    now = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise _bad(f"the stapled OCSP response is malformed: {exc}") from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise _bad(f"the stapled OCSP response says {response.response_status.name}")
    single = _find_single(response, leaf, issuer)
    signer = _signer(response, issuer, now)
    try:
        _verify_signature(
            signer.public_key(),
            response.signature,
            response.tbs_response_bytes,
            response.signature_hash_algorithm,
        )
    except InvalidSignature:
        raise _bad("the stapled OCSP response has an invalid signature") from None
    this_update = single.this_update_utc
    next_update = single.next_update_utc
    if this_update > now + CLOCK_SKEW:
        raise _bad(f"the stapled OCSP response is not yet valid (thisUpdate {this_update})")
    if next_update is not None and next_update < now - CLOCK_SKEW:
        raise _bad(f"the stapled OCSP response is stale (nextUpdate {next_update})")
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.REVOKED:
        when = single.revocation_time_utc
        reason = single.revocation_reason
        because = f", reason {reason.name}" if reason is not None else ""
        raise CertificateError(
            f"certificate has been revoked (OCSP: revoked at {when}{because})",
            alert=_A.certificate_revoked,
            verify_code=VERIFY_CODE_CERT_REVOKED,
        )
    if status != ocsp.OCSPCertStatus.GOOD:
        raise _bad("the stapled OCSP response says the certificate status is unknown")
    return OCSPStatus(
        der=bytes(der),
        produced_at=response.produced_at_utc,
        this_update=this_update,
        next_update=next_update,
        responder=signer.subject.rfc4514_string(),
    )


def describe_ocsp_response(der: bytes) -> str:
    """One line for people: status, serial, responder and validity (not a check)."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        return f"malformed OCSP response ({exc})"
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return f"OCSP response status {response.response_status.name}"
    single = next(iter(response.responses))
    until = single.next_update_utc.isoformat() if single.next_update_utc else "no nextUpdate"
    responder = (
        response.responder_name.rfc4514_string()
        if response.responder_name is not None
        else f"key hash {(response.responder_key_hash or b'').hex()}"
    )
    return (
        f"{single.certificate_status.name.lower()} (serial {single.serial_number:x}, "
        f"responder {responder}, thisUpdate {single.this_update_utc.isoformat()}, "
        f"nextUpdate {until}, {len(der)} bytes)"
    )


def ocsp_response_serial(der: bytes) -> int | None:
    """The serial number of the (first) certificate a response is about."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError:
        return None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return None
    return response.serial_number


def missing_staple(reason: str) -> CertificateError:
    """A required staple is absent (RFC 7633 4.2.3.1)."""
    return CertificateError(
        f"the server sent no OCSP response, but {reason}",
        alert=_A.bad_certificate_status_response,
    )
