"""The TLS 1.2 pseudorandom function and everything derived through it.

RFC 5246 5 defines ``PRF(secret, label, seed) = P_<hash>(secret, label + seed)``
where ``P_hash`` chains HMAC: ``A(0) = seed``, ``A(i) = HMAC(secret, A(i-1))``
and the output is ``HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...``
truncated to the length asked for.  The hash is the cipher suite's PRF hash
(SHA-256 for every suite we offer except the ``*_SHA384`` ones).

Only the standard library's ``hmac`` is used: HMAC is not a hand-written
primitive, and ``hmac.digest`` is the fastest HMAC Python offers.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from puretls.errors import DecryptError

# RFC 5246 8.1: the master secret is always 48 bytes.
MASTER_SECRET_LENGTH = 48
# RFC 5246 7.4.9: verify_data_length is 12 for every suite we offer.
VERIFY_DATA_LENGTH = 12

CLIENT_FINISHED_LABEL = b"client finished"
SERVER_FINISHED_LABEL = b"server finished"


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """``P_hash(secret, seed)`` of RFC 5246 5, truncated to ``length`` bytes."""
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + seed, hash_name)
    return bytes(out[:length])


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """``PRF(secret, label, seed)`` of RFC 5246 5."""
    return p_hash(hash_name, secret, label + seed, length)


def master_secret(
    hash_name: str, pre_master_secret: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    """RFC 5246 8.1: the master secret without extended_master_secret."""
    return prf(
        hash_name,
        pre_master_secret,
        b"master secret",
        client_random + server_random,
        MASTER_SECRET_LENGTH,
    )


def extended_master_secret(hash_name: str, pre_master_secret: bytes, session_hash: bytes) -> bytes:
    """RFC 7627 4: the master secret bound to the handshake transcript.

    ``session_hash`` is the hash of every handshake message up to and
    including ClientKeyExchange.
    """
    return prf(
        hash_name,
        pre_master_secret,
        b"extended master secret",
        session_hash,
        MASTER_SECRET_LENGTH,
    )


def key_block(
    hash_name: str, master: bytes, client_random: bytes, server_random: bytes, length: int
) -> bytes:
    """RFC 5246 6.3: note the seed is server_random first, then client_random."""
    return prf(hash_name, master, b"key expansion", server_random + client_random, length)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficKeys:
    """The write keys and IVs of both directions, split out of the key block."""

    client_write_key: bytes
    server_write_key: bytes
    client_write_iv: bytes
    server_write_iv: bytes

    def __repr__(self) -> str:  # secrets never reach a repr (DESIGN.md)
        return f"TrafficKeys(<{len(self.client_write_key)}-byte keys>)"


def traffic_keys(
    hash_name: str,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    key_length: int,
    iv_length: int,
    mac_key_length: int = 0,
) -> TrafficKeys:
    """RFC 5246 6.3: client/server MAC keys (none for AEAD), write keys, IVs.

    For AES-GCM the "IV" is the 4-byte implicit salt (RFC 5288 3); for
    ChaCha20-Poly1305 a 12-byte IV (RFC 7905 2).  ``mac_key_length`` exists
    so that CBC test vectors can be checked; we offer no CBC suites.
    """
    total = 2 * (mac_key_length + key_length + iv_length)
    block = key_block(hash_name, master, client_random, server_random, total)
    pos = 2 * mac_key_length
    fields = []
    for size in (key_length, key_length, iv_length, iv_length):
        fields.append(block[pos : pos + size])
        pos += size
    return TrafficKeys(
        client_write_key=fields[0],
        server_write_key=fields[1],
        client_write_iv=fields[2],
        server_write_iv=fields[3],
    )


def finished_verify_data(
    hash_name: str, master: bytes, is_client: bool, handshake_hash: bytes
) -> bytes:
    """RFC 5246 7.4.9: ``PRF(master_secret, finished_label, Hash(handshake_messages))``."""
    label = CLIENT_FINISHED_LABEL if is_client else SERVER_FINISHED_LABEL
    return prf(hash_name, master, label, handshake_hash, VERIFY_DATA_LENGTH)


def check_finished(
    hash_name: str, master: bytes, is_client: bool, handshake_hash: bytes, received: bytes
) -> None:
    """Compare a peer's verify_data in constant time; decrypt_error on mismatch."""
    expected = finished_verify_data(hash_name, master, is_client, handshake_hash)
    if not hmac.compare_digest(expected, received):
        # RFC 5246 7.4.9 requires a check; RFC 8446 6.2 names decrypt_error.
        raise DecryptError("the peer's Finished does not match the handshake")


def export_keying_material(
    hash_name: str,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    label: bytes,
    context: bytes | None,
    length: int,
) -> bytes:
    """RFC 5705 4: ``PRF(master, label, client_random + server_random [+ context])``.

    A context, when given (even empty), is prefixed by its 2-byte length;
    no context means no length either, so the two give different output.
    """
    seed = client_random + server_random
    if context is not None:
        if len(context) > 0xFFFF:
            raise ValueError("exporter context longer than 2^16 - 1 bytes")
        seed += len(context).to_bytes(2, "big") + context
    return prf(hash_name, master, label, seed, length)
