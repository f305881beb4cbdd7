"""An in-memory certificate authority for tests and throwaway certificates.

Not part of the sans-I/O core: key generation draws on the operating
system's randomness and, when no ``now`` is given, the validity window is
taken from the wall clock.  Tests pass ``now`` to be deterministic.

    ca = CertificateAuthority()
    server = ca.issue(["localhost", "127.0.0.1"])
    sub = ca.intermediate(common_name="puretls test intermediate")
    leaf = sub.issue(["example.com"])   # leaf.chain == (leaf, sub)

Certificates follow the shape the Web PKI verifier in
``cryptography.x509.verification`` expects (CA/Browser Forum baseline,
RFC 5280 4.2): CAs carry a critical BasicConstraints with cA and a
critical KeyUsage with keyCertSign; leaves carry BasicConstraints cA=FALSE,
KeyUsage, ExtendedKeyUsage and subjectAltName, and every certificate has a
SubjectKeyIdentifier and AuthorityKeyIdentifier.

Any key type works for a leaf, but the Web PKI profile lets only RSA and
ECDSA keys sign certificates: chains from an "ed25519"/"ed448" CA are
refused by :mod:`puretls.verify` (OpenSSL accepts them).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "KEY_TYPES",
    "CertificateAuthority",
    "IssuedCert",
    "PrivateKey",
    "generate_private_key",
    "host_to_general_name",
]

PrivateKey = (
    ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)

# "rsa-pss2048" (a key whose SubjectPublicKeyInfo carries id-RSASSA-PSS,
# RFC 8446 4.2.3 rsa_pss_pss_*) is absent: pyca/cryptography can load such
# keys but cannot generate them.
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ecdsa-p256": ec.SECP256R1,
    "ecdsa-p384": ec.SECP384R1,
    "ecdsa-p521": ec.SECP521R1,
}
_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072}
KEY_TYPES: tuple[str, ...] = (*_CURVES, *_RSA_BITS, "ed25519", "ed448")

_DEFAULT_LEAF_LIFETIME = timedelta(days=30)
_DEFAULT_CA_LIFETIME = timedelta(days=3650)
# Backdating absorbs small clock differences between the machine that
# issues and the one that verifies.
_BACKDATE = timedelta(hours=1)


def generate_private_key(key_type: str = "ecdsa-p256") -> PrivateKey:
    """Make a fresh private key of one of :data:`KEY_TYPES`."""
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def _signature_hash(key: PrivateKey) -> hashes.SHA256 | None:
    # EdDSA signs the message itself (RFC 8032); the others sign a SHA-256 digest.
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return hashes.SHA256()


def host_to_general_name(host: str) -> x509.GeneralName:
    """``"127.0.0.1"`` / ``"::1"`` -> IPAddress, anything else -> DNSName."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _window(
    now: datetime | None,
    not_before: datetime | None,
    not_after: datetime | None,
    lifetime: timedelta,
) -> tuple[datetime, datetime]:
    start = _utc(now)
    return (
        _utc(not_before) if not_before is not None else start - _BACKDATE,
        _utc(not_after) if not_after is not None else start + lifetime,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "puretls"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _subject_key_id(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key())


def _leaf_key_usage(key: PrivateKey) -> x509.KeyUsage:
    # RFC 5246 7.4.7.1: TLS 1.2 RSA key transport needs keyEncipherment;
    # signatures (TLS 1.3, ECDHE) need digitalSignature (RFC 5280 4.2.1.3).
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=is_rsa,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key: PrivateKey, password: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedCert:
    """A certificate, its private key and the chain a peer should send."""

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)
    # Leaf first, then intermediates; never the root (RFC 8446 4.4.2: the
    # trust anchor MAY be omitted, and peers have it already).
    chain: tuple[x509.Certificate, ...]

    def cert_pem(self) -> bytes:
        """The leaf alone, PEM."""
        return _pem([self.certificate])

    def cert_der(self) -> bytes:
        """The leaf alone, DER."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def chain_der(self) -> list[bytes]:
        """The chain as a TLS Certificate message carries it: DER, leaf first."""
        return [c.public_bytes(serialization.Encoding.DER) for c in self.chain]

    def cert_chain_pem(self) -> bytes:
        """Leaf then intermediates, PEM: what ``load_cert_chain`` reads."""
        return _pem(self.chain)

    def private_key_pem(self, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted when ``password`` is given."""
        return _key_pem(self.private_key, password)

    def write(
        self, directory: str | os.PathLike[str], stem: str, *, password: bytes | None = None
    ) -> tuple[Path, Path]:
        """Write ``<stem>.pem`` (chain) and ``<stem>.key`` (owner-only) files."""
        base = Path(directory)
        base.mkdir(parents=True, exist_ok=True)
        cert_path = base / f"{stem}.pem"
        key_path = base / f"{stem}.key"
        cert_path.write_bytes(self.cert_chain_pem())
        # Create the key file owner-only from the start, never world-readable.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.private_key_pem(password))
        return cert_path, key_path


