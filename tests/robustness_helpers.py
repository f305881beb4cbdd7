"""Shared pieces for the robustness tests and the fuzz corpus builder.

A :class:`Conversation` drives a client and a server against each other one
record at a time, so a test can stop at any point of a real handshake (or of
the traffic after it) and hand one side something else instead.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription
from puretls.errors import TLSError
from puretls.testing import CertificateAuthority
from puretls.verify import CertificateVerifier, TrustStore


@functools.cache
def authority() -> CertificateAuthority:
    return CertificateAuthority()


@functools.cache
def server_key() -> CertifiedKey:
    leaf = authority().issue(["localhost"], key_type="ecdsa-p256")
    return CertifiedKey(tuple(leaf.chain_der()), leaf.private_key)


@functools.cache
def client_key() -> CertifiedKey:
    leaf = authority().issue(["client.example"], key_type="ed25519")
    return CertifiedKey(tuple(leaf.chain_der()), leaf.private_key)


@functools.cache
def trust() -> TrustStore:
    store = TrustStore()
    store.add_pem(authority().cert_pem())
    return store


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def client_config(seed: int = 1, **kw: object) -> TLSConfig:
    options: dict[str, object] = {
        "server_name": "localhost",
        "verifier": CertificateVerifier(trust()),
        "rng": seeded_rng(seed),
        "alpn_protocols": (b"h2", b"http/1.1"),
    }
    options.update(kw)
    return TLSConfig(is_server=False, **options)  # type: ignore[arg-type]


def server_config(seed: int = 2, **kw: object) -> TLSConfig:
    options: dict[str, object] = {
        "certificates": (server_key(),),
        "rng": seeded_rng(seed),
        "alpn_protocols": (b"http/1.1",),
    }
    options.update(kw)
    return TLSConfig(is_server=True, **options)  # type: ignore[arg-type]


class CountingConnection(Connection):
    """A Connection that counts the alerts it queues (at most one fatal)."""

    def __init__(self, config: TLSConfig) -> None:
        super().__init__(config)
        self.alerts_sent: list[tuple[int, int]] = []

    def _send_alert(self, level: object, description: AlertDescription) -> None:  # type: ignore[override]
        self.alerts_sent.append((int(level), int(description)))  # type: ignore[call-overload]
        super()._send_alert(level, description)  # type: ignore[arg-type]


def split_records(data: bytes) -> list[bytes]:
    """Cut a well-formed byte stream into whole records."""
    out = []
    pos = 0
    while pos < len(data):
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.append(data[pos:end])
        pos = end
    return out


@dataclass
class Conversation:
    """A client and a server exchanging records one at a time.

    ``script`` runs after the handshake: application data both ways, a
    KeyUpdate, then close_notify from each side, so every state of a
    connection's life is on the way.
    """

    client: CountingConnection
    server: CountingConnection
    # (receiver, record) pairs waiting to be delivered, in order.
    pending: list[tuple[CountingConnection, bytes]] = field(default_factory=list)
    delivered: list[tuple[str, bytes]] = field(default_factory=list)
    _after_handshake_done: bool = False

    @classmethod
    def start(
        cls,
        client_cfg: TLSConfig | None = None,
        server_cfg: TLSConfig | None = None,
        *,
        scripted: bool = True,
    ) -> Conversation:
        conv = cls(
            client=CountingConnection(client_cfg or client_config()),
            server=CountingConnection(server_cfg or server_config()),
            _after_handshake_done=not scripted,
        )
        conv.client.start_handshake()
        conv._collect()
        return conv

    def _collect(self) -> None:
        for sender, receiver in ((self.client, self.server), (self.server, self.client)):
            data = sender.data_to_send()
            self.pending.extend((receiver, rec) for rec in split_records(data))
        if (
            not self.pending
            and not self._after_handshake_done
            and self.client.handshake_complete
            and self.server.handshake_complete
        ):
            self._after_handshake_done = True
            self.client.send_data(b"GET / HTTP/1.1\r\n\r\n")
            self.server.send_data(b"HTTP/1.1 200 OK\r\n\r\nhello")
            self.client.key_update(request_peer_update=True)
            self.client.send_data(b"after key update")
            self.server.close()
            self.client.close()
            for sender, receiver in ((self.client, self.server), (self.server, self.client)):
                data = sender.data_to_send()
                self.pending.extend((receiver, rec) for rec in split_records(data))

    def name(self, conn: Connection) -> str:
        return "server" if conn is self.server else "client"

    def step(self) -> bool:
        """Deliver the next record; False when nothing is left."""
        if not self.pending:
            return False
        receiver, record = self.pending.pop(0)
        self.delivered.append((self.name(receiver), record))
        receiver.receive_data(record)
        self._collect()
        return True

    def run(self, limit: int = 100) -> None:
        for _ in range(limit):
            if not self.step():
                return
        raise AssertionError("conversation did not settle")

    def advance(self, steps: int) -> None:
        for _ in range(steps):
            if not self.step():
                return


def full_transcript(client_cfg: TLSConfig | None = None) -> list[tuple[str, bytes]]:
    """Every record of one whole conversation, as (receiver name, record)."""
    conv = Conversation.start(client_cfg)
    conv.run()
    return conv.delivered


def feed_and_close(conn: CountingConnection, chunks: Iterator[bytes] | list[bytes]) -> None:
    """Feed ``chunks`` then EOF; check the promises every input must keep.

    Only TLSError escapes, at most one fatal alert is queued, and the
    connection is closed at the end.
    """
    before = len(conn.alerts_sent)
    for chunk in chunks:
        try:
            conn.receive_data(chunk)
        except TLSError:
            break
    else:
        with contextlib.suppress(TLSError):
            conn.receive_data(b"")
    fatal = [a for a in conn.alerts_sent[before:] if a[0] == 2]
    assert len(fatal) <= 1, conn.alerts_sent
    if conn.error is not None:
        assert conn.closed
        try:
            conn.receive_data(b"\x16\x03\x03\x00\x01\x01")
        except TLSError:
            pass
        else:
            raise AssertionError("a failed connection accepted more data")
    else:
        # Only a clean close_notify exchange or an EOF after it ends without error.
        assert conn.peer_closed
