"""TLS 1.2 in memory: the client12/server12 matrix, resumption and the negatives."""

from __future__ import annotations

import dataclasses

import pytest

from puretls.config import TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion
from puretls.errors import PeerAlert, TLSError
from puretls.events import ApplicationData, HandshakeComplete
from puretls.handshake.session12 import SessionCache12
from puretls.messages import ClientHello, HandshakeMessage, ServerHello
from test_connection import client_config, connect, events, failure, pump, server_config, server_key

TLS12 = ProtocolVersion.TLSv1_2
_C = CipherSuite
ECDSA_SUITES = [
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
]
RSA_SUITES = [
    _C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
]
RSA_KX = [_C.TLS_RSA_WITH_AES_128_GCM_SHA256, _C.TLS_RSA_WITH_AES_256_GCM_SHA384]
GROUPS = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1]


def tls12_client(**kw: object) -> TLSConfig:
    return client_config(max_version=TLS12, **kw)


def exchange(client: Connection, server: Connection) -> None:
    """Application data both ways, then both sides saw it."""
    events(client), events(server)
    client.send_data(b"ping")
    pump(client, server)
    assert events(server) == [ApplicationData(data=b"ping")]
    server.send_data(b"pong" * 5000)
    pump(client, server)
    assert b"".join(e.data for e in events(client) if isinstance(e, ApplicationData)) == (
        b"pong" * 5000
    )


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize(
    ("suite", "key_type"),
    [(s, "ecdsa-p256") for s in ECDSA_SUITES]
    + [(s, "rsa2048") for s in RSA_SUITES]
    + [(s, "rsa2048") for s in RSA_KX]
    + [(ECDSA_SUITES[0], "ecdsa-p384"), (ECDSA_SUITES[0], "ed25519")],
    ids=lambda v: v.name if isinstance(v, CipherSuite) else v,
)
def test_tls12_matrix_exchanges_data(suite: int, key_type: str, group: int, ems: bool) -> None:
    if not ems and (suite in RSA_KX or group != GROUPS[0]):
        pytest.skip("extended_master_secret off is covered once per suite")
    client_cfg = tls12_client(cipher_suites=(suite,), groups=(group,))
    server_cfg = server_config(
        certificates=(server_key(key_type),),
        cipher_suites=(suite,),
        require_extended_master_secret=ems,
    )
    if not ems:
        client_cfg = dataclasses.replace(
            client_cfg, require_extended_master_secret=False, message_hook=_drop_ems
        )
    client, server = connect(client_cfg, server_cfg)
    assert client.handshake_complete and server.handshake_complete
    for side in (client, server):
        assert side.negotiated.version == "TLSv1.2"
        assert side.negotiated.cipher_suite is not None
        assert side.negotiated.cipher_suite.suite == suite
        assert side.negotiated.extended_master_secret is ems
    if suite not in RSA_KX:
        assert client.negotiated.group == group
    exchange(client, server)
    label = b"EXPORTER-test"
    assert client.export_keying_material(label, b"ctx", 32) == server.export_keying_material(
        label, b"ctx", 32
    )


def _drop_ems(message: HandshakeMessage) -> HandshakeMessage:
    if isinstance(message, ClientHello):
        exts = tuple(e for e in message.extensions if e.ext_type != 23)
        return dataclasses.replace(message, extensions=exts)
    return message


def test_default_client_and_server_choose_tls13() -> None:
    client, server = connect(client_config(), server_config())
    assert client.negotiated.version == server.negotiated.version == "TLSv1.3"


def test_tls12_only_server_gets_tls12_from_default_client() -> None:
    client, server = connect(client_config(), server_config(max_version=TLS12))
    assert client.negotiated.version == server.negotiated.version == "TLSv1.2"
    assert client.negotiated.cipher_suite is not None
    assert client.negotiated.cipher_suite.openssl_name == "ECDHE-ECDSA-AES128-GCM-SHA256"
    exchange(client, server)


def test_tls13_server_downgraded_by_tls12_only_client_works() -> None:
    client, server = connect(tls12_client(), server_config())
    assert client.handshake_complete and server.handshake_complete
    assert client.negotiated.version == "TLSv1.2"


def _forge_tls12_hello(message: HandshakeMessage) -> HandshakeMessage:
    """An attacker strips TLS 1.3 from the client's offer."""
    if isinstance(message, ClientHello):
        exts = tuple(e for e in message.extensions if e.ext_type != 43)
        return dataclasses.replace(message, extensions=exts)
    return message


