"""The HTTP/1.x request reader behind ``puretls server --http``."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretls.cli.http11 import (
    MAX_HEADER_BYTES,
    BadRequest,
    Request,
    RequestReader,
    parse_head,
    render_page,
    response,
)

GET = b"GET /path HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n"


def _read_all(chunks: list[bytes]) -> list[Request]:
    reader = RequestReader()
    requests = []
    for chunk in chunks:
        reader.feed(chunk)
        while (request := reader.next_request()) is not None:
            requests.append(request)
    return requests


def test_reader_waits_for_the_end_of_the_header() -> None:
    reader = RequestReader()
    reader.feed(GET[:-2])
    assert reader.next_request() is None
    reader.feed(GET[-2:])
    request = reader.next_request()
    assert request is not None
    assert (request.method, request.target, request.version) == ("GET", "/path", "HTTP/1.1")
    assert request.header("host") == "example"


@given(st.lists(st.integers(min_value=0, max_value=len(GET) * 2), max_size=8))
def test_any_split_of_two_pipelined_requests_gives_the_same_requests(cuts: list[int]) -> None:
    stream = GET + GET.replace(b"/path", b"/other")
    points = sorted({0, len(stream), *(min(c, len(stream)) for c in cuts)})
    chunks = [stream[a:b] for a, b in itertools.pairwise(points)]
    requests = _read_all(chunks)
    assert [r.target for r in requests] == ["/path", "/other"]


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_bad_request(data: bytes) -> None:
    reader = RequestReader()
    reader.feed(data + b"\r\n\r\n")
    with contextlib.suppress(BadRequest):
        reader.next_request()


def test_body_announced_by_content_length_is_skipped() -> None:
    post = b"POST /form HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    requests = _read_all([post[:-3], post[-3:] + GET])
    assert [r.method for r in requests] == ["POST", "GET"]


def test_bare_lf_line_endings_are_accepted() -> None:
    (request,) = _read_all([b"GET / HTTP/1.0\nUser-Agent: t\n\n"])
    assert request.header("user-agent") == "t"


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"GET / HTTP/1.1", True),
        (b"GET / HTTP/1.1\r\nConnection: close", False),
        (b"GET / HTTP/1.1\r\nConnection: Keep-Alive, Close", False),
        (b"GET / HTTP/1.0", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive", True),
    ],
)
def test_keep_alive_follows_rfc9112(head: bytes, keep_alive: bool) -> None:
    assert parse_head(head).keep_alive is keep_alive


@pytest.mark.parametrize(
    "head",
    [
        b"GET /",
        b"GET / HTTP/2.0",
        b"GET / HTTP/1.1\r\nno colon here",
        b"GET / HTTP/1.1\r\n Host: folded",
        b"/ GET HTTP/1.1",
    ],
)
def test_malformed_heads_are_bad_requests(head: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_head(head)


def test_oversized_header_is_rejected() -> None:
    reader = RequestReader()
    reader.feed(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEADER_BYTES)
    with pytest.raises(BadRequest):
        reader.next_request()


def test_chunked_bodies_and_bad_lengths_are_rejected() -> None:
    for extra in (b"Transfer-Encoding: chunked", b"Content-Length: -1"):
        reader = RequestReader()
        reader.feed(b"POST / HTTP/1.1\r\n" + extra + b"\r\n\r\n")
        with pytest.raises(BadRequest):
            reader.next_request()


def test_page_is_plain_text_unless_the_client_accepts_html() -> None:
    rows = [("protocol", "TLSv1.3"), ("cipher suite", "<TLS_AES_128_GCM_SHA256>")]
    kind, body = render_page(parse_head(b"GET / HTTP/1.1"), rows)
    assert kind.startswith("text/plain")
    assert b"protocol:     TLSv1.3" in body
    kind, body = render_page(parse_head(b"GET / HTTP/1.1\r\nAccept: text/html"), rows)
    assert kind.startswith("text/html")
    assert b"&lt;TLS_AES_128_GCM_SHA256&gt;" in body


def test_response_sets_content_length_and_omits_body_for_head() -> None:
    full = response("200 OK", "text/plain", b"abc", version="HTTP/1.1", keep_alive=True, head=False)
    assert full.endswith(b"\r\n\r\nabc")
    assert b"Content-Length: 3\r\n" in full and b"Connection: keep-alive" in full
    head = response("200 OK", "text/plain", b"abc", version="HTTP/1.0", keep_alive=False, head=True)
    assert head.endswith(b"Connection: close\r\n\r\n")
