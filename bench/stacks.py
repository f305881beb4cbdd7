"""The three TLS stacks behind one small interface.

Each stack is configured for exactly one TLS 1.3 suite and one group on both
sides, so a handshake either negotiates what the case names or fails; the
client verifies the server's chain against the benchmark CA and checks the
name wherever the stack can (tlslite-ng has no X.509 path validation: see
``VERIFIES``).  :func:`negotiated` reads back what was agreed so the
benchmark can refuse to report a number for a different configuration.
"""

from __future__ import annotations

import ctypes
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import puretls
from bench.common import HOST, SERVER_NAME, Material

# suite short name -> (IANA / OpenSSL TLS 1.3 name, tlslite-ng cipher name)
SUITES = {
    "aes128gcm": ("TLS_AES_128_GCM_SHA256", "aes128gcm"),
    "aes256gcm": ("TLS_AES_256_GCM_SHA384", "aes256gcm"),
    "chacha20": ("TLS_CHACHA20_POLY1305_SHA256", "chacha20-poly1305"),
}
# group -> (puretls / tlslite name, OpenSSL short name, OpenSSL NID)
GROUPS = {
    "x25519": ("x25519", "X25519", 1034),
    "secp256r1": ("secp256r1", "prime256v1", 415),
}
VERIFIES = {"puretls": True, "ssl": True, "tlslite": False}


@dataclass(frozen=True, slots=True)
class Case:
    key: str = "ecdsa"  # "ecdsa" (P-256), "rsa" (2048), "ed25519"
    group: str = "x25519"
    suite: str = "aes128gcm"

    @property
    def label(self) -> str:
        return f"{self.key}/{self.group}/{self.suite}"


# -- Python's ssl (OpenSSL) ---------------------------------------------------


def _libssl() -> ctypes.CDLL:
    # The _ssl extension is linked against libssl: dlsym through its handle
    # finds SSL_CTX_set_ciphersuites, which Python < 3.15 does not expose.
    return ctypes.CDLL(ssl._ssl.__file__)  # type: ignore[attr-defined]


def _ssl_ctx_pointer(context: ssl.SSLContext) -> int:
    # PySSLContext starts with PyObject_HEAD followed by ``SSL_CTX *ctx``.
    offset = 2 * ctypes.sizeof(ctypes.c_void_p)
    return ctypes.c_void_p.from_address(id(context) + offset).value or 0


def _ssl_set_ciphersuites(context: ssl.SSLContext, names: str) -> None:
    setter = getattr(context, "set_ciphersuites", None)
    if setter is not None:
        setter(names)
        return
    lib = _libssl()
    lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
    if lib.SSL_CTX_set_ciphersuites(_ssl_ctx_pointer(context), names.encode()) != 1:
        raise RuntimeError(f"OpenSSL refused TLS 1.3 suites {names}")


# SSL_CTRL_SET_GROUPS_LIST from OpenSSL's ssl.h (SSL_CTX_set1_groups_list is
# a macro over SSL_CTX_ctrl, so there is no symbol to call).
_SSL_CTRL_SET_GROUPS_LIST = 92


def _ssl_set_groups(context: ssl.SSLContext, name: str) -> None:
    setter = getattr(context, "set_groups", None)
    if setter is not None:  # Python 3.15+
        setter(name)
        return
    # set_ecdh_curve cannot take X25519 before Python 3.11 (it builds an EC
    # key), so the group list goes to OpenSSL directly, as for the suites.
    lib = _libssl()
    lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
    lib.SSL_CTX_ctrl.restype = ctypes.c_long
    if (
        lib.SSL_CTX_ctrl(_ssl_ctx_pointer(context), _SSL_CTRL_SET_GROUPS_LIST, 0, name.encode())
        != 1
    ):
        raise RuntimeError(f"OpenSSL refused the group list {name}")


def _ssl_negotiated_group(sock: ssl.SSLSocket) -> str | None:
    group = getattr(sock, "group", None)
    if callable(group):
        return str(group())
    try:
        # PySSLSocket: PyObject_HEAD, PyObject *Socket, SSL *ssl.
        obj = sock._sslobj  # type: ignore[attr-defined]
        if obj is None:  # closed: no SSL* to ask
            return None
        pointer = ctypes.c_void_p.from_address(id(obj) + 3 * ctypes.sizeof(ctypes.c_void_p))
        lib = _libssl()
        lib.SSL_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_ctrl.restype = ctypes.c_long
        nid = lib.SSL_ctrl(pointer.value, 134, 0, None)  # SSL_CTRL_GET_NEGOTIATED_GROUP
    except (AttributeError, OSError):
        return None
    for name, (_, _, group_nid) in GROUPS.items():
        if nid == group_nid:
            return name
    return f"nid {nid}"


