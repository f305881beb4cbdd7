"""RFC 8448 replayed through the client and server state machines.

Randomness is injected (the RFC's randoms and ephemeral keys), the RFC's
exact ClientHello / EncryptedExtensions are supplied through
``TLSConfig.message_hook`` where the RFC's peer chose extensions we would
not send, and RSA-PSS signing (randomised) is replaced by the RFC's
signature.  Every record we produce must then equal the RFC's bytes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import CipherSuite, NamedGroup
from puretls.events import ApplicationData, CloseNotify, HandshakeComplete
from puretls.handshake import server13
from puretls.messages import (
    ClientHello,
    EncryptedExtensions,
    HandshakeMessage,
    HelloRetryRequest,
    NewSessionTicket,
    PreSharedKey,
    decode_handshake,
)
from puretls.session import ClientSession, ResumptionState

VECTORS = Path(__file__).parent / "vectors"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def rng_from(*chunks: bytes) -> Callable[[int], bytes]:
    """An injected rng that hands out the given byte strings in order."""
    queue: Iterator[bytes] = iter(chunks)

    def rng(n: int) -> bytes:
        chunk = next(queue)
        assert len(chunk) == n, f"rng asked for {n} bytes, vector has {len(chunk)}"
        return chunk

    return rng


def p256_rng_bytes(private_hex: str) -> bytes:
    """rng output that makes generate_key_exchange pick this P-256 scalar.

    NIST keys draw 40 bytes b and use int(b) mod (n - 1) + 1, so b = k - 1.
    """
    return (int(private_hex, 16) - 1).to_bytes(40, "big")


def message(hex_message: str) -> HandshakeMessage:
    raw = h(hex_message)
    return decode_handshake(raw[0], raw[4:])


def replace_with(*messages: HandshakeMessage) -> Callable[[HandshakeMessage], HandshakeMessage]:
    """A message_hook that sends the RFC's message in place of ours, by type."""
    by_type = {type(m): m for m in messages}

    def hook(ours: HandshakeMessage) -> HandshakeMessage:
        return by_type.get(type(ours), ours)

    return hook


def records(vector: dict[str, Any], sender: str) -> list[bytes]:
    return [h(r["record"]) for r in vector["records"] if r["sender"] == sender]


def rsa_server_key() -> CertifiedKey:
    key_vector = load("rfc8448_section2_rsa_key.json")
    key = load_pem_private_key(key_vector["computed"]["private_key_pkcs8_pem"].encode(), None)
    return CertifiedKey((h(key_vector["certificate_der"]),), key)  # type: ignore[arg-type]


@pytest.fixture
def fixed_signature(monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes], None]:
    """RSA-PSS is randomised: sign with the RFC's signature instead."""

    def install(signature: bytes) -> None:
        monkeypatch.setattr(server13, "sign", lambda scheme, key, data: signature)

    return install


def drain(conn: Connection) -> list[object]:
    events = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    return events


def test_section3_client_replay_is_byte_exact() -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    kx = v["key_exchange"]
    config = TLSConfig(
        is_server=False,
        server_name="server",
        middlebox_compat=False,
        key_share_groups=(NamedGroup.x25519,),
        rng=rng_from(h(v["client_random"]), h(kx["client_private_key"])),
        message_hook=replace_with(message(v["handshake_messages"]["client_hello"])),
    )
    client = Connection(config)
    client.start_handshake()
    ours = records(v, "client")
    theirs = records(v, "server")
    assert client.data_to_send() == ours[0]  # ClientHello
    client.receive_data(theirs[0] + theirs[1])  # ServerHello, encrypted flight
    assert client.handshake_complete
    assert client.data_to_send() == ours[1]  # client Finished
    client.receive_data(theirs[2] + theirs[3])  # NewSessionTicket, application data
    events = drain(client)
    assert isinstance(events[0], HandshakeComplete)
    data = [e.data for e in events if isinstance(e, ApplicationData)]
    assert data == [h(v["records"][6]["payload"])]
    client.send_data(h(v["records"][5]["payload"]))
    assert client.data_to_send() == ours[2]  # application data
    client.close()
    assert client.data_to_send() == ours[3]  # close_notify
    client.receive_data(theirs[4])
    assert any(isinstance(e, CloseNotify) for e in drain(client))
    assert client.closed


def rfc_ticket_hook(
    ticket: bytes, *replacements: HandshakeMessage
) -> Callable[[HandshakeMessage], HandshakeMessage]:
    """Send the RFC's ticket bytes in our NewSessionTicket; every other field is ours."""
    replace = replace_with(*replacements)

    def hook(ours: HandshakeMessage) -> HandshakeMessage:
        if isinstance(ours, NewSessionTicket):
            return dataclasses.replace(ours, ticket=ticket)
        return replace(ours)

    return hook


