"""The sandbox's GraphQL endpoint (``POST /graphql``; GHES: ``/api/graphql``): pull requests with
their reviews, commits, labels and authors, over the same world as the REST routes.

A small slice of GitHub's public schema (type, field and argument names as in GitHub's
``schema.docs.graphql``), executed by ``graphql-core``: queries are parsed and validated against
it, so a field GitHub does not have, a wrong argument or a missing variable fails here as on
GitHub, and aliases, fragments and ``__typename`` work as there. What it does like GitHub:

* ``repository(owner, name)`` -> ``null`` plus an error of ``type: NOT_FOUND``;
* connections take ``first`` (1..100) and ``after`` (an opaque cursor) and answer ``pageInfo``;
  ``pullRequests`` takes ``orderBy: {field: CREATED_AT|UPDATED_AT, direction}`` and ``states``;
* a ``Bot`` account's ``login`` has no ``[bot]`` suffix (REST's has);
* ``X-RateLimit-*`` headers of the ``graphql`` resource (one point per query here; GitHub counts
  the connections requested) and, when spent, a 200 with an error of ``type: RATE_LIMITED``.

Not modelled: the node limit, query cost, mutations, and every type outside this slice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.github.sandbox import payloads as p
from connectors.github.sandbox.world import Commit, Pull, Repo, Review, User, iso

if TYPE_CHECKING:
    from graphql import GraphQLSchema

    from connectors.github.sandbox.app import GitHubSandbox

SDL = """
scalar DateTime
scalar GitObjectID
scalar GitTimestamp
scalar URI

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
}
type RateLimit { cost: Int! limit: Int! nodeCount: Int! remaining: Int! resetAt: DateTime! used: Int! }
type PageInfo { endCursor: String hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String }

enum OrderDirection { ASC DESC }
enum IssueOrderField { COMMENTS CREATED_AT UPDATED_AT }
input IssueOrder { direction: OrderDirection! field: IssueOrderField! }
enum PullRequestState { CLOSED MERGED OPEN }
enum PullRequestReviewState { APPROVED CHANGES_REQUESTED COMMENTED DISMISSED PENDING }

interface Actor { avatarUrl(size: Int): URI! login: String! resourcePath: URI! url: URI! }
type User implements Actor {
  avatarUrl(size: Int): URI! databaseId: Int email: String! id: ID! login: String! name: String
  resourcePath: URI! url: URI!
}
type Bot implements Actor { avatarUrl(size: Int): URI! databaseId: Int id: ID! login: String! resourcePath: URI! url: URI! }
type Mannequin implements Actor {
  avatarUrl(size: Int): URI! databaseId: Int id: ID! login: String! resourcePath: URI! url: URI!
}
type Organization implements Actor {
  avatarUrl(size: Int): URI! databaseId: Int id: ID! login: String! resourcePath: URI! url: URI!
}

