"""The text trace of ``puretls client --trace`` / ``server --trace``.

One block per handshake message, in order, with an arrow for its direction,
its fields and extensions named and decoded and certificates summarised;
one line per record, key change, alert and state change; and, when secrets
are revealed, the key schedule lines in order.  ANSI colour on a terminal,
plain text when piped (or when NO_COLOR is set).
"""

from __future__ import annotations

import os
from typing import TextIO

from puretls.enums import AlertDescription, AlertLevel, ContentType, enum_name
from puretls.trace import (
    AlertEvent,
    Field,
    KeyChangeEvent,
    MessageEvent,
    RecordEvent,
    SecretEvent,
    StateEvent,
    TraceEvent,
)

_COLOURS = {
    "client": "\x1b[36m",  # cyan: what the client sends
    "server": "\x1b[35m",  # magenta: what the server sends
    "secret": "\x1b[33m",  # yellow: key schedule
    "dim": "\x1b[2m",
    "alert": "\x1b[31;1m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"


def wants_colour(out: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def sender(direction: str, role: str) -> str:
    """'client' or 'server': who sent what this side saw go ``direction``."""
    mine = direction == "sent"
    return role if mine else ("server" if role == "client" else "client")


class TextTracer:
    """A :class:`~puretls.trace.Tracer` that prints each event as it happens."""

    def __init__(
        self, out: TextIO, *, role: str, reveal_secrets: bool = False, colour: bool | None = None
    ) -> None:
        self.out = out
        self.role = role
        self.reveal_secrets = reveal_secrets
        self.colour = wants_colour(out) if colour is None else colour

    def event(self, event: TraceEvent) -> None:
        text = format_event(event, role=self.role, colour=self.colour, reveal=self.reveal_secrets)
        if text:
            self.out.write(text + "\n")
            self.out.flush()


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if colour else text


def _arrow(direction: str, role: str) -> tuple[str, str]:
    who = sender(direction, role)
    return ("client -> server" if who == "client" else "client <- server"), who


def format_event(event: TraceEvent, *, role: str, colour: bool, reveal: bool) -> str:
    """The text for one event ('' for events this view leaves out)."""
    if isinstance(event, MessageEvent):
        return _format_message(event, role, colour)
    if isinstance(event, RecordEvent):
        arrow, _ = _arrow(event.direction, role)
        kind = enum_name(ContentType, event.content_type)
        how = (
            f"protected by {event.key}, seq {event.sequence}"
            if event.key is not None
            else "plaintext"
        )
        return _paint(f"    record {arrow}  {kind}, {event.length} bytes, {how}", "dim", colour)
    if isinstance(event, SecretEvent):
        if not reveal or event.value is None:
            return ""
        inputs = ", ".join(f"{role_}={name}" for role_, name in event.inputs)
        label = f' "{event.label}"' if event.label else ""
        line = f"  key  {event.operation}{label}({inputs})\n"
        line += f"         {event.name} = {event.value.hex()}"
        return _paint(line, "secret", colour)
    if isinstance(event, KeyChangeEvent):
        line = f"  key  {event.direction} key <- {event.secret} ({event.cipher_suite})"
        if event.key is not None and event.iv is not None:
            line += f"\n         key {event.key.hex()}  iv {event.iv.hex()}"
        return _paint(line, "secret" if reveal else "dim", colour)
    if isinstance(event, AlertEvent):
        arrow, _ = _arrow(event.direction, role)
        level = enum_name(AlertLevel, event.level)
        description = enum_name(AlertDescription, event.description)
        return _paint(f"!!! alert {arrow}  {level} {description}", "alert", colour)
    if isinstance(event, StateEvent):
        return _paint(f"    state  {event.old} -> {event.new}", "dim", colour)
    return ""


def _format_message(event: MessageEvent, role: str, colour: bool) -> str:
    arrow, who = _arrow(event.direction, role)
    protection = f"under {event.key}" if event.key else "in clear"
    head = (
        _paint(f"{arrow}  {event.name}", who, colour) + f"  ({len(event.raw)} bytes, {protection})"
    )
    lines = [head]
    lines += _format_fields(event.fields[2:], indent=6)  # msg_type, length: in the head
    return "\n".join(lines)


def _format_fields(fields: tuple[Field, ...], indent: int) -> list[str]:
    width = max((len(f.name) for f in fields), default=0)
    lines = []
    for f in fields:
        lines.append(f"{' ' * indent}{f.name.ljust(width)}  {f.value}".rstrip())
        lines += _format_fields(f.children, indent + 2)
    return lines
