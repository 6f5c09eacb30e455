"""Jira's reading of HTTP responses, on top of the shared classification.

* 401: the email + API token pair was rejected -> CONFIG (create a new API token).
* 400 naming a project the account cannot see (JQL ``project = X`` answers "The value 'X' does
  not exist for the field 'project'") -> CONFIG for that project only; any other 400 is our
  request being wrong -> BUG.
* 429 (and 503) with ``Retry-After``; when only ``X-RateLimit-Reset`` is given it is an ISO time
  (``2025-09-09T10:00Z``), not epoch seconds. ``RateLimit-Reason`` says which limit was hit.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from connectors.errors import ErrorKind
from connectors.http.classify import Verdict, classify_response

PROJECT_HIDDEN = (
    "does not exist for the field 'project'",
    "No project could be found",
    "do not have permission",
    "not have the permission",
)


def _messages(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts.extend(str(v) for v in errors.values())
    return " ".join(parts)


def _reset_in(response: httpx.Response) -> float | None:
    raw = response.headers.get("x-ratelimit-reset")
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - datetime.now(UTC)).total_seconds())


def classify_jira(response: httpx.Response) -> Verdict:
    status = response.status_code
    if status == 401:
        return Verdict(
            ErrorKind.CONFIG,
            "Jira rejected the email + API token (401): create a new API token at "
            "https://id.atlassian.com/manage-profile/security/api-tokens for this account and reconnect the source",
        )
    if status == 400:
        text = _messages(response)
        if any(p in text for p in PROJECT_HIDDEN):
            return Verdict(
                ErrorKind.CONFIG,
                "this Jira project is not visible to the connected account: grant it the 'Browse projects' "
                "permission or remove the project from the source's `projects` option",
            )
        return Verdict(ErrorKind.BUG, "Jira rejected the request (400)")
    verdict = classify_response(response)
    if verdict.kind is ErrorKind.TRANSIENT and verdict.retry_after is None:
        reason = response.headers.get("ratelimit-reason")
        wait = _reset_in(response)
        if reason or wait is not None:
            text = f"{verdict.reason}; limit: {reason}" if reason else verdict.reason
            return Verdict(ErrorKind.TRANSIENT, text, wait)
    if verdict.kind is ErrorKind.TRANSIENT and response.headers.get("ratelimit-reason"):
        return Verdict(
            ErrorKind.TRANSIENT, f"{verdict.reason}; limit: {response.headers['ratelimit-reason']}", verdict.retry_after
        )
    return verdict
