"""Watching a connection: every record, message, secret, key change and alert.

A caller who wants to see TLS at work puts a :class:`Tracer` in
``TLSConfig.tracer``.  The connection then reports, in order, structured
events with their raw bytes attached:

* :class:`RecordEvent`: each record in or out, with its real content type,
  the traffic secret that protects it and its sequence number;
* :class:`MessageEvent`: each handshake message, decoded into named
  :class:`~puretls.trace_decode.Field` values with byte offsets;
* :class:`SecretEvent`: each key schedule step (RFC 8446 7.1): the
  operation, the label, the inputs by name, the transcript hash and output;
* :class:`KeyChangeEvent`, :class:`AlertEvent`, :class:`StateEvent`.

Secrets (key schedule outputs, traffic keys and IVs, the decryption of
protected records) are left out unless the tracer's ``reveal_secrets`` is
true: that is for tracing one's own connection.  Tracing off costs one
``is not None`` check at each choke point of the connection.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from puretls.crypto.key_schedule import hash_length
from puretls.enums import HandshakeType
from puretls.trace_decode import Field, describe_message

if TYPE_CHECKING:
    from puretls.messages import HandshakeMessage

__all__ = [
    "AlertEvent",
    "ConnectionTracer",
    "Field",
    "KeyChangeEvent",
    "MessageEvent",
    "RecordEvent",
    "SecretEvent",
    "StateEvent",
    "TraceEvent",
    "TraceLog",
    "Tracer",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordEvent:
    """One record as it crossed the wire."""

    kind: ClassVar[str] = "record"
    direction: str  # "sent" | "received"
    content_type: int  # the real one (TLS 1.3: the inner type)
    length: int  # the record's length field (fragment bytes on the wire)
    key: str | None  # the traffic secret protecting it; None for plaintext
    sequence: int | None  # the AEAD sequence number (RFC 8446 5.3); None for plaintext
    raw: bytes = field(repr=False)  # header + fragment as on the wire
    # The content carried: always for plaintext records, and for protected
    # ones only when secrets are revealed (it is their decryption).
    plaintext: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEvent:
    """One handshake message, decoded."""

    kind: ClassVar[str] = "handshake"
    direction: str  # "sent" | "received"
    name: str  # the message class name, e.g. "ClientHello", "HelloRetryRequest"
    msg_type: int
    key: str | None  # the traffic secret protecting the records it travels in
    raw: bytes = field(repr=False)  # the whole message, 4-byte header included
    fields: tuple[Field, ...] = field(repr=False)
    message: HandshakeMessage = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretEvent:
    """One key schedule step: HKDF-Extract, Derive-Secret or HKDF-Expand-Label."""

    kind: ClassVar[str] = "key_schedule"
    direction: ClassVar[str] = "local"
    operation: str  # "HKDF-Extract" | "Derive-Secret" | "HKDF-Expand-Label"
    stage: str  # "Early Secret", "Handshake Secret", "Master Secret", "Traffic keys", ...
    name: str  # what the output is, e.g. "client_handshake_traffic_secret"
    label: str  # the HkdfLabel label without "tls13 " ("" for an Extract)
    inputs: tuple[tuple[str, str], ...]  # (role, name), e.g. ("Secret", "handshake_secret")
    context: bytes  # the transcript hash or context (not secret)
    length: int
    value: bytes | None = field(default=None, repr=False)  # None unless revealed


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyChangeEvent:
    """Record protection changed in one direction (RFC 8446 7.3)."""

    kind: ClassVar[str] = "key_change"
    direction: str  # "write" | "read"
    secret: str  # the traffic secret's name
    cipher_suite: str
    key: bytes | None = field(default=None, repr=False)  # None unless revealed
    iv: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertEvent:
    kind: ClassVar[str] = "alert"
    direction: str  # "sent" | "received"
    level: int
    description: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StateEvent:
    """The handshake state machine moved on."""

    kind: ClassVar[str] = "state"
    direction: ClassVar[str] = "local"
    old: str
    new: str


TraceEvent = RecordEvent | MessageEvent | SecretEvent | KeyChangeEvent | AlertEvent | StateEvent


class Tracer(Protocol):
    """What ``TLSConfig.tracer`` takes: one method, and the reveal switch."""

    @property
    def reveal_secrets(self) -> bool:
        """Whether secrets, keys and decrypted records go into the events."""

    def event(self, event: TraceEvent) -> None:
        """Called once per event, in order."""


class TraceLog:
    """A :class:`Tracer` that keeps every event in a list."""

    def __init__(self, *, reveal_secrets: bool = False) -> None:
        self.reveal_secrets = reveal_secrets
        self.events: list[TraceEvent] = []

    def event(self, event: TraceEvent) -> None:
        self.events.append(event)

    def messages(self) -> list[MessageEvent]:
        return [e for e in self.events if isinstance(e, MessageEvent)]

    def secrets(self) -> list[SecretEvent]:
        return [e for e in self.events if isinstance(e, SecretEvent)]

    def records(self) -> list[RecordEvent]:
        return [e for e in self.events if isinstance(e, RecordEvent)]

    def __repr__(self) -> str:
        return f"<TraceLog {len(self.events)} events, reveal_secrets={self.reveal_secrets}>"


# --- Naming the key schedule (RFC 8446 7.1) --------------------------------

# Derive-Secret labels and what their outputs are called in RFC 8446 7.1.
_DERIVED_NAMES = {
    b"ext binder": "binder_key",
    b"res binder": "binder_key",
    b"c e traffic": "client_early_traffic_secret",
    b"e exp master": "early_exporter_master_secret",
    b"c hs traffic": "client_handshake_traffic_secret",
    b"s hs traffic": "server_handshake_traffic_secret",
    b"c ap traffic": "client_application_traffic_secret_0",
    b"s ap traffic": "server_application_traffic_secret_0",
    b"exp master": "exporter_master_secret",
    b"res master": "resumption_master_secret",
    b"derived": "derived",
}
_STAGES = {
    "early_secret": "Early Secret",
    "handshake_secret": "Handshake Secret",
    "master_secret": "Master Secret",
}
_HASHES_BY_LENGTH = {hash_length(n): n for n in ("sha256", "sha384")}


class ConnectionTracer:
    """Turns the connection's raw observations into events (used by Connection).

    It names secrets by following the schedule: an output is named from its
    label (RFC 8446 7.1) and remembered, so a later step can name its input;
    a transcript hash is named by recomputing the hash over the messages seen
    so far (with the RFC 8446 4.4.1 HelloRetryRequest rewrite).
    """

    def __init__(self, tracer: Tracer, *, is_server: bool) -> None:
        self._tracer = tracer
        self._is_server = is_server
        self.reveal = bool(tracer.reveal_secrets)
        self._names: dict[bytes, str] = {}
        self._messages: list[tuple[str, bytes]] = []
        self._read_key: str | None = None
        self._write_key: str | None = None

    # -- records, messages, alerts, states --------------------------------

    def record(
        self, direction: str, content_type: int, content: bytes, wire: bytes, seq: int | None
    ) -> None:
        protected = seq is not None
        key = (self._write_key if direction == "sent" else self._read_key) if protected else None
        self._tracer.event(
            RecordEvent(
                direction=direction,
                content_type=int(content_type),
                length=len(wire) - 5,
                key=key,
                sequence=seq,
                raw=wire,
                plaintext=content if (self.reveal or not protected) else None,
            )
        )

    def message(self, direction: str, message: HandshakeMessage, raw: bytes) -> None:
        name = type(message).__name__
        self._messages.append((self._sender_name(direction, name), raw))
        key = self._write_key if direction == "sent" else self._read_key
        self._tracer.event(
            MessageEvent(
                direction=direction,
                name=name,
                msg_type=raw[0],
                key=key,
                raw=raw,
                fields=describe_message(message, raw),
                message=message,
            )
        )

    def _sender_name(self, direction: str, name: str) -> str:
        """'server Finished', 'client Certificate': both sides send these."""
        if name not in ("Finished", "Certificate", "CertificateVerify"):
            return name
        from_server = self._is_server == (direction == "sent")
        return f"{'server' if from_server else 'client'} {name}"

    def alert(self, direction: str, level: int, description: int) -> None:
        self._tracer.event(
            AlertEvent(direction=direction, level=int(level), description=int(description))
        )

    def state(self, old: object, new: object) -> None:
        old_name = type(old).__name__ if old is not None else "Start"
        new_name = type(new).__name__
        if old_name != new_name:
            self._tracer.event(StateEvent(old=old_name, new=new_name))

    def key_change(
        self, direction: str, cipher_suite: str, secret: bytes, key: bytes, iv: bytes
    ) -> None:
        name = self._names.get(secret, "traffic secret")
        if direction == "write":
            self._write_key = name
        else:
            self._read_key = name
        self._tracer.event(
            KeyChangeEvent(
                direction=direction,
                secret=name,
                cipher_suite=cipher_suite,
                key=key if self.reveal else None,
                iv=iv if self.reveal else None,
            )
        )

    def protection_change(self, direction: str, protection: object) -> None:
        """TLS 1.2: keys from the key_block (RFC 5246 6.3), named by their writer."""
        writer = "server" if self._is_server == (direction == "write") else "client"
        suite = getattr(getattr(protection, "suite", None), "name", "none")
        name = f"{writer}_write_key"
        if direction == "write":
            self._write_key = name
        else:
            self._read_key = name
        self._tracer.event(KeyChangeEvent(direction=direction, secret=name, cipher_suite=suite))

    def logged_secret(self, label: str, secret: bytes) -> None:
        """A key log secret the schedule steps did not show (the TLS 1.2 master secret)."""
        if secret in self._names:
            return
        name = "master_secret" if label == "CLIENT_RANDOM" else label.lower()
        self._names[secret] = name
        self._tracer.event(
            SecretEvent(
                operation="PRF" if label == "CLIENT_RANDOM" else "key log",
                stage="TLS 1.2" if label == "CLIENT_RANDOM" else "Key log",
                name=name,
                label="master secret" if label == "CLIENT_RANDOM" else label,
                inputs=(("Secret", "pre_master_secret"),) if label == "CLIENT_RANDOM" else (),
                context=b"",
                length=len(secret),
                value=secret if self.reveal else None,
            )
        )

    # -- the key schedule (crypto.key_schedule.observed) --------------------

    def key_step(
        self, operation: str, first: bytes, second: bytes, context: bytes, out: bytes
    ) -> None:
        if operation == "extract":
            event = self._extract_event(salt=first, ikm=second, prk=out)
        else:
            event = self._expand_event(secret=first, label=second, context=context, out=out)
        self._names.setdefault(out, event.name)
        self._tracer.event(event)

    def _name_of(self, value: bytes, default: str) -> str:
        if not any(value):
            return "0"  # RFC 8446 7.1 writes a string of Hash.length zeros as 0
        return self._names.get(value, default)

    def _extract_event(self, *, salt: bytes, ikm: bytes, prk: bytes) -> SecretEvent:
        salt_name = self._name_of(salt, "salt")
        if salt_name == "0":
            name, ikm_name = "early_secret", "PSK" if any(ikm) else "0"
        elif salt_name == "derived(early_secret)":
            name, ikm_name = "handshake_secret", self._name_of(ikm, "(EC)DHE shared secret")
        elif salt_name == "derived(handshake_secret)":
            name, ikm_name = "master_secret", self._name_of(ikm, "IKM")
        else:
            name, ikm_name = "PRK", self._name_of(ikm, "IKM")
        return SecretEvent(
            operation="HKDF-Extract",
            stage=_STAGES.get(name, "HKDF"),
            name=name,
            label="",
            inputs=(("Salt", salt_name), ("IKM", ikm_name)),
            context=b"",
            length=len(prk),
            value=prk if self.reveal else None,
        )

    def _expand_event(
        self, *, secret: bytes, label: bytes, context: bytes, out: bytes
    ) -> SecretEvent:
        secret_name = self._names.get(secret, "secret")
        derived = label in _DERIVED_NAMES and len(out) == len(secret)
        if derived:
            name = _DERIVED_NAMES[label]
            if name == "derived":
                name = f"derived({secret_name})"
            context_name = self._transcript_name(context)
            operation = "Derive-Secret"
        else:
            name = self._expanded_name(secret_name, label)
            context_name = context.hex() if context else '""'
            operation = "HKDF-Expand-Label"
        stage = _STAGES.get(secret_name, "Traffic keys")
        if label in (b"resumption", b"exporter"):
            stage = "Resumption" if label == b"resumption" else "Exporter"
        return SecretEvent(
            operation=operation,
            stage=stage,
            name=name,
            label=label.decode("ascii", "replace"),
            inputs=(("Secret", secret_name), ("Context", context_name)),
            context=context,
            length=len(out),
            value=out if self.reveal else None,
        )

    @staticmethod
    def _expanded_name(secret_name: str, label: bytes) -> str:
        if label == b"traffic upd":
            # RFC 8446 7.2: application_traffic_secret_N+1 from _N.
            stem, _, number = secret_name.rpartition("_")
            if number.isdigit():
                return f"{stem}_{int(number) + 1}"
            return f"next({secret_name})"
        if label == b"finished":
            return f"finished_key({secret_name})"
        if label == b"resumption":
            return "resumption_psk"
        return f"{label.decode('ascii', 'replace')}({secret_name})"

    def _transcript_name(self, context: bytes) -> str:
        """'Transcript-Hash(ClientHello..ServerHello)' when the hash matches."""
        hash_name = _HASHES_BY_LENGTH.get(len(context))
        if hash_name is None:
            return context.hex()
        if context == hashlib.new(hash_name).digest():
            return 'Transcript-Hash("")'
        running = hashlib.new(hash_name)
        names = [name for name, _ in self._messages]
        for i, (name, raw) in enumerate(self._messages):
            if i == 1 and name == "HelloRetryRequest":
                # RFC 8446 4.4.1: ClientHello1 is replaced by message_hash.
                first = hashlib.new(hash_name, self._messages[0][1]).digest()
                running = hashlib.new(hash_name)
                running.update(bytes((HandshakeType.message_hash, 0, 0, len(first))) + first)
            running.update(raw)
            if running.digest() == context:
                return f"Transcript-Hash({names[0]}..{name})" if i else f"Transcript-Hash({name})"
        return context.hex()
