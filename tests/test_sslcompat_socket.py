"""SSLSocket on real loopback sockets: puretls and the stdlib on either side."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import io
import select
import socket
import ssl
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import puretls
from puretls.testing import CertificateAuthority

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture(scope="module")
def server_files(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return ca.issue(["localhost", "127.0.0.1"]).write(tmp_path_factory.mktemp("c"), "server")


def server_ctx(module: ModuleType, files: Any) -> Any:
    ctx = module.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files)
    return ctx


def client_ctx(module: ModuleType, ca: CertificateAuthority) -> Any:
    return module.create_default_context(cadata=ca.cert_pem().decode())


@contextlib.contextmanager
def tls_server(ctx: Any, handler: Callable[[Any], None]) -> Iterator[int]:
    """Accept one connection in a thread, wrap it with ``ctx`` and run ``handler``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            raw, _ = listener.accept()
            raw.settimeout(TIMEOUT)
            with ctx.wrap_socket(raw, server_side=True) as conn:
                handler(conn)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def echo_line(conn: Any) -> None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1024)
        if not chunk:
            return
        data += chunk
    conn.sendall(b"echo:" + data)


SIDES = [(puretls, puretls), (puretls, ssl), (ssl, puretls)]
IDS = ["puretls-puretls", "puretls-client-stdlib-server", "stdlib-client-puretls-server"]


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_echo_over_loopback(
    client_mod: ModuleType, server_mod: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    with (
        tls_server(server_ctx(server_mod, server_files), echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client_ctx(client_mod, ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"hello\n")
        assert tls.recv(100) == b"echo:hello\n"
        assert tls.version() == "TLSv1.3"
        assert tls.cipher()[1] == "TLSv1.3"
        assert tls.getpeercert()["subjectAltName"] == (
            ("DNS", "localhost"),
            ("IP Address", "127.0.0.1"),
        )


def test_sslsocket_is_a_stdlib_sslsocket(ca: CertificateAuthority, server_files: Any) -> None:
    with (
        tls_server(server_ctx(ssl, server_files), echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
    ):
        fileno = raw.fileno()
        tls = client_ctx(puretls, ca).wrap_socket(raw, server_hostname="localhost")
        with tls:
            assert isinstance(tls, ssl.SSLSocket) and isinstance(tls, puretls.SSLSocket)
            assert tls.fileno() == fileno and raw.fileno() == -1  # fd moved over
            assert tls.group() == "x25519"
            assert tls.signature_scheme() == "ecdsa_secp256r1_sha256"
            assert tls.server_hostname == "localhost" and not tls.server_side
            assert len(tls.get_verified_chain()) == 2
            with pytest.raises(NotImplementedError):
                tls.dup()
            tls.sendall(b"x\n")
            assert tls.recv(100) == b"echo:x\n"


def test_makefile_reads_and_writes_lines(ca: CertificateAuthority, server_files: Any) -> None:
    def handler(conn: Any) -> None:
        with conn.makefile("rwb") as stream:
            line = stream.readline()
            stream.write(b"got " + line)
            stream.flush()

    with (
        tls_server(server_ctx(puretls, server_files), handler) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client_ctx(puretls, ca).wrap_socket(raw, server_hostname="localhost") as tls,
        tls.makefile("rwb") as stream,
    ):
        stream.write(b"line one\n")
        stream.flush()
        assert stream.readline() == b"got line one\n"


def test_non_blocking_client_raises_want_read(ca: CertificateAuthority, server_files: Any) -> None:
    with (
        tls_server(server_ctx(ssl, server_files), echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
    ):
        raw.setblocking(False)
        tls = client_ctx(puretls, ca).wrap_socket(
            raw, server_hostname="localhost", do_handshake_on_connect=False
        )
        with tls:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    assert select.select([tls], [], [], TIMEOUT)[0]
                except ssl.SSLWantWriteError:
                    select.select([], [tls], [], TIMEOUT)
            with pytest.raises(ssl.SSLWantReadError):
                tls.recv(100)
            tls.sendall(b"nb\n")
            received = b""
            while not received.endswith(b"\n"):
                assert select.select([tls], [], [], TIMEOUT)[0]
                with contextlib.suppress(ssl.SSLWantReadError):
                    received += tls.recv(100)
            assert received == b"echo:nb\n"


def test_recv_times_out_like_the_stdlib(ca: CertificateAuthority, server_files: Any) -> None:
    release = threading.Event()

    def silent(conn: Any) -> None:
        release.wait(TIMEOUT)

    with (
        tls_server(server_ctx(ssl, server_files), silent) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client_ctx(puretls, ca).wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.settimeout(0.2)
        with pytest.raises(TimeoutError):
            tls.recv(10)
        release.set()


def test_ragged_eof_is_suppressed_or_raised(ca: CertificateAuthority, server_files: Any) -> None:
    def drop(conn: Any) -> None:
        conn.recv(10)
        # Close the TCP connection without close_notify.
        socket.socket.shutdown(conn, socket.SHUT_RDWR)

    for suppress in (True, False):
        with (
            tls_server(server_ctx(ssl, server_files), drop) as port,
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
            client_ctx(puretls, ca).wrap_socket(
                raw, server_hostname="localhost", suppress_ragged_eofs=suppress
            ) as tls,
        ):
            tls.sendall(b"go")
            if suppress:
                assert tls.recv(10) == b""
            else:
                with pytest.raises(ssl.SSLEOFError):
                    tls.recv(10)


def test_unwrap_returns_the_plain_socket(ca: CertificateAuthority, server_files: Any) -> None:
    def handler(conn: Any) -> None:
        plain = conn.unwrap()
        plain.sendall(b"plain text")
        plain.close()

    with (
        tls_server(server_ctx(puretls, server_files), handler) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
    ):
        tls = client_ctx(ssl, ca).wrap_socket(raw, server_hostname="localhost")
        plain = tls.unwrap()
        assert plain.recv(100) == b"plain text"
        plain.close()


def test_verification_failure_alerts_the_server(server_files: Any) -> None:
    stranger = CertificateAuthority(common_name="stranger")
    server_errors: list[BaseException] = []

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> None:
        raw, _ = listener.accept()
        try:
            server_ctx(ssl, server_files).wrap_socket(raw, server_side=True)
        except ssl.SSLError as exc:
            server_errors.append(exc)
        finally:
            raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with (
        socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"),
    ):
        client_ctx(puretls, stranger).wrap_socket(raw, server_hostname="localhost")
    thread.join(TIMEOUT)
    listener.close()
    assert server_errors and "ALERT" in str(server_errors[0])


def test_listening_wrapped_socket_accepts_tls_clients(
    ca: CertificateAuthority, server_files: Any
) -> None:
    listener = server_ctx(puretls, server_files).wrap_socket(
        socket.create_server(("127.0.0.1", 0)), server_side=True
    )
    listener.settimeout(TIMEOUT)
    result: list[Any] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            result.append(type(conn))
            echo_line(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with (
        socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as raw,
        client_ctx(ssl, ca).wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"accepted\n")
        assert tls.recv(100) == b"echo:accepted\n"
    thread.join(TIMEOUT)
    listener.close()
    assert result == [puretls.SSLSocket]


def test_wrap_before_connect_then_connect(ca: CertificateAuthority, server_files: Any) -> None:
    with tls_server(server_ctx(ssl, server_files), echo_line) as port:
        sock = socket.socket()
        sock.settimeout(TIMEOUT)
        with client_ctx(puretls, ca).wrap_socket(sock, server_hostname="localhost") as tls:
            assert tls.version() is None
            tls.connect(("127.0.0.1", port))
            tls.sendall(b"late\n")
            assert tls.recv(100) == b"echo:late\n"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello over puretls"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def https_server(ctx: Any) -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(TIMEOUT)


@pytest.mark.parametrize("server_mod", [puretls, ssl])
def test_http_client_with_puretls_context(
    server_mod: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    with https_server(server_ctx(server_mod, server_files)) as port:
        conn = http.client.HTTPSConnection(
            "localhost", port, context=client_ctx(puretls, ca), timeout=TIMEOUT
        )
        conn.request("GET", "/")
        assert isinstance(conn.sock, puretls.SSLSocket)
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b"hello over puretls"
        conn.close()


def test_try_it_yourself_snippet_runs_unchanged(
    ca: CertificateAuthority, server_files: Any, tmp_path: Path
) -> None:
    """The seed's snippet with ``import puretls as ssl``, against a local server."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.cert_pem())
    with https_server(server_ctx(ssl, server_files)) as port:
        source = f"""
import socket
import puretls as ssl
ctx = ssl.create_default_context(cafile={str(ca_file)!r})
with socket.create_connection(('127.0.0.1', {port}), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname='127.0.0.1') as s:
        print('version :', s.version())
        print('cipher :', s.cipher()[0])
        cert = s.getpeercert()
        print('subject :', dict(x[0] for x in cert['subject'])['commonName'])
        print('issuer :', dict(x[0] for x in cert['issuer'])['organizationName'])
        print('expires :', cert['notAfter'])
"""
        out = io.StringIO()
        with redirect_stdout(out):
            exec(compile(source, "<try-it-yourself>", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == "version : TLSv1.3"
    assert lines[1].startswith("cipher : TLS_")
    assert lines[2] == "subject : localhost"
    assert lines[3] == "issuer : puretls"
    assert lines[4].startswith("expires : ") and lines[4].endswith(" GMT")


def test_half_close_sends_close_notify_and_keeps_reading() -> None:
    """puretls addition: after half_close() the peer's last data still arrives."""
    import tempfile
    from pathlib import Path

    import puretls as tls_module
    from puretls.testing import CertificateAuthority

    ca = CertificateAuthority()
    leaf = ca.issue(["localhost"])
    server_ctx = tls_module.SSLContext(tls_module.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = leaf.write(Path(tmp), "srv")
        server_ctx.load_cert_chain(cert, key)
    client_ctx = tls_module.SSLContext(tls_module.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cadata=ca.cert_pem().decode())
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    result: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.settimeout(10)
            got = b""
            while chunk := tls.recv(100):
                got += chunk
            result.append(got)
            tls.sendall(b"goodbye after your close_notify")
            tls.unwrap()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        tls = client_ctx.wrap_socket(raw, server_hostname="localhost")
        assert tls.connection is not None and tls.connection.handshake_complete
        tls.sendall(b"last request")
        tls.half_close()
        tail = b""
        # As with OpenSSL: once both sides have closed, the end of the
        # stream is SSLZeroReturnError rather than b"".
        with contextlib.suppress(ssl.SSLZeroReturnError):
            while chunk := tls.recv(100):
                tail += chunk
    thread.join(10)
    listener.close()
    assert result == [b"last request"]
    assert tail == b"goodbye after your close_notify"


def _stream_back(conn: Any) -> None:
    """Read a 4-byte length, then that many bytes, and send them all back."""
    want = int.from_bytes(conn.recv(4), "big")
    received = bytearray()
    buffer = bytearray(50000)
    while len(received) < want:
        count = conn.recv_into(buffer)
        assert count
        received += buffer[:count]
    conn.sendall(bytes(received))


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_megabytes_both_ways_arrive_intact(
    client_mod: ModuleType, server_mod: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    data = bytes(range(253)) * 8000  # ~2 MB: many records per socket read
    with (
        tls_server(server_ctx(server_mod, server_files), _stream_back) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client_ctx(client_mod, ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(len(data).to_bytes(4, "big"))
        tls.sendall(memoryview(data)[:1000])
        tls.sendall(data[1000:])
        got = bytearray()
        while len(got) < len(data):
            chunk = tls.recv(100000)
            assert chunk
            got += chunk
        assert bytes(got) == data


def test_a_dropped_sslsocket_is_freed_without_the_garbage_collector(
    ca: CertificateAuthority,
) -> None:
    # Callers (the CLI server among them) rely on refcounting to close the
    # fd of a socket they drop after a failed handshake.
    left, right = socket.socketpair()
    with right:
        tls = client_ctx(puretls, ca).wrap_socket(
            left, server_hostname="localhost", do_handshake_on_connect=False
        )
        ref = weakref.ref(tls)
        del tls
        assert ref() is None
        right.settimeout(TIMEOUT)
        assert right.recv(10) == b""  # the fd was closed with it


def test_handshake_waits_let_the_connection_work_ahead(
    ca: CertificateAuthority, server_files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each wait for the peer's flight during the handshake calls Connection.prepare."""
    from test_connection_prepare import EXPECTED_WAITS, record_prepares

    states = record_prepares(monkeypatch)
    with (
        tls_server(server_ctx(puretls, server_files), echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client_ctx(puretls, ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"hello\n")
        assert tls.recv(100) == b"echo:hello\n"
    assert EXPECTED_WAITS.issubset(states)
