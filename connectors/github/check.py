"""``headwater source check``: is the token valid, does it have the scopes, can it see the org?"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.connector import CheckResult
from connectors.github.options import GitHubOptions
from connectors.http.client import HttpClient

ALLOWED = frozenset({401, 403, 404})
ORG_SCOPES = {"read:org", "write:org", "admin:org"}


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def scope_problems(header: str) -> list[str]:
    """What a classic token's ``X-OAuth-Scopes`` lacks for ingestion."""
    scopes = {s.strip() for s in header.split(",") if s.strip()}
    problems = []
    if "repo" not in scopes:
        problems.append(
            "the token lacks the 'repo' scope (needed for private repositories, pull requests and issues): "
            "edit the token on GitHub and tick 'repo'"
        )
    if not scopes & ORG_SCOPES:
        problems.append(
            "the token lacks the 'read:org' scope (needed to list organization members): "
            "edit the token on GitHub and tick 'read:org'"
        )
    return problems


async def check(http: HttpClient, options: Any) -> CheckResult:
    assert isinstance(options, GitHubOptions)
    org = options.org
    problems: list[str] = []
    details: dict[str, Any] = {"base_url": options.base_url, "org": org}
    identity: str | None = None

    user = await http.request("GET", "user", allow_status=ALLOWED, what="GET /user")
    if user.status_code == 401:
        return CheckResult(
            ok=False,
            problems=["GitHub rejected the token (401 Bad credentials): create a new token and reconnect the source"],
            details=details,
        )
    if user.status_code == 200:
        identity = str(user.json().get("login") or "") or None
    scopes = user.headers.get("x-oauth-scopes")
    if scopes is not None:
        details["token_type"] = "classic"
        details["scopes"] = sorted(s.strip() for s in scopes.split(",") if s.strip())
        problems.extend(scope_problems(scopes))
    else:
        # Fine-grained and app installation tokens carry no scope header: check by access only.
        details["token_type"] = "fine-grained or app installation"

    org_resp = await http.request("GET", f"orgs/{org}", allow_status=ALLOWED, what=f"GET /orgs/{org}")
    if org_resp.status_code == 404:
        problems.append(
            f"organization '{org}' was not found or the token cannot see it: check the 'org' option and "
            "that the token's owner (or app installation) belongs to the organization"
        )
        return CheckResult(ok=False, identity=identity, problems=problems, details=details)
    if org_resp.status_code == 403:
        msg = _message(org_resp)
        hint = "authorize the token for SAML single sign-on" if "saml" in msg.lower() else "grant the token access"
        problems.append(f"access to organization '{org}' is denied (403): {hint}")
        return CheckResult(ok=False, identity=identity, problems=problems, details=details)
    details["org_id"] = org_resp.json().get("id")

    repos = await http.request("GET", f"orgs/{org}/repos", params={"per_page": 1}, allow_status=ALLOWED)
    if repos.status_code != 200:
        problems.append(f"cannot list the repositories of '{org}' ({repos.status_code}): grant repository read access")
    elif not repos.json():
        problems.append(
            f"the token sees no repository of '{org}': grant it access to the repositories to ingest "
            "(fine-grained tokens and apps list only the repositories they were given)"
        )

    members = await http.request("GET", f"orgs/{org}/members", params={"per_page": 1}, allow_status=ALLOWED)
    if members.status_code != 200:
        problems.append(
            f"cannot list the members of '{org}' ({members.status_code}): grant 'read:org' "
            "(classic) or 'Members: read' (fine-grained / app)"
        )
    return CheckResult(ok=not problems, identity=identity, problems=problems, details=details)
