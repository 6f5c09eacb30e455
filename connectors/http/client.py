"""The HTTP client of one source run: the ONE retry layer of Headwater.

One :class:`HttpClient` per source run (never a module global), wrapping an
``httpx.AsyncClient`` with per-request auth, timeouts, keep-alive pooling and a bounded number
of requests in flight per credential. Every request goes through the rate budget, is
classified by one function, and transient failures are retried here with tenacity
(exponential backoff with jitter, honoring Retry-After / X-RateLimit-Reset). Nothing else in
the code base retries.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import certifi
import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)
from tenacity.wait import wait_random_exponential

from connectors.errors import ConfigError, TransientError
from connectors.http.classify import Classifier, classify_response, raise_for_verdict
from connectors.http.ratelimit import InMemoryRateBudget, Pace, RateBudget

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~100 ms: do it once per process, not once per client."""
    return ssl.create_default_context(cafile=certifi.where())


class ParsedResponse(httpx.Response):
    """A response whose JSON body was parsed once, when :meth:`HttpClient.request` checked it:
    ``json()`` returns that document instead of parsing the page again (the profile of a full
    GitHub ingest showed every page decoded twice). Callers must not mutate what it returns."""

    _parsed: Any

    @staticmethod
    def keep(response: httpx.Response, parsed: Any) -> None:
        response.__class__ = ParsedResponse
        response._parsed = parsed  # type: ignore[attr-defined]

    def json(self, **kwargs: Any) -> Any:
        return self._parsed if not kwargs else super().json(**kwargs)


ValidatorStore = dict[str, tuple[str | None, str | None]]  # url -> (etag, last-modified)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    max_elapsed_s: float = 600.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 900.0
    timeout_s: float = 30.0  # per attempt: connect (at most 10 s) and each read


@dataclass
class RequestRecord:
    method: str
    url: str
    status: int
    conditional: bool
    elapsed_s: float


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    not_modified: int = 0
    rate_wait_s: float = 0.0
    by_status: Counter[int] = field(default_factory=Counter)
    log: list[RequestRecord] = field(default_factory=list)


