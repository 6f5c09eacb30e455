"""Bitbucket Cloud's reading of HTTP responses, on top of the shared classification.

* 401 with Basic auth (or a body about app passwords): app passwords were retired in June 2026,
  and account passwords long before -> CONFIG: create an API token. 401 with Bearer -> CONFIG:
  the access token was revoked or expired.
* 429 "Rate limit for this resource has been exceeded": a rolling one-hour window per user or
  token, sent without ``Retry-After`` -> TRANSIENT with backoff (the shared rate budget blocks the
  credential); ``X-RateLimit-NearLimit`` only warns.
* 403 -> CONFIG naming the scope Bitbucket says is missing.
"""

from __future__ import annotations

import httpx

from connectors.bitbucket.options import API_TOKEN_HELP
from connectors.errors import ErrorKind
from connectors.http.classify import Verdict, classify_response


def _text(response: httpx.Response) -> str:
    return response.text[:2000].lower() if response.content else ""


def classify_bitbucket(response: httpx.Response) -> Verdict:
    status = response.status_code
    if status == 401:
        sent = response.request.headers.get("authorization", "") if response.request is not None else ""
        body = _text(response)
        if sent.startswith("Basic") or "app password" in body or "app-password" in body:
            return Verdict(
                ErrorKind.CONFIG,
                "Bitbucket rejected the username + secret (401). App passwords stopped working on 9 June 2026: "
                + API_TOKEN_HELP,
            )
        return Verdict(
            ErrorKind.CONFIG,
            "Bitbucket rejected the access token (401): it was revoked or has expired; create a new access "
            "token for the workspace and reconnect the source",
        )
    if status == 429:
        resource = response.headers.get("x-ratelimit-resource") or "api"
        verdict = classify_response(response)
        return Verdict(
            ErrorKind.TRANSIENT,
            f"Bitbucket hourly rate limit for the '{resource}' resource exceeded (429)",
            verdict.retry_after,
        )
    if status == 403:
        return Verdict(
            ErrorKind.CONFIG,
            "access denied (403): the credential lacks a permission or scope for this resource "
            "(repository, pull request, project or workspace read)",
        )
    return classify_response(response)
