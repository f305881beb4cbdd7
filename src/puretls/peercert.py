"""The dict of ``ssl.SSLSocket.getpeercert()``, built from a certificate."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

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
