"""Pieces the client, server and demo commands share.

The commands are written against puretls's ``ssl``-compatible API
(``import puretls as tls`` reads the same as ``import ssl``); annotations
name the stdlib's types, which puretls's classes subclass.
"""

from __future__ import annotations

import argparse
import contextlib
import ssl
from collections.abc import Sequence

from puretls.sslcompat.constants import TLSVersion

# RFC 8446 does not bound the handshake in time; 10 s keeps a stalled peer
# from holding a thread or the terminal forever.
DEFAULT_TIMEOUT = 10.0


def split_list(text: str | None) -> list[str]:
    """``"a,b"`` or ``"a:b"`` -> ``["a", "b"]`` (OpenSSL spells lists with colons)."""
    if not text:
        return []
    return [item.strip() for item in text.replace(":", ",").split(",") if item.strip()]


def parse_host_port(target: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port``, ``[v6]`` or a bare IPv6 address."""
    if target.startswith("["):
        close = target.find("]")
        if close < 0:
            raise ValueError(f"missing ']' in {target!r}")
        host, rest = target[1:close], target[close + 1 :]
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after ']' in {target!r}")
        return host, _port(rest[1:])
    if target.count(":") == 1:
        host, port = target.split(":")
        return host, _port(port)
    # No colon, or several: a bare IPv6 address without a port.
    return target, default_port


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"invalid port {text!r}")
    return int(text)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    """Options the client and the server both take."""
    parser.add_argument("--alpn", metavar="LIST", help="ALPN protocols, e.g. h2,http/1.1")
    parser.add_argument("--tls1.3", dest="tls13", action="store_true", help="allow TLS 1.3 only")
    parser.add_argument("--tls1.2", dest="tls12", action="store_true", help="allow TLS 1.2 only")
    parser.add_argument(
        "--ciphersuites", metavar="LIST", help="TLS 1.3 cipher suites in preference order"
    )
    parser.add_argument(
        "--ciphers",
        metavar="STRING",
        help="TLS 1.2 suites as an OpenSSL cipher string, e.g. ECDHE+AESGCM:AES128-GCM-SHA256",
    )
    parser.add_argument("--groups", metavar="LIST", help="key exchange groups, e.g. x25519")
    parser.add_argument("--keylog", metavar="FILE", help="append NSS key log lines (secrets!)")
    parser.add_argument("--quiet", action="store_true", help="print less")


def apply_tls_options(context: ssl.SSLContext, args: argparse.Namespace) -> None:
    """Configure ``context`` from the shared options; ValueError names a bad one."""
    if args.tls13:
        context.minimum_version = TLSVersion.TLSv1_3
    if getattr(args, "tls12", False):
        if args.tls13:
            raise ValueError("--tls1.2 and --tls1.3 exclude each other")
        context.maximum_version = TLSVersion.TLSv1_2
    if getattr(args, "ciphers", None):
        try:
            context.set_ciphers(args.ciphers)
        except ssl.SSLError:
            raise ValueError(f"--ciphers {args.ciphers!r} selects no cipher suite") from None
    if args.alpn:
        context.set_alpn_protocols(split_list(args.alpn))
    if args.ciphersuites:
        _call_extension(context, "set_ciphersuites", split_list(args.ciphersuites))
    if args.groups:
        _call_extension(context, "set_groups", split_list(args.groups))
    if args.keylog:
        context.keylog_filename = args.keylog


def _call_extension(context: ssl.SSLContext, method: str, names: Sequence[str]) -> None:
    # set_groups / set_ciphersuites are puretls additions (named like the
    # stdlib 3.15 ones); they take a list of names.
    setter = getattr(context, method, None)
    if setter is None:
        raise ValueError(f"{method} is not supported by this TLS library")
    setter(list(names))


def send_close_notify(sock: ssl.SSLSocket) -> None:
    """Send our close_notify without waiting for the peer's (RFC 8446 6.1).

    TLS 1.3 allows a half-close: after our close_notify we may keep reading
    what the peer still sends.  ``SSLSocket.unwrap()`` cannot express that
    (it returns the plain socket once the peer's close_notify is in, and
    anything the peer sent before it is gone with the TLS layer), so a
    puretls socket uses its ``half_close()``.  Any other ssl-compatible
    socket gets a non-blocking ``unwrap()``, which sends close_notify and
    then reports that the peer's is pending.
    """
    half_close = getattr(sock, "half_close", None)
    timeout = sock.gettimeout()
    try:
        if callable(half_close):
            sock.settimeout(DEFAULT_TIMEOUT)
            half_close()
        else:
            sock.setblocking(False)
            with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLWantWriteError):
                sock.unwrap()
    finally:
        if sock.fileno() >= 0:
            sock.settimeout(timeout)
