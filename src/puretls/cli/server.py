"""``puretls server``: a small threaded TLS server (HTTP page or echo).

One thread per connection.  The handshake is bounded by a timeout so a
stalled client cannot hold a thread, and every failure stays inside its
connection's thread: it is logged as one line and the server carries on.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from cryptography import x509

import puretls as tls
from puretls.cli.common import (
    DEFAULT_TIMEOUT,
    add_tls_options,
    apply_tls_options,
    format_address,
    send_close_notify,
)
from puretls.cli.failures import describe_error
from puretls.cli.http11 import BadRequest, Request, RequestReader, render_page, response
from puretls.cli.report import (
    connection_rows,
    group_name,
    handshake_messages,
    negotiated_state,
)
from puretls.cli.trace_options import add_trace_options, finish_trace, start_trace
from puretls.sslcompat.constants import CERT_OPTIONAL, CERT_REQUIRED, PROTOCOL_TLS_SERVER

_CHUNK = 16384
# An established connection with no traffic for this long is closed.
IDLE_TIMEOUT = 300.0
THROWAWAY_HOSTS = ("localhost", "127.0.0.1", "::1")

Log = Callable[[str], None]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "server",
        help="run a TLS server answering HTTP requests (or echoing bytes)",
        description="Serve TLS on HOST:PORT. Without --cert, a throwaway CA and a certificate "
        "for localhost, 127.0.0.1 and ::1 are made, and the CA file's path is printed.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=4433, help="port (0: any free port)")
    parser.add_argument("--cert", metavar="FILE", help="certificate chain (PEM)")
    parser.add_argument("--key", metavar="FILE", help="private key (PEM)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--http",
        dest="mode",
        action="store_const",
        const="http",
        help="answer HTTP/1.x requests with a page about the connection (default)",
    )
    mode.add_argument(
        "--echo", dest="mode", action="store_const", const="echo", help="echo bytes back"
    )
    parser.add_argument(
        "--handshake-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"close a client whose handshake takes longer in total (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=IDLE_TIMEOUT,
        metavar="SECONDS",
        help=f"close an established connection idle this long (default {IDLE_TIMEOUT:g})",
    )
    add_tls_options(parser)
    parser.add_argument(
        "--client-ca",
        metavar="FILE",
        help="ask clients for a certificate and verify it against this CA file (mutual TLS)",
    )
    parser.add_argument(
        "--require-client-cert",
        action="store_true",
        help="with --client-ca: refuse clients without a certificate (certificate_required)",
    )
    parser.add_argument(
        "--ocsp-response",
        metavar="FILE",
        help="staple this DER OCSP response for the server certificate (status_request)",
    )
    parser.add_argument(
        "--early-data",
        action="store_true",
        help="accept 0-RTT early data (up to 16 KiB; replayable) and show it as early",
    )
    add_trace_options(parser)
    parser.set_defaults(run=run, mode="http")


EARLY_DATA_LIMIT = 16384


def make_throwaway_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A new CA and a server certificate for loopback names: (ca, cert, key) paths."""
    from puretls.testing import CertificateAuthority

    ca = CertificateAuthority(common_name="puretls throwaway CA")
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.cert_pem())
    cert_path, key_path = ca.issue(list(THROWAWAY_HOSTS)).write(directory, "server")
    return ca_path, cert_path, key_path


def build_context(cert: Path | str, key: Path | str | None) -> ssl.SSLContext:
    context: ssl.SSLContext = tls.SSLContext(PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key) if key else None)
    return context


