"""Resumption, 0-RTT, exporters and key logs against openssl on loopback, both directions."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from peers import OPENSSL, free_port, handshake, read_until_closed, wait_for_port
from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import CipherSuite
from puretls.events import ApplicationData, NewSessionTicketReceived
from puretls.session import ClientSession
from puretls.testing import CertificateAuthority
from puretls.verify import CertificateVerifier, TrustStore

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority()
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    ca.issue(["localhost", "127.0.0.1"], key_type="ecdsa-p256").write(directory, "server")
    return directory


@contextlib.contextmanager
def s_server(
    pki: Path, *args: str, accepts: int = 3
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``openssl s_server -www``; one accept goes to the readiness probe; stopped by PID."""
    assert OPENSSL is not None
    port = free_port()
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", str(accepts)]
    cmd += ["-cert", str(pki / "server.pem"), "-key", str(pki / "server.key"), "-tls1_3", *args]
    # stdin stays open: at EOF on stdin s_server (without -www) hangs up.
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, proc)
        yield port, proc
    finally:
        proc.kill()
        proc.communicate(timeout=5)


def client_config(pki: Path, **kw: object) -> TLSConfig:
    store = TrustStore()
    store.add_cafile(str(pki / "ca.pem"))
    options: dict[str, object] = {
        "server_name": "localhost",
        "verifier": CertificateVerifier(store),
    }
    options.update(kw)
    return TLSConfig(is_server=False, **options)  # type: ignore[arg-type]


def fetch(config: TLSConfig, port: int, early: bytes = b"") -> tuple[Connection, bytes]:
    """GET / from s_server -www (optionally as 0-RTT); the page and the connection."""
    conn = Connection(config)
    request = b"GET / HTTP/1.0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if early:
            conn.start_handshake()
            conn.send_early_data(early)
            sock.sendall(conn.data_to_send())
        handshake(conn, sock)
        if not early or not conn.early_data_accepted:
            conn.send_data(request)
        sock.sendall(conn.data_to_send())
        body = read_until_closed(conn, sock)
    return conn, body


def test_puretls_client_resumes_against_openssl_server(pki: Path) -> None:
    with s_server(pki, "-www") as (port, _):
        first, body = fetch(client_config(pki), port)
        assert b"200 ok" in body and len(first.negotiated.sessions) == 2
        second, body = fetch(client_config(pki, session=first.negotiated.sessions[0]), port)
    assert second.negotiated.session_resumed
    assert b"Reused, TLSv1.3" in body
    assert "Certificate" not in second.negotiated.messages


def test_puretls_client_early_data_accepted_by_openssl_server(pki: Path) -> None:
    # s_server prints what it reads (its -early_data cannot go with -www).
    with s_server(pki, "-early_data", "-max_early_data", "16384") as (port, proc):
        first = Connection(client_config(pki))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            handshake(first, sock)
            for _ in range(20):  # bounded: until both tickets arrived
                if len(first.negotiated.sessions) >= 2:
                    break
                first.receive_data(sock.recv(65536))
        session = first.negotiated.sessions[0]
        assert session.max_early_data_size == 16384
        second = Connection(client_config(pki, session=session, early_data=True))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            second.start_handshake()
            second.send_early_data(b"early hello from puretls\n")
            sock.sendall(second.data_to_send())
            handshake(second, sock)
            second.close()
            sock.sendall(second.data_to_send())
        # -naccept 3 (probe, first, second): s_server exits once it has done
        # with the second connection, so its output is complete; killing it
        # at once could cut the early data it had not printed yet.
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.kill()
        output = proc.communicate(timeout=5)[0].decode(errors="replace")
    assert second.negotiated.session_resumed
    assert second.early_data_accepted is True
    assert "early hello from puretls" in output


