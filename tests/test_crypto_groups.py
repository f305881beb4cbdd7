"""Key exchange groups: RFC 8448 shares, agreement, and rejecting bad peer shares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.crypto.groups import (
    SUPPORTED_GROUPS,
    KeyExchange,
    generate_key_exchange,
    is_supported_group,
    key_exchange_from_private_bytes,
    validate_key_share_length,
)
from puretls.enums import AlertDescription, NamedGroup
from puretls.errors import IllegalParameter, InternalError

VECTORS = Path(__file__).parent / "vectors"

SHARE_LENGTHS = {
    NamedGroup.x25519: 32,
    NamedGroup.x448: 56,
    NamedGroup.secp256r1: 65,
    NamedGroup.secp384r1: 97,
    NamedGroup.secp521r1: 133,
}


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def counter_rng(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic rng: SHA-256 in counter mode over ``seed``."""
    state = {"n": 0}

    def rng(n: int) -> bytes:
        out = b""
        while len(out) < n:
            state["n"] += 1
            out += hashlib.sha256(seed + state["n"].to_bytes(4, "big")).digest()
        return out[:n]

    return rng


def _vector_pair(vector: dict[str, Any]) -> tuple[KeyExchange, KeyExchange]:
    kx = vector["key_exchange"]
    group = NamedGroup[kx["group"]]
    client = key_exchange_from_private_bytes(group, h(kx["client_private_key"]))
    server = key_exchange_from_private_bytes(group, h(kx["server_private_key"]))
    return client, server


@pytest.mark.parametrize(
    "name",
    [
        "rfc8448_section3_simple_1rtt.json",
        "rfc8448_section4_resumed_0rtt.json",
        "rfc8448_section5_hello_retry_request.json",
        "rfc8448_section6_client_authentication.json",
        "rfc8448_section7_compatibility_mode.json",
        "illustrated_tls13.json",
    ],
)
def test_vector_key_shares_and_shared_secret(name: str) -> None:
    vector = load(name)
    kx = vector["key_exchange"]
    client, server = _vector_pair(vector)
    assert client.public_bytes() == h(kx["client_public_key"])
    assert server.public_bytes() == h(kx["server_public_key"])
    assert client.exchange(server.public_bytes()) == h(kx["shared_secret"])
    assert server.exchange(client.public_bytes()) == h(kx["shared_secret"])


def test_rfc8448_section5_p256_is_an_uncompressed_point_and_x_coordinate() -> None:
    vector = load("rfc8448_section5_hello_retry_request.json")
    client, server = _vector_pair(vector)
    assert client.group is NamedGroup.secp256r1
    assert client.public_bytes()[0] == 4
    assert len(client.public_bytes()) == 65
    assert len(client.exchange(server.public_bytes())) == 32


def test_rfc8448_section5_first_x25519_share() -> None:
    kx = load("rfc8448_section5_hello_retry_request.json")["key_exchange"]
    first = key_exchange_from_private_bytes(
        NamedGroup.x25519, h(kx["first_client_x25519_private_key"])
    )
    assert first.public_bytes() == h(kx["first_client_x25519_public_key"])


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
def test_generated_pairs_agree(group: NamedGroup) -> None:
    client = generate_key_exchange(group, counter_rng(b"client"))
    server = generate_key_exchange(group, counter_rng(b"server"))
    assert client.group is group
    assert len(client.public_bytes()) == SHARE_LENGTHS[group]
    assert validate_key_share_length(group, client.public_bytes())
    secret = client.exchange(server.public_bytes())
    assert secret == server.exchange(client.public_bytes())
    assert any(secret)


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
def test_generation_is_deterministic_in_the_rng(group: NamedGroup) -> None:
    a = generate_key_exchange(group, counter_rng(b"same"))
    b = generate_key_exchange(group, counter_rng(b"same"))
    c = generate_key_exchange(group, counter_rng(b"other"))
    assert a.public_bytes() == b.public_bytes()
    assert a.public_bytes() != c.public_bytes()


def _constant_rng(fill: bytes) -> Callable[[int], bytes]:
    return lambda n: fill * n


def test_nist_private_scalar_stays_in_range_for_extreme_random() -> None:
    for fill in (b"\x00", b"\xff"):
        for group in (NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.secp521r1):
            kx = generate_key_exchange(group, _constant_rng(fill))
            peer = generate_key_exchange(group, counter_rng(b"peer"))
            assert kx.exchange(peer.public_bytes()) == peer.exchange(kx.public_bytes())


def test_x25519_private_key_comes_from_rng_bytes() -> None:
    private = bytes(range(32))
    generated = generate_key_exchange(NamedGroup.x25519, lambda n: private[:n])
    known = key_exchange_from_private_bytes(NamedGroup.x25519, private)
    assert generated.public_bytes() == known.public_bytes()


# --- Invalid peer shares: IllegalParameter naming the group -----------------


