"""Streams declared as data: what to fetch, how to page it, how to normalize it.

A provider folder is mostly a list of :class:`StreamSpec`. What a table can't say goes into
small hooks (``params``, ``normalize``, ``on_status``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from connectors.http.pagination import NoPaginator, Paginator
from connectors.http.ratelimit import Pace

if TYPE_CHECKING:
    from connectors.http.client import HttpClient


@dataclass(frozen=True)
class Partition:
    """A unit of fan-out inside a source: a repository, project, board, product or channel."""

    key: str  # stable and unique within the source, e.g. "acme/api"
    values: Mapping[str, Any] = field(default_factory=dict)  # for path templates, e.g. owner, repo
    names: tuple[str, ...] = ()  # extra names include/exclude globs may match, e.g. "api"


@dataclass(frozen=True)
class Row:
    """One normalized row for the shared schema; tenant/source ids are added by the runner."""

    entity: str
    data: dict[str, Any]


@dataclass
class StreamContext:
    """What hooks may look at. ``parent`` is the parent row for child streams."""

    tenant_id: int
    source_id: int
    options: BaseModel
    partition: Partition | None = None
    parent: Mapping[str, Any] | None = None
    cursor: Mapping[str, Any] | None = None
    run_id: int | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: dict[str, Any] = field(default_factory=dict)  # filled by a stream's ``prepare`` hook

    def fmt(self, template: str) -> str:
        values: dict[str, Any] = {}
        if self.partition is not None:
            # {partition_key} works even for a partition rebuilt from its key alone (gone since planning)
            values["partition_key"] = self.partition.key
            values.update(self.partition.values)
        if self.parent is not None:
            values.update(self.parent)
        values.update(self.options.model_dump())
        return template.format(**values)


@dataclass(frozen=True)
class ParentSpec:
    """A child stream iterates over rows already loaded by its parent stream.

    The child's cursor is the parent ``watermark`` (e.g. pull_request.updated_at) it has
    processed, so a failed child catches up on the next run without help from the parent.
    """

    entity: str  # parent entity kind, e.g. "pull_request"
    fields: tuple[str, ...]  # parent columns available to the path template, e.g. ("number",)
    partition_column: str | None = None  # parent column equal to the partition's key
    partition_value: str | None = None  # ...or to this entry of partition.values (e.g. "external_id")
    watermark: str = "updated_at"
    # extra filters on parent rows: column -> value (equality) or callable(table) -> SQL condition
    where: Mapping[str, Any] = field(default_factory=dict)
    chunk: int = 50  # parents fetched concurrently and committed together
    # a last filter in Python, with the task context (e.g. only issues whose embedded changelog
    # was truncated); the cursor still advances over the parents it skips
    select: Callable[[Mapping[str, Any], StreamContext], bool] | None = None


Normalizer = Callable[[Mapping[str, Any], StreamContext], Iterable[Row]]
ParamsHook = Callable[[StreamContext], dict[str, Any]]
StatusHook = Callable[[int, StreamContext], str | None]
PrepareHook = Callable[[StreamContext, "HttpClient"], Awaitable[None]]
CollectHook = Callable[[list[Mapping[str, Any]], StreamContext], Iterable[Row]]
# (ids live in the store but missing from a complete listing, ctx, http) -> (rows, ids still alive)
RedactHook = Callable[[Mapping[str, Any], StreamContext], Any]
ConfirmGoneHook = Callable[[list[str], StreamContext, "HttpClient"], Awaitable[tuple[list[Row], set[str]]]]


class StatusAction:
    """What an allowed non-2xx status means for a stream (``on_status`` hook).

    No hook may declare a partition gone: a sub-listing's answer says nothing certain about its
    partition. Only discovery (a complete listing of the partitions) or the connector's
    :class:`PartitionCheck` (a GET of the partition itself) tombstones one.
    """

    EMPTY = "empty"  # nothing to read (GitHub 409 on an empty repository)
    # The listing is not there (GitHub 410: issues disabled). Like a "not found" of a partition's
    # sub-listing: the runner asks the partition check; gone -> tombstoned, there -> a note.
    MISSING = "missing"


def _no_params(_ctx: StreamContext) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class PartitionCheck:
    """How to ask the provider whether one partition still exists: one GET of the partition itself.

    Used when a listing of the partition answers "not found" (404, Slack ``channel_not_found``)
    or an allowed status its hook calls :attr:`StatusAction.MISSING`. The partition is gone when
    this GET answers "not found" or 410; when it answers 2xx the task completes with nothing
    loaded, its cursor kept, and a note with ``hint`` (what such an answer likely means).
    ``path`` should name the partition by ``{partition_key}``, which a task always has.
    """

    path: str  # e.g. "repos/{partition_key}"
    hint: str  # e.g. "the feature is disabled for this repository, or the token lacks a permission"
    what: str = "partition"  # what a partition is called, e.g. "repository"
    params: ParamsHook = _no_params
    bucket: str = "default"
    pace: Pace | None = None


@dataclass(frozen=True)
class StreamSpec:
    """One stream of a connector.

    * ``path`` is formatted with partition values, parent fields and options.
    * ``records_path`` points at the list in the body (None: the body is the list).
    * ``cursor_field`` names a record field (dotted) whose max value is the incremental cursor;
      ``params`` receives the context (with ``ctx.cursor``) and applies it to the request.
    * ``ascending``: records arrive oldest-first, so the cursor may advance with every page;
      otherwise it advances only when the listing is complete. ``stop_at_cursor`` stops paging
      at the first record older than the cursor (newest-first listings).
    * ``snapshot_entity``: the listing is complete on every run, so live rows of that entity
      not seen are tombstoned (repositories, channels, projects). ``confirm_gone`` may check
      those ids first (a Jira issue moved to another project is not deleted).
    * ``stop_at_seen``: newest-first listings without a date filter (Bitbucket commits): the
      cursor is the ``cursor_field`` of the first record, and the next run stops at that record.
    * ``prepare`` runs once per task before reading (e.g. discover Jira custom field ids into
      ``ctx.state``); ``collect`` turns a child's whole listing into rows (sprint membership).
    """

    name: str
    path: str
    normalize: Normalizer
    records_path: str | None = None
    method: str = "GET"
    params: ParamsHook = _no_params
    body: ParamsHook | None = None
    paginator: Callable[[], Paginator] = NoPaginator
    partitioned: bool = True
    parent: ParentSpec | None = None
    depends_on: tuple[str, ...] = ()
    cursor_field: str | None = None
    ascending: bool = False
    stop_at_cursor: bool = False
    conditional: bool = True
    snapshot_entity: str | None = None
    snapshot_where: Callable[[StreamContext], dict[str, Any]] | None = None
    allow_status: frozenset[int] = frozenset()
    on_status: StatusHook | None = None
    bucket: str = "default"
    pace: Pace | Callable[[StreamContext], Pace | None] | None = None  # fixed, or chosen from options
    entities: tuple[str, ...] = ()  # entity kinds this stream loads (documentation and metrics)
    prepare: PrepareHook | None = None  # async, once per task before the listing (fills ctx.state)
    stop_at_seen: bool = False  # cursor = cursor_field of the newest record; stop there next time
    collect: CollectHook | None = None  # child streams: rows from one parent's complete listing
    confirm_gone: ConfirmGoneHook | None = None  # snapshot streams: re-check before tombstoning
    redact: RedactHook | None = None  # privacy: the raw record as it may be landed (e.g. without text)

    def pace_for(self, ctx: StreamContext) -> Pace | None:
        """The stream's pace; a callable pace depends on the source (e.g. Slack's app distribution)."""
        return self.pace(ctx) if callable(self.pace) else self.pace

    @property
    def incremental(self) -> bool:
        return self.cursor_field is not None or self.parent is not None
