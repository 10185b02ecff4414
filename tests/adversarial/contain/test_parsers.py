"""The proxy's pure parsers on hostile input: they refuse with HttpError, never crash otherwise."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.contain.http1 import (
    HttpError,
    check_host_header,
    find_head_end,
    parse_chunk_size,
    parse_request_head,
    parse_response_head,
)

_PIECES = [
    b"GET ",
    b"CONNECT ",
    b"http://",
    b"a.test",
    b":80",
    b"/",
    b" HTTP/1.1",
    b"\r\n",
    b"\n",
    b"\r",
    b"Host: ",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked",
    b"1",
    b"-1",
    b",",
    b" ",
    b"\t",
    b"\x00",
    b"\xff",
    b"[::1]",
    b"@",
    b"#",
    b"Connection: ",
    b"close",
    b":",
]
heads = st.lists(st.sampled_from(_PIECES), max_size=30).map(b"".join)


@settings(max_examples=600)
@given(st.one_of(heads, st.binary(max_size=300)))
def test_request_parser_only_raises_http_errors(data: bytes) -> None:
    head = data if data.endswith(b"\r\n\r\n") else data + b"\r\n\r\n"
    try:
        request = parse_request_head(head)
        check_host_header(request)
        request.forward_head()
    except HttpError as exc:
        assert 400 <= exc.status < 600
    with contextlib.suppress(HttpError):
        find_head_end(data)


@settings(max_examples=400)
@given(st.one_of(heads, st.binary(max_size=300)))
def test_response_parser_only_raises_502(data: bytes) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + data + b"\r\n\r\n"
    for method in ("GET", "HEAD"):
        try:
            parse_response_head(head, method=method).forward_head(close=True)
        except HttpError as exc:
            assert exc.status == 502


@settings(max_examples=300)
@given(st.binary(max_size=40))
def test_chunk_size_lines(line: bytes) -> None:
    try:
        size = parse_chunk_size(line)
    except HttpError:
        return
    assert 0 <= size < 16**15


@pytest.mark.parametrize(
    "head",
    [
        b"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: \x00\r\n\r\n",
        b"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n X: folded\r\n\r\n",
        b"GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n",
        b"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\rb\r\n\r\n",
    ],
)
def test_known_smuggling_heads(head: bytes) -> None:
    with pytest.raises(HttpError) as info:
        parse_request_head(head)
    assert info.value.status == 400
