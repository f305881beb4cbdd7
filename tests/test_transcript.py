"""The running transcript hash, replayed over RFC 8448 and Illustrated TLS 1.3."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.crypto.key_schedule import finished_verify_data
from puretls.errors import InternalError
from puretls.transcript import Transcript

VECTORS = Path(__file__).parent / "vectors"

RFC8448 = [
    "rfc8448_section3_simple_1rtt.json",
    "rfc8448_section4_resumed_0rtt.json",
    "rfc8448_section5_hello_retry_request.json",
    "rfc8448_section6_client_authentication.json",
    "rfc8448_section7_compatibility_mode.json",
]

# Messages a vector lists that are not part of the handshake transcript
# (tickets come after client Finished; the truncated hello is binder input).
NOT_IN_TRANSCRIPT = ("client_hello_truncated", "new_session_ticket")


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def _transcript_messages(vector: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [
        (name, h(msg))
        for name, msg in vector["handshake_messages"].items()
        if not name.startswith(NOT_IN_TRANSCRIPT)
    ]


def _expected_hashes(vector: dict[str, Any]) -> dict[str, bytes]:
    """Hash expected right after the named message."""
    if "transcript_hashes" in vector:
        th = vector["transcript_hashes"]
        return {
            "server_hello": h(th["client_hello_to_server_hello"]),
            "server_finished": h(th["client_hello_to_server_finished"]),
            "client_finished": h(th["client_hello_to_client_finished"]),
        }
    stated, computed = vector["stated"], vector["computed"]
    return {
        "server_hello": h(stated["hello_hash"]),
        "certificate": h(computed["transcript_hash_client_hello_to_certificate"]),
        "certificate_verify": h(computed["transcript_hash_client_hello_to_certificate_verify"]),
        "server_finished": h(stated["handshake_hash"]),
        "client_finished": h(computed["transcript_hash_client_hello_to_client_finished"]),
    }


def _finished_base_keys(vector: dict[str, Any]) -> dict[str, bytes]:
    if "finished" in vector:
        return {
            f"{side}_finished": h(entry["base_key"]) for side, entry in vector["finished"].items()
        }
    stated = vector["stated"]
    return {
        "server_finished": h(stated["server_handshake_traffic_secret"]),
        "client_finished": h(stated["client_handshake_traffic_secret"]),
    }


def _replay(vector: dict[str, Any], transcript: Transcript) -> list[str]:
    """Feed every message; check hashes and Finished on the way; return what was checked."""
    hash_name = vector["hash"]
    expected = _expected_hashes(vector)
    base_keys = _finished_base_keys(vector)
    checked = []
    for name, message in _transcript_messages(vector):
        if name == "hello_retry_request":
            transcript.rewrite_for_hello_retry_request()
        if name in base_keys:
            # RFC 8446 4.4.4: Finished covers everything before it.
            verify_data = finished_verify_data(hash_name, base_keys[name], transcript.digest())
            assert verify_data == message[4:], name
            checked.append(name + " verify_data")
        transcript.update(message)
        if name in expected:
            assert transcript.digest() == expected[name], name
            checked.append(name)
    return checked


@pytest.mark.parametrize("name", [*RFC8448, "illustrated_tls13.json"])
def test_transcript_hashes_and_finished_match_vectors(name: str) -> None:
    vector = load(name)
    checked = _replay(vector, Transcript(vector["hash"]))
    assert {"server_hello", "server_finished", "client_finished"} <= set(checked)
    assert {"server_finished verify_data", "client_finished verify_data"} <= set(checked)


@pytest.mark.parametrize("name", [*RFC8448, "illustrated_tls13.json"])
def test_client_transcript_buffers_until_the_hash_is_known(name: str) -> None:
    vector = load(name)
    messages = _transcript_messages(vector)
    transcript = Transcript()
    assert not transcript.hash_known
    transcript.update(messages[0][1])
    assert repr(transcript) == "Transcript(hash pending, 1 messages)"
    # The client learns the hash from the ServerHello / HelloRetryRequest suite.
    transcript.set_hash(vector["hash"])
    assert transcript.digest() == hashlib.new(vector["hash"], messages[0][1]).digest()
    for msg_name, message in messages[1:]:
        if msg_name == "hello_retry_request":
            transcript.rewrite_for_hello_retry_request()
        transcript.update(message)
    assert transcript.digest() == _expected_hashes(vector)["client_finished"]


def test_hello_retry_request_rewrite_gives_rfc8448_section5_hashes() -> None:
    vector = load("rfc8448_section5_hello_retry_request.json")
    messages = vector["handshake_messages"]
    transcript = Transcript("sha256")
    transcript.update(h(messages["client_hello_1"]))
    transcript.rewrite_for_hello_retry_request()
    ch1_hash = hashlib.sha256(h(messages["client_hello_1"])).digest()
    assert transcript.digest() == hashlib.sha256(b"\xfe\x00\x00\x20" + ch1_hash).digest()
    for name in ("hello_retry_request", "client_hello_2", "server_hello"):
        transcript.update(h(messages[name]))
    assert transcript.digest() == h(vector["transcript_hashes"]["client_hello_to_server_hello"])


def test_hello_retry_request_rewrite_needs_exactly_client_hello1() -> None:
    vector = load("rfc8448_section5_hello_retry_request.json")
    messages = vector["handshake_messages"]
    empty = Transcript("sha256")
    with pytest.raises(InternalError):
        empty.rewrite_for_hello_retry_request()
    two = Transcript("sha256")
    two.update(h(messages["client_hello_1"]))
    two.update(h(messages["hello_retry_request"]))
    with pytest.raises(InternalError):
        two.rewrite_for_hello_retry_request()
    twice = Transcript("sha256")
    twice.update(h(messages["client_hello_1"]))
    twice.rewrite_for_hello_retry_request()
    with pytest.raises(InternalError):
        twice.rewrite_for_hello_retry_request()
    not_hello = Transcript("sha256")
    not_hello.update(h(messages["server_hello"]))
    with pytest.raises(InternalError):
        not_hello.rewrite_for_hello_retry_request()


def test_binder_hash_over_truncated_client_hello_matches_rfc8448_section4() -> None:
    vector = load("rfc8448_section4_resumed_0rtt.json")
    transcript = Transcript("sha256")
    truncated = h(vector["handshake_messages"]["client_hello_truncated"])
    assert transcript.digest_with(truncated) == h(vector["psk_binder"]["binder_hash"])
    # digest_with leaves the transcript untouched.
    assert transcript.digest() == hashlib.sha256().digest()
    transcript.update(h(vector["handshake_messages"]["client_hello"]))
    assert transcript.digest() == h(vector["transcript_hashes"]["client_hello"])


def test_digest_before_hash_is_known_is_an_internal_error() -> None:
    transcript = Transcript()
    transcript.update(b"\x01\x00\x00\x00")
    with pytest.raises(InternalError):
        transcript.digest()
    with pytest.raises(InternalError):
        transcript.digest_with(b"")


def test_hash_can_be_chosen_only_once() -> None:
    transcript = Transcript("sha256")
    with pytest.raises(InternalError):
        transcript.set_hash("sha384")


def test_unknown_hash_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        Transcript("no-such-hash")


@given(st.lists(st.binary(max_size=64), max_size=8), st.sampled_from(["sha256", "sha384"]))
def test_digest_equals_hash_of_concatenation(messages: list[bytes], hash_name: str) -> None:
    transcript = Transcript()
    for message in messages:
        transcript.update(message)
    transcript.set_hash(hash_name)
    assert transcript.digest() == hashlib.new(hash_name, b"".join(messages)).digest()
    # Asking twice changes nothing.
    assert transcript.digest() == transcript.digest()


@given(st.lists(st.binary(max_size=64), max_size=8), st.sampled_from(["sha256", "sha384"]))
def test_intermediate_digests_leave_the_running_hash_intact(
    messages: list[bytes], hash_name: str
) -> None:
    transcript = Transcript(hash_name)
    for count, message in enumerate(messages, 1):
        transcript.update(message)
        expected = hashlib.new(hash_name, b"".join(messages[:count])).digest()
        assert transcript.digest() == expected


def test_repr_names_hash_and_message_count() -> None:
    transcript = Transcript()
    transcript.update(b"\x01\x00\x00\x00")
    assert repr(transcript) == "Transcript(hash pending, 1 messages)"
