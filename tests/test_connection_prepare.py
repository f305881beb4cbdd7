"""Connection.prepare(): work done ahead while waiting never changes the wire.

Each scenario runs twice with the same seeded randomness and clock: once
without ``prepare`` and once calling it on both sides before and after every
flight, as an I/O loop waiting for input would.  Every byte each side sends
must be the same in both runs, and so must what the application sees, the
key log and what the message hook is shown.

The one planned exception: a server prepares its key share for the group
its config's last ClientHello chose (or its first group).  When the next
hello needs another group the prepared key is dropped and a new one drawn,
so the rng stream moves on: that handshake is checked for its outcome, not
its bytes, and the next one on the same config (which now prepares the
right group) byte for byte again.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription, CipherSuite, NamedGroup
from puretls.errors import DecryptError
from puretls.events import ApplicationData, NewSessionTicketReceived
from puretls.handshake import server13
from puretls.messages import Finished, HandshakeMessage
from puretls.session import ClientSession, TicketKey, TicketKeys
from puretls.trace import TraceLog
from test_connection import client_config, server_config, server_key
from test_handshake_rfc8448 import h, load, message, records, rfc_ticket_hook, rng_from
from test_handshake_rfc8448 import rsa_server_key as rfc8448_server_key

NOW = 1_700_000_000.0


def record_prepares(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, str]]:
    """(is_server, state name) for every Connection.prepare call from now on.

    For the I/O loops' tests (SSLSocket, puretls.aio): they must call it
    while they wait for the peer's flight.
    """
    calls: list[tuple[bool, str]] = []
    original = Connection.prepare

    def spy(self: Connection) -> None:
        calls.append((self.config.is_server, type(self._state).__name__))
        original(self)

    monkeypatch.setattr(Connection, "prepare", spy)
    return calls


# What a waiting server and client see at least once in a full handshake.
EXPECTED_WAITS = {
    (True, "ExpectClientHello"),
    (True, "ExpectClientFinished"),
    (False, "ExpectServerHello"),
}


class _Rng:
    """A seeded rng that a test can reseed between connections on one config."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self._random = random.Random(seed)

    def __call__(self, n: int) -> bytes:
        return self._random.randbytes(n)


def _seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


class _Seen:
    """What the application side observes besides the wire: key log, hook."""

    def __init__(self) -> None:
        self.keylog: list[str] = []
        self.hooked: list[str] = []

    def hook(self, message: HandshakeMessage) -> HandshakeMessage:
        self.hooked.append(type(message).__name__)
        return message


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


def _outcome(client: Connection, server: Connection) -> tuple[object, ...]:
    """What a handshake settled on, without its random bytes."""
    c, s = client.negotiated, server.negotiated
    return (
        c.version,
        c.cipher_suite,
        c.group,
        s.group,
        c.alpn_protocol,
        s.session_resumed,
        c.messages,
        s.messages,
        len(c.sessions),
    )


def _pair(
    client_kw: dict[str, object],
    server_kw: dict[str, object],
    seen: _Seen | None = None,
    seed: int = 1,
) -> tuple[Connection, Connection, TLSConfig]:
    # Ed25519: deterministic signatures (ECDSA draws its nonce inside OpenSSL).
    server_kw.setdefault("certificates", (server_key("ed25519"),))
    if seen is not None:
        server_kw.update(keylog=seen.keylog.append, message_hook=seen.hook)
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
    "post-handshake auth offered": ({"post_handshake_auth": True}, {}),
    # The server asks for a certificate: Certificate and CertificateVerify
    # come before the client's Finished, so nothing is prepared for it.
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
        seen = _Seen()
        client, server, _ = _pair(dict(client_kw), dict(server_kw), seen)
        runs.append((_exchange(client, server, prepare), seen.keylog, seen.hooked))
    assert runs[0] == runs[1]
    assert len(runs[1][1]) == 5  # handshake, traffic and exporter secrets
    assert runs[1][2][:2] == ["ServerHello", "EncryptedExtensions"]


