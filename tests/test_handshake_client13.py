"""The client's TLS 1.3 states: what its ClientHello offers (handshake/client13.py)."""

from __future__ import annotations

import pytest

from puretls.config import TLSConfig
from puretls.enums import CipherSuite, ProtocolVersion
from puretls.errors import HandshakeFailure
from puretls.handshake import client13

AES128 = CipherSuite.TLS_AES_128_GCM_SHA256
AES256 = CipherSuite.TLS_AES_256_GCM_SHA384
ECDHE12 = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
UNKNOWN = 0x0A0A  # a GREASE value: no suite of ours


def suites(**kw: object) -> tuple[int, ...]:
    return client13._tls13_suites(TLSConfig(is_server=False, **kw))  # type: ignore[arg-type]


def test_offered_suites_put_tls13_first_and_drop_unknown_ones() -> None:
    listed = (ECDHE12, AES256, UNKNOWN, AES128)
    assert suites(cipher_suites=listed) == (AES256, AES128, ECDHE12)
    assert suites(cipher_suites=listed, min_version=ProtocolVersion.TLSv1_3) == (AES256, AES128)
    assert suites(cipher_suites=listed, max_version=ProtocolVersion.TLSv1_2) == (ECDHE12,)


def test_offered_suites_are_made_once_per_configuration() -> None:
    listed = (AES128, ECDHE12)
    first = suites(cipher_suites=listed)
    assert suites(cipher_suites=listed) is first  # the same tuple, from the memo


def test_offered_suites_accept_a_list_where_a_tuple_is_expected() -> None:
    assert suites(cipher_suites=[ECDHE12, AES128]) == (AES128, ECDHE12)


def test_no_suite_for_the_enabled_versions_fails_before_sending() -> None:
    with pytest.raises(HandshakeFailure, match="no cipher suite"):
        suites(cipher_suites=(ECDHE12,), min_version=ProtocolVersion.TLSv1_3)
