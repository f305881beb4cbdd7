"""Helpers for interop tests: drive a sans-I/O Connection over a real socket,
and run OpenSSL's command-line peers on loopback with bounded lifetimes."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from puretls.connection import Connection
from puretls.events import ApplicationData

OPENSSL = shutil.which("openssl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def handshake(conn: Connection, sock: socket.socket) -> None:
    conn.start_handshake()
    sock.sendall(conn.data_to_send())
    while not conn.handshake_complete:
        data = sock.recv(65536)
        try:
            conn.receive_data(data)
        finally:
            if out := conn.data_to_send():
                sock.sendall(out)


def read_until_closed(conn: Connection, sock: socket.socket, limit: float = 10.0) -> bytes:
    """Collect application data until the peer closes (close_notify or EOF)."""
    received = bytearray()
    deadline = time.monotonic() + limit
    sock.settimeout(limit)
    while not conn.peer_closed and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        conn.receive_data(data)
        if out := conn.data_to_send():
            sock.sendall(out)
        while (event := conn.next_event()) is not None:
            if isinstance(event, ApplicationData):
                received += event.data
    return bytes(received)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited early: {proc.stdout.read() if proc.stdout else ''!r}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


@contextlib.contextmanager
def openssl_server(cert: Path, key: Path, *args: str, www: bool = True) -> Iterator[int]:
    """``openssl s_server`` on loopback for one connection; stopped by PID."""
    assert OPENSSL is not None
    port = free_port()
    cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert)]
    cmd += ["-key", str(key), "-naccept", "2", *args]
    if www:
        cmd.append("-www")
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, proc)  # uses up one of the two accepts
        yield port
    finally:
        proc.kill()
        proc.wait(5)


def serve_once(conn: Connection, listener: socket.socket, reply: bytes) -> threading.Thread:
    """Accept one connection on ``listener``, handshake, echo ``reply`` + data."""

    def run() -> None:
        sock, _ = listener.accept()
        with sock:
            sock.settimeout(10)
            try:
                while not conn.handshake_complete:
                    data = sock.recv(65536)
                    if not data:
                        return
                    try:
                        conn.receive_data(data)
                    finally:
                        sock.sendall(conn.data_to_send())
                got = b""
                while True:
                    # Data may have come in the same segment as Finished.
                    while (event := conn.next_event()) is not None:
                        if isinstance(event, ApplicationData):
                            got += event.data
                    if b"\n" in got:
                        break
                    data = sock.recv(65536)
                    if not data:
                        break
                    conn.receive_data(data)
                conn.send_data(reply + got)
                conn.close()
                sock.sendall(conn.data_to_send())
            except Exception as exc:  # recorded for the test to report
                errors.append(exc)

    errors: list[BaseException] = []
    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread
