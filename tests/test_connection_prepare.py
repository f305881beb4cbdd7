"""Connection.prepare(): work done ahead while waiting never changes the wire.

Each scenario runs twice with the same seeded randomness and clock: once
without ``prepare`` and once calling it on both sides before and after every
flight, as an I/O loop waiting for input would.  Every byte each side sends
must be the same in both runs, and so must what the application sees.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.enums import NamedGroup
from puretls.events import ApplicationData, NewSessionTicketReceived
from puretls.session import ClientSession
from test_connection import client_config, server_config, server_key

NOW = 1_700_000_000.0


def _seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def _exchange(client: Connection, server: Connection, prepare: bool) -> list[bytes]:
    """Handshake, data both ways, close; the records each side sent, in order."""
    wire: list[bytes] = []

    def settle() -> None:
        if prepare:
            server.prepare()
            client.prepare()
            server.prepare()  # a second call is free and changes nothing

    settle()
    client.start_handshake()
    for _ in range(8):
        moved = False
        for sender, receiver in ((client, server), (server, client)):
            settle()
            if data := sender.data_to_send():
                wire.append(data)
                receiver.receive_data(data)
                moved = True
        if not moved:
            break
    assert client.handshake_complete and server.handshake_complete
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    server.send_data(b"pong")
    client.receive_data(server.data_to_send())
    wire.append(repr(_app_events(client, server)).encode())
    return wire


def _app_events(client: Connection, server: Connection) -> tuple[list[bytes], list[bytes]]:
    def data(conn: Connection) -> list[bytes]:
        return [e.data for e in conn.take_events() if isinstance(e, ApplicationData)]

    return data(client), data(server)


def _pair(
    prepare: bool, client_kw: dict[str, object], server_kw: dict[str, object], seed: int = 1
) -> tuple[Connection, Connection, TLSConfig]:
    # Ed25519: deterministic signatures (ECDSA draws its nonce inside OpenSSL).
    server_kw.setdefault("certificates", (server_key("ed25519"),))
    server_cfg = server_config(rng=_seeded(seed), time=lambda: NOW, **server_kw)
    client_cfg = client_config(rng=_seeded(seed + 100), time=lambda: NOW, **client_kw)
    return Connection(client_cfg), Connection(server_cfg), server_cfg


SCENARIOS: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "default": ({}, {}),
    "no tickets": ({}, {"session_tickets": 0}),
    "three tickets, alpn": (
        {"alpn_protocols": (b"h2", b"http/1.1")},
        {"session_tickets": 3, "alpn_protocols": (b"http/1.1",)},
    ),
    "secp256r1 share only": ({"key_share_groups": (NamedGroup.secp256r1,)}, {}),
    "server prefers p-384 (hello retry)": (
        {},
        {"groups": (NamedGroup.secp384r1, NamedGroup.x25519)},
    ),
    "client certificate required": (
        {"certificates": (server_key("ed25519", "client.example"),)},
        {"request_client_certificate": True, "require_client_certificate": True},
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_prepare_leaves_every_byte_the_same(name: str) -> None:
    client_kw, server_kw = SCENARIOS[name]
    runs = []
    for prepare in (False, True):
        client, server, _ = _pair(prepare, dict(client_kw), dict(server_kw))
        runs.append(_exchange(client, server, prepare))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("early_data", [False, True])
def test_prepare_leaves_resumption_and_0rtt_the_same(early_data: bool) -> None:
    runs = []
    for prepare in (False, True):
        client, server, server_cfg = _pair(prepare, {}, {"max_early_data_size": 1024})
        wire = _exchange(client, server, prepare)
        sessions = [
            e.session
            for e in client.take_events()
            if isinstance(e, NewSessionTicketReceived) and e.session is not None
        ]
        session: ClientSession | None = sessions[0] if sessions else None
        assert session is not None or client.negotiated.sessions
        session = session or client.negotiated.sessions[0]
        again_client = Connection(
            client_config(
                rng=_seeded(7), time=lambda: NOW + 5, session=session, early_data=early_data
            )
        )
        again_server = Connection(server_cfg.replace(rng=_seeded(8), time=lambda: NOW + 5))
        if early_data:
            again_client.start_handshake()
            again_client.send_early_data(b"early")
        wire += _exchange(again_client, again_server, prepare)
        assert again_client.negotiated.session_resumed
        runs.append(wire)
    assert runs[0] == runs[1]


def test_prepare_is_a_no_op_on_a_finished_or_closed_connection() -> None:
    client, server, _ = _pair(True, {}, {})
    _exchange(client, server, True)
    before = (client.data_to_send(), server.data_to_send())
    client.prepare()
    server.prepare()
    assert before == (b"", b"")
    assert (client.data_to_send(), server.data_to_send()) == (b"", b"")
    client.close()
    client.prepare()
