"""The TLS 1.3 key schedule (RFC 8446 7.1-7.5).

The schedule is a chain of typed stages::

    EarlySecret --(EC)DHE--> HandshakeSecret --> MasterSecret

Each stage only offers the secrets RFC 8446 7.1 derives from it, so a state
machine cannot ask for, say, an application traffic secret before the
handshake secret exists.  Every function here is a pure function of its
inputs: no globals, no randomness, no clock.

HKDF runs on the standard library's ``hmac``: HKDF-Extract is one HMAC and
HKDF-Expand one HMAC per output block (RFC 5869 2.2, 2.3).  Measured with
timeit, ``hmac.digest`` is a little faster than cryptography's HKDFExpand
for the short outputs TLS asks for, and the handshake calls it ~20 times.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from puretls.errors import DecryptError, InternalError

try:  # hmac.digest's C fast path without its Python wrapper frame
    from _hashlib import hmac_digest as _hmac_digest
except ImportError:  # pragma: no cover - a Python built without OpenSSL
    _hmac_digest = hmac.digest  # type: ignore[assignment]

_HASH_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}
_EMPTY_HASHES = {name: hashlib.new(name).digest() for name in _HASH_LENGTHS}


def hash_length(hash_name: str) -> int:
    """Output length in bytes of a TLS 1.3 HKDF hash."""
    try:
        return _HASH_LENGTHS[hash_name]
    except KeyError:
        raise InternalError(f"unsupported key schedule hash {hash_name!r}") from None


def empty_hash(hash_name: str) -> bytes:
    """Transcript-Hash("") for the "derived" and binder labels (RFC 8446 7.1)."""
    empty = _EMPTY_HASHES.get(hash_name)
    return hashlib.new(hash_name).digest() if empty is None else empty


# --- Observing the schedule (for puretls.trace) -----------------------------

# Every schedule step is HKDF-Extract or HKDF-Expand-Label, so reporting those
# two shows every secret, label and transcript hash in order, whichever stage
# or helper asked for it.  The observer is set by the connection only while a
# traced connection is working (a ContextVar, so threads and asyncio tasks
# never see another connection's observer); when nobody traces, the cost is
# one ContextVar lookup per step.
KeyScheduleObserver = Callable[[str, bytes, bytes, bytes, bytes], None]
"""``observer(operation, secret_or_salt, label_or_ikm, context, output)``.

``operation`` is ``"extract"`` (salt, IKM, b"", PRK) or ``"expand_label"``
(secret, label without "tls13 ", context, output).
"""

_observer: ContextVar[KeyScheduleObserver | None] = ContextVar("puretls_ks", default=None)
# How many observed blocks are open in any thread or task: while it is zero
# (nobody traces) a step costs one global read, not a ContextVar lookup.
# Changed under a lock: ``+=`` on a global is not atomic across threads,
# and a lost update could hide a traced connection's steps.
_observing = 0
_observing_lock = threading.Lock()


@contextmanager
def observed(observer: KeyScheduleObserver) -> Iterator[None]:
    """Report every schedule step to ``observer`` inside the ``with`` block."""
    global _observing
    token = _observer.set(observer)
    with _observing_lock:
        _observing += 1
    try:
        yield
    finally:
        with _observing_lock:
            _observing -= 1
        _observer.reset(token)


def _report(operation: str, a: bytes, b: bytes, c: bytes, output: bytes) -> None:
    observer = _observer.get()
    if observer is not None:
        observer(operation, a, b, c, output)


# --- HKDF (RFC 5869) and the TLS 1.3 wrappers (RFC 8446 7.1) ---------------


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 2.2)."""
    # RFC 5869 2.2: an empty salt means HashLen zero bytes; HMAC pads the
    # key with zeros anyway, so both spellings give the same PRK.
    prk = _hmac_digest(salt, ikm, hash_name)
    if _observing:
        _report("extract", salt, ikm, b"", prk)
    return prk


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand(PRK, info, L) (RFC 5869 2.3), for any L up to 255 blocks."""
    size = hash_length(hash_name)
    if 0 < length <= size:
        # One block covers every TLS 1.3 key, IV and secret: T(1) alone.
        return _hmac_digest(prk, info + b"\x01", hash_name)[:length]
    if not 0 <= length <= 255 * size:
        raise InternalError(f"HKDF-Expand length {length} out of range")
    okm = b""
    block = b""
    counter = 1
    while len(okm) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), hash_name)
        okm += block
        counter += 1
    return okm[:length]


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure (RFC 8446 7.1).

    struct {
        uint16 length = Length;
        opaque label<7..255> = "tls13 " + Label;
        opaque context<0..255> = Context;
    } HkdfLabel;
    """
    full_label = b"tls13 " + label
    if len(full_label) > 255 or len(context) > 255 or length > 0xFFFF:
        raise InternalError("HkdfLabel field too long")
    return (
        length.to_bytes(2, "big")
        + bytes((len(full_label),))
        + full_label
        + bytes((len(context),))
        + context
    )


