"""The GitHub sandbox: GitHub's REST API over a generated organization.

Served under ``/`` and ``/api/v3`` (GitHub Enterprise Server). What it does like GitHub:
Bearer/token auth (401 "Bad credentials"), ``X-OAuth-Scopes``, ``X-RateLimit-*`` with a budget
per token (conditional requests answered 304 do not count), weak ETags and 304 on
``If-None-Match``, ``Link`` pagination honouring ``per_page`` (default 30, max 100) and ``page``,
the ``since``/``state``/``sort``/``direction`` filters, 409 on the commits of an empty repository,
404 for unknown or deleted repositories and 301 to ``/repositories/{id}/…`` for renamed ones.

Control endpoints besides the kit's: ``POST /__mutate`` with one of
``{"delete_repo": name}``, ``{"rename_repo": {"from": name, "to": new}}``,
``{"touch_pr": {"repo": name, "number": n}}``, ``{"add_issue_comment": {"repo": name, "number": n}}``,
``{"add_commit": name}``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.github.sandbox import payloads as p
from connectors.github.sandbox.graphql import graphql_routes
from connectors.github.sandbox.world import WORLD_SIZE, Issue, Pull, Repo, World, iso
from connectors.sandbox.kit import Sandbox

GHES_PREFIX = "/api/v3"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:0000:SANDBOX."
)
SECONDARY_DOC = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

Reply = tuple[int, Any, dict[str, str]]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class RateWindow:
    """X-RateLimit-* for one token: ``limit`` requests per ``window_s`` seconds of real time."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.used = 0
        self.reset_at = time.time() + window_s

    def roll(self) -> None:
        now = time.time()
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + self.window_s

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(int(self.reset_at)),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": "core",
        }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        raise ApiError(422, f"Invalid value {value!r}") from None


