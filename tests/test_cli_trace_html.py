"""The HTML trace page: its structure, then the page in headless Chromium.

The browser test opens the page from a file (Debian's ``chromium``, which
``make test`` installs when missing), checks that the diagram names every
message in order, that the console shows no error (the page's
Content-Security-Policy turns any attempted fetch into one), that the
network log holds no request made by the page, and takes a screenshot.
``PURETLS_UPDATE_SCREENSHOT=1`` copies it to docs/trace-screenshot.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from puretls.cli.trace_html import _items, handshake_round_trips, render_html
from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import NamedGroup
from puretls.trace import TraceLog
from puretls.verify import CertificateVerifier, TrustStore
from test_connection import authority, connect, server_key

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHROMIUM = shutil.which("chromium")


def traced_connection(*, retry: bool, mtls: bool) -> TraceLog:
    """A client's trace: HRR and client certificate on demand, data, KeyUpdate, close."""
    log = TraceLog(reveal_secrets=True)
    store = TrustStore()
    store.add_pem(authority().cert_pem())
    client_certs: tuple[CertifiedKey, ...] = ()
    if mtls:
        leaf = authority().issue(["client"], key_type="ed25519")
        client_certs = (CertifiedKey(tuple(leaf.chain_der()), leaf.private_key),)
    client_cfg = TLSConfig(
        is_server=False,
        server_name="localhost",
        verifier=CertificateVerifier(store),
        alpn_protocols=(b"h2", b"http/1.1"),
        key_share_groups=(NamedGroup.secp256r1,) if retry else (),
        certificates=client_certs,
        tracer=log,
    )
    server_cfg = TLSConfig(
        is_server=True,
        certificates=(server_key(),),
        alpn_protocols=(b"http/1.1",),
        groups=(NamedGroup.x25519,) if retry else (NamedGroup.x25519, NamedGroup.secp256r1),
        request_client_certificate=mtls,
    )
    client, server = connect(client_cfg, server_cfg)
    client.send_data(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    server.receive_data(client.data_to_send())
    server.send_data(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
    client.receive_data(server.data_to_send())
    client.key_update(request_peer_update=True)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    client.close()
    server.receive_data(client.data_to_send())
    return log


def diagram_names(page: str) -> list[str]:
    return re.findall(r'<text class="name"[^>]*>([^<]*)</text>', page)


def test_page_is_self_contained() -> None:
    page = render_html(traced_connection(retry=False, mtls=False).events, role="client")
    assert "Content-Security-Policy" in page
    # The SVG namespace is a name, not a fetch; nothing else may point outside.
    outside = re.findall(r"(?:src|href)\s*=|url\(|@import|https?://", page)
    assert outside == ["http://"]
    assert "http://www.w3.org/2000/svg" in page


def test_diagram_names_every_message_and_counts_round_trips() -> None:
    log = traced_connection(retry=True, mtls=True)
    page = render_html(log.events, role="client")
    names = [n for n in diagram_names(page) if n != "ChangeCipherSpec"]
    handshake = [m.name for m in log.messages()]
    assert [n for n in names if not n.startswith(("application data", "Alert"))] == handshake
    assert handshake[:4] == ["ClientHello", "HelloRetryRequest", "ClientHello", "ServerHello"]
    assert "CertificateRequest" in handshake and handshake.count("KeyUpdate") == 2
    assert names[-1] == "Alert: close_notify"
    assert handshake_round_trips(_items(log.events, "client")) == 2
    assert "handshake: 2 round trips" in page
    assert "one more round trip" in page  # the HelloRetryRequest is drawn as one


def test_one_rtt_handshake_takes_one_round_trip() -> None:
    log = traced_connection(retry=False, mtls=False)
    assert handshake_round_trips(_items(log.events, "client")) == 1


def test_server_side_page_draws_the_same_arrows() -> None:
    log = TraceLog()
    client = Connection(TLSConfig(is_server=False, server_name="localhost"))
    server = Connection(TLSConfig(is_server=True, certificates=(server_key(),), tracer=log))
    client.start_handshake()
    for _ in range(3):
        if data := client.data_to_send():
            server.receive_data(data)
        if data := server.data_to_send():
            client.receive_data(data)
    page = render_html(log.events, role="server")
    assert [n for n in diagram_names(page) if n != "ChangeCipherSpec"] == [
        m.name for m in log.messages()
    ]
    assert "decryption hidden" in page and "hidden (--reveal-secrets)" in page


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1200,1400",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page asked for; the browser's own service requests have no origin."""
    data = json.loads(netlog.read_text())
    types = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = []
    for event in data["events"]:
        params = event.get("params", {})
        start = types.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in params
        if start and params.get("initiator") != "not an origin":
            urls.append(params["url"])
    return urls


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")
def test_page_opens_in_headless_chromium(tmp_path: Path) -> None:
    log = traced_connection(retry=True, mtls=False)
    page = tmp_path / "trace.html"
    page.write_text(
        render_html(log.events, role="client", title="puretls client -> localhost:4433"),
        encoding="utf-8",
    )
    netlog = tmp_path / "netlog.json"
    dumped = _chromium(
        page,
        tmp_path / "profile1",
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={netlog}",
        "--dump-dom",
    )
    console = [line for line in dumped.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "rror" in line or "Refused" in line], console
    assert "Uncaught" not in dumped.stderr
    assert _page_requests(netlog) == [], "the page made network requests"
    # The script ran: it opened the first encrypted message's pane.
    assert re.search(r'<g class="item [^"]*sel"', dumped.stdout)
    names = [n for n in diagram_names(dumped.stdout) if n != "ChangeCipherSpec"]
    handshake = [m.name for m in log.messages()]
    assert [n for n in names if not n.startswith(("application data", "Alert"))] == handshake

    shot = tmp_path / "trace.png"
    _chromium(page, tmp_path / "profile2", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and 10_000 < len(data) < 300_000
    if os.environ.get("PURETLS_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, DOCS / "trace-screenshot.png")
