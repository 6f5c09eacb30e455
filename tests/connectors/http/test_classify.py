"""connectors/http/classify.py: every response classified by who must act, and Retry-After read.

TRANSIENT (wait and retry), CONFIG (the customer fixes the credentials or scope), BUG (the
connector must change). DATA is never an HTTP verdict: it is a record the normalizer cannot read.
"""

from __future__ import annotations

import email.utils

import httpx
import pytest

from connectors.errors import BugError, ConfigError, ErrorKind, NotFoundError, TransientError, error_kind
from connectors.http.classify import (
    OK,
    Verdict,
    classify_response,
    is_rate_limited,
    provider_said,
    raise_for_verdict,
    retry_after_seconds,
)

NOW = 1_800_000_000.0


def resp(status: int, headers: dict[str, str] | None = None, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "https://x.test/a"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind"),
    [
        (200, {}, None, None),
        (204, {}, None, None),
        (304, {}, None, None),
        (401, {}, None, ErrorKind.CONFIG),
        (403, {}, None, ErrorKind.CONFIG),
        (404, {}, None, ErrorKind.CONFIG),
        (403, {"X-RateLimit-Remaining": "0"}, None, ErrorKind.TRANSIENT),
        (403, {"Retry-After": "30"}, None, ErrorKind.TRANSIENT),
        (403, {}, b"You have exceeded a secondary Rate Limit.", ErrorKind.TRANSIENT),
        (408, {}, None, ErrorKind.TRANSIENT),
        (429, {}, None, ErrorKind.TRANSIENT),
        (500, {}, None, ErrorKind.TRANSIENT),
        (502, {}, None, ErrorKind.TRANSIENT),
        (503, {}, None, ErrorKind.TRANSIENT),
        (504, {}, None, ErrorKind.TRANSIENT),
        (400, {}, None, ErrorKind.BUG),
        (410, {}, None, ErrorKind.BUG),
        (422, {}, None, ErrorKind.BUG),
    ],
)
def test_status_to_who_must_act(
    status: int, headers: dict[str, str], body: bytes | None, kind: ErrorKind | None
) -> None:
    verdict = classify_response(resp(status, headers, content=body or b""))
    assert verdict.kind is kind
    assert verdict.ok is (kind is None)
    if kind is not None:
        assert verdict.reason  # every failure says why, in words


def test_only_404_is_not_found() -> None:
    assert classify_response(resp(404)).not_found
    assert not classify_response(resp(403)).not_found and not classify_response(resp(401)).not_found


def test_config_messages_say_what_the_customer_does() -> None:
    assert "reconnect" in classify_response(resp(401)).reason
    assert "scope" in classify_response(resp(403)).reason


@pytest.mark.parametrize(
    ("verdict", "error", "kind"),
    [
        (Verdict(ErrorKind.TRANSIENT, "busy", retry_after=3.0), TransientError, ErrorKind.TRANSIENT),
        (Verdict(ErrorKind.CONFIG, "denied"), ConfigError, ErrorKind.CONFIG),
        (Verdict(ErrorKind.CONFIG, "gone", not_found=True), NotFoundError, ErrorKind.CONFIG),
        (Verdict(ErrorKind.BUG, "odd"), BugError, ErrorKind.BUG),
    ],
)
def test_a_verdict_raises_the_error_of_its_kind(verdict: Verdict, error: type[Exception], kind: ErrorKind) -> None:
    with pytest.raises(error) as caught:
        raise_for_verdict(verdict, resp(418, json={"message": "teapot"}), "GET /a")
    assert type(caught.value) is error and error_kind(caught.value) is kind
    assert str(caught.value) == f"GET /a: {verdict.reason} — provider said: teapot"
    if isinstance(caught.value, TransientError):
        assert caught.value.retry_after == 3.0


def test_a_verdict_may_name_the_status_it_stands_for() -> None:
    # Slack answers a revoked token with HTTP 200 ok:false; the error carries 401.
    with pytest.raises(ConfigError) as caught:
        raise_for_verdict(Verdict(ErrorKind.CONFIG, "revoked", status=401), resp(200, json={"ok": False}), "auth.test")
    assert caught.value.status == 401


def test_ok_raises_nothing() -> None:
    raise_for_verdict(OK, resp(200), "GET /a")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"message": "Bad credentials"}, "Bad credentials"),
        ({"error": {"message": "nested"}}, "nested"),
        ({"errorMessages": ["one", "two"]}, "one; two"),
        ({"error_description": "expired"}, "expired"),
        ({"other": 1}, ""),
    ],
)
def test_provider_said_reads_the_providers_own_words(body: dict[str, object], said: str) -> None:
    assert provider_said(resp(400, json=body)) == said


def test_provider_said_on_a_non_json_body_is_its_start() -> None:
    assert provider_said(resp(502, content=b"<html>" + b"x" * 500)) == ("<html>" + "x" * 500)[:200]
    assert provider_said(resp(502)) == ""


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        ({"Retry-After": "12"}, 429, 12.0),
        ({"Retry-After": "1.5"}, 503, 1.5),
        ({"Retry-After": "-4"}, 429, 0.0),
        ({"Retry-After": email.utils.formatdate(NOW + 90, usegmt=True)}, 429, 90.0),
        ({"Retry-After": email.utils.formatdate(NOW - 90, usegmt=True)}, 429, 0.0),
        ({"Retry-After": "soon"}, 429, None),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 45)}, 403, 45.0),
        ({"X-RateLimit-Reset": "20"}, 429, 20.0),  # seconds from now, not an epoch
        ({"X-RateLimit-Remaining": "10", "X-RateLimit-Reset": str(int(NOW) + 45)}, 403, None),
        ({}, 429, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], status: int, expected: float | None) -> None:
    got = retry_after_seconds(resp(status, headers), now=NOW)
    assert got == expected


def test_rate_limited_detection() -> None:
    assert is_rate_limited(resp(429))
    assert is_rate_limited(resp(403, {"X-RateLimit-Remaining": "0"}))
    assert not is_rate_limited(resp(403, {"X-RateLimit-Remaining": "5"}, json={"message": "forbidden"}))
    assert not is_rate_limited(resp(503, {"Retry-After": "5"}))