def test_forged_downgrade_is_detected_by_the_client() -> None:
    # The hook rewrites what the client sends, as an attacker on the path
    # would; the client itself still believes it offered TLS 1.3.
    client_cfg = client_config(message_hook=_forge_tls12_hello)
    local, peer, _client, _ = failure(client_cfg, server_config())
    assert local.alert == AlertDescription.illegal_parameter
    assert "downgrade sentinel" in local.message
    assert isinstance(peer, PeerAlert) and peer.description == AlertDescription.illegal_parameter


def test_tls12_server_random_has_no_sentinel_when_it_cannot_do_tls13() -> None:
    client, _server = connect(tls12_client(), server_config(max_version=TLS12))
    assert client.handshake_complete
    sent: list[ServerHello] = []

    def spy(message: HandshakeMessage) -> HandshakeMessage:
        if isinstance(message, ServerHello):
            sent.append(message)
        return message

    connect(tls12_client(), server_config(max_version=TLS12, message_hook=spy))
    assert sent and sent[0].random[-8:-1] != b"DOWNGRD"


def test_client_without_extended_master_secret_is_refused_by_default() -> None:
    client_cfg = tls12_client(require_extended_master_secret=False, message_hook=_drop_ems)
    local, _peer, _, _server = failure(client_cfg, server_config())
    assert local.alert == AlertDescription.handshake_failure
    assert "extended_master_secret" in local.message


def test_rsa_key_exchange_is_off_unless_named() -> None:
    client_cfg = tls12_client(cipher_suites=tuple(RSA_KX))
    local, _, _, _ = failure(client_cfg, server_config(certificates=(server_key("rsa2048"),)))
    assert local.alert == AlertDescription.handshake_failure


@pytest.mark.parametrize(
    "suites",
    [(0xC013, 0x002F, 0x0035, 0x000A), (0x0005, 0x0004)],
    ids=["cbc-only", "rc4-only"],
)
def test_cbc_or_rc4_only_client_hello_gets_handshake_failure(suites: tuple[int, ...]) -> None:
    def only_legacy(message: HandshakeMessage) -> HandshakeMessage:
        if isinstance(message, ClientHello):
            return dataclasses.replace(message, cipher_suites=suites)
        return message

    local, peer, _, _ = failure(tls12_client(message_hook=only_legacy), server_config())
    assert local.alert == AlertDescription.handshake_failure
    assert isinstance(peer, PeerAlert) and peer.description == AlertDescription.handshake_failure


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302], ids=["ssl3", "tls1.0", "tls1.1"])
def test_old_protocol_client_hello_gets_protocol_version(version: int) -> None:
    def old(message: HandshakeMessage) -> HandshakeMessage:
        if isinstance(message, ClientHello):
            return dataclasses.replace(message, legacy_version=version)
        return message

    local, peer, _, _ = failure(tls12_client(message_hook=old), server_config())
    assert local.alert == AlertDescription.protocol_version
    assert isinstance(peer, PeerAlert) and peer.description == AlertDescription.protocol_version


def test_fallback_scsv_is_refused_by_a_tls13_server() -> None:
    def fallback(message: HandshakeMessage) -> HandshakeMessage:
        if isinstance(message, ClientHello):
            suites = (*message.cipher_suites, _C.TLS_FALLBACK_SCSV)
            return dataclasses.replace(message, cipher_suites=suites)
        return message

    local, _, _, _ = failure(tls12_client(message_hook=fallback), server_config())
    assert local.alert == AlertDescription.inappropriate_fallback
    # A TLS 1.2-only server has nothing better to offer: it goes on.
    client, _ = connect(tls12_client(message_hook=fallback), server_config(max_version=TLS12))
    assert client.handshake_complete


def _renegotiation_client_hello(client: Connection) -> bytes:
    fresh = Connection(tls12_client())
    fresh.start_handshake()
    record = fresh.data_to_send()
    return record[5:]  # the ClientHello message itself


def test_client_renegotiation_attempt_gets_no_renegotiation_warning() -> None:
    client, server = connect(tls12_client(), server_config())
    # Send a second ClientHello inside the protected connection.
    client._flight += _renegotiation_client_hello(client)
    server.receive_data(client.data_to_send())
    alert = server.data_to_send()
    assert alert  # one protected warning alert; the connection goes on
    client.receive_data(alert)
    assert not client.closed and not server.closed
    exchange(client, server)