# HkdfLabel up to its context, per (label, length): the "length" and
# "tls13 " + Label fields are constants of each call site, so they are built
# once.  Bounded by the labels the schedule and exporters use; an exporter
# label comes from the application, so the cache stops growing at a limit.
_LABEL_PREFIXES: dict[tuple[bytes, int], bytes] = {}
_LABEL_PREFIX_LIMIT = 256


def _label_prefix(label: bytes, length: int) -> bytes:
    prefix = _LABEL_PREFIXES.get((label, length))
    if prefix is None:
        full_label = b"tls13 " + label
        if len(full_label) > 255 or length > 0xFFFF:
            raise InternalError("HkdfLabel field too long")
        prefix = length.to_bytes(2, "big") + bytes((len(full_label),)) + full_label
        if len(_LABEL_PREFIXES) < _LABEL_PREFIX_LIMIT:
            _LABEL_PREFIXES[(label, length)] = prefix
    return prefix


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label; ``label`` is given without the "tls13 " prefix."""
    if len(context) > 255:
        raise InternalError("HkdfLabel field too long")
    prefix = _LABEL_PREFIXES.get((label, length))
    if prefix is None:
        prefix = _label_prefix(label, length)
    info = prefix + bytes((len(context),)) + context
    size = _HASH_LENGTHS.get(hash_name, 0)
    if 0 < length <= size:
        # Every TLS 1.3 key, IV and secret fits one block: T(1) alone (RFC 5869 2.3).
        output = _hmac_digest(secret, info + b"\x01", hash_name)[:length]
    else:
        output = hkdf_expand(hash_name, secret, info, length)
    if _observing:
        _report("expand_label", secret, label, context, output)
    return output


# The whole HKDF-Expand input of the steps whose context is empty (the
# record key and IV, finished_key, "traffic upd"): HkdfLabel || 0x01 is a
# constant of (label, length), so these steps are one HMAC each (RFC 5869
# 2.3: T(1) covers every output no longer than the hash).
def _one_block_info(label: bytes, length: int) -> bytes:
    return _label_prefix(label, length) + b"\x00\x01"


# Per hash: the "finished" info, and the (key, iv) infos per (key, iv) length.
_FINISHED_INFOS = {name: _one_block_info(b"finished", size) for name, size in _HASH_LENGTHS.items()}
_TRAFFIC_UPD_INFOS = {
    name: _one_block_info(b"traffic upd", size) for name, size in _HASH_LENGTHS.items()
}
_KEY_IV_INFOS: dict[tuple[str, int, int], tuple[bytes, bytes]] = {}


def _key_iv_infos(hash_name: str, key_length: int, iv_length: int) -> tuple[bytes, bytes] | None:
    """The (key, iv) expand inputs, or None when an output needs a second block."""
    size = _HASH_LENGTHS.get(hash_name, 0)
    if not (0 < key_length <= size and 0 < iv_length <= size):
        return None
    infos = (_one_block_info(b"key", key_length), _one_block_info(b"iv", iv_length))
    if len(_KEY_IV_INFOS) < _LABEL_PREFIX_LIMIT:
        _KEY_IV_INFOS[(hash_name, key_length, iv_length)] = infos
    return infos


def _derive_head(label: bytes, size: int) -> bytes:
    # HkdfLabel up to the context's bytes for a Derive-Secret: the context
    # is a transcript hash, so its length byte is the hash length too.
    return _label_prefix(label, size) + bytes((size,))


# Every Derive-Secret label of RFC 8446 7.1 (and "res binder"/"ext binder",
# RFC 9258's "imp binder"), per hash.  A fixed set, made once at import.
_DERIVE_LABELS = (
    b"derived",
    b"ext binder",
    b"res binder",
    b"imp binder",
    b"c e traffic",
    b"e exp master",
    b"c hs traffic",
    b"s hs traffic",
    b"c ap traffic",
    b"s ap traffic",
    b"exp master",
    b"res master",
)
_DERIVE_HEADS: dict[str, dict[bytes, bytes]] = {
    name: {label: _derive_head(label, size) for label in _DERIVE_LABELS}
    for name, size in _HASH_LENGTHS.items()
}


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages) (RFC 8446 7.1).

    The RFC's argument is the messages; callers pass Transcript-Hash(Messages)
    directly, since the transcript object already keeps the running hash.
    """
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, hash_length(hash_name))


