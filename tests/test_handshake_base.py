"""Tests for puretls.handshake.base: the indexed lookup of ClientHello extensions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from messages_strategies import extension_lists
from puretls.enums import HandshakeType
from puretls.handshake.base import hello_extension
from puretls.messages import (
    ALPN,
    ClientHello,
    Extension,
    PreSharedKey,
    ServerName,
    SupportedGroups,
    SupportedVersions,
    find_extension,
)

EXTENSION_CLASSES: list[type] = [ALPN, PreSharedKey, ServerName, SupportedGroups, SupportedVersions]


def hello(extensions: tuple[Extension, ...] | list[Extension]) -> ClientHello:
    return ClientHello(random=bytes(32), cipher_suites=(0x1301,), extensions=extensions)  # type: ignore[arg-type]


@given(extension_lists(HandshakeType.client_hello), extension_lists(HandshakeType.client_hello))
def test_finds_what_find_extension_finds_in_each_of_two_hellos(
    first: tuple[Extension, ...], second: tuple[Extension, ...]
) -> None:
    a, b = hello(first), hello(second)
    for _ in range(2):  # alternating hellos must not see each other's index
        for message in (a, b):
            for cls in EXTENSION_CLASSES:
                found = hello_extension(message, cls)
                assert found is find_extension(message.extensions, cls)


def test_the_first_of_two_extensions_of_one_class_wins() -> None:
    # Only a hook can build such a hello (the decoder rejects it, RFC 8446 4.2).
    one, two = ServerName(host_name="one.example"), ServerName(host_name="two.example")
    assert hello_extension(hello((one, two)), ServerName) is one


@given(st.booleans())
def test_a_list_of_extensions_is_read_as_it_is_now(with_alpn: bool) -> None:
    extensions: list[Extension] = [ServerName(host_name="a.example")]
    message = hello(extensions)
    assert hello_extension(message, ALPN) is None
    if with_alpn:
        extensions.append(ALPN(protocols=(b"h2",)))
    assert (hello_extension(message, ALPN) is not None) is with_alpn
