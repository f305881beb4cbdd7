"""``puretls client HOST[:PORT]``: connect, show what was negotiated, then pipe.

Like ``openssl s_client``: a block describing the connection goes to stderr,
then stdin is copied to the connection and the connection to stdout.  At
EOF on stdin the client sends close_notify and keeps reading (TLS 1.3
half-close, RFC 8446 6.1) until the server closes too.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import ssl
import sys
import threading
from typing import BinaryIO, TextIO

import puretls as tls
from puretls.cli import resumption
from puretls.cli.common import (
    DEFAULT_TIMEOUT,
    add_tls_options,
    apply_tls_options,
    format_address,
    parse_host_port,
    send_close_notify,
)
from puretls.cli.failures import describe_error
from puretls.cli.report import certificate_rows, connection_rows, format_rows, peer_certificate
from puretls.cli.trace_options import add_trace_options, finish_trace, start_trace
from puretls.ocsp import describe_ocsp_response
from puretls.sslcompat.constants import CERT_NONE, PROTOCOL_TLS_CLIENT

_CHUNK = 16384


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "client",
        help="connect to a TLS server and pipe stdin/stdout through it",
        description="Connect to HOST[:PORT] (default port 443), print what was negotiated "
        "on stderr, then copy stdin to the connection and the connection to stdout.",
    )
    parser.add_argument("target", metavar="HOST[:PORT]", help="e.g. example.com, [::1]:4433")
    parser.add_argument("--cafile", metavar="FILE", help="trust these CA certificates (PEM)")
    parser.add_argument(
        "--insecure", action="store_true", help="do NOT verify the server's certificate"
    )
    parser.add_argument("--servername", metavar="NAME", help="SNI and name to verify")
    parser.add_argument("--cert", metavar="FILE", help="client certificate chain (PEM)")
    parser.add_argument("--key", metavar="FILE", help="client private key (PEM)")
    parser.add_argument(
        "--status", action="store_true", help="ask for a stapled OCSP response and show it"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"connect and handshake timeout (default {DEFAULT_TIMEOUT:g})",
    )
    add_tls_options(parser)
    resumption.add_client_options(parser)
    add_trace_options(parser)
    parser.set_defaults(run=run)


def build_context(args: argparse.Namespace) -> ssl.SSLContext:
    """The client SSLContext the options describe (puretls's, ssl-compatible)."""
    context: ssl.SSLContext = tls.SSLContext(PROTOCOL_TLS_CLIENT)
    if args.insecure:
        context.check_hostname = False
        context.verify_mode = CERT_NONE
    elif args.cafile:
        context.load_verify_locations(cafile=args.cafile)
    else:
        context.load_default_certs()
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    if getattr(args, "status", False):
        context.ocsp_stapling = True  # type: ignore[attr-defined]
    apply_tls_options(context, args)
    return context


def run(args: argparse.Namespace) -> int:
    try:
        return run_client(args, sys.stdin.buffer, sys.stdout.buffer, sys.stderr)
    finally:
        finish_trace(args, sys.stderr)


def run_client(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO, err: TextIO) -> int:
    """Connect, report, pipe; 0 on a clean close, 1 with one reason line otherwise."""
    try:
        host, port = parse_host_port(args.target, 443)
        context = build_context(args)
        start_trace(context, args, err, f"puretls client -> {args.target}")
    except (ValueError, OSError) as exc:
        print(f"puretls: {describe_error(exc)}", file=err)
        return 2
    if args.insecure:
        print(
            "WARNING: --insecure: the server's certificate is NOT verified; "
            "anyone on the path can read and change this connection",
            file=err,
        )
    address = format_address(host, port)
    try:
        name = args.servername or host
        if resumption.wanted(args):
            sock = resumption.reconnect(
                context, host, port, name, args.timeout, args.early_data, err
            )
        else:
            sock = connect(context, host, port, name, args.timeout)
    except (OSError, ValueError) as exc:
        reason = describe_error(exc, address=address, timeout=args.timeout)
        print(f"puretls: {reason}", file=err)
        return 1
    with sock:
        if not args.quiet:
            print(describe_connection(sock, address, args), file=err, flush=True)
        try:
            pump(sock, stdin, stdout, args.timeout)
        except OSError as exc:
            print(f"puretls: {describe_error(exc, address=address)}", file=err)
            return 1
    return 0


def connect(
    context: ssl.SSLContext, host: str, port: int, server_name: str, timeout: float
) -> ssl.SSLSocket:
    """TCP connect and TLS handshake, each bounded by ``timeout``."""
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def describe_connection(sock: ssl.SSLSocket, address: str, args: argparse.Namespace) -> str:
    """The s_client-like block: connection parameters, certificate, verification."""
    rows = [("connected to", address), *connection_rows(sock)]
    rows += certificate_rows(peer_certificate(sock), prefix="server ")
    if getattr(args, "status", False):
        rows.append(("OCSP staple", ocsp_summary(sock)))
    if args.insecure:
        rows.append(("verification", "SKIPPED (--insecure): the certificate was NOT checked"))
    else:
        trust = f"CA file {args.cafile}" if args.cafile else "the system trust store"
        name = args.servername or parse_host_port(args.target, 443)[0]
        rows.append(("verification", f"OK: chains to {trust}, valid now, matches {name!r}"))
    return format_rows(rows) + "\n---"


def ocsp_summary(sock: ssl.SSLSocket) -> str:
    """What the server stapled (status_request), checked during the handshake."""
    staple = getattr(sock, "ocsp_response", lambda: None)()
    return describe_ocsp_response(staple) if staple else "none (the server stapled nothing)"


def pump(sock: ssl.SSLSocket, stdin: BinaryIO, stdout: BinaryIO, timeout: float) -> None:
    """Copy stdin -> TLS and TLS -> stdout until the server closes.

    stdin is read by a helper thread into a socket pair so that one selector
    waits on both directions and only this thread touches the TLS socket.
    """
    inbox, feeder = socket.socketpair()
    threading.Thread(target=_feed_stdin, args=(stdin, feeder), daemon=True).start()
    selector = selectors.DefaultSelector()
    sock.setblocking(False)
    selector.register(sock, selectors.EVENT_READ, "tls")
    selector.register(inbox, selectors.EVENT_READ, "stdin")
    try:
        while True:
            # Decrypted bytes may already wait in the TLS buffer: no select then.
            wait = 0 if sock.pending() else None
            ready = {key.data for key, _ in selector.select(wait)}
            if (ready & {"tls"} or sock.pending()) and not _copy_to_stdout(sock, stdout):
                return
            if "stdin" in ready and not _copy_to_tls(sock, inbox, timeout):
                selector.unregister(inbox)
    finally:
        selector.close()
        inbox.close()


def _copy_to_stdout(sock: ssl.SSLSocket, stdout: BinaryIO) -> bool:
    """False once the server has closed (close_notify or EOF)."""
    try:
        data = sock.recv(_CHUNK)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return True  # a partial record, or a post-handshake message
    except ssl.SSLZeroReturnError:
        return False
    if not data:
        return False
    stdout.write(data)
    stdout.flush()
    return True


def _copy_to_tls(sock: ssl.SSLSocket, inbox: socket.socket, timeout: float) -> bool:
    """False at EOF on stdin, after sending close_notify."""
    data = inbox.recv(_CHUNK)
    if not data:
        send_close_notify(sock)
        return False
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
    finally:
        sock.setblocking(False)
    return True


def _feed_stdin(stdin: BinaryIO, feeder: socket.socket) -> None:
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):
        fd = -1
    try:
        while True:
            # os.read returns what is there (a typed line) instead of waiting
            # for a whole buffer the way BufferedReader.read would.
            data = os.read(fd, _CHUNK) if fd >= 0 else stdin.read(_CHUNK)
            if not data:
                break
            feeder.sendall(data)
    except OSError:
        pass
    finally:
        feeder.close()
