"""connectors/http/pagination.py: every paginator against httpx.MockTransport — the normal listing,
loop detection (a next page that was already fetched raises) and the page cap (raises, never hangs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.errors import PaginationError
from connectors.http.pagination import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    NoPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    dig,
)

BASE = "https://api.example.test"
Server = Callable[[httpx.Request], httpx.Response]


def walk(paginator: Paginator, server: Server, first: PageRequest, *, limit: int = 50) -> list[httpx.Request]:
    """Page a listing the way the runner does; returns the requests sent, in order."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return server(request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        request: PageRequest | None = first
        while request is not None:
            assert len(sent) < limit, "the paginator did not stop"
            response = client.request(
                "POST" if request.json is not None else "GET",
                request.url,
                params=request.params or None,
                json=request.json,
            )
            request = paginator.next_request(request, response, response.json())
    return sent


def _page(request: httpx.Request, key: str = "page") -> int:
    if key in request.url.params:
        return int(request.url.params[key])
    body = request.content and httpx.Response(200, content=request.content).json()
    return int(body.get(key, 1)) if isinstance(body, dict) else 1


# --- Link header (GitHub) -------------------------------------------------------------------


def link_server(pages: int, next_of: Callable[[int], int] = lambda n: n + 1) -> Server:
    def serve(request: httpx.Request) -> httpx.Response:
        n = _page(request)
        headers = {"Link": f'<{BASE}/items?page={next_of(n)}&per_page=2>; rel="next"'} if n < pages else {}
        return httpx.Response(200, json=[{"id": n}], headers=headers)

    return serve


def test_link_header_follows_next_to_the_end() -> None:
    sent = walk(LinkHeaderPaginator(), link_server(4), PageRequest(f"{BASE}/items", {"per_page": 2}))
    assert [_page(r) for r in sent] == [1, 2, 3, 4]
    assert all(r.url.params["per_page"] == "2" for r in sent)


def test_link_header_loop_is_detected() -> None:
    # page 3 links back to page 2
    paginator = LinkHeaderPaginator()
    with pytest.raises(PaginationError, match="pagination loop"):
        walk(
            paginator, link_server(9, lambda n: 2 if n == 3 else n + 1), PageRequest(f"{BASE}/items?page=1&per_page=2")
        )
    assert paginator.pages == 3


def test_link_header_page_cap() -> None:
    paginator = LinkHeaderPaginator(max_pages=3)
    with pytest.raises(PaginationError, match="exceeded 3 pages"):
        walk(paginator, link_server(10_000), PageRequest(f"{BASE}/items?page=1&per_page=2"))
    assert paginator.pages == 3


def test_a_listing_of_exactly_the_cap_ends_normally() -> None:
    sent = walk(LinkHeaderPaginator(max_pages=3), link_server(3), PageRequest(f"{BASE}/items?page=1&per_page=2"))
    assert len(sent) == 3


# --- next URL in the body (Bitbucket) -------------------------------------------------------


def next_url_server(pages: int, next_of: Callable[[int], int] = lambda n: n + 1, path: str = "next") -> Server:
    def serve(request: httpx.Request) -> httpx.Response:
        n = _page(request)
        body: dict[str, Any] = {"values": [{"id": n}]}
        if n < pages:
            nxt = f"{BASE}/items?page={next_of(n)}"
            if "." in path:
                outer, inner = path.split(".")
                body[outer] = {inner: nxt}
            else:
                body[path] = nxt
        return httpx.Response(200, json=body)

    return serve


def test_next_url_follows_the_body_to_the_end() -> None:
    sent = walk(NextUrlPaginator(), next_url_server(3), PageRequest(f"{BASE}/items", {"pagelen": 50}))
    assert [_page(r) for r in sent] == [1, 2, 3]
    assert sent[0].url.params["pagelen"] == "50"  # the next URL carries its own parameters