type Repository {
  databaseId: Int id: ID! name: String! nameWithOwner: String! url: URI!
  pullRequest(number: Int!): PullRequest
  pullRequests(after: String, baseRefName: String, before: String, first: Int, headRefName: String,
               labels: [String!], last: Int, orderBy: IssueOrder, states: [PullRequestState!]): PullRequestConnection!
}
type PullRequestConnection { nodes: [PullRequest] pageInfo: PageInfo! totalCount: Int! }
type PullRequest {
  author: Actor baseRefName: String! body: String! closed: Boolean! closedAt: DateTime createdAt: DateTime!
  databaseId: Int headRefName: String! headRefOid: GitObjectID! id: ID! isDraft: Boolean!
  mergeCommit: Commit merged: Boolean! mergedAt: DateTime number: Int! potentialMergeCommit: Commit
  state: PullRequestState! title: String! updatedAt: DateTime! url: URI!
  commits(after: String, before: String, first: Int, last: Int): PullRequestCommitConnection!
  labels(after: String, before: String, first: Int, last: Int): LabelConnection
  reviews(after: String, author: String, before: String, first: Int, last: Int,
          states: [PullRequestReviewState!]): PullRequestReviewConnection
}
type Label { id: ID! name: String! color: String! }
type LabelConnection { nodes: [Label] pageInfo: PageInfo! totalCount: Int! }
type PullRequestReview {
  author: Actor body: String! commit: Commit databaseId: Int id: ID! state: PullRequestReviewState!
  submittedAt: DateTime url: URI!
}
type PullRequestReviewConnection { nodes: [PullRequestReview] pageInfo: PageInfo! totalCount: Int! }
type PullRequestCommit { commit: Commit! id: ID! url: URI! }
type PullRequestCommitConnection { nodes: [PullRequestCommit] pageInfo: PageInfo! totalCount: Int! }
type GitActor { date: GitTimestamp email: String name: String user: User }
type Commit {
  author: GitActor authoredDate: DateTime! committedDate: DateTime! committer: GitActor id: ID!
  message: String! messageHeadline: String! oid: GitObjectID! url: URI!
  parents(after: String, before: String, first: Int, last: Int): CommitConnection!
}
type CommitConnection { nodes: [Commit] pageInfo: PageInfo! totalCount: Int! }
"""

MAX_FIRST = 100
Resolved = dict[str, Any]


class GraphQLFailure(Exception):
    """An error GitHub reports with a ``type`` (NOT_FOUND, EXCESSIVE_PAGINATION ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLFailure("INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(name: str, items: Sequence[Any], build: Callable[[Any], Resolved]) -> Callable[..., Resolved]:
    """A resolver of a connection field: ``first``/``after`` paging with ``pageInfo``."""

    def resolve(info: Any, first: int | None = None, after: str | None = None, **_: Any) -> Resolved:
        if first is None:
            raise GraphQLFailure(
                "MISSING_PAGINATION_BOUNDARIES",
                f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
            )
        if not 1 <= first <= MAX_FIRST:
            raise GraphQLFailure(
                "EXCESSIVE_PAGINATION",
                f"Requesting {first} records on the `{name}` connection exceeds the `first` limit of 100 records.",
            )
        start = _offset(after)
        chunk = items[start : start + first]
        end = start + len(chunk)
        return {
            "nodes": [build(x) for x in chunk],
            "totalCount": len(items),
            "pageInfo": {
                "hasNextPage": end < len(items),
                "hasPreviousPage": start > 0,
                "startCursor": _cursor(start + 1) if chunk else None,
                "endCursor": _cursor(end) if chunk else None,
            },
        }

    return resolve


class Resolver:
    """Plain dicts (and callables for fields with arguments) over one sandbox world."""

    def __init__(self, sandbox: GitHubSandbox) -> None:
        self.sandbox = sandbox
        self.world = sandbox.world

    def actor(self, u: User | None) -> Resolved | None:
        if u is None:
            return None
        bot = u.type == "Bot"
        login = u.login.removesuffix("[bot]") if bot else u.login
        out: Resolved = {
            "__typename": "Bot" if bot else "User",
            "databaseId": u.id,
            "id": p.node_id("Bot" if bot else "User", u.id),
            "login": login,
            "avatarUrl": lambda info, size=None: f"https://avatars.sandbox.test/u/{u.id}?v=4",
            "resourcePath": f"/{login}",
            "url": f"{p.WEB}/{'apps/' if bot else ''}{login}",
        }
        if not bot:
            out.update(name=u.name, email=u.email or "")
        return out

    def commit(self, r: Repo, c: Commit) -> Resolved:
        actor = {"name": c.author_name, "email": c.author_email, "date": iso(c.at), "user": self.actor(c.author)}
        parents = [self._oid_only(sha) for sha in c.parents]
        return {
            "oid": c.sha,
            "id": p.node_id("Commit", c.sha),
            "message": c.message,
            "messageHeadline": c.message.split("\n", 1)[0],
            "authoredDate": iso(c.at),
            "committedDate": iso(c.at),
            "author": actor,
            "committer": dict(actor),
            "url": f"{p.WEB}/{self.world.org}/{r.name}/commit/{c.sha}",
            "parents": connection("parents", parents, lambda x: x),
        }

    @staticmethod
    def _oid_only(sha: str) -> Resolved:
        return {"oid": sha, "id": p.node_id("Commit", sha)}

    def review(self, r: Repo, pr: Pull, rv: Review) -> Resolved:
        return {
            "databaseId": rv.id,
            "id": p.node_id("PullRequestReview", rv.id),
            "state": rv.state,
            "submittedAt": iso(rv.at),
            "author": self.actor(rv.user),
            "body": "" if rv.state == "APPROVED" else f"review {rv.id}",
            "commit": self._oid_only(rv.commit_id),
            "url": f"{p.WEB}/{self.world.org}/{r.name}/pull/{pr.number}#pullrequestreview-{rv.id}",
        }

    def pull(self, r: Repo, pr: Pull) -> Resolved:
        merged = pr.merged_at is not None
        web = f"{p.WEB}/{self.world.org}/{r.name}/pull/{pr.number}"
        commits = [
            {"commit": self.commit(r, c), "id": p.node_id("PullRequestCommit", c.sha), "url": web} for c in pr.commits
        ]
        return {
            "__typename": "PullRequest",
            "databaseId": pr.id,
            "id": p.node_id("PullRequest", pr.id),
            "number": pr.number,
            "state": "MERGED" if merged else pr.state.upper(),
            "closed": pr.state == "closed",
            "merged": merged,
            "title": pr.title,
            "body": f"This pull request changes {pr.head_ref}.",
            "isDraft": False,
            "url": web,
            "createdAt": iso(pr.created_at),
            "updatedAt": iso(pr.updated_at),
            "closedAt": iso(pr.closed_at) if pr.closed_at else None,
            "mergedAt": iso(pr.merged_at) if pr.merged_at else None,
            "headRefName": pr.head_ref,
            "headRefOid": pr.head_sha,
            "baseRefName": pr.base_ref,
            # REST's merge_commit_sha: the merge commit, or the test merge commit of an unmerged one
            "mergeCommit": self._oid_only(pr.merge_commit_sha) if merged else None,
            "potentialMergeCommit": None if merged else self._oid_only(pr.merge_commit_sha),
            "author": self.actor(pr.user),
            "labels": connection("labels", [], lambda x: x),
            "reviews": connection("reviews", pr.reviews, lambda rv: self.review(r, pr, rv)),
            "commits": connection("commits", commits, lambda x: x),
        }

    def pulls(self, r: Repo) -> Callable[..., Resolved]:
        def resolve(
            info: Any, orderBy: dict[str, str] | None = None, states: list[str] | None = None, **kw: Any
        ) -> Resolved:
            order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
            pulls = list(r.pulls.values())
            if states:
                pulls = [x for x in pulls if ("MERGED" if x.merged_at else x.state.upper()) in states]
            key: Callable[[Pull], Any] = (
                (lambda x: (x.updated_at, x.number))
                if order["field"] == "UPDATED_AT"
                else (lambda x: (x.created_at, x.number))
            )
            pulls.sort(key=key, reverse=order["direction"] == "DESC")
            return connection("pullRequests", pulls, lambda x: self.pull(r, x))(info, **kw)

        return resolve

    def repository(self, info: Any, owner: str, name: str, **_: Any) -> Resolved:
        w = self.world
        repo = w.find_repo(name) or w.renamed_from(name) if owner.lower() == w.org.lower() else None
        if repo is None:
            raise GraphQLFailure("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return {
            "databaseId": repo.id,
            "id": p.node_id("Repository", repo.id),
            "name": repo.name,
            "nameWithOwner": f"{w.org}/{repo.name}",
            "url": f"{p.WEB}/{w.org}/{repo.name}",
            "pullRequest": lambda info, number: self.pull(repo, repo.pulls[number]) if number in repo.pulls else None,
            "pullRequests": self.pulls(repo),
        }

    def root(self) -> Resolved:
        rate = self.sandbox.graphql_rate
        reset = rate.reset_at
        return {
            "repository": self.repository,
            "rateLimit": lambda info, dryRun=False: {
                "cost": 1,
                "limit": rate.limit,
                "nodeCount": 0,
                "remaining": max(0, rate.limit - rate.used),
                "resetAt": iso_epoch(reset),
                "used": rate.used,
            },
        }


def iso_epoch(epoch: float) -> str:
    from datetime import UTC, datetime

    return iso(datetime.fromtimestamp(epoch, UTC))


_SCHEMA: list[GraphQLSchema] = []


def schema() -> GraphQLSchema:
    """Built once per process (parsing the SDL is the slow part)."""
    if not _SCHEMA:
        from graphql import build_schema

        _SCHEMA.append(build_schema(SDL))
    return _SCHEMA[0]


def _error(e: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(e.formatted)
    original = getattr(e, "original_error", None)
    if isinstance(original, GraphQLFailure):
        out["type"] = original.kind
    out.pop("extensions", None)
    return out


def execute(sandbox: GitHubSandbox, body: Any) -> dict[str, Any]:
    """One GraphQL request body -> GitHub's response body (``data`` and/or ``errors``)."""
    from graphql import graphql_sync

    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    result = graphql_sync(
        schema(),
        body["query"],
        root_value=Resolver(sandbox).root(),
        variable_values=body.get("variables") or None,
        operation_name=body.get("operationName"),
    )
    out: dict[str, Any] = {}
    if result.data is not None:
        out["data"] = result.data
    if result.errors:
        out["errors"] = [_error(e) for e in result.errors]
    return out


async def handle(sandbox: GitHubSandbox, request: Request) -> Response:
    if not sandbox.serves_graphql:
        return JSONResponse(p.error("Not Found", status=404), 404)
    raw = await request.body()
    with sandbox._state:
        rate = sandbox.graphql_rate
        rate.roll()
        headers = {**rate.headers(), "X-RateLimit-Resource": "graphql", "X-GitHub-Media-Type": "github.v4; format=json"}
        if not sandbox._authorized(request):
            return JSONResponse(p.error("Bad credentials", status=401), 401, headers=headers)
        if rate.used >= rate.limit:
            limited = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}
            return JSONResponse(limited, 200, headers=headers)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return JSONResponse({"message": "Problems parsing JSON", "documentation_url": p.DOCS}, 400, headers=headers)
        rate.used += 1
        headers = {**headers, **rate.headers(), "X-RateLimit-Resource": "graphql"}
        return JSONResponse(execute(sandbox, body), 200, headers=headers)


def graphql_routes(sandbox: GitHubSandbox) -> list[Route]:
    """``POST /graphql`` (github.com) and ``POST /api/graphql`` (GitHub Enterprise Server)."""

    async def endpoint(request: Request) -> Response:
        return await handle(sandbox, request)

    return [Route(path, endpoint, methods=["POST"]) for path in ("/graphql", "/api/graphql")]