class Server:
    """A listening socket plus one handler thread per accepted connection."""

    def __init__(
        self,
        context: ssl.SSLContext,
        *,
        host: str = "127.0.0.1",
        port: int = 4433,
        mode: str = "http",
        log: Log | None = None,
        quiet: bool = False,
        handshake_timeout: float = DEFAULT_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.context = context
        self.mode = mode
        self.quiet = quiet
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        if isinstance(context, tls.SSLContext):
            # A deadline for the whole handshake: the socket timeout alone
            # restarts with every byte, so a client trickling one byte at a
            # time would hold its thread forever (docs/robustness.md).
            context.handshake_timeout = handshake_timeout
        self._log = log or (lambda line: print(line, flush=True))
        self._stop = threading.Event()
        self._listener = _listen(host, port)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]

    def serve_forever(self) -> None:
        """Accept until :meth:`stop`; the short timeout lets stop() be noticed."""
        self._listener.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    raw, addr = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stop.is_set():
                        break
                    raise
                name = format_address(addr[0], addr[1])
                thread = threading.Thread(
                    target=self.handle, args=(raw, name), name=f"puretls {name}", daemon=True
                )
                thread.start()
        finally:
            self._listener.close()

    def stop(self) -> None:
        self._stop.set()

    def handle(self, raw: socket.socket, peer: str) -> None:
        """One connection, start to end; nothing escapes this thread."""
        try:
            sock = self._handshake(raw, peer)
        except Exception as exc:
            self._log(f"{peer}  handshake failed: {describe_error(exc)}")
            raw.close()
            return
        try:
            sock.settimeout(self.idle_timeout)
            if self.mode == "echo":
                self._echo(sock)
            else:
                self._http(sock, peer)
        except Exception as exc:
            self._log(f"{peer}  connection failed: {describe_error(exc)}")
        finally:
            _close(sock)

    def _handshake(self, raw: socket.socket, peer: str) -> ssl.SSLSocket:
        raw.settimeout(self.handshake_timeout)
        sock = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            sock.do_handshake()
        except BaseException:
            # wrap_socket took the descriptor over from ``raw``: close it here,
            # not when a garbage collection finds the failed socket.
            sock.close()
            raise
        if not self.quiet:
            cipher = sock.cipher()
            summary = f"{sock.version()} {cipher[0] if cipher else '?'} {group_name(sock)}"
            self._log(f"{peer}  handshake ok: {summary}")
            early = getattr(sock, "received_early_data", b"")
            if early:
                first = early.split(b"\n", 1)[0].decode("latin-1").rstrip()
                self._log(f"{peer}  EARLY DATA (0-RTT, replayable) {len(early)} bytes: {first}")
        return sock

    def _echo(self, sock: ssl.SSLSocket) -> None:
        while data := _recv(sock):
            sock.sendall(data)

    def _http(self, sock: ssl.SSLSocket, peer: str) -> None:
        reader = RequestReader()
        while True:
            try:
                request = reader.next_request()
            except BadRequest as exc:
                body = f"bad request: {exc}\n".encode()
                sock.sendall(
                    response(
                        "400 Bad Request",
                        "text/plain",
                        body,
                        version="HTTP/1.1",
                        keep_alive=False,
                        head=False,
                    )
                )
                self._log(f"{peer}  bad request: {exc}")
                return
            if request is None:
                data = _recv(sock)
                if not data:
                    return
                reader.feed(data)
                continue
            self._answer(sock, peer, request)
            if not request.keep_alive:
                return

    def _answer(self, sock: ssl.SSLSocket, peer: str, request: Request) -> None:
        rows = [("client", peer), ("request", f"{request.method} {request.target}")]
        rows += page_rows(sock)
        content_type, body = render_page(request, rows)
        sock.sendall(
            response(
                "200 OK",
                content_type,
                body,
                version=request.version,
                keep_alive=request.keep_alive,
                head=request.method == "HEAD",
            )
        )
        if not self.quiet:
            self._log(f"{peer}  {request.method} {request.target} {request.version} -> 200")


def apply_authentication_options(context: ssl.SSLContext, args: argparse.Namespace) -> None:
    """--client-ca / --require-client-cert / --ocsp-response; ValueError names a bad one."""
    client_ca = getattr(args, "client_ca", None)
    if getattr(args, "require_client_cert", False) and not client_ca:
        raise ValueError("--require-client-cert needs --client-ca FILE to verify against")
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        required = getattr(args, "require_client_cert", False)
        context.verify_mode = CERT_REQUIRED if required else CERT_OPTIONAL
    ocsp = getattr(args, "ocsp_response", None)
    if ocsp:
        context.set_ocsp_response(Path(ocsp).read_bytes())  # type: ignore[attr-defined]


