"""sslcompat: SSLSession, session / session_reused, wrap_socket(session=), 0-RTT, exporters."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import puretls.sslcompat as ptssl
from puretls.session import SessionCache
from puretls.sslcompat.session import SSLSession
from puretls.testing import CertificateAuthority


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority()
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    ca.issue(["localhost"], key_type="ecdsa-p256").write(directory, "server")
    return directory


class EchoServer:
    """A puretls sslcompat server answering ``count`` connections on loopback."""

    def __init__(self, context: ptssl.SSLContext, count: int) -> None:
        self.context = context
        self.sockets: list[ptssl.SSLSocket] = []
        self.early: list[bytes] = []
        self.reused: list[bool] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, args=(count,), daemon=True)
        self.thread.start()

    def _run(self, count: int) -> None:
        with self.listener:
            for _ in range(count):
                raw, _ = self.listener.accept()
                raw.settimeout(10)
                with self.context.wrap_socket(raw, server_side=True) as sock:
                    self.sockets.append(sock)
                    data = sock.recv(1024)
                    self.early.append(sock.received_early_data)
                    self.reused.append(bool(sock.session_reused))
                    key = sock.export_keying_material(b"EXPORTER-test", None, 16)
                    sock.sendall(b"echo:" + data + b":" + key.hex().encode())

    def join(self) -> None:
        self.thread.join(10)


@pytest.fixture
def server_context(files: Path) -> ptssl.SSLContext:
    context = ptssl.SSLContext(ptssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files / "server.pem", files / "server.key")
    return context


def client_context(files: Path) -> ptssl.SSLContext:
    return ptssl.create_default_context(cafile=str(files / "ca.pem"))


def talk(context: ptssl.SSLContext, port: int, **kw: object) -> tuple[ptssl.SSLSocket, bytes]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname="localhost", **kw)  # type: ignore[arg-type]
    sock.sendall(b"hi")
    reply = sock.recv(1024)
    return sock, reply


@pytest.fixture(autouse=True)
def no_keylog_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    yield


def test_session_resumes_through_wrap_socket(files: Path, server_context: ptssl.SSLContext) -> None:
    server = EchoServer(server_context, 2)
    context = client_context(files)
    first, _ = talk(context, server.port)
    session = first.session
    assert first.session_reused is False
    first.close()
    assert isinstance(session, SSLSession)
    assert session.has_ticket and session.timeout == session.ticket_lifetime_hint > 0
    assert session.time > 0 and len(session.id) == 32
    second, reply = talk(context, server.port, session=session)
    assert second.session_reused is True
    second.close()
    server.join()
    assert reply.startswith(b"echo:hi:")
    assert server.reused == [False, True]


def test_session_setter_before_handshake_and_errors_after(
    files: Path, server_context: ptssl.SSLContext
) -> None:
    server = EchoServer(server_context, 2)
    context = client_context(files)
    first, _ = talk(context, server.port)
    session = first.session
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
    sock.session = session
    sock.do_handshake()
    assert sock.session_reused
    with pytest.raises(ValueError):
        sock.session = session
    sock.sendall(b"x")
    sock.recv(100)
    sock.close()
    first.close()
    server.join()


def test_context_session_cache_resumes_automatically(
    files: Path, server_context: ptssl.SSLContext
) -> None:
    server = EchoServer(server_context, 2)
    context = client_context(files)
    context.session_cache = SessionCache()  # type: ignore[attr-defined]
    first, _ = talk(context, server.port)
    assert first.session_reused is False
    first.close()
    second, _ = talk(context, server.port)
    assert second.session_reused is True
    second.close()
    server.join()


def test_early_data_through_sslsocket(files: Path, server_context: ptssl.SSLContext) -> None:
    server_context.max_early_data_size = 1024  # type: ignore[attr-defined]
    server = EchoServer(server_context, 2)
    context = client_context(files)
    first, _ = talk(context, server.port)
    session = first.session
    first.close()
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock = context.wrap_socket(
        raw, server_hostname="localhost", session=session, do_handshake_on_connect=False
    )
    sock.send_early_data(b"early")
    sock.do_handshake()
    reply = sock.recv(1024)
    assert sock.early_data_accepted is True
    sock.close()
    server.join()
    assert server.early[1] == b"early"
    assert reply.startswith(b"echo:early:")


def test_export_keying_material_matches_on_both_ends(
    files: Path, server_context: ptssl.SSLContext
) -> None:
    server = EchoServer(server_context, 1)
    sock, reply = talk(client_context(files), server.port)
    ours = sock.export_keying_material("EXPORTER-test", None, 16)
    sock.close()
    server.join()
    assert reply == b"echo:hi:" + ours.hex().encode()


def test_keylog_file_from_environment_has_early_secret(
    files: Path, server_context: ptssl.SSLContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_context.max_early_data_size = 1024  # type: ignore[attr-defined]
    server = EchoServer(server_context, 2)
    first, _ = talk(client_context(files), server.port)
    session = first.session
    first.close()
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    context = client_context(files)
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock = context.wrap_socket(
        raw, server_hostname="localhost", session=session, do_handshake_on_connect=False
    )
    sock.send_early_data(b"e")
    sock.do_handshake()
    sock.recv(100)
    sock.close()
    server.join()
    labels = {line.split()[0] for line in keylog.read_text().splitlines() if line}
    assert {
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    } <= labels
