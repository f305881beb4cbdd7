"""session.py: ticket keys and rotation, the key file, states, the client cache, anti-replay."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.errors import DecodeError
from puretls.session import (
    ClientSession,
    ExternalPsk,
    InMemoryReplayCache,
    ResumptionState,
    SessionCache,
    TicketKey,
    TicketKeys,
    pack_resumption_state,
)

HOUR = 3600.0


def test_ticket_key_seals_and_opens_opaque_bytes() -> None:
    key = TicketKey.generate(os.urandom, 0.0)
    ticket = key.seal(b"any state, TLS 1.2 or 1.3", os.urandom)
    assert ticket[:16] == key.name
    assert key.open(ticket) == b"any state, TLS 1.2 or 1.3"


def test_ticket_key_rejects_tampering_and_other_keys() -> None:
    key = TicketKey.generate(os.urandom, 0.0)
    other = TicketKey.generate(os.urandom, 0.0)
    ticket = key.seal(b"state", os.urandom)
    assert other.open(ticket) is None
    flipped = ticket[:-1] + bytes([ticket[-1] ^ 1])
    assert key.open(flipped) is None
    assert key.open(b"short") is None
    assert "redacted" in repr(key) and key.key.hex() not in repr(key)


def test_rotation_keeps_old_keys_decrypting_until_they_retire() -> None:
    ring = TicketKeys(rotation_interval=HOUR, ticket_lifetime=2 * HOUR)
    old = ring.seal(b"old", 0.0, os.urandom)
    new = ring.seal(b"new", HOUR + 1, os.urandom)  # rotated: a second key encrypts
    assert len(ring.keys) == 2 and old[:16] != new[:16]
    assert ring.open(old, HOUR + 1) == b"old"
    assert ring.open(old, 3 * HOUR + 1) is None  # retired after interval + lifetime
    assert ring.open(new, 3 * HOUR + 1) == b"new"


def test_key_file_is_shared_by_processes(tmp_path: Path) -> None:
    ring = TicketKeys()
    ticket = ring.seal(b"fleet", 100.0, os.urandom)
    path = tmp_path / "ticket.keys"
    ring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other_process = TicketKeys.load(path)
    assert other_process.open(ticket, 200.0) == b"fleet"
    assert not other_process.rotate
    # The fleet's rotation job writes a new key; every process reloads.
    ring.rotate = True
    ring.current(100.0 + 13 * HOUR, os.urandom)
    ring.save(path)
    other_process.reload()
    assert len(other_process.keys) == 2
    assert other_process.seal(b"x", 0.0, os.urandom)[:16] == ring.keys[-1].name


def test_key_file_errors_are_precise() -> None:
    with pytest.raises(ValueError, match="line 2"):
        TicketKeys.from_text("# puretls ticket keys v1\nnot-hex zz 1\n")
    with pytest.raises(ValueError, match="no keys"):
        TicketKeys.from_text("# empty\n")


def test_keys_without_rotation_need_a_key() -> None:
    with pytest.raises(ValueError):
        TicketKeys(rotate=False).seal(b"x", 0.0, os.urandom)


states = st.builds(
    ResumptionState,
    cipher_suite=st.integers(0, 0xFFFF),
    psk=st.binary(min_size=32, max_size=64),
    issued_at_ms=st.integers(0, 2**63),
    ticket_age_add=st.integers(0, 2**32 - 1),
    lifetime=st.integers(0, 604800),
    max_early_data_size=st.integers(0, 2**32 - 1),
    server_name=st.none() | st.text(min_size=1, max_size=40),
    alpn_protocol=st.none() | st.text(min_size=1, max_size=20),
)


@given(states)
def test_resumption_state_round_trips(state: ResumptionState) -> None:
    assert ResumptionState.decode(state.encode()) == state
    assert state.psk.hex() not in repr(state)


@given(states)
def test_packing_the_fields_gives_the_state_encoding(state: ResumptionState) -> None:
    packed = pack_resumption_state(
        state.cipher_suite,
        state.psk,
        state.issued_at_ms,
        state.ticket_age_add,
        state.lifetime,
        state.max_early_data_size,
        (state.server_name or "").encode(),
        (state.alpn_protocol or "").encode(),
    )
    assert packed == state.encode()


def test_one_key_not_due_is_current_without_rotation() -> None:
    drawn: list[int] = []

    def rng(n: int) -> bytes:
        drawn.append(n)
        return os.urandom(n)

    ring = TicketKeys(rotation_interval=HOUR)
    first = ring.current(0.0, rng)
    assert drawn == [16, 32]  # name and key of the first key
    assert ring.current(HOUR - 1, rng) is first  # the lock-free path
    assert drawn == [16, 32]
    assert ring.current(HOUR, rng) is not first  # due: rotated under the lock
    assert len(ring.keys) == 2


def test_resumption_state_encoding_is_byte_exact() -> None:
    # The sealed layout servers of a fleet must agree on (version 1).
    state = ResumptionState(
        cipher_suite=0x1301,
        psk=bytes(range(32)),
        issued_at_ms=1_700_000_000_123,
        ticket_age_add=0xDEADBEEF,
        lifetime=7200,
        max_early_data_size=16384,
        server_name="example.com",
        alpn_protocol="h2",
    )
    fields = [
        "01",  # version
        "1301",  # cipher_suite
        "20" + bytes(range(32)).hex(),  # psk<1>
        "0000018bcfe5687b",  # issued_at_ms
        "deadbeef",  # ticket_age_add
        "00001c20",  # lifetime
        "00004000",  # max_early_data_size
        "000b" + b"example.com".hex(),  # server_name<2>
        "02" + b"h2".hex(),  # alpn_protocol<1>
    ]
    assert state.encode().hex() == "".join(fields)


def test_resumption_state_with_a_field_too_long_does_not_encode() -> None:
    fields = dict(
        cipher_suite=0x1301,
        psk=bytes(32),
        issued_at_ms=0,
        ticket_age_add=0,
        lifetime=0,
        max_early_data_size=0,
        server_name=None,
        alpn_protocol=None,
    )
    with pytest.raises(ValueError):
        ResumptionState(**{**fields, "alpn_protocol": "x" * 256}).encode()  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ResumptionState(**{**fields, "ticket_age_add": 1 << 32}).encode()  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_resumption_state_decoder_only_raises_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        ResumptionState.decode(data)


def session(received_at: float = 0.0, lifetime: int = 100) -> ClientSession:
    return ClientSession(
        cipher_suite=0x1301,
        psk=bytes(32),
        ticket=os.urandom(16),
        ticket_age_add=5,
        lifetime=lifetime,
        received_at=received_at,
    )


def test_obfuscated_age_adds_ticket_age_add_mod_2_32() -> None:
    s = session()
    s.ticket_age_add = 2**32 - 1
    assert s.obfuscated_age(2.0) == 1999
    assert s.expired(100.0) and not s.expired(99.9)


def test_cache_hands_each_ticket_out_once_per_host_and_port() -> None:
    cache = SessionCache()
    a, b = session(), session()
    cache.store("example.com", 443, a)
    cache.store("example.com", 443, b)
    assert cache.get("example.com", 8443, 1.0) is None
    assert cache.get("example.com", 443, 1.0) is b
    assert cache.get("example.com", 443, 1.0) is a
    assert cache.get("example.com", 443, 1.0) is None


def test_cache_drops_expired_sessions_and_can_allow_reuse() -> None:
    cache = SessionCache(reuse=True)
    cache.store("h", 1, session(lifetime=10))
    assert cache.get("h", 1, 5.0) is cache.get("h", 1, 5.0)
    assert cache.get("h", 1, 11.0) is None
    assert len(cache) == 0


def test_in_memory_replay_cache_claims_once_until_expiry() -> None:
    cache = InMemoryReplayCache()
    assert cache.claim(b"t", expires_at=10.0, now=0.0)
    assert not cache.claim(b"t", expires_at=10.0, now=5.0)
    assert cache.claim(b"t", expires_at=30.0, now=11.0)


def test_imported_psk_binds_protocol_and_hash() -> None:
    plain = ExternalPsk(identity=b"id", key=bytes(32))
    imported = ExternalPsk(identity=b"id", key=bytes(32), imported=True)
    imported384 = ExternalPsk(identity=b"id", key=bytes(32), imported=True, hash_name="sha384")
    assert plain.wire_identity() == b"id" and plain.derived_key() == bytes(32)
    # ImportedIdentity: identity, empty context, TLS 1.3, HKDF_SHA256.
    assert imported.wire_identity() == b"\x00\x02id\x00\x00\x03\x04\x00\x01"
    assert len(imported384.derived_key()) == 48
    assert imported.derived_key() != imported384.derived_key()[:32]
    assert "key=<redacted>" in repr(imported)
