"""Jira's own page shapes, as paginators (see connectors.http.pagination for the generic ones).

* :class:`OffsetPaginator`: ``startAt``/``maxResults`` with ``isLast`` or ``total`` (changelogs,
  comments, worklogs, agile listings), or a bare list that ends with an empty page
  (``/users/search``, which may return short pages before the end).
* :class:`BoardSprintsPaginator`: the project's scrum boards, then each board's sprints (the
  agile API has no project-level sprint listing).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from connectors.http.pagination import DEFAULT_MAX_PAGES, PageRequest, Paginator, dig

AGILE_PAGE = 50  # the agile API caps maxResults at 50


def _offset_next(request: PageRequest, body: Any, records_path: str | None) -> PageRequest | None:
    records = dig(body, records_path)
    count = len(records) if isinstance(records, list) else 0
    if count == 0:
        return None
    start = int(request.params.get("startAt", 0) or 0)
    if isinstance(body, dict):
        if body.get("isLast") is True:
            return None
        total = body.get("total")
        if body.get("isLast") is None and isinstance(total, int) and start + count >= total:
            return None
    return replace(request, params={**request.params, "startAt": start + count})


class OffsetPaginator(Paginator):
    def __init__(self, records_path: str | None = None, *, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        super().__init__(max_pages=max_pages)
        self.records_path = records_path

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        return _offset_next(request, body, self.records_path)


class BoardSprintsPaginator(Paginator):
    """First page: ``rest/agile/1.0/board?projectKeyOrId=…``; then ``board/{id}/sprint`` for each
    scrum board (kanban boards have no sprints and answer 400)."""

    def __init__(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        super().__init__(max_pages=max_pages)
        self.boards: list[str] = []
        self._seen_boards: set[str] = set()

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        if "/sprint" not in request.url:
            for board in dig(body, "values") or []:
                board_id = str(board.get("id")) if isinstance(board, dict) else None
                if board_id and board.get("type", "scrum") == "scrum" and board_id not in self._seen_boards:
                    self._seen_boards.add(board_id)
                    self.boards.append(board_id)
        nxt = _offset_next(request, body, "values")
        if nxt is not None:
            return nxt
        if not self.boards:
            return None
        board_id = self.boards.pop(0)
        return PageRequest(
            url=f"rest/agile/1.0/board/{board_id}/sprint", params={"maxResults": AGILE_PAGE, "startAt": 0}
        )