def _std_context(module: Any, server: bool, material: Material, case: Case) -> Any:
    """An SSLContext of the stdlib ``ssl`` or of ``puretls`` (same API)."""
    protocol = module.PROTOCOL_TLS_SERVER if server else module.PROTOCOL_TLS_CLIENT
    context = module.SSLContext(protocol)
    context.minimum_version = module.TLSVersion.TLSv1_3
    context.maximum_version = module.TLSVersion.TLSv1_3
    suite = SUITES[case.suite][0]
    if module is ssl:
        _ssl_set_ciphersuites(context, suite)
        _ssl_set_groups(context, GROUPS[case.group][1])
    else:
        context.set_ciphersuites(suite)
        context.set_groups(GROUPS[case.group][0])
    if server:
        certfile, keyfile = material.leaves[case.key]
        context.load_cert_chain(certfile, keyfile)
    else:
        context.load_verify_locations(material.ca_file)
        context.check_hostname = True
        context.verify_mode = module.CERT_REQUIRED
    return context


# -- tlslite-ng -----------------------------------------------------------------


def _tlslite_settings(case: Case) -> Any:
    from tlslite.api import HandshakeSettings  # type: ignore[import-untyped]

    settings = HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.maxVersion = (3, 4)
    settings.cipherNames = [SUITES[case.suite][1]]
    settings.eccCurves = [GROUPS[case.group][0]]
    settings.keyShares = [GROUPS[case.group][0]]
    settings.dhGroups = []
    settings.defaultCurve = GROUPS[case.group][0]
    return settings


class _TlsliteServer:
    def __init__(self, material: Material, case: Case) -> None:
        from tlslite.api import (
            X509CertChain,
            parsePEMKey,
        )

        certfile, keyfile = material.leaves[case.key]
        with open(certfile, encoding="ascii") as handle:
            self.chain = X509CertChain()
            self.chain.parsePemList(handle.read())
        with open(keyfile, encoding="ascii") as handle:
            self.key = parsePEMKey(handle.read(), private=True)
        self.settings = _tlslite_settings(case)

    def wrap(self, sock: socket.socket) -> Any:
        from tlslite.api import TLSConnection

        conn = TLSConnection(sock)
        conn.handshakeServer(certChain=self.chain, privateKey=self.key, settings=self.settings)
        return conn


class _TlsliteClient:
    def __init__(self, case: Case) -> None:
        self.settings = _tlslite_settings(case)

    def handshake(self, sock: socket.socket) -> Any:
        from tlslite.api import TLSConnection

        conn = TLSConnection(sock)
        # No chain verification is possible in tlslite-ng (VERIFIES).
        conn.handshakeClientCert(settings=self.settings, serverName=SERVER_NAME)
        return conn


# -- the interface the benchmarks use -------------------------------------------


class Server:
    """Accepts a TCP socket and returns a TLS connection with the handshake done."""

    def __init__(self, stack: str, material: Material, case: Case) -> None:
        self.stack = stack
        if stack == "tlslite":
            self._tlslite = _TlsliteServer(material, case)
        else:
            module = ssl if stack == "ssl" else puretls
            self._context = _std_context(module, True, material, case)

    def wrap(self, sock: socket.socket) -> Any:
        # Small handshake flights must not wait for delayed ACKs (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.stack == "tlslite":
            return self._tlslite.wrap(sock)
        return self._context.wrap_socket(sock, server_side=True)


class Client:
    """Opens a TCP connection and runs the client handshake over it."""

    def __init__(self, stack: str, material: Material, case: Case) -> None:
        self.stack = stack
        if stack == "tlslite":
            self._tlslite = _TlsliteClient(case)
        else:
            module = ssl if stack == "ssl" else puretls
            self._context = _std_context(module, False, material, case)

    def connect(self, port: int) -> Any:
        sock = socket.create_connection((HOST, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self.stack == "tlslite":
                return self._tlslite.handshake(sock)
            return self._context.wrap_socket(sock, server_hostname=SERVER_NAME)
        except BaseException:
            sock.close()
            raise


def negotiated(stack: str, conn: Any) -> dict[str, Any]:
    """What the connection agreed: version, suite and (where readable) group."""
    if stack == "tlslite":
        names = {v[1]: k for k, v in SUITES.items()}
        version = "TLSv1.3" if tuple(conn.version) == (3, 4) else str(conn.version)
        return {"version": version, "suite": names.get(conn.getCipherName(), "?"), "group": None}
    cipher = conn.cipher()
    names = {v[0]: k for k, v in SUITES.items()}
    group: str | None
    group = _ssl_negotiated_group(conn) if stack == "ssl" else conn.group()
    if group is not None:
        group = {"X25519": "x25519", "prime256v1": "secp256r1"}.get(group, group)
    return {"version": conn.version(), "suite": names.get(cipher[0], cipher[0]), "group": group}


def check_negotiated(stack: str, conn: Any, case: Case) -> str | None:
    """``None`` when the connection matches the case, else what differs."""
    got = negotiated(stack, conn)
    problems = []
    if got["version"] != "TLSv1.3":
        problems.append(f"version {got['version']}")
    if got["suite"] != case.suite:
        problems.append(f"suite {got['suite']}")
    if got["group"] is not None and got["group"] != case.group:
        problems.append(f"group {got['group']}")
    return ", ".join(problems) or None
