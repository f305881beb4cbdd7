"""The primitive floor: pyca/cryptography (and hashlib/hmac) calls one handshake needs.

For each side of the handshake the benchmark measures (full TLS 1.3 1-RTT,
no PSK, the server issuing two tickets as both OpenSSL and puretls do by
default), the sum of the primitive operations RFC 8446 requires, each timed
alone in-process (fastest of several batches):

* key exchange: key pair generation, encoding our share, decoding the peer's,
  the exchange (RFC 8446 4.2.8, 7.4);
* the key schedule (RFC 8446 7.1): 2 HKDF-Extract (handshake, master), 5
  Derive-Secret (derived, c/s handshake, c/s application), 1 exporter
  secret, 8 key/IV expansions, 2 finished keys: 16 HKDF-Expand-Label, each
  one HMAC for outputs up to the hash length, plus 2 HMACs for the Finished
  values.  The Early Secret without a PSK and its "derived" salt are
  constants per hash, computed once per process, so not counted;
* tickets (RFC 8446 4.6.1): both sides derive the resumption master secret;
  the server derives one PSK per ticket and seals each ticket's state with
  its ticket key, and sends both NewSessionTickets in one record; a client
  can derive a ticket's PSK when it resumes, so that is not counted;
* transcript hashing: SHA-256 over the handshake bytes, 5 intermediate digests;
* record protection: 4 AEAD key setups, the server's encrypted flight
  (EncryptedExtensions..Finished) in one record, the client's Finished,
  the tickets record, and one 1-byte application record each way;
* server: CertificateVerify signature (RFC 8446 4.4.3);
* client: certificate parse, Web PKI chain verification against the CA and
  the name (cryptography.x509.verification), CertificateVerify check.

``count_key_schedule`` also counts what puretls actually calls, so that
redundant derivations show up next to the minimum.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.x509.verification import PolicyBuilder, Store

from bench.common import Material, table
from bench.stacks import Case

HMACS_PER_SIDE = 2 + 16 + 2  # extract, expand-label, Finished MACs
TICKETS = 2  # the default of OpenSSL and of puretls (TLSConfig.session_tickets)
# resumption master secret, then the server's PSK per ticket
SERVER_TICKET_HMACS = 1 + TICKETS
CLIENT_TICKET_HMACS = 1
DIGESTS_PER_SIDE = 5


def _time_op(fn: Callable[[], object], budget: float) -> float:
    """Seconds per call: the fastest of 7 batches, about ``budget`` seconds in all.

    The minimum, not the median: a floor is a lower bound, and the fastest
    batch is the one least disturbed by other work on a shared machine.
    """
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    batch = max(1, int(budget / 7 / once))
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t0) / batch)
    return min(samples)


def _kex_ops(group: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """(our side: generate + encode, then: decode peer share + exchange)."""
    if group == "x25519":
        peer = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
        mine = x25519.X25519PrivateKey.generate()

        def keygen() -> object:
            return x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()

        def exchange() -> object:
            return mine.exchange(x25519.X25519PublicKey.from_public_bytes(peer))

        return keygen, exchange
    curve = ec.SECP256R1()
    point = serialization.Encoding.X962
    fmt = serialization.PublicFormat.UncompressedPoint
    peer_p = ec.generate_private_key(curve).public_key().public_bytes(point, fmt)
    mine_p = ec.generate_private_key(curve)

    def keygen_p() -> object:
        return ec.generate_private_key(curve).public_key().public_bytes(point, fmt)

    def exchange_p() -> object:
        peer_key = ec.EllipticCurvePublicKey.from_encoded_point(curve, peer_p)
        return mine_p.exchange(ec.ECDH(), peer_key)

    return keygen_p, exchange_p


def _signature_ops(key: Any) -> tuple[Callable[[], object], Callable[[], object]]:
    # RFC 8446 4.4.3: 64 spaces, the context string, 0, the transcript hash.
    content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + bytes(32)
    public = key.public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = ec.ECDSA(hashes.SHA256())
        signature = key.sign(content, algorithm)
        return (
            lambda: key.sign(content, algorithm),
            lambda: public.verify(signature, content, algorithm),
        )
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = key.sign(content, pss, hashes.SHA256())
        return (
            lambda: key.sign(content, pss, hashes.SHA256()),
            lambda: public.verify(signature, content, pss, hashes.SHA256()),
        )
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    signature = key.sign(content)
    return lambda: key.sign(content), lambda: public.verify(signature, content)


def _aead_ops(suite: str) -> dict[str, Callable[[], object]]:
    cls = ChaCha20Poly1305 if suite == "chacha20" else AESGCM
    key = bytes(32 if suite != "aes128gcm" else 16)
    aead = cls(key)
    nonce = bytes(12)
    header = b"\x17\x03\x03\x00\x00"
    flight = bytes(900)  # EncryptedExtensions + Certificate + CertificateVerify + Finished
    finished = bytes(37)
    small = bytes(2)
    tickets = bytes(2 * 150)  # two NewSessionTickets with ~130-byte tickets
    state = bytes(90)  # what one ticket seals: suite, PSK, times, names
    ticket_aead = AESGCM(bytes(32))  # the ticket key's AEAD, made once per key
    sealed_flight = aead.encrypt(nonce, flight, header)
    sealed_finished = aead.encrypt(nonce, finished, header)
    sealed_small = aead.encrypt(nonce, small, header)
    sealed_tickets = aead.encrypt(nonce, tickets, header)
    return {
        "setup": lambda: cls(key),
        "seal_ticket_state": lambda: ticket_aead.encrypt(nonce, state, None),
        "seal_tickets": lambda: aead.encrypt(nonce, tickets, header),
        "open_tickets": lambda: aead.decrypt(nonce, sealed_tickets, header),
        "seal_flight": lambda: aead.encrypt(nonce, flight, header),
        "open_flight": lambda: aead.decrypt(nonce, sealed_flight, header),
        "seal_finished": lambda: aead.encrypt(nonce, finished, header),
        "open_finished": lambda: aead.decrypt(nonce, sealed_finished, header),
        "seal_small": lambda: aead.encrypt(nonce, small, header),
        "open_small": lambda: aead.decrypt(nonce, sealed_small, header),
    }


def _verify_ops(material: Material, case: Case) -> tuple[Callable[[], object], ...]:
    with open(material.leaves[case.key][0], "rb") as handle:
        leaf_der = x509.load_pem_x509_certificate(handle.read()).public_bytes(
            serialization.Encoding.DER
        )
    with open(material.ca_file, "rb") as handle:
        store = Store(x509.load_pem_x509_certificates(handle.read()))
    leaf = x509.load_der_x509_certificate(leaf_der)
    now = datetime.now(timezone.utc)

    def verify() -> object:
        verifier = (
            PolicyBuilder().store(store).time(now).build_server_verifier(x509.DNSName("localhost"))
        )
        return verifier.verify(leaf, [])

    return (lambda: x509.load_der_x509_certificate(leaf_der), verify)


def measure(material: Material, case: Case, budget: float = 0.05) -> dict[str, Any]:
    """Floor of one handshake for ``case``: seconds per side and per item."""
    with open(material.leaves[case.key][1], "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    keygen, exchange = _kex_ops(case.group)
    sign, verify_sig = _signature_ops(key)
    aead = _aead_ops(case.suite)
    parse, chain = _verify_ops(material, case)
    prk = bytes(32)
    transcript = bytes(1500)

    def hashing() -> object:
        h = hashlib.sha256(transcript)
        return [h.copy().digest() for _ in range(DIGESTS_PER_SIDE)]

    items = {
        name: _time_op(fn, budget)
        for name, fn in {
            "kex keygen+encode": keygen,
            "kex decode+exchange": exchange,
            "hmac-sha256": lambda: hmac.digest(prk, b"x" * 40, "sha256"),
            "transcript hashing": hashing,
            "sign CertificateVerify": sign,
            "verify CertificateVerify": verify_sig,
            "parse certificate": parse,
            "verify chain (Web PKI)": chain,
            **{f"aead {k}": fn for k, fn in aead.items()},
        }.items()
    }
    shared = (
        items["kex keygen+encode"]
        + items["kex decode+exchange"]
        + HMACS_PER_SIDE * items["hmac-sha256"]
        + items["transcript hashing"]
        + 4 * items["aead setup"]
        + items["aead seal_small"]
        + items["aead open_small"]
    )
    server = (
        shared
        + items["sign CertificateVerify"]
        + items["aead seal_flight"]
        + items["aead open_finished"]
        + SERVER_TICKET_HMACS * items["hmac-sha256"]
        + TICKETS * items["aead seal_ticket_state"]
        + items["aead seal_tickets"]
    )
    client = (
        shared
        + items["parse certificate"]
        + items["verify chain (Web PKI)"]
        + items["verify CertificateVerify"]
        + items["aead open_flight"]
        + items["aead seal_finished"]
        + CLIENT_TICKET_HMACS * items["hmac-sha256"]
        + items["aead open_tickets"]
    )
    return {"case": case.label, "client": client, "server": server, "items": items}


def count_key_schedule(material: Material) -> dict[str, dict[str, int]]:
    """How many HMAC / AEAD-setup calls puretls makes per side in one handshake."""
    from bench.memory import _configs, in_memory_pair
    from puretls.crypto import key_schedule
    from puretls.record import protection

    client_config, server_config = _configs(material)
    counts: dict[str, int] = {}
    real_digest = hmac.digest

    def counting_digest(key: bytes, msg: bytes, digest: str) -> bytes:
        counts["hmac"] = counts.get("hmac", 0) + 1
        return real_digest(key, msg, digest)

    class Counter:
        digest = staticmethod(counting_digest)

        def __getattr__(self, name: str) -> Any:
            return getattr(hmac, name)

    real_init = protection._AEADProtection.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        counts["aead_setup"] = counts.get("aead_setup", 0) + 1
        real_init(self, *args, **kwargs)

    # One handshake first, so that what the key schedule computes once per
    # process (the Early Secret without a PSK and its "derived" salt) is not
    # counted against every handshake.
    in_memory_pair(client_config, server_config)
    # key_schedule calls ``hmac.digest`` through its module global, and its
    # C function directly (``_hmac_digest``) on the hot path: swap both.
    real_fast = getattr(key_schedule, "_hmac_digest", None)
    setattr(key_schedule, "hmac", Counter())  # noqa: B010
    if real_fast is not None:
        setattr(key_schedule, "_hmac_digest", counting_digest)  # noqa: B010
    protection._AEADProtection.__init__ = counting_init  # type: ignore[method-assign]
    try:
        in_memory_pair(client_config, server_config)
    finally:
        setattr(key_schedule, "hmac", hmac)  # noqa: B010
        if real_fast is not None:
            setattr(key_schedule, "_hmac_digest", real_fast)  # noqa: B010
        protection._AEADProtection.__init__ = real_init  # type: ignore[method-assign]
    floor_hmacs = 2 * HMACS_PER_SIDE + SERVER_TICKET_HMACS + CLIENT_TICKET_HMACS
    return {
        "both_sides": counts,
        "floor_per_side": {"hmac": HMACS_PER_SIDE, "aead_setup": 4},
        "floor_both_sides": {"hmac": floor_hmacs, "aead_setup": 8},
    }


def report(floors: list[dict[str, Any]], counts: dict[str, Any] | None) -> str:
    rows = [[f["case"], f"{f['client'] * 1e3:.3f}", f"{f['server'] * 1e3:.3f}"] for f in floors]
    text = table(["case", "client floor ms", "server floor ms"], rows)
    if floors:
        items = floors[0]["items"]
        text += f"\nprimitive costs for {floors[0]['case']} (us per call):\n"
        text += table(
            ["operation", "us"], [[name, f"{sec * 1e6:.1f}"] for name, sec in items.items()]
        )
    if counts:
        both = counts["both_sides"]
        text += (
            f"\nkey schedule calls, puretls client+server in one handshake: "
            f"{both.get('hmac', 0)} HMACs, {both.get('aead_setup', 0)} AEAD key setups "
            f"(floor: {counts['floor_both_sides']['hmac']} HMACs with {TICKETS} tickets, "
            f"8 AEAD setups for both sides)"
        )
    return text
