"""SSLContext.handshake_timeout: a deadline for blocking wrap_socket handshakes.

A per-operation socket timeout does not stop a client that sends one byte
just before each read would time out; the deadline covers the whole
handshake.  Off (None) by default, as the stdlib has no such setting.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

import puretls
from puretls.testing import CertificateAuthority


@pytest.fixture(scope="module")
def server_ctx(tmp_path_factory: pytest.TempPathFactory) -> Any:
    files = CertificateAuthority().issue(["localhost"]).write(tmp_path_factory.mktemp("c"), "s")
    ctx = puretls.SSLContext(puretls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files)
    return ctx


def test_default_is_off() -> None:
    assert puretls.SSLContext(puretls.PROTOCOL_TLS_SERVER).handshake_timeout is None


def test_trickling_client_hits_the_deadline(server_ctx: Any) -> None:
    server_ctx.handshake_timeout = 0.5
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            for byte in b"\x16\x03\x01\x02\x00" + b"A" * 200:
                if stop.is_set():
                    return
                try:
                    sock.sendall(bytes((byte,)))
                except OSError:
                    return
                time.sleep(0.05)

    client = threading.Thread(target=trickle, daemon=True)
    client.start()
    try:
        conn, _ = listener.accept()
        # A per-read timeout of 1 s would never fire: bytes come every 50 ms.
        conn.settimeout(1.0)
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="handshake_timeout"):
            server_ctx.wrap_socket(conn, server_side=True)
        assert 0.4 <= time.monotonic() - start < 2.0
    finally:
        server_ctx.handshake_timeout = None
        stop.set()
        listener.close()
        client.join(5)
    assert not client.is_alive()
