"""``puretls demo``: one TLS 1.3 connection on loopback, explained step by step.

A server with a throwaway CA runs in a thread; a client that trusts only
that CA connects, sends ``GET /`` and reads the page.  The client's record
of the handshake messages (in the order it sent and received them) is then
printed with a line or two on what each step does, following RFC 8446
section 2, and the RFC 8448 key schedule self-check ends the show.
"""

from __future__ import annotations

import argparse
import io
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import puretls as tls
from puretls.cli import selfcheck
from puretls.cli.client import connect
from puretls.cli.common import DEFAULT_TIMEOUT, format_address
from puretls.cli.failures import describe_error
from puretls.cli.report import (
    group_name,
    handshake_messages,
    negotiated_state,
    peer_certificate,
    signature_scheme_name,
)
from puretls.cli.server import Server, build_context, make_throwaway_certificate
from puretls.cli.trace_options import add_trace_options, finish_trace, start_trace
from puretls.sslcompat.constants import PROTOCOL_TLS_CLIENT, TLSVersion

_ALPN = "http/1.1"
# The order of RFC 8446 section 2's full handshake, for libraries that do not
# record the messages they exchanged.
_TEXTBOOK = [
    ("ClientHello", "sent"),
    ("ServerHello", "received"),
    ("EncryptedExtensions", "received"),
    ("Certificate", "received"),
    ("CertificateVerify", "received"),
    ("Finished", "received"),
    ("Finished", "sent"),
]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="run a client and a server on loopback and explain their handshake",
        description="Start a server with a throwaway CA on 127.0.0.1, connect a client, "
        "send GET / and show the handshake steps and the response.",
    )
    parser.add_argument("--tls1.3", dest="tls13", action="store_true", help="allow TLS 1.3 only")
    parser.add_argument(
        "--tls1.2",
        dest="tls12",
        action="store_true",
        help="show a TLS 1.2 handshake and compare it with TLS 1.3",
    )
    parser.add_argument("--no-selfcheck", action="store_true", help="skip the RFC 8448 check")
    add_trace_options(parser, text=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return run_demo(args, sys.stdout)
    finally:
        finish_trace(args, sys.stdout)


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="puretls-demo-") as scratch:
        try:
            status = _demo(args, Path(scratch), out)
        except (OSError, ValueError) as exc:
            print(f"puretls: demo failed: {describe_error(exc)}", file=sys.stderr)
            return 1
    if status == 0 and not getattr(args, "no_selfcheck", False):
        print("\nAnd the key schedule behind it, checked against RFC 8448 section 3:", file=out)
        status = selfcheck.run_selfcheck(out, short=True)
    return status


def _demo(args: argparse.Namespace, scratch: Path, out: TextIO) -> int:
    ca_path, cert_path, key_path = make_throwaway_certificate(scratch)
    server_context = build_context(cert_path, key_path)
    server_context.set_alpn_protocols([_ALPN])
    server_log: list[str] = []
    server = Server(server_context, host="127.0.0.1", port=0, log=server_log.append, quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="puretls demo", daemon=True)
    thread.start()
    address = format_address(*server.address)
    say = _printer(out)
    version = "TLS 1.2" if getattr(args, "tls12", False) else "TLS 1.3"
    say(f"puretls demo: one {version} connection on loopback, step by step")
    say("")
    say(f"server: listening on {address}, certificate for localhost from a throwaway CA")
    say(f"client: connects to {address}, trusts only that CA, expects the name 'localhost'")
    try:
        client_context: ssl.SSLContext = tls.SSLContext(PROTOCOL_TLS_CLIENT)
        client_context.load_verify_locations(cafile=str(ca_path))
        client_context.set_alpn_protocols([_ALPN])
        # The demo traces its own loopback connection, secrets and all.
        args.trace, args.reveal_secrets = True, True
        if getattr(args, "trace_html", None) is None:
            args.trace_html = str(Path(tempfile.gettempdir()) / "puretls-demo-trace.html")
        # Kept until the steps are explained, then printed in full.
        trace_text = io.StringIO()
        start_trace(client_context, args, trace_text, f"puretls demo -> {address}")
        if args.tls13:
            client_context.minimum_version = TLSVersion.TLSv1_3
        if getattr(args, "tls12", False):
            client_context.maximum_version = TLSVersion.TLSv1_2
        sock = connect(client_context, *server.address, "localhost", DEFAULT_TIMEOUT)
        with sock:
            request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            sock.sendall(request)
            reply = _read_all(sock)
            say("")
            say(f"The handshake ({sock.version()}), as the client saw it:")
            _explain_handshake(sock, say)
            if sock.version() == "TLSv1.2":
                _compare_with_tls13(say)
    finally:
        server.stop()
        thread.join(timeout=5)
    say("")
    say("Then application data, under keys from the master secret:")
    _show_exchange(request, reply, say)
    for line in server_log:
        say(f"server log: {line}")
    say("")
    say("The whole connection, record by record and secret by secret, as the client saw it:")
    out.write(trace_text.getvalue())
    return 0 if reply.startswith(b"HTTP/1.1 200 ") else 1


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    return say


def _read_all(sock: ssl.SSLSocket) -> bytes:
    """Everything until the server's close_notify (it got Connection: close)."""
    chunks = []
    while True:
        try:
            data = sock.recv(16384)
        except ssl.SSLZeroReturnError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def _explain_handshake(sock: ssl.SSLSocket, say: Callable[[str], None]) -> None:
    steps = handshake_messages(sock) or _TEXTBOOK
    explain = _Explainer(sock)
    for number, (name, direction) in enumerate(steps, 1):
        arrow = "client -> server" if direction == "sent" else "server -> client"
        say(f"  {number}. {arrow}  {name}")
        for line in explain(name, direction):
            say(f"       {line}")