def page_rows(sock: ssl.SSLSocket) -> list[tuple[str, str]]:
    """What the server page shows about its connection."""
    rows = connection_rows(sock)
    negotiated = negotiated_state(sock)
    server_name = getattr(negotiated, "server_name", None)
    if server_name:
        rows.append(("server name (SNI)", str(server_name)))
    client_cert = sock.getpeercert(binary_form=True)
    if client_cert:
        subject = x509.load_der_x509_certificate(client_cert).subject.rfc4514_string()
        rows.append(("client certificate", f"{subject} (verified)"))
    if getattr(negotiated, "hello_retry_request", False):
        rows.append(("HelloRetryRequest", "yes (the client's first key share was not usable)"))
    if getattr(sock, "session_reused", False):
        rows.append(("session", "resumed (PSK from a ticket)"))
    early = getattr(sock, "received_early_data", b"")
    if early:
        rows.append(("early data", f"{len(early)} bytes accepted as 0-RTT (replayable)"))
    messages = handshake_messages(sock)
    if messages:
        steps = [f"{name} ({direction})" if direction else name for name, direction in messages]
        rows.append(("handshake", ", ".join(steps)))
    return rows


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        # A deep accept queue: with 64, a burst of connections overflows it
        # and the kernel drops SYNs, which clients retry only after 1 s.
        listener.listen(1024)
    except BaseException:
        listener.close()
        raise
    return listener


def _recv(sock: ssl.SSLSocket) -> bytes:
    """Application data; b"" once the client has closed or gone quiet too long."""
    try:
        return sock.recv(_CHUNK)
    except (ssl.SSLZeroReturnError, TimeoutError):
        return b""


def _close(sock: ssl.SSLSocket) -> None:
    # RFC 8446 6.1: close_notify before closing the write side; we need not
    # wait for the client's.
    with contextlib.suppress(OSError, ValueError):
        send_close_notify(sock)
    sock.close()


def run(args: argparse.Namespace) -> int:
    return run_server(args, print_line=lambda line: print(line, flush=True))


def run_server(args: argparse.Namespace, print_line: Log) -> int:
    """Set up, serve until Ctrl-C (or SIGTERM), clean up; 0 on a clean stop."""
    scratch: Path | None = None
    try:
        if args.cert:
            context = build_context(args.cert, args.key)
        else:
            scratch = Path(tempfile.mkdtemp(prefix="puretls-server-"))
            ca_path, cert_path, key_path = make_throwaway_certificate(scratch)
            context = build_context(cert_path, key_path)
            print_line(f"throwaway CA: {ca_path}")
            print_line(
                "  trust it with: puretls client --cafile "
                f"{ca_path} localhost:{args.port}  or  curl --cacert {ca_path} ..."
            )
        apply_tls_options(context, args)
        apply_authentication_options(context, args)
        if getattr(args, "early_data", False):
            context.max_early_data_size = EARLY_DATA_LIMIT  # type: ignore[attr-defined]
        start_trace(context, args, sys.stdout, "puretls server")
        server = Server(
            context,
            host=args.host,
            port=args.port,
            mode=args.mode,
            quiet=args.quiet,
            handshake_timeout=getattr(args, "handshake_timeout", DEFAULT_TIMEOUT),
            idle_timeout=getattr(args, "idle_timeout", IDLE_TIMEOUT),
        )
    except (OSError, ValueError) as exc:
        print(f"puretls: {describe_error(exc)}", file=sys.stderr)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        return 1
    previous = _stop_on_signals()
    host, port = server.address
    try:
        print_line(f"listening on {format_address(host, port)} ({args.mode}); Ctrl-C stops")
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
        print_line("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        finish_trace(args, sys.stdout)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _stop_on_signals() -> dict[int, Any]:
    # Ctrl-C must work even when the shell started us with SIGINT ignored
    # (background jobs), and SIGTERM (kill PID) stops the server the same
    # way, so the throwaway CA directory is removed either way.
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    return {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
