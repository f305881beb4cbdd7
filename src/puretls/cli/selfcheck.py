"""``puretls selfcheck``: the RFC 8448 section 3 key schedule, side by side.

RFC 8448 section 3 prints every input and every secret of one 1-RTT
handshake.  This command starts from the inputs only (the two X25519 key
shares and the handshake messages), derives the whole RFC 8446 section 7
schedule with :mod:`puretls.crypto.key_schedule`, and prints each value next
to the one the RFC prints.  The vector ships inside the package
(``puretls/data/rfc8448_section3.json``) so the check works from a wheel.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, TextIO

from puretls.crypto import key_schedule as ks
from puretls.crypto.groups import key_exchange_from_private_bytes
from puretls.enums import NamedGroup

_VECTOR = "rfc8448_section3.json"
# RFC 8448 section 3 negotiates TLS_AES_128_GCM_SHA256: SHA-256, 16-byte keys.
_HASH = "sha256"
_KEY_LENGTH = 16
_IV_LENGTH = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One derived value and the value RFC 8448 prints for it."""

    name: str
    derived: bytes
    expected: bytes

    @property
    def ok(self) -> bool:
        return self.derived == self.expected


def load_vector() -> dict[str, Any]:
    """The RFC 8448 section 3 vector packaged with puretls."""
    text = resources.files("puretls").joinpath("data").joinpath(_VECTOR).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _transcript_hash(vector: dict[str, Any], *names: str) -> bytes:
    # RFC 8446 4.4.1: Transcript-Hash is the hash of the concatenated messages.
    messages = vector["handshake_messages"]
    return hashlib.sha256(b"".join(_hex(messages[name]) for name in names)).digest()


def derive_checks(vector: dict[str, Any]) -> list[Check]:
    """Derive RFC 8448 section 3's schedule from its inputs; pair with the RFC's values."""
    exchange = vector["key_exchange"]
    expected = vector["key_schedule"]
    client_share = key_exchange_from_private_bytes(
        NamedGroup.x25519, _hex(exchange["client_private_key"])
    )
    shared = client_share.exchange(_hex(exchange["server_public_key"]))
    hello_hash = _transcript_hash(vector, "client_hello", "server_hello")
    server_finished_hash = _transcript_hash(
        vector,
        "client_hello",
        "server_hello",
        "encrypted_extensions",
        "certificate",
        "certificate_verify",
        "server_finished",
    )
    client_finished_hash = _transcript_hash(
        vector,
        "client_hello",
        "server_hello",
        "encrypted_extensions",
        "certificate",
        "certificate_verify",
        "server_finished",
        "client_finished",
    )
    early = ks.EarlySecret(_HASH)
    handshake = early.handshake_secret(shared)
    master = handshake.master_secret()
    c_hs = handshake.client_handshake_traffic_secret(hello_hash)
    s_hs = handshake.server_handshake_traffic_secret(hello_hash)
    c_ap = master.client_application_traffic_secret_0(server_finished_hash)
    s_ap = master.server_application_traffic_secret_0(server_finished_hash)
    res = master.resumption_master_secret(client_finished_hash)

    def check(name: str, derived: bytes, want: str) -> Check:
        return Check(name=name, derived=derived, expected=_hex(want))

    checks = [
        check("x25519 shared secret", shared, exchange["shared_secret"]),
        check("early secret", early.secret, expected["early_secret"]),
        check("handshake secret", handshake.secret, expected["handshake_secret"]),
        check("client handshake traffic", c_hs, expected["client_handshake_traffic_secret"]),
        check("server handshake traffic", s_hs, expected["server_handshake_traffic_secret"]),
        check("master secret", master.secret, expected["master_secret"]),
        check("client application traffic", c_ap, expected["client_application_traffic_secret_0"]),
        check("server application traffic", s_ap, expected["server_application_traffic_secret_0"]),
        check(
            "exporter master secret",
            master.exporter_master_secret(server_finished_hash),
            expected["exporter_master_secret"],
        ),
        check("resumption master secret", res, expected["resumption_master_secret"]),
    ]
    checks += _traffic_key_checks(vector, {"server_handshake": s_hs, "client_handshake": c_hs})
    checks += _traffic_key_checks(vector, {"server_application": s_ap, "client_application": c_ap})
    finished = vector["finished"]
    checks.append(
        check(
            "server Finished verify_data",
            ks.finished_verify_data(_HASH, s_hs, _transcript_hash(vector, *_UP_TO_CV)),
            finished["server"]["verify_data"],
        )
    )
    checks.append(
        check(
            "client Finished verify_data",
            ks.finished_verify_data(_HASH, c_hs, server_finished_hash),
            finished["client"]["verify_data"],
        )
    )
    return checks


# Messages the server's Finished covers (RFC 8446 4.4.4: up to CertificateVerify).
_UP_TO_CV = (
    "client_hello",
    "server_hello",
    "encrypted_extensions",
    "certificate",
    "certificate_verify",
)


def _traffic_key_checks(vector: dict[str, Any], secrets: dict[str, bytes]) -> list[Check]:
    # RFC 8446 7.3: key and IV are HKDF-Expand-Label(secret, "key"/"iv", "", length).
    checks = []
    for label, secret in secrets.items():
        key, iv = ks.traffic_key_iv(_HASH, secret, _KEY_LENGTH, _IV_LENGTH)
        want = vector["traffic_keys"][label]
        words = label.replace("_", " ")
        checks.append(Check(name=f"{words} key", derived=key, expected=_hex(want["key"])))
        checks.append(Check(name=f"{words} iv", derived=iv, expected=_hex(want["iv"])))
    return checks


def _short(value: bytes) -> str:
    text = value.hex()
    return text if len(text) <= 24 else f"{text[:20]}..."


def print_checks(checks: list[Check], out: TextIO, *, short: bool = False) -> None:
    """Each value as derived by puretls next to RFC 8448's, with OK or MISMATCH."""
    if short:
        width = max(len(c.name) for c in checks)
        for c in checks:
            verdict = "OK" if c.ok else "MISMATCH"
            print(f"  {c.name:<{width}}  {_short(c.derived)}  {verdict}", file=out)
        return
    for c in checks:
        verdict = "OK" if c.ok else "MISMATCH"
        print(f"  {c.name}", file=out)
        print(f"    puretls   {c.derived.hex()}", file=out)
        print(f"    RFC 8448  {c.expected.hex()}  {verdict}", file=out)


def run_selfcheck(out: TextIO, *, short: bool = False) -> int:
    """Print the side-by-side check; exit status 0 only if everything matches."""
    checks = derive_checks(load_vector())
    print("RFC 8448 section 3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256, x25519):", file=out)
    print("every secret re-derived from the X25519 keys and the handshake messages", file=out)
    print_checks(checks, out, short=short)
    bad = sum(not c.ok for c in checks)
    if bad:
        print(f"selfcheck: {bad} of {len(checks)} values MISMATCH", file=out)
        return 1
    print(f"selfcheck: all {len(checks)} values match RFC 8448", file=out)
    return 0
