"""In-memory client/server pairs: the handshake matrix and the failure cases.

Each failure test checks both sides of the promise: the local error names
what went wrong, and the peer receives the matching alert.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import pytest

from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription, CipherSuite, NamedGroup
from puretls.errors import (
    BadRecordMac,
    ConnectionClosed,
    PeerAlert,
    TLSError,
    UnexpectedEOF,
    UnexpectedMessage,
)
from puretls.events import ApplicationData, CloseNotify, HandshakeComplete, KeyUpdated
from puretls.testing import CertificateAuthority
from puretls.verify import CertificateVerifier, TrustStore

SUITES = [
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
]
GROUPS = [
    NamedGroup.x25519,
    NamedGroup.x448,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
    NamedGroup.secp521r1,
]
KEY_TYPES = ["ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "ed448"]


@functools.cache
def authority() -> CertificateAuthority:
    return CertificateAuthority()


@functools.cache
def server_key(key_type: str = "ecdsa-p256", host: str = "localhost") -> CertifiedKey:
    leaf = authority().issue([host], key_type=key_type)
    return CertifiedKey(tuple(leaf.chain_der()), leaf.private_key)


def trust(ca: CertificateAuthority | None = None) -> TrustStore:
    store = TrustStore()
    store.add_pem((ca or authority()).cert_pem())
    return store


def client_config(**kw: object) -> TLSConfig:
    options: dict[str, object] = {
        "server_name": "localhost",
        "verifier": CertificateVerifier(trust()),
    }
    options.update(kw)
    return TLSConfig(is_server=False, **options)  # type: ignore[arg-type]


def server_config(**kw: object) -> TLSConfig:
    options: dict[str, object] = {"certificates": (server_key(),)}
    options.update(kw)
    return TLSConfig(is_server=True, **options)  # type: ignore[arg-type]


def pump(client: Connection, server: Connection, rounds: int = 6) -> None:
    """Move bytes both ways until neither side has anything to say."""
    for _ in range(rounds):
        moved = False
        if data := client.data_to_send():
            server.receive_data(data)
            moved = True
        if data := server.data_to_send():
            client.receive_data(data)
            moved = True
        if not moved:
            return


def connect(client_cfg: TLSConfig, server_cfg: TLSConfig) -> tuple[Connection, Connection]:
    client, server = Connection(client_cfg), Connection(server_cfg)
    client.start_handshake()
    pump(client, server)
    return client, server


def events(conn: Connection) -> list[object]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


def failure(
    client_cfg: TLSConfig, server_cfg: TLSConfig
) -> tuple[TLSError, TLSError | None, Connection, Connection]:
    """Run a handshake that must fail; return (local error, peer's error)."""
    client, server = Connection(client_cfg), Connection(server_cfg)
    client.start_handshake()
    first: TLSError | None = None
    second: TLSError | None = None
    for _ in range(6):
        for sender, receiver in ((client, server), (server, client)):
            data = sender.data_to_send()
            if not data:
                continue
            try:
                receiver.receive_data(data)
            except TLSError as exc:
                if first is None:
                    first = exc
                    # Deliver the alert the failing side queued.
                    try:
                        sender.receive_data(receiver.data_to_send())
                    except TLSError as peer_exc:
                        second = peer_exc
                    assert first is not None
                    return first, second, client, server
    raise AssertionError("handshake did not fail")


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_handshake_matrix_exchanges_data(suite: int, group: int, key_type: str) -> None:
    client, server = connect(
        client_config(cipher_suites=(suite,), groups=(group,)),
        server_config(certificates=(server_key(key_type),)),
    )
    assert client.handshake_complete and server.handshake_complete
    assert client.negotiated.cipher_suite is not None
    assert client.negotiated.cipher_suite.suite == suite
    assert client.negotiated.group == group == server.negotiated.group
    assert client.negotiated.signature_scheme == server.negotiated.signature_scheme
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    assert [e for e in events(server) if isinstance(e, ApplicationData)] == [
        ApplicationData(data=b"ping")
    ]
    server.send_data(b"pong" * 10000)  # several records
    client.receive_data(server.data_to_send())
    received = b"".join(e.data for e in events(client) if isinstance(e, ApplicationData))
    assert received == b"pong" * 10000


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_hello_retry_request_when_client_share_is_not_acceptable(group: int) -> None:
    other = NamedGroup.x448 if group != NamedGroup.x448 else NamedGroup.x25519
    client, server = connect(
        client_config(groups=(other, group), key_share_groups=(other,)),
        server_config(groups=(group,)),
    )
    assert client.handshake_complete and server.handshake_complete
    assert client.negotiated.hello_retry_request and server.negotiated.hello_retry_request
    assert client.negotiated.group == group
    assert client.negotiated.messages[:4] == [
        "ClientHello",
        "HelloRetryRequest",
        "ClientHello",
        "ServerHello",
    ]


@pytest.mark.parametrize("middlebox", [True, False])
def test_middlebox_compatibility_mode_both_ways(middlebox: bool) -> None:
    client, server = connect(client_config(middlebox_compat=middlebox), server_config())
    assert client.handshake_complete and server.handshake_complete


def test_alpn_server_preference_wins() -> None:
    client, server = connect(
        client_config(alpn_protocols=(b"http/1.1", b"h2")),
        server_config(alpn_protocols=(b"h2", b"http/1.1")),
    )
    assert client.negotiated.alpn_protocol == "h2" == server.negotiated.alpn_protocol
    assert events(client)[0] == HandshakeComplete(alpn_protocol="h2")


def test_alpn_mismatch_is_no_application_protocol() -> None:
    err, peer, _, _ = failure(
        client_config(alpn_protocols=(b"h2",)), server_config(alpn_protocols=(b"spdy/3",))
    )
    assert err.alert == AlertDescription.no_application_protocol
    assert "no ALPN protocol in common" in err.message
    assert isinstance(peer, PeerAlert) and peer.description == err.alert


def test_wrong_hostname_is_rejected_with_names() -> None:
    err, peer, client, _ = failure(client_config(server_name="example.com"), server_config())
    assert "example.com" in err.message and "localhost" in err.message
    assert isinstance(peer, PeerAlert) and peer.description == err.alert
    assert client.closed


def test_untrusted_ca_is_unknown_ca() -> None:
    stranger = CertificateAuthority(common_name="Stranger CA")
    err, peer, _, _ = failure(
        client_config(verifier=CertificateVerifier(trust(stranger))), server_config()
    )
    assert err.alert == AlertDescription.unknown_ca
    assert isinstance(peer, PeerAlert) and peer.description == AlertDescription.unknown_ca


def test_expired_certificate_is_certificate_expired() -> None:
    now = datetime.now(timezone.utc)
    leaf = authority().issue(
        ["localhost"], not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    expired = CertifiedKey(tuple(leaf.chain_der()), leaf.private_key)
    err, peer, _, _ = failure(client_config(), server_config(certificates=(expired,)))
    assert err.alert == AlertDescription.certificate_expired
    assert "expired" in err.message
    assert isinstance(peer, PeerAlert)


def test_no_common_suite_is_handshake_failure() -> None:
    err, peer, _, _ = failure(
        client_config(cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)),
        server_config(cipher_suites=(CipherSuite.TLS_CHACHA20_POLY1305_SHA256,)),
    )
    assert err.alert == AlertDescription.handshake_failure
    assert "cipher suite" in err.message
    assert isinstance(peer, PeerAlert) and peer.description == AlertDescription.handshake_failure


def test_no_common_group_is_handshake_failure() -> None:
    err, _, _, _ = failure(
        client_config(groups=(NamedGroup.x25519,)), server_config(groups=(NamedGroup.secp384r1,))
    )
    assert err.alert == AlertDescription.handshake_failure
    assert "group" in err.message


def test_tampered_record_is_bad_record_mac() -> None:
    client, server = connect(client_config(), server_config())
    client.send_data(b"secret")
    record = bytearray(client.data_to_send())
    record[-1] ^= 1
    with pytest.raises(BadRecordMac):
        server.receive_data(bytes(record))
    with pytest.raises(PeerAlert) as alert:
        client.receive_data(server.data_to_send())
    assert alert.value.description == AlertDescription.bad_record_mac
    assert server.closed and client.closed


def test_truncated_handshake_is_unexpected_eof() -> None:
    client = Connection(client_config())
    server = Connection(server_config())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    client.receive_data(flight[: len(flight) // 2])
    with pytest.raises(UnexpectedEOF):
        client.receive_data(b"")
    assert client.data_to_send() == b""  # nothing is sent for an EOF


def test_garbage_instead_of_client_hello() -> None:
    server = Connection(server_config())
    with pytest.raises(TLSError) as err:
        server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert "not a TLS record" in err.value.message
    assert server.closed
    # Exactly one alert, then nothing more.
    alert = server.data_to_send()
    assert alert[:1] == b"\x15" and len(alert) == 7
    with pytest.raises(ConnectionClosed):
        server.receive_data(b"\x16\x03\x01")
    assert server.data_to_send() == b""


def test_second_change_cipher_spec_is_unexpected_message() -> None:
    client = Connection(client_config())
    server = Connection(server_config())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    server.data_to_send()
    ccs = b"\x14\x03\x03\x00\x01\x01"
    server.receive_data(ccs)  # the one allowed dummy is dropped
    with pytest.raises(UnexpectedMessage):
        server.receive_data(ccs)


def test_change_cipher_spec_before_client_hello_is_unexpected() -> None:
    server = Connection(server_config())
    with pytest.raises(UnexpectedMessage):
        server.receive_data(b"\x14\x03\x03\x00\x01\x01")


def test_key_update_both_directions_keeps_data_flowing() -> None:
    client, server = connect(client_config(), server_config())
    events(client), events(server)
    client.key_update(request_peer_update=True)
    pump(client, server)
    assert KeyUpdated(by_peer=True) in events(server)
    server.send_data(b"after")
    client.receive_data(server.data_to_send())
    assert ApplicationData(data=b"after") in events(client)
    client.send_data(b"also")
    server.receive_data(client.data_to_send())
    assert ApplicationData(data=b"also") in events(server)


def test_close_notify_half_close() -> None:
    client, server = connect(client_config(), server_config())
    client.close()
    server.receive_data(client.data_to_send())
    assert CloseNotify() in events(server)
    assert server.peer_closed and not server.closed
    server.send_data(b"last words")  # the other half is still open
    server.close()
    client.receive_data(server.data_to_send())
    got = events(client)
    assert ApplicationData(data=b"last words") in got and CloseNotify() in got
    assert client.closed and server.closed
    with pytest.raises(ConnectionClosed):
        client.send_data(b"x")


def test_application_data_before_handshake_is_refused() -> None:
    client = Connection(client_config())
    with pytest.raises(UnexpectedMessage):
        client.send_data(b"too early")


def test_exporter_agrees_on_both_sides() -> None:
    client, server = connect(client_config(), server_config())
    a = client.export_keying_material(b"EXPERIMENTAL test", b"ctx", 32)
    b = server.export_keying_material(b"EXPERIMENTAL test", b"ctx", 32)
    assert a == b and len(a) == 32


def test_keylog_lines_are_nss_format() -> None:
    lines: list[str] = []
    connect(client_config(keylog=lines.append), server_config())
    labels = [line.split()[0] for line in lines]
    assert labels == [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    ]
    assert all(len(line.split()[1]) == 64 for line in lines)


def test_unverified_client_still_checks_the_signature() -> None:
    client, _server = connect(client_config(verifier=None), server_config())
    assert client.handshake_complete
    assert client.negotiated.verified_chain is None
    assert client.negotiated.peer_certificates


def test_mutual_tls_with_required_client_certificate() -> None:
    leaf = authority().issue(["client"], client=True, server=False)
    client_key = CertifiedKey(tuple(leaf.chain_der()), leaf.private_key)
    client, server = connect(
        client_config(certificates=(client_key,)),
        server_config(
            request_client_certificate=True,
            require_client_certificate=True,
            verifier=CertificateVerifier(trust(), purpose="client"),
        ),
    )
    assert server.handshake_complete and client.handshake_complete
    assert server.negotiated.peer_certificates == client_key.chain


def test_missing_required_client_certificate_is_certificate_required() -> None:
    err, peer, _, _ = failure(
        client_config(),
        server_config(request_client_certificate=True, require_client_certificate=True),
    )
    assert err.alert == AlertDescription.certificate_required
    assert isinstance(peer, PeerAlert)


def test_server_ignores_thousands_of_unknown_extensions_and_values() -> None:
    """Unknown groups, suites, schemes and extensions are skipped, never chosen."""
    from dataclasses import replace

    from puretls.messages import ClientHello, HandshakeMessage, UnknownExtension

    def bloat(message: HandshakeMessage) -> HandshakeMessage:
        if not isinstance(message, ClientHello):
            return message
        junk = tuple(
            UnknownExtension(ext_type=0x4000 + i, data=bytes([i % 256]) * 3) for i in range(1000)
        )
        return replace(
            message,
            cipher_suites=(0x0A0A, 0x1337, *message.cipher_suites),
            extensions=junk + message.extensions,
        )

    # Above the default max_extensions (256), which is there to bound the cost.
    client, server = connect(client_config(message_hook=bloat), server_config(max_extensions=2000))
    assert client.handshake_complete and server.handshake_complete


def test_fragmented_client_hello_over_many_records() -> None:
    client = Connection(client_config())
    server = Connection(server_config())
    client.start_handshake()
    record = client.data_to_send()
    body = record[5:]
    # Re-frame the ClientHello as one record per 7 bytes.
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    stream = b"".join(b"\x16\x03\x01" + len(p).to_bytes(2, "big") + p for p in pieces)
    server.receive_data(stream)
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    assert server.handshake_complete


def test_oversized_handshake_message_is_refused() -> None:
    server = Connection(server_config(max_handshake_message_size=1024))
    header = b"\x01\x00\x10\x00"  # a ClientHello claiming 4096 bytes
    with pytest.raises(TLSError) as err:
        server.receive_data(b"\x16\x03\x01\x00\x04" + header)
    assert "1024" in err.value.message


def test_unrequested_certificate_entry_extension_is_unsupported_extension() -> None:
    from dataclasses import replace

    from puretls.messages import Certificate, HandshakeMessage, StatusRequest

    def staple(message: HandshakeMessage) -> HandshakeMessage:
        if not isinstance(message, Certificate):
            return message
        leaf = replace(
            message.certificate_list[0], extensions=(StatusRequest(ocsp_response=b"\x30\x00"),)
        )
        return replace(message, certificate_list=(leaf, *message.certificate_list[1:]))

    err, peer, _, _ = failure(client_config(), server_config(message_hook=staple))
    assert err.alert == AlertDescription.unsupported_extension
    assert isinstance(peer, PeerAlert)


def test_unrequested_encrypted_extension_is_unsupported_extension() -> None:
    from dataclasses import replace

    from puretls.messages import ALPN, EncryptedExtensions, HandshakeMessage

    def answer_alpn(message: HandshakeMessage) -> HandshakeMessage:
        if not isinstance(message, EncryptedExtensions):
            return message
        return replace(message, extensions=(*message.extensions, ALPN(protocols=(b"h2",))))

    # The client offered no ALPN (RFC 8446 4.2: only offered extensions may be answered).
    err, peer, _, _ = failure(client_config(), server_config(message_hook=answer_alpn))
    assert err.alert == AlertDescription.unsupported_extension
    assert "EncryptedExtensions carries extension application_layer_protocol_negotiation" in str(
        err
    )
    assert isinstance(peer, PeerAlert)


# -- the bulk data path ------------------------------------------------------


def test_records_received_together_arrive_as_one_application_data_event() -> None:
    client, server = connect(client_config(), server_config())
    events(client), events(server)
    data = bytes(range(256)) * 300  # five records
    client.send_data(data)
    client.send_data(b"tail")
    server.receive_data(client.data_to_send())
    assert events(server) == [ApplicationData(data=data + b"tail")]


def test_receive_data_does_not_keep_the_callers_buffer() -> None:
    client, server = connect(client_config(), server_config())
    events(client), events(server)
    data = bytes(range(256)) * 300
    client.send_data(data)
    wire = client.data_to_send()
    buffer = bytearray(wire[:30000])  # cuts the second record
    server.receive_data(buffer)
    buffer[:] = bytes(len(buffer))  # the caller reuses its buffer
    server.receive_data(memoryview(bytearray(wire[30000:])))
    assert b"".join(e.data for e in events(server) if isinstance(e, ApplicationData)) == data


def test_key_update_between_records_keeps_the_event_order() -> None:
    client, server = connect(client_config(), server_config())
    events(client), events(server)
    client.send_data(b"before")
    client.key_update(request_peer_update=False)
    client.send_data(b"after")
    server.receive_data(client.data_to_send())
    assert events(server) == [
        ApplicationData(data=b"before"),
        KeyUpdated(by_peer=True),
        ApplicationData(data=b"after"),
    ]


def test_data_before_close_notify_is_delivered_first() -> None:
    client, server = connect(client_config(), server_config())
    events(client), events(server)
    client.send_data(b"last words")
    client.close()
    server.receive_data(client.data_to_send())
    assert events(server) == [ApplicationData(data=b"last words"), CloseNotify()]


def test_a_large_write_still_updates_keys_at_the_configured_record_count() -> None:
    client, server = connect(client_config(key_update_records=3), server_config())
    events(client), events(server)
    data = bytes(range(256)) * 64 * 7  # seven full records
    client.send_data(data)
    server.receive_data(client.data_to_send())
    got = events(server)
    assert sum(isinstance(e, KeyUpdated) for e in got) == 2
    assert b"".join(e.data for e in got if isinstance(e, ApplicationData)) == data


def test_take_events_hands_over_what_next_event_would_in_order() -> None:
    client, server = connect(client_config(), server_config())
    taken = server.take_events()
    assert isinstance(taken[0], HandshakeComplete)
    assert server.take_events() == [] and server.next_event() is None
    client.send_data(b"one")
    client.close()
    server.receive_data(client.data_to_send())
    assert server.take_events() == [ApplicationData(data=b"one"), CloseNotify()]
    assert server.next_event() is None


def test_an_empty_take_is_not_the_connections_own_list() -> None:
    client, server = connect(client_config(), server_config())
    server.take_events()
    empty = server.take_events()
    client.send_data(b"later")
    server.receive_data(client.data_to_send())
    assert empty == []  # what came after is not slipped into an earlier answer
    assert server.take_events() == [ApplicationData(data=b"later")]
