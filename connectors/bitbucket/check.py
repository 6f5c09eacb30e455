"""``headwater source check`` for Bitbucket: valid credential, workspace visible, repositories listable."""

from __future__ import annotations

from typing import Any

from connectors.bitbucket.options import API_TOKEN_HELP, BitbucketOptions
from connectors.connector import CheckResult
from connectors.http.client import HttpClient

ALLOWED = frozenset({401, 403, 404})


async def check(http: HttpClient, options: Any) -> CheckResult:
    assert isinstance(options, BitbucketOptions)
    ws = options.workspace
    details: dict[str, Any] = {"base_url": options.base_url, "workspace": ws}
    repos = await http.request(
        "GET", f"repositories/{ws}", params={"pagelen": 1}, allow_status=ALLOWED, what=f"GET /repositories/{ws}"
    )
    if repos.status_code == 401:
        return CheckResult(
            ok=False, problems=[f"Bitbucket rejected the credential (401): {API_TOKEN_HELP}"], details=details
        )
    problems: list[str] = []
    if repos.status_code in (403, 404):
        problems.append(
            f"workspace '{ws}' was not found or the credential cannot read its repositories ({repos.status_code}): "
            "check the 'workspace' option and the credential's repository read scope"
        )
    members = await http.request(
        "GET", f"workspaces/{ws}/members", params={"pagelen": 1}, allow_status=ALLOWED, what="GET members"
    )
    if members.status_code != 200:
        problems.append(f"cannot list the members of '{ws}' ({members.status_code}): grant workspace membership read")
    return CheckResult(ok=not problems, identity=None, problems=problems, details=details)