def test_section3_server_replay_is_byte_exact(fixed_signature: Callable[[bytes], None]) -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    msgs = v["handshake_messages"]
    nst = v["new_session_ticket"]
    fixed_signature(h(v["certificate_verify_fields"]["signature"]))
    config = TLSConfig(
        is_server=True,
        certificates=(rsa_server_key(),),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        rng=rng_from(
            h(v["key_exchange"]["server_private_key"]),
            h(v["server_random"]),
            h(nst["ticket_age_add"]),
            bytes(16),  # our ticket key's name, key and AEAD nonce; the ticket
            bytes(32),  # bytes themselves are the RFC's (through the hook)
            bytes(12),
        ),
        session_tickets=1,
        ticket_lifetime=nst["ticket_lifetime"],
        max_early_data_size=nst["early_data_max_early_data_size"],
        message_hook=rfc_ticket_hook(h(nst["ticket"]), message(msgs["encrypted_extensions"])),
    )
    server = Connection(config)
    ours = records(v, "server")
    theirs = records(v, "client")
    server.receive_data(theirs[0])
    assert server.data_to_send() == ours[0] + ours[1]  # ServerHello + encrypted flight
    server.receive_data(theirs[1])  # client Finished
    assert server.handshake_complete
    assert server.data_to_send() == ours[2]  # NewSessionTicket: lifetime, age_add, nonce
    server.receive_data(theirs[2])  # application data
    server.send_data(h(v["records"][6]["payload"]))
    assert server.data_to_send() == ours[3]
    server.receive_data(theirs[3])  # close_notify
    events = drain(server)
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [
        h(v["records"][5]["payload"])
    ]
    assert isinstance(events[-1], CloseNotify)
    server.close()
    assert server.data_to_send() == ours[4]


class RFCTicketKeys:
    """Opens the RFC's section 3 ticket to the state our server would have sealed."""

    def __init__(self, ticket: bytes, state: ResumptionState) -> None:
        self.ticket = ticket
        self.state = state

    def seal(self, state: bytes, now: float, rng: Callable[[int], bytes]) -> bytes:
        raise AssertionError("the section 4 server issues no tickets")

    def open(self, ticket: bytes, now: float) -> bytes | None:
        return self.state.encode() if ticket == self.ticket else None


def section4_session(now: float) -> tuple[bytes, ResumptionState, ClientSession]:
    v3 = load("rfc8448_section3_simple_1rtt.json")
    v = load("rfc8448_section4_resumed_0rtt.json")
    nst = v3["new_session_ticket"]
    ticket = h(nst["ticket"])
    psk = h(v3["key_schedule"]["resumption_psk"])
    assert psk == h(v["key_schedule"]["psk"])
    age_add = int(nst["ticket_age_add"], 16)
    hello = message(v["handshake_messages"]["client_hello"])
    assert isinstance(hello, ClientHello) and isinstance(hello.extensions[-1], PreSharedKey)
    client_age_ms = (hello.extensions[-1].identities[0].obfuscated_ticket_age - age_add) % 2**32
    state = ResumptionState(
        cipher_suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        psk=psk,
        issued_at_ms=int(now * 1000) - client_age_ms,
        ticket_age_add=age_add,
        lifetime=nst["ticket_lifetime"],
        max_early_data_size=nst["early_data_max_early_data_size"],
        server_name="server",
        alpn_protocol=None,
    )
    session = ClientSession(
        cipher_suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        psk=psk,
        ticket=ticket,
        ticket_age_add=age_add,
        lifetime=nst["ticket_lifetime"],
        received_at=now - client_age_ms / 1000,
        max_early_data_size=nst["early_data_max_early_data_size"],
        server_name="server",
    )
    return ticket, state, session


NOW = 1_700_000_000.0


def test_section4_client_replay_with_early_data_is_byte_exact() -> None:
    v = load("rfc8448_section4_resumed_0rtt.json")
    rfc_hello = message(v["handshake_messages"]["client_hello"])
    assert isinstance(rfc_hello, ClientHello)
    _, _, session = section4_session(NOW)

    def hello_hook(ours: HandshakeMessage) -> HandshakeMessage:
        # The RFC's ClientHello with *our* binders: the record only matches
        # when our binder over the RFC's truncated ClientHello is right.
        if isinstance(ours, ClientHello):
            psk = ours.extensions[-1]
            assert isinstance(psk, PreSharedKey)
            return rfc_hello.with_binders(psk.binders)
        return ours

    config = TLSConfig(
        is_server=False,
        server_name="server",
        middlebox_compat=False,
        key_share_groups=(NamedGroup.x25519,),
        rng=rng_from(h(v["client_random"]), h(v["key_exchange"]["client_private_key"])),
        time=lambda: NOW,
        session=session,
        early_data=True,
        message_hook=hello_hook,
    )
    client = Connection(config)
    ours = records(v, "client")
    theirs = records(v, "server")
    client.start_handshake()
    assert client.data_to_send() == ours[0]  # ClientHello with the RFC's binder
    client.send_early_data(h(v["records"][1]["payload"]))
    assert client.data_to_send() == ours[1]  # 0-RTT application data
    client.receive_data(theirs[0] + theirs[1])  # ServerHello, EncryptedExtensions + Finished
    assert client.handshake_complete and client.early_data_accepted
    assert client.negotiated.session_resumed
    assert client.data_to_send() == ours[2] + ours[3]  # EndOfEarlyData, Finished
    client.send_data(h(v["records"][6]["payload"]))
    assert client.data_to_send() == ours[4]
    client.receive_data(theirs[2])
    data = [e.data for e in drain(client) if isinstance(e, ApplicationData)]
    assert data == [h(v["records"][7]["payload"])]
    client.close()
    assert client.data_to_send() == ours[5]


