"""The TLS version and cipher options shared by ``puretls client`` and ``server``."""

from __future__ import annotations

import argparse
import ssl

import pytest

import puretls
from puretls.cli.common import add_tls_options, apply_tls_options


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_tls_options(parser)
    return parser.parse_args(list(argv))


def test_tls12_option_caps_the_maximum_version() -> None:
    ctx = puretls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    apply_tls_options(ctx, _parse("--tls1.2"))
    assert ctx.maximum_version == ssl.TLSVersion.TLSv1_2


def test_ciphers_option_takes_an_openssl_cipher_string() -> None:
    ctx = puretls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    apply_tls_options(ctx, _parse("--tls1.2", "--ciphers", "ECDHE+CHACHA20:AES128-GCM-SHA256"))
    names = [c["name"] for c in ctx.get_ciphers()]
    assert names == [
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "AES128-GCM-SHA256",
    ]


def test_bad_or_conflicting_options_are_value_errors() -> None:
    ctx = puretls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ValueError, match="exclude each other"):
        apply_tls_options(ctx, _parse("--tls1.2", "--tls1.3"))
    with pytest.raises(ValueError, match="selects no cipher suite"):
        apply_tls_options(ctx, _parse("--ciphers", "RC4"))
