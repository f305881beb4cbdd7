"""sslcompat over TLS 1.2: SSLSession for tickets and session IDs, against the stdlib both ways."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest

import puretls.sslcompat as ptssl
from puretls.session import SessionCache
from puretls.sslcompat.session import SSLSession
from puretls.testing import CertificateAuthority

TIMEOUT = 10


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki12")
    ca = CertificateAuthority()
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    ca.issue(["localhost"], key_type="ecdsa-p256").write(directory, "server")
    return directory


class Server:
    """Any SSLContext (ours or the stdlib's) answering ``count`` connections on loopback."""

    def __init__(self, context: Any, count: int) -> None:
        self.context = context
        self.reused: list[bool] = []
        self.errors: list[BaseException] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, args=(count,), daemon=True)
        self.thread.start()

    def _run(self, count: int) -> None:
        try:
            with self.listener:
                for _ in range(count):
                    raw, _ = self.listener.accept()
                    raw.settimeout(TIMEOUT)
                    with self.context.wrap_socket(raw, server_side=True) as sock:
                        data = sock.recv(1024)
                        self.reused.append(bool(sock.session_reused))
                        sock.sendall(b"echo:" + data)
                        if not isinstance(self.context, ptssl.SSLContext):
                            # OpenSSL drops a session that ended without our
                            # close_notify (ssl_clear_bad_session); the client
                            # may close without answering it.
                            with contextlib.suppress(OSError):
                                sock.unwrap()
        except BaseException as exc:  # reported by join()
            self.errors.append(exc)

    def join(self) -> None:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive() and not self.errors, self.errors


def server_context(module: Any, files: Path, *, tickets: bool = True) -> Any:
    context = module.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files / "server.pem", files / "server.key")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    if not tickets and module is ptssl:
        context.num_tickets = 0  # puretls: no TLS 1.2 tickets either, session IDs only
    elif not tickets:
        context.options |= ssl.OP_NO_TICKET  # OpenSSL: the TLS 1.2 ticket switch
    return context


def client_context(module: Any, files: Path) -> Any:
    context = module.create_default_context(cafile=str(files / "ca.pem"))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def talk(context: Any, port: int, **kw: Any) -> tuple[Any, bytes]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock = context.wrap_socket(raw, server_hostname="localhost", **kw)
    sock.sendall(b"hi")
    return sock, sock.recv(1024)


@pytest.fixture(autouse=True)
def no_keylog_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)


def test_tls12_ticket_session_resumes_through_wrap_socket(files: Path) -> None:
    server = Server(server_context(ptssl, files), 2)
    context = client_context(ptssl, files)
    first, _ = talk(context, server.port)
    session = first.session
    assert first.version() == "TLSv1.2" and first.session_reused is False
    first.close()
    assert isinstance(session, SSLSession)
    assert session.has_ticket and session.ticket_lifetime_hint == session.timeout == 7200
    assert len(session.id) == 32 and session.time > 0
    second, reply = talk(context, server.port, session=session)
    assert second.session_reused is True and reply == b"echo:hi"
    second.close()
    server.join()
    assert server.reused == [False, True]


def test_tls12_session_id_resumes_when_tickets_are_off(files: Path) -> None:
    server = Server(server_context(ptssl, files, tickets=False), 2)
    context = client_context(ptssl, files)
    first, _ = talk(context, server.port)
    session = first.session
    first.close()
    assert isinstance(session, SSLSession)
    assert not session.has_ticket and session.ticket_lifetime_hint == 0
    assert session.id == session.session.session_id  # type: ignore[union-attr]
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    sock = context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
    sock.session = session
    sock.do_handshake()
    assert sock.session_reused and sock.session == session
    sock.sendall(b"x")
    sock.recv(100)
    sock.close()
    server.join()
    assert server.reused == [False, True]


def test_context_session_cache_resumes_tls12_again_and_again(files: Path) -> None:
    server = Server(server_context(ptssl, files), 3)
    context = client_context(ptssl, files)
    context.session_cache = SessionCache()
    reused = []
    for _ in range(3):
        sock, _ = talk(context, server.port)
        reused.append(sock.session_reused)
        sock.close()
    server.join()
    assert reused == [False, True, True]


def test_stdlib_tls12_client_resumes_a_puretls_ticket(files: Path) -> None:
    server = Server(server_context(ptssl, files), 2)
    context = client_context(ssl, files)
    first, _ = talk(context, server.port)
    session = first.session
    assert first.version() == "TLSv1.2"
    first.close()
    assert session is not None and session.has_ticket
    assert session.ticket_lifetime_hint == 7200
    second, reply = talk(context, server.port, session=session)
    assert second.session_reused and reply == b"echo:hi"
    second.close()
    server.join()
    assert server.reused == [False, True]


@pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "session-id"])
def test_puretls_tls12_client_resumes_with_a_stdlib_server(files: Path, tickets: bool) -> None:
    server = Server(server_context(ssl, files, tickets=tickets), 2)
    context = client_context(ptssl, files)
    first, _ = talk(context, server.port)
    session = first.session
    first.close()
    assert isinstance(session, SSLSession) and session.has_ticket == tickets
    second, reply = talk(context, server.port, session=session)
    assert second.session_reused and reply == b"echo:hi"
    second.close()
    server.join()
    assert server.reused == [False, True]