def puretls_server_config(pki: Path, **kw: object) -> TLSConfig:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

    chain = tuple(
        c.public_bytes(Encoding.DER)
        for c in x509.load_pem_x509_certificates((pki / "server.pem").read_bytes())
    )
    key = load_pem_private_key((pki / "server.key").read_bytes(), None)
    return TLSConfig(is_server=True, certificates=(CertifiedKey(chain, key),), **kw)  # type: ignore[arg-type]


class Server:
    """A puretls server thread on loopback serving ``count`` connections in turn."""

    def __init__(self, config: TLSConfig, count: int) -> None:
        self.config = config
        self.connections: list[Connection] = []
        self.received: list[list[ApplicationData]] = []
        self.errors: list[BaseException] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(20)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, args=(count,), daemon=True)
        self.thread.start()

    def _run(self, count: int) -> None:
        try:
            for _ in range(count):
                sock, _ = self.listener.accept()
                with sock:
                    self._serve(sock)
        except Exception as exc:  # recorded for the test to report
            self.errors.append(exc)
        finally:
            self.listener.close()

    def _serve(self, sock: socket.socket) -> None:
        conn = Connection(self.config)
        self.connections.append(conn)
        events: list[ApplicationData] = []
        self.received.append(events)
        sock.settimeout(10)
        for _ in range(100):  # bounded: a line of data ends the exchange
            data = sock.recv(65536)
            if not data:
                break
            conn.receive_data(data)
            sock.sendall(conn.data_to_send())
            while (event := conn.next_event()) is not None:
                if isinstance(event, ApplicationData):
                    events.append(event)
            if conn.handshake_complete and b"\n" in b"".join(e.data for e in events):
                break
        conn.send_data(b"echo: " + b"".join(e.data for e in events))
        conn.close()
        sock.sendall(conn.data_to_send())
        # Closing with the peer's data unread would reset the connection and
        # lose our reply: half-close, then drain what the peer still sends.
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            for _ in range(100):
                if not sock.recv(65536):
                    break

    def join(self) -> None:
        self.thread.join(20)
        assert not self.errors, self.errors


def s_client(pki: Path, port: int, *args: str, data: bytes = b"hello over tls\n") -> str:
    assert OPENSSL is not None
    proc = subprocess.run(
        [
            OPENSSL,
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-CAfile",
            str(pki / "ca.pem"),
            "-servername",
            "localhost",
            "-tls1_3",
            "-ign_eof",
            *args,
        ],
        input=data,
        capture_output=True,
        timeout=20,
    )
    return (proc.stdout + proc.stderr).decode(errors="replace")


def test_openssl_client_resumes_against_puretls_server(pki: Path, tmp_path: Path) -> None:
    server = Server(puretls_server_config(pki), 2)
    sess = tmp_path / "session.pem"
    first = s_client(pki, server.port, "-sess_out", str(sess))
    second = s_client(pki, server.port, "-sess_in", str(sess))
    server.join()
    assert "echo: hello over tls" in first and "New, TLSv1.3" in first
    assert "Reused, TLSv1.3" in second, second
    assert server.connections[1].negotiated.session_resumed


def test_openssl_client_early_data_accepted_by_puretls_server(pki: Path, tmp_path: Path) -> None:
    server = Server(puretls_server_config(pki, max_early_data_size=16384), 2)
    sess = tmp_path / "session.pem"
    early = tmp_path / "early.txt"
    early.write_bytes(b"early request\n")
    s_client(pki, server.port, "-sess_out", str(sess))
    output = s_client(pki, server.port, "-sess_in", str(sess), "-early_data", str(early))
    server.join()
    conn = server.connections[1]
    assert conn.negotiated.session_resumed and conn.early_data_accepted is True
    assert server.received[1][0] == ApplicationData(data=b"early request\n", early=True)
    assert "echo: early request" in output


