"""What the load scripts share: servers under test in their own process, TLS
clients, and readings of a server process's memory and file descriptors.

Servers (each an echo server on 127.0.0.1, started as a child process):

- ``puretls-aio``: ``puretls.aio.start_server`` (asyncio, puretls SSLContext,
  handshake timeout given on the command line, 10 s by default).
- ``ssl-aio``: ``asyncio.start_server`` with the stdlib's ``ssl`` context and
  asyncio's own defaults (``ssl_handshake_timeout`` 60 s).
- ``puretls-cli``: the real ``puretls server --echo`` command (one thread
  per connection, whole-handshake deadline).
- ``ssl-threaded``: the same threaded server code with a stdlib ``ssl``
  context; its socket timeout bounds the handshake (CPython's
  ``do_handshake`` turns a socket timeout into a deadline for the call).

Clients always use the stdlib's ``ssl`` (OpenSSL in C), so the server is
what is measured.

    python -m bench.load_common serve puretls-aio   # prints "PORT <n>", serves until killed
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
KINDS = ("puretls-aio", "ssl-aio", "puretls-cli", "ssl-threaded")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Files:
    ca: str
    cert: str
    key: str


def make_files() -> Files:
    from puretls.testing import CertificateAuthority

    base = Path(tempfile.mkdtemp(prefix="puretls-load-"))
    ca = CertificateAuthority(key_type="ecdsa-p256")
    (base / "ca.pem").write_bytes(ca.cert_pem())
    cert, key = ca.issue(["localhost", "127.0.0.1"], key_type="ecdsa-p256").write(base, "server")
    return Files(str(base / "ca.pem"), str(cert), str(key))


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- the server process -----------------------------------------------------------


class ServerProcess:
    """One server under test in a child process, stopped by its PID."""

    def __init__(self, kind: str, files: Files, handshake_timeout: float = 10.0) -> None:
        self.kind = kind
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
        if kind == "puretls-cli":
            cmd = [
                sys.executable, "-m", "puretls", "server", "--echo", "--quiet",
                "--host", HOST, "--port", "0", "--cert", files.cert, "--key", files.key,
                "--handshake-timeout", str(handshake_timeout),
            ]  # fmt: skip
        else:
            cmd = [
                sys.executable, "-m", "bench.load_common", "serve", kind,
                files.cert, files.key, str(handshake_timeout),
            ]  # fmt: skip
        self._drain: threading.Thread | None = None
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
        )
        self.port = self._read_port()
        # Keep reading what the server prints (the CLI logs each failed
        # handshake): a full pipe would block its threads on print().
        self._drain = threading.Thread(target=self._discard_output, daemon=True)
        self._drain.start()

    def _discard_output(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for _line in self.proc.stdout:
                pass

    def _read_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("PORT "):
                return int(line.split()[1])
            if line.startswith("listening on "):
                return int(line.split()[2].rsplit(":", 1)[1])
        self.stop()
        raise RuntimeError(f"{self.kind} server did not start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self._drain is not None:
            self._drain.join(5)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


def _serve_aio(kind: str, cert: str, key: str, handshake_timeout: float) -> None:
    raise_nofile()

    async def main() -> None:
        if kind == "puretls-aio":
            import puretls
            import puretls.aio

            context = puretls.SSLContext(puretls.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server = await puretls.aio.start_server(
                _echo, HOST, 0, ssl=context, handshake_timeout=handshake_timeout, backlog=4096
            )
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server = await asyncio.start_server(_echo, HOST, 0, ssl=context, backlog=4096)
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


def _serve_threaded(cert: str, key: str, handshake_timeout: float) -> None:
    from puretls.cli.server import Server

    raise_nofile()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server(
        context, host=HOST, port=0, mode="echo", quiet=True, handshake_timeout=handshake_timeout,
        log=lambda line: None,
    )  # fmt: skip
    print(f"PORT {server.address[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    server.serve_forever()


# -- clients ------------------------------------------------------------------------


def client_context(files: Files) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=files.ca)


async def tls_ping(port: int, context: ssl.SSLContext, timeout: float = 30.0) -> float:
    """One connection: handshake, 4 bytes echoed, close; returns seconds taken."""
    start = time.perf_counter()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(HOST, port, ssl=context, server_hostname="localhost"), timeout
    )
    try:
        writer.write(b"ping")
        await writer.drain()
        data = await asyncio.wait_for(reader.readexactly(4), timeout)
        if data != b"ping":
            raise RuntimeError("echo mismatch")
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 5)
    return time.perf_counter() - start


# -- figures ------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def parse_kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    for kind in kinds:
        if kind not in KINDS:
            raise SystemExit(f"unknown server kind {kind!r}; choose from {', '.join(KINDS)}")
    return kinds


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "serve":
        _, _, kind, cert, key, limit = sys.argv
        if kind == "ssl-threaded":
            _serve_threaded(cert, key, float(limit))
        else:
            _serve_aio(kind, cert, key, float(limit))
    else:
        raise SystemExit(__doc__)
