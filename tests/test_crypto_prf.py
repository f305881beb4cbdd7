"""The TLS 1.2 PRF against The Illustrated TLS 1.2 Connection and RFC 5705/7627 rules."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from puretls.crypto import prf
from puretls.errors import DecryptError
from puretls.messages import decode_handshake12

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(scope="module")
def tls12() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "illustrated_tls12.json").read_text())
    return data


def _h(data: dict[str, Any], *path: str) -> bytes:
    node: Any = data
    for key in path:
        node = node[key]
    return bytes.fromhex(node)


def _pre_master(v: dict[str, Any]) -> bytes:
    private = x25519.X25519PrivateKey.from_private_bytes(
        _h(v, "key_exchange", "client_private_key")
    )
    peer = x25519.X25519PublicKey.from_public_bytes(_h(v, "key_exchange", "server_public_key"))
    return private.exchange(peer)


def _master(v: dict[str, Any]) -> bytes:
    return prf.master_secret(
        "sha256", _pre_master(v), _h(v, "client_random"), _h(v, "server_random")
    )


def test_x25519_exchange_reproduces_the_pre_master_secret(tls12: dict[str, Any]) -> None:
    assert _pre_master(tls12) == _h(tls12, "key_exchange", "shared_secret_premaster")


def test_master_secret_matches_illustrated_tls12(tls12: dict[str, Any]) -> None:
    assert _master(tls12) == _h(tls12, "stated", "master_secret")


def test_key_block_matches_illustrated_tls12(tls12: dict[str, Any]) -> None:
    expected = _h(tls12, "computed", "key_block")
    block = prf.key_block(
        "sha256",
        _master(tls12),
        _h(tls12, "client_random"),
        _h(tls12, "server_random"),
        len(expected),
    )
    assert block == expected


def test_traffic_keys_split_the_key_block_like_illustrated_tls12(tls12: dict[str, Any]) -> None:
    # AES-128-CBC-SHA: 20-byte MAC keys, 16-byte keys, 16-byte IVs.
    keys = prf.traffic_keys(
        "sha256",
        _master(tls12),
        _h(tls12, "client_random"),
        _h(tls12, "server_random"),
        key_length=16,
        iv_length=16,
        mac_key_length=20,
    )
    assert keys.client_write_key == _h(tls12, "stated", "client_write_key")
    assert keys.server_write_key == _h(tls12, "stated", "server_write_key")
    assert keys.client_write_iv == _h(tls12, "stated", "client_write_iv")
    assert keys.server_write_iv == _h(tls12, "stated", "server_write_iv")
    assert "f656" not in repr(keys)


def _transcript(v: dict[str, Any], *names: str) -> bytes:
    return hashlib.sha256(b"".join(_h(v, "handshake_messages", n) for n in names)).digest()


_CLIENT_FLIGHT = (
    "client_hello",
    "server_hello",
    "certificate",
    "server_key_exchange",
    "server_hello_done",
    "client_key_exchange",
)


def test_finished_verify_data_matches_illustrated_tls12(tls12: dict[str, Any]) -> None:
    master = _master(tls12)
    client = prf.finished_verify_data("sha256", master, True, _transcript(tls12, *_CLIENT_FLIGHT))
    assert client == _h(tls12, "computed", "client_verify_data")
    assert _h(tls12, "handshake_messages", "client_finished")[4:] == client
    server_hash = _transcript(tls12, *_CLIENT_FLIGHT, "client_finished")
    server = prf.finished_verify_data("sha256", master, False, server_hash)
    assert server == _h(tls12, "computed", "server_verify_data")
    prf.check_finished("sha256", master, False, server_hash, server)
    with pytest.raises(DecryptError):
        prf.check_finished("sha256", master, True, server_hash, server)


def test_illustrated_messages_decode_and_reencode_byte_exact(tls12: dict[str, Any]) -> None:
    for name in (*_CLIENT_FLIGHT, "client_finished", "server_finished"):
        raw = _h(tls12, "handshake_messages", name)
        message = decode_handshake12(raw[0], raw[4:])
        assert message.encode() == raw, name


def test_p_hash_output_is_a_prefix_of_longer_output() -> None:
    long = prf.p_hash("sha384", b"secret", b"seed", 200)
    assert prf.p_hash("sha384", b"secret", b"seed", 33) == long[:33]
    assert len(long) == 200


def test_extended_master_secret_depends_on_the_session_hash() -> None:
    pms = bytes(48)
    a = prf.extended_master_secret("sha256", pms, bytes(32))
    b = prf.extended_master_secret("sha256", pms, bytes(31) + b"\x01")
    assert len(a) == 48 and a != b
    assert a != prf.master_secret("sha256", pms, bytes(32), bytes(32))


def test_exporter_distinguishes_no_context_from_empty_context() -> None:
    master, cr, sr = bytes(48), bytes(32), bytes(range(32))
    none = prf.export_keying_material("sha256", master, cr, sr, b"EXPERIMENTAL x", None, 32)
    empty = prf.export_keying_material("sha256", master, cr, sr, b"EXPERIMENTAL x", b"", 32)
    assert none != empty
    # RFC 5705 4: the seed is client_random + server_random (+ length + context).
    assert none == prf.prf("sha256", master, b"EXPERIMENTAL x", cr + sr, 32)
    assert empty == prf.prf("sha256", master, b"EXPERIMENTAL x", cr + sr + b"\x00\x00", 32)