class _Explainer:
    """A line or two per handshake message, with the values this connection chose."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        cipher = sock.cipher()
        self.suite = cipher[0] if cipher else "a cipher suite"
        self.group = group_name(sock)
        self.scheme = signature_scheme_name(sock)
        self.alpn = sock.selected_alpn_protocol() or "none"
        self.hrr = bool(getattr(negotiated_state(sock), "hello_retry_request", False))
        self.subject, self.issuer = _names(peer_certificate(sock))
        self.client_hellos = 0
        self.tls12 = sock.version() == "TLSv1.2"

    def __call__(self, name: str, direction: str) -> list[str]:
        if self.tls12 and name == "ClientHello":
            return [
                "offers TLS 1.2 only: cipher suites, groups, signature schemes, SNI, ALPN,",
                "extended_master_secret; no key share, the server has not chosen a group yet",
            ]
        if self.tls12 and name == "ServerHello":
            return [
                f"the server picks {self.suite}; no keys exist yet, so the whole",
                "TLS 1.2 handshake up to Finished travels in clear",
            ]
        if name == "ClientHello":
            self.client_hellos += 1
            if self.client_hellos > 1:
                return [f"again, now with a key share for {self.group}"]
            return [
                "offers TLS 1.3, its cipher suites, groups and signature schemes, SNI",
                "'localhost', ALPN, and a key share: its half of a Diffie-Hellman exchange",
            ]
        if name == "HelloRetryRequest":
            return [
                f"the server prefers {self.group}, for which the client sent no key share:",
                "it asks the client to try again (RFC 8446 4.1.4)",
            ]
        if self.tls12:
            explained = _explain_tls12(name, direction)
            if explained is not None:
                return explained
        if name == "ServerHello":
            return [
                f"the server picks {self.suite} and {self.group} and sends its key share;",
                "both sides now derive handshake keys: the rest of the handshake is encrypted",
            ]
        return self._encrypted(name, direction)

    def _encrypted(self, name: str, direction: str) -> list[str]:
        if name == "EncryptedExtensions":
            return [f"settings that need no key of their own; ALPN: {self.alpn}"]
        if name == "Certificate":
            return [f"the server's certificate: {self.subject}", f"issued by {self.issuer}"]
        if name == "CertificateVerify":
            return [
                f"a signature ({self.scheme}) over the handshake so far:",
                "proof that the server holds the certificate's private key",
            ]
        if name == "Finished" and direction != "sent":
            return [
                "an HMAC over the whole handshake with a key from the handshake secret;",
                "the client checks it, then verifies the certificate chain and the name",
            ]
        if name == "Finished":
            return [
                "the client's own HMAC over the handshake; from here on both sides use",
                "application traffic keys derived from the master secret",
            ]
        if name == "ChangeCipherSpec":
            return ["a dummy record that keeps old middleboxes calm (RFC 8446 D.4)"]
        if name == "NewSessionTicket":
            return ["a ticket the client may use to resume this session later"]
        return []


_TLS12_STEPS = {
    "Certificate12": ["the server's certificate chain, sent in clear in TLS 1.2"],
    "CertificateStatus": ["a stapled OCSP response for the server's certificate"],
    "ServerKeyExchange": [
        "the server's ECDHE key share, signed with its certificate key together with",
        "both randoms: only now does the client learn the group (RFC 8422 5.4)",
    ],
    "CertificateRequest12": ["the server asks for a client certificate"],
    "ServerHelloDone": ["the end of the server's first flight: round trip one is over"],
    "ClientKeyExchange": [
        "the client's key share (or, for RSA key exchange, the pre-master secret",
        "encrypted to the server's key); both sides derive the master secret",
    ],
    "NewSessionTicket12": ["a ticket the client may use to resume this session (RFC 5077)"],
}


def _explain_tls12(name: str, direction: str) -> list[str] | None:
    if name in _TLS12_STEPS:
        return _TLS12_STEPS[name]
    if name == "Finished" and direction == "sent":
        return [
            "after a change_cipher_spec record: the client's PRF over the handshake,",
            "the first message under the new keys",
        ]
    if name == "Finished":
        return [
            "after the server's change_cipher_spec: its PRF over the handshake; the end",
            "of round trip two, and only now may the client send application data",
        ]
    return None


def _compare_with_tls13(say: Callable[[str], None]) -> None:
    say("")
    say("TLS 1.2 next to TLS 1.3:")
    say("  TLS 1.2: ClientHello -> ServerHello .. ServerHelloDone (round trip 1),")
    say("           ClientKeyExchange, ChangeCipherSpec, Finished -> ChangeCipherSpec,")
    say("           Finished (round trip 2): data flows after two round trips.")
    say("  TLS 1.3: the key share rides in the ClientHello, so the server answers with")
    say("           its whole flight at once: data flows after one round trip, and the")
    say("           certificate is encrypted. The extra TLS 1.2 round trip is the key")
    say("           exchange the client could only start after ServerKeyExchange.")


def _names(der: bytes | None) -> tuple[str, str]:
    if not der:
        return "(none)", "(none)"
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()


def _show_exchange(request: bytes, reply: bytes, say: Callable[[str], None]) -> None:
    for line in request.decode("latin-1").splitlines():
        if line:
            say(f"  > {line}")
    for line in reply.decode("utf-8", "replace").splitlines():
        say(f"  < {line}")
