"""Helpers for the command line tests: run ``python -m puretls`` processes."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PURETLS = [sys.executable, "-m", "puretls"]
# Every wait in these tests is bounded by this.
WAIT = 20.0


def free_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_puretls(
    *args: str, stdin: bytes = b"", timeout: float = WAIT
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*PURETLS, *args], input=stdin, capture_output=True, timeout=timeout, check=False
    )


@dataclass
class ServerProcess:
    """A running ``puretls server``: its process, port, CA file and output lines."""

    process: subprocess.Popen[bytes]
    port: int
    ca_file: Path | None
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def wait_for(self, text: str, timeout: float = WAIT) -> str:
        """The first output line (seen so far or later) containing ``text``."""
        for line in self.lines:
            if text in line:
                return line
        while True:
            line = self._queue.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"server exited before printing {text!r}: {self.lines}")
            if text in line:
                return line

    def drain(self) -> list[str]:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return self.lines
            if line is None:
                return self.lines


def _pump_lines(proc: subprocess.Popen[bytes], server: ServerProcess) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        server.lines.append(line)
        server._queue.put(line)
    server._queue.put(None)


@contextlib.contextmanager
def puretls_server(*args: str, port: int | None = None) -> Iterator[ServerProcess]:
    """Start ``puretls server`` on an ephemeral port; always stop it by PID."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*PURETLS, "server", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = ServerProcess(process=proc, port=port, ca_file=None)
    threading.Thread(target=_pump_lines, args=(proc, server), daemon=True).start()
    try:
        server.wait_for("listening on")
        for line in server.lines:
            if line.startswith("throwaway CA: "):
                server.ca_file = Path(line.removeprefix("throwaway CA: ").strip())
        yield server
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Signal ``proc`` by PID, wait, escalate to SIGKILL if it does not exit."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=5)
