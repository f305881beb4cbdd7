"""KeyUpdate policy: automatic updates before the limits, and the peer flood limit."""

from __future__ import annotations

import pytest

from puretls.crypto.suites import suite_info
from puretls.enums import CipherSuite, KeyUpdateRequest
from puretls.errors import InternalError, UnexpectedMessage
from puretls.events import ApplicationData, KeyUpdated
from puretls.handshake.key_update import MAX_OWN_UPDATES, KeyUpdatePolicy, record_limit
from puretls.messages import KeyUpdate
from test_connection import client_config, connect, events, server_config


def test_aead_limits_follow_rfc_8446_5_5() -> None:
    gcm = suite_info(CipherSuite.TLS_AES_128_GCM_SHA256)
    chacha = suite_info(CipherSuite.TLS_CHACHA20_POLY1305_SHA256)
    assert gcm is not None and chacha is not None
    assert record_limit(gcm) == 2**24 < 2**24.5
    assert record_limit(chacha) > 2**60


def test_write_key_updates_every_n_records() -> None:
    client, server = connect(client_config(key_update_records=3), server_config())
    events(client)
    for _ in range(7):
        client.send_data(b"x")
    server.receive_data(client.data_to_send())
    got = events(server)
    assert sum(isinstance(e, KeyUpdated) and e.by_peer for e in got) == 2
    assert b"".join(e.data for e in got if isinstance(e, ApplicationData)) == b"x" * 7


def test_write_key_updates_after_n_bytes() -> None:
    client, server = connect(client_config(key_update_bytes=1000), server_config())
    client.send_data(b"y" * 5000)  # 16 KiB pieces: one per send
    client.send_data(b"z" * 10)
    server.receive_data(client.data_to_send())
    got = events(server)
    assert any(isinstance(e, KeyUpdated) and e.by_peer for e in got)
    assert (
        b"".join(e.data for e in got if isinstance(e, ApplicationData)) == b"y" * 5000 + b"z" * 10
    )


def test_update_requested_is_answered_and_data_still_flows() -> None:
    client, server = connect(client_config(), server_config())
    client.key_update(request_peer_update=True)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert any(isinstance(e, KeyUpdated) and e.by_peer for e in events(client))
    server.send_data(b"after")
    client.receive_data(server.data_to_send())
    assert [e.data for e in events(client) if isinstance(e, ApplicationData)] == [b"after"]


def test_too_many_peer_key_updates_in_a_row_is_unexpected_message() -> None:
    client, server = connect(client_config(), server_config(max_peer_key_updates=4))
    for _ in range(4):
        client.key_update(request_peer_update=False)
    server.receive_data(client.data_to_send())  # four in a row: allowed
    client.send_data(b"data resets the count")
    for _ in range(4):
        client.key_update(request_peer_update=False)
    server.receive_data(client.data_to_send())
    client.key_update(request_peer_update=False)
    with pytest.raises(UnexpectedMessage, match="KeyUpdates in a row"):
        server.receive_data(client.data_to_send())


def test_own_updates_stop_at_the_rfc_9846_epoch_limit() -> None:
    policy = KeyUpdatePolicy(client_config())
    policy.own_updates = MAX_OWN_UPDATES
    with pytest.raises(InternalError):
        policy.before_own_update()


def test_key_update_message_values() -> None:
    assert (
        KeyUpdate(request_update=KeyUpdateRequest.update_requested).encode() == b"\x18\0\0\x01\x01"
    )
