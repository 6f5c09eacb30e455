"""Everything needed to run a source's tasks: the runtime object, the plan, and a serial run."""

from __future__ import annotations

import graphlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.connector import Connector, SourceOptions, SourceSecrets, credential_fingerprint
from connectors.http.client import HttpClient, RetryPolicy, make_pool
from connectors.http.pools import ClientPools
from connectors.http.ratelimit import InMemoryRateBudget, RateBudget
from connectors.privacy import Hasher, Privatizer, enabled_options, tenant_key
from connectors.runner import StreamResult, filter_partitions, run_stream
from connectors.store import TaskStore
from connectors.streams import Partition, StreamContext
from storage import Database


@dataclass
class SourceRuntime:
    """A source ready to run: connector, parsed options and secrets, partition filters."""

    connector: Connector
    tenant_id: int
    source_id: int
    options: SourceOptions
    secrets: SourceSecrets
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    # the tenant's privacy salt (a secret kept with its sources' credentials): the key of the
    # stable hashes the privacy options write (connectors.privacy)
    privacy_salt: str | None = field(default=None, repr=False)

    def privatizer(self) -> Privatizer:
        """The source's privacy options, ready to apply to raw records."""
        hasher = Hasher(tenant_key(self.privacy_salt)) if self.privacy_salt else None
        return Privatizer(enabled_options(self.options), hasher)

    @property
    def credential(self) -> str:
        return credential_fingerprint(self.connector.kind, self.options.base_url, self.secrets)

    def __repr__(self) -> str:
        return f"SourceRuntime(kind={self.connector.kind!r}, source_id={self.source_id!r})"


@dataclass(frozen=True)
class TaskPlan:
    key: str
    stream: str
    partition: Partition | None
    depends_on: tuple[str, ...] = ()


def task_key(source_id: int, stream: str, partition: Partition | None) -> str:
    return f"{source_id}:{stream}:{partition.key if partition else '-'}"


def open_http(
    rt: SourceRuntime,
    *,
    budget: RateBudget | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    validator_lookup: Any = None,
    keep_log: bool = False,
    max_in_flight: int | None = None,
    retry: RetryPolicy | None = None,
    pools: ClientPools | None = None,
) -> HttpClient:
    """The source's HTTP client for one task. With ``pools`` (the worker thread's, on its loop),
    it reuses the source's keep-alive connections from earlier tasks: one pool per source,
    credential and base URL, never another source's."""
    c = rt.connector
    retry = retry or RetryPolicy()
    in_flight = max_in_flight or c.max_in_flight
    pool = None
    if pools is not None and transport is None:
        key = f"{rt.tenant_id}|{rt.source_id}|{rt.credential}|{rt.options.base_url}|{in_flight}|{retry.timeout_s}"
        pool = pools.client(key, lambda: make_pool(rt.options.base_url, retry, in_flight))
    return HttpClient(
        rt.options.base_url,
        auth=c.auth(rt.secrets),
        headers=c.headers,
        budget=budget,
        budget_key=rt.credential,
        classify=c.classify,
        max_in_flight=in_flight,
        retry=retry,
        transport=transport,
        pool=pool,
        validator_lookup=validator_lookup,
        keep_log=keep_log,
    )


def discovery_plan(rt: SourceRuntime) -> TaskPlan | None:
    name = rt.connector.discovery_stream
    return TaskPlan(task_key(rt.source_id, name, None), name, None) if name else None


def plan_tasks(rt: SourceRuntime, partitions: Sequence[Partition]) -> list[TaskPlan]:
    """Tasks after discovery, in a dependency order: source-level streams, then per partition."""
    c = rt.connector
    disc = discovery_plan(rt)
    source_level = {s.name for s in c.streams if not s.partitioned}
    plans: list[TaskPlan] = []

    def deps(stream_deps: tuple[str, ...], partition: Partition | None) -> tuple[str, ...]:
        out = [disc.key] if disc else []
        for d in stream_deps:
            if d == c.discovery_stream:
                continue
            out.append(task_key(rt.source_id, d, None if d in source_level else partition))
        return tuple(dict.fromkeys(out))

    streams = [s for s in c.streams if s.needed is None or s.needed(rt.options)]
    for spec in streams:
        if spec.name == c.discovery_stream:
            continue
        if not spec.partitioned:
            plans.append(
                TaskPlan(task_key(rt.source_id, spec.name, None), spec.name, None, deps(spec.dependencies, None))
            )
    for p in partitions:
        for spec in streams:
            if spec.partitioned and spec.name != c.discovery_stream:
                plans.append(TaskPlan(task_key(rt.source_id, spec.name, p), spec.name, p, deps(spec.dependencies, p)))
    order = graphlib.TopologicalSorter({p.key: set(p.depends_on) for p in plans})
    rank = {k: i for i, k in enumerate(order.static_order())}
    return sorted(plans, key=lambda p: rank[p.key])


def partitions_of(rt: SourceRuntime, db: Database) -> list[Partition]:
    """Partitions from the rows the discovery stream loaded, filtered by include/exclude."""
    c = rt.connector
    if not c.partition_entity:
        return []
    store = TaskStore(db, tenant_id=rt.tenant_id, source_id=rt.source_id, stream="-", partition=None)
    return filter_partitions(c, store.live_rows(c.partition_entity), rt.options, rt.include, rt.exclude)


async def run_task(
    rt: SourceRuntime,
    db: Database,
    http: HttpClient,
    stream: str,
    partition: Partition | None,
    *,
    full: bool = False,
    run_id: int | None = None,
    task_run_id: int | None = None,
) -> StreamResult:
    spec = rt.connector.stream(stream)
    store = TaskStore(
        db,
        tenant_id=rt.tenant_id,
        source_id=rt.source_id,
        stream=stream,
        partition=partition.key if partition else None,
        run_id=run_id,
        task_run_id=task_run_id,
    )
    ctx = StreamContext(
        tenant_id=rt.tenant_id,
        source_id=rt.source_id,
        options=rt.options,
        partition=partition,
        run_id=run_id,
        derived=rt.connector.derived,
        privatizer=rt.privatizer(),
    )
    return await run_stream(rt.connector, spec, ctx, http, store, full=full)


@dataclass
class SourceRunReport:
    results: dict[str, StreamResult] = field(default_factory=dict)
    requests: int = 0

    @property
    def records_loaded(self) -> int:
        return sum(r.records_loaded for r in self.results.values())


async def run_source_sequentially(
    rt: SourceRuntime,
    db: Database,
    *,
    full: bool = False,
    run_id: int | None = None,
    budget: RateBudget | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_in_flight: int | None = None,
) -> SourceRunReport:
    """Run every task of a source one after the other, with one HTTP client for the source run.

    Errors propagate (the first failing task stops the run); pipelines isolate failures instead.
    """
    report = SourceRunReport()
    store = TaskStore(db, tenant_id=rt.tenant_id, source_id=rt.source_id, stream="-", partition=None)
    async with open_http(
        rt,
        budget=budget or InMemoryRateBudget(),
        transport=transport,
        validator_lookup=store.validator,
        max_in_flight=max_in_flight,
    ) as http:
        disc = discovery_plan(rt)
        if disc:
            report.results[disc.key] = await run_task(rt, db, http, disc.stream, None, full=full, run_id=run_id)
        for plan in plan_tasks(rt, partitions_of(rt, db)):
            report.results[plan.key] = await run_task(
                rt, db, http, plan.stream, plan.partition, full=full, run_id=run_id
            )
        report.requests = http.stats.requests
    return report