def test_section4_server_replay_with_early_data_is_byte_exact() -> None:
    v = load("rfc8448_section4_resumed_0rtt.json")
    ticket, state, _ = section4_session(NOW)
    config = TLSConfig(
        is_server=True,
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        rng=rng_from(h(v["key_exchange"]["server_private_key"]), h(v["server_random"])),
        time=lambda: NOW,
        ticket_keys=RFCTicketKeys(ticket, state),
        max_early_data_size=state.max_early_data_size,
        session_tickets=0,
        message_hook=replace_with(message(v["handshake_messages"]["encrypted_extensions"])),
    )
    server = Connection(config)
    ours = records(v, "server")
    theirs = records(v, "client")
    server.receive_data(theirs[0] + theirs[1])  # ClientHello, 0-RTT data
    assert server.data_to_send() == ours[0] + ours[1]
    assert server.early_data_accepted and server.negotiated.session_resumed
    early = [e for e in drain(server) if isinstance(e, ApplicationData)]
    assert early == [ApplicationData(data=h(v["records"][1]["payload"]), early=True)]
    server.receive_data(theirs[2] + theirs[3])  # EndOfEarlyData, Finished
    assert server.handshake_complete
    server.receive_data(theirs[4])
    late = [e for e in drain(server) if isinstance(e, ApplicationData)]
    assert late == [ApplicationData(data=h(v["records"][6]["payload"]))]
    server.send_data(h(v["records"][7]["payload"]))
    assert server.data_to_send() == ours[2]
    server.receive_data(theirs[5])
    server.close()
    assert server.data_to_send() == ours[3]


def test_section5_client_replay_with_hello_retry_request() -> None:
    v = load("rfc8448_section5_hello_retry_request.json")
    kx = v["key_exchange"]
    msgs = v["handshake_messages"]
    hello1 = message(msgs["client_hello_1"])
    hello2 = message(msgs["client_hello_2"])
    assert isinstance(hello1, ClientHello) and isinstance(hello2, ClientHello)
    sent = iter([hello1, hello2])
    config = TLSConfig(
        is_server=False,
        server_name="server",
        middlebox_compat=False,
        key_share_groups=(NamedGroup.x25519,),
        rng=rng_from(
            h(v["client_random"]),
            h(kx["first_client_x25519_private_key"]),
            p256_rng_bytes(kx["client_private_key"]),
        ),
        message_hook=lambda m: next(sent) if isinstance(m, ClientHello) else m,
    )
    client = Connection(config)
    client.start_handshake()
    ours = records(v, "client")
    theirs = records(v, "server")
    assert client.data_to_send() == ours[0]
    client.receive_data(theirs[0])  # HelloRetryRequest
    assert client.data_to_send() == ours[1]  # second ClientHello, P-256 share, cookie
    client.receive_data(theirs[1] + theirs[2])
    assert client.handshake_complete and client.negotiated.hello_retry_request
    assert client.data_to_send() == ours[2]  # Finished
    client.close()
    assert client.data_to_send() == ours[3]


def test_section5_server_replay_with_hello_retry_request(
    fixed_signature: Callable[[bytes], None],
) -> None:
    v = load("rfc8448_section5_hello_retry_request.json")
    msgs = v["handshake_messages"]
    fixed_signature(h(v["certificate_verify_fields"]["signature"]))
    hrr = message(msgs["hello_retry_request"])
    assert isinstance(hrr, HelloRetryRequest)
    ee = message(msgs["encrypted_extensions"])
    assert isinstance(ee, EncryptedExtensions)
    config = TLSConfig(
        is_server=True,
        certificates=(rsa_server_key(),),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        # The RFC's server wants P-256 although the client sent x25519.
        groups=(NamedGroup.secp256r1,),
        rng=rng_from(
            bytes(32),  # our cookie, replaced by the RFC's through the hook
            p256_rng_bytes(v["key_exchange"]["server_private_key"]),
            h(v["server_random"]),
        ),
        message_hook=replace_with(hrr, ee),
        session_tickets=0,  # the RFC's section 5 server sends none
    )
    server = Connection(config)
    ours = records(v, "server")
    theirs = records(v, "client")
    server.receive_data(theirs[0])
    assert server.data_to_send() == ours[0]  # HelloRetryRequest
    server.receive_data(theirs[1])
    assert server.data_to_send() == ours[1] + ours[2]
    server.receive_data(theirs[2])
    assert server.handshake_complete
    server.receive_data(theirs[3])
    assert isinstance(drain(server)[-1], CloseNotify)
