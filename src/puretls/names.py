"""Peer names: IP literals, subjectAltName listing, RFC 6125 hostname matching."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

# --------------------------------------------------------------------------
# Names: IP literals, subjectAltName listing, RFC 6125 matching
# --------------------------------------------------------------------------


def parse_ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
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
    return parse_ip(name) is not None


def normalize_dns(name: str) -> str | None:
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
    pat = normalize_dns(pattern)
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
    ip = parse_ip(name)
    if ip is not None:
        return any(ip == value for value in san.get_values_for_type(x509.IPAddress))
    host = normalize_dns(name)
    if host is None:
        return False
    return any(_dns_pattern_matches(p, host) for p in san.get_values_for_type(x509.DNSName))


def _describe(name: x509.Name) -> str:
    text = name.rfc4514_string()
    return text if text else "<empty name>"


def common_name(name: x509.Name) -> str:
    # "CN=..." reads best in a message; fall back to the whole name.
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if attrs:
        value = attrs[0].value
        return f"CN={value if isinstance(value, str) else value.decode('latin-1')}"
    return _describe(name)


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