# The group the server will pick is not its first: the first handshake on a
# config prepares a key it cannot use; the config then remembers the group.
MISPREDICTED: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "secp256r1 share only": ({"key_share_groups": (NamedGroup.secp256r1,)}, {}),
    "server prefers p-384, takes the x25519 share": (
        {},
        {"groups": (NamedGroup.secp384r1, NamedGroup.x25519)},
    ),
    "hello retry request for p-384": (
        {"key_share_groups": (NamedGroup.x25519,)},
        {"groups": (NamedGroup.secp384r1,)},
    ),
}


@pytest.mark.parametrize("name", sorted(MISPREDICTED))
def test_a_wasted_key_share_changes_only_the_random_bytes(name: str) -> None:
    client_kw, server_kw = MISPREDICTED[name]
    first: list[tuple[object, ...]] = []
    first_wire: list[list[bytes]] = []
    second_wire: list[list[bytes]] = []
    for prepare in (False, True):
        server_rng = _Rng(1)
        server_cfg = server_config(
            rng=server_rng,
            time=lambda: NOW,
            certificates=(server_key("ed25519"),),
            # A fixed ticket key: one drawn from the rng in the first
            # handshake would differ between the runs.
            ticket_keys=TicketKeys([TicketKey(bytes(16), bytes(32), NOW)]),
            **server_kw,
        )
        client = Connection(client_config(rng=_seeded(101), time=lambda: NOW, **client_kw))
        server = Connection(server_cfg)
        first_wire.append(_exchange(client, server, prepare))
        first.append(_outcome(client, server))
        # The same config again, rng reseeded: now the group is remembered.
        server_rng.reseed(2)
        client = Connection(client_config(rng=_seeded(102), time=lambda: NOW, **client_kw))
        second_wire.append(_exchange(client, Connection(server_cfg), prepare))
    assert first[0] == first[1]  # the same handshake, ...
    assert first_wire[0] != first_wire[1]  # ... with other random values
    assert second_wire[0] == second_wire[1]


def test_prepared_key_share_is_single_use_and_per_connection() -> None:
    cfg = server_config()
    a, b = Connection(cfg), Connection(cfg)
    a.prepare()
    b.prepare()
    state_a, state_b = a._state, b._state
    assert isinstance(state_a, server13.ExpectClientHello)
    assert isinstance(state_b, server13.ExpectClientHello)
    share_a, share_b = state_a.prepared_share, state_b.prepared_share
    assert share_a is not None and share_b is not None
    assert share_a.public != share_b.public
    a.prepare()  # idempotent: the same key stays
    assert state_a.prepared_share is share_a
    client = Connection(client_config())
    client.start_handshake()
    a.receive_data(client.data_to_send())
    assert state_a.prepared_share is None
    server_hello = a.negotiated
    assert server_hello.group == NamedGroup.x25519
    client.receive_data(a.data_to_send())
    assert client.handshake_complete


def test_config_remembers_the_group_of_the_last_client_hello() -> None:
    cfg = server_config()
    assert cfg.last_key_share_group == 0
    client = Connection(client_config(key_share_groups=(NamedGroup.secp256r1,)))
    server = Connection(cfg)
    _exchange(client, server, True)
    assert cfg.last_key_share_group == NamedGroup.secp256r1
    assert cfg.replace().last_key_share_group == 0  # a copy starts afresh
    retry = Connection(cfg)
    retry.prepare()
    assert isinstance(retry._state, server13.ExpectClientHello)
    share = retry._state.prepared_share
    assert share is not None and share.group == NamedGroup.secp256r1


def test_server_prepares_the_client_finished_and_tickets() -> None:
    client, server, _ = _pair({}, {})
    client.start_handshake()
    server.receive_data(client.data_to_send())
    server.prepare()
    state = server._state
    assert isinstance(state, server13.ExpectClientFinished)
    assert state.prepared is not None
    assert len(state.prepared.tickets) == 2
    assert server.data_to_send()  # only the flight: prepared tickets are not sent
    assert server.data_to_send() == b""


