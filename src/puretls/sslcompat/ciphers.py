"""Parsing the names users give to set_ciphers / set_groups / set_signature_algorithms.

``set_ciphers`` takes OpenSSL cipher strings.  Real programs pass things
like urllib3's ``"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5"``, so a
small subset of OpenSSL's cipher-list language is understood: exact names
(IANA or OpenSSL), ``A+B`` conjunctions of tags, ``!x`` / ``-x`` removal,
``+x`` (move to the end) and ``@STRENGTH``-style directives (ignored).
Tags for suites we do not implement (``DHE``, ``CBC``, ``aNULL``...) match
nothing, which is exactly what removing them means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from puretls.crypto.suites import SUITES, CipherSuiteInfo, suite_by_name
from puretls.enums import NamedGroup, SignatureScheme

_SEPARATORS = re.compile(r"[:, ]+")


def split_names(names: str | Iterable[str]) -> list[str]:
    """``"a:b"``, ``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]``."""
    items = _SEPARATORS.split(names) if isinstance(names, str) else list(names)
    return [item.strip() for item in items if item and item.strip()]


def _bulk_tags(info: CipherSuiteInfo) -> set[str]:
    name = info.openssl_name
    tags = {"SHA256" if info.hash_name == "sha256" else "SHA384"}
    if "CHACHA20" in name:
        tags |= {"CHACHA20", "CHACHA20POLY1305"}
    else:
        bits = str(info.key_length * 8)
        tags |= {"AES", "AESGCM", f"AES{bits}", f"AESGCM{bits}"}
    return tags


def suite_tags(info: CipherSuiteInfo) -> set[str]:
    """OpenSSL cipher-string tags that select a TLS 1.2 suite."""
    tags = {"ALL", "DEFAULT", "HIGH", "TLSv1.2", "AEAD"}
    tags |= _bulk_tags(info)
    if info.key_exchange == "ECDHE":
        tags |= {"ECDHE", "EECDH", "kECDHE", "kEECDH", "ECDH"}
    else:
        tags |= {"kRSA", "RSA"}
    if info.authentication == "ECDSA":
        tags |= {"aECDSA", "ECDSA"}
    else:
        tags |= {"aRSA", "RSA"}
    return tags


def _matches(token: str) -> list[int]:
    """Suites (in registry order) that a single cipher-string token selects."""
    exact = suite_by_name(token)
    if exact is not None:
        return [exact.suite]
    wanted = set(token.split("+"))
    return [
        suite for suite, info in SUITES.items() if not info.tls13 and wanted <= suite_tags(info)
    ]


def parse_cipher_string(text: str) -> list[int]:
    """The suites an OpenSSL cipher string selects, in its order."""
    selected: list[int] = []
    banned: set[int] = set()
    for token in split_names(text):
        if token.startswith("@"):
            continue
        if token[0] in "!-+":
            matched = _matches(token[1:])
            if token[0] == "!":
                banned.update(matched)
            if token[0] in "!-":
                selected = [s for s in selected if s not in matched]
            else:
                selected = [s for s in selected if s not in matched] + [
                    s for s in selected if s in matched
                ]
            continue
        selected += [s for s in _matches(token) if s not in selected and s not in banned]
    return selected


def parse_ciphersuites(names: str | Iterable[str]) -> list[int]:
    """TLS 1.3 suite names (``set_ciphersuites``); unknown names are skipped."""
    result: list[int] = []
    for name in split_names(names):
        info = suite_by_name(name)
        if info is not None and info.tls13 and info.suite not in result:
            result.append(info.suite)
    return result


_GROUP_ALIASES = {
    "x25519": NamedGroup.x25519,
    "x448": NamedGroup.x448,
    "secp256r1": NamedGroup.secp256r1,
    "prime256v1": NamedGroup.secp256r1,
    "p-256": NamedGroup.secp256r1,
    "secp384r1": NamedGroup.secp384r1,
    "p-384": NamedGroup.secp384r1,
    "secp521r1": NamedGroup.secp521r1,
    "p-521": NamedGroup.secp521r1,
}


def parse_group(name: str) -> int | None:
    return _GROUP_ALIASES.get(name.strip().lower())


def group_name(group: int | None) -> str | None:
    if group is None:
        return None
    try:
        return NamedGroup(group).name
    except ValueError:
        return f"unknown(0x{group:04x})"


_S = SignatureScheme
# OpenSSL's "SIG+HASH" spellings; in TLS 1.3 ECDSA binds the curve to the hash.
_OPENSSL_SIGALGS = {
    "ecdsa+sha256": _S.ecdsa_secp256r1_sha256,
    "ecdsa+sha384": _S.ecdsa_secp384r1_sha384,
    "ecdsa+sha512": _S.ecdsa_secp521r1_sha512,
    "rsa-pss+sha256": _S.rsa_pss_rsae_sha256,
    "rsa-pss+sha384": _S.rsa_pss_rsae_sha384,
    "rsa-pss+sha512": _S.rsa_pss_rsae_sha512,
    "pss+sha256": _S.rsa_pss_rsae_sha256,
    "pss+sha384": _S.rsa_pss_rsae_sha384,
    "pss+sha512": _S.rsa_pss_rsae_sha512,
    "rsa+sha256": _S.rsa_pkcs1_sha256,
    "rsa+sha384": _S.rsa_pkcs1_sha384,
    "rsa+sha512": _S.rsa_pkcs1_sha512,
}


def parse_signature_scheme(name: str) -> int | None:
    key = name.strip().lower()
    if key in _OPENSSL_SIGALGS:
        return _OPENSSL_SIGALGS[key]
    member = SignatureScheme.__members__.get(key)
    return int(member) if member is not None else None


def signature_scheme_name(scheme: int | None) -> str | None:
    if scheme is None:
        return None
    try:
        return SignatureScheme(scheme).name
    except ValueError:
        return f"unknown(0x{scheme:04x})"


def _symmetric(info: CipherSuiteInfo) -> str:
    if info.aead.__name__ == "ChaCha20Poly1305":
        return "chacha20-poly1305"
    return f"aes-{info.key_length * 8}-gcm"


def cipher_dict(info: CipherSuiteInfo) -> dict[str, Any]:
    """One entry of ``SSLContext.get_ciphers()``, laid out as the stdlib's."""
    bits = info.key_length * 8
    protocol = "TLSv1.3" if info.tls13 else "TLSv1.2"
    name = info.name if info.tls13 else info.openssl_name
    kx = "any" if info.tls13 else info.key_exchange
    au = "any" if info.tls13 else info.authentication
    enc = "CHACHA20/POLY1305(256)" if "CHACHA" in info.name else f"AESGCM({bits})"
    description = f"{name:<30} {protocol} Kx={kx:<8} Au={au:<6} Enc={enc:<22} Mac=AEAD"
    return {
        # OpenSSL ids are 0x0300xxxx for SSLv3-style two-byte suites.
        "id": 0x03000000 | int(info.suite),
        "name": name,
        "protocol": protocol,
        "description": description,
        "strength_bits": bits,
        "alg_bits": bits,
        "aead": True,
        "symmetric": _symmetric(info),
        "digest": None,
        "kea": f"kx-{kx.lower()}",
        "auth": f"auth-{au.lower()}",
    }
