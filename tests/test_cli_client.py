"""``puretls client``: against OpenSSL's s_server and the puretls server, and its failures."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import WAIT, free_port, puretls_server, run_puretls, stop_process
from puretls.cli.server import make_throwaway_certificate
from puretls.testing import CertificateAuthority

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


def _s_server(cert: Path, key: Path, *extra: str) -> Iterator[int]:
    """``openssl s_server -www -tls1_3`` on a free port; stopped by PID."""
    assert OPENSSL is not None
    port = free_port()
    proc = subprocess.Popen(
        [
            OPENSSL,
            "s_server",
            "-accept",
            f"127.0.0.1:{port}",
            "-cert",
            str(cert),
            "-key",
            str(key),
            "-www",
            "-tls1_3",
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:  # s_server prints ACCEPT once it listens
            if raw.startswith(b"ACCEPT"):
                break
        else:
            raise AssertionError("s_server did not start")
        yield port
    finally:
        stop_process(proc)


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, Path, Path]:
    return make_throwaway_certificate(tmp_path)


@pytest.fixture
def openssl_server(pki: tuple[Path, Path, Path]) -> Iterator[int]:
    _, cert, key = pki
    yield from _s_server(cert, key)


def _one_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@needs_openssl
def test_client_talks_http_to_openssl_s_server(
    pki: tuple[Path, Path, Path], openssl_server: int
) -> None:
    ca, _, _ = pki
    result = run_puretls(
        "client",
        "--cafile",
        str(ca),
        f"localhost:{openssl_server}",
        stdin=b"GET / HTTP/1.0\r\n\r\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.0 200 ok")
    info = result.stderr.decode()
    assert "protocol:" in info and "TLSv1.3" in info
    for key in ("cipher suite:", "key exchange:", "signature:", "ALPN:", "server subject:"):
        assert key in info
    assert "server names:" in info and "DNS:localhost" in info
    assert "verification:" in info and "OK" in info


@needs_openssl
def test_client_chooses_suite_and_group(pki: tuple[Path, Path, Path], openssl_server: int) -> None:
    ca, _, _ = pki
    result = run_puretls(
        "client",
        "--tls1.3",
        "--cafile",
        str(ca),
        "--ciphersuites",
        "TLS_CHACHA20_POLY1305_SHA256",
        "--groups",
        "secp384r1",
        f"127.0.0.1:{openssl_server}",
        stdin=b"GET / HTTP/1.0\r\n\r\n",
    )
    assert result.returncode == 0, result.stderr
    info = result.stderr.decode()
    assert "TLS_CHACHA20_POLY1305_SHA256" in info
    assert "secp384r1" in info


@needs_openssl
def test_client_writes_a_key_log(
    pki: tuple[Path, Path, Path], openssl_server: int, tmp_path: Path
) -> None:
    ca, _, _ = pki
    keylog = tmp_path / "keys.log"
    result = run_puretls(
        "client",
        "--quiet",
        "--keylog",
        str(keylog),
        "--cafile",
        str(ca),
        f"localhost:{openssl_server}",
        stdin=b"GET / HTTP/1.0\r\n\r\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""  # --quiet
    assert "CLIENT_HANDSHAKE_TRAFFIC_SECRET" in keylog.read_text()


@needs_openssl
def test_client_rejects_wrong_hostname_with_one_line(
    pki: tuple[Path, Path, Path], openssl_server: int
) -> None:
    ca, _, _ = pki
    result = run_puretls(
        "client",
        "--cafile",
        str(ca),
        "--servername",
        "wrong.example",
        f"127.0.0.1:{openssl_server}",
    )
    assert result.returncode != 0
    line = _one_line(result.stderr)
    assert line.startswith("puretls: certificate verify failed:")
    assert "wrong.example" in line and "localhost" in line
    assert result.stdout == b""


@needs_openssl
def test_client_rejects_an_untrusted_ca(tmp_path: Path, openssl_server: int) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(CertificateAuthority(common_name="someone else").cert_pem())
    result = run_puretls("client", "--cafile", str(other_ca), f"localhost:{openssl_server}")
    assert result.returncode != 0
    assert _one_line(result.stderr).startswith("puretls: certificate verify failed:")


@needs_openssl
def test_insecure_client_accepts_a_self_signed_server_and_warns(tmp_path: Path) -> None:
    # A leaf whose issuer nobody trusts: only --insecure gets through.
    leaf = CertificateAuthority().issue(["localhost"])
    cert, key = leaf.write(tmp_path, "selfish")
    for port in _s_server(cert, key):
        result = run_puretls(
            "client", "--insecure", f"localhost:{port}", stdin=b"GET / HTTP/1.0\r\n\r\n"
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.0 200 ok")
    info = result.stderr.decode()
    assert info.startswith("WARNING: --insecure")
    assert "NOT" in info.splitlines()[0]


def test_client_reports_connection_refused() -> None:
    port = free_port()
    result = run_puretls("client", f"127.0.0.1:{port}")
    assert result.returncode != 0
    assert _one_line(result.stderr) == f"puretls: connection refused by 127.0.0.1:{port}"


def test_client_reports_a_bad_target() -> None:
    result = run_puretls("client", "localhost:notaport")
    assert result.returncode != 0
    assert "invalid port" in _one_line(result.stderr)


def test_client_reports_a_handshake_timeout() -> None:
    import socket

    with socket.socket() as listener:  # accepts TCP, never speaks TLS
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run_puretls("client", "--timeout", "0.5", f"127.0.0.1:{port}", timeout=WAIT)
    assert result.returncode != 0
    assert "timed out" in _one_line(result.stderr)


def test_client_over_ipv6_brackets_to_puretls_echo_server() -> None:
    with puretls_server("--echo", "--host", "::1") as server:
        assert server.ca_file is not None
        result = run_puretls(
            "client",
            "--cafile",
            str(server.ca_file),
            f"[::1]:{server.port}",
            stdin=b"over v6",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"over v6"
    assert "verification:" in result.stderr.decode()


def test_client_copies_a_large_stream_both_ways() -> None:
    data = bytes(range(256)) * 2000  # 512 KB: many records each way
    with puretls_server("--echo") as server:
        assert server.ca_file is not None
        result = run_puretls(
            "client",
            "--quiet",
            "--cafile",
            str(server.ca_file),
            f"localhost:{server.port}",
            stdin=data,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == data


def test_client_reports_no_common_cipher_suite_as_the_servers_alert() -> None:
    with puretls_server("--echo", "--ciphersuites", "TLS_AES_128_GCM_SHA256") as server:
        assert server.ca_file is not None
        result = run_puretls(
            "client",
            "--cafile",
            str(server.ca_file),
            "--ciphersuites",
            "TLS_CHACHA20_POLY1305_SHA256",
            f"localhost:{server.port}",
        )
        logged = server.wait_for("handshake failed")
    assert result.returncode != 0
    assert "handshake_failure alert" in _one_line(result.stderr)
    assert "no cipher suite in common" in logged