def test_next_url_at_a_nested_path_keeps_the_json_body() -> None:
    query = {"q": "x"}
    sent = walk(
        NextUrlPaginator("links.next"), next_url_server(2, path="links.next"), PageRequest(f"{BASE}/items", json=query)
    )
    assert len(sent) == 2 and all(r.method == "POST" and r.content == sent[0].content for r in sent)


def test_next_url_loop_is_detected() -> None:
    with pytest.raises(PaginationError, match="pagination loop"):
        walk(NextUrlPaginator(), next_url_server(9, lambda n: n), PageRequest(f"{BASE}/items?page=1"))


def test_next_url_page_cap() -> None:
    with pytest.raises(PaginationError, match="exceeded 5 pages"):
        walk(NextUrlPaginator(max_pages=5), next_url_server(10_000), PageRequest(f"{BASE}/items?page=1"))


# --- cursor token (Slack next_cursor, Jira nextPageToken) -----------------------------------


def slack_server(tokens: list[str]) -> Server:
    """Serves page i with next_cursor tokens[i] ('' ends the listing)."""

    def serve(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        i = 0 if cursor is None else tokens.index(cursor) + 1
        nxt = tokens[i] if i < len(tokens) else ""
        return httpx.Response(200, json={"ok": True, "members": [i], "response_metadata": {"next_cursor": nxt}})

    return serve


def test_cursor_in_params_to_the_end() -> None:
    sent = walk(
        CursorPaginator("response_metadata.next_cursor", "cursor"),
        slack_server(["a", "b"]),
        PageRequest(f"{BASE}/users.list", {"limit": 200}),
    )
    assert [r.url.params.get("cursor") for r in sent] == [None, "a", "b"]
    assert all(r.url.params["limit"] == "200" for r in sent)


def test_cursor_loop_is_detected() -> None:
    def serve(request: httpx.Request) -> httpx.Response:  # the token never changes
        return httpx.Response(200, json={"response_metadata": {"next_cursor": "same"}})

    paginator = CursorPaginator("response_metadata.next_cursor", "cursor")
    with pytest.raises(PaginationError, match="pagination loop"):
        walk(paginator, serve, PageRequest(f"{BASE}/users.list"))
    assert paginator.pages == 2


def test_cursor_page_cap() -> None:
    counter = iter(range(10_000))

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"response_metadata": {"next_cursor": f"t{next(counter)}"}})

    with pytest.raises(PaginationError, match="exceeded 4 pages"):
        walk(CursorPaginator("response_metadata.next_cursor", "cursor", max_pages=4), serve, PageRequest(f"{BASE}/x"))


def jira_server(pages: int, *, token_of: Callable[[int], str] = lambda n: f"tok{n + 1}") -> Server:
    def serve(request: httpx.Request) -> httpx.Response:
        body = httpx.Response(200, content=request.content).json()
        token = body.get("nextPageToken")
        n = 1 if token is None else int(token.removeprefix("tok"))
        answer: dict[str, Any] = {"issues": [n], "isLast": n >= pages}
        if n < pages:
            answer["nextPageToken"] = token_of(n)
        return httpx.Response(200, json=answer)

    return serve


def test_cursor_in_the_json_body_until_is_last() -> None:
    paginator = CursorPaginator("nextPageToken", "nextPageToken", in_body=True, last_path="isLast")
    sent = walk(paginator, jira_server(3), PageRequest(f"{BASE}/search/jql", json={"jql": "project = X"}))
    bodies = [httpx.Response(200, content=r.content).json() for r in sent]
    assert bodies == [
        {"jql": "project = X"},
        {"jql": "project = X", "nextPageToken": "tok2"},
        {"jql": "project = X", "nextPageToken": "tok3"},
    ]


def test_is_last_ends_even_with_a_token() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"isLast": True, "nextPageToken": "more"})

    paginator = CursorPaginator("nextPageToken", "nextPageToken", in_body=True, last_path="isLast")
    assert len(walk(paginator, serve, PageRequest(f"{BASE}/search/jql", json={}))) == 1


