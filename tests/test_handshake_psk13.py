"""Resumption, external PSKs and 0-RTT between in-memory client/server pairs."""

from __future__ import annotations

import dataclasses

import pytest

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription, CipherSuite, PskKeyExchangeMode
from puretls.errors import DecryptError, PeerAlert, UnexpectedMessage
from puretls.events import ApplicationData, HandshakeComplete, NewSessionTicketReceived
from puretls.messages import ClientHello, HandshakeMessage, PreSharedKey
from puretls.session import ClientSession, ExternalPsk, InMemoryReplayCache, TicketKeys
from test_connection import client_config, connect, events, pump, server_config


class Clock:
    """A settable clock for ticket ages (seconds since the epoch)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def first_session(
    server_cfg: TLSConfig, client_cfg: TLSConfig | None = None
) -> tuple[ClientSession, Connection, Connection]:
    client, server = connect(client_cfg or client_config(), server_cfg)
    assert client.handshake_complete and server.handshake_complete
    tickets = [e for e in events(client) if isinstance(e, NewSessionTicketReceived)]
    assert tickets and tickets[0].session is not None
    return tickets[0].session, client, server


def test_server_sends_two_tickets_by_default() -> None:
    client, _ = connect(client_config(), server_config())
    tickets = [e for e in events(client) if isinstance(e, NewSessionTicketReceived)]
    assert len(tickets) == 2
    assert len(client.negotiated.sessions) == 2
    assert tickets[0].ticket != tickets[1].ticket


def test_ticket_count_is_configurable_and_zero_sends_none() -> None:
    client, _ = connect(client_config(), server_config(session_tickets=0))
    assert not client.negotiated.sessions
    client, _ = connect(client_config(), server_config(session_tickets=3))
    assert len(client.negotiated.sessions) == 3


def test_resumption_skips_certificates_and_is_reported() -> None:
    server_cfg = server_config()
    session, _, _ = first_session(server_cfg)
    client, server = connect(client_config(session=session), server_cfg)
    assert client.handshake_complete and server.handshake_complete
    assert client.negotiated.session_resumed and server.negotiated.session_resumed
    assert "Certificate" not in client.negotiated.messages
    complete = [e for e in events(client) if isinstance(e, HandshakeComplete)]
    assert complete[0].session_resumed
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    assert [e.data for e in events(server) if isinstance(e, ApplicationData)] == [b"ping"]


def test_resumed_connection_gets_new_tickets_that_resume_again() -> None:
    server_cfg = server_config()
    session, _, _ = first_session(server_cfg)
    second, client, _ = first_session(server_cfg, client_config(session=session))
    assert client.negotiated.session_resumed
    third, _ = connect(client_config(session=second), server_cfg)
    assert third.negotiated.session_resumed


@pytest.mark.parametrize(
    "suite",
    [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384],
)
def test_resumption_keeps_the_suite_hash(suite: int) -> None:
    server_cfg = server_config(cipher_suites=(suite,))
    session, _, _ = first_session(server_cfg)
    client, _ = connect(client_config(session=session), server_cfg)
    assert client.negotiated.session_resumed
    assert client.negotiated.cipher_suite is not None
    assert client.negotiated.cipher_suite.suite == suite


def test_ticket_for_other_hash_falls_back_to_full_handshake() -> None:
    keys = TicketKeys()
    session, _, _ = first_session(
        server_config(ticket_keys=keys, cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,))
    )
    server_cfg = server_config(
        ticket_keys=keys, cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)
    )
    client, _ = connect(client_config(session=session), server_cfg)
    assert client.handshake_complete and not client.negotiated.session_resumed


def test_expired_ticket_falls_back_to_full_handshake() -> None:
    clock = Clock()
    server_cfg = server_config(time=clock, ticket_lifetime=60)
    session, _, _ = first_session(server_cfg, client_config(time=clock))
    clock.now += 61
    # The client would not offer an expired ticket; force it to, to test the server.
    session.received_at = clock.now
    client, server = connect(client_config(session=session, time=clock), server_cfg)
    assert client.handshake_complete
    assert not server.negotiated.session_resumed
    assert "Certificate" in client.negotiated.messages


def test_client_does_not_offer_an_expired_session() -> None:
    clock = Clock()
    server_cfg = server_config(time=clock, ticket_lifetime=60)
    session, _, _ = first_session(server_cfg, client_config(time=clock))
    clock.now += 61
    client, _ = connect(client_config(session=session, time=clock), server_cfg)
    assert client.handshake_complete and not client.negotiated.session_resumed


def test_ticket_from_another_server_key_falls_back_to_full_handshake() -> None:
    session, _, _ = first_session(server_config())
    client, server = connect(client_config(session=session), server_config())
    assert client.handshake_complete and not server.negotiated.session_resumed


def test_ticket_for_another_server_name_is_not_used() -> None:
    keys = TicketKeys()
    session, _, _ = first_session(server_config(ticket_keys=keys))
    session.server_name = None  # let the client offer it under another name
    client, server = connect(
        client_config(session=session, server_name="other.test", verifier=None),
        server_config(ticket_keys=keys),
    )
    assert client.handshake_complete and not server.negotiated.session_resumed


def tamper_binder(message: HandshakeMessage) -> HandshakeMessage:
    if isinstance(message, ClientHello) and isinstance(message.extensions[-1], PreSharedKey):
        psk = message.extensions[-1]
        if any(psk.binders[0]):  # the real binders, not bind()'s placeholder pass
            bad = bytes([psk.binders[0][0] ^ 1]) + psk.binders[0][1:]
            return message.with_binders([bad, *psk.binders[1:]])
    return message


def test_tampered_binder_is_decrypt_error() -> None:
    server_cfg = server_config()
    session, _, _ = first_session(server_cfg)
    client = Connection(client_config(session=session, message_hook=tamper_binder))
    server = Connection(server_cfg)
    client.start_handshake()
    with pytest.raises(DecryptError):
        server.receive_data(client.data_to_send())
    with pytest.raises(PeerAlert) as peer:
        client.receive_data(server.data_to_send())
    assert peer.value.description == AlertDescription.decrypt_error


def test_resumption_after_hello_retry_request_recomputes_binders() -> None:
    from puretls.enums import NamedGroup

    server_cfg = server_config(groups=(NamedGroup.secp256r1,))
    session, _, _ = first_session(server_cfg, client_config(groups=(NamedGroup.secp256r1,)))
    client, server = connect(
        client_config(session=session, groups=(NamedGroup.x25519, NamedGroup.secp256r1)),
        server_cfg,
    )
    assert client.negotiated.hello_retry_request
    assert client.negotiated.session_resumed and server.negotiated.session_resumed


def test_psk_ke_only_when_both_sides_enable_it() -> None:
    modes = (PskKeyExchangeMode.psk_ke,)
    server_cfg = server_config(allow_psk_ke=True)
    session, _, _ = first_session(server_cfg)
    client, server = connect(
        client_config(session=session, psk_key_exchange_modes=modes), server_cfg
    )
    assert client.negotiated.session_resumed and client.negotiated.group is None
    refused_cfg = dataclasses.replace(server_cfg, allow_psk_ke=False)
    session2 = client.negotiated.sessions[0]
    client, server = connect(
        client_config(session=session2, psk_key_exchange_modes=modes), refused_cfg
    )
    assert client.handshake_complete and not client.negotiated.session_resumed
    assert not server.negotiated.session_resumed


@pytest.mark.parametrize("imported", [False, True])
def test_external_psk_handshake_without_certificates(imported: bool) -> None:
    psk = ExternalPsk(identity=b"device-17", key=bytes(range(32)), imported=imported)
    client, server = connect(
        client_config(external_psks=(psk,), verifier=None),
        server_config(external_psks=(psk,), certificates=()),
    )
    assert client.handshake_complete and server.handshake_complete
    assert client.negotiated.session_resumed
    assert client.negotiated.peer_certificates == ()


def test_external_psk_with_wrong_key_is_decrypt_error() -> None:
    ours = ExternalPsk(identity=b"device-17", key=bytes(32))
    theirs = ExternalPsk(identity=b"device-17", key=bytes(31) + b"\x01")
    client = Connection(client_config(external_psks=(ours,), verifier=None))
    server = Connection(server_config(external_psks=(theirs,)))
    client.start_handshake()
    with pytest.raises(DecryptError):
        server.receive_data(client.data_to_send())


# --- 0-RTT -----------------------------------------------------------------------


def early_pair(
    server_cfg: TLSConfig, session: ClientSession, data: bytes, **client_kw: object
) -> tuple[Connection, Connection]:
    client = Connection(client_config(session=session, early_data=True, **client_kw))
    server = Connection(server_cfg)
    client.start_handshake()
    client.send_early_data(data)
    pump(client, server)
    return client, server


def early_server(**kw: object) -> TLSConfig:
    options: dict[str, object] = {"max_early_data_size": 4096}
    options.update(kw)
    return server_config(**options)


def test_early_data_is_accepted_and_marked_early() -> None:
    server_cfg = early_server()
    session, _, _ = first_session(server_cfg)
    assert session.max_early_data_size == 4096
    client, server = early_pair(server_cfg, session, b"GET / HTTP/1.1\r\n\r\n")
    assert client.early_data_accepted is True and server.early_data_accepted is True
    received = [e for e in events(server) if isinstance(e, ApplicationData)]
    assert received == [ApplicationData(data=b"GET / HTTP/1.1\r\n\r\n", early=True)]
    client.send_data(b"later")
    server.receive_data(client.data_to_send())
    assert [e for e in events(server) if isinstance(e, ApplicationData)] == [
        ApplicationData(data=b"later")
    ]


def test_replayed_client_hello_does_not_deliver_early_data_twice() -> None:
    server_cfg = early_server()
    session, _, _ = first_session(server_cfg)
    client = Connection(client_config(session=session, early_data=True))
    client.start_handshake()
    client.send_early_data(b"POST /pay")
    flight = client.data_to_send()
    first = Connection(server_cfg)
    first.receive_data(flight)
    assert [e.data for e in events(first) if isinstance(e, ApplicationData)] == [b"POST /pay"]
    replay = Connection(server_cfg)  # an attacker replays the same bytes
    replay.receive_data(flight)
    assert not [e for e in events(replay) if isinstance(e, ApplicationData)]
    assert replay.early_data_accepted is not True


def test_early_data_outside_the_freshness_window_is_rejected_and_resent() -> None:
    clock = Clock()
    server_cfg = early_server(time=clock)
    session, _, _ = first_session(server_cfg, client_config(time=clock))
    # The client thinks no time passed; the server's clock moved 60 s on.
    client = Connection(client_config(session=session, early_data=True, time=Clock(clock.now)))
    clock.now += 60
    server = Connection(server_cfg)
    client.start_handshake()
    client.send_early_data(b"hello")
    pump(client, server)
    assert client.handshake_complete and client.negotiated.session_resumed
    assert client.early_data_accepted is False
    assert not [e for e in events(server) if isinstance(e, ApplicationData)]
    assert client.early_data_rejected == b"hello"
    client.send_data(client.early_data_rejected)
    server.receive_data(client.data_to_send())
    assert [e.data for e in events(server) if isinstance(e, ApplicationData)] == [b"hello"]


def test_server_without_early_data_skips_it_and_resumes() -> None:
    keys = TicketKeys()
    session, _, _ = first_session(early_server(ticket_keys=keys))
    client, server = early_pair(server_config(ticket_keys=keys), session, b"x" * 100)
    assert client.handshake_complete and server.negotiated.session_resumed
    assert client.early_data_accepted is False and client.early_data_rejected == b"x" * 100


def test_early_data_rejected_by_full_handshake_fallback() -> None:
    session, _, _ = first_session(early_server())
    client, server = early_pair(early_server(), session, b"data")  # other ticket key
    assert client.handshake_complete and not client.negotiated.session_resumed
    assert server.early_data_accepted is None
    assert client.early_data_accepted is False


def test_client_cannot_send_more_early_data_than_the_ticket_allows() -> None:
    session, _, _ = first_session(early_server(max_early_data_size=10))
    client = Connection(client_config(session=session, early_data=True))
    client.start_handshake()
    with pytest.raises(UnexpectedMessage):
        client.send_early_data(b"x" * 11)


def test_server_enforces_max_early_data_size() -> None:
    server_cfg = early_server(max_early_data_size=10)
    session, _, _ = first_session(server_cfg)
    session.max_early_data_size = 1000  # a client that ignores the limit
    client = Connection(client_config(session=session, early_data=True))
    server = Connection(server_cfg)
    client.start_handshake()
    client.send_early_data(b"x" * 11)
    with pytest.raises(UnexpectedMessage):
        server.receive_data(client.data_to_send())


def test_early_data_needs_the_same_alpn() -> None:
    server_cfg = early_server(alpn_protocols=(b"h2", b"http/1.1"))
    session, _, _ = first_session(server_cfg, client_config(alpn_protocols=(b"h2",)))
    # The client only offers 0-RTT with the session's ALPN...
    client = Connection(client_config(session=session, early_data=True, alpn_protocols=(b"x",)))
    client.start_handshake()
    assert not client.negotiated.early_data_offered
    # ...and the server refuses it when the ALPN it selects differs.
    session.alpn_protocol = None
    session.used = False
    client, server = early_pair(server_cfg, session, b"x", alpn_protocols=(b"http/1.1",))
    assert client.handshake_complete and client.early_data_accepted is False
    assert server.negotiated.alpn_protocol == "http/1.1"


def test_early_exporter_agrees_on_both_sides() -> None:
    server_cfg = early_server()
    session, _, _ = first_session(server_cfg)
    client, server = early_pair(server_cfg, session, b"x")
    a = client.export_early_keying_material(b"EXPORTER-test", b"ctx", 32)
    b = server.export_early_keying_material(b"EXPORTER-test", b"ctx", 32)
    assert a == b and len(a) == 32
    assert a != client.export_keying_material(b"EXPORTER-test", b"ctx", 32)


def test_replay_cache_fails_closed_when_full() -> None:
    cache = InMemoryReplayCache(max_entries=1)
    assert cache.claim(b"a", expires_at=200.0, now=100.0)
    assert not cache.claim(b"a", expires_at=200.0, now=100.0)
    assert not cache.claim(b"b", expires_at=200.0, now=100.0)
    assert cache.claim(b"b", expires_at=400.0, now=300.0)  # "a" expired


def test_early_data_keylog_line() -> None:
    lines: list[str] = []
    server_cfg = early_server()
    session, _, _ = first_session(server_cfg)
    early_pair(server_cfg, session, b"x", keylog=lines.append)
    labels = [line.split()[0] for line in lines]
    assert "CLIENT_EARLY_TRAFFIC_SECRET" in labels and "EARLY_EXPORTER_SECRET" in labels
