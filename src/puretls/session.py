"""Session tickets, ticket keys, the client session cache and 0-RTT anti-replay.

Four small pieces, none of which knows about sockets or reads a clock:

* :class:`TicketKey` / :class:`TicketKeys` seal and open opaque state bytes
  with AES-256-GCM under named keys.  They know nothing about TLS 1.3: a
  TLS 1.2 RFC 5077 ticket can be sealed with the same keys.  The current key
  encrypts; older keys still decrypt until they retire.  The keys can be
  written to and read from a small text file so that several server
  processes behind a load balancer share them.
* :class:`ResumptionState` is what a TLS 1.3 server seals into a ticket
  (RFC 8446 4.6.1): the PSK and the parameters it may be used with.
* :class:`ClientSession` / :class:`SessionCache` keep what a client needs to
  offer a ticket again, keyed by (server name, port); a ticket is handed out
  once by default (RFC 8446 C.4: reuse lets a passive observer link
  connections).
* :class:`ReplayCache` is the interface of the 0-RTT strike register
  (RFC 8446 8.1); :class:`InMemoryReplayCache` is the default single-process
  store.  A fleet plugs in a shared store (for example Redis ``SET NX PX``).

Time is always passed in (seconds since the epoch, from ``TLSConfig.time``)
and randomness comes from the caller's ``rng``.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from puretls._codec import Reader, Writer
from puretls.crypto import key_schedule as ks
from puretls.errors import DecodeError

if TYPE_CHECKING:
    from puretls.handshake.session12 import TLS12Session

Rng = Callable[[int], bytes]

TICKET_KEY_NAME_LENGTH = 16
TICKET_KEY_LENGTH = 32
_NONCE_LENGTH = 12
_FILE_HEADER = "# puretls ticket keys v1"

# RFC 8446 4.6.1: servers MUST NOT use a ticket lifetime above 7 days.
MAX_TICKET_LIFETIME = 7 * 24 * 3600


class TicketKey:
    """One named AES-256-GCM key that seals and opens opaque state.

    A sealed ticket is ``name(16) || nonce(12) || AES-GCM(state, aad=name)``:
    the name tells a server which of its keys to try, and binding it as
    associated data stops a ticket from being moved between keys.
    """

    __slots__ = ("_aead", "created", "key", "name")

    def __init__(self, name: bytes, key: bytes, created: float) -> None:
        if len(name) != TICKET_KEY_NAME_LENGTH or len(key) != TICKET_KEY_LENGTH:
            raise ValueError("a ticket key needs a 16-byte name and a 32-byte key")
        self.name = name
        self.key = key
        self.created = created
        self._aead = AESGCM(key)

    @classmethod
    def generate(cls, rng: Rng, now: float) -> TicketKey:
        return cls(rng(TICKET_KEY_NAME_LENGTH), rng(TICKET_KEY_LENGTH), now)

    def seal(self, state: bytes, rng: Rng) -> bytes:
        nonce = rng(_NONCE_LENGTH)
        return self.name + nonce + self._aead.encrypt(nonce, state, self.name)

    def open(self, ticket: bytes) -> bytes | None:
        """The state sealed in ``ticket``, or None if it is not ours or was altered."""
        head = TICKET_KEY_NAME_LENGTH + _NONCE_LENGTH
        if len(ticket) < head + 16 or ticket[:TICKET_KEY_NAME_LENGTH] != self.name:
            return None
        try:
            return self._aead.decrypt(ticket[TICKET_KEY_NAME_LENGTH:head], ticket[head:], self.name)
        except InvalidTag:
            return None

    def __repr__(self) -> str:  # the key never reaches a repr
        return f"TicketKey(name={self.name.hex()}, created={self.created:.0f}, key=<redacted>)"


class TicketProtector(Protocol):
    """What a server needs from its ticket keys (so tests and HSMs can plug in)."""

    def seal(self, state: bytes, now: float, rng: Rng) -> bytes:
        """Encrypt and authenticate ``state`` under the current key."""

    def open(self, ticket: bytes, now: float) -> bytes | None:
        """The state in ``ticket``, or None when no live key opens it."""


class TicketKeys:
    """A ring of ticket keys: the newest encrypts, the others still decrypt.

    With ``rotate=True`` (the default for keys a process makes itself) a new
    key is generated once the current one is ``rotation_interval`` seconds
    old.  A key is dropped once it is older than ``rotation_interval +
    ticket_lifetime``: no ticket it sealed can still be valid.  Keys loaded
    from a file are not rotated by the process (``rotate=False``): whoever
    writes the file rotates them, and every process calls :meth:`reload`.
    """

    def __init__(
        self,
        keys: Iterable[TicketKey] = (),
        *,
        rotation_interval: float = 12 * 3600,
        ticket_lifetime: float = MAX_TICKET_LIFETIME,
        rotate: bool = True,
    ) -> None:
        self._keys = sorted(keys, key=lambda k: k.created)
        self.rotation_interval = rotation_interval
        self.ticket_lifetime = ticket_lifetime
        self.rotate = rotate
        self._path: Path | None = None
        self._lock = threading.Lock()

    @property
    def keys(self) -> tuple[TicketKey, ...]:
        """Oldest first; the last one encrypts."""
        return tuple(self._keys)

    def current(self, now: float, rng: Rng) -> TicketKey:
        keys = self._keys
        if len(keys) == 1 and (not self.rotate or now - keys[0].created < self.rotation_interval):
            # One key, not due for rotation: nothing to add or retire, so no
            # lock.  A thread racing a rotation seals with the key that was
            # current an instant before, which still opens its tickets.
            return keys[0]
        with self._lock:
            if self.rotate and (
                not self._keys or now - self._keys[-1].created >= self.rotation_interval
            ):
                self._keys.append(TicketKey.generate(rng, now))
            if not self._keys:
                raise ValueError("no ticket key is available and rotation is off")
            self._retire(now)
            return self._keys[-1]

    def _retire(self, now: float) -> None:
        if not self.rotate:
            return
        keys = self._keys
        if len(keys) < 2:
            return  # the one key encrypts, and is never retired: no new list per ticket
        horizon = self.rotation_interval + self.ticket_lifetime
        # Never retire the encrypting key.
        self._keys = [k for k in keys[:-1] if now - k.created < horizon] + keys[-1:]

    def seal(self, state: bytes, now: float, rng: Rng) -> bytes:
        return self.current(now, rng).seal(state, rng)

    def open(self, ticket: bytes, now: float) -> bytes | None:
        name = ticket[:TICKET_KEY_NAME_LENGTH]
        with self._lock:
            self._retire(now)
            candidates = [k for k in self._keys if k.name == name]
        for key in candidates:
            state = key.open(ticket)
            if state is not None:
                return state
        return None

    # -- the key file shared by a fleet of servers -----------------------------

    def to_text(self) -> str:
        """``name key created`` per line, hex, oldest first (the last encrypts)."""
        lines = [_FILE_HEADER]
        lines += [f"{k.name.hex()} {k.key.hex()} {k.created:.0f}" for k in self._keys]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str, **kwargs: float | bool) -> TicketKeys:
        keys = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            try:
                name, key, created = bytes.fromhex(parts[0]), bytes.fromhex(parts[1]), parts[2]
                keys.append(TicketKey(name, key, float(created)))
            except (IndexError, ValueError) as exc:
                raise ValueError(f"ticket key file line {number}: {exc}") from None
        if not keys:
            raise ValueError("the ticket key file holds no keys")
        kwargs.setdefault("rotate", False)
        return cls(keys, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> TicketKeys:
        """Keys from a file written by :meth:`save` (or by hand); not self-rotating."""
        ring = cls.from_text(Path(path).read_text(encoding="ascii"))
        ring._path = Path(path)
        return ring

    def reload(self) -> None:
        """Re-read the file this ring came from (after the fleet's rotation job)."""
        if self._path is None:
            raise ValueError("these ticket keys were not loaded from a file")
        fresh = TicketKeys.from_text(self._path.read_text(encoding="ascii"))
        with self._lock:
            self._keys = fresh._keys

    def save(self, path: str | Path) -> None:
        """Write the keys (mode 0600: they decrypt every ticket)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(self.to_text(), encoding="ascii")
        tmp.replace(target)

    def __repr__(self) -> str:
        return f"TicketKeys({len(self._keys)} keys, rotate={self.rotate})"


# ---------------------------------------------------------------------------
# What a TLS 1.3 ticket carries (RFC 8446 4.6.1)

_STATE_VERSION = 1
_STATE_HEAD = struct.Struct(">BHB")  # version, cipher_suite, len(psk)
# issued_at_ms, ticket_age_add, lifetime, max_early_data_size, len(server_name)
_STATE_MIDDLE = struct.Struct(">QIIIH")


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumptionState:
    """The server's memory of a session, sealed into the ticket."""

    cipher_suite: int
    psk: bytes
    issued_at_ms: int
    ticket_age_add: int
    lifetime: int
    max_early_data_size: int
    server_name: str | None
    alpn_protocol: str | None

    def __repr__(self) -> str:
        return (
            f"ResumptionState(suite=0x{self.cipher_suite:04x}, psk=<redacted>, "
            f"sni={self.server_name!r}, alpn={self.alpn_protocol!r})"
        )

    def encode(self) -> bytes:
        """version(1) suite(2) psk<1> issued_at_ms(8) age_add(4) lifetime(4)
        max_early_data_size(4) server_name<2> alpn_protocol<1>, big-endian."""
        return pack_resumption_state(
            self.cipher_suite,
            self.psk,
            self.issued_at_ms,
            self.ticket_age_add,
            self.lifetime,
            self.max_early_data_size,
            (self.server_name or "").encode("utf-8"),
            (self.alpn_protocol or "").encode("utf-8"),
        )

    @classmethod
    def decode(cls, data: bytes) -> ResumptionState:
        r = Reader(data)
        if r.u8() != _STATE_VERSION:
            raise DecodeError("unknown resumption state version")
        state = cls(
            cipher_suite=r.u16(),
            psk=r.opaque(1),
            issued_at_ms=r.uint(8),
            ticket_age_add=r.u32(),
            lifetime=r.u32(),
            max_early_data_size=r.u32(),
            server_name=r.opaque(2).decode("utf-8") or None,
            alpn_protocol=r.opaque(1).decode("utf-8") or None,
        )
        r.expect_end("resumption state")
        return state


def pack_resumption_state(
    cipher_suite: int,
    psk: bytes,
    issued_at_ms: int,
    ticket_age_add: int,
    lifetime: int,
    max_early_data_size: int,
    server_name: bytes,
    alpn_protocol: bytes,
) -> bytes:
    """:meth:`ResumptionState.encode` from the field values (names UTF-8 encoded).

    A server seals one of these per ticket it issues; it calls this
    directly, with the names encoded once per flight, instead of building a
    ResumptionState first.  Two struct.pack calls.
    """
    if len(psk) > 0xFF or len(server_name) > 0xFFFF or len(alpn_protocol) > 0xFF:
        raise ValueError("resumption state field too long")
    try:
        head = _STATE_HEAD.pack(_STATE_VERSION, cipher_suite, len(psk))
        middle = _STATE_MIDDLE.pack(
            issued_at_ms, ticket_age_add, lifetime, max_early_data_size, len(server_name)
        )
    except struct.error as exc:
        raise ValueError(f"resumption state field out of range: {exc}") from None
    return head + psk + middle + server_name + bytes((len(alpn_protocol),)) + alpn_protocol


# ---------------------------------------------------------------------------
# Client side: sessions and their cache


@dataclass(slots=True, kw_only=True)
class ClientSession:
    """A ticket and what the client must remember to offer it (RFC 8446 4.6.1).

    ``received_at`` is in seconds since the epoch (``TLSConfig.time``).  An
    external PSK (RFC 8446 2.2) is a session with ``external=True``, an
    identity instead of a ticket, and no expiry.
    """

    cipher_suite: int
    psk: bytes
    ticket: bytes
    ticket_age_add: int = 0
    lifetime: int = 0
    received_at: float = 0.0
    max_early_data_size: int = 0
    server_name: str | None = None
    alpn_protocol: str | None = None
    external: bool = False
    # Which hash an external PSK is bound to (RFC 8446 4.2.11).
    hash_name: str | None = None
    used: bool = field(default=False, compare=False)

    def __repr__(self) -> str:
        kind = "external" if self.external else f"lifetime={self.lifetime}"
        return f"ClientSession(suite=0x{self.cipher_suite:04x}, {kind}, psk=<redacted>)"

    @property
    def id(self) -> bytes:
        """A stable identifier (a hash of the ticket; never the ticket itself)."""
        return hashlib.sha256(self.ticket).digest()

    def expired(self, now: float) -> bool:
        if self.external:
            return False
        return now >= self.received_at + self.lifetime

    def obfuscated_age(self, now: float) -> int:
        """RFC 8446 4.2.11.1: age in ms plus ticket_age_add, mod 2^32."""
        if self.external:
            return 0
        age_ms = max(0, int((now - self.received_at) * 1000))
        return (age_ms + self.ticket_age_add) & 0xFFFFFFFF


class SessionCache:
    """Client tickets keyed by (server name, port); each handed out once by default.

    Holds TLS 1.3 :class:`ClientSession` and TLS 1.2 ``TLS12Session`` alike
    (both answer ``expired(now)``).  Thread safe, bounded (least recently
    stored entries go first).
    """

    def __init__(self, *, max_entries: int = 1024, reuse: bool = False) -> None:
        self.max_entries = max_entries
        self.reuse = reuse
        self._entries: OrderedDict[tuple[str, int], list[ClientSession | TLS12Session]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def store(self, server_name: str, port: int, session: ClientSession | TLS12Session) -> None:
        with self._lock:
            key = (server_name, port)
            bucket = self._entries.pop(key, [])
            bucket.append(session)
            self._entries[key] = bucket[-8:]  # RFC 8446 C.4: a few per server
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get(self, server_name: str, port: int, now: float) -> ClientSession | TLS12Session | None:
        """The newest unexpired session; removed unless ``reuse`` is set."""
        with self._lock:
            bucket = self._entries.get((server_name, port), [])
            live = [s for s in bucket if not s.expired(now)]
            if not live:
                self._entries.pop((server_name, port), None)
                return None
            session = live[-1]
            if not self.reuse:
                live.pop()
            if live:
                self._entries[(server_name, port)] = live
            else:
                self._entries.pop((server_name, port), None)
            return session

    def __len__(self) -> int:
        with self._lock:
            return sum(len(b) for b in self._entries.values())


# ---------------------------------------------------------------------------
# 0-RTT anti-replay (RFC 8446 8)


class ReplayCache(Protocol):
    """A strike register of tickets already used for 0-RTT (RFC 8446 8.1).

    ``claim`` must be atomic across every server that shares the ticket
    keys: it returns True exactly once per ``key`` until ``expires_at``.
    A shared implementation (Redis ``SET key 1 NX EXAT expires_at``) gives
    the same guarantee to a whole fleet.
    """

    def claim(self, key: bytes, expires_at: float, now: float) -> bool:
        """Record ``key``; True when it was not recorded before."""


class InMemoryReplayCache:
    """The default strike register: one process, bounded, thread safe.

    When full it refuses every claim (0-RTT is then rejected, and the
    connection falls back to 1-RTT): failing closed is the only safe answer
    once the register cannot remember what it has seen.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: bytes, expires_at: float, now: float) -> bool:
        with self._lock:
            if len(self._seen) >= self.max_entries:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            seen = self._seen.get(key)
            if seen is not None and seen > now:
                return False
            if len(self._seen) >= self.max_entries:
                return False
            self._seen[key] = expires_at
            return True

    def __len__(self) -> int:
        return len(self._seen)


# ---------------------------------------------------------------------------
# External PSKs (RFC 8446 2.2) and the importer (RFC 9258)

# RFC 9258 9: TLS KDF identifiers.
_TARGET_KDF = {"sha256": 0x0001, "sha384": 0x0002}
_TLS13 = 0x0304


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalPsk:
    """A key both sides were given out of band, and its identity.

    ``hash_name`` is the hash the PSK is used with (RFC 8446 4.2.11: SHA-256
    unless agreed otherwise).  With ``imported=True`` the key goes through
    the RFC 9258 importer first: the identity on the wire becomes an
    ImportedIdentity bound to TLS 1.3 and the target hash, and the binder
    label is "imp binder", so the same external key can never be confused
    with a key for another protocol or hash.
    """

    identity: bytes
    key: bytes
    hash_name: str = "sha256"
    imported: bool = False
    # RFC 9258 3: an optional context (e.g. a deployment name).
    context: bytes = b""

    def __repr__(self) -> str:
        return f"ExternalPsk(identity={self.identity!r}, key=<redacted>, {self.hash_name})"

    def wire_identity(self) -> bytes:
        """The PskIdentity.identity sent in the ClientHello."""
        if not self.imported:
            return self.identity
        # struct { opaque external_identity<1..2^16-1>; opaque context<0..2^16-1>;
        #          uint16 target_protocol; uint16 target_kdf; } ImportedIdentity;
        w = Writer()
        w.opaque(2, self.identity)
        w.opaque(2, self.context)
        w.u16(_TLS13)
        w.u16(_TARGET_KDF[self.hash_name])
        return w.getvalue()

    def derived_key(self) -> bytes:
        """The PSK fed to the key schedule (RFC 9258 4.1 for imported keys)."""
        if not self.imported:
            return self.key
        # epskx = HKDF-Extract(0, epsk); ipskx = HKDF-Expand-Label(epskx,
        # "derived psk", Hash(ImportedIdentity), L).  The EPSK's own hash is
        # SHA-256 unless agreed otherwise (RFC 9258 4.1).
        epskx = ks.hkdf_extract("sha256", b"", self.key)
        digest = hashlib.sha256(self.wire_identity()).digest()
        return ks.hkdf_expand_label(
            "sha256", epskx, b"derived psk", digest, ks.hash_length(self.hash_name)
        )
