"""``puretls server``: echo and HTTP modes, against puretls, OpenSSL, curl and ssl."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import WAIT, puretls_server, run_puretls, stop_process
from puretls.cli.server import Server, build_context, make_throwaway_certificate

OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")


# -- in-process server -----------------------------------------------------------


class RunningServer:
    def __init__(self, server: Server, ca_file: Path, log: list[str]) -> None:
        self.server = server
        self.ca_file = ca_file
        self.log = log
        self.port = server.address[1]

    def client_context(self) -> ssl.SSLContext:
        # The stdlib's ssl is an independent client for the puretls server.
        return ssl.create_default_context(cafile=str(self.ca_file))

    def connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        return self.client_context().wrap_socket(raw, server_hostname="localhost")

    def wait_for_log(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for line in list(self.log):
                if text in line:
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no log line with {text!r}: {self.log}")


def _start(tmp_path: Path, mode: str, handshake_timeout: float = 10.0) -> Iterator[RunningServer]:
    ca, cert, key = make_throwaway_certificate(tmp_path)
    log: list[str] = []
    server = Server(
        build_context(cert, key),
        host="127.0.0.1",
        port=0,
        mode=mode,
        log=log.append,
        handshake_timeout=handshake_timeout,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningServer(server, ca, log)
    finally:
        server.stop()
        thread.join(timeout=WAIT)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[RunningServer]:
    yield from _start(tmp_path, "http")


@pytest.fixture
def echo_server(tmp_path: Path) -> Iterator[RunningServer]:
    yield from _start(tmp_path, "echo")


def _read_response(sock: ssl.SSLSocket) -> bytes:
    """One response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-header: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_to_eof(sock: ssl.SSLSocket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ssl.SSLZeroReturnError:
            return data
        if not chunk:
            return data
        data += chunk


def test_http_server_answers_a_request_split_over_several_records(
    http_server: RunningServer,
) -> None:
    with http_server.connect() as sock:
        for piece in (b"GET /split HT", b"TP/1.1\r\nHost: local", b"host\r\n", b"\r\n"):
            sock.sendall(piece)  # each sendall is its own TLS record
            time.sleep(0.05)
        reply = _read_response(sock)
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"request:" in reply and b"GET /split" in reply
    assert b"TLSv1.3" in reply


def test_http_server_keeps_http11_connections_alive(http_server: RunningServer) -> None:
    with http_server.connect() as sock:
        sock.sendall(b"GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = _read_response(sock)
        sock.sendall(b"GET /two HTTP/1.1\r\nHost: localhost\r\n\r\n")
        second = _read_response(sock)
    assert b"Connection: keep-alive" in first and b"GET /one" in first
    assert b"GET /two" in second


def test_http_server_closes_after_http10_request_with_close_notify(
    http_server: RunningServer,
) -> None:
    with http_server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = _read_to_eof(sock)
    assert reply.startswith(b"HTTP/1.0 200 OK")
    assert b"Connection: close" in reply


def test_http_server_closes_on_connection_close_header(http_server: RunningServer) -> None:
    with http_server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = _read_to_eof(sock)
    assert reply.count(b"HTTP/1.1 200 OK") == 1


def test_http_server_page_shows_negotiated_parameters(http_server: RunningServer) -> None:
    with http_server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = _read_to_eof(sock).decode()
        suite = sock.cipher()
    assert suite is not None and suite[0] in reply
    for key in ("protocol:", "cipher suite:", "key exchange:", "signature:", "handshake:"):
        assert key in reply
    assert "ClientHello" in reply and "Finished" in reply


def test_http_server_answers_bad_request_with_400(http_server: RunningServer) -> None:
    with http_server.connect() as sock:
        sock.sendall(b"this is not http\r\n\r\n")
        reply = _read_to_eof(sock)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request")


def test_echo_server_echoes_bytes(echo_server: RunningServer) -> None:
    with echo_server.connect() as sock:
        sock.sendall(b"ping")
        assert sock.recv(100) == b"ping"


def test_one_bad_client_does_not_stop_the_server(http_server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", http_server.port), timeout=WAIT) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\n\r\n")  # plain HTTP to a TLS port
        raw.recv(100)
    line = http_server.wait_for_log("handshake failed")
    assert line.count("\n") == 0
    with http_server.connect() as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert _read_to_eof(sock).startswith(b"HTTP/1.0 200 OK")


def test_stalled_client_is_dropped_after_the_handshake_timeout(tmp_path: Path) -> None:
    for running in _start(tmp_path, "echo", handshake_timeout=0.3):
        with socket.create_connection(("127.0.0.1", running.port), timeout=WAIT) as raw:
            line = running.wait_for_log("handshake failed")
            assert "timed out" in line
            assert raw.recv(100) == b""  # the server hung up


# -- the real command ----------------------------------------------------------


def test_echo_server_and_client_pipe_hello() -> None:
    with puretls_server("--echo") as server:
        assert server.ca_file is not None and server.ca_file.exists()
        result = run_puretls(
            "client",
            "--quiet",
            "--cafile",
            str(server.ca_file),
            f"localhost:{server.port}",
            stdin=b"hello\n",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello\n"


def test_server_stops_cleanly_on_sigint_and_removes_its_throwaway_ca() -> None:
    with puretls_server() as server:
        assert server.ca_file is not None
        status = stop_process(server.process, signal.SIGINT)
        assert status == 0
        assert not server.ca_file.exists()


def test_server_uses_given_certificate(tmp_path: Path) -> None:
    ca, cert, key = make_throwaway_certificate(tmp_path)
    with puretls_server("--echo", "--cert", str(cert), "--key", str(key)) as server:
        assert server.ca_file is None
        result = run_puretls(
            "client", "--quiet", "--cafile", str(ca), f"127.0.0.1:{server.port}", stdin=b"x"
        )
    assert result.stdout == b"x"


def test_server_reports_unusable_certificate_in_one_line(tmp_path: Path) -> None:
    result = run_puretls("server", "--cert", str(tmp_path / "missing.pem"), "--port", "0")
    assert result.returncode != 0
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_server_alpn_is_shown_to_the_client() -> None:
    with puretls_server("--echo", "--alpn", "h2,http/1.1") as server:
        assert server.ca_file is not None
        result = run_puretls(
            "client",
            "--alpn",
            "http/1.1",
            "--cafile",
            str(server.ca_file),
            f"localhost:{server.port}",
            stdin=b"",
        )
    assert result.returncode == 0, result.stderr
    assert "ALPN:" in result.stderr.decode() and "http/1.1" in result.stderr.decode()


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_http_server_against_openssl_s_client() -> None:
    with puretls_server("--http") as server:
        assert OPENSSL is not None and server.ca_file is not None
        result = subprocess.run(
            [
                OPENSSL,
                "s_client",
                "-connect",
                f"127.0.0.1:{server.port}",
                "-CAfile",
                str(server.ca_file),
                "-servername",
                "localhost",
                "-verify_return_error",
                "-ign_eof",
            ],
            input=b"GET /openssl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            capture_output=True,
            timeout=WAIT,
            check=False,
        )
    out = result.stdout.decode("utf-8", "replace")
    assert "HTTP/1.1 200 OK" in out
    assert "GET /openssl" in out
    assert "TLSv1.3" in out
    assert "Verify return code: 0 (ok)" in out


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_http_server_against_curl_with_keep_alive() -> None:
    with puretls_server() as server:
        assert CURL is not None and server.ca_file is not None
        base = f"https://localhost:{server.port}"
        result = subprocess.run(
            [CURL, "-sS", "--cacert", str(server.ca_file), f"{base}/a", f"{base}/b"],
            capture_output=True,
            timeout=WAIT,
            check=False,
        )
        server.wait_for("GET /b")
        handshakes = [line for line in server.drain() if "handshake ok" in line]
    assert result.returncode == 0, result.stderr
    body = result.stdout.decode()
    assert "GET /a" in body and "GET /b" in body
    assert len(handshakes) == 1  # curl reused the connection for /b


# -- mutual TLS and stapling from the command line ---------------------------------


def _pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    result = run_puretls("certs", str(directory), "--client", "alice")
    assert result.returncode == 0, result.stderr
    return directory


def test_server_requires_and_shows_a_client_certificate(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    args = ("--cert", str(pki / "server.pem"), "--key", str(pki / "server.key"))
    mtls = ("--client-ca", str(pki / "ca.pem"), "--require-client-cert")
    with puretls_server("--http", *args, *mtls) as server:
        target = f"localhost:{server.port}"
        request = b"GET / HTTP/1.0\r\n\r\n"
        with_cert = run_puretls(
            "client", "--quiet", "--cafile", str(pki / "ca.pem"),
            "--cert", str(pki / "client-alice.pem"), "--key", str(pki / "client-alice.key"),
            target, stdin=request,
        )  # fmt: skip
        without = run_puretls("client", "--cafile", str(pki / "ca.pem"), target, stdin=request)
    assert with_cert.returncode == 0, with_cert.stderr
    assert b"client certificate: CN=alice,O=puretls (verified)" in with_cert.stdout
    assert without.returncode != 0
    assert "certificate_required" in without.stderr.decode()


def test_require_client_cert_without_a_ca_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run_puretls("server", "--require-client-cert", "--port", "0")
    assert result.returncode != 0
    assert "--client-ca" in result.stderr.decode()


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_server_staples_the_given_ocsp_response(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    args = ("--cert", str(pki / "server.pem"), "--key", str(pki / "server.key"))
    with puretls_server("--echo", *args, "--ocsp-response", str(pki / "server.ocsp")) as server:
        assert OPENSSL is not None
        command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{server.port}"]
        command += ["-servername", "localhost", "-CAfile", str(pki / "ca.pem"), "-status"]
        proc = subprocess.run(
            command,
            input=b"",
            capture_output=True,
            timeout=WAIT,
        )
    output = proc.stdout.decode(errors="replace")
    assert "OCSP Response Status: successful" in output
    assert "Cert Status: good" in output