def test_nothing_is_prepared_while_a_client_certificate_is_expected() -> None:
    client, server, _ = _pair(*[dict(kw) for kw in SCENARIOS["client certificate required"]])
    client.start_handshake()
    server.receive_data(client.data_to_send())
    server.prepare()
    assert isinstance(server._state, server13.ExpectClientCertificate)
    assert not hasattr(server._state, "prepared")


def test_a_traced_server_prepares_no_finished_and_traces_the_same() -> None:
    traces = []
    for prepare in (False, True):
        log = TraceLog(reveal_secrets=True)
        client, server, _ = _pair({}, {"tracer": log})
        _exchange(client, server, prepare)
        traces.append(log.events)
    assert traces[0] == traces[1]


@pytest.mark.parametrize("prepare", [False, True])
def test_wrong_client_finished_is_decrypt_error_either_way(prepare: bool) -> None:
    def spoil(message: HandshakeMessage) -> HandshakeMessage:
        if isinstance(message, Finished):
            return Finished(verify_data=bytes(len(message.verify_data)))
        return message

    client, server, _ = _pair({"message_hook": spoil}, {})
    if prepare:
        server.prepare()
    client.start_handshake()
    server.receive_data(client.data_to_send())
    if prepare:
        server.prepare()
        assert isinstance(server._state, server13.ExpectClientFinished)
        assert server._state.prepared is not None
    client.receive_data(server.data_to_send())
    with pytest.raises(DecryptError):
        server.receive_data(client.data_to_send())
    assert server.error is not None and server.error.alert == AlertDescription.decrypt_error
    assert not server.handshake_complete


@pytest.mark.parametrize("early_data", [False, True])
def test_prepare_leaves_resumption_and_0rtt_the_same(early_data: bool) -> None:
    runs = []
    for prepare in (False, True):
        client, server, server_cfg = _pair({}, {"max_early_data_size": 1024})
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
        assert again_client.early_data_accepted is (True if early_data else None)
        runs.append(wire)
    assert runs[0] == runs[1]


def test_prepare_is_a_no_op_on_a_finished_or_closed_connection() -> None:
    client, server, _ = _pair({}, {})
    _exchange(client, server, True)
    before = (client.data_to_send(), server.data_to_send())
    client.prepare()
    server.prepare()
    assert before == (b"", b"")
    assert (client.data_to_send(), server.data_to_send()) == (b"", b"")
    client.close()
    client.prepare()


def test_rfc8448_server_replay_with_prepare_is_byte_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 8448 3 as a server that works ahead: the RFC's own bytes, in the
    order of an rng that refuses any other draw (key share before the
    ClientHello, ticket_age_add and the ticket key before the client's Finished)."""
    v = load("rfc8448_section3_simple_1rtt.json")
    nst = v["new_session_ticket"]
    signature = h(v["certificate_verify_fields"]["signature"])  # RSA-PSS is randomised
    monkeypatch.setattr(server13, "sign", lambda scheme, key, data: signature)
    config = TLSConfig(
        is_server=True,
        certificates=(rfc8448_server_key(),),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        rng=rng_from(
            h(v["key_exchange"]["server_private_key"]),
            h(v["server_random"]),
            h(nst["ticket_age_add"]),
            bytes(16),
            bytes(32),
            bytes(12),
        ),
        session_tickets=1,
        ticket_lifetime=nst["ticket_lifetime"],
        max_early_data_size=nst["early_data_max_early_data_size"],
        message_hook=rfc_ticket_hook(
            h(nst["ticket"]), message(v["handshake_messages"]["encrypted_extensions"])
        ),
    )
    server = Connection(config)
    ours, theirs = records(v, "server"), records(v, "client")
    server.prepare()  # the X25519 key share, first draw of the rng
    server.receive_data(theirs[0])
    assert server.data_to_send() == ours[0] + ours[1]
    server.prepare()  # the client's Finished and the ticket
    assert isinstance(server._state, server13.ExpectClientFinished)
    assert server._state.prepared is not None
    server.receive_data(theirs[1])
    assert server.handshake_complete
    assert server.data_to_send() == ours[2]