def _assert_illegal(kx: KeyExchange, share: bytes) -> None:
    with pytest.raises(IllegalParameter) as info:
        kx.exchange(share)
    assert info.value.alert is AlertDescription.illegal_parameter
    assert kx.group.name in info.value.message


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
def test_wrong_length_share_is_rejected(group: NamedGroup) -> None:
    kx = generate_key_exchange(group, counter_rng(b"k"))
    peer = generate_key_exchange(group, counter_rng(b"p")).public_bytes()
    for share in (b"", peer[:-1], peer + b"\x00"):
        _assert_illegal(kx, share)


@pytest.mark.parametrize("group", [NamedGroup.x25519, NamedGroup.x448])
def test_low_order_montgomery_points_are_rejected(group: NamedGroup) -> None:
    kx = generate_key_exchange(group, counter_rng(b"k"))
    size = SHARE_LENGTHS[group]
    # 0 and 1 are small-order u-coordinates on both curves: the result is all zero.
    for u in (0, 1):
        _assert_illegal(kx, u.to_bytes(size, "little"))


@pytest.mark.parametrize(
    "group", [NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.secp521r1]
)
def test_nist_point_off_the_curve_is_rejected(group: NamedGroup) -> None:
    kx = generate_key_exchange(group, counter_rng(b"k"))
    good = bytearray(generate_key_exchange(group, counter_rng(b"p")).public_bytes())
    good[-1] ^= 1  # flip a bit of Y: no longer on the curve
    _assert_illegal(kx, bytes(good))
    _assert_illegal(kx, b"\x04" + bytes(SHARE_LENGTHS[group] - 1))  # (0, 0)


@pytest.mark.parametrize(
    "group", [NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.secp521r1]
)
def test_nist_compressed_or_hybrid_point_is_rejected(group: NamedGroup) -> None:
    kx = generate_key_exchange(group, counter_rng(b"k"))
    good = generate_key_exchange(group, counter_rng(b"p")).public_bytes()
    coordinate = (len(good) - 1) // 2
    compressed = bytes((2 + good[-1] % 2,)) + good[1 : 1 + coordinate]
    _assert_illegal(kx, compressed)
    for prefix in (0x02, 0x03, 0x06, 0x07):
        _assert_illegal(kx, bytes((prefix,)) + good[1:])


@pytest.mark.parametrize("group", SUPPORTED_GROUPS)
@given(share=st.binary(max_size=140))
def test_arbitrary_share_gives_secret_or_illegal_parameter(group: NamedGroup, share: bytes) -> None:
    kx = key_exchange_from_private_bytes(group, bytes(range(1, 1 + _private_length(group))))
    try:
        secret = kx.exchange(share)
    except IllegalParameter:
        return
    assert len(secret) in (32, 56, 48, 66)


def _private_length(group: NamedGroup) -> int:
    return {NamedGroup.x448: 56, NamedGroup.secp521r1: 66, NamedGroup.secp384r1: 48}.get(group, 32)


# --- Registry helpers --------------------------------------------------------


def test_supported_groups_preference_order() -> None:
    expected = (
        NamedGroup.x25519,
        NamedGroup.secp256r1,
        NamedGroup.x448,
        NamedGroup.secp384r1,
        NamedGroup.secp521r1,
    )
    assert expected == SUPPORTED_GROUPS
    assert is_supported_group(NamedGroup.x448)
    assert not is_supported_group(NamedGroup.ffdhe2048)
    assert not is_supported_group(0x1A1A)


def test_validate_key_share_length() -> None:
    for group, length in SHARE_LENGTHS.items():
        assert validate_key_share_length(group, bytes(length))
        assert not validate_key_share_length(group, bytes(length + 1))
    assert validate_key_share_length(NamedGroup.ffdhe2048, bytes(256))
    assert not validate_key_share_length(NamedGroup.ffdhe2048, bytes(255))
    # Unknown (e.g. GREASE) groups are only required to be non-empty.
    assert validate_key_share_length(0x1A1A, b"\x00")
    assert not validate_key_share_length(0x1A1A, b"")


def test_unsupported_group_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        generate_key_exchange(NamedGroup.ffdhe2048, counter_rng(b"x"))
    with pytest.raises(InternalError):
        key_exchange_from_private_bytes(0x1A1A, bytes(32))


def test_bad_private_bytes_are_an_internal_error() -> None:
    with pytest.raises(InternalError):
        key_exchange_from_private_bytes(NamedGroup.x25519, bytes(31))
    with pytest.raises(InternalError):
        key_exchange_from_private_bytes(NamedGroup.secp256r1, bytes(32))  # scalar 0


def test_repr_does_not_show_the_private_key() -> None:
    kx = key_exchange_from_private_bytes(NamedGroup.x25519, bytes(range(32)))
    assert repr(kx) == "KeyExchange(x25519)"
