"""``puretls client --reconnect`` / ``--early-data FILE``: resumption from the command line.

The client connects once to collect a session ticket, closes, and connects
again offering it; ``--early-data FILE`` sends FILE as 0-RTT data on the
second connection.  What happened (resumed or not, early data accepted or
refused and resent) is printed on stderr.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import time
from typing import Any, TextIO

from puretls.cli.common import send_close_notify

# How long the first connection waits for the server's NewSessionTicket.
TICKET_WAIT = 2.0


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reconnect",
        action="store_true",
        help="connect, then reconnect with the session ticket and say whether it resumed",
    )
    parser.add_argument(
        "--early-data",
        metavar="FILE",
        help="on the reconnection, send FILE as 0-RTT early data (replayable: idempotent "
        "requests only); implies --reconnect",
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "reconnect", False) or getattr(args, "early_data", None))


def collect_session(
    context: ssl.SSLContext, host: str, port: int, server_name: str, timeout: float
) -> Any:
    """First visit: handshake, wait briefly for a ticket, close; the session or None."""
    raw = socket.create_connection((host, port), timeout=timeout)
    with context.wrap_socket(raw, server_hostname=server_name) as sock:
        deadline = time.monotonic() + TICKET_WAIT
        sock.settimeout(0.2)
        while sock.session is None and time.monotonic() < deadline:
            try:
                if not sock.recv(16384):
                    break
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except (OSError, ssl.SSLError):
                break
        session = sock.session
        send_close_notify(sock)
    return session


def reconnect(
    context: ssl.SSLContext,
    host: str,
    port: int,
    server_name: str,
    timeout: float,
    early_data_file: str | None,
    err: TextIO,
) -> ssl.SSLSocket:
    """Connect with a fresh ticket (and 0-RTT data); report what happened on ``err``."""
    early = b""
    if early_data_file:
        with open(early_data_file, "rb") as f:
            early = f.read()
    session = collect_session(context, host, port, server_name, timeout)
    if session is None:
        print("resumption: the server sent no session ticket", file=err)
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        sock = context.wrap_socket(
            raw, server_hostname=server_name, session=session, do_handshake_on_connect=False
        )
        # Only a ticket that allows 0-RTT carries early data; otherwise it is
        # sent after the handshake (reported below).
        if early and session is not None and getattr(session, "max_early_data_size", 0) > 0:
            sock.send_early_data(early)  # type: ignore[attr-defined]
        sock.do_handshake()
    except BaseException:
        raw.close()
        raise
    resumed = "yes" if sock.session_reused else "no (full handshake)"
    print(f"resumed: {resumed}", file=err)
    if early:
        accepted = getattr(sock, "early_data_accepted", None)
        if accepted:
            print(f"early data: accepted ({len(early)} bytes as 0-RTT)", file=err)
        elif accepted is False:
            print("early data: rejected by the server; resent after the handshake", file=err)
        else:
            sock.sendall(early)
            print("early data: the ticket allows no 0-RTT; sent after the handshake", file=err)
    return sock