class GitHubSandbox(Sandbox):
    provider = "github"

    def __init__(
        self,
        *,
        seed: int = 7,
        latency_ms: float = 0.0,
        token: str = "ghp_sandbox_token_0123456789",
        scopes: str | None = "repo, read:org",
        rate_limit: int = 5000,
        rate_window_s: float = 3600.0,
        graphql: bool = True,  # False: /graphql answers 404, as a server without GraphQL
        **kw: Any,  # the world's size (WORLD_SIZE: repos, members, commits, pulls, issues, org)
    ) -> None:
        size = {k: kw.pop(k) for k in WORLD_SIZE if k in kw}
        super().__init__(seed=seed, latency_ms=latency_ms, **kw)
        self.world = World(seed=seed, **size)
        self.token = token
        self.scopes = scopes
        self.rate = RateWindow(rate_limit, rate_window_s)
        self.graphql_rate = RateWindow(rate_limit, rate_window_s)  # GraphQL has its own budget
        self.serves_graphql = graphql
        self._state = threading.RLock()

    # -- kit hooks ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/__mutate", self._mutate, methods=["POST"]),
            *graphql_routes(self),
            Route("/{path:path}", self._handle, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ]

    def truth(self) -> dict[str, Any]:
        with self._state:
            counts = self.world.counts()
            accounts = self.world.member_keys()
            planted = list(self.world.planted)
        return {
            "options": {"org": self.world.org},
            "secrets": {"token": self.token},
            "counts": counts,
            "repositories": [r.name for r in self.world.live_repos()],
            "accounts": accounts,  # human accounts loaded -> shared-world roster key (None: no one else's)
            "references": planted,  # rows that name a Jira key (connectors/sandbox/shared_world.py)
        }

    def error_response(self, kind: str, request: Request) -> Response:
        retry = {"Retry-After": str(int(self.faults.retry_after_s))}
        rate = self.rate.headers()
        if kind == "secondary":
            return JSONResponse(p.error(SECONDARY_MESSAGE, SECONDARY_DOC), 403, headers={**rate, **retry})
        if kind == "rate":
            body = p.error("API rate limit exceeded. Please retry later.", SECONDARY_DOC)
            return JSONResponse(body, 429, headers={**rate, **retry})
        if kind == "revoked":
            return JSONResponse(p.error("Bad credentials", status=401), 401)
        if kind == "missing":
            return JSONResponse(p.error("Not Found", status=404), 404, headers=rate)
        return JSONResponse({"message": "Server Error"}, 502)

    # -- mutations ----------------------------------------------------------------------------------
    async def _mutate(self, request: Request) -> Response:
        body = await request.json()
        w = self.world

        def repo_named(name: str) -> Repo:
            r = w.find_repo(name)
            if r is None:
                raise KeyError(name)
            return r

        try:
            with self._state:
                if "delete_repo" in body:
                    repo_named(body["delete_repo"]).deleted = True
                if "rename_repo" in body:
                    w.rename(repo_named(body["rename_repo"]["from"]), body["rename_repo"]["to"])
                if "touch_pr" in body:
                    w.touch_pull(repo_named(body["touch_pr"]["repo"]), int(body["touch_pr"]["number"]))
                if "add_issue_comment" in body:
                    spec = body["add_issue_comment"]
                    w.add_issue_comment(repo_named(spec["repo"]), int(spec["number"]))
                if "add_commit" in body:
                    w.add_commit(repo_named(body["add_commit"]))
        except KeyError as exc:
            return JSONResponse({"ok": False, "error": f"unknown {exc}"}, 404)
        return JSONResponse({"ok": True, "counts": self.truth()["counts"]})

    # -- the API ------------------------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"].strip("/")
        api = str(request.base_url).rstrip("/")
        if path == GHES_PREFIX or path.startswith(GHES_PREFIX + "/"):
            path = path[len(GHES_PREFIX) :] or "/"
            api += GHES_PREFIX
        with self._state:
            self.rate.roll()
            if not self._authorized(request):
                return JSONResponse(p.error("Bad credentials", status=401), 401)
            if self.rate.used >= self.rate.limit:
                body = p.error("API rate limit exceeded for user ID 1.", "https://docs.github.com/rest/rate-limit")
                return JSONResponse(body, 403, headers=self.rate.headers())
            try:
                if request.method != "GET":
                    raise ApiError(404, "Not Found")
                status, body, headers = self._dispatch(path, request, api)
            except ApiError as exc:
                status, body, headers = exc.status, p.error(exc.message, status=exc.status), exc.headers
            return self._respond(request, status, body, headers)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() in ("bearer", "token") and token.strip() == self.token

    def _respond(self, request: Request, status: int, body: Any, headers: dict[str, str]) -> Response:
        out = {
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            **headers,
        }
        if self.scopes is not None:
            out["X-OAuth-Scopes"] = self.scopes
        if status == 200:
            raw = json.dumps(body, separators=(",", ":")).encode()
            etag = f'W/"{hashlib.sha256(raw).hexdigest()[:40]}"'
            out["ETag"] = etag
            out["Cache-Control"] = "private, max-age=60, s-maxage=60"
            if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
                return Response(status_code=304, headers={**out, **self.rate.headers()})
            self.rate.used += 1
            return Response(raw, 200, headers={**out, **self.rate.headers()}, media_type="application/json")
        self.rate.used += 1
        return JSONResponse(body, status, headers={**out, **self.rate.headers()})

    # -- routing ------------------------------------------------------------------------------------
    def _dispatch(self, path: str, request: Request, api: str) -> Reply:
        w = self.world
        if path == "/user":
            return 200, p.user(w.members[0], api), {}
        if path == "/rate_limit":
            core = {
                "limit": self.rate.limit,
                "remaining": self.rate.limit - self.rate.used,
                "reset": int(self.rate.reset_at),
            }
            return 200, {"resources": {"core": core}, "rate": core}, {}
        m = re.fullmatch(r"/orgs/([^/]+)(/.*)?", path)
        if m:
            if m.group(1).lower() != w.org.lower():
                raise ApiError(404, "Not Found")
            rest = m.group(2) or ""
            if rest == "":
                return 200, p.org(w, api), {}
            if rest == "/members":
                return self._page(request, [p.user(u, api) for u in sorted(w.members, key=lambda u: u.id)])
            if rest == "/repos":
                return self._repos(request, api)
            raise ApiError(404, "Not Found")
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if m:
            owner, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if owner.lower() != w.org.lower():
                raise ApiError(404, "Not Found")
            r = w.find_repo(name)
            if r is None:
                moved = w.renamed_from(name)
                if moved is None:
                    raise ApiError(404, "Not Found")
                location = f"{api}/repositories/{moved.id}{rest}" + (
                    f"?{request.url.query}" if request.url.query else ""
                )
                return (
                    301,
                    {"message": "Moved Permanently", "url": location, "documentation_url": p.DOCS},
                    {"Location": location},
                )
            return self._repo(r, rest, request, api)
        m = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
        if m:
            r = w.repo_by_id(int(m.group(1)))
            if r is None:
                raise ApiError(404, "Not Found")
            return self._repo(r, m.group(2) or "", request, api)
        raise ApiError(404, "Not Found")

    def _repo(self, r: Repo, rest: str, request: Request, api: str) -> Reply:
        w, q = self.world, request.query_params
        if rest == "":
            return 200, p.repo(w, r, api), {}
        if rest == "/branches":
            return self._page(request, [p.branch(w, r, name, sha, api) for name, sha in r.branches])
        if rest == "/commits":
            if r.empty or not r.commits:
                raise ApiError(409, "Git Repository is empty.")
            since = q.get("since")
            commits = [c for c in r.commits if since is None or iso(c.at) >= since]
            return self._page(request, [p.commit(w, r, c, api) for c in commits])
        if rest == "/pulls":
            return self._page(request, [p.pull(w, r, x, api) for x in self._pulls(r, request)])
        if rest == "/pulls/comments":
            review_comments = [(pr, rc) for pr in r.pulls.values() for rc in pr.review_comments]
            rows = self._filter_sort(review_comments, request, lambda x: x[1].created_at, lambda x: x[1].updated_at)
            return self._page(request, [p.review_comment(w, r, pr, rc, api) for pr, rc in rows])
        m = re.fullmatch(r"/pulls/(\d+)(/reviews|/commits|/comments)?", rest)
        if m:
            pr = r.pulls.get(int(m.group(1)))
            if pr is None:
                raise ApiError(404, "Not Found")
            sub = m.group(2)
            if sub is None:
                return 200, p.pull(w, r, pr, api), {}
            if sub == "/reviews":
                return self._page(request, [p.review(w, r, pr, rv, api) for rv in pr.reviews])
            if sub == "/commits":
                return self._page(request, [p.commit(w, r, c, api) for c in pr.commits])
            return self._page(request, [p.review_comment(w, r, pr, rc, api) for rc in pr.review_comments])
        if rest == "/issues":
            return self._page(request, [p.issue(w, r, i, api) for i in self._issues(r, request)])
        if rest == "/issues/comments":
            comments = [(i, c) for i in r.issues.values() for c in i.comments]
            rows = self._filter_sort(comments, request, lambda x: x[1].created_at, lambda x: x[1].updated_at)
            return self._page(request, [p.issue_comment(w, r, i, c, api) for i, c in rows])
        if rest == "/issues/events":
            events = sorted(((i, e) for i in r.issues.values() for e in i.events), key=lambda x: -x[1].id)
            return self._page(request, [p.issue_event(w, r, i, e, api, with_issue=True) for i, e in events])
        m = re.fullmatch(r"/issues/(\d+)(/comments|/events)?", rest)
        if m:
            issue = r.issues.get(int(m.group(1)))
            if issue is None:
                raise ApiError(404, "Not Found")
            if m.group(2) is None:
                return 200, p.issue(w, r, issue, api), {}
            if m.group(2) == "/comments":
                return self._page(request, [p.issue_comment(w, r, issue, c, api) for c in issue.comments])
            return self._page(request, [p.issue_event(w, r, issue, e, api, with_issue=False) for e in issue.events])
        raise ApiError(404, "Not Found")

    # -- listings -----------------------------------------------------------------------------------
    def _repos(self, request: Request, api: str) -> Reply:
        q = request.query_params
        kind = q.get("type", "all")
        repos = self.world.live_repos()
        if kind == "public":
            repos = [r for r in repos if not r.private]
        elif kind == "private":
            repos = [r for r in repos if r.private]
        elif kind == "forks":
            repos = []
        sort = q.get("sort", "created")
        key: Callable[[Repo], Any] = {
            "created": lambda r: r.created_at,
            "updated": lambda r: r.updated_at,
            "pushed": lambda r: r.pushed_at,
            "full_name": lambda r: r.name.lower(),
        }.get(sort, lambda r: r.created_at)
        default_dir = "asc" if sort == "full_name" else "desc"
        repos = sorted(repos, key=key, reverse=q.get("direction", default_dir) == "desc")
        return self._page(request, [p.repo(self.world, r, api) for r in repos])

    def _pulls(self, r: Repo, request: Request) -> list[Pull]:
        q = request.query_params
        state = q.get("state", "open")
        pulls = [x for x in r.pulls.values() if state == "all" or x.state == state]
        sort = q.get("sort", "created")
        key: Callable[[Pull], Any] = {
            "created": lambda x: (x.created_at, x.number),
            "updated": lambda x: (x.updated_at, x.number),
        }.get(sort, lambda x: (x.created_at, x.number))
        return sorted(pulls, key=key, reverse=q.get("direction", "desc") == "desc")

    def _issues(self, r: Repo, request: Request) -> list[Issue]:
        q = request.query_params
        state = q.get("state", "open")
        issues = [i for i in r.issues.values() if state == "all" or i.state == state]
        return self._filter_sort(issues, request, lambda i: i.created_at, lambda i: i.updated_at, "desc")

    def _filter_sort(
        self,
        items: Sequence[Any],
        request: Request,
        created: Callable[[Any], Any],
        updated: Callable[[Any], Any],
        default_direction: str = "asc",
    ) -> list[Any]:
        """``since`` (updated at or after), ``sort`` created|updated, ``direction``."""
        q = request.query_params
        since = q.get("since")
        out = [x for x in items if since is None or iso(updated(x)) >= since]
        key = updated if q.get("sort") == "updated" else created
        return sorted(out, key=key, reverse=q.get("direction", default_direction) == "desc")

    def _page(self, request: Request, items: list[Any]) -> Reply:
        q = request.query_params
        per_page = min(100, max(1, _int(q.get("per_page"), 30)))
        page = max(1, _int(q.get("page"), 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def url(n: int) -> str:
            params = [(k, v) for k, v in q.multi_items() if k != "page"] + [("page", str(n))]
            return f"{str(request.url).split('?')[0]}?{urlencode(params)}"

        links = []
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})


def make_sandbox(seed: int = 7, latency_ms: float = 0, repos: int = 5, **kw: Any) -> GitHubSandbox:
    """A GitHub sandbox: ``repos`` repositories (one archived, one empty from 4 up) in one org."""
    return GitHubSandbox(seed=seed, latency_ms=latency_ms, repos=repos, **kw)
