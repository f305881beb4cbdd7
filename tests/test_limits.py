"""Each resource limit: the default lets real peers through, crossing it gives
the documented alert, and the connection drops what it held."""

from __future__ import annotations

from dataclasses import replace

import pytest

from puretls.config import CertifiedKey, TLSConfig
from puretls.enums import AlertDescription
from puretls.errors import (
    CertificateError,
    DecodeError,
    IllegalParameter,
    PeerAlert,
    TLSError,
    UnexpectedMessage,
)
from puretls.limits import LimitGuard
from puretls.messages import (
    Certificate,
    CertificateEntry,
    ClientHello,
    HandshakeMessage,
    KeyShare,
    KeyShareEntry,
    UnknownExtension,
)
from robustness_helpers import (
    Conversation,
    CountingConnection,
    authority,
    client_config,
    client_key,
    server_config,
    split_records,
)


def handshake_failure(
    client_cfg: TLSConfig, server_cfg: TLSConfig
) -> tuple[TLSError, CountingConnection, CountingConnection]:
    conv = Conversation.start(client_cfg, server_cfg)
    for _ in range(50):
        try:
            if not conv.step():
                break
        except TLSError as exc:
            return exc, conv.client, conv.server
    raise AssertionError("handshake did not fail")


def test_defaults_are_documented_values() -> None:
    cfg = TLSConfig(is_server=True)
    assert cfg.max_handshake_message_size == 1 << 16
    assert cfg.max_handshake_fragments == 1024
    assert cfg.max_certificate_chain_length == 16
    assert cfg.max_certificate_chain_size == 1 << 16
    assert cfg.max_extensions == 256
    assert cfg.max_key_shares == 16
    assert cfg.max_peer_key_updates == 32  # puretls.handshake.key_update
    assert cfg.max_early_data_skip == 1 << 16


def test_too_many_extensions_is_decode_error() -> None:
    def bloat(message: HandshakeMessage) -> HandshakeMessage:
        if not isinstance(message, ClientHello):
            return message
        junk = tuple(UnknownExtension(ext_type=0x4000 + i, data=b"") for i in range(40))
        return replace(message, extensions=junk + message.extensions)

    err, _client, server = handshake_failure(
        client_config(message_hook=bloat), server_config(max_extensions=32)
    )
    assert isinstance(err, DecodeError)
    assert "max_extensions" in err.message
    assert server.alerts_sent == [(2, AlertDescription.decode_error)]


def test_certificate_entry_extensions_count_against_max_extensions() -> None:
    # RFC 8446 4.4.2: each CertificateEntry carries its own extensions; a
    # Certificate message is limited by their total.
    junk = tuple(UnknownExtension(ext_type=0x4000 + i, data=b"") for i in range(20))
    entries = (CertificateEntry(cert_data=b"a", extensions=junk),) * 2
    guard = LimitGuard(TLSConfig(is_server=True, max_extensions=32))
    guard.check_message(Certificate(certificate_list=entries[:1]))
    with pytest.raises(DecodeError, match=r"Certificate carries 40 extensions.*max_extensions"):
        guard.check_message(Certificate(certificate_list=entries))


def _many_shares(count: int) -> object:
    def hook(message: HandshakeMessage) -> HandshakeMessage:
        if not isinstance(message, ClientHello):
            return message
        extra = tuple(
            KeyShareEntry(group=0x7A7A + i, key_exchange=b"\x01" * 32) for i in range(count)
        )
        extensions = tuple(
            replace(ext, client_shares=ext.client_shares + extra)
            if isinstance(ext, KeyShare)
            else ext
            for ext in message.extensions
        )
        return replace(message, extensions=extensions)

    return hook


def test_too_many_key_shares_is_illegal_parameter() -> None:
    err, _client, server = handshake_failure(
        client_config(message_hook=_many_shares(20)), server_config()
    )
    assert isinstance(err, IllegalParameter)
    assert "max_key_shares" in err.message
    assert server.alerts_sent == [(2, AlertDescription.illegal_parameter)]


