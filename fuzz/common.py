"""What the fuzz targets share: a fixed PKI, deterministic configs, the rule.

The rule of every target: any input may make puretls raise its own TLSError
(that is the connection refusing bad input); any other exception is a bug.
Configs use seeded randomness and an Ed25519 server key (deterministic
signatures), so a recorded conversation replays byte for byte and seeds
from it reach deep into the encrypted handshake.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from puretls.config import CertifiedKey, TLSConfig
from puretls.testing import CertificateAuthority

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("PURETLS_FUZZ_WORK", HERE.parent / ".fuzz"))
PKI = WORK / "pki"
CORPUS = WORK / "corpus"
ARTIFACTS = WORK / "artifacts"
TARGETS = ("record", "messages", "server", "client")


def _write_pki() -> None:
    PKI.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority()
    leaf = ca.issue(["localhost"], key_type="ed25519")
    key_pem = leaf.private_key_pem()
    (PKI / "server.key").write_bytes(key_pem)
    blob = b"".join(len(der).to_bytes(4, "big") + der for der in leaf.chain_der())
    (PKI / "server.der").write_bytes(blob)


@functools.cache
def server_key() -> CertifiedKey:
    """The persisted server chain: the same bytes in every run, so seeds stay valid."""
    if not (PKI / "server.key").exists():
        _write_pki()
    key = load_pem_private_key((PKI / "server.key").read_bytes(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    blob = (PKI / "server.der").read_bytes()
    chain, pos = [], 0
    while pos < len(blob):
        n = int.from_bytes(blob[pos : pos + 4], "big")
        chain.append(blob[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return CertifiedKey(tuple(chain), key)


def rng(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def fixed_time() -> float:
    return 1_700_000_000.0


def client_config(**kw: object) -> TLSConfig:
    # verifier=None: the chain is not checked (certificate validation is
    # cryptography's x509 code), but the signature and Finished still are.
    options: dict[str, object] = {
        "server_name": "localhost",
        "rng": rng(1),
        "time": fixed_time,
        "alpn_protocols": (b"h2", b"http/1.1"),
    }
    options.update(kw)
    return TLSConfig(is_server=False, **options)  # type: ignore[arg-type]


def server_config(**kw: object) -> TLSConfig:
    options: dict[str, object] = {
        "certificates": (server_key(),),
        "rng": rng(2),
        "time": fixed_time,
        "alpn_protocols": (b"http/1.1",),
    }
    options.update(kw)
    return TLSConfig(is_server=True, **options)  # type: ignore[arg-type]


def chunks(data: bytes) -> list[bytes]:
    """Split a fuzz input into receive_data calls.

    First byte below 0x80: the rest in one call; otherwise the rest in
    pieces of ``(byte & 0x7f) + 1`` bytes, to exercise partial records.
    """
    if not data:
        return []
    head, rest = data[0], data[1:]
    if head < 0x80:
        return [rest]
    size = (head & 0x7F) + 1
    return [rest[i : i + size] for i in range(0, len(rest), size)]