def test_replayed_openssl_early_data_is_not_delivered_twice(pki: Path, tmp_path: Path) -> None:
    server = Server(puretls_server_config(pki, max_early_data_size=16384), 3)
    sess = tmp_path / "session.pem"
    early = tmp_path / "early.txt"
    early.write_bytes(b"early request\n")
    s_client(pki, server.port, "-sess_out", str(sess))
    s_client(pki, server.port, "-sess_in", str(sess), "-early_data", str(early))
    # The same ticket again: the strike register refuses its 0-RTT data.
    s_client(pki, server.port, "-sess_in", str(sess), "-early_data", str(early))
    server.join()
    assert server.connections[1].early_data_accepted is True
    assert server.connections[2].early_data_accepted is not True
    assert not [e for e in server.received[2] if e.early]


def test_export_keying_material_agrees_with_openssl(pki: Path) -> None:
    server = Server(puretls_server_config(pki), 1)
    output = s_client(
        pki, server.port, "-keymatexport", "EXPERIMENTAL-puretls", "-keymatexportlen", "32"
    )
    server.join()
    match = re.search(r"Keying material: ([0-9A-Fa-f]+)", output)
    assert match, output
    ours = server.connections[0].export_keying_material(b"EXPERIMENTAL-puretls", None, 32)
    assert ours.hex().upper() == match.group(1).upper()


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label with cryptography's HKDF: independent of puretls' key schedule."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


class Recording:
    """A socket stand-in that keeps a copy of every byte received."""

    def __init__(self, sock: socket.socket, captured: bytearray) -> None:
        self.sock = sock
        self.captured = captured

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        self.captured += data
        return data

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def settimeout(self, value: float) -> None:
        self.sock.settimeout(value)


def test_key_log_lines_decrypt_the_captured_session(pki: Path) -> None:
    """Decrypt what openssl sent using only the key log and the captured bytes."""
    lines: list[str] = []
    config = client_config(
        pki, keylog=lines.append, cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)
    )
    captured = bytearray()
    with s_server(pki, "-www", accepts=2) as (port, _):
        conn = Connection(config)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            sock = Recording(raw, captured)
            handshake(conn, sock)  # type: ignore[arg-type]
            conn.send_data(b"GET / HTTP/1.0\r\n\r\n")
            sock.sendall(conn.data_to_send())
            body = read_until_closed(conn, sock)  # type: ignore[arg-type]
    secrets = {line.split()[0]: bytes.fromhex(line.split()[2]) for line in lines}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET"} <= set(secrets)
    assert {"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"} <= set(secrets)
    assert all(line.split()[1] == conn.negotiated.client_random.hex() for line in lines)
    plain = bytearray()
    # Records: plaintext ServerHello, CCS, then one key per stage.
    keys = [secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"], secrets["SERVER_TRAFFIC_SECRET_0"]]
    stage, seq, pos = 0, 0, 0
    while pos + 5 <= len(captured):
        header = bytes(captured[pos : pos + 5])
        length = int.from_bytes(header[3:5], "big")
        fragment = bytes(captured[pos + 5 : pos + 5 + length])
        pos += 5 + length
        if header[0] != 23:
            continue
        secret = keys[stage]
        key, iv = _expand_label(secret, b"key", 16), _expand_label(secret, b"iv", 12)
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        inner = AESGCM(key).decrypt(nonce, fragment, header).rstrip(b"\x00")
        content_type, content = inner[-1], inner[:-1]
        seq += 1
        if content_type == 22 and content[:1] == b"\x14" and stage == 0:
            stage, seq = 1, 0  # server Finished: application keys from here
        elif content_type == 23:
            plain += content
    assert plain == body and b"200 ok" in plain


def test_session_object_round_trips_through_the_event(pki: Path) -> None:
    with s_server(pki, "-www", accepts=2) as (port, _):
        conn, _ = fetch(client_config(pki), port)
    # The sessions come with the NewSessionTicketReceived events too.
    assert all(isinstance(s, ClientSession) for s in conn.negotiated.sessions)
    assert NewSessionTicketReceived.__dataclass_fields__["session"]
