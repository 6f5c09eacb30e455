"""HTTP for connectors: the client (the one retry layer), auth, classification, rate budgets, paging."""

from connectors.http.auth import BasicAuth, BearerAuth, HeaderTokenAuth
from connectors.http.classify import OK, Classifier, Verdict, classify_response, retry_after_seconds
from connectors.http.client import HttpClient, HttpStats, RetryPolicy
from connectors.http.pagination import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    NoPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
)
from connectors.http.ratelimit import InMemoryRateBudget, Pace, RateBudget, RedisRateBudget

__all__ = [
    "OK",
    "BasicAuth",
    "BearerAuth",
    "Classifier",
    "CursorPaginator",
    "HeaderTokenAuth",
    "HttpClient",
    "HttpStats",
    "InMemoryRateBudget",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "NoPaginator",
    "Pace",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "RateBudget",
    "RedisRateBudget",
    "RetryPolicy",
    "Verdict",
    "classify_response",
    "retry_after_seconds",
]
