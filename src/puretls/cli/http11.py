"""Just enough HTTP/1.0 and HTTP/1.1 for ``puretls server --http``.

Requests are cut out of the decrypted byte stream: a request is answered
once its header is complete (RFC 9112 2.1: the header ends at the first
empty line), however the client split it over records, and a body announced
by Content-Length is read and dropped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

# A header larger than this is not a request this toy server wants.
MAX_HEADER_BYTES = 32 * 1024
MAX_BODY_BYTES = 1024 * 1024


class BadRequest(Exception):
    """The client sent something that is not an HTTP/1.x request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in order

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        """RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive"."""
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version == "HTTP/1.1":
            return "close" not in tokens
        return "keep-alive" in tokens


class RequestReader:
    """Feed decrypted bytes; take out complete requests."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip_body = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_request(self) -> Request | None:
        """The next complete request, or None until more bytes arrive."""
        if self._skip_body:
            dropped = min(self._skip_body, len(self._buffer))
            del self._buffer[:dropped]
            self._skip_body -= dropped
            if self._skip_body:
                return None
        # RFC 9112 2.2: a server SHOULD ignore empty lines before a request.
        while self._buffer[:1] in (bytearray(b"\r"), bytearray(b"\n")):
            del self._buffer[:1]
        end, size = _header_end(self._buffer)
        if end < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise BadRequest("request header too large")
            return None
        head = bytes(self._buffer[:end])
        del self._buffer[: end + size]
        request = parse_head(head)
        self._skip_body = _body_length(request)
        return request


def _header_end(buffer: bytearray) -> tuple[int, int]:
    """Where the empty line ending the header starts, and its length; -1 if absent."""
    # RFC 9112 2.2: a recipient MAY accept a bare LF as a line terminator.
    ends = [(buffer.find(mark), len(mark)) for mark in (b"\r\n\r\n", b"\n\n", b"\n\r\n")]
    found = [(pos, size) for pos, size in ends if pos >= 0]
    return min(found) if found else (-1, 0)


def parse_head(head: bytes) -> Request:
    """Parse a request line and header fields (RFC 9112 3, 5)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes anything
        raise BadRequest("undecodable header") from exc
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[0].isalpha():
        raise BadRequest(f"not an HTTP/1.x request line: {lines[0][:60]!r}")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(f"malformed header field: {line[:60]!r}")
        headers.append((name.lower(), value.strip()))
    return Request(method=parts[0], target=parts[1], version=parts[2], headers=tuple(headers))


def _body_length(request: Request) -> int:
    if request.header("transfer-encoding") is not None:
        raise BadRequest("chunked request bodies are not supported")
    value = request.header("content-length")
    if value is None:
        return 0
    if not value.isdigit() or int(value) > MAX_BODY_BYTES:
        raise BadRequest(f"bad Content-Length {value[:20]!r}")
    return int(value)


def render_page(request: Request, rows: Sequence[tuple[str, str]]) -> tuple[str, bytes]:
    """(content type, body): HTML for browsers, plain text for curl and friends."""
    if "text/html" in (request.header("accept") or ""):
        items = "\n".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
        )
        page = (
            "<!doctype html>\n<html><head><meta charset='utf-8'><title>puretls</title></head>\n"
            "<body><h1>Hello from puretls</h1>\n<p>This connection negotiated:</p>\n"
            f"<table>\n{items}\n</table>\n</body></html>\n"
        )
        return "text/html; charset=utf-8", page.encode()
    width = max((len(k) for k, _ in rows), default=0) + 1
    lines = [f"{k + ':':<{width}} {v}" for k, v in rows]
    page = "Hello from puretls. This connection negotiated:\n\n" + "\n".join(lines) + "\n"
    return "text/plain; charset=utf-8", page.encode()


def response(
    status: str, content_type: str, body: bytes, *, version: str, keep_alive: bool, head: bool
) -> bytes:
    """A complete response; Content-Length is always set so keep-alive works."""
    connection = "keep-alive" if keep_alive else "close"
    header = (
        f"{version} {status}\r\n"
        "Server: puretls\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {connection}\r\n"
        "\r\n"
    )
    return header.encode("latin-1") + (b"" if head else body)
