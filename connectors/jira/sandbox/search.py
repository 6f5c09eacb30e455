"""The sandbox's enhanced search (``/rest/api/3/search/jql``), as Jira Cloud answers it.

``nextPageToken``/``isLast``, no total; ``fields`` default to the id; up to 5000 issues a page
when only ids or keys are asked for, 100 otherwise.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.jira.sandbox import render as r
from connectors.jira.sandbox.errors import errors, int_or
from connectors.jira.sandbox.jql import JqlError, parse, sort
from connectors.jira.sandbox.world import Issue, World


def page_token(jql: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": jql, "o": offset}).encode()).decode()


async def search(request: Request, world: World, visible: Callable[[Issue], bool], base: str) -> Response:
    """One page of the issues `visible` shows that match the JQL, rendered with `base` as the site URL."""
    if request.method == "POST":
        body = await request.json()
    else:
        q = request.query_params
        body = {k: q.get(k) for k in ("jql", "nextPageToken", "maxResults", "expand")}
        body["fields"] = [f for v in q.getlist("fields") for f in v.split(",")] if "fields" in q else None
    jql = str(body.get("jql") or "")
    fields = body.get("fields") or ["id"]
    expand = body.get("expand") or ""
    expand_set = set(expand.split(",") if isinstance(expand, str) else expand)
    id_only = set(fields) <= {"id", "key"}
    cap = 5000 if id_only else 100
    size = max(1, min(int_or(str(body.get("maxResults") or ""), 50), cap))
    offset = 0
    if body.get("nextPageToken"):
        try:
            token = json.loads(base64.urlsafe_b64decode(str(body["nextPageToken"])))
            if token["q"] != jql:
                raise ValueError
            offset = int(token["o"])
        except (ValueError, KeyError, TypeError):
            return errors(400, "The provided next page token is invalid or expired.")
    try:
        query = parse(jql, world)
    except JqlError as exc:
        return errors(400, str(exc))
    found = sort([i for i in world.issues.values() if visible(i) and query.match(i)], query.order)
    page = found[offset : offset + size]
    out: dict[str, Any] = {"issues": [r.issue(base, world, i, fields, expand_set) for i in page]}
    if offset + size < len(found):
        out["nextPageToken"] = page_token(jql, offset + size)
        out["isLast"] = False
    else:
        out["isLast"] = True
    return JSONResponse(out)
