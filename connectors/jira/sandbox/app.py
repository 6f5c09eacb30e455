"""A fake Jira Cloud site (REST v3 + agile 1.0) for demos, tests and benchmarks.

Like Jira Cloud: Basic auth with an account email + API token (401 otherwise); enhanced search
``/rest/api/3/search/jql`` only (``nextPageToken``/``isLast``, no total; fields default to the
id; the old ``/rest/api/{2,3}/search`` answer 410); ``startAt``/``maxResults`` elsewhere with
Jira's caps; embedded changelogs, comments and worklogs truncated; ``/rest/api/3/issue/bulkfetch``;
per-second burst limits answered with 429 + ``Retry-After``, ``X-RateLimit-*`` and
``RateLimit-Reason``; ``{"errorMessages": [...], "errors": {}}`` bodies.

Control (besides the kit's ``/__faults``, ``/__requests``, ``/__truth``, ``/__reset``):
``POST /__mutate`` with one op or a list of ops::

    {"op": "delete_issue", "issue": "ALPHA-3"}      {"op": "move_issue", "issue": "ALPHA-4", "to": "BETA"}
    {"op": "touch_issue", "issue": "ALPHA-5"}       {"op": "add_issue", "project": "GAMMA"}
    {"op": "forbid_project", "project": "BETA"}     {"op": "gone", "path": "/rest/api/3/search/jql"}
"""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.jira.sandbox import render as r
from connectors.jira.sandbox.errors import errors, int_or
from connectors.jira.sandbox.search import search
from connectors.jira.sandbox.world import API_TOKEN, EMAIL, ZONE_NAME, Issue, World
from connectors.sandbox.kit import Sandbox
from connectors.sandbox.limits import SlidingWindow

REMOVED = {
    "/rest/api/2/search": "The requested API has been removed. Please use the newer, enhanced search-based API "
    "instead. Deprecation details are available at https://developer.atlassian.com/changelog/#CHANGE-2046.",
    "/rest/api/3/search": "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
}
NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
NOT_FOUND_PROJECT = "No project could be found with key or id '{ref}'."


