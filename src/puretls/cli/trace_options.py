"""``--trace``, ``--reveal-secrets`` and ``--trace-html FILE`` for the commands.

A :class:`TraceSession` is made from the parsed options and attached to a
puretls SSLContext; every connection made through the context then gets a
tracer that prints the text trace as it happens (``--trace``) and keeps the
events for the HTML page, written by :meth:`TraceSession.finish`.
"""

from __future__ import annotations

import argparse
import ssl
import threading
from typing import TextIO

from puretls.cli.trace_html import write_html
from puretls.cli.trace_text import TextTracer
from puretls.trace import AlertEvent, TraceEvent, TraceLog


def add_trace_options(parser: argparse.ArgumentParser, *, text: bool = True) -> None:
    if text:
        parser.add_argument(
            "--trace", action="store_true", help="print every message, record and key change"
        )
        parser.add_argument(
            "--reveal-secrets",
            action="store_true",
            help="with --trace / --trace-html: show the key schedule, keys and decrypted "
            "records (secrets of this connection!)",
        )
    parser.add_argument(
        "--trace-html", metavar="FILE", help="write the connection as a self-contained HTML page"
    )


class _Tracer:
    """Prints (when asked) and keeps the events of one connection."""

    def __init__(self, session: TraceSession, role: str) -> None:
        self._session = session
        self.reveal_secrets = session.reveal
        self.role = role
        self.log = TraceLog(reveal_secrets=session.reveal)
        self._text = (
            TextTracer(session.out, role=role, reveal_secrets=session.reveal)
            if session.text
            else None
        )

    def event(self, event: TraceEvent) -> None:
        self.log.event(event)
        if self._text is not None:
            self._text.event(event)
        if isinstance(event, AlertEvent):
            # close_notify or a fatal alert: the connection is ending, so the
            # page is (re)written now, even if the process is killed later.
            self._session.write_page(self)


class TraceSession:
    """The tracing the options asked for, across the connections of one command."""

    def __init__(
        self, *, text: bool, reveal: bool, html_path: str | None, out: TextIO, title: str
    ) -> None:
        self.text = text
        self.reveal = reveal
        self.html_path = html_path
        self.out = out
        self.title = title
        self.tracers: list[_Tracer] = []
        self._lock = threading.Lock()

    @classmethod
    def from_args(cls, args: argparse.Namespace, out: TextIO, title: str) -> TraceSession:
        return cls(
            text=bool(getattr(args, "trace", False)),
            reveal=bool(getattr(args, "reveal_secrets", False)),
            html_path=getattr(args, "trace_html", None),
            out=out,
            title=title,
        )

    @property
    def active(self) -> bool:
        return self.text or self.html_path is not None

    def attach(self, context: ssl.SSLContext) -> None:
        """Trace every connection ``context`` makes (puretls's SSLContext only)."""
        if self.active:
            context.puretls_tracer_factory = self._new_tracer  # type: ignore[attr-defined]

    def _new_tracer(self, server_side: bool) -> _Tracer:
        tracer = _Tracer(self, "server" if server_side else "client")
        self.tracers.append(tracer)
        return tracer

    def write_page(self, tracer: _Tracer) -> None:
        if self.html_path is not None:
            with self._lock:
                events = list(tracer.log.events)
                write_html(self.html_path, events, role=tracer.role, title=self.title)

    def finish(self) -> str | None:
        """Write the HTML page of the last connection; its path, or None."""
        if self.html_path is None or not self.tracers:
            return None
        self.write_page(self.tracers[-1])
        return self.html_path


def start_trace(
    context: ssl.SSLContext, args: argparse.Namespace, out: TextIO, title: str
) -> TraceSession:
    """Attach the tracing the options ask for; kept on ``args`` for finish_trace."""
    session = TraceSession.from_args(args, out, title)
    session.attach(context)
    args.trace_session = session
    return session


def finish_trace(args: argparse.Namespace, out: TextIO) -> None:
    """Write the HTML page, if one was asked for, and say where it is."""
    session: TraceSession | None = getattr(args, "trace_session", None)
    if session is not None and (path := session.finish()) is not None:
        print(f"trace: HTML page written to {path}", file=out, flush=True)