class CertificateAuthority:
    """A root (or, from :meth:`intermediate`, a sub-) CA that issues certificates."""

    def __init__(
        self,
        *,
        key_type: str = "ecdsa-p256",
        common_name: str = "puretls test CA",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        path_length: int | None = None,
        now: datetime | None = None,
    ) -> None:
        key = generate_private_key(key_type)
        start, end = _window(now, not_before, not_after, _DEFAULT_CA_LIFETIME)
        name = _name(common_name)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = _ca_builder(name, name, key, start, end, path_length, ski)
        self._certificate = builder.sign(key, _signature_hash(key))
        self._private_key = key
        # Intermediates between this CA and its root, nearest first.
        self._parents: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_certificate(
        cls,
        certificate: x509.Certificate,
        private_key: PrivateKey,
        *,
        parents: Sequence[x509.Certificate] = (),
    ) -> CertificateAuthority:
        """Issue with an existing certificate and key (e.g. a CA loaded from files).

        ``parents`` are the intermediates above it, nearest first, without the
        root.  The certificate is not checked for being a CA: tests use that
        to issue from a CA:FALSE certificate.
        """
        self = cls.__new__(cls)
        self._certificate = certificate
        self._private_key = private_key
        self._parents = tuple(parents)
        return self

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def private_key(self) -> PrivateKey:
        return self._private_key

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """This CA and the intermediates above it, without a self-signed root."""
        own = () if self._is_root() else (self._certificate,)
        return own + self._parents

    def _is_root(self) -> bool:
        return self._certificate.subject == self._certificate.issuer and not self._parents

    def cert_pem(self) -> bytes:
        return _pem([self._certificate])

    def cert_der(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.DER)

    def _authority_key_id(self) -> x509.AuthorityKeyIdentifier:
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            _subject_key_id(self._certificate)
        )

    def intermediate(
        self,
        *,
        key_type: str = "ecdsa-p256",
        common_name: str = "puretls test intermediate CA",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        path_length: int | None = None,
        now: datetime | None = None,
    ) -> CertificateAuthority:
        """A sub-CA signed by this CA, for leaf -> intermediate -> root chains."""
        key = generate_private_key(key_type)
        start, end = _window(now, not_before, not_after, _DEFAULT_CA_LIFETIME)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = _ca_builder(
            _name(common_name), self._certificate.subject, key, start, end, path_length, ski
        ).add_extension(self._authority_key_id(), critical=False)
        cert = builder.sign(self._private_key, _signature_hash(self._private_key))
        return CertificateAuthority.from_certificate(cert, key, parents=self.chain)

    def issue(
        self,
        hosts: Sequence[str] = ("localhost",),
        *,
        key_type: str = "ecdsa-p256",
        common_name: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        client: bool = False,
        server: bool = True,
        eku: Sequence[x509.ObjectIdentifier] | None = None,
        is_ca: bool = False,
        key_usage: x509.KeyUsage | None = None,
        now: datetime | None = None,
        private_key: PrivateKey | None = None,
        must_staple: bool = False,
    ) -> IssuedCert:
        """Issue an end-entity certificate for ``hosts`` (DNS names, wildcards or IPs).

        ``eku`` replaces the serverAuth/clientAuth choice made by ``server``
        and ``client``; an empty sequence leaves the extension out.
        ``must_staple`` adds the TLS Feature extension with status_request
        (RFC 7633): clients must then insist on an OCSP staple.
        """
        key = private_key if private_key is not None else generate_private_key(key_type)
        start, end = _window(now, not_before, not_after, _DEFAULT_LEAF_LIFETIME)
        cn = common_name or (hosts[0] if hosts else "puretls test client")
        builder = (
            _base_builder(_name(cn), self._certificate.subject, key, start, end)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(key_usage or _leaf_key_usage(key), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(self._authority_key_id(), critical=False)
        )
        usages = list(eku) if eku is not None else _default_eku(server=server, client=client)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if hosts:
            names = [host_to_general_name(h) for h in hosts]
            # RFC 5280 4.2.1.6: non-critical because the subject is not empty.
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        if must_staple:
            feature = x509.TLSFeature([x509.TLSFeatureType.status_request])
            builder = builder.add_extension(feature, critical=False)
        cert = builder.sign(self._private_key, _signature_hash(self._private_key))
        return IssuedCert(certificate=cert, private_key=key, chain=(cert, *self.chain))

    def ocsp_responder(
        self, *, key_type: str = "ecdsa-p256", now: datetime | None = None
    ) -> IssuedCert:
        """A delegated OCSP responder certificate (EKU OCSPSigning, RFC 6960 4.2.2.2)."""
        return self.issue(
            (),
            key_type=key_type,
            common_name="puretls test OCSP responder",
            eku=[ExtendedKeyUsageOID.OCSP_SIGNING],
            now=now,
        )

    def ocsp_response(
        self,
        certificate: x509.Certificate | IssuedCert,
        *,
        status: str = "good",
        now: datetime | None = None,
        this_update: datetime | None = None,
        next_update: datetime | None = None,
        responder: IssuedCert | None = None,
        revocation_reason: x509.ReasonFlags | None = None,
    ) -> bytes:
        """A DER OCSPResponse about ``certificate``, which this CA issued.

        ``status``: "good", "revoked" or "unknown".  Signed by this CA, or by
        ``responder`` (from :meth:`ocsp_responder`), which is then included.
        The default window is thisUpdate = now - 1 hour, nextUpdate = now + 7 days.
        """
        cert = certificate.certificate if isinstance(certificate, IssuedCert) else certificate
        moment = _utc(now)
        start = this_update or moment - _BACKDATE
        end = next_update or moment + timedelta(days=7)
        statuses = {
            "good": ocsp.OCSPCertStatus.GOOD,
            "revoked": ocsp.OCSPCertStatus.REVOKED,
            "unknown": ocsp.OCSPCertStatus.UNKNOWN,
        }
        if status not in statuses:
            raise ValueError(f"status must be one of {sorted(statuses)}, not {status!r}")
        revoked = status == "revoked"
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert,
            issuer=self._certificate,
            algorithm=hashes.SHA256(),
            cert_status=statuses[status],
            this_update=start,
            next_update=end,
            revocation_time=start if revoked else None,
            revocation_reason=revocation_reason if revoked else None,
        )
        if responder is None:
            signer_cert, signer_key = self._certificate, self._private_key
        else:
            signer_cert, signer_key = responder.certificate, responder.private_key
            builder = builder.certificates([signer_cert])
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        response = builder.sign(signer_key, _signature_hash(signer_key))
        return response.public_bytes(serialization.Encoding.DER)


def _default_eku(*, server: bool, client: bool) -> list[x509.ObjectIdentifier]:
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    return usages


def _base_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    not_before: datetime,
    not_after: datetime,
    path_length: int | None,
    ski: x509.SubjectKeyIdentifier,
) -> x509.CertificateBuilder:
    return (
        _base_builder(subject, issuer, key, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
    )
