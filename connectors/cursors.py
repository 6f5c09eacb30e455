"""Cursor strategies: how a stream reads incrementally, as small typed objects.

A stream names one strategy (``StreamSpec.cursor``); the runner asks it, per listing, for a
:class:`Tracker` that filters each page (the stop rule) and says when the cursor may advance.

* :class:`Since` — the server filters on a field (``since=``, ``updated_since=``, JQL, ``oldest``);
  the cursor is the newest value seen, saved when the listing is complete.
* :class:`NewestFirst` — no server filter, newest first: read down to the watermark, then stop.
* :class:`Ascending` — oldest first: the cursor may advance with every page.
* :class:`StopAtSeen` — newest first, no date to compare (Bitbucket commit hashes): the cursor is
  the first record's value and the next run stops at that very record.
* :class:`ChildOf` — a child stream over rows its parent stream loaded; the cursor is the parent
  watermark processed, and the dependency on the parent stream is derived from it.

:class:`Snapshot` is not a cursor but a rule on the complete listing: live rows of the entity the
listing no longer shows are tombstoned. Values are parsed once (ISO datetimes as datetimes, Slack
``ts`` as decimals) and compared as such; the raw value is what is stored, so requests are the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from connectors.http.pagination import dig

if TYPE_CHECKING:
    from connectors.http.client import HttpClient
    from connectors.streams import ParentSpec, Row, StreamContext

Key = datetime | Decimal | str


def typed(value: Any) -> Key:
    """A cursor value as it compares: ISO timestamps as aware datetimes, numbers as decimals."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if len(text) >= 10 and text[4] == "-":
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def later(a: Key, b: Key) -> bool:
    """``a > b``, as datetimes or decimals when both are; as text otherwise."""
    if type(a) is type(b):
        return a > b  # type: ignore[operator]
    return str(a) > str(b)


def cursor_text(ctx: StreamContext) -> str | None:
    """The stored cursor value of the task, as text (what request parameters carry)."""
    value = (ctx.cursor or {}).get("value")
    return None if value is None else str(value)


def changed_since_cursor(watermark: str = "updated_at") -> Callable[[Mapping[str, Any], StreamContext], bool]:
    """A ``ParentSpec.select``: skip the parent whose watermark *is* the cursor. An earlier run read
    it in that very state (parents are selected with ``watermark >= cursor``)."""

    def select(parent: Mapping[str, Any], ctx: StreamContext) -> bool:
        mark = cursor_text(ctx)
        value = parent.get(watermark)
        return mark is None or not isinstance(value, datetime) or value.isoformat() != mark

    return select


def _value(record: Any, path: str) -> Any:
    return dig(record, path) if isinstance(record, Mapping) else None


class Tracker:
    """One listing's cursor bookkeeping (the default: a Since listing)."""

    def __init__(self, field: str, watermark: Any) -> None:
        self.field = field
        self.raw_watermark = watermark
        self.watermark = None if watermark is None else typed(watermark)
        self.best_raw: Any = watermark
        self.best = self.watermark

    def keep(self, records: list[Any]) -> tuple[list[Any], bool]:
        """The records to load and whether to stop paging after this page."""
        return records, False

    def saw(self, kept: list[Any]) -> None:
        for r in kept:
            v = _value(r, self.field)
            if v is not None and (self.best is None or later(typed(v), self.best)):
                self.best, self.best_raw = typed(v), v

    def page_cursor(self) -> dict[str, Any] | None:
        return None

    def final_cursor(self) -> dict[str, Any] | None:
        return None if self.best_raw is None else {"value": self.best_raw}


class _NewestFirst(Tracker):
    def keep(self, records: list[Any]) -> tuple[list[Any], bool]:
        if self.watermark is None:
            return records, False
        kept, stop = [], False
        for r in records:
            v = _value(r, self.field)
            if v is not None and later(self.watermark, typed(v)):
                stop = True
                continue
            kept.append(r)
        return kept, stop


class _Ascending(Tracker):
    def page_cursor(self) -> dict[str, Any] | None:
        return self.final_cursor()


class _StopAtSeen(Tracker):
    newest: Any = None

    def keep(self, records: list[Any]) -> tuple[list[Any], bool]:
        kept: list[Any] = []
        for r in records:
            v = _value(r, self.field)
            if self.newest is None and v is not None:
                self.newest = v
            if self.raw_watermark is not None and v == self.raw_watermark:
                return kept, True
            kept.append(r)
        return kept, False

    def saw(self, kept: list[Any]) -> None:
        pass

    def final_cursor(self) -> dict[str, Any] | None:
        return None if self.newest is None else {"value": self.newest}


@dataclass(frozen=True)
class Since:
    """The server filters on ``field`` (the stream's params hook sends :func:`cursor_text`)."""

    field: str

    def tracker(self, watermark: Any) -> Tracker:
        return Tracker(self.field, watermark)


@dataclass(frozen=True)
class NewestFirst:
    """Newest first without a server filter: stop at the first record older than the watermark."""

    field: str

    def tracker(self, watermark: Any) -> Tracker:
        return _NewestFirst(self.field, watermark)


@dataclass(frozen=True)
class Ascending:
    """Oldest first: the cursor advances with every page committed."""

    field: str

    def tracker(self, watermark: Any) -> Tracker:
        return _Ascending(self.field, watermark)


@dataclass(frozen=True)
class StopAtSeen:
    """Newest first, nothing to compare: stop at the first record the previous run saw first."""

    field: str

    def tracker(self, watermark: Any) -> Tracker:
        return _StopAtSeen(self.field, watermark)


@dataclass(frozen=True)
class ChildOf:
    """A child stream: iterate the rows ``stream`` loaded (``parent`` says which and how)."""

    stream: str
    parent: ParentSpec


ListingCursor = Since | NewestFirst | Ascending | StopAtSeen
CursorStrategy = ListingCursor | ChildOf
# (ids live in the store but missing from a complete listing, ctx, http) -> (rows, ids still alive)
ConfirmGoneHook = Callable[[list[str], "StreamContext", "HttpClient"], Awaitable[tuple[list["Row"], set[str]]]]


@dataclass(frozen=True)
class Snapshot:
    """The listing is complete on every run: live ``entity`` rows it lacks are tombstoned.

    ``where`` narrows the rows compared (e.g. one repository's branches): a dict of column ->
    value or ``callable(table)``, or a function of the context returning one. ``confirm_gone``
    may re-check the missing ids first (a Jira issue moved to another project is not deleted).
    """

    entity: str
    where: Callable[[StreamContext], dict[str, Any]] | None = None
    confirm_gone: ConfirmGoneHook | None = None

    def where_for(self, ctx: StreamContext) -> dict[str, Any]:
        return self.where(ctx) if self.where else {}
