"""One classification of HTTP responses, used by the one retry layer.

A provider may wrap :func:`classify_response` (Slack reports errors as 200 ``ok: false``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from connectors.errors import BugError, ConfigError, ConnectorError, ErrorKind, NotFoundError, TransientError


@dataclass(frozen=True)
class Verdict:
    """What to do with a response: ``kind`` None means success (2xx or 304). ``not_found``: the
    provider says the addressed resource does not exist or cannot be seen (raised as
    :class:`NotFoundError`, a CONFIG error). ``status``: the HTTP status the error stands for
    when the provider answers it otherwise (Slack's 200 ``token_revoked`` is a 401)."""

    kind: ErrorKind | None
    reason: str = ""
    retry_after: float | None = None
    not_found: bool = False
    status: int | None = None

    @property
    def ok(self) -> bool:
        return self.kind is None


OK = Verdict(None)
Classifier = Callable[[httpx.Response], Verdict]


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or an epoch ``*RateLimit-Reset``."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
    remaining = response.headers.get("x-ratelimit-remaining")
    reset = response.headers.get("x-ratelimit-reset")
    if reset and (remaining == "0" or response.status_code == 429):
        try:
            r = float(reset)
        except ValueError:
            return None
        # Epoch seconds (GitHub) or seconds from now (small numbers).
        return max(0.0, r - now) if r > 1e9 else max(0.0, r)
    return None


def is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code == 403:
        if response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers:
            return True
        text = response.text.lower() if response.content else ""
        return "rate limit" in text
    return False


def classify_response(response: httpx.Response) -> Verdict:
    status = response.status_code
    if status < 300 or status == 304:
        return OK
    if is_rate_limited(response):
        return Verdict(ErrorKind.TRANSIENT, f"rate limited ({status})", retry_after_seconds(response))
    if status >= 500 or status == 408:
        return Verdict(ErrorKind.TRANSIENT, f"server error {status}", retry_after_seconds(response))
    if status == 401:
        return Verdict(ErrorKind.CONFIG, "the credentials were rejected (401): reconnect the source with a valid token")
    if status == 403:
        return Verdict(ErrorKind.CONFIG, "access denied (403): the token lacks a permission or scope for this resource")
    if status == 404:
        return Verdict(
            ErrorKind.CONFIG, "not found (404): the resource does not exist or the token cannot see it", not_found=True
        )
    if status == 410:
        return Verdict(ErrorKind.BUG, "endpoint gone (410): the provider removed an API this connector uses")
    return Verdict(ErrorKind.BUG, f"unexpected HTTP {status}")


def raise_for_verdict(verdict: Verdict, response: httpx.Response, what: str) -> None:
    if verdict.ok:
        return
    message = f"{what}: {verdict.reason}"
    detail = provider_said(response)
    if detail:
        message = f"{message} — provider said: {detail}"
    exc: ConnectorError
    if verdict.kind is ErrorKind.TRANSIENT:
        exc = TransientError(message, status=response.status_code, retry_after=verdict.retry_after)
    elif verdict.kind is ErrorKind.CONFIG and verdict.not_found:
        exc = NotFoundError(message, status=response.status_code, said=detail)
    elif verdict.kind is ErrorKind.CONFIG:
        exc = ConfigError(message, status=verdict.status or response.status_code)
    else:
        exc = BugError(message, status=response.status_code)
    raise exc


def provider_said(response: httpx.Response) -> str:
    """The provider's own words in an error body (its message), or the start of a non-JSON body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] if response.content else ""
    if isinstance(body, dict):
        for key in ("message", "error", "errorMessages", "error_description"):
            if body.get(key):
                value = body[key]
                if isinstance(value, dict):
                    value = value.get("message", value)
                if isinstance(value, list):  # Jira: "errorMessages": ["…", "…"]
                    value = "; ".join(str(v) for v in value)
                return str(value)[:300]
    return ""
