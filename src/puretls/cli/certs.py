"""``puretls certs DIR``: a local development CA and the certificates it issues.

Makes (or reuses) ``DIR/ca.pem`` + ``DIR/ca.key``, then issues a server
certificate for ``--hosts``, optional client certificates, and a stapleable
OCSP response for the server certificate.  Re-running keeps the CA, so
clients that already trust it keep working.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from puretls.testing import CertificateAuthority

LEAF_KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "rsa3072", "ed25519")
# cryptography's Web PKI verifier refuses Ed25519 signatures on certificates,
# so an ed25519 leaf is still issued by an ECDSA CA.
_CA_KEY = {"ed25519": "ecdsa-p256"}
_CA_NAME = "puretls development CA"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "certs",
        help="make a local development CA, server and client certificates",
        description="Create (or reuse) a CA in DIR and issue a server certificate for the "
        "hosts, optional client certificates and an OCSP response to staple.",
    )
    parser.add_argument("directory", metavar="DIR", help="where the files go (created)")
    parser.add_argument(
        "--hosts",
        default="localhost,127.0.0.1,::1",
        help="comma-separated DNS names and IP addresses (default: %(default)s)",
    )
    parser.add_argument(
        "--key",
        choices=LEAF_KEY_TYPES,
        default="ecdsa-p256",
        help="key type (default: %(default)s)",
    )
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="also issue a client certificate for NAME (repeatable)",
    )
    parser.add_argument("--days", type=int, default=90, help="leaf lifetime (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    hosts = [h.strip() for h in args.hosts.split(",") if h.strip()]
    if not hosts:
        print("puretls certs: --hosts needs at least one name", file=sys.stderr)
        return 2
    make_certs(Path(args.directory), hosts, key_type=args.key, clients=args.client, days=args.days)
    return 0


def _load_or_make_ca(directory: Path, key_type: str, out: TextIO) -> CertificateAuthority:
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = load_pem_private_key(key_path.read_bytes(), None)
        print(f"reusing CA       {cert_path}  ({cert.subject.rfc4514_string()})", file=out)
        return CertificateAuthority.from_certificate(cert, key)  # type: ignore[arg-type]
    ca = CertificateAuthority(key_type=_CA_KEY.get(key_type, key_type), common_name=_CA_NAME)
    cert_path.write_bytes(ca.cert_pem())
    _write_private(key_path, ca)
    print(f"created CA       {cert_path}", file=out)
    return ca


def _write_private(path: Path, ca: CertificateAuthority) -> None:
    pem = ca.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    # Owner-only from the start: the CA key must never be world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def make_certs(
    directory: Path,
    hosts: list[str],
    *,
    key_type: str = "ecdsa-p256",
    clients: list[str] | tuple[str, ...] = (),
    days: int = 90,
    out: TextIO | None = None,
) -> dict[str, Path]:
    """Write the CA (kept if present), server and client files; return their paths."""
    out = out or sys.stdout
    directory.mkdir(parents=True, exist_ok=True)
    ca = _load_or_make_ca(directory, key_type, out)
    now = datetime.now(timezone.utc)
    not_after = now + timedelta(days=days)
    server = ca.issue(hosts, key_type=key_type, not_after=not_after)
    paths: dict[str, Path] = {"ca": directory / "ca.pem"}
    paths["server_cert"], paths["server_key"] = server.write(directory, "server")
    paths["ocsp"] = directory / "server.ocsp"
    paths["ocsp"].write_bytes(ca.ocsp_response(server))
    print(f"server cert      {paths['server_cert']}  ({', '.join(hosts)})", file=out)
    print(f"server key       {paths['server_key']}", file=out)
    print(f"OCSP response    {paths['ocsp']}  (good for 7 days)", file=out)
    for name in clients:
        leaf = ca.issue(
            [], common_name=name, client=True, server=False, key_type=key_type, not_after=not_after
        )
        cert_path, _key_path = leaf.write(directory, f"client-{name}")
        paths[f"client-{name}"] = cert_path
        print(f"client cert      {cert_path}  (CN={name})", file=out)
    _print_usage(directory, hosts[0], clients, out)
    return paths


def _print_usage(
    directory: Path, host: str, clients: list[str] | tuple[str, ...], out: TextIO
) -> None:
    d = directory
    client = f"{d}/client-{clients[0]}" if clients else None
    lines = [
        "",
        "Use them:",
        f"  puretls server --cert {d}/server.pem --key {d}/server.key --port 8443 "
        f"--ocsp-response {d}/server.ocsp",
        f"  puretls client --cafile {d}/ca.pem {host}:8443",
        f"  curl --cacert {d}/ca.pem https://{host}:8443/",
        f"  openssl s_client -connect {host}:8443 -CAfile {d}/ca.pem -status",
        f"  openssl s_server -accept 8443 -cert {d}/server.pem -key {d}/server.key "
        f"-status_file {d}/server.ocsp",
    ]
    if client:
        lines += [
            "Mutual TLS (the server asks for and verifies a client certificate):",
            f"  puretls server --cert {d}/server.pem --key {d}/server.key --port 8443 "
            f"--client-ca {d}/ca.pem --require-client-cert",
            f"  puretls client --cafile {d}/ca.pem --cert {client}.pem --key {client}.key "
            f"{host}:8443",
            f"  curl --cacert {d}/ca.pem --cert {client}.pem --key {client}.key "
            f"https://{host}:8443/",
            f"  openssl s_client -connect {host}:8443 -CAfile {d}/ca.pem "
            f"-cert {client}.pem -key {client}.key",
        ]
    lines.append(f"Trust {d}/ca.pem only on machines you control; keep ca.key private.")
    print("\n".join(lines), file=out)


__all__ = ["LEAF_KEY_TYPES", "add_parser", "make_certs", "run"]