def make_pool(
    base_url: str,
    retry: RetryPolicy,
    max_in_flight: int,
    *,
    timeout: httpx.Timeout | float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """The httpx client (keep-alive pool, TLS) of one source; auth and headers only when it is
    not shared (a shared one gets them with each request)."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        auth=auth,
        headers=dict(headers or {}),
        timeout=timeout if timeout is not None else httpx.Timeout(retry.timeout_s, connect=min(10.0, retry.timeout_s)),
        transport=transport,
        verify=default_ssl_context(),
        limits=httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight),
        follow_redirects=True,
    )


class HttpClient:
    """Async HTTP for one source run. Use as ``async with HttpClient(...) as http:``."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        budget: RateBudget | None = None,
        budget_key: str = "default",
        classify: Classifier = classify_response,
        max_in_flight: int = 8,
        timeout: httpx.Timeout | float | None = None,  # default: the retry policy's timeout_s
        retry: RetryPolicy = RetryPolicy(),
        validator_lookup: Callable[[str], tuple[str | None, str | None] | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_response: Callable[[httpx.Response], None] | None = None,
        keep_log: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,  # between retries (tests pass a fake)
        # A connection pool (make_pool) this source's tasks share on one event loop
        # (connectors.http.pools): it carries no auth or headers; this client sends its own.
        pool: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget: RateBudget = budget or InMemoryRateBudget()
        self.budget_key = budget_key
        self.classify = classify
        self.retry = retry
        self._sleep = sleep
        self._validator_lookup = validator_lookup
        self.new_validators: ValidatorStore = {}
        self.stats = HttpStats()
        self.keep_log = keep_log
        self._on_response = on_response
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._shared = pool is not None
        self._auth: httpx.Auth | None = auth if self._shared else None
        self._headers = dict(headers or {}) if self._shared else {}
        self._client = pool or make_pool(
            self.base_url, retry, max_in_flight, timeout=timeout, transport=transport, auth=auth, headers=headers
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._shared:  # a shared pool outlives the task (its loop closes it)
            await self._client.aclose()

    def url_for(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        conditional: bool = False,
        allow_status: frozenset[int] = frozenset(),
        bucket: str = "default",
        pace: Pace | None = None,
        what: str | None = None,
        expect_json: bool = True,
    ) -> httpx.Response:
        """Send one request with retries. Returns the response (2xx, 304, or an allowed status).

        Raises ConfigError / BugError at once, TransientError after retries are exhausted.
        """
        full_url = self.url_for(url)
        cache_key = str(httpx.URL(full_url, params=dict(params or {})))
        label = what or f"{method} {httpx.URL(full_url).path}"
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.retry.attempts) | stop_after_delay(self.retry.max_elapsed_s),
            wait=self._wait,
            reraise=True,
            before_sleep=self._before_sleep,
            sleep=self._sleep,
        )
        async for attempt in retrying:
            with attempt:
                response = await self._send_once(
                    method, full_url, params, json, cache_key, conditional, allow_status, bucket, pace, label
                )
                if expect_json and response.status_code < 300 and response.status_code not in allow_status:
                    try:
                        parsed = response.json()
                    except ValueError as exc:
                        # A truncated or garbled body: transient on the provider's side.
                        raise TransientError(f"{label}: the response body is not valid JSON") from exc
                    ParsedResponse.keep(response, parsed)
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_json(self, url: str, **kwargs: Any) -> Any:
        response = await self.request("GET", url, expect_json=True, **kwargs)
        return response.json()

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        cache_key: str,
        conditional: bool,
        allow_status: frozenset[int],
        bucket: str,
        pace: Pace | None,
        label: str,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if conditional and self._validator_lookup is not None:
            etag, last_modified = self._validator_lookup(cache_key) or (None, None)
            if etag:
                headers["If-None-Match"] = etag
            elif last_modified:
                headers["If-Modified-Since"] = last_modified
        key = f"{self.budget_key}:{bucket}"
        async with self._in_flight:
            waited = await self.budget.acquire(key, pace)
            self.stats.rate_wait_s += waited
            started = time.perf_counter()
            try:
                if self._shared:
                    response = await self._client.request(
                        method, url, params=params, json=json, headers={**self._headers, **headers}, auth=self._auth
                    )
                else:
                    response = await self._client.request(method, url, params=params, json=json, headers=headers)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self.stats.requests += 1
                raise TransientError(f"{label}: {type(exc).__name__} talking to {httpx.URL(url).host}") from exc
            except httpx.UnsupportedProtocol as exc:
                raise ConfigError(f"{label}: base_url is not an http(s) URL ({exc})") from exc
            elapsed = time.perf_counter() - started
            await self.budget.observe(key, response)
        self.stats.requests += 1
        self.stats.by_status[response.status_code] += 1
        if self.keep_log:
            self.stats.log.append(
                RequestRecord(method, str(response.request.url), response.status_code, bool(headers), elapsed)
            )
        if self._on_response is not None:
            self._on_response(response)
        if response.status_code == 304:
            self.stats.not_modified += 1
            return response
        if response.status_code in allow_status:
            return response
        verdict = self.classify(response)
        raise_for_verdict(verdict, response, label)
        if conditional and self._validator_lookup is not None and response.status_code == 200:
            etag = response.headers.get("etag")
            last_modified = response.headers.get("last-modified")
            if etag or last_modified:
                self.new_validators[cache_key] = (etag, last_modified)
        return response

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(multiplier=self.retry.backoff_initial_s, max=self.retry.backoff_max_s)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(self.retry.max_retry_after_s, max(exc.retry_after, 0.0) + min(backoff, 1.0))
        return backoff

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.info("retrying after transient error (attempt %d): %s", state.attempt_number, exc)