# --- Typed stages (RFC 8446 7.1) -------------------------------------------


class _Stage:
    """Holds one stage's secret; never shows it in a repr."""

    __slots__ = ("_hash_name", "_secret")

    def __init__(self, hash_name: str, secret: bytes) -> None:
        self._hash_name = hash_name
        self._secret = secret

    @property
    def hash_name(self) -> str:
        return self._hash_name

    @property
    def secret(self) -> bytes:
        return self._secret

    def _derive(self, label: bytes, transcript_hash: bytes) -> bytes:
        # Derive-Secret (RFC 8446 7.1) as one HMAC: the HkdfLabel up to the
        # context is a constant of (label, hash) (see _derive_head), and the
        # output is exactly one block.  Stages exist only for known hashes.
        hash_name = self._hash_name
        head = _DERIVE_HEADS[hash_name].get(label)
        if head is None or len(transcript_hash) != _HASH_LENGTHS[hash_name]:
            return hkdf_expand_label(
                hash_name, self._secret, label, transcript_hash, _HASH_LENGTHS[hash_name]
            )
        output: bytes = _hmac_digest(self._secret, head + transcript_hash + b"\x01", hash_name)
        if _observing:
            _report("expand_label", self._secret, label, transcript_hash, output)
        return output

    def _next_salt(self) -> bytes:
        # Each Extract after the first is salted with Derive-Secret(., "derived", "").
        return self._derive(b"derived", empty_hash(self._hash_name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._hash_name}, <redacted>)"


class EarlySecret(_Stage):
    """Early Secret = HKDF-Extract(0, PSK); ``psk=None`` means no PSK (zeros)."""

    __slots__ = ("_without_psk",)

    def __init__(self, hash_name: str, psk: bytes | None = None) -> None:
        self._without_psk = psk is None and not _observing
        if self._without_psk:
            # Without a PSK the Early Secret and the salt of the next Extract
            # are constants of the hash (RFC 8446 7.1: HKDF-Extract(0, 0)):
            # computed once per hash, not twice per handshake.  A traced
            # connection computes them afresh so that the trace shows them.
            super().__init__(hash_name, _no_psk_schedule(hash_name)[0])
        else:
            zeros = bytes(hash_length(hash_name))
            ikm = zeros if psk is None else psk
            super().__init__(hash_name, hkdf_extract(hash_name, zeros, ikm))

    def _next_salt(self) -> bytes:
        if self._without_psk:
            return _no_psk_schedule(self._hash_name)[1]
        return super()._next_salt()

    def binder_key(self, external: bool) -> bytes:
        """ "ext binder" for external PSKs, "res binder" for tickets (RFC 8446 7.1)."""
        label = b"ext binder" if external else b"res binder"
        return self._derive(label, empty_hash(self._hash_name))

    def client_early_traffic_secret(self, client_hello_hash: bytes) -> bytes:
        return self._derive(b"c e traffic", client_hello_hash)

    def early_exporter_master_secret(self, client_hello_hash: bytes) -> bytes:
        return self._derive(b"e exp master", client_hello_hash)

    def handshake_secret(self, shared_secret: bytes | None) -> HandshakeSecret:
        """Mix in the (EC)DHE secret; None for psk_ke mode (RFC 8446 7.1: zeros)."""
        ikm = bytes(hash_length(self._hash_name)) if shared_secret is None else shared_secret
        secret = hkdf_extract(self._hash_name, self._next_salt(), ikm)
        return HandshakeSecret(self._hash_name, secret)


_NO_PSK: dict[str, tuple[bytes, bytes]] = {}


def _no_psk_schedule(hash_name: str) -> tuple[bytes, bytes]:
    """(Early Secret, Derive-Secret(Early Secret, "derived", "")) with no PSK."""
    pair = _NO_PSK.get(hash_name)
    if pair is None:
        zeros = bytes(hash_length(hash_name))
        early = hkdf_extract(hash_name, zeros, zeros)
        salt = hkdf_expand_label(
            hash_name, early, b"derived", empty_hash(hash_name), hash_length(hash_name)
        )
        pair = _NO_PSK[hash_name] = (early, salt)
    return pair


class HandshakeSecret(_Stage):
    """Handshake Secret; made only by :meth:`EarlySecret.handshake_secret`."""

    __slots__ = ()

    def client_handshake_traffic_secret(self, hello_hash: bytes) -> bytes:
        """Over ClientHello..ServerHello."""
        return self._derive(b"c hs traffic", hello_hash)

    def server_handshake_traffic_secret(self, hello_hash: bytes) -> bytes:
        """Over ClientHello..ServerHello."""
        return self._derive(b"s hs traffic", hello_hash)

    def master_secret(self) -> MasterSecret:
        zeros = bytes(hash_length(self._hash_name))
        return MasterSecret(
            self._hash_name, hkdf_extract(self._hash_name, self._next_salt(), zeros)
        )


