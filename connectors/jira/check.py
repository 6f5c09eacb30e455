"""``headwater source check`` for Jira: valid email + token, which projects it sees, agile access."""

from __future__ import annotations

from typing import Any

from connectors.connector import CheckResult
from connectors.http.client import HttpClient
from connectors.jira.options import JiraOptions

ALLOWED = frozenset({401, 403, 404})


async def check(http: HttpClient, options: Any) -> CheckResult:
    assert isinstance(options, JiraOptions)
    details: dict[str, Any] = {"base_url": options.base_url, "projects": options.projects}
    me = await http.request("GET", "rest/api/3/myself", allow_status=ALLOWED, what="GET /rest/api/3/myself")
    if me.status_code in (401, 403):
        return CheckResult(
            ok=False,
            problems=[
                "Jira rejected the email + API token: create a new API token at "
                "https://id.atlassian.com/manage-profile/security/api-tokens and reconnect"
            ],
            details=details,
        )
    identity = None
    if me.status_code == 200:
        body = me.json()
        identity = str(body.get("emailAddress") or body.get("displayName") or body.get("accountId") or "") or None
        details["time_zone"] = body.get("timeZone")
    problems: list[str] = []
    found = await http.request("GET", "rest/api/3/project/search", params={"maxResults": 100}, allow_status=ALLOWED)
    keys = [str(p.get("key")) for p in (found.json().get("values") or [])] if found.status_code == 200 else []
    matching = [k for k in keys if options.wants_project(k)]
    details["projects_visible"] = keys
    if not matching:
        problems.append(
            f"no visible project matches `projects={options.projects}`: check the option, and that the account "
            "has the 'Browse projects' permission on them"
        )
    boards = await http.request(
        "GET", "rest/agile/1.0/board", params={"maxResults": 1}, allow_status=ALLOWED, what="GET /rest/agile/1.0/board"
    )
    if boards.status_code != 200:
        problems.append(f"the agile API is not available ({boards.status_code}): sprints will not be loaded")
    return CheckResult(ok=not problems, identity=identity, problems=problems, details=details)
