"""SSLObject over MemoryBIOs: puretls against itself and against the stdlib, both ways."""

from __future__ import annotations

import contextlib
import ssl
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import puretls
from puretls.testing import CertificateAuthority

Obj = Any  # ssl.SSLObject or puretls.SSLObject


class Pair:
    """A client and a server SSLObject joined by four memory BIOs."""

    def __init__(self, client_ctx: Any, server_ctx: Any, hostname: str | None) -> None:
        self.ci, self.co, self.si, self.so = (ssl.MemoryBIO() for _ in range(4))
        self.client: Obj = client_ctx.wrap_bio(self.ci, self.co, server_hostname=hostname)
        self.server: Obj = server_ctx.wrap_bio(self.si, self.so, server_side=True)

    def pump(self) -> None:
        self.si.write(self.co.read())
        self.ci.write(self.so.read())

    def handshake(self) -> None:
        for _ in range(6):
            for obj in (self.client, self.server):
                with contextlib.suppress(ssl.SSLWantReadError):
                    obj.do_handshake()
            self.pump()
        assert self.client.version() == self.server.version() == "TLSv1.3"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture(scope="module")
def server_files(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("certs")
    return ca.issue(["localhost", "127.0.0.1"]).write(directory, "server")


def server_ctx(module: ModuleType, files: tuple[Path, Path]) -> Any:
    ctx = module.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*files)
    return ctx


def client_ctx(module: ModuleType, ca: CertificateAuthority) -> Any:
    return module.create_default_context(cadata=ca.cert_pem().decode())


