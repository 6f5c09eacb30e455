"""Paginators: small objects that turn one page's response into the next request.

Each one detects loops (the same request twice) and enforces a page cap, raising
:class:`~connectors.errors.PaginationError` instead of hanging. Create a fresh paginator per
listing (they keep the pages seen).
"""

from __future__ import annotations

import json as jsonlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from connectors.errors import PaginationError

DEFAULT_MAX_PAGES = 10_000


@dataclass(frozen=True)
class PageRequest:
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None

    def fingerprint(self) -> str:
        return jsonlib.dumps([self.url, sorted(self.params.items()), self.json], sort_keys=True, default=str)


def dig(body: Any, path: str | None) -> Any:
    """``dig(body, "response_metadata.next_cursor")``; None when any step is missing."""
    if path is None:
        return body
    cur = body
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


class Paginator(ABC):
    def __init__(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        self.max_pages = max_pages
        self.pages = 0
        self._seen: set[str] = set()

    def next_request(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        """The request for the next page, or None at the end. Checks loops and the cap."""
        self._seen.add(request.fingerprint())
        self.pages += 1
        nxt = self._next(request, response, body)
        if nxt is None:
            return None
        if nxt.fingerprint() in self._seen:
            raise PaginationError(f"pagination loop: {nxt.url} {nxt.params} was already fetched")
        if self.pages >= self.max_pages:
            raise PaginationError(f"pagination exceeded {self.max_pages} pages at {request.url}")
        return nxt

    @abstractmethod
    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None: ...


class NoPaginator(Paginator):
    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        return None


class LinkHeaderPaginator(Paginator):
    """RFC 8288 ``Link: <…>; rel="next"`` (GitHub). The next URL carries every parameter."""

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        nxt = response.links.get("next", {}).get("url")
        return PageRequest(url=nxt) if nxt else None


class NextUrlPaginator(Paginator):
    """A full next-page URL in the body (Bitbucket ``next``)."""

    def __init__(self, path: str = "next", *, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        super().__init__(max_pages=max_pages)
        self.path = path

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        nxt = dig(body, self.path)
        return PageRequest(url=str(nxt), json=request.json) if nxt else None


class CursorPaginator(Paginator):
    """An opaque token from the body sent back as a parameter or in the JSON body.

    Slack: ``CursorPaginator("response_metadata.next_cursor", "cursor")``.
    Jira search/jql: ``CursorPaginator("nextPageToken", "nextPageToken", in_body=True, last_path="isLast")``.
    """

    def __init__(
        self,
        token_path: str,
        param: str,
        *,
        in_body: bool = False,
        last_path: str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        super().__init__(max_pages=max_pages)
        self.token_path = token_path
        self.param = param
        self.in_body = in_body
        self.last_path = last_path

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        if self.last_path is not None and dig(body, self.last_path) is True:
            return None
        token = dig(body, self.token_path)
        if not token:
            return None
        if self.in_body:
            return replace(request, json={**(request.json or {}), self.param: token})
        return replace(request, params={**request.params, self.param: token})


class PageNumberPaginator(Paginator):
    """``page`` / ``per_page`` with a total-pages figure in the body (Aha!) or a short last page.

    ``total_pages_path`` (e.g. ``"pagination.total_pages"``) ends the listing at the last page;
    without it, a page with fewer than ``page_size`` records (at ``records_path``) is the last.
    """

    def __init__(
        self,
        *,
        page_param: str = "page",
        start: int = 1,
        total_pages_path: str | None = None,
        records_path: str | None = None,
        page_size: int | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        super().__init__(max_pages=max_pages)
        self.page_param = page_param
        self.start = start
        self.total_pages_path = total_pages_path
        self.records_path = records_path
        self.page_size = page_size

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        current = int(request.params.get(self.page_param, self.start))
        if self.total_pages_path is not None:
            total = dig(body, self.total_pages_path)
            if total is None or current >= int(total):
                return None
        else:
            records = dig(body, self.records_path)
            if not isinstance(records, list) or self.page_size is None or len(records) < self.page_size:
                return None
        return replace(request, params={**request.params, self.page_param: current + 1})
