"""Streams declared as data: what to fetch, how to page it, how to normalize it.

A provider folder is mostly a list of :class:`StreamSpec`. What a table can't say goes into
small hooks (``params``, ``normalize``, ``on_status``).
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from connectors.cursors import ChildOf, CursorStrategy, Snapshot
from connectors.http.pagination import NoPaginator, Paginator
from connectors.http.ratelimit import Pace
from connectors.privacy import Privacy, Privatizer

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

    # the connector's derived path values: name -> fn(ctx), e.g. a URL-encoded group path
    derived: Mapping[str, Callable[[StreamContext], Any]] = field(default_factory=dict)
    # the source's privacy options, applied to raw records before anything lands (connectors.privacy)
    privatizer: Privatizer | None = None

    def fmt(self, template: str) -> str:
        """``template`` with options, derived values, partition values and parent fields.

        A parent field names the parent record and wins; otherwise a placeholder that two of them
        provide with different values is an error, not a silent pick."""
        layers: list[tuple[str, Mapping[str, Any]]] = [("options", self.options.model_dump())]
        if self.derived:
            layers.append(("derived values", {k: fn(self) for k, fn in self.derived.items()}))
        if self.partition is not None:
            # {partition_key} works even for a partition rebuilt from its key alone (gone since planning)
            layers.append(("partition", {"partition_key": self.partition.key, **self.partition.values}))
        values: dict[str, Any] = {}
        for name in placeholders(template):
            if self.parent is not None and name in self.parent:
                values[name] = self.parent[name]
                continue
            found = [(where, layer[name]) for where, layer in layers if name in layer]
            if len({str(v) for _, v in found}) > 1:
                sources = ", ".join(where for where, _ in found)
                raise ValueError(f"path {template!r}: {{{name}}} is given differently by {sources}")
            if found:
                values[name] = found[-1][1]
        return template.format(**values)


def placeholders(template: str) -> set[str]:
    """The names a path template needs, e.g. ``repos/{owner}/{repo}`` -> {owner, repo}."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


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
RedactHook = Callable[[Mapping[str, Any], StreamContext], Any]
# async: the kept records of one page, completed (e.g. nested pages followed) before they are normalized
ExpandHook = Callable[[list[Any], StreamContext, "HttpClient"], Awaitable[list[Any]]]


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
    """One stream of a connector: what every stream needs, plus a few optional hooks.

    * ``path`` is formatted with options, the connector's derived values, partition values and
      parent fields (:meth:`StreamContext.fmt`); ``records_path`` points at the list in the body.
    * ``cursor`` is the incremental strategy (:mod:`connectors.cursors`: ``Since``,
      ``NewestFirst``, ``Ascending``, ``StopAtSeen``, ``ChildOf``); None: a full listing each run.
    * ``snapshot`` tombstones what a complete listing no longer shows (``Snapshot``).
    * ``depends_on`` names streams to run first; a ``ChildOf`` stream depends on its parent's.
    * ``prepare`` runs once per task before reading (fills ``ctx.state``); ``collect`` turns a
      child's whole listing into rows; ``redact`` is the raw record as it may be landed.
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
    cursor: CursorStrategy | None = None
    snapshot: Snapshot | None = None
    depends_on: tuple[str, ...] = ()
    conditional: bool = True
    allow_status: frozenset[int] = frozenset()
    on_status: StatusHook | None = None
    bucket: str = "default"
    pace: Pace | Callable[[StreamContext], Pace | None] | None = None  # fixed, or chosen from options
    entities: tuple[str, ...] = ()  # entity kinds this stream loads (documentation and metrics)
    prepare: PrepareHook | None = None  # async, once per task before the listing (fills ctx.state)
    collect: CollectHook | None = None  # child streams: rows from one parent's complete listing
    redact: RedactHook | None = None  # privacy: the raw record as it may be landed (e.g. without text)
    # Another API for the same listing, chosen per task (GitHub GraphQL for pull requests): same
    # name, store and cursor. When its first request answers "not found" (a server without that
    # API), the task reads this spec instead. ``expand`` completes each page's kept records
    # (nested pages); the records landed raw are then the completed ones.
    alternative: Callable[[StreamContext], StreamSpec | None] | None = None
    expand: ExpandHook | None = None
    # where its raw records carry names, e-mails, bodies, paths (connectors.privacy); None: undeclared
    privacy: Privacy | None = None
    # False for a source's options: the source gets no task of this stream at all (another
    # listing brings its records, e.g. GitHub's reviews inside the GraphQL pull requests)
    needed: Callable[[BaseModel], bool] | None = None

    def pace_for(self, ctx: StreamContext) -> Pace | None:
        """The stream's pace; a callable pace depends on the source (e.g. Slack's app distribution)."""
        return self.pace(ctx) if callable(self.pace) else self.pace

    @property
    def parent(self) -> ParentSpec | None:
        return self.cursor.parent if isinstance(self.cursor, ChildOf) else None

    @property
    def cursor_field(self) -> str | None:
        return None if self.cursor is None or isinstance(self.cursor, ChildOf) else self.cursor.field

    @property
    def incremental(self) -> bool:
        return self.cursor is not None

    @property
    def dependencies(self) -> tuple[str, ...]:
        """``depends_on`` plus the parent stream of a ``ChildOf`` stream."""
        own = (self.cursor.stream,) if isinstance(self.cursor, ChildOf) else ()
        return tuple(dict.fromkeys((*own, *self.depends_on)))
