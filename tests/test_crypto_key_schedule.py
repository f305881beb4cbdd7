"""The TLS 1.3 key schedule against RFC 8448 and the Illustrated TLS 1.3 Connection."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.crypto.key_schedule import (
    EarlySecret,
    HandshakeSecret,
    MasterSecret,
    derive_secret,
    empty_hash,
    export_keying_material,
    finished_key,
    finished_verify_data,
    hkdf_expand,
    hkdf_expand_label,
    hkdf_extract,
    hkdf_label,
    next_application_traffic_secret,
    observed,
    resumption_psk,
    traffic_key_iv,
    verify_finished,
)
from puretls.errors import DecryptError, InternalError

VECTORS = Path(__file__).parent / "vectors"

RFC8448_FULL = [
    "rfc8448_section3_simple_1rtt.json",
    "rfc8448_section4_resumed_0rtt.json",
    "rfc8448_section5_hello_retry_request.json",
    "rfc8448_section6_client_authentication.json",
    "rfc8448_section7_compatibility_mode.json",
]

TRAFFIC_SECRET_NAMES = {
    "client_early": "client_early_traffic_secret",
    "client_handshake": "client_handshake_traffic_secret",
    "server_handshake": "server_handshake_traffic_secret",
    "client_application": "client_application_traffic_secret_0",
    "server_application": "server_application_traffic_secret_0",
}


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def _key_length(vector: dict[str, Any]) -> int:
    return 32 if "AES_256" in vector["cipher_suite"] else 16


def _psk(vector: dict[str, Any]) -> bytes | None:
    psk = vector.get("key_schedule", {}).get("psk")
    return None if psk is None else h(psk)


def _schedule(vector: dict[str, Any]) -> tuple[EarlySecret, HandshakeSecret, MasterSecret]:
    hash_name = vector["hash"]
    early = EarlySecret(hash_name, _psk(vector))
    handshake = early.handshake_secret(h(vector["key_exchange"]["shared_secret"]))
    return early, handshake, handshake.master_secret()


# --- RFC 8448: every printed value ------------------------------------------


@pytest.mark.parametrize("name", RFC8448_FULL)
def test_rfc8448_schedule_secrets_match(name: str) -> None:
    vector = load(name)
    ks = vector["key_schedule"]
    th = vector["transcript_hashes"]
    early, handshake, master = _schedule(vector)
    assert early.secret == h(ks["early_secret"])
    assert derive_secret("sha256", early.secret, b"derived", h(ks["empty_transcript_hash"])) == h(
        ks["derived_secret_for_handshake"]
    )
    assert handshake.secret == h(ks["handshake_secret"])
    hello = h(th["client_hello_to_server_hello"])
    assert handshake.client_handshake_traffic_secret(hello) == h(
        ks["client_handshake_traffic_secret"]
    )
    assert handshake.server_handshake_traffic_secret(hello) == h(
        ks["server_handshake_traffic_secret"]
    )
    assert derive_secret("sha256", handshake.secret, b"derived", empty_hash("sha256")) == h(
        ks["derived_secret_for_master"]
    )
    assert master.secret == h(ks["master_secret"])
    server_finished = h(th["client_hello_to_server_finished"])
    assert master.client_application_traffic_secret_0(server_finished) == h(
        ks["client_application_traffic_secret_0"]
    )
    assert master.server_application_traffic_secret_0(server_finished) == h(
        ks["server_application_traffic_secret_0"]
    )
    assert master.exporter_master_secret(server_finished) == h(ks["exporter_master_secret"])
    client_finished = h(th["client_hello_to_client_finished"])
    assert master.resumption_master_secret(client_finished) == h(ks["resumption_master_secret"])


@pytest.mark.parametrize("name", RFC8448_FULL)
def test_rfc8448_traffic_keys_and_ivs_match(name: str) -> None:
    vector = load(name)
    for entry in vector["traffic_keys"].values():
        key, iv = traffic_key_iv("sha256", h(entry["secret"]), 16, 12)
        assert key == h(entry["key"])
        assert iv == h(entry["iv"])


@pytest.mark.parametrize("name", RFC8448_FULL)
def test_rfc8448_traffic_key_secrets_come_from_the_schedule(name: str) -> None:
    vector = load(name)
    for label, entry in vector["traffic_keys"].items():
        assert entry["secret"] == vector["key_schedule"][TRAFFIC_SECRET_NAMES[label]]


@pytest.mark.parametrize("name", RFC8448_FULL)
def test_rfc8448_finished_keys_and_verify_data_match(name: str) -> None:
    vector = load(name)
    messages = vector["handshake_messages"]
    for side, entry in vector["finished"].items():
        base_key = h(entry["base_key"])
        assert finished_key("sha256", base_key) == h(entry["finished_key"])
        # The vector does not say which transcript hash the Finished covers;
        # the Finished message itself carries verify_data after its header.
        message = h(messages[f"{side}_finished"])
        assert message[4:] == h(entry["verify_data"])


def test_rfc8448_section3_finished_verify_data_from_transcript_hashes() -> None:
    vector = load("rfc8448_section3_simple_1rtt.json")
    messages = [h(m) for m in vector["handshake_messages"].values()]
    # ClientHello .. CertificateVerify for the server, .. server Finished for the client.
    server_hash = hashlib.sha256(b"".join(messages[:5])).digest()
    client_hash = h(vector["transcript_hashes"]["client_hello_to_server_finished"])
    fin = vector["finished"]
    server_base = h(fin["server"]["base_key"])
    client_base = h(fin["client"]["base_key"])
    assert finished_verify_data("sha256", server_base, server_hash) == h(
        fin["server"]["verify_data"]
    )
    assert finished_verify_data("sha256", client_base, client_hash) == h(
        fin["client"]["verify_data"]
    )
    verify_finished("sha256", client_base, client_hash, h(fin["client"]["verify_data"]))


def test_verify_finished_rejects_a_wrong_verify_data_with_decrypt_error() -> None:
    vector = load("rfc8448_section3_simple_1rtt.json")
    fin = vector["finished"]["client"]
    client_hash = h(vector["transcript_hashes"]["client_hello_to_server_finished"])
    wrong = bytearray(h(fin["verify_data"]))
    wrong[0] ^= 1
    with pytest.raises(DecryptError):
        verify_finished("sha256", h(fin["base_key"]), client_hash, bytes(wrong))
    with pytest.raises(DecryptError):
        verify_finished("sha256", h(fin["base_key"]), client_hash, h(fin["verify_data"])[:-1])


@pytest.mark.parametrize("name", RFC8448_FULL)
def test_rfc8448_hkdf_label_info_matches(name: str) -> None:
    vector = load(name)
    for label, info in vector["hkdf_label_info"].items():
        raw = h(info)
        length = int.from_bytes(raw[:2], "big")
        context_len = raw[3 + raw[2]]
        context = raw[len(raw) - context_len :]
        assert hkdf_label(label.encode(), context, length) == raw
    for entry in vector["traffic_keys"].values():
        assert hkdf_label(b"key", b"", 16) == h(entry["key_info"])
        assert hkdf_label(b"iv", b"", 12) == h(entry["iv_info"])


def test_rfc8448_section3_resumption_psk_from_ticket_nonce() -> None:
    vector = load("rfc8448_section3_simple_1rtt.json")
    ks = vector["key_schedule"]
    nonce = h(vector["new_session_ticket"]["ticket_nonce"])
    psk = resumption_psk("sha256", h(ks["resumption_master_secret"]), nonce)
    assert psk == h(ks["resumption_psk"])
    # Section 4 resumes with exactly this PSK.
    assert load("rfc8448_section4_resumed_0rtt.json")["key_schedule"]["psk"] == ks["resumption_psk"]


def test_rfc8448_section4_early_secrets_and_binder() -> None:
    vector = load("rfc8448_section4_resumed_0rtt.json")
    ks = vector["key_schedule"]
    binder = vector["psk_binder"]
    early = EarlySecret("sha256", h(ks["psk"]))
    assert early.secret == h(ks["early_secret"])
    assert early.binder_key(external=False) == h(ks["binder_key"])
    assert early.binder_key(external=False) == h(binder["binder_key"])
    assert early.binder_key(external=True) != early.binder_key(external=False)
    assert finished_key("sha256", h(binder["binder_key"])) == h(binder["binder_finished_key"])
    binder_hash = hashlib.sha256(h(binder["client_hello_prefix"])).digest()
    assert binder_hash == h(binder["binder_hash"])
    assert finished_verify_data("sha256", early.binder_key(external=False), binder_hash) == h(
        binder["binder"]
    )
    ch_hash = h(vector["transcript_hashes"]["client_hello"])
    assert early.client_early_traffic_secret(ch_hash) == h(ks["client_early_traffic_secret"])
    assert early.early_exporter_master_secret(ch_hash) == h(ks["early_exporter_master_secret"])


# --- Illustrated TLS 1.3 (SHA-384) -------------------------------------------


def test_illustrated_sha384_schedule_matches() -> None:
    vector = load("illustrated_tls13.json")
    stated, computed = vector["stated"], vector["computed"]
    early, handshake, master = _schedule(vector)
    assert early.secret == h(computed["early_secret"])
    assert derive_secret("sha384", early.secret, b"derived", empty_hash("sha384")) == h(
        computed["derived_secret_for_handshake"]
    )
    assert handshake.secret == h(stated["handshake_secret"])
    hello = h(stated["hello_hash"])
    assert handshake.client_handshake_traffic_secret(hello) == h(
        stated["client_handshake_traffic_secret"]
    )
    assert handshake.server_handshake_traffic_secret(hello) == h(
        stated["server_handshake_traffic_secret"]
    )
    assert derive_secret("sha384", handshake.secret, b"derived", empty_hash("sha384")) == h(
        computed["derived_secret_for_master"]
    )
    assert master.secret == h(computed["master_secret"])
    handshake_hash = h(stated["handshake_hash"])
    assert master.client_application_traffic_secret_0(handshake_hash) == h(
        stated["keylog"]["CLIENT_TRAFFIC_SECRET_0"]
    )
    assert master.server_application_traffic_secret_0(handshake_hash) == h(
        stated["keylog"]["SERVER_TRAFFIC_SECRET_0"]
    )
    assert master.exporter_master_secret(handshake_hash) == h(stated["keylog"]["EXPORTER_SECRET"])
    client_finished = h(computed["transcript_hash_client_hello_to_client_finished"])
    assert master.resumption_master_secret(client_finished) == h(
        computed["resumption_master_secret"]
    )


def test_illustrated_sha384_traffic_keys_match() -> None:
    vector = load("illustrated_tls13.json")
    for entry in vector["traffic_keys"].values():
        key, iv = traffic_key_iv("sha384", h(entry["secret"]), _key_length(vector), 12)
        assert key == h(entry["key"])
        assert iv == h(entry["iv"])


def test_illustrated_sha384_finished_keys_and_verify_data_match() -> None:
    vector = load("illustrated_tls13.json")
    stated, computed = vector["stated"], vector["computed"]
    messages = vector["handshake_messages"]
    server_base = h(stated["server_handshake_traffic_secret"])
    client_base = h(stated["client_handshake_traffic_secret"])
    assert finished_key("sha384", server_base) == h(computed["server_finished_key"])
    assert finished_key("sha384", client_base) == h(computed["client_finished_key"])
    server_hash = h(computed["transcript_hash_client_hello_to_certificate_verify"])
    assert (
        finished_verify_data("sha384", server_base, server_hash)
        == h(messages["server_finished"])[4:]
    )
    client_hash = h(stated["handshake_hash"])
    verify_finished("sha384", client_base, client_hash, h(messages["client_finished"])[4:])


def _ticket_nonce(message: bytes) -> bytes:
    # NewSessionTicket: header(4) lifetime(4) age_add(4) nonce<0..255>
    return message[13 : 13 + message[12]]


def test_illustrated_sha384_ticket_psks_match() -> None:
    vector = load("illustrated_tls13.json")
    computed = vector["computed"]
    rms = h(computed["resumption_master_secret"])
    for i in (1, 2):
        nonce = _ticket_nonce(h(vector["handshake_messages"][f"new_session_ticket_{i}"]))
        assert resumption_psk("sha384", rms, nonce) == h(computed[f"resumption_psk_ticket_{i}"])


# --- Low-level HKDF and helpers ----------------------------------------------


def test_hkdf_matches_rfc5869_test_case_1() -> None:
    # RFC 5869 A.1 (SHA-256, 42-byte output spans two blocks).
    prk = hkdf_extract("sha256", h("000102030405060708090a0b0c"), b"\x0b" * 22)
    assert prk == h("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
    okm = hkdf_expand("sha256", prk, h("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm == h(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


@given(st.integers(min_value=0, max_value=255 * 32), st.binary(max_size=40))
def test_hkdf_expand_agrees_with_cryptography(length: int, info: bytes) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    prk = b"\x42" * 32
    ours = hkdf_expand("sha256", prk, info, length)
    assert len(ours) == length
    if length:
        assert ours == HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def test_hkdf_expand_rejects_too_long_output() -> None:
    with pytest.raises(InternalError):
        hkdf_expand("sha256", b"k" * 32, b"", 255 * 32 + 1)


def test_unknown_hash_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        EarlySecret("md5")


def test_early_secret_without_psk_equals_zero_psk() -> None:
    assert EarlySecret("sha384").secret == EarlySecret("sha384", bytes(48)).secret


def test_psk_ke_handshake_secret_uses_zeros() -> None:
    early = EarlySecret("sha256", b"\x01" * 32)
    assert early.handshake_secret(None).secret == early.handshake_secret(bytes(32)).secret


def test_next_application_traffic_secret_uses_traffic_upd_label() -> None:
    secret = b"\x07" * 32
    expected = hkdf_expand_label("sha256", secret, b"traffic upd", b"", 32)
    assert next_application_traffic_secret("sha256", secret) == expected
    assert next_application_traffic_secret("sha256", expected) != expected


def test_export_keying_material_follows_rfc8446_7_5() -> None:
    secret = b"\x09" * 32
    inner = hkdf_expand_label("sha256", secret, b"EXPERIMENTAL", empty_hash("sha256"), 32)
    context_hash = hashlib.sha256(b"ctx").digest()
    expected = hkdf_expand_label("sha256", inner, b"exporter", context_hash, 20)
    assert export_keying_material("sha256", secret, b"EXPERIMENTAL", b"ctx", 20) == expected


def test_finished_verify_data_is_hmac_of_finished_key() -> None:
    base = b"\x05" * 48
    th = b"\x06" * 48
    expected = hmac.digest(finished_key("sha384", base), th, "sha384")
    assert finished_verify_data("sha384", base, th) == expected


# --- Secrets stay out of reprs -----------------------------------------------


def test_stage_reprs_do_not_show_secrets() -> None:
    early = EarlySecret("sha256", b"\xab" * 32)
    handshake = early.handshake_secret(b"\xcd" * 32)
    master = handshake.master_secret()
    for stage in (early, handshake, master):
        text = repr(stage)
        assert "<redacted>" in text
        assert stage.secret.hex() not in text
        assert repr(stage.secret) not in text
        assert str(stage) == text
    assert repr(handshake) == "HandshakeSecret(sha256, <redacted>)"


def test_stages_only_offer_their_own_secrets() -> None:
    early = EarlySecret("sha256")
    assert not hasattr(early, "client_handshake_traffic_secret")
    assert not hasattr(early.handshake_secret(None), "client_application_traffic_secret_0")
    with pytest.raises(AttributeError):
        early.secret = b"x"  # type: ignore[misc]


# -- the precomputed parts give the same answers -----------------------------


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_early_secret_without_psk_equals_extract_over_zeros(hash_name: str) -> None:
    zeros = bytes(hashlib.new(hash_name).digest_size)
    early = EarlySecret(hash_name)
    assert early.secret == hmac.digest(zeros, zeros, hash_name)
    # The cached "derived" salt is the one RFC 8446 7.1 defines.
    salt = derive_secret(hash_name, early.secret, b"derived", empty_hash(hash_name))
    ikm = b"\x42" * len(zeros)
    handshake = early.handshake_secret(ikm)
    assert handshake.secret == hmac.digest(salt, ikm, hash_name)
    # A PSK of zeros is the same schedule computed the long way.
    assert EarlySecret(hash_name, zeros).handshake_secret(ikm).secret == handshake.secret


def test_hkdf_expand_label_matches_hkdf_label_for_many_labels() -> None:
    # More distinct labels than the prefix cache keeps: answers never change.
    secret = b"\x07" * 32
    for i in range(300):
        label = f"exporter {i}".encode()
        info = hkdf_label(label, b"ctx", 32)
        expected = hkdf_expand("sha256", secret, info, 32)
        assert hkdf_expand_label("sha256", secret, label, b"ctx", 32) == expected
        assert hkdf_expand_label("sha256", secret, label, b"ctx", 32) == expected


def test_hkdf_expand_label_longer_than_one_block() -> None:
    secret = b"\x01" * 32
    out = hkdf_expand_label("sha256", secret, b"long", b"", 80)
    assert out == hkdf_expand("sha256", secret, hkdf_label(b"long", b"", 80), 80)


def test_hkdf_expand_label_rejects_overlong_context() -> None:
    with pytest.raises(InternalError):
        hkdf_expand_label("sha256", b"k" * 32, b"key", b"c" * 256, 16)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
@pytest.mark.parametrize(("key_length", "iv_length"), [(16, 12), (32, 12), (16, 8), (40, 12)])
def test_traffic_key_iv_equals_hkdf_expand_label(
    hash_name: str, key_length: int, iv_length: int
) -> None:
    # (40, 12) under SHA-256 needs a second block: the general path.
    secret = bytes(range(len(empty_hash(hash_name))))
    assert traffic_key_iv(hash_name, secret, key_length, iv_length) == (
        hkdf_expand_label(hash_name, secret, b"key", b"", key_length),
        hkdf_expand_label(hash_name, secret, b"iv", b"", iv_length),
    )


def test_derive_with_a_context_of_another_length_uses_the_general_path() -> None:
    stage = HandshakeSecret("sha256", bytes(32))
    assert stage.client_handshake_traffic_secret(b"short") == hkdf_expand_label(
        "sha256", bytes(32), b"c hs traffic", b"short", 32
    )


def test_observer_sees_every_expand_label_step_with_its_inputs() -> None:
    steps: list[tuple[str, bytes, bytes, bytes, bytes]] = []

    def observer(operation: str, a: bytes, b: bytes, c: bytes, output: bytes) -> None:
        steps.append((operation, a, b, c, output))

    secret, transcript_hash = bytes(range(32)), bytes(range(32, 64))
    stage = HandshakeSecret("sha256", secret)
    with observed(observer):
        client = stage.client_handshake_traffic_secret(transcript_hash)
        key, iv = traffic_key_iv("sha256", secret, 16, 12)
        verify_data = finished_verify_data("sha256", secret, transcript_hash)
        updated = next_application_traffic_secret("sha256", secret)
    fk = finished_key("sha256", secret)
    assert steps == [
        ("expand_label", secret, b"c hs traffic", transcript_hash, client),
        ("expand_label", secret, b"key", b"", key),
        ("expand_label", secret, b"iv", b"", iv),
        ("expand_label", secret, b"finished", b"", fk),
        ("expand_label", secret, b"traffic upd", b"", updated),
    ]
    assert verify_data == hmac.digest(fk, transcript_hash, "sha256")
