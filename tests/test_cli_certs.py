"""``puretls certs``: a development CA whose files verify, staple and are reused."""

from __future__ import annotations

import argparse
import io
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509

from puretls.cli import certs
from puretls.ocsp import check_ocsp_response
from puretls.verify import CertificateVerifier, TrustStore


def _chain(path: Path) -> list[bytes]:
    from cryptography.hazmat.primitives.serialization import Encoding

    return [
        c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(path.read_bytes())
    ]


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048", "ed25519"])
def test_certs_verify_and_staple(tmp_path: Path, key_type: str) -> None:
    out = io.StringIO()
    paths = certs.make_certs(
        tmp_path, ["localhost", "127.0.0.1", "::1"], key_type=key_type, clients=["alice"], out=out
    )
    store = TrustStore()
    store.add_cafile(paths["ca"])
    now = datetime.now(timezone.utc)
    for name in ("localhost", "127.0.0.1", "::1"):
        CertificateVerifier(store).verify(_chain(paths["server_cert"]), name, now)
    verified = CertificateVerifier(store, purpose="client").verify(
        _chain(paths["client-alice"]), None, now
    )
    assert "alice" in verified.leaf.subject.rfc4514_string()
    leaf = x509.load_pem_x509_certificate(paths["server_cert"].read_bytes())
    ca = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    status = check_ocsp_response(paths["ocsp"].read_bytes(), leaf, ca, now)
    assert "good" in status.summary()
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    text = out.getvalue()
    assert "curl --cacert" in text and "openssl s_client" in text and "puretls server" in text


def test_rerun_reuses_the_ca(tmp_path: Path) -> None:
    certs.make_certs(tmp_path, ["localhost"], out=io.StringIO())
    first = (tmp_path / "ca.pem").read_bytes()
    out = io.StringIO()
    certs.make_certs(tmp_path, ["localhost", "dev.test"], out=out)
    assert (tmp_path / "ca.pem").read_bytes() == first
    assert "reusing CA" in out.getvalue()


def test_parser_runs_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    certs.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["certs", str(tmp_path / "dev"), "--hosts", "localhost", "--client", "bob"]
    )
    assert args.run(args) == 0
    assert (tmp_path / "dev" / "client-bob.pem").exists()
    assert "client cert" in capsys.readouterr().out


def test_puretls_certs_command_and_client_status_against_openssl(tmp_path: Path) -> None:
    from cli_helpers import run_puretls
    from peers import OPENSSL, openssl_server

    made = run_puretls("certs", str(tmp_path), "--hosts", "localhost,127.0.0.1")
    assert made.returncode == 0, made.stderr
    assert b"server cert" in made.stdout
    if OPENSSL is None:
        pytest.skip("openssl command not installed")
    cert, key, staple = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "server.ocsp"
    with openssl_server(cert, key, "-tls1_3", "-status_file", str(staple)) as port:
        result = run_puretls(
            "client",
            "--cafile",
            str(tmp_path / "ca.pem"),
            "--status",
            f"localhost:{port}",
            stdin=b"GET / HTTP/1.0\r\n\r\n",
        )
    err = result.stderr.decode()
    assert "OCSP staple" in err, err
    assert "good (serial" in err
