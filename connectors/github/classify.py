"""GitHub's reading of error responses, on top of the generic classification.

* Secondary rate limits (403 or 429 whose message says so): transient; wait ``Retry-After``,
  else until ``X-RateLimit-Reset`` when the quota is at 0, else at least one minute (GitHub's
  documented guidance).
* 401 Bad credentials and SAML / integration permission 403s: the customer must act, and the
  message says what to do.
* GraphQL answers errors in a 200 body (``{"errors": [{"type": ...}]}``): ``RATE_LIMITED`` (or
  ``RATE_LIMIT``) is transient (wait for ``X-RateLimit-Reset``); ``INSUFFICIENT_SCOPES`` and
  ``FORBIDDEN`` need the customer; ``NOT_FOUND`` is a "not found" (the runner asks the
  repository itself); anything else is a query this connector got wrong (BUG).
"""

from __future__ import annotations

from typing import Any

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


def _graphql_errors(response: httpx.Response) -> list[dict[str, Any]]:
    if response.status_code != 200:
        return []
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request (tests)
        return []
    if not path.endswith("/graphql"):  # only GraphQL bodies are read twice
        return []
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def classify_graphql(errors: list[dict[str, Any]], response: httpx.Response) -> Verdict:
    types = {str(e.get("type") or "") for e in errors}
    said = "; ".join(str(e.get("message") or e.get("type") or "") for e in errors)[:300]
    if types & {"RATE_LIMITED", "RATE_LIMIT"}:
        wait = retry_after_seconds(response)
        return Verdict(
            ErrorKind.TRANSIENT,
            f"GitHub GraphQL rate limit exhausted; waiting for the reset ({said})",
            wait if wait is not None else SECONDARY_LIMIT_WAIT_S,
        )
    if "INSUFFICIENT_SCOPES" in types:
        return Verdict(
            ErrorKind.CONFIG,
            f"the token lacks a scope this GraphQL query needs ({said}); grant the scopes repo and read:org "
            "(or read access to pull requests and contents), or set the source option graphql=false",
        )
    if "FORBIDDEN" in types:
        return Verdict(
            ErrorKind.CONFIG,
            f"GitHub refused the GraphQL query ({said}); if the organization enforces SAML single sign-on, "
            "authorize the token for it, else grant read access to its repositories",
        )
    if types == {"NOT_FOUND"}:
        return Verdict(ErrorKind.CONFIG, f"not found ({said})", not_found=True)
    return Verdict(ErrorKind.BUG, f"GitHub rejected the GraphQL query ({said})")


def classify_github(response: httpx.Response) -> Verdict:
    status = response.status_code
    errors = _graphql_errors(response)
    if errors:
        return classify_graphql(errors, response)
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
