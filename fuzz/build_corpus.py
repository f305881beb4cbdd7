"""Build the seed corpora for the fuzz targets from real handshakes.

Seeds come from two places: the RFC 8448 traces in tests/vectors/ (every
handshake message and record they contain), and conversations recorded here
between a puretls client and server with the fuzz targets' own deterministic
configs (plain 1-RTT, HelloRetryRequest, a certificate request, TLS 1.2 from
either side, ALPN, then application data, KeyUpdate and close_notify), so a seed replayed into a
target goes through the whole handshake.

    python fuzz/build_corpus.py        # writes .fuzz/corpus/<target>/
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

from common import CORPUS, HERE, TARGETS, client_config, server_config

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.enums import NamedGroup, ProtocolVersion
from puretls.messages import HandshakeMessage

VECTORS = HERE.parent / "tests" / "vectors"


def _records(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 5 <= len(data):
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.append(data[pos:end])
        pos = end
    return out


class Recorder:
    """Runs one conversation and keeps what each side received and sent."""

    def __init__(self, client_cfg: TLSConfig, server_cfg: TLSConfig) -> None:
        self.messages: list[bytes] = []

        def hook(message: HandshakeMessage) -> HandshakeMessage:
            self.messages.append(message.encode())
            return message

        self.client = Connection(replace(client_cfg, message_hook=hook))
        self.server = Connection(replace(server_cfg, message_hook=hook))
        self.to_server: list[bytes] = []
        self.to_client: list[bytes] = []

    def _pump(self) -> None:
        for _ in range(20):
            moved = False
            if data := self.client.data_to_send():
                self.to_server += _records(data)
                self.server.receive_data(data)
                moved = True
            if data := self.server.data_to_send():
                self.to_client += _records(data)
                self.client.receive_data(data)
                moved = True
            if not moved:
                return

    def run(self) -> Recorder:
        self.client.start_handshake()
        self._pump()
        assert self.client.handshake_complete and self.server.handshake_complete
        self.client.send_data(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self._pump()
        self.server.send_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        if self.server.negotiated.version == "TLSv1.3":
            self.server.key_update(request_peer_update=True)
        self._pump()
        self.client.close()
        self.server.close()
        self._pump()
        return self


def _conversations() -> list[Recorder]:
    plain = Recorder(client_config(), server_config()).run()
    # The server wants secp256r1 only: the client's x25519 share forces a retry.
    retry = Recorder(client_config(), server_config(groups=(NamedGroup.secp256r1,))).run()
    # The server asks for a certificate; the client has none and says so.
    auth = Recorder(client_config(), server_config(request_client_certificate=True)).run()
    # TLS 1.2 from either side: a client that stops at 1.2 (server seeds)
    # and a server that does (client seeds).
    tls12_client = Recorder(
        client_config(max_version=ProtocolVersion.TLSv1_2), server_config()
    ).run()
    tls12_server = Recorder(
        client_config(), server_config(max_version=ProtocolVersion.TLSv1_2)
    ).run()
    return [plain, retry, auth, tls12_client, tls12_server]


def _rfc8448() -> tuple[list[bytes], list[bytes], list[bytes]]:
    messages, to_server, to_client = [], [], []
    for path in sorted(VECTORS.glob("*.json")):
        data = json.loads(path.read_text())
        for value in (data.get("handshake_messages") or {}).values():
            if isinstance(value, str):
                messages.append(bytes.fromhex(value))
        for rec in data.get("records") or []:
            if not isinstance(rec, dict) or "record" not in rec:
                continue
            raw = bytes.fromhex(rec["record"])
            (to_server if rec.get("sender") == "client" else to_client).append(raw)
    return messages, to_server, to_client


def build() -> dict[str, int]:
    seeds: dict[str, set[bytes]] = {t: set() for t in TARGETS}
    messages, rfc_server, rfc_client = _rfc8448()
    seeds["messages"].update(messages)
    seeds["record"].update(b"\x00" + r for r in rfc_server + rfc_client)
    seeds["server"].add(b"\x00" + b"".join(rfc_server))
    seeds["client"].add(b"\x00" + b"".join(rfc_client))
    for conv in _conversations():
        seeds["messages"].update(conv.messages)
        stream_in, stream_out = b"".join(conv.to_server), b"".join(conv.to_client)
        seeds["record"].update(b"\x00" + r for r in conv.to_server + conv.to_client)
        seeds["record"].add(b"\x00" + stream_in)
        seeds["server"].update((b"\x00" + stream_in, b"\x9f" + stream_in))
        seeds["client"].update((b"\x00" + stream_out, b"\xbf" + stream_out))
        # Every prefix cut at a record boundary: a seed per handshake state.
        for recs, target in ((conv.to_server, "server"), (conv.to_client, "client")):
            for i in range(1, len(recs)):
                seeds[target].add(b"\x00" + b"".join(recs[:i]))
    counts = {}
    for target, items in seeds.items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for item in items:
            (folder / hashlib.sha1(item).hexdigest()).write_bytes(item)
        counts[target] = len(items)
    return counts


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    for target, count in build().items():
        print(f"{target}: {count} seeds in {Path(CORPUS / target)}")