def test_cursor_in_the_json_body_loop_is_detected() -> None:
    paginator = CursorPaginator("nextPageToken", "nextPageToken", in_body=True, last_path="isLast")
    with pytest.raises(PaginationError, match="pagination loop"):
        walk(paginator, jira_server(9, token_of=lambda n: "tok2"), PageRequest(f"{BASE}/search/jql", json={}))


# --- page numbers (Aha!) --------------------------------------------------------------------


def aha_server(total_pages: int, per_page: int = 2, last_count: int | None = None, with_total: bool = True) -> Server:
    def serve(request: httpx.Request) -> httpx.Response:
        n = _page(request)
        count = per_page if n < total_pages else (per_page if last_count is None else last_count)
        body: dict[str, Any] = {"features": [{"id": f"{n}-{i}"} for i in range(count)]}
        if with_total:
            body["pagination"] = {"total_pages": total_pages, "current_page": n}
        return httpx.Response(200, json=body)

    return serve


def test_page_numbers_up_to_total_pages() -> None:
    paginator = PageNumberPaginator(total_pages_path="pagination.total_pages")
    sent = walk(paginator, aha_server(3), PageRequest(f"{BASE}/features", {"per_page": 2}))
    assert [r.url.params.get("page") for r in sent] == [None, "2", "3"]


def test_page_numbers_end_at_a_short_page_without_a_total() -> None:
    paginator = PageNumberPaginator(records_path="features", page_size=2)
    sent = walk(paginator, aha_server(3, last_count=1, with_total=False), PageRequest(f"{BASE}/features", {"page": 1}))
    assert [r.url.params["page"] for r in sent] == ["1", "2", "3"]


def test_page_numbers_start_where_asked() -> None:
    paginator = PageNumberPaginator(page_param="p", start=0, records_path="features", page_size=2)

    def serve(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("p", "0"))
        return httpx.Response(200, json={"features": [1, 2] if n < 2 else []})

    sent = walk(paginator, serve, PageRequest(f"{BASE}/features"))
    assert [r.url.params.get("p") for r in sent] == [None, "1", "2"]


def test_page_numbers_page_cap() -> None:
    paginator = PageNumberPaginator(total_pages_path="pagination.total_pages", max_pages=3)
    with pytest.raises(PaginationError, match="exceeded 3 pages"):
        walk(paginator, aha_server(1_000), PageRequest(f"{BASE}/features"))


def test_page_numbers_loop_is_detected() -> None:
    # A server that ignores the page parameter never loops here (the request changes), so the
    # loop is one the caller makes: the same paginator handed a request it already fetched.
    paginator = PageNumberPaginator(total_pages_path="pagination.total_pages")
    first = PageRequest(f"{BASE}/features", {"page": 1})
    page = httpx.Response(200, json={"pagination": {"total_pages": 9}})
    second = paginator.next_request(first, page, page.json())
    assert second == PageRequest(f"{BASE}/features", {"page": 2})
    with pytest.raises(PaginationError, match="pagination loop"):
        paginator.next_request(PageRequest(f"{BASE}/features", {"page": 0}), page, page.json())


# --- no paging, dig ---------------------------------------------------------------------------


def test_no_paginator_reads_one_page() -> None:
    sent = walk(NoPaginator(), link_server(5), PageRequest(f"{BASE}/items?page=1"))
    assert len(sent) == 1


def test_dig() -> None:
    body = {"a": {"b": {"c": 3}}, "l": [1]}
    assert dig(body, "a.b.c") == 3
    assert dig(body, "a.x.c") is None and dig(body, "l.0") is None
    assert dig(body, None) is body


def test_fingerprint_ignores_parameter_order() -> None:
    one = PageRequest(BASE, {"a": 1, "b": 2}, json={"x": [1], "y": 2})
    two = PageRequest(BASE, {"b": 2, "a": 1}, json={"y": 2, "x": [1]})
    assert one.fingerprint() == two.fingerprint()
    assert one.fingerprint() != PageRequest(BASE, {"a": 1, "b": 3}).fingerprint()
