"""A fake Bitbucket Cloud API (``/2.0``) for demos, tests and benchmarks.

Like Bitbucket Cloud: Bearer access tokens or Basic ``email:api_token`` (any other Basic pair is
answered like a retired app password: 401 text/plain); paginated ``{"pagelen", "size", "page",
"values", "next"}`` pages (``pagelen`` <= 100, <= 50 for pull requests and activity, 400 above);
pull requests default to OPEN unless ``state`` is repeated; ``q=updated_on > "…"`` and
``sort=-updated_on``; commits newest first; a rolling hourly limit per credential answered with
429 text/plain and no ``Retry-After``; ``X-RateLimit-Limit``/``-Resource``/``-NearLimit`` for
access tokens; ``{"type": "error", "error": {...}}`` bodies. Served under ``/2.0`` and at the root.

``POST /__mutate`` with one op or a list: ``{"op": "merge_pr"|"decline_pr"|"supersede_pr"|
"approve_pr"|"comment_pr", "repo": slug, "id": n}``, ``{"op": "open_pr", "repo": slug}``,
``{"op": "push", "repo": slug, "commits": n}``, ``{"op": "delete_repo"|"forbid_repo", "repo": slug}``,
``{"op": "gone", "path": "/pullrequests"}`` (paths ending so answer 410, as a removed API would).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.bitbucket.sandbox.world import (
    API_TOKEN,
    EMAIL,
    TOKEN,
    Activity,
    Commit,
    PullRequest,
    Repo,
    World,
    bb_time,
)
from connectors.sandbox.kit import Sandbox
from connectors.sandbox.limits import SlidingWindow

APP_PASSWORD_401 = (
    "Bitbucket Cloud no longer supports app passwords for API authentication.\n"
    "Use an API token instead: https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/\n"
)
RATE_429 = "Rate limit for this resource has been exceeded"
_Q = re.compile(r'^\s*updated_on\s*(>=|>)\s*"?([^"]+?)"?\s*$')


NOT_FOUND_REPO = (  # what api.bitbucket.org answers for a repository it will not show
    "The requested repository either does not exist or you do not have access. If you believe this repository "
    "exists and you have access, make sure you're authenticated."
)


def error(status: int, message: str, detail: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "error", "error": {"message": message}}
    if detail:
        body["error"]["detail"] = detail
    return JSONResponse(body, status)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


class BitbucketSandbox(Sandbox):
    provider = "bitbucket"

    def __init__(self, *, seed: int = 7, latency_ms: float = 0.0, rate_per_hour: int = 10_000, **size: Any) -> None:
        super().__init__(seed=seed, latency_ms=latency_ms)
        self.world = World(seed, **size)
        self.hourly = SlidingWindow(rate_per_hour, 3600.0)
        self.gone: set[str] = set()  # path suffixes answered 410 (an API Bitbucket removed)
        self._state = threading.RLock()

    # -- kit hooks ---------------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        with self._state:
            return {
                "options": {"workspace": self.world.workspace},
                "secrets": {"token": TOKEN},
                "basic_secrets": {"username": EMAIL, "api_token": API_TOKEN},
                "base_path": "/2.0",
                "counts": self.world.counts(),
                "repositories": sorted(self.world.repos),
                # human accounts loaded -> shared-world roster key; rows naming a Jira key
                "accounts": {m.uuid: m.roster_key for m in self.world.members},
                "references": list(self.world.planted),
            }

    def error_response(self, kind: str, request: Request) -> Response:
        if kind in ("rate", "secondary"):
            return PlainTextResponse(RATE_429, 429, headers={"X-RateLimit-Resource": "api"})
        if kind == "revoked":
            return self._unauthorized(request)
        if kind == "missing":
            return error(404, NOT_FOUND_REPO)
        return error(500, "Something went wrong", "An internal error occurred; please retry.")

    def _unauthorized(self, request: Request) -> Response:
        if request.headers.get("authorization", "").startswith("Basic"):
            return PlainTextResponse(
                APP_PASSWORD_401, 401, headers={"WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"'}
            )
        return error(401, "Token is invalid, expired, or not supported for this endpoint.")

    def routes(self) -> list[BaseRoute]:
        repo = "/repositories/{ws}/{slug}"
        table: list[tuple[str, Callable[[Request], Response]]] = [
            ("/user", self._user),
            ("/repositories/{ws}", self._repositories),
            ("/workspaces/{ws}/members", self._members),
            ("/workspaces/{ws}/projects", self._projects),
            (repo, self._repository),
            (repo + "/refs/branches", self._branches),
            (repo + "/commits", self._commits),
            (repo + "/pullrequests", self._pulls),
            (repo + "/pullrequests/{pr:int}", self._pull),
            (repo + "/pullrequests/{pr:int}/activity", self._activity),
            (repo + "/pullrequests/{pr:int}/commits", self._pull_commits),
        ]
        routes: list[BaseRoute] = [Route("/__mutate", self._mutate, methods=["POST"])]
        for prefix in ("/2.0", ""):
            routes.extend(Route(prefix + path, self._guard(handler)) for path, handler in table)
        return routes

    # -- plumbing ----------------------------------------------------------------------------------
    def _credential(self, request: Request) -> tuple[str, bool] | None:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {TOKEN}":
            return "token", True
        if header.startswith("Basic "):
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            if user == EMAIL and secret == API_TOKEN:
                return "basic", False
        return None

    def _guard(self, handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            cred = self._credential(request)
            if cred is None:
                return self._unauthorized(request)
            key, is_token = cred
            verdict = self.hourly.hit(key)
            if not verdict.allowed:
                return PlainTextResponse(RATE_429, 429, headers={"X-RateLimit-Resource": "api"})
            slug = request.path_params.get("slug")
            ws = request.path_params.get("ws")
            with self._state:
                if any(request.url.path.endswith(g) for g in self.gone):
                    response: Response = error(410, "This API is no longer available.",
                                               "The resource was removed; see the Bitbucket Cloud changelog.")  # fmt: skip
                elif ws is not None and ws not in (self.world.workspace, self.world.workspace_uuid):
                    response = error(404, f"No workspace with identifier '{ws}'.")
                elif slug is not None and slug not in self.world.repos:
                    response = error(404, f"Repository {ws}/{slug} not found")
                elif slug is not None and slug in self.world.forbidden:
                    response = error(403, "Your credentials lack one or more required privilege scopes.",
                                     "You do not have access to this repository.")  # fmt: skip
                else:
                    response = handler(request)
            if is_token:
                response.headers["X-RateLimit-Limit"] = str(verdict.limit)
                response.headers["X-RateLimit-Resource"] = "api"
                response.headers["X-RateLimit-NearLimit"] = "true" if verdict.remaining * 5 < verdict.limit else "false"
            return response

        return endpoint

    async def _mutate(self, request: Request) -> Response:
        body = await request.json()
        done = []
        with self._state:
            for op in body if isinstance(body, list) else [body]:
                if op.get("op") == "gone":
                    self.gone.add(str(op["path"]))
                    done.append({"gone": op["path"]})
                    continue
                try:
                    done.append(self.world.apply(op))
                except KeyError as exc:
                    return JSONResponse({"error": f"unknown target {exc}"}, 404)
        return JSONResponse({"done": done})

    def _base(self, request: Request) -> str:
        root = str(request.base_url).rstrip("/")
        return root + ("/2.0" if request.url.path.startswith("/2.0/") else "")

    def _paged(
        self, request: Request, items: list[Any], render: Callable[[Any], dict[str, Any]], cap: int = 100
    ) -> Response:
        q = request.query_params
        size = _int(q.get("pagelen"), 10)
        if size < 1 or size > cap:
            return error(400, f"Invalid pagelen: the maximum for this resource is {cap}.")
        page = max(1, _int(q.get("page"), 1))
        start = (page - 1) * size
        body: dict[str, Any] = {"pagelen": size, "size": len(items), "page": page,
                                "values": [render(x) for x in items[start : start + size]]}  # fmt: skip
        if start + size < len(items):
            body["next"] = str(request.url.include_query_params(page=page + 1))
        if page > 1:
            body["previous"] = str(request.url.include_query_params(page=page - 1))
        return JSONResponse(body)

    # -- rendering ---------------------------------------------------------------------------------
    def _account(self, member_uuid: str | None) -> dict[str, Any] | None:
        m = self.world.member(member_uuid)
        if m is None:
            return None
        return {"display_name": m.display_name, "links": {"avatar": {"href": f"https://avatar.example/{m.nickname}.png"}},
                "type": "user", "uuid": m.uuid, "account_id": m.account_id, "nickname": m.nickname}  # fmt: skip

    def _repo_json(self, base: str, r: Repo) -> dict[str, Any]:
        p = self.world.project(r.project)
        full = f"{self.world.workspace}/{r.slug}"
        return {
            "type": "repository", "full_name": full, "name": r.slug, "slug": r.slug, "uuid": r.uuid,
            "is_private": r.private, "scm": "git", "language": "python", "has_issues": False, "has_wiki": False,
            "fork_policy": "no_public_forks", "description": "", "size": 1024 * len(r.commits),
            "created_on": bb_time(r.created), "updated_on": bb_time(r.updated),
            "mainbranch": {"type": "branch", "name": "main"},
            "project": {"type": "project", "key": p.key, "uuid": p.uuid, "name": p.name} if p else None,
            "workspace": {"type": "workspace", "slug": self.world.workspace, "uuid": self.world.workspace_uuid},
            "links": {"self": {"href": f"{base}/repositories/{full}"}, "html": {"href": f"https://bitbucket.org/{full}"}},
        }  # fmt: skip

    def _commit_json(self, base: str, r: Repo, c: Commit) -> dict[str, Any]:
        m = self.world.member(c.author)
        raw = f"{m.display_name} <{m.email}>" if m else "Unknown <unknown@example.com>"
        full = f"{self.world.workspace}/{r.slug}"
        return {
            "type": "commit", "hash": c.hash, "date": c.date.isoformat(timespec="seconds"), "message": c.message,
            "author": {"type": "author", "raw": raw, "user": self._account(c.author)},
            "summary": {"type": "rendered", "raw": c.message, "markup": "markdown"},
            "parents": [{"type": "commit", "hash": h, "links": {"self": {"href": f"{base}/repositories/{full}/commit/{h}"}}}
                        for h in c.parents],
            "repository": {"type": "repository", "full_name": full, "name": r.slug, "uuid": r.uuid},
            "links": {"self": {"href": f"{base}/repositories/{full}/commit/{c.hash}"}},
        }  # fmt: skip

    def _pr_json(self, base: str, r: Repo, pr: PullRequest) -> dict[str, Any]:
        full = f"{self.world.workspace}/{r.slug}"
        repo_ref = {"type": "repository", "full_name": full, "name": r.slug, "uuid": r.uuid}
        return {
            "type": "pullrequest", "id": pr.id, "title": pr.title, "description": "", "state": pr.state,
            "author": self._account(pr.author), "created_on": bb_time(pr.created), "updated_on": bb_time(pr.updated),
            "source": {"branch": {"name": pr.source}, "commit": {"hash": pr.commits[-1][:12]}, "repository": repo_ref},
            "destination": {"branch": {"name": pr.destination}, "commit": {"hash": r.branches["main"][:12]},
                            "repository": repo_ref},
            "merge_commit": {"hash": pr.merge_commit[:12]} if pr.merge_commit else None,
            "closed_by": self._account(pr.closed_by) if pr.state != "OPEN" else None,
            "comment_count": sum(1 for a in pr.activity if a.kind == "comment"), "task_count": 0,
            "close_source_branch": False, "reason": "", "draft": False,
            "links": {"self": {"href": f"{base}/repositories/{full}/pullrequests/{pr.id}"},
                      "html": {"href": f"https://bitbucket.org/{full}/pull-requests/{pr.id}"}},
        }  # fmt: skip

    def _activity_json(self, base: str, r: Repo, pr: PullRequest, a: Activity) -> dict[str, Any]:
        ref = {"type": "pullrequest", "id": pr.id, "title": pr.title}
        if a.kind == "update":
            body: dict[str, Any] = {"state": a.state, "title": pr.title, "description": "", "reason": "",
                                    "author": self._account(a.user), "date": bb_time(a.date), "reviewers": [],
                                    "source": {"branch": {"name": pr.source}},
                                    "destination": {"branch": {"name": pr.destination}}}  # fmt: skip
        elif a.kind == "comment":
            body = {"type": "pullrequest_comment", "id": a.comment_id, "content": {"raw": a.text, "markup": "markdown",
                    "html": f"<p>{a.text}</p>", "type": "rendered"}, "user": self._account(a.user),
                    "created_on": bb_time(a.date), "updated_on": bb_time(a.date), "deleted": False,
                    "pullrequest": ref}  # fmt: skip
        else:
            body = {"date": bb_time(a.date), "user": self._account(a.user), "pullrequest": ref}
        return {"pull_request": ref, a.kind: body}

    # -- endpoints ---------------------------------------------------------------------------------
    def _user(self, request: Request) -> Response:
        return JSONResponse({**(self._account(self.world.members[0].uuid) or {}), "has_2fa_enabled": None})

    def _repositories(self, request: Request) -> Response:
        base = self._base(request)
        repos = sorted(self.world.repos.values(), key=lambda r: r.slug)
        return self._paged(request, repos, lambda r: self._repo_json(base, r))

    def _repository(self, request: Request) -> Response:
        return JSONResponse(self._repo_json(self._base(request), self.world.repos[request.path_params["slug"]]))

    def _members(self, request: Request) -> Response:
        ws = {"type": "workspace", "slug": self.world.workspace, "uuid": self.world.workspace_uuid}
        return self._paged(request, self.world.members,
                           lambda m: {"type": "workspace_membership", "user": self._account(m.uuid), "workspace": ws})  # fmt: skip

    def _projects(self, request: Request) -> Response:
        return self._paged(request, self.world.projects, lambda p: {
            "type": "project", "uuid": p.uuid, "key": p.key, "name": p.name, "is_private": True,
            "created_on": bb_time(p.created), "updated_on": bb_time(p.created)})  # fmt: skip

    def _repo(self, request: Request) -> Repo:
        return self.world.repos[request.path_params["slug"]]

    def _branches(self, request: Request) -> Response:
        r = self._repo(request)
        base = self._base(request)
        items = sorted(r.branches.items())
        return self._paged(
            request,
            items,
            lambda b: {"type": "branch", "name": b[0], "target": self._commit_json(base, r, r.commits[b[1]])},
        )

    def _commits(self, request: Request) -> Response:
        r = self._repo(request)
        base = self._base(request)
        ordered = sorted(r.commits.values(), key=lambda c: (c.date, c.hash), reverse=True)
        return self._paged(request, ordered, lambda c: self._commit_json(base, r, c))

    def _pulls(self, request: Request) -> Response:
        r = self._repo(request)
        q = request.query_params
        states = {s.upper() for s in q.getlist("state")} or {"OPEN"}
        pulls = [p for p in r.pulls.values() if p.state in states]
        if q.get("q"):
            m = _Q.match(q["q"])
            if not m:
                return error(400, "Invalid query", f"could not parse {q['q']!r}")
            try:
                since = datetime.fromisoformat(m.group(2).replace("Z", "+00:00"))
            except ValueError:
                return error(400, "Invalid query", f"invalid datetime {m.group(2)!r}")
            pulls = [p for p in pulls if (p.updated >= since if m.group(1) == ">=" else p.updated > since)]
        desc = q.get("sort", "-updated_on").startswith("-")
        pulls.sort(key=lambda p: (p.updated, p.id), reverse=desc)
        base = self._base(request)
        return self._paged(request, pulls, lambda p: self._pr_json(base, r, p), cap=50)

    def _pull(self, request: Request) -> Response:
        r = self._repo(request)
        pr = r.pulls.get(request.path_params["pr"])
        if pr is None:
            return error(404, "Pull request not found")
        return JSONResponse(self._pr_json(self._base(request), r, pr))

    def _activity(self, request: Request) -> Response:
        r = self._repo(request)
        pr = r.pulls.get(request.path_params["pr"])
        if pr is None:
            return error(404, "Pull request not found")
        base = self._base(request)
        newest = sorted(pr.activity, key=lambda a: a.date, reverse=True)
        return self._paged(request, newest, lambda a: self._activity_json(base, r, pr, a), cap=50)

    def _pull_commits(self, request: Request) -> Response:
        r = self._repo(request)
        pr = r.pulls.get(request.path_params["pr"])
        if pr is None:
            return error(404, "Pull request not found")
        base = self._base(request)
        return self._paged(
            request, [r.commits[h] for h in reversed(pr.commits)], lambda c: self._commit_json(base, r, c)
        )


def make_sandbox(seed: int = 7, latency_ms: float = 0, **size: Any) -> BitbucketSandbox:
    """A Bitbucket workspace: ``repos`` (4) x ``commits`` (20) and ``pulls`` (6), ``members`` (6);
    ``rate_per_hour`` (10 000, the scaled maximum) per credential."""
    return BitbucketSandbox(seed=seed, latency_ms=latency_ms, **size)
