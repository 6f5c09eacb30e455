"""Errors classified by who must act (ARCHITECTURE.md §7).

* CONFIG — the customer: bad or revoked token, missing scope, organization or repository gone.
  Never retried; the message names what to reconnect or fix. :class:`NotFoundError` is the
  CONFIG error of a resource the provider says does not exist (or the credential cannot see);
  on a partition's sub-listing the runner asks the partition itself before believing it.
* TRANSIENT — nobody: rate limits, 5xx, timeouts. Retried with backoff by the one retry layer
  (``connectors.http.client``); raised only once retries are exhausted.
* DATA — the provider sent a record we cannot read. The record is quarantined, the task goes on.
* BUG — our fault (a removed endpoint, an unexpected shape of a whole response): the task fails
  with a traceback.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.StrEnum):
    CONFIG = "CONFIG"
    TRANSIENT = "TRANSIENT"
    DATA = "DATA"
    BUG = "BUG"


class ConnectorError(Exception):
    """Base class; ``kind`` says who must act, ``str(err)`` says what to do."""

    kind: ErrorKind = ErrorKind.BUG

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConfigError(ConnectorError):
    kind = ErrorKind.CONFIG


class NotFoundError(ConfigError):
    """The provider says the addressed resource does not exist or the credential cannot see it
    (HTTP 404; Slack's ``channel_not_found``). ``said`` is the provider's own words."""

    def __init__(self, message: str, *, status: int | None = None, said: str = "") -> None:
        super().__init__(message, status=status)
        self.said = said


class TransientError(ConnectorError):
    kind = ErrorKind.TRANSIENT

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class DataError(ConnectorError):
    kind = ErrorKind.DATA


class BugError(ConnectorError):
    kind = ErrorKind.BUG


class PaginationError(BugError):
    """A paginator looped or exceeded its page cap."""


def error_kind(exc: BaseException) -> ErrorKind:
    """Classify any exception raised inside a task."""
    if isinstance(exc, ConnectorError):
        return exc.kind
    return ErrorKind.BUG
