"""``puretls server`` under slow clients: the handshake deadline, the idle
timeout, and normal clients served while slow ones trickle."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from cli_helpers import WAIT
from puretls.cli.main import build_parser
from puretls.cli.server import Server, build_context, make_throwaway_certificate

HELLO_START = b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc" + b"\x03\x03" + b"A" * 64


@contextmanager
def running(tmp_path: Path, **options: float) -> Iterator[tuple[Server, Path, list[str]]]:
    ca, cert, key = make_throwaway_certificate(tmp_path)
    log: list[str] = []
    server = Server(
        build_context(cert, key), host="127.0.0.1", port=0, mode="echo", log=log.append, **options
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, ca, log
    finally:
        server.stop()
        thread.join(timeout=WAIT)


def trickle(port: int, stop: threading.Event, closed_after: list[float]) -> None:
    """Send a ClientHello one byte every 50 ms until the server hangs up."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        for byte in HELLO_START:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes((byte,)))
            except OSError:
                break
            time.sleep(0.05)
        else:
            with suppress(OSError):
                sock.recv(100)
        closed_after.append(time.monotonic() - start)


def test_trickling_clients_are_cut_at_the_deadline_while_others_are_served(
    tmp_path: Path,
) -> None:
    with running(tmp_path, handshake_timeout=0.5) as (server, ca, log):
        port = server.address[1]
        stop = threading.Event()
        closed_after: list[float] = []
        slow = [
            threading.Thread(target=trickle, args=(port, stop, closed_after), daemon=True)
            for _ in range(20)
        ]
        for thread in slow:
            thread.start()
        try:
            time.sleep(0.1)
            context = ssl.create_default_context(cafile=str(ca))
            start = time.monotonic()
            raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            with context.wrap_socket(raw, server_hostname="localhost") as sock:
                sock.sendall(b"ping")
                assert sock.recv(10) == b"ping"
            assert time.monotonic() - start < 1.0
        finally:
            for thread in slow:
                thread.join(WAIT)
            stop.set()
        assert len(closed_after) == 20
        # Bytes every 50 ms never trip a per-read timeout; the deadline does.
        assert all(0.4 <= t < 2.5 for t in closed_after), closed_after
        assert sum("handshake failed" in line for line in log) == 20


def test_idle_connection_is_closed_after_idle_timeout(tmp_path: Path) -> None:
    with running(tmp_path, idle_timeout=0.3) as (server, ca, _log):
        context = ssl.create_default_context(cafile=str(ca))
        raw = socket.create_connection(("127.0.0.1", server.address[1]), timeout=WAIT)
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"x")
            assert sock.recv(10) == b"x"
            start = time.monotonic()
            with suppress(ssl.SSLZeroReturnError):
                assert sock.recv(10) == b""
            assert 0.2 <= time.monotonic() - start < 3.0


def test_command_line_has_timeout_options() -> None:
    args = build_parser().parse_args(
        ["server", "--handshake-timeout", "2.5", "--idle-timeout", "30"]
    )
    assert args.handshake_timeout == 2.5
    assert args.idle_timeout == 30.0
    defaults = build_parser().parse_args(["server"])
    assert defaults.handshake_timeout == 10.0
    assert defaults.idle_timeout == 300.0


def test_failed_handshakes_release_their_descriptors_at_once(tmp_path: Path) -> None:
    """Garbage clients: each descriptor is closed when its handshake fails,
    not when a garbage collection finds the failed socket."""
    import gc
    import os

    with running(tmp_path) as (server, _ca, log):
        gc.collect()
        gc.disable()
        try:
            before = len(os.listdir("/proc/self/fd"))
            for i in range(20):
                with socket.create_connection(("127.0.0.1", server.address[1]), WAIT) as raw:
                    raw.sendall(b"\x16\x03\x01\xff\xff" if i % 2 else b"GET / HTTP/1.1\r\n\r\n")
                    raw.recv(100)
            deadline = time.monotonic() + WAIT
            while sum("handshake failed" in line for line in log) < 20:
                assert time.monotonic() < deadline, log
                time.sleep(0.02)
            time.sleep(0.1)
            assert len(os.listdir("/proc/self/fd")) <= before
        finally:
            gc.enable()
