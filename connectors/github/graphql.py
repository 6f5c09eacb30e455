"""GitHub pull requests through GraphQL: reviews, PR commits and their authors in the same query.

One query per page of 50 pull requests, newest updated first (``orderBy: {field: UPDATED_AT,
direction: DESC}``), read down to the cursor like the REST listing (same stream, store and
``NewestFirst`` cursor, on ``updatedAt``). Each pull request comes with its first 50 reviews and
100 commits; only a pull request with more is asked again, for the next pages of just that
connection (one aliased query for all such pull requests of a page).

The REST path stays: the source option ``graphql=false``, or a server without GraphQL (its first
request answers 404), reads ``GET /repos/{owner}/{repo}/pulls``. In the second case the REST
sub-listings of each pull request read are embedded in its record (:func:`rest_expand`), so the
``reviews`` and ``pull_request_commits`` child tasks have nothing left to do (:func:`skip_children`).
With a privacy option on, everything goes the plain REST way (the privacy declarations are
written for REST shapes).

Endpoints: ``https://api.github.com/graphql``; GitHub Enterprise Server ``https://HOST/api/graphql``
(its REST ``base_url`` is ``https://HOST/api/v3``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
from pydantic import BaseModel

from connectors.cursors import NewestFirst
from connectors.github.shapes import EMBEDDED, pull_request
from connectors.http.client import HttpClient
from connectors.http.pagination import LinkHeaderPaginator, PageRequest, Paginator, dig
from connectors.privacy import enabled_options
from connectors.streams import StreamContext, StreamSpec

MORE_PER_QUERY = 20  # pull requests asked again in one aliased query
REST_PER_PAGE = 100
GONE = frozenset({404})
BUCKET = "graphql"  # GitHub's GraphQL points are a budget of their own (X-RateLimit-Resource: graphql)


@dataclass(frozen=True)
class Sizes:
    """Page sizes (``first``) of the query: 50 pull requests, each with 50 reviews and 100 commits
    (about 57,000 nodes of GitHub's 500,000 limit; ~51 rate-limit points per page)."""

    pulls: int = 50
    reviews: int = 50
    commits: int = 100
    labels: int = 100
    parents: int = 10


SIZES = Sizes()

ACTOR = """
fragment Who on Actor {
  __typename
  login
  ... on User { databaseId }
  ... on Bot { databaseId }
  ... on Mannequin { databaseId }
  ... on Organization { databaseId }
}"""
REVIEWS = """
fragment Reviews on PullRequestReviewConnection {
  pageInfo { hasNextPage endCursor }
  nodes { databaseId state submittedAt author { ...Who } commit { oid } }
}"""


def commits_fragment(parents: int) -> str:
    return f"""
fragment Commits on PullRequestCommitConnection {{
  pageInfo {{ hasNextPage endCursor }}
  nodes {{
    commit {{
      oid
      message
      author {{ name email date user {{ databaseId login }} }}
      committer {{ name email date user {{ databaseId login }} }}
      parents(first: {parents}) {{ nodes {{ oid }} }}
    }}
  }}
}}"""


def pulls_query(sizes: Sizes) -> str:
    return f"""
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {{
  rateLimit {{ cost remaining resetAt }}
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        __typename
        databaseId
        number
        state
        title
        isDraft
        url
        createdAt
        updatedAt
        closedAt
        mergedAt
        headRefName
        headRefOid
        baseRefName
        mergeCommit {{ oid }}
        potentialMergeCommit {{ oid }}
        author {{ ...Who }}
        labels(first: {sizes.labels}) {{ nodes {{ name }} }}
        reviews(first: {sizes.reviews}) {{ ...Reviews }}
        commits(first: {sizes.commits}) {{ ...Commits }}
      }}
    }}
  }}
}}
{ACTOR}
{REVIEWS}
{commits_fragment(sizes.parents)}
"""


def graphql_url(ctx: StreamContext) -> str:
    """The GraphQL endpoint next to the REST ``base_url`` (``…/api/v3`` -> ``…/api/graphql``)."""
    base = str(getattr(ctx.options, "base_url", "")).rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return f"{base}/graphql"


def uses_graphql(ctx: StreamContext) -> bool:
    """GraphQL is on for the source, and no privacy option asks for the REST shapes."""
    privatizer = getattr(ctx, "privatizer", None)
    return bool(getattr(ctx.options, "graphql", False)) and not (privatizer is not None and privatizer.active)


def rest_children_needed(options: BaseModel) -> bool:
    """``StreamSpec.needed`` of the REST child streams: with GraphQL on (and no privacy option,
    which asks for the REST shapes) the pull request listing brings reviews and PR commits, so
    the source gets no task of them."""
    return not (bool(getattr(options, "graphql", False)) and not enabled_options(options))


def skip_children(parent: Mapping[str, Any], ctx: StreamContext) -> bool:
    """``ParentSpec.select`` of the REST child streams: with GraphQL on, the pull request listing
    (GraphQL, or its REST fallback with embedded sub-listings) already loaded them."""
    return not uses_graphql(ctx)


class GraphQLPaginator(Paginator):
    """``pageInfo { hasNextPage endCursor }`` of one connection, sent back as ``variables.after``."""

    connection = "data.repository.pullRequests"

    def _next(self, request: PageRequest, response: httpx.Response, body: Any) -> PageRequest | None:
        info = dig(body, f"{self.connection}.pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return None
        payload = dict(request.json or {})
        payload["variables"] = {**payload.get("variables", {}), "after": info["endCursor"]}
        return replace(request, json=payload)


def _variables(ctx: StreamContext) -> dict[str, Any]:
    assert ctx.partition is not None
    return {"owner": ctx.partition.values["owner"], "name": ctx.partition.values["repo"]}


def _pulls_body(ctx: StreamContext) -> dict[str, Any]:
    return {"query": pulls_query(SIZES), "variables": {**_variables(ctx), "first": SIZES.pulls}}


CONNECTIONS = ("reviews", "commits")


def more_query(wanted: list[tuple[int, str, str]], sizes: Sizes) -> str:
    """One aliased query for the next page of each (number, connection, cursor)."""
    by_number: dict[int, list[str]] = {}
    firsts = {"reviews": ("Reviews", sizes.reviews), "commits": ("Commits", sizes.commits)}
    for number, conn, cursor in wanted:
        fragment, first = firsts[conn]
        by_number.setdefault(number, []).append(
            f"{conn}(first: {first}, after: {json.dumps(cursor)}) {{ ...{fragment} }}"
        )
    fields = "\n".join(
        f"pr{number}: pullRequest(number: {number}) {{ {' '.join(c)} }}" for number, c in by_number.items()
    )
    used = {conn for _, conn, _ in wanted}
    commits = commits_fragment(sizes.parents)
    # GraphQL refuses a fragment a query does not use: Who only comes with the reviews
    fragments = [ACTOR + REVIEWS if "reviews" in used else "", commits if "commits" in used else ""]
    return (
        "query MorePages($owner: String!, $name: String!) {\n  repository(owner: $owner, name: $name) {\n"
        f"{fields}\n  }}\n}}\n" + "".join(fragments)
    )


async def graphql_expand(records: list[Any], ctx: StreamContext, http: HttpClient) -> list[Any]:
    """Follow the nested connections of the pull requests that have more than the first page."""
    nodes = {int(r["number"]): r for r in records if isinstance(r, dict) and "number" in r}
    url = graphql_url(ctx)
    while True:
        wanted = [
            (number, conn, str(info["endCursor"]))
            for number, node in nodes.items()
            for conn in CONNECTIONS
            if (info := dig(node, f"{conn}.pageInfo") or {}).get("hasNextPage") and info.get("endCursor")
        ]
        if not wanted:
            return records
        for start in range(0, len(wanted), MORE_PER_QUERY):
            chunk = wanted[start : start + MORE_PER_QUERY]
            body = {"query": more_query(chunk, SIZES), "variables": _variables(ctx)}
            what = f"POST {httpx.URL(url).path} (more pages)"
            response = await http.request("POST", url, json=body, bucket=BUCKET, what=what)
            repo = dig(response.json(), "data.repository") or {}
            for number, conn, _ in chunk:
                page = dig(repo, f"pr{number}.{conn}") or {}
                target = nodes[number][conn]
                target["nodes"] = [*(target.get("nodes") or []), *(page.get("nodes") or [])]
                target["pageInfo"] = page.get("pageInfo") or {"hasNextPage": False}


async def _rest_listing(http: HttpClient, path: str) -> list[Any]:
    out: list[Any] = []
    request: PageRequest | None = PageRequest(url=path, params={"per_page": REST_PER_PAGE})
    paginator = LinkHeaderPaginator()
    while request is not None:
        response = await http.request("GET", request.url, params=request.params or None, allow_status=GONE)
        if response.status_code in GONE:  # as the REST child streams: a pull request gone meanwhile
            return out
        body = response.json()
        out.extend(body if isinstance(body, list) else [])
        request = paginator.next_request(request, response, body)
    return out


async def rest_expand(records: list[Any], ctx: StreamContext, http: HttpClient) -> list[Any]:
    """REST fallback with GraphQL on: embed each pull request's reviews and commits in its record."""
    if not uses_graphql(ctx) or ctx.partition is None:
        return records
    base = ctx.fmt("repos/{owner}/{repo}/pulls")

    async def one(record: dict[str, Any]) -> dict[str, Any]:
        number = record["number"]
        reviews, commits = await asyncio.gather(
            _rest_listing(http, f"{base}/{number}/reviews"), _rest_listing(http, f"{base}/{number}/commits")
        )
        return {**record, EMBEDDED: {"reviews": reviews, "commits": commits}}

    return list(await asyncio.gather(*(one(r) for r in records if isinstance(r, dict))))


GRAPHQL_PULLS = StreamSpec(
    name="pull_requests",
    path="{graphql_url}",
    method="POST",
    body=_pulls_body,
    records_path="data.repository.pullRequests.nodes",
    paginator=GraphQLPaginator,
    normalize=pull_request,
    cursor=NewestFirst("updatedAt"),
    conditional=False,  # GraphQL answers POSTs: no ETags
    bucket=BUCKET,
    expand=graphql_expand,
    entities=("pull_request", "review", "commit", "person"),
)


def graphql_alternative(ctx: StreamContext) -> StreamSpec | None:
    """``StreamSpec.alternative`` of the pull requests: the GraphQL listing when it is on."""
    return GRAPHQL_PULLS if uses_graphql(ctx) else None


DERIVED = {"graphql_url": graphql_url}
