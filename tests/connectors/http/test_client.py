"""connectors/http/client.py, the one retry layer, against httpx.MockTransport: which failures are
retried, how long it waits (backoff, Retry-After in seconds and as an HTTP date, the cap
``http_max_retry_after_s``), and which failures are raised at once. No real sleeps: the client
and its rate budget are given fake ones that only record the waits."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from connectors.errors import BugError, ConfigError, NotFoundError, TransientError
from connectors.http.client import HttpClient, RetryPolicy
from connectors.http.ratelimit import InMemoryRateBudget

Handler = Callable[[httpx.Request], httpx.Response]
FAST = RetryPolicy(attempts=4, max_elapsed_s=60.0, backoff_initial_s=0.5, backoff_max_s=4.0, max_retry_after_s=900.0)


class Sleeps:
    """A fake ``asyncio.sleep`` that records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(responses: Iterable[httpx.Response | Exception]) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering the given responses in order (an exception is raised instead)."""
    queue = list(responses)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def run(
    responses: Iterable[httpx.Response | Exception], *, retry: RetryPolicy = FAST, **kwargs: Any
) -> tuple[httpx.Response | Exception, list[httpx.Request], Sleeps, HttpClient]:
    handler, seen = scripted(responses)
    sleeps = Sleeps()
    budget = InMemoryRateBudget(sleep=Sleeps())

    async def go() -> tuple[httpx.Response | Exception, HttpClient]:
        async with HttpClient(
            "https://api.example.test",
            transport=httpx.MockTransport(handler),
            retry=retry,
            budget=budget,
            sleep=sleeps,
        ) as http:
            try:
                return await http.request("GET", "items", **kwargs), http
            except Exception as exc:  # the test asserts which
                return exc, http

    outcome, http = asyncio.run(go())
    return outcome, seen, sleeps, http


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json={"items": []} if body is None else body)


def test_transient_statuses_are_retried_with_bounded_exponential_backoff() -> None:
    outcome, seen, sleeps, http = run([httpx.Response(503), httpx.Response(502), httpx.Response(500), ok()])
    assert isinstance(outcome, httpx.Response) and outcome.status_code == 200
    assert len(seen) == 4 and http.stats.retries == 3
    assert len(sleeps.waits) == 3
    # wait_random_exponential: attempt n waits uniformly in [0, min(backoff_max, initial * 2**(n-1))].
    for n, wait in enumerate(sleeps.waits, start=1):
        assert 0.0 <= wait <= min(FAST.backoff_max_s, FAST.backoff_initial_s * 2 ** (n - 1))


def test_retries_stop_after_the_attempts_and_raise_transient() -> None:
    outcome, seen, sleeps, _ = run([httpx.Response(503)] * FAST.attempts)
    assert isinstance(outcome, TransientError) and outcome.status == 503
    assert len(seen) == FAST.attempts and len(sleeps.waits) == FAST.attempts - 1


def test_retry_after_in_seconds_is_honored() -> None:
    outcome, _, sleeps, _ = run([httpx.Response(429, headers={"Retry-After": "7"}), ok()])
    assert isinstance(outcome, httpx.Response)
    assert len(sleeps.waits) == 1
    assert 7.0 <= sleeps.waits[0] <= 8.0  # Retry-After plus at most one second of jitter


def test_retry_after_as_an_http_date_is_honored() -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    outcome, _, sleeps, _ = run([httpx.Response(503, headers={"Retry-After": when}), ok()])
    assert isinstance(outcome, httpx.Response)
    assert len(sleeps.waits) == 1
    assert 17.0 <= sleeps.waits[0] <= 21.0  # the date has a one-second resolution


def test_a_long_retry_after_is_cut_to_the_cap() -> None:
    capped = RetryPolicy(attempts=3, backoff_initial_s=0.5, backoff_max_s=4.0, max_retry_after_s=30.0)
    outcome, _, sleeps, _ = run([httpx.Response(429, headers={"Retry-After": "5000"}), ok()], retry=capped)
    assert isinstance(outcome, httpx.Response)
    assert sleeps.waits == [30.0]


def test_the_cap_comes_from_the_http_max_retry_after_s_setting(tmp_path: Any) -> None:
    from headwater.app import App, worker_config
    from headwater.settings import Settings

    settings = Settings(home=tmp_path, secret_key="k" * 44, http_max_retry_after_s=12.5)
    config = worker_config(App(settings, db=None, vault=None))  # type: ignore[arg-type]  # reads settings only
    assert config.retry.max_retry_after_s == 12.5
    outcome, _, sleeps, _ = run([httpx.Response(429, headers={"Retry-After": "600"}), ok()], retry=config.retry)
    assert isinstance(outcome, httpx.Response)
    assert sleeps.waits == [12.5]


def test_github_rate_limit_reset_epoch_is_waited_for() -> None:
    reset = str(int(time.time()) + 40)
    limited = httpx.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    outcome, _, sleeps, _ = run([limited, ok()])
    assert isinstance(outcome, httpx.Response)
    assert 38.0 <= sleeps.waits[0] <= 42.0


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")],
    ids=["connect", "timeout", "protocol"],
)
def test_network_errors_are_transient_and_retried(error: Exception) -> None:
    outcome, seen, sleeps, http = run([error, ok()])
    assert isinstance(outcome, httpx.Response) and outcome.status_code == 200
    assert len(seen) == 2 and len(sleeps.waits) == 1 and http.stats.retries == 1


def test_a_garbled_json_body_is_transient_and_retried() -> None:
    outcome, seen, _, _ = run([httpx.Response(200, content=b'{"items": ['), ok()])
    assert isinstance(outcome, httpx.Response) and outcome.json() == {"items": []}
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, ConfigError), (403, ConfigError), (404, NotFoundError), (410, BugError), (422, BugError)],
)
def test_non_transient_failures_are_raised_at_once(status: int, error: type[Exception]) -> None:
    outcome, seen, sleeps, _ = run([httpx.Response(status, json={"message": "nope"})])
    assert type(outcome) is error
    assert len(seen) == 1 and sleeps.waits == []
    assert "provider said: nope" in str(outcome)


def test_an_allowed_status_is_returned_not_raised() -> None:
    outcome, seen, _, _ = run([httpx.Response(404)], allow_status=frozenset({404}))
    assert isinstance(outcome, httpx.Response) and outcome.status_code == 404 and len(seen) == 1


def test_the_rate_budget_waits_out_a_retry_after_before_the_next_request() -> None:
    handler, _ = scripted([httpx.Response(429, headers={"Retry-After": "9"}), ok()])
    budget_sleeps = Sleeps()

    async def go() -> None:
        budget = InMemoryRateBudget(sleep=budget_sleeps)
        async with HttpClient(
            "https://api.example.test",
            transport=httpx.MockTransport(handler),
            retry=FAST,
            budget=budget,
            sleep=Sleeps(),
        ) as http:
            await http.request("GET", "items")

    asyncio.run(go())
    # The first request did not wait; the retry found the credential blocked for ~9 s.
    assert len(budget_sleeps.waits) == 1 and 8.0 <= budget_sleeps.waits[0] <= 9.0
