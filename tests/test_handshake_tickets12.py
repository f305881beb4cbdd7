"""RFC 5077 TLS 1.2 session tickets in memory: issue, resume, renew, and the fallbacks."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.config import TLSConfig
from puretls.enums import CipherSuite, ExtensionType, ProtocolVersion
from puretls.errors import DecodeError
from puretls.handshake import tickets12
from puretls.handshake.session12 import SessionCache12, TLS12Session
from puretls.messages import (
    ClientHello,
    HandshakeMessage,
    NewSessionTicket12,
    ServerHello,
    SessionTicket,
    find_extension,
)
from puretls.session import ResumptionState, TicketKeys
from puretls.verify import CertificateVerifier
from test_connection import client_config, connect, failure, server_config, server_key, trust
from test_handshake_tls12 import exchange

TLS12 = ProtocolVersion.TLSv1_2
_C = CipherSuite
_EMS = ExtensionType.extended_master_secret


def tls12_client(**kw: object) -> TLSConfig:
    return client_config(max_version=TLS12, **kw)


def first_session(server_cfg: TLSConfig, **client_kw: object) -> TLS12Session:
    client, server = connect(tls12_client(**client_kw), server_cfg)
    assert client.handshake_complete and server.handshake_complete
    session = client.negotiated.tls12_session
    assert session is not None
    return session


def _drop_ems(message: HandshakeMessage) -> HandshakeMessage:
    if isinstance(message, ClientHello):
        exts = tuple(e for e in message.extensions if e.ext_type != _EMS)
        return dataclasses.replace(message, extensions=exts)
    return message


class _Seen:
    """Records the hellos a side sends (through TLSConfig.message_hook)."""

    def __init__(self) -> None:
        self.messages: list[HandshakeMessage] = []

    def __call__(self, message: HandshakeMessage) -> HandshakeMessage:
        self.messages.append(message)
        return message

    def first(self, kind: type[HandshakeMessage]) -> HandshakeMessage:
        return next(m for m in self.messages if isinstance(m, kind))


def test_full_handshake_issues_a_ticket_before_change_cipher_spec() -> None:
    seen = _Seen()
    client, server = connect(tls12_client(), server_config(message_hook=seen))
    hello = seen.first(ServerHello)
    assert isinstance(hello, ServerHello)
    # RFC 5077 3.2 / 3.4: an empty session_ticket promises the ticket; no session ID.
    assert find_extension(hello.extensions, SessionTicket) == SessionTicket()
    assert hello.legacy_session_id_echo == b""
    # RFC 5077 3.3: NewSessionTicket is the last message before our Finished.
    assert server.negotiated.messages[-2:] == ["NewSessionTicket12", "Finished"]
    session = client.negotiated.tls12_session
    assert session is not None and session.ticket and session.session_id == b""
    assert session.lifetime == 7200


def test_puretls_peers_resume_by_ticket() -> None:
    server_cfg = server_config()
    session = first_session(server_cfg, alpn_protocols=(b"h2",))
    client, server = connect(tls12_client(tls12_session=session), server_cfg)
    assert client.negotiated.session_resumed and server.negotiated.session_resumed
    assert "Certificate12" not in client.negotiated.messages
    assert client.negotiated.version == server.negotiated.version == "TLSv1.2"
    assert server.negotiated.cipher_suite is not None
    assert server.negotiated.cipher_suite.suite == session.cipher_suite
    exchange(client, server)
    # RFC 5077 3.1: the resumed handshake renews the ticket.
    renewed = client.negotiated.tls12_session
    assert renewed is not None and renewed.ticket and renewed.ticket != session.ticket
    again, _ = connect(tls12_client(tls12_session=renewed), server_cfg)
    assert again.negotiated.session_resumed


def test_server_echoes_the_client_session_id_when_it_accepts_a_ticket() -> None:
    server_cfg = server_config()
    session = first_session(server_cfg)
    client_seen, server_seen = _Seen(), _Seen()
    connect(
        tls12_client(tls12_session=session, message_hook=client_seen),
        dataclasses.replace(server_cfg, message_hook=server_seen),
    )
    client_hello = client_seen.first(ClientHello)
    server_hello = server_seen.first(ServerHello)
    assert isinstance(client_hello, ClientHello) and isinstance(server_hello, ServerHello)
    # RFC 5077 3.4: a fresh ID from the client, echoed because the ticket was taken.
    assert len(client_hello.legacy_session_id) == 32
    assert server_hello.legacy_session_id_echo == client_hello.legacy_session_id
    sent = find_extension(client_hello.extensions, SessionTicket)
    assert sent is not None and sent.ticket == session.ticket


def test_servers_sharing_ticket_keys_resume_each_others_tickets() -> None:
    keys = TicketKeys()
    session = first_session(server_config(ticket_keys=keys))
    client, _ = connect(tls12_client(tls12_session=session), server_config(ticket_keys=keys))
    assert client.negotiated.session_resumed


def test_tls12_and_tls13_tickets_use_the_same_key_ring() -> None:
    keys = TicketKeys()
    server_cfg = server_config(ticket_keys=keys)
    connect(tls12_client(), server_cfg)
    connect(client_config(), server_cfg)
    assert len(keys.keys) == 1


def test_ticket_from_another_key_gets_a_full_handshake() -> None:
    session = first_session(server_config())
    client, server = connect(tls12_client(tls12_session=session), server_config())
    assert client.handshake_complete and not client.negotiated.session_resumed
    assert not server.negotiated.session_resumed
    assert "Certificate12" in client.negotiated.messages
    # ... and the client gets a new ticket for next time.
    fresh = client.negotiated.tls12_session
    assert fresh is not None and fresh.ticket and fresh.ticket != session.ticket


def test_expired_ticket_gets_a_full_handshake() -> None:
    server_cfg = server_config(ticket_lifetime=60)
    session = first_session(server_cfg)
    assert session.lifetime == 60
    late = dataclasses.replace(server_cfg, time=lambda: session.created + 61)
    client, _ = connect(tls12_client(tls12_session=session), late)
    assert client.handshake_complete and not client.negotiated.session_resumed


def test_renewed_ticket_keeps_the_original_issue_time() -> None:
    now = [1_700_000_000.0]
    server_cfg = server_config(ticket_lifetime=100, time=lambda: now[0])
    session = first_session(server_cfg)
    now[0] += 60
    client, _ = connect(tls12_client(tls12_session=session), server_cfg)
    renewed = client.negotiated.tls12_session
    assert client.negotiated.session_resumed and renewed is not None
    assert renewed.lifetime == 40  # what is left, never a fresh 100 seconds
    now[0] += 41
    late, _ = connect(tls12_client(tls12_session=renewed), server_cfg)
    assert not late.negotiated.session_resumed


def test_session_without_ems_is_not_resumed_by_a_client_with_ems() -> None:
    server_cfg = server_config(require_extended_master_secret=False)
    session = first_session(
        server_cfg, message_hook=_drop_ems, require_extended_master_secret=False
    )
    assert not session.extended_master_secret
    # RFC 7627 5.3: the server SHOULD continue with a full handshake.
    client, server = connect(tls12_client(tls12_session=session), server_cfg)
    assert client.handshake_complete and not server.negotiated.session_resumed
    assert server.negotiated.extended_master_secret


def test_session_with_ems_is_not_resumed_by_a_client_without_it() -> None:
    server_cfg = server_config(require_extended_master_secret=False)
    session = first_session(server_cfg)
    assert session.extended_master_secret
    # RFC 7627 5.3: the abbreviated handshake is aborted; a full one follows.
    client, server = connect(
        tls12_client(
            tls12_session=session, message_hook=_drop_ems, require_extended_master_secret=False
        ),
        server_cfg,
    )
    assert client.handshake_complete and not server.negotiated.session_resumed
    assert not server.negotiated.extended_master_secret
    # With the default policy that full handshake is refused.
    local, _, _, _ = failure(
        tls12_client(
            tls12_session=session, message_hook=_drop_ems, require_extended_master_secret=False
        ),
        server_config(ticket_keys=server_cfg.ticket_keys),
    )
    assert "extended_master_secret" in str(local)


def test_ticket_for_a_suite_no_longer_offered_gets_a_full_handshake() -> None:
    server_cfg = server_config()
    session = first_session(server_cfg, cipher_suites=(_C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,))
    other = (_C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,)
    client, _ = connect(tls12_client(tls12_session=session, cipher_suites=other), server_cfg)
    assert client.handshake_complete and not client.negotiated.session_resumed


def test_ticket_for_another_server_name_gets_a_full_handshake() -> None:
    server_cfg = server_config()
    # The server checks the SNI it sealed, not what the client remembers.
    session = first_session(server_cfg, server_name="other.example", verifier=None)
    client, server = connect(tls12_client(tls12_session=session), server_cfg)
    assert client.handshake_complete and not server.negotiated.session_resumed


def test_no_tickets_when_session_tickets_is_zero() -> None:
    client, server = connect(tls12_client(), server_config(session_tickets=0))
    assert "NewSessionTicket12" not in server.negotiated.messages
    assert client.negotiated.tls12_session is None  # no ticket, no cache, no ID


def test_a_ticket_is_used_instead_of_a_session_id() -> None:
    """RFC 5077 3.4: with a ticket present the cache is not consulted."""
    cache = SessionCache12()
    server_cfg = server_config(tls12_session_cache=cache)
    session = first_session(server_cfg)
    assert len(cache) == 0  # tickets issued: no session ID, nothing cached
    client, _ = connect(tls12_client(tls12_session=session), server_cfg)
    assert client.negotiated.session_resumed


def test_client_certificate_comes_back_with_the_ticket() -> None:
    client_key = server_key("rsa2048", host="client.example")
    server_cfg = server_config(
        request_client_certificate=True,
        require_client_certificate=True,
        verifier=CertificateVerifier(trust()),
    )
    session = first_session(server_cfg, certificates=(client_key,))
    client, server = connect(tls12_client(tls12_session=session), server_cfg)
    assert client.negotiated.session_resumed
    assert server.negotiated.peer_certificates == client_key.chain


def test_ticket_without_client_certificate_is_not_resumed_when_one_is_required() -> None:
    keys = TicketKeys()
    session = first_session(server_config(ticket_keys=keys))
    strict = server_config(
        ticket_keys=keys,
        request_client_certificate=True,
        require_client_certificate=True,
        verifier=CertificateVerifier(trust()),
    )
    local, _, _, _ = failure(tls12_client(tls12_session=session), strict)
    assert "certificate" in str(local)


def test_tls13_ticket_state_is_not_a_tls12_state() -> None:
    state = ResumptionState(
        cipher_suite=_C.TLS_AES_128_GCM_SHA256,
        psk=bytes(32),
        issued_at_ms=0,
        ticket_age_add=0,
        lifetime=7200,
        max_early_data_size=0,
        server_name=None,
        alpn_protocol=None,
    )
    with pytest.raises(DecodeError):
        tickets12.decode_state(state.encode(), b"")
    session = TLS12Session(
        session_id=b"",
        cipher_suite=_C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        master_secret=bytes(48),
        extended_master_secret=True,
        created=0,
    )
    with pytest.raises(DecodeError):
        ResumptionState.decode(tickets12.encode_state(session))


_names = st.none() | st.text(min_size=1, max_size=20)


@given(
    suite=st.integers(0, 0xFFFF),
    master=st.binary(min_size=48, max_size=48),
    ems=st.booleans(),
    created=st.integers(0, 2**40),
    lifetime=st.integers(0, 2**32 - 1),
    sni=_names,
    alpn=_names,
    certs=st.lists(st.binary(min_size=1, max_size=40), max_size=3),
    session_id=st.binary(max_size=32),
)
def test_ticket_state_round_trips(
    suite: int,
    master: bytes,
    ems: bool,
    created: int,
    lifetime: int,
    sni: str | None,
    alpn: str | None,
    certs: list[bytes],
    session_id: bytes,
) -> None:
    session = TLS12Session(
        session_id=session_id,
        cipher_suite=suite,
        master_secret=master,
        extended_master_secret=ems,
        created=float(created),
        peer_certificates=tuple(certs),
        alpn_protocol=alpn,
        server_name=sni,
        lifetime=lifetime,
    )
    assert tickets12.decode_state(tickets12.encode_state(session), session_id) == session


@given(st.binary(max_size=200))
def test_garbage_ticket_state_raises_only_decode_errors(data: bytes) -> None:
    try:
        tickets12.decode_state(b"\x03\x03" + data, b"")
    except DecodeError:
        return


def test_oversized_state_gets_an_empty_ticket() -> None:
    big = server_key("rsa2048", host="client.example")
    chain = (big.chain[0] * 1, *([b"\x30" + bytes(20000)] * 4))
    oversized = dataclasses.replace(big, chain=chain)
    session = TLS12Session(
        session_id=b"",
        cipher_suite=_C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        master_secret=bytes(48),
        extended_master_secret=True,
        created=0,
        peer_certificates=oversized.chain,
    )
    assert len(tickets12.encode_state(session)) > 0xFFFF
    sent: list[HandshakeMessage] = []

    class _IO:
        config = server_config(time=lambda: 10.0)

        def send_handshake(self, message: HandshakeMessage) -> bytes:
            sent.append(message)
            return message.encode()

    from puretls.transcript import Transcript

    transcript = Transcript()
    transcript.set_hash("sha256")
    tickets12.send_ticket(_IO(), transcript, session)  # type: ignore[arg-type]
    assert sent == [NewSessionTicket12(ticket_lifetime_hint=0, ticket=b"")]