SIDES = [(puretls, puretls), (puretls, ssl), (ssl, puretls)]
IDS = ["puretls-puretls", "puretls-client-stdlib-server", "stdlib-client-puretls-server"]


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_handshake_and_data_both_ways(
    client_mod: ModuleType, server_mod: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    pair = Pair(client_ctx(client_mod, ca), server_ctx(server_mod, server_files), "localhost")
    pair.handshake()
    assert pair.client.cipher()[1:] == ("TLSv1.3", 256)
    assert pair.client.cipher() == pair.server.cipher()
    assert pair.client.write(b"ping") == 4
    pair.pump()
    assert pair.server.read() == b"ping"
    buffer = bytearray(10)
    pair.server.write(b"pong")
    pair.pump()
    assert pair.client.read(10, buffer) == 4
    assert bytes(buffer[:4]) == b"pong"


@pytest.mark.parametrize(("client_mod", "server_mod"), SIDES, ids=IDS)
def test_unwrap_exchanges_close_notify(
    client_mod: ModuleType, server_mod: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    pair = Pair(client_ctx(client_mod, ca), server_ctx(server_mod, server_files), "localhost")
    pair.handshake()
    with pytest.raises(ssl.SSLWantReadError):
        pair.server.unwrap()
    pair.pump()
    # The stdlib reports the peer's close_notify as b"" while we have not closed.
    assert pair.client.read() == b""
    pair.client.unwrap()
    pair.pump()
    pair.server.unwrap()


def test_read_after_both_sides_closed_raises_zero_return(
    ca: CertificateAuthority, server_files: Any
) -> None:
    pair = Pair(client_ctx(puretls, ca), server_ctx(puretls, server_files), "localhost")
    pair.handshake()
    with pytest.raises(ssl.SSLWantReadError):
        pair.server.unwrap()
    pair.pump()
    pair.client.unwrap()
    with pytest.raises(ssl.SSLZeroReturnError):
        pair.client.read()


@pytest.mark.parametrize("module", [puretls, ssl])
def test_eof_without_close_notify_is_ssl_eof_error(
    module: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    pair = Pair(client_ctx(puretls, ca), server_ctx(module, server_files), "localhost")
    pair.handshake()
    pair.ci.write_eof()
    with pytest.raises(ssl.SSLEOFError, match="EOF occurred in violation of protocol"):
        pair.client.read()


def test_getpeercert_equals_the_stdlib_dict(ca: CertificateAuthority, server_files: Any) -> None:
    ours = Pair(client_ctx(puretls, ca), server_ctx(ssl, server_files), "localhost")
    theirs = Pair(client_ctx(ssl, ca), server_ctx(ssl, server_files), "localhost")
    ours.handshake()
    theirs.handshake()
    assert ours.client.getpeercert() == theirs.client.getpeercert()
    assert ours.client.getpeercert(True) == theirs.client.getpeercert(True)
    assert ours.server.getpeercert() is None


def test_getpeercert_is_empty_dict_when_not_verified(server_files: Any) -> None:
    ctx = puretls.SSLContext(puretls.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = puretls.CERT_NONE
    pair = Pair(ctx, server_ctx(ssl, server_files), "localhost")
    pair.handshake()
    assert pair.client.getpeercert() == {}
    assert pair.client.getpeercert(binary_form=True)
    assert pair.client.get_verified_chain() == []
    assert len(pair.client.get_unverified_chain()) == 1


def test_getpeercert_before_handshake_raises(ca: CertificateAuthority) -> None:
    obj = client_ctx(puretls, ca).wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="x")
    with pytest.raises(ValueError, match="handshake not done yet"):
        obj.getpeercert()


def _failed_handshake(pair: Pair) -> ssl.SSLError:
    with pytest.raises(ssl.SSLError) as info:
        pair.handshake()
    return info.value


@pytest.mark.parametrize("server_mod", [puretls, ssl])
def test_wrong_hostname_raises_cert_verification_error(
    server_mod: ModuleType, ca: CertificateAuthority, server_files: Any
) -> None:
    pair = Pair(client_ctx(puretls, ca), server_ctx(server_mod, server_files), "example.org")
    error = _failed_handshake(pair)
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert isinstance(error, ssl.CertificateError)
    assert error.reason == "CERTIFICATE_VERIFY_FAILED"
    assert "certificate verify failed: " in str(error)
    assert "example.org" in error.verify_message
    # The alert went out before the exception: the server learns why.
    pair.pump()
    with pytest.raises(ssl.SSLError) as server_error:
        pair.server.do_handshake()
    assert "ALERT" in str(server_error.value.reason)


def test_unknown_ca_is_rejected_and_alerted(server_files: Any) -> None:
    stranger = CertificateAuthority(common_name="someone else")
    pair = Pair(client_ctx(puretls, stranger), server_ctx(ssl, server_files), "localhost")
    error = _failed_handshake(pair)
    assert isinstance(error, ssl.SSLCertVerificationError)
    pair.pump()
    with pytest.raises(ssl.SSLError) as server_error:
        pair.server.do_handshake()
    assert server_error.value.reason in ("TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE")


def test_stdlib_client_rejecting_puretls_server_gives_alert_reason(server_files: Any) -> None:
    stranger = CertificateAuthority(common_name="someone else")
    pair = Pair(client_ctx(ssl, stranger), server_ctx(puretls, server_files), "localhost")
    error = _failed_handshake(pair)
    assert isinstance(error, ssl.SSLCertVerificationError)
    pair.pump()
    with pytest.raises(ssl.SSLError) as server_error:
        pair.server.do_handshake()
    assert server_error.value.library == "SSL"
    assert server_error.value.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert str(server_error.value).startswith("[SSL: TLSV1_ALERT_UNKNOWN_CA]")


def test_alpn_and_negotiated_parameters(ca: CertificateAuthority, server_files: Any) -> None:
    client = client_ctx(puretls, ca)
    client.set_alpn_protocols(["h2", "http/1.1"])
    client.set_groups(["secp256r1"])
    server = server_ctx(ssl, server_files)
    server.set_alpn_protocols(["http/1.1"])
    pair = Pair(client, server, "localhost")
    pair.handshake()
    assert pair.client.selected_alpn_protocol() == "http/1.1"
    assert pair.client.group() == "secp256r1"
    assert pair.client.signature_scheme() == "ecdsa_secp256r1_sha256"
    assert pair.client.compression() is None
    assert pair.client.selected_npn_protocol() is None
    assert pair.client.get_channel_binding("tls-unique") is None
    assert pair.client.session_reused is False
    assert pair.client.server_hostname == "localhost"
    assert not pair.client.server_side
    assert len(pair.client.get_verified_chain()) == 2


def test_sni_callback_can_switch_the_context(ca: CertificateAuthority, tmp_path: Path) -> None:
    other = ca.issue(["other.test"]).write(tmp_path, "other")
    first = server_ctx(puretls, ca.issue(["localhost"]).write(tmp_path, "first"))
    second = server_ctx(puretls, other)
    seen: list[Any] = []

    def callback(sslobj: Any, name: str | None, ctx: Any) -> None:
        seen.append((name, ctx))
        if name == "other.test":
            sslobj.context = second

    first.sni_callback = callback
    pair = Pair(client_ctx(ssl, ca), first, "other.test")
    pair.handshake()
    assert seen == [("other.test", first)]
    assert pair.server.context is second
    assert ("DNS", "other.test") in pair.client.getpeercert()["subjectAltName"]


def test_sni_callback_returning_an_alert_fails_the_handshake(
    ca: CertificateAuthority, server_files: Any
) -> None:
    server = server_ctx(puretls, server_files)
    server.sni_callback = lambda *args: puretls.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    pair = Pair(client_ctx(ssl, ca), server, "localhost")
    error = _failed_handshake(pair)
    assert "UNRECOGNIZED_NAME" in str(error.reason)


def test_key_update_keeps_data_flowing(ca: CertificateAuthority, server_files: Any) -> None:
    pair = Pair(client_ctx(puretls, ca), server_ctx(ssl, server_files), "localhost")
    pair.handshake()
    pair.client.key_update()
    pair.client.write(b"after update")
    pair.pump()
    assert pair.server.read() == b"after update"
    pair.server.write(b"reply")
    pair.pump()
    assert pair.client.read() == b"reply"


def test_sslobject_is_a_stdlib_sslobject_without_public_constructor() -> None:
    assert issubclass(puretls.SSLObject, ssl.SSLObject)
    with pytest.raises(TypeError):
        puretls.SSLObject()


def test_wrong_role_contexts_are_refused(ca: CertificateAuthority) -> None:
    bios = (ssl.MemoryBIO(), ssl.MemoryBIO())
    with pytest.raises(ValueError):
        client_ctx(puretls, ca).wrap_bio(*bios, server_side=True)
    with pytest.raises(ValueError, match="check_hostname requires server_hostname"):
        client_ctx(puretls, ca).wrap_bio(*bios)
    with pytest.raises(ValueError):
        puretls.SSLContext(puretls.PROTOCOL_TLS_SERVER).wrap_bio(*bios)


def test_keylog_file_gets_nss_lines(
    ca: CertificateAuthority, server_files: Any, tmp_path: Path
) -> None:
    client = client_ctx(puretls, ca)
    client.keylog_filename = tmp_path / "keys.log"  # type: ignore[assignment]
    Pair(client, server_ctx(ssl, server_files), "localhost").handshake()
    client.keylog_filename = None
    lines = (tmp_path / "keys.log").read_text().splitlines()
    assert lines[0].startswith("# TLS secrets log file")
    assert any(line.startswith("CLIENT_TRAFFIC_SECRET_0 ") for line in lines)


def test_reads_of_any_size_return_the_stream_in_order(
    ca: CertificateAuthority, server_files: Any
) -> None:
    pair = Pair(client_ctx(puretls, ca), server_ctx(puretls, server_files), "localhost")
    pair.handshake()
    data = bytes(range(251)) * 400  # about 100 KB: several records per pump
    for start in range(0, len(data), 30000):
        pair.client.write(data[start : start + 30000])
        pair.pump()
    got = bytearray()
    buffer = bytearray(7000)
    for size in (1, 5000, 16384, 3):
        got += pair.server.read(size)
        assert pair.server.pending() == len(data) - len(got)
        count = pair.server.read(len(buffer), buffer)
        got += buffer[:count]
    while pair.server.pending():
        got += pair.server.read(50000)
    assert bytes(got) == data


def test_write_takes_bytes_like_objects(ca: CertificateAuthority, server_files: Any) -> None:
    pair = Pair(client_ctx(puretls, ca), server_ctx(ssl, server_files), "localhost")
    pair.handshake()
    assert pair.client.write(memoryview(b"abc")) == 3
    assert pair.client.write(bytearray(b"def")) == 3
    pair.pump()
    # The stdlib server returns one record per read.
    assert pair.server.read(10) + pair.server.read(10) == b"abcdef"


def test_a_failure_while_working_ahead_is_an_ssl_error(
    server_files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSLObject._pt_prepare (the socket and aio loops' hook) fails like do_handshake."""
    from puretls.errors import InternalError
    from puretls.handshake import server13

    def broken(self: object, io: object) -> None:
        raise InternalError("could not work ahead")

    monkeypatch.setattr(server13.ExpectClientHello, "prepare", broken)
    incoming, outgoing = puretls.MemoryBIO(), puretls.MemoryBIO()
    server = server_ctx(puretls, server_files).wrap_bio(incoming, outgoing, server_side=True)
    with pytest.raises(ssl.SSLError, match="could not work ahead"):
        server._pt_prepare()
    with pytest.raises(ssl.SSLError):  # the connection stays failed
        server.do_handshake()