class JiraSandbox(Sandbox):
    provider = "jira"

    def __init__(self, *, seed: int = 7, latency_ms: float = 0.0, rate_per_s: int = 200, **size: Any) -> None:
        super().__init__(seed=seed, latency_ms=latency_ms)
        self.world = World(seed, **size)
        self.gone: set[str] = set()
        self.burst = SlidingWindow(rate_per_s, 1.0)
        self._state = threading.RLock()

    # -- kit hooks ---------------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        with self._state:
            return {
                "options": {"projects": "*"},
                "secrets": {"email": EMAIL, "api_token": API_TOKEN},
                "counts": self.world.counts(),
                "projects": [p.key for p in self.world.projects],
                # human accounts loaded -> shared-world roster key; issue keys -> ids (link targets)
                "accounts": {u.account_id: u.roster_key for u in self.world.users if u.account_type == "atlassian"},
                "issues": self.world.issue_ids(),
            }

    def error_response(self, kind: str, request: Request) -> Response:
        retry = str(max(1, int(self.faults.retry_after_s))) if self.faults.retry_after_s >= 1 else "0"
        if kind in ("rate", "secondary"):
            reset = (datetime.now(UTC) + timedelta(seconds=float(retry))).strftime("%Y-%m-%dT%H:%MZ")
            reason = "jira-burst-based" if kind == "rate" else "jira-quota-tenant-based"
            headers = {"Retry-After": retry, "X-RateLimit-Limit": str(self.burst.limit), "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": reset, "RateLimit-Reason": reason}  # fmt: skip
            html = '<html><body class="error-page error429"><h1>Oops - an error has occurred</h1></body></html>'
            return Response(html, 429, headers=headers, media_type="text/html")
        if kind == "revoked":
            return errors(401, "Client must be authenticated to access this resource.",
                          headers={"WWW-Authenticate": 'Basic realm="protected-area"'})  # fmt: skip
        if kind == "missing":
            return errors(404, "The requested resource does not exist or you do not have permission to see it.")
        return errors(503, "The service is temporarily unavailable.", headers={"Retry-After": "0"})

    def routes(self) -> list[BaseRoute]:
        api = "/rest/api/{v:int}"
        agile = "/rest/agile/1.0"
        return [
            Route("/__mutate", self._mutate, methods=["POST"]),
            Route("/rest/api/3/search/jql", self._guard(self._search), methods=["GET", "POST"]),
            Route(f"{api}/search", self._guard(self._removed), methods=["GET", "POST"]),
            Route("/rest/api/3/issue/bulkfetch", self._guard(self._bulkfetch), methods=["POST"]),
            Route(api + "/issue/{ref}/changelog", self._guard(self._changelog)),
            Route(api + "/issue/{ref}/comment", self._guard(self._comments)),
            Route(api + "/issue/{ref}/worklog", self._guard(self._worklogs)),
            Route(api + "/issue/{ref}", self._guard(self._issue)),
            Route(api + "/project/search", self._guard(self._projects)),
            Route(api + "/project/{ref}/versions", self._guard(self._versions)),
            Route(api + "/project/{ref}", self._guard(self._project)),
            Route(api + "/users/search", self._guard(self._users)),
            Route(api + "/field", self._guard(lambda req: JSONResponse(r.fields_list()))),
            Route(api + "/status", self._guard(lambda req: JSONResponse(r.statuses(self._base(req))))),
            Route(api + "/issuetype", self._guard(lambda req: JSONResponse(r.issue_types(self._base(req))))),
            Route(api + "/myself", self._guard(self._myself)),
            Route(agile + "/board", self._guard(self._boards)),
            Route(agile + "/board/{board:int}/sprint", self._guard(self._board_sprints)),
            Route(agile + "/sprint/{sprint:int}/issue", self._guard(self._sprint_issues)),
        ]

    # -- plumbing ----------------------------------------------------------------------------------
    def _base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            email, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return email == EMAIL and token == API_TOKEN

    def _guard(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                return self.error_response("revoked", request)
            verdict = self.burst.hit(request.headers.get("authorization", ""))
            if not verdict.allowed:
                reset = datetime.fromtimestamp(verdict.reset_at, UTC).strftime("%Y-%m-%dT%H:%MZ")
                headers = {"Retry-After": str(verdict.retry_after_s), "X-RateLimit-Limit": str(verdict.limit),
                           "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset,
                           "RateLimit-Reason": "jira-burst-based"}  # fmt: skip
                return Response("Rate limit exceeded", 429, headers=headers, media_type="text/html")
            if request.url.path in self.gone:
                return errors(410, REMOVED["/rest/api/3/search"])
            with self._state:
                response = handler(request)
                if hasattr(response, "__await__"):
                    response = await response
            response.headers["X-RateLimit-Limit"] = str(verdict.limit)
            response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
            if verdict.remaining * 5 < verdict.limit:
                response.headers["X-RateLimit-NearLimit"] = "true"
            return response  # type: ignore[no-any-return]

        return endpoint

    async def _mutate(self, request: Request) -> Response:
        body = await request.json()
        ops = body if isinstance(body, list) else [body]
        done = []
        with self._state:
            for op in ops:
                try:
                    done.append(self._apply(op))
                except KeyError as exc:
                    return JSONResponse({"error": f"unknown target {exc}"}, 404)
        return JSONResponse({"done": done})

    def _apply(self, op: dict[str, Any]) -> dict[str, Any]:
        w = self.world
        kind = op.get("op")
        if kind == "delete_issue":
            return w.delete_issue(str(op["issue"]))
        if kind == "move_issue":
            return w.move_issue(str(op["issue"]), str(op["to"]))
        if kind == "touch_issue":
            return w.touch_issue(str(op["issue"]))
        if kind == "add_issue":
            return w.add_issue(str(op["project"]))
        if kind == "forbid_project":
            proj = w.project(str(op["project"]))
            if proj is None:
                raise KeyError(op["project"])
            w.forbidden.add(proj.id)
            return {"forbidden": proj.key}
        if kind == "gone":
            self.gone.add(str(op["path"]))
            return {"gone": op["path"]}
        raise KeyError(f"op {kind!r}")

    def _visible(self, issue: Issue) -> bool:
        return issue.project_id not in self.world.forbidden

    # -- REST v3 -----------------------------------------------------------------------------------
    def _removed(self, request: Request) -> Response:
        return errors(410, REMOVED.get(request.url.path, REMOVED["/rest/api/3/search"]))

    async def _search(self, request: Request) -> Response:
        return await search(request, self.world, self._visible, self._base(request))

    async def _bulkfetch(self, request: Request) -> Response:
        body = await request.json()
        refs = [str(x) for x in body.get("issueIdsOrKeys") or []]
        if not refs or len(refs) > 100:
            return errors(400, "Provide between 1 and 100 issue ids or keys.")
        expand = body.get("expand") or []
        expand_set = set(expand.split(",") if isinstance(expand, str) else expand)
        found = {i.id: i for i in (self.world.find_issue(ref) for ref in refs) if i is not None and self._visible(i)}
        base = self._base(request)
        issues = [
            r.issue(base, self.world, found[k], body.get("fields") or ["*navigable"], expand_set) for k in sorted(found)
        ]
        return JSONResponse({"expand": "schema,names", "issues": issues, "issueErrors": []})

    def _issue_or_404(self, request: Request) -> Issue | None:
        issue = self.world.find_issue(request.path_params["ref"])
        return issue if issue is not None and self._visible(issue) else None

    def _page(self, request: Request, default: int, cap: int) -> tuple[int, int]:
        q = request.query_params
        return max(0, int_or(q.get("startAt"), 0)), max(1, min(int_or(q.get("maxResults"), default), cap))

    def _changelog(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if issue is None:
            return errors(404, NOT_FOUND_ISSUE)
        start, size = self._page(request, 100, 100)
        values = issue.histories[start : start + size]
        last = start + size >= len(issue.histories)
        out: dict[str, Any] = {
            "self": str(request.url),
            "maxResults": size,
            "startAt": start,
            "total": len(issue.histories),
            "isLast": last,
            "values": [r.history(self._base(request), self.world, h) for h in values],
        }
        if not last:
            out["nextPage"] = str(request.url.include_query_params(startAt=start + size))
        return JSONResponse(out)

    def _comments(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if issue is None:
            return errors(404, NOT_FOUND_ISSUE)
        start, size = self._page(request, 100, 100)
        shown = issue.comments[start : start + size]
        base = self._base(request)
        return JSONResponse({"startAt": start, "maxResults": size, "total": len(issue.comments),
                             "comments": [r.comment(base, self.world, issue, c) for c in shown]})  # fmt: skip

    def _worklogs(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if issue is None:
            return errors(404, NOT_FOUND_ISSUE)
        start, size = self._page(request, 5000, 5000)
        shown = issue.worklogs[start : start + size]
        base = self._base(request)
        return JSONResponse({"startAt": start, "maxResults": size, "total": len(issue.worklogs),
                             "worklogs": [r.worklog(base, self.world, issue, w) for w in shown]})  # fmt: skip

    def _issue(self, request: Request) -> Response:
        issue = self._issue_or_404(request)
        if issue is None:
            return errors(404, NOT_FOUND_ISSUE)
        fields = [f for v in request.query_params.getlist("fields") for f in v.split(",")] or ["*all"]
        expand = set((request.query_params.get("expand") or "").split(","))
        return JSONResponse(r.issue(self._base(request), self.world, issue, fields, expand))

    def _projects(self, request: Request) -> Response:
        start, size = self._page(request, 50, 100)
        projects = sorted(self.world.projects, key=lambda p: p.key)
        shown = projects[start : start + size]
        last = start + size >= len(projects)
        base = self._base(request)
        out: dict[str, Any] = {
            "self": str(request.url),
            "maxResults": size,
            "startAt": start,
            "total": len(projects),
            "isLast": last,
            "values": [r.project(base, p) for p in shown],
        }
        if not last:
            out["nextPage"] = str(request.url.include_query_params(startAt=start + size))
        return JSONResponse(out)

    def _project(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        proj = self.world.project(ref)
        if proj is None or proj.id in self.world.forbidden:  # Jira: not found *or* not browsable
            return errors(404, NOT_FOUND_PROJECT.format(ref=ref))
        return JSONResponse(r.project(self._base(request), proj))

    def _versions(self, request: Request) -> Response:
        proj = self.world.project(request.path_params["ref"])
        if proj is None or proj.id in self.world.forbidden:
            return errors(404, f"No project could be found with key '{request.path_params['ref']}'.")
        base = self._base(request)
        return JSONResponse([r.version(base, v) for v in self.world.versions if v.project_id == proj.id])

    def _users(self, request: Request) -> Response:
        start, size = self._page(request, 50, 1000)
        return JSONResponse([r.user(self._base(request), u) for u in self.world.users[start : start + size]])

    def _myself(self, request: Request) -> Response:
        me = r.user(self._base(request), self.world.users[0]) or {}
        return JSONResponse({**me, "emailAddress": EMAIL, "timeZone": ZONE_NAME, "locale": "en_US"})

    # -- agile 1.0 ---------------------------------------------------------------------------------
    def _boards(self, request: Request) -> Response:
        q = request.query_params
        boards = self.world.boards
        ref = q.get("projectKeyOrId")
        if ref:
            proj = self.world.project(ref)
            if proj is None or proj.id in self.world.forbidden:
                return errors(400, f"No project could be found with key '{ref}'.")
            boards = [b for b in boards if b.project_key == proj.key]
        if q.get("type"):
            boards = [b for b in boards if b.type in q["type"].split(",")]
        start, size = self._page(request, 50, 50)
        shown = boards[start : start + size]
        base = self._base(request)
        values = []
        for b in shown:
            proj = self.world.project(b.project_key)
            location = {"projectId": int(proj.id), "projectKey": proj.key, "projectName": proj.name,
                        "displayName": f"{proj.name} ({proj.key})", "projectTypeKey": "software"} if proj else {}  # fmt: skip
            values.append({"id": b.id, "self": f"{base}/rest/agile/1.0/board/{b.id}", "name": b.name,
                           "type": b.type, "location": location})  # fmt: skip
        return JSONResponse({"maxResults": size, "startAt": start, "total": len(boards),
                             "isLast": start + size >= len(boards), "values": values})  # fmt: skip

    def _board_sprints(self, request: Request) -> Response:
        board = next((b for b in self.world.boards if b.id == request.path_params["board"]), None)
        if board is None:
            return errors(404, "Board does not exist or you do not have permission to see it.")
        if board.type != "scrum":
            return errors(400, "The board does not support sprints")
        sprints = [s for s in self.world.sprints if s.board_id == board.id]
        start, size = self._page(request, 50, 50)
        base = self._base(request)
        return JSONResponse({"maxResults": size, "startAt": start, "isLast": start + size >= len(sprints),
                             "values": [r.sprint(base, s) for s in sprints[start : start + size]]})  # fmt: skip

    def _sprint_issues(self, request: Request) -> Response:
        sprint = next((s for s in self.world.sprints if s.id == request.path_params["sprint"]), None)
        if sprint is None:
            return errors(404, "Sprint does not exist or you do not have permission to see it.")
        issues = sorted((i for i in self.world.issues.values() if sprint.id in i.sprint_ids and self._visible(i)),
                        key=lambda i: i.id)  # fmt: skip
        start, size = self._page(request, 50, 50)
        fields = [f for v in request.query_params.getlist("fields") for f in v.split(",")] or ["*navigable"]
        base = self._base(request)
        return JSONResponse({"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(issues),
                             "issues": [r.issue(base, self.world, i, fields, set()) for i in issues[start : start + size]]})  # fmt: skip


def make_sandbox(seed: int = 7, latency_ms: float = 0, **size: Any) -> JiraSandbox:
    """A Jira site: ``projects`` (3) x ``issues`` (24), ``users`` (8), ``sprints`` per board (3),
    ``versions`` per project (3); ``rate_per_s`` burst limit (200)."""
    return JiraSandbox(seed=seed, latency_ms=latency_ms, **size)
