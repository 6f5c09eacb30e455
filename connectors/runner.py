"""Run one stream for one partition: fetch pages, land raw, normalize, load with the cursor.

This is the unit of work that pipelines schedule on Dask. ``run_source_sequentially`` runs a
whole source one task at a time (tests, and the serial baseline of the benchmark).

A partition is gone only when the partition says so. When a listing of a partition answers
"not found" (404, Slack ``channel_not_found``; or an allowed status its hook calls
``StatusAction.MISSING``, e.g. GitHub's 410 for disabled issues), the runner asks the
connector's :class:`~connectors.streams.PartitionCheck` (one GET of the partition itself):
"not found" there too -> the partition is tombstoned; found -> the task completes with
nothing more loaded, its cursor kept, and a note saying which listing answered what and what
that likely means. Anything else the check answers (403, 5xx …) fails the task as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pydantic

from connectors.connector import Connector, matches
from connectors.cursors import ChildOf
from connectors.errors import BugError, ConnectorError, DataError, NotFoundError
from connectors.http.classify import provider_said
from connectors.http.client import HttpClient
from connectors.http.pagination import PageRequest, dig
from connectors.missing import Unavailable, not_found_code, settle_missing
from connectors.store import Batch, Quarantined, TaskStore
from connectors.streams import Partition, Row, StatusAction, StreamContext, StreamSpec

log = logging.getLogger(__name__)

NORMALIZE_ERRORS = (pydantic.ValidationError, DataError, KeyError, TypeError, ValueError, AttributeError)


@dataclass
class StreamResult:
    records_fetched: int = 0
    records_loaded: int = 0
    quarantined: int = 0
    pages: int = 0
    not_modified: bool = False
    partition_gone: bool = False
    loaded_by_entity: dict[str, int] = field(default_factory=dict)
    note: str | None = None


@dataclass
class Listing:
    """How one listing ended."""

    status: str  # "ok" | "not_modified" | a StatusAction
    pages: int = 0
    missing: Unavailable | None = None


@dataclass(frozen=True)
class _Job:
    """What one run of a stream reads with and writes to (every listing of it shares these)."""

    ctx: StreamContext
    http: HttpClient
    store: TaskStore
    result: StreamResult
    cursor: Mapping[str, Any] | None
    full: bool


def privatized(spec: StreamSpec, records: list[Any], ctx: StreamContext) -> list[Any]:
    """The records with the source's privacy options applied (before normalizing or landing).

    With an option on, a stream that declares no privacy fields is refused rather than landed as is."""
    p = ctx.privatizer
    if p is None or not p.active:
        return records
    if spec.privacy is None:
        raise BugError(
            f"stream {spec.name!r} declares no privacy fields (StreamSpec.privacy), so its records cannot be "
            f"stored with the privacy options {', '.join(sorted(p.enabled))}; nothing was landed"
        )
    return p.records(spec.privacy, records)


def landed(spec: StreamSpec, records: list[Any], ctx: StreamContext) -> list[Any]:
    """The raw records as they may be stored (``spec.redact`` drops what privacy options forbid)."""
    if spec.redact is None:
        return records
    return [spec.redact(r, ctx) if isinstance(r, Mapping) else r for r in records]


def normalize_records(spec: StreamSpec, records: list[Any], ctx: StreamContext) -> tuple[list[Row], list[Quarantined]]:
    rows: list[Row] = []
    bad: list[Quarantined] = []
    for record in records:
        try:
            if not isinstance(record, Mapping):
                raise DataError(f"expected an object, got {type(record).__name__}")
            rows.extend(spec.normalize(record, ctx))
        except NORMALIZE_ERRORS as exc:
            reason = f"{spec.name}: {type(exc).__name__}: {exc}"
            bad.append(Quarantined(payload=record, reason=reason[:4000]))
    return rows, bad


async def run_stream(
    connector: Connector,
    spec: StreamSpec,
    ctx: StreamContext,
    http: HttpClient,
    store: TaskStore,
    *,
    full: bool = False,
) -> StreamResult:
    result = StreamResult()
    cursor = None if full else store.read_cursor()
    ctx.cursor = cursor
    if spec.prepare is not None:
        await spec.prepare(ctx, http)
    job = _Job(ctx, http, store, result, cursor, full)
    if spec.parent is None:
        other = spec.alternative(ctx) if spec.alternative is not None else None
        missing = await _run_listing(other or spec, job)
        if other is not None and missing is not None and missing.pages == 0:
            log.info("%s: %s; reading the listing with %s %s instead", spec.name, missing, spec.method, spec.path)
            missing = await _run_listing(spec, job)
        if missing is not None:
            await settle_missing(connector, missing, ctx, http, store, result)
    else:
        await _run_children(spec, job)
    result.loaded_by_entity = dict(store.loaded_by_entity)
    return result


def _of_partition(spec: StreamSpec, ctx: StreamContext) -> bool:
    """A partition's own listing (not a source-level one, not a child's per-parent listing)."""
    return spec.partitioned and spec.parent is None and ctx.partition is not None


def _request_label(spec: StreamSpec, http: HttpClient, url: str) -> str:
    return f"{spec.method} {httpx.URL(http.url_for(url)).path}"


async def _read_listing(
    spec: StreamSpec,
    ctx: StreamContext,
    http: HttpClient,
    *,
    full: bool,
    on_page: Any,
) -> Listing:
    """Page through one listing, calling ``on_page(records, url)`` (async) for each page.

    Returns its status ("ok"|"not_modified"|StatusAction) and pages. ``on_page`` returns False
    to stop. A "not found" of a partition's listing is returned as MISSING, never raised.
    """
    request: PageRequest | None = PageRequest(
        url=ctx.fmt(spec.path),
        params=spec.params(ctx),
        json=spec.body(ctx) if spec.body else None,
    )
    paginator = spec.paginator()
    first = True
    pages = 0
    while request is not None:
        try:
            response = await http.request(
                spec.method,
                request.url,
                params=request.params or None,
                json=request.json,
                conditional=spec.conditional and first and not full,
                allow_status=spec.allow_status,
                bucket=spec.bucket,
                pace=spec.pace_for(ctx),
            )
        except NotFoundError as exc:
            if not _of_partition(spec, ctx):
                raise
            label = _request_label(spec, http, request.url)
            return Listing(
                StatusAction.MISSING, pages, Unavailable(spec.name, label, not_found_code(exc), exc.said, pages)
            )
        if response.status_code == 304:
            return Listing("not_modified", pages)
        if response.status_code in spec.allow_status:
            action = (spec.on_status(response.status_code, ctx) if spec.on_status else None) or StatusAction.EMPTY
            if action != StatusAction.MISSING:
                return Listing(action, pages)
            label = _request_label(spec, http, request.url)
            code = str(response.status_code)
            return Listing(action, pages, Unavailable(spec.name, label, code, provider_said(response), pages))
        body = response.json()
        records = dig(body, spec.records_path)
        if records is None:
            records = []
        if not isinstance(records, list):
            raise ConnectorError(
                f"{spec.name}: expected a list at {spec.records_path or 'the body'}, got {type(records).__name__}"
            )
        pages += 1
        keep_going = await on_page(records, str(response.request.url))
        if keep_going is False:
            break
        request = paginator.next_request(request, response, body)
        first = False
    return Listing("ok", pages)


async def _run_listing(spec: StreamSpec, job: _Job) -> Unavailable | None:
    """Read a listing; returns what was unavailable when it answered MISSING (nothing settled yet)."""
    ctx, http, store, result, cursor, full = job.ctx, job.http, job.store, job.result, job.cursor, job.full
    strategy = spec.cursor
    assert not isinstance(strategy, ChildOf)
    tracker = strategy.tracker((cursor or {}).get("value")) if strategy is not None else None
    snapshot = spec.snapshot
    seen: set[str] = set()

    async def on_page(records: list[Any], url: str) -> bool:
        kept, stop = tracker.keep(records) if tracker else (records, False)
        if spec.expand is not None:
            kept = records = await spec.expand(kept, ctx, http)
        # privacy last: what an expand hook embedded is changed too (cursor fields are never touched)
        private = privatized(spec, records, ctx)
        if private is not records:
            keep = {id(r) for r in kept}
            kept = [p for r, p in zip(records, private, strict=True) if id(r) in keep]
            records = private
        rows, bad = normalize_records(spec, kept, ctx)
        if tracker:
            tracker.saw(kept)
        if snapshot:
            seen.update(
                r.data["external_id"] for r in rows if r.entity == snapshot.entity and r.data.get("deleted_at") is None
            )
        batch = Batch(rows=rows, raw=landed(spec, records, ctx), url=url, quarantined=bad)
        batch.cursor = tracker.page_cursor() if tracker else None
        result.records_fetched += len(records)
        result.quarantined += len(bad)
        result.records_loaded += store.commit(batch)
        return not stop

    listing = await _read_listing(spec, ctx, http, full=full, on_page=on_page)
    status = listing.status
    result.pages = listing.pages
    final = Batch(validators=dict(http.new_validators))
    http.new_validators.clear()
    if status == "not_modified":
        result.not_modified = True
    elif status == "ok":
        final.cursor = tracker.final_cursor() if tracker else None
        if snapshot:
            where = snapshot.where_for(ctx)
            if snapshot.confirm_gone is not None:
                live = {str(r["external_id"]) for r in store.live_rows(snapshot.entity, where)}
                missing = sorted(live - seen)
                if missing:
                    rows, alive = await snapshot.confirm_gone(missing, ctx, http)
                    final.rows.extend(rows)
                    seen |= alive
            final.tombstones.append((snapshot.entity, where, seen))
    # MISSING (and EMPTY): no cursor and no snapshot, so nothing already loaded is lost
    result.records_loaded += store.commit(final)
    return listing.missing  # set only when the listing answered MISSING


async def _run_children(spec: StreamSpec, job: _Job) -> None:
    """Read the stream once per parent row (in chunks, concurrently), committing a batch per chunk."""
    ctx, http, store, result, cursor, full = job.ctx, job.http, job.store, job.result, job.cursor, job.full
    parent_spec = spec.parent
    assert parent_spec is not None
    since_raw = (cursor or {}).get("value")
    since = datetime.fromisoformat(since_raw) if isinstance(since_raw, str) else None
    all_parents = store.parent_rows(parent_spec, ctx.partition, since)
    select = parent_spec.select
    parents = [p for p in all_parents if select is None or select(p, ctx)]
    chunk = parent_spec.chunk

    async def one(parent: dict[str, Any]) -> tuple[list[Any], list[Row], list[Quarantined]]:
        child_ctx = StreamContext(
            tenant_id=ctx.tenant_id,
            source_id=ctx.source_id,
            options=ctx.options,
            partition=ctx.partition,
            parent=parent,
            cursor=cursor,
            run_id=ctx.run_id,
            now=ctx.now,
            state=ctx.state,
            derived=ctx.derived,
            privatizer=ctx.privatizer,
        )
        raw: list[Any] = []
        rows: list[Row] = []
        bad: list[Quarantined] = []

        async def on_page(records: list[Any], url: str) -> bool:
            records = privatized(spec, records, child_ctx)
            r, b = normalize_records(spec, records, child_ctx)
            raw.extend(landed(spec, records, child_ctx))
            rows.extend(r)
            bad.extend(b)
            return True

        status = (await _read_listing(spec, child_ctx, http, full=full, on_page=on_page)).status
        result.pages += 1
        if status == "not_modified":
            result.not_modified = True
        elif status == "ok" and spec.collect is not None:
            try:
                rows.extend(spec.collect([r for r in raw if isinstance(r, Mapping)], child_ctx))
            except NORMALIZE_ERRORS as exc:
                bad.append(Quarantined(payload=raw, reason=f"{spec.name}: {type(exc).__name__}: {exc}"[:4000]))
        return raw, rows, bad

    for start in range(0, len(parents), chunk):
        group = parents[start : start + chunk]
        outcomes = await asyncio.gather(*(one(p) for p in group))
        batch = Batch(url=f"{spec.name}[{len(group)} parents]")
        for raw, rows, bad in outcomes:
            batch.raw.extend(raw)
            batch.rows.extend(rows)
            batch.quarantined.extend(bad)
        marks = [p[parent_spec.watermark] for p in group if p.get(parent_spec.watermark) is not None]
        if marks:
            batch.cursor = {"value": max(marks).isoformat()}
        batch.validators = dict(http.new_validators)
        http.new_validators.clear()
        result.records_fetched += len(batch.raw)
        result.quarantined += len(batch.quarantined)
        result.records_loaded += store.commit(batch)
    # Parents skipped by ``select`` still count as processed.
    marks = [p[parent_spec.watermark] for p in all_parents if p.get(parent_spec.watermark) is not None]
    if len(parents) < len(all_parents) and marks:
        store.commit(Batch(cursor={"value": max(marks).isoformat()}))


def filter_partitions(
    connector: Connector, rows: list[dict[str, Any]], options: Any, include: list[str], exclude: list[str]
) -> list[Partition]:
    assert connector.partition_of is not None
    out: list[Partition] = []
    for row in rows:
        p = connector.partition_of(row, options)
        if p is not None and matches(p, include, exclude):
            out.append(p)
    return sorted(out, key=lambda p: p.key)
