"""Shared command line helpers: targets, lists, TLS options."""

from __future__ import annotations

import argparse

import pytest

import puretls
from puretls.cli.client import build_context
from puretls.cli.common import (
    apply_tls_options,
    format_address,
    parse_host_port,
    split_list,
)
from puretls.cli.main import build_parser


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("example.com", ("example.com", 443)),
        ("example.com:8443", ("example.com", 8443)),
        ("127.0.0.1:4433", ("127.0.0.1", 4433)),
        ("[::1]:4433", ("::1", 4433)),
        ("[::1]", ("::1", 443)),
        ("::1", ("::1", 443)),
        ("fe80::1:2", ("fe80::1:2", 443)),
    ],
)
def test_parse_host_port(target: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(target, 443) == expected


@pytest.mark.parametrize("target", ["host:0", "host:70000", "host:x", "[::1", "[::1]x", "[::1]:"])
def test_parse_host_port_rejects_bad_targets(target: str) -> None:
    with pytest.raises(ValueError):
        parse_host_port(target, 443)


def test_format_address_brackets_ipv6() -> None:
    assert format_address("::1", 4433) == "[::1]:4433"
    assert format_address("localhost", 4433) == "localhost:4433"


def test_split_list_takes_commas_or_colons() -> None:
    assert split_list("h2, http/1.1") == ["h2", "http/1.1"]
    assert split_list("x25519:secp256r1") == ["x25519", "secp256r1"]
    assert split_list(None) == []


def test_client_context_is_puretls() -> None:
    args = build_parser().parse_args(["client", "--insecure", "example.com"])
    context = build_context(args)
    assert isinstance(context, puretls.SSLContext)
    assert context.verify_mode == puretls.CERT_NONE


def _options(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "tls13": False,
        "alpn": None,
        "ciphersuites": None,
        "groups": None,
        "keylog": None,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_apply_tls_options_configures_the_context(tmp_path: object) -> None:
    context = puretls.SSLContext(puretls.PROTOCOL_TLS_CLIENT)
    apply_tls_options(
        context, _options(tls13=True, ciphersuites="TLS_AES_128_GCM_SHA256", groups="x25519")
    )
    assert context.minimum_version == puretls.TLSVersion.TLSv1_3
    assert [c["name"] for c in context.get_ciphers()][:1] == ["TLS_AES_128_GCM_SHA256"]


def test_apply_tls_options_rejects_unknown_names() -> None:
    context = puretls.SSLContext(puretls.PROTOCOL_TLS_CLIENT)
    with pytest.raises((ValueError, OSError)):
        apply_tls_options(context, _options(groups="no-such-group"))