class MasterSecret(_Stage):
    """Master Secret; made only by :meth:`HandshakeSecret.master_secret`."""

    __slots__ = ()

    def client_application_traffic_secret_0(self, server_finished_hash: bytes) -> bytes:
        """Over ClientHello..server Finished."""
        return self._derive(b"c ap traffic", server_finished_hash)

    def server_application_traffic_secret_0(self, server_finished_hash: bytes) -> bytes:
        """Over ClientHello..server Finished."""
        return self._derive(b"s ap traffic", server_finished_hash)

    def exporter_master_secret(self, server_finished_hash: bytes) -> bytes:
        """Over ClientHello..server Finished."""
        return self._derive(b"exp master", server_finished_hash)

    def resumption_master_secret(self, client_finished_hash: bytes) -> bytes:
        """Over ClientHello..client Finished."""
        return self._derive(b"res master", client_finished_hash)


# --- Helpers built on the schedule -----------------------------------------


def traffic_key_iv(
    hash_name: str, secret: bytes, key_length: int, iv_length: int
) -> tuple[bytes, bytes]:
    """The record protection key and IV of a traffic secret (RFC 8446 7.3)."""
    infos = _KEY_IV_INFOS.get((hash_name, key_length, iv_length))
    if infos is None:
        infos = _key_iv_infos(hash_name, key_length, iv_length)
        if infos is None:
            key = hkdf_expand_label(hash_name, secret, b"key", b"", key_length)
            return key, hkdf_expand_label(hash_name, secret, b"iv", b"", iv_length)
    key = _hmac_digest(secret, infos[0], hash_name)[:key_length]
    iv = _hmac_digest(secret, infos[1], hash_name)[:iv_length]
    if _observing:
        _report("expand_label", secret, b"key", b"", key)
        _report("expand_label", secret, b"iv", b"", iv)
    return key, iv


def _expand_constant(hash_name: str, secret: bytes, infos: dict[str, bytes], label: bytes) -> bytes:
    """HKDF-Expand-Label(secret, label, "", Hash.length) from a precomputed info.

    One HMAC: the output is a single hash block, and the HkdfLabel with its
    0x01 counter is a constant per (label, hash) in ``infos``.
    """
    info = infos.get(hash_name)
    if info is None:
        return hkdf_expand_label(hash_name, secret, label, b"", hash_length(hash_name))
    output: bytes = _hmac_digest(secret, info, hash_name)
    if _observing:
        _report("expand_label", secret, label, b"", output)
    return output


def finished_key(hash_name: str, base_key: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (4.4.4)."""
    return _expand_constant(hash_name, base_key, _FINISHED_INFOS, b"finished")


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) (RFC 8446 4.4.4).

    Also computes a PSK binder (4.2.11.2), whose base key is the binder key.
    """
    info = _FINISHED_INFOS.get(hash_name)
    if info is None or _observing:
        key = finished_key(hash_name, base_key)
    else:  # finished_key inline: the handshake computes four of these
        key = _hmac_digest(base_key, info, hash_name)
    verify_data: bytes = _hmac_digest(key, transcript_hash, hash_name)
    return verify_data


def verify_finished(
    hash_name: str, base_key: bytes, transcript_hash: bytes, received: bytes
) -> None:
    """Check a peer's Finished (or binder) in constant time; DecryptError if wrong."""
    expected = finished_verify_data(hash_name, base_key, transcript_hash)
    # RFC 8446 4.4.4: a wrong Finished MUST abort with decrypt_error.
    if not hmac.compare_digest(expected, received):
        raise DecryptError("Finished verify_data does not match")


def next_application_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 after a KeyUpdate (RFC 8446 7.2)."""
    return _expand_constant(hash_name, secret, _TRAFFIC_UPD_INFOS, b"traffic upd")


def resumption_psk(hash_name: str, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK a NewSessionTicket stands for (RFC 8446 4.6.1)."""
    return hkdf_expand_label(
        hash_name, resumption_master_secret, b"resumption", ticket_nonce, hash_length(hash_name)
    )


def export_keying_material(
    hash_name: str, exporter_master_secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (RFC 8446 7.5).

    HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context), length).
    RFC 8446 7.5 treats "no context" like an empty context, so both map to b"".
    """
    secret = derive_secret(hash_name, exporter_master_secret, label, empty_hash(hash_name))
    context_hash = hashlib.new(hash_name, context).digest()
    return hkdf_expand_label(hash_name, secret, b"exporter", context_hash, length)