def _long_chain(length: int) -> CertifiedKey:
    leaf = client_key()
    # The leaf repeated: the limit is checked before any verification.
    return CertifiedKey(leaf.chain * length, leaf.private_key)


def test_too_long_certificate_chain_is_bad_certificate() -> None:
    server_cfg = server_config(certificates=(_long_chain(20),))
    err, client, _server = handshake_failure(client_config(), server_cfg)
    assert isinstance(err, CertificateError)
    assert "max_certificate_chain_length" in err.message
    assert client.alerts_sent == [(2, AlertDescription.bad_certificate)]


def test_too_large_certificate_chain_is_bad_certificate() -> None:
    chain = _long_chain(3)
    size = sum(len(der) for der in chain.chain)
    err, client, _server = handshake_failure(
        client_config(max_certificate_chain_size=size - 1),
        server_config(certificates=(chain,)),
    )
    assert isinstance(err, CertificateError)
    assert "max_certificate_chain_size" in err.message
    assert client.alerts_sent == [(2, AlertDescription.bad_certificate)]


def test_server_limits_client_certificate_chain_too() -> None:
    err, _client, server = handshake_failure(
        client_config(certificates=(_long_chain(5),)),
        server_config(request_client_certificate=True, max_certificate_chain_length=4),
    )
    assert isinstance(err, (CertificateError, PeerAlert))
    assert server.alerts_sent[-1] == (2, AlertDescription.bad_certificate)


def test_handshake_message_in_too_many_records_is_unexpected_message() -> None:
    client = CountingConnection(client_config())
    client.start_handshake()
    (record,) = split_records(client.data_to_send())
    body = record[5:]
    server = CountingConnection(server_config(max_handshake_fragments=10))
    stream = b"".join(b"\x16\x03\x01\x00\x01" + body[i : i + 1] for i in range(40))
    with pytest.raises(UnexpectedMessage) as err:
        server.receive_data(stream)
    assert "max_handshake_fragments" in err.value.message
    assert server.alerts_sent == [(2, AlertDescription.unexpected_message)]
    assert server._reassembler.buffered == 0


def test_default_fragment_limit_allows_small_records() -> None:
    client = CountingConnection(client_config())
    client.start_handshake()
    (record,) = split_records(client.data_to_send())
    body = record[5:]
    server = CountingConnection(server_config())
    server.receive_data(
        b"".join(b"\x16\x03\x01\x00\x01" + body[i : i + 1] for i in range(len(body)))
    )
    assert server.data_to_send()  # the whole server flight
    assert server.error is None


def test_defaults_accept_a_normal_handshake_and_client_auth() -> None:
    conv = Conversation.start(
        client_config(certificates=(client_key(),)),
        server_config(request_client_certificate=True),
    )
    conv.run()
    assert conv.server.handshake_complete and conv.server.error is None
    assert authority() is not None


def test_client_keeps_only_the_latest_session_tickets() -> None:
    """A server may send any number of tickets; the client keeps the last 8."""
    conv = Conversation.start(client_config(), server_config(session_tickets=50), scripted=False)
    conv.run()
    negotiated = conv.client.negotiated
    assert conv.client.error is None
    assert len(negotiated.session_tickets) == 8
    assert len(negotiated.sessions) == 8
    tickets = [
        event
        for event in _events(conv.client)
        if type(event).__name__ == "NewSessionTicketReceived"
    ]
    assert len(tickets) == 50
    assert negotiated.session_tickets[-1].ticket == tickets[-1].ticket


def _events(conn: CountingConnection) -> list[object]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


def test_keep_recent_drops_the_oldest() -> None:
    from puretls.limits import keep_recent

    items = list(range(10))
    keep_recent(items, 3)
    assert items == [7, 8, 9]
    keep_recent(items, 5)
    assert items == [7, 8, 9]
