"""GitHub's reading of error responses, on top of the generic classification.

* Secondary rate limits (403 or 429 whose message says so): transient; wait ``Retry-After``,
  else until ``X-RateLimit-Reset`` when the quota is at 0, else at least one minute (GitHub's
  documented guidance).
* 401 Bad credentials and SAML / integration permission 403s: the customer must act, and the
  message says what to do.
"""

from __future__ import annotations

import httpx

from connectors.errors import ErrorKind
from connectors.http.classify import Verdict, classify_response, retry_after_seconds

SECONDARY_LIMIT_WAIT_S = 60.0


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] if response.content else ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return ""


def classify_github(response: httpx.Response) -> Verdict:
    status = response.status_code
    if status < 300 or status == 304:
        return classify_response(response)
    message = _message(response).lower()
    if status in (403, 429) and ("secondary rate limit" in message or "abuse" in message):
        wait = retry_after_seconds(response)
        return Verdict(
            ErrorKind.TRANSIENT,
            f"GitHub secondary rate limit ({status})",
            wait if wait is not None else SECONDARY_LIMIT_WAIT_S,
        )
    if status == 401:
        return Verdict(
            ErrorKind.CONFIG,
            "GitHub rejected the token (401 Bad credentials): it was revoked, expired or mistyped; "
            "create a new token and reconnect the GitHub source",
        )
    verdict = classify_response(response)
    if status == 403 and verdict.kind is ErrorKind.CONFIG:
        if "saml" in message:
            return Verdict(
                ErrorKind.CONFIG,
                "the organization enforces SAML single sign-on: authorize the token for the organization "
                "(GitHub > Settings > Tokens > Configure SSO) and retry",
            )
        if "not accessible by" in message:
            return Verdict(
                ErrorKind.CONFIG,
                "the token or GitHub App lacks a permission for this resource (403); grant read access to "
                "repository contents, pull requests, issues and organization members",
            )
    if verdict.kind is ErrorKind.TRANSIENT and response.headers.get("x-ratelimit-remaining") == "0":
        return Verdict(
            ErrorKind.TRANSIENT, "GitHub API rate limit exhausted; waiting for the reset", verdict.retry_after
        )
    return verdict
