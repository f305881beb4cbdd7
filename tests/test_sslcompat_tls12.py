"""The ssl-compatible API over TLS 1.2, against the stdlib's ssl both ways."""

from __future__ import annotations

import socket
import ssl
from types import ModuleType
from typing import Any

import pytest

import puretls
from puretls.testing import CertificateAuthority
from test_sslcompat_socket import IDS, SIDES, TIMEOUT, client_ctx, echo_line, server_ctx, tls_server


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture(scope="module", params=["ecdsa-p256", "rsa2048"])
def server_files(
    request: pytest.FixtureRequest,
    ca: CertificateAuthority,
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    key_type = request.param
    return ca.issue(["localhost", "127.0.0.1"], key_type=key_type).write(
        tmp_path_factory.mktemp("c"), key_type
    )


@pytest.mark.parametrize("pin", ["client", "server"])
@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_tls12_echo_with_maximum_version_on_either_side(
    client_mod: ModuleType,
    server_mod: ModuleType,
    pin: str,
    ca: CertificateAuthority,
    server_files: Any,
) -> None:
    server = server_ctx(server_mod, server_files)
    client = client_ctx(client_mod, ca)
    (client if pin == "client" else server).maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        tls_server(server, echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"hello\n")
        assert tls.recv(100) == b"echo:hello\n"
        assert tls.version() == "TLSv1.2"
        name, version, bits = tls.cipher()
        assert version == "TLSv1.2"
        assert name.startswith("ECDHE-") and name.endswith(("GCM-SHA256", "GCM-SHA384"))
        assert bits in (128, 256)


def test_cipher_tuple_matches_the_stdlib_for_ecdsa(
    ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files = ca.issue(["127.0.0.1"]).write(tmp_path_factory.mktemp("e"), "e")
    client = client_ctx(puretls, ca)
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with (
        tls_server(server_ctx(ssl, files), echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"x\n")
        tls.recv(100)
        assert tls.cipher() == ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128)


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES[1:], ids=IDS[1:])
def test_set_ciphers_names_the_rsa_key_exchange(
    client_mod: ModuleType, server_mod: ModuleType, ca: CertificateAuthority, tmp_path_factory: Any
) -> None:
    files = ca.issue(["127.0.0.1"], key_type="rsa2048").write(tmp_path_factory.mktemp("r"), "r")
    server = server_ctx(server_mod, files)
    client = client_ctx(client_mod, ca)
    for ctx in (server, client):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES256-GCM-SHA384")
    with (
        tls_server(server, echo_line) as port,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"x\n")
        tls.recv(100)
        assert tls.cipher() == ("AES256-GCM-SHA384", "TLSv1.2", 256)


def test_default_context_does_not_enable_the_rsa_key_exchange() -> None:
    names = [c["name"] for c in puretls.create_default_context().get_ciphers()]
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in names
    assert not any(n.startswith("AES") for n in names)
    ctx = puretls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ECDHE+AESGCM:AES128-GCM-SHA256")
    assert "AES128-GCM-SHA256" in [c["name"] for c in ctx.get_ciphers()]
    with pytest.raises(ssl.SSLError):
        ctx.set_ciphers("RC4:3DES:aNULL")
