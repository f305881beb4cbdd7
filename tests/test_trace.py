"""puretls.trace: the trace of a connection, proved against RFC 8448.

RFC 8448 is replayed through traced client and server connections (the
replay technique of test_handshake_rfc8448.py): every secret the trace shows
must be the RFC's value and every message's bytes the RFC's bytes.  Then the
trace of in-memory handshakes (HelloRetryRequest, KeyUpdate, client
certificates, a failure) and the redaction promise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from puretls.config import CertifiedKey, TLSConfig
from puretls.connection import Connection
from puretls.enums import AlertDescription, CipherSuite, NamedGroup
from puretls.messages import ClientHello
from puretls.trace import (
    AlertEvent,
    KeyChangeEvent,
    MessageEvent,
    RecordEvent,
    StateEvent,
    TraceLog,
)
from test_connection import authority, client_config, connect, failure, server_config, server_key
from test_handshake_rfc8448 import (
    fixed_signature,  # noqa: F401  (a fixture)
    h,
    load,
    message,
    p256_rng_bytes,
    records,
    replace_with,
    rng_from,
    rsa_server_key,
)

# RFC 8448 vector key -> the name the trace gives that secret.
RFC_SECRET_NAMES = {
    "early_secret": "early_secret",
    "derived_secret_for_handshake": "derived(early_secret)",
    "handshake_secret": "handshake_secret",
    "client_handshake_traffic_secret": "client_handshake_traffic_secret",
    "server_handshake_traffic_secret": "server_handshake_traffic_secret",
    "derived_secret_for_master": "derived(handshake_secret)",
    "master_secret": "master_secret",
    "client_application_traffic_secret_0": "client_application_traffic_secret_0",
    "server_application_traffic_secret_0": "server_application_traffic_secret_0",
    "exporter_master_secret": "exporter_master_secret",
    "resumption_master_secret": "resumption_master_secret",
}
TRAFFIC_KEY_SECRETS = {
    "server_handshake": "server_handshake_traffic_secret",
    "client_handshake": "client_handshake_traffic_secret",
    "server_application": "server_application_traffic_secret_0",
    "client_application": "client_application_traffic_secret_0",
}


def secrets_by_name(log: TraceLog) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for event in log.secrets():
        assert event.value is not None
        assert out.setdefault(event.name, event.value) == event.value, event.name
    return out


def assert_secrets_match_rfc(log: TraceLog, v: dict[str, Any]) -> None:
    secrets = secrets_by_name(log)
    for rfc_key, name in RFC_SECRET_NAMES.items():
        assert secrets[name] == h(v["key_schedule"][rfc_key]), name
    for rfc_key, name in TRAFFIC_KEY_SECRETS.items():
        keys = v["traffic_keys"][rfc_key]
        assert secrets[f"key({name})"] == h(keys["key"]), name
        assert secrets[f"iv({name})"] == h(keys["iv"]), name
    for side in ("client", "server"):
        finished = v["finished"][side]
        name = f"finished_key({finished['base_key_is']})"
        assert secrets[name] == h(finished["finished_key"])


def assert_schedule_order(log: TraceLog) -> None:
    """The RFC 8446 7.1 order: Early, Handshake, Master; contexts named."""
    names = [e.name for e in log.secrets() if e.operation != "HKDF-Expand-Label"]
    assert names == [
        "early_secret",
        "derived(early_secret)",
        "handshake_secret",
        "client_handshake_traffic_secret",
        "server_handshake_traffic_secret",
        "derived(handshake_secret)",
        "master_secret",
        "client_application_traffic_secret_0",
        "server_application_traffic_secret_0",
        "exporter_master_secret",
        "resumption_master_secret",
    ]
    contexts = {e.name: dict(e.inputs)["Context"] for e in log.secrets() if e.label}
    assert contexts["client_handshake_traffic_secret"] == (
        "Transcript-Hash(ClientHello..ServerHello)"
    )
    assert contexts["exporter_master_secret"] == "Transcript-Hash(ClientHello..server Finished)"
    assert contexts["resumption_master_secret"] == "Transcript-Hash(ClientHello..client Finished)"
    assert contexts["derived(early_secret)"] == 'Transcript-Hash("")'


def test_rfc8448_section3_client_trace_shows_the_rfc_secrets_and_bytes() -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    kx = v["key_exchange"]
    log = TraceLog(reveal_secrets=True)
    client = Connection(
        TLSConfig(
            is_server=False,
            server_name="server",
            middlebox_compat=False,
            key_share_groups=(NamedGroup.x25519,),
            rng=rng_from(h(v["client_random"]), h(kx["client_private_key"])),
            message_hook=replace_with(message(v["handshake_messages"]["client_hello"])),
            tracer=log,
        )
    )
    client.start_handshake()
    ours, theirs = records(v, "client"), records(v, "server")
    assert client.data_to_send() == ours[0]
    client.receive_data(theirs[0] + theirs[1])
    assert client.data_to_send() == ours[1]
    client.receive_data(theirs[2] + theirs[3])
    assert_secrets_match_rfc(log, v)
    assert_schedule_order(log)
    msgs = v["handshake_messages"]
    expected = [
        ("sent", "ClientHello", msgs["client_hello"]),
        ("received", "ServerHello", msgs["server_hello"]),
        ("received", "EncryptedExtensions", msgs["encrypted_extensions"]),
        ("received", "Certificate", msgs["certificate"]),
        ("received", "CertificateVerify", msgs["certificate_verify"]),
        ("received", "Finished", msgs["server_finished"]),
        ("sent", "Finished", msgs["client_finished"]),
        ("received", "NewSessionTicket", v["new_session_ticket"]["message"]),
    ]
    assert [(m.direction, m.name, m.raw.hex()) for m in log.messages()] == expected
    # Records: the wire bytes are the RFC's, each with its key and sequence number.
    recs = log.records()
    assert [r.raw for r in recs if r.direction == "sent"] == ours[:2]
    assert [r.raw for r in recs if r.direction == "received"] == theirs[:4]
    assert [(r.key, r.sequence) for r in recs if r.direction == "received"] == [
        (None, None),
        ("server_handshake_traffic_secret", 0),
        ("server_application_traffic_secret_0", 0),
        ("server_application_traffic_secret_0", 1),
    ]
    # Revealed: the decryption of the encrypted flight is the four messages.
    flight = recs[2]
    assert flight.plaintext == h(
        msgs["encrypted_extensions"]
        + msgs["certificate"]
        + msgs["certificate_verify"]
        + msgs["server_finished"]
    )


def test_rfc8448_section3_server_trace_shows_the_rfc_secrets_and_bytes(
    fixed_signature: Callable[[bytes], None],  # noqa: F811
) -> None:
    v = load("rfc8448_section3_simple_1rtt.json")
    msgs = v["handshake_messages"]
    fixed_signature(h(v["certificate_verify_fields"]["signature"]))
    log = TraceLog(reveal_secrets=True)
    server = Connection(
        TLSConfig(
            is_server=True,
            certificates=(rsa_server_key(),),
            cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
            rng=rng_from(h(v["key_exchange"]["server_private_key"]), h(v["server_random"])),
            message_hook=replace_with(message(msgs["encrypted_extensions"])),
            session_tickets=0,  # the RFC's ticket is checked in test_handshake_rfc8448
            tracer=log,
        )
    )
    ours, theirs = records(v, "server"), records(v, "client")
    server.receive_data(theirs[0])
    assert server.data_to_send() == ours[0] + ours[1]
    server.receive_data(theirs[1])
    assert server.handshake_complete
    assert_secrets_match_rfc(log, v)
    assert_schedule_order(log)
    assert [(m.direction, m.raw.hex()) for m in log.messages()] == [
        ("received", msgs["client_hello"]),
        ("sent", msgs["server_hello"]),
        ("sent", msgs["encrypted_extensions"]),
        ("sent", msgs["certificate"]),
        ("sent", msgs["certificate_verify"]),
        ("sent", msgs["server_finished"]),
        ("received", msgs["client_finished"]),
    ]
    keys = [(e.direction, e.secret) for e in log.events if isinstance(e, KeyChangeEvent)]
    assert keys == [
        ("write", "server_handshake_traffic_secret"),
        ("write", "server_application_traffic_secret_0"),
        ("read", "client_handshake_traffic_secret"),
        ("read", "client_application_traffic_secret_0"),
    ]


def test_rfc8448_section5_trace_draws_the_hello_retry_request() -> None:
    v = load("rfc8448_section5_hello_retry_request.json")
    kx = v["key_exchange"]
    msgs = v["handshake_messages"]
    sent = iter([message(msgs["client_hello_1"]), message(msgs["client_hello_2"])])
    log = TraceLog(reveal_secrets=True)
    client = Connection(
        TLSConfig(
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
            tracer=log,
        )
    )
    client.start_handshake()
    ours, theirs = records(v, "client"), records(v, "server")
    assert client.data_to_send() == ours[0]
    client.receive_data(theirs[0])
    assert client.data_to_send() == ours[1]
    client.receive_data(theirs[1] + theirs[2])
    assert client.data_to_send() == ours[2]
    names = [m.name for m in log.messages()]
    assert names[:4] == ["ClientHello", "HelloRetryRequest", "ClientHello", "ServerHello"]
    secrets = secrets_by_name(log)
    for rfc_key, name in RFC_SECRET_NAMES.items():
        if rfc_key in v["key_schedule"]:
            assert secrets[name] == h(v["key_schedule"][rfc_key]), name
    hs = next(e for e in log.secrets() if e.name == "client_handshake_traffic_secret")
    # RFC 8446 4.4.1: the hash runs over message_hash(ClientHello1), HRR, ....
    assert dict(hs.inputs)["Context"] == "Transcript-Hash(ClientHello..ServerHello)"
    hrr = log.messages()[1]
    assert any("HelloRetryRequest" in f.value for f in hrr.fields if f.name == "random")


def test_trace_redacts_secrets_unless_asked() -> None:
    log = TraceLog()
    client, server = connect(client_config(tracer=log), server_config())
    client.send_data(b"attack at dawn")
    server.receive_data(client.data_to_send())
    assert log.secrets() and all(e.value is None for e in log.secrets())
    changes = [e for e in log.events if isinstance(e, KeyChangeEvent)]
    assert changes and all(e.key is None and e.iv is None for e in changes)
    protected = [r for r in log.records() if r.key is not None]
    assert protected and all(r.plaintext is None for r in protected)
    assert all(b"attack at dawn" not in repr(e).encode() for e in log.events)
    # Plaintext records keep their content: it crossed the wire in clear.
    assert log.records()[0].plaintext == log.messages()[0].raw


def test_revealed_trace_never_puts_secrets_in_reprs() -> None:
    log = TraceLog(reveal_secrets=True)
    connect(client_config(tracer=log), server_config())
    for event in log.secrets():
        assert event.value is not None and event.value.hex() not in repr(event)


def test_tracing_does_not_change_the_bytes_on_the_wire() -> None:
    def run(traced: bool) -> list[bytes]:
        counter = iter(range(1000))

        def rng(n: int) -> bytes:
            return bytes([next(counter) % 251 + 1]) * n

        wire = []
        tracer = TraceLog() if traced else None
        client = Connection(client_config(rng=rng, tracer=tracer))
        # Ed25519 signatures are deterministic (RFC 8032), unlike ECDSA's.
        # A fixed clock too: the issue time is sealed into the session tickets.
        server = Connection(
            server_config(rng=rng, certificates=(server_key("ed25519"),), time=lambda: 1e9)
        )
        client.start_handshake()
        for sender, receiver in [(client, server), (server, client)] * 3:
            if data := sender.data_to_send():
                wire.append(data)
                receiver.receive_data(data)
        return wire

    assert run(traced=True) == run(traced=False)


def test_trace_shows_key_update_as_the_next_generation_of_secrets() -> None:
    log = TraceLog(reveal_secrets=True)
    client, server = connect(client_config(tracer=log), server_config())
    client.key_update(request_peer_update=True)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    updates = [e for e in log.secrets() if e.label == "traffic upd"]
    assert [e.name for e in updates] == [
        "client_application_traffic_secret_1",
        "server_application_traffic_secret_1",
    ]
    assert [m.name for m in log.messages()][-2:] == ["KeyUpdate", "KeyUpdate"]
    key_update = log.messages()[-2]
    assert key_update.key == "client_application_traffic_secret_0"
    assert any(f.value == "update_requested" for f in key_update.fields)


def test_trace_of_client_authentication_names_both_certificates() -> None:
    leaf = authority().issue(["client"], key_type="ed25519")
    client_key = CertifiedKey(tuple(leaf.chain_der()), leaf.private_key)
    log = TraceLog()
    _, server = connect(
        client_config(certificates=(client_key,)),
        server_config(request_client_certificate=True, tracer=log),
    )
    assert server.handshake_complete
    flow = [(m.direction, m.name) for m in log.messages()]
    assert ("sent", "CertificateRequest") in flow
    assert flow[-5:] == [
        ("received", "Certificate"),
        ("received", "CertificateVerify"),
        ("received", "Finished"),
        ("sent", "NewSessionTicket"),
        ("sent", "NewSessionTicket"),
    ]
    cert = log.messages()[-5]
    certs = next(f for f in cert.fields if f.name == "certificate_list")
    leaf_data = certs.children[0].children[0]
    assert leaf_data.name == "cert_data" and "subject CN=client" in leaf_data.value


def test_trace_records_alerts_and_state_changes() -> None:
    log = TraceLog()
    failure(
        client_config(tracer=log, cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)),
        server_config(cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,)),
    )
    alerts = [e for e in log.events if isinstance(e, AlertEvent)]
    assert alerts == [
        AlertEvent(direction="received", level=2, description=AlertDescription.handshake_failure)
    ]
    states = [e for e in log.events if isinstance(e, StateEvent)]
    assert states[0] == StateEvent(old="Start", new="ExpectServerHello")


def test_message_fields_carry_byte_ranges_inside_the_message() -> None:
    log = TraceLog()
    connect(client_config(tracer=log, alpn_protocols=(b"h2",)), server_config())
    for event in log.messages():
        assert isinstance(event, MessageEvent)
        end = 0
        for f in event.fields:
            assert f.start is not None and f.end is not None
            assert f.start == end, (event.name, f.name)  # contiguous, in order
            end = f.end
        assert end == len(event.raw), event.name
    hello = log.messages()[0].fields
    exts = {c.name: c.value for c in next(f for f in hello if f.name == "extensions").children}
    assert exts["server_name"] == "localhost"
    assert exts["application_layer_protocol_negotiation"] == "h2"
    assert "x25519" in exts["supported_groups"]
    assert exts["supported_versions"] == "TLSv1_3, TLSv1_2"


def test_record_events_count_sequence_numbers_per_key() -> None:
    log = TraceLog()
    client, server = connect(client_config(), server_config(tracer=log))
    for i in range(3):
        client.send_data(b"x" * i + b"y")
    server.receive_data(client.data_to_send())
    app = [r for r in log.records() if r.direction == "received" and r.content_type == 23]
    assert [(r.key, r.sequence) for r in app] == [
        ("client_application_traffic_secret_0", 0),
        ("client_application_traffic_secret_0", 1),
        ("client_application_traffic_secret_0", 2),
    ]
    assert all(isinstance(r, RecordEvent) and r.length == len(r.raw) - 5 for r in app)


def test_untraced_connection_has_no_tracer() -> None:
    conn = Connection(TLSConfig(is_server=True, certificates=(server_key(),)))
    assert conn._trace is None and conn._records.observer is None


def test_trace_of_a_tls12_handshake_names_its_keys_and_messages() -> None:
    from puretls.enums import ProtocolVersion

    log = TraceLog(reveal_secrets=True)
    client, _ = connect(
        client_config(tracer=log, max_version=ProtocolVersion.TLSv1_2), server_config()
    )
    assert client.handshake_complete and client.negotiated.version == "TLSv1.2"
    names = [m.name for m in log.messages()]
    assert names[0] == "ClientHello" and "ServerHelloDone" in "".join(names)
    assert names[-1] == "Finished"
    assert [e.name for e in log.secrets()] == ["master_secret"]
    protected = [r for r in log.records() if r.sequence is not None]
    assert protected and {r.key for r in protected} == {"client_write_key", "server_write_key"}