def test_hello_request_gets_no_renegotiation_warning() -> None:
    from puretls.messages import HelloRequest

    client, server = connect(tls12_client(), server_config())
    server.send_handshake(HelloRequest())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    assert not client.closed and not server.closed
    exchange(client, server)


def test_bad_rsa_pre_master_secret_gives_the_same_alert_as_a_wrong_one() -> None:
    """RFC 5246 7.4.7.1: padding errors look exactly like a wrong secret."""
    from puretls.messages import ClientKeyExchange

    def corrupt(how: str) -> TLSError:
        def hook(message: HandshakeMessage) -> HandshakeMessage:
            if isinstance(message, ClientKeyExchange):
                data = bytearray(message.encrypted_pre_master())
                if how == "garbage":
                    data = bytearray(b"\x01" * len(data))
                else:
                    data[-1] ^= 1
                return ClientKeyExchange.for_rsa(bytes(data))
            return message

        client_cfg = tls12_client(cipher_suites=(RSA_KX[0],), message_hook=hook)
        server_cfg = server_config(
            certificates=(server_key("rsa2048"),), cipher_suites=(RSA_KX[0],)
        )
        local, _, _, server = failure(client_cfg, server_cfg)
        assert server.error is local
        return local

    errors = [corrupt("garbage"), corrupt("flip")]
    assert {(type(e), e.alert) for e in errors} == {(type(errors[0]), errors[0].alert)}
    assert errors[0].alert == AlertDescription.bad_record_mac


def test_session_id_resumption() -> None:
    cache = SessionCache12(maxsize=4)
    # No tickets: RFC 5077 3.4 has a ticket-issuing server send no session ID.
    server_cfg = server_config(tls12_session_cache=cache, session_tickets=0)
    client, _server = connect(tls12_client(), server_cfg)
    session = client.negotiated.tls12_session
    assert session is not None and session.session_id and len(cache) == 1
    assert "master" not in repr(session).lower() or session.master_secret.hex() not in repr(session)
    client2, server2 = connect(tls12_client(tls12_session=session), server_cfg)
    assert client2.negotiated.session_resumed and server2.negotiated.session_resumed
    assert "Certificate12" not in client2.negotiated.messages
    exchange(client2, server2)
    # An unknown or expired session ID is a full handshake.
    server_cfg_late = dataclasses.replace(server_cfg, time=lambda: session.created + 10**6)
    client3, _ = connect(tls12_client(tls12_session=session), server_cfg_late)
    assert client3.handshake_complete and not client3.negotiated.session_resumed


def test_session_cache_is_bounded() -> None:
    cache = SessionCache12(maxsize=2)
    server_cfg = server_config(tls12_session_cache=cache, session_tickets=0)
    for _ in range(5):
        connect(tls12_client(), server_cfg)
    assert len(cache) == 2


def test_mutual_tls12_authentication() -> None:
    client_key = server_key("rsa2048", host="client.example")
    from puretls.verify import CertificateVerifier
    from test_connection import trust

    server_cfg = server_config(
        request_client_certificate=True,
        require_client_certificate=True,
        verifier=CertificateVerifier(trust()),
    )
    _client, server = connect(tls12_client(certificates=(client_key,)), server_cfg)
    assert server.handshake_complete
    assert server.negotiated.peer_certificates == client_key.chain
    local, _, _, _ = failure(tls12_client(), server_cfg)
    assert local.alert == AlertDescription.handshake_failure


def test_keylog_uses_client_random_lines() -> None:
    lines: list[str] = []
    client, _ = connect(tls12_client(keylog=lines.append), server_config())
    assert len(lines) == 1 and lines[0].startswith("CLIENT_RANDOM ")
    assert lines[0].split()[1] == client.negotiated.client_random.hex()


def test_tls13_only_client_refuses_a_tls12_server() -> None:
    local, _, _, _ = failure(
        client_config(min_version=ProtocolVersion.TLSv1_3), server_config(max_version=TLS12)
    )
    assert local.alert == AlertDescription.protocol_version


def test_handshake_complete_event_and_messages_for_tls12() -> None:
    client, _server = connect(tls12_client(), server_config())
    assert any(isinstance(e, HandshakeComplete) for e in events(client))
    assert client.negotiated.messages[:5] == [
        "ClientHello",
        "ServerHello",
        "Certificate12",
        "ServerKeyExchange",
        "ServerHelloDone",
    ]
