"""Prometheus metrics, derived from the database at scrape time.

Runs execute in many processes (the CLI, Celery workers, Dask workers); the database is the
one place that sees all of them, so ``GET /metrics`` reads it through a custom collector
instead of counting in memory. Every family is one aggregate query (GROUP BY), so a scrape
costs a handful of index-friendly queries whatever the number of runs.

Counters only count what can no longer change (runs and tasks in a terminal state, rows
loaded by completed tasks); states that come and go (queued, running) are gauges.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import Float, case, cast, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session

from storage import Database
from storage.models import ACTIVE_STATES, TERMINAL_STATES, Alert, RetiredSample, Run, Source, TaskRun, Tenant

DURATION_BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
TERMINAL = sorted(str(s) for s in TERMINAL_STATES)
ACTIVE = sorted(str(s) for s in ACTIVE_STATES)
QUEUED = ["SCHEDULED", "PENDING"]


def _counts_by_key_sql(column: str, where: str) -> dict[str, str]:
    """Per dialect: the JSON object ``task_run.<column>`` ({key: count}) of the tasks ``where``
    selects, expanded in SQL and summed by tenant, connector and key (``{scope}`` left to fill)."""
    return {
        "sqlite": f"""
        SELECT t.slug, s.kind, je.key, SUM(CAST(je.value AS INTEGER))
        FROM task_run tr
        JOIN source s ON s.id = tr.source_id
        JOIN tenant t ON t.id = s.tenant_id, json_each(tr.{column}) je
        WHERE {where} {{scope}}
        GROUP BY t.slug, s.kind, je.key
    """,
        "postgresql": f"""
        SELECT t.slug, s.kind, je.key, SUM(je.value::bigint)
        FROM task_run tr
        JOIN source s ON s.id = tr.source_id
        JOIN tenant t ON t.id = s.tenant_id
        CROSS JOIN LATERAL jsonb_each_text(tr.{column}) AS je(key, value)
        WHERE {where} {{scope}}
        GROUP BY t.slug, s.kind, je.key
    """,
    }


# Rows loaded per entity: the JSON object ``task_run.loaded_by_entity`` expanded in SQL.
_RECORDS_SQL = _counts_by_key_sql("loaded_by_entity", "tr.state = 'COMPLETED'")

# HTTP responses by status: the JSON object ``task_run.http_statuses`` of finished tasks (crashed
# ones keep the counts their worker last wrote), expanded in SQL.
_RESPONSES_SQL = _counts_by_key_sql("http_statuses", "tr.state IN ({terminal})")


class DatabaseCollector:
    """A prometheus_client collector that queries the database on every scrape. Counters add the
    samples of removed sources (:func:`retire_source`): they never go down."""

    def __init__(self, db: Database | None, *, source_id: int | None = None) -> None:
        self.db = db
        self.source_id = source_id  # set: only this source's share of the counters

    def describe(self) -> list[Metric]:
        return []  # no queries at registration time

    def collect(self) -> Iterator[Metric]:
        assert self.db is not None
        with self.db.session() as s:
            retired = _retired(s)
            yield from self._runs(s)
            for family in self.counters(s):
                yield _with_retired(family, retired)
            yield from self._sources(s)
            yield from self._alerts(s)

    def counters(self, s: Session) -> Iterator[Metric]:
        """The families derived from task runs (deleted with their source); gauges among them too."""
        yield from self._records(s)
        yield from self._tasks(s)
        yield from self._durations(s)
        yield from self._http(s)
        yield from self._responses(s)

    def _scoped(self, q: Any) -> Any:
        return q if self.source_id is None else q.where(Source.id == self.source_id)

    # -- runs ----------------------------------------------------------------------------
    def _runs(self, s: Session) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "headwater_runs", "Runs that reached a terminal state, by tenant and state.", labels=["tenant", "state"]
        )
        current = GaugeMetricFamily(
            "headwater_runs_active", "Runs queued or running now, by tenant and state.", labels=["tenant", "state"]
        )
        queue = GaugeMetricFamily(
            "headwater_queue_depth", "Runs waiting to start (scheduled or pending), by tenant.", labels=["tenant"]
        )
        slugs = list(s.execute(select(Tenant.slug)).scalars())
        depth = dict.fromkeys(slugs, 0)
        # Gauges say 0 when idle rather than vanishing: every tenant x active state is present.
        now = {(slug, state.lower()): 0 for slug in slugs for state in ACTIVE}
        rows = s.execute(
            select(Tenant.slug, Run.state, func.count())
            .join(Tenant, Tenant.id == Run.tenant_id)
            .group_by(Tenant.slug, Run.state)
        ).tuples()
        for slug, state, n in rows:
            if state in TERMINAL:
                total.add_metric([slug, state.lower()], n)
            else:
                now[(slug, state.lower())] = now.get((slug, state.lower()), 0) + n
                if state in QUEUED:
                    depth[slug] = depth.get(slug, 0) + n
        for (slug, state), n in sorted(now.items()):
            current.add_metric([slug, state], n)
        for slug, n in sorted(depth.items()):
            queue.add_metric([slug], n)
        yield from (total, current, queue)

    # -- records -------------------------------------------------------------------------
    def _records(self, s: Session) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "headwater_records_loaded",
            "Rows loaded into the shared schema by completed tasks, by tenant, connector and entity.",
            labels=["tenant", "connector", "entity"],
        )
        sql = _RECORDS_SQL.get(s.get_bind().dialect.name)
        if sql is not None:
            scoped = sql.format(scope="" if self.source_id is None else "AND s.id = :sid")
            for slug, kind, entity, n in s.execute(text(scoped), {"sid": self.source_id}).tuples():
                family.add_metric([slug, kind, entity], int(n or 0))
        yield family

    # -- tasks ---------------------------------------------------------------------------
    def _tasks(self, s: Session) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "headwater_tasks",
            "Task runs that reached a terminal state, by connector, stream and state.",
            labels=["connector", "stream", "state"],
        )
        current = GaugeMetricFamily(
            "headwater_tasks_active",
            "Task runs queued or running now, by connector and state.",
            labels=["connector", "state"],
        )
        errors = CounterMetricFamily(
            "headwater_task_errors",
            "Failed task runs by connector and error kind (config, transient, data, bug, crash).",
            labels=["connector", "error_kind"],
        )
        rows = s.execute(
            self._scoped(
                select(Source.kind, TaskRun.stream, TaskRun.state, TaskRun.error_kind, func.count())
                .join(Source, Source.id == TaskRun.source_id)
                .group_by(Source.kind, TaskRun.stream, TaskRun.state, TaskRun.error_kind)
            )
        ).tuples()
        terminal: dict[tuple[str, str, str], int] = {}
        kinds = s.execute(select(Source.kind).distinct()).scalars()
        active: dict[tuple[str, str], int] = {(kind, state.lower()): 0 for kind in kinds for state in ACTIVE}
        failed: dict[tuple[str, str], int] = {}
        for kind, stream, state, error_kind, n in rows:
            if state in TERMINAL:
                key = (kind, stream, state.lower())
                terminal[key] = terminal.get(key, 0) + n
                if state in ("FAILED", "CRASHED"):
                    ek = (kind, (error_kind or "unknown").lower())
                    failed[ek] = failed.get(ek, 0) + n
            else:
                ak = (kind, state.lower())
                active[ak] = active.get(ak, 0) + n
        for key, n in sorted(terminal.items()):
            total.add_metric(list(key), n)
        for ak, n in sorted(active.items()):
            current.add_metric(list(ak), n)
        for ek, n in sorted(failed.items()):
            errors.add_metric(list(ek), n)
        yield from (total, current, errors)

    def _durations(self, s: Session) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "headwater_task_duration_seconds",
            "Duration of finished task runs, by connector and stream.",
            labels=["connector", "stream"],
        )
        buckets = [func.sum(case((TaskRun.duration_s <= b, 1), else_=0)) for b in DURATION_BUCKETS]
        rows = s.execute(
            self._scoped(
                select(Source.kind, TaskRun.stream, func.count(), func.sum(cast(TaskRun.duration_s, Float)), *buckets)
                .join(Source, Source.id == TaskRun.source_id)
                .where(TaskRun.duration_s.is_not(None), TaskRun.state.in_(TERMINAL))
                .group_by(Source.kind, TaskRun.stream)
            )
        ).all()
        for kind, stream, count, total, *cumulative in rows:
            family.add_metric([kind, stream], _buckets(cumulative, int(count)), sum_value=float(total or 0.0))
        yield family

    # -- HTTP ----------------------------------------------------------------------------
    def _http(self, s: Session) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "headwater_http_requests",
            "HTTP requests made to providers by finished tasks, by connector.",
            labels=["connector"],
        )
        retries = CounterMetricFamily(
            "headwater_http_retries", "HTTP requests retried (5xx, 429, network), by connector.", labels=["connector"]
        )
        waits = CounterMetricFamily(
            "headwater_rate_limit_wait_seconds",
            "Time tasks spent waiting for a rate budget (provider limits), by connector.",
            labels=["connector"],
        )
        rows = s.execute(
            self._scoped(
                select(
                    Source.kind,
                    func.coalesce(func.sum(TaskRun.requests), 0),
                    func.coalesce(func.sum(TaskRun.http_retries), 0),
                    func.coalesce(func.sum(cast(TaskRun.rate_wait_s, Float)), 0.0),
                )
                .join(Source, Source.id == TaskRun.source_id)
                .where(TaskRun.state.in_(TERMINAL))
                .group_by(Source.kind)
            )
        ).tuples()
        for kind, n_requests, n_retries, waited in rows:
            requests.add_metric([kind], int(n_requests))
            retries.add_metric([kind], int(n_retries))
            waits.add_metric([kind], float(waited))
        yield from (requests, retries, waits)

    def _responses(self, s: Session) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "headwater_http_responses",
            "HTTP responses providers gave finished tasks (crashed ones included), by tenant, connector "
            "and status code.",
            labels=["tenant", "connector", "status"],
        )
        sql = _RESPONSES_SQL.get(s.get_bind().dialect.name)
        if sql is not None:
            scoped = sql.format(
                terminal=", ".join(f"'{state}'" for state in TERMINAL),
                scope="" if self.source_id is None else "AND s.id = :sid",
            )
            for slug, kind, status, n in s.execute(text(scoped), {"sid": self.source_id}).tuples():
                family.add_metric([slug, kind, str(status)], int(n or 0))
        yield family

    # -- sources and alerts ----------------------------------------------------------------
    def _sources(self, s: Session) -> Iterator[Metric]:
        last = GaugeMetricFamily(
            "headwater_source_last_success_timestamp_seconds",
            "When each source last completed all its tasks in a run (Unix time; absent if never).",
            labels=["tenant", "connector", "source_id"],
        )
        invalid = GaugeMetricFamily(
            "headwater_source_credentials_invalid",
            "1 when a source's credentials were rejected by the provider (reconnect it).",
            labels=["tenant", "connector", "source_id"],
        )
        for slug, kind, sid, at, status in s.execute(
            select(Tenant.slug, Source.kind, Source.id, Source.last_success_at, Source.credentials_status).join(
                Tenant, Tenant.id == Source.tenant_id
            )
        ).tuples():
            labels = [slug, kind, str(sid)]
            if at is not None:
                last.add_metric(labels, at.timestamp())
            invalid.add_metric(labels, 1.0 if status == "invalid" else 0.0)
        yield from (last, invalid)

    def _alerts(self, s: Session) -> Iterator[Metric]:
        family = GaugeMetricFamily("headwater_alerts_undelivered", "Alerts waiting in the outbox (webhook down).")
        family.add_metric(
            [], s.execute(select(func.count()).select_from(Alert).where(Alert.delivered_at.is_(None))).scalar_one()
        )
        yield family


def _buckets(cumulative: Sequence[Any], count: int) -> list[tuple[str, float]]:
    out = [(_le(b), float(c or 0)) for b, c in zip(DURATION_BUCKETS, cumulative, strict=True)]
    out.append(("+Inf", float(count)))
    return out


def _le(bound: float) -> str:
    return str(float(bound))


# -- counters of removed sources -----------------------------------------------------------
def _key(labels: Mapping[str, str]) -> str:
    return json.dumps(sorted(labels.items()))


def _retired(s: Session) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for sample, labels, value in s.execute(
        select(RetiredSample.sample, RetiredSample.labels, RetiredSample.value).order_by(RetiredSample.id)
    ).tuples():
        out[(sample, labels)] = out.get((sample, labels), 0.0) + value
    return out


def _with_retired(family: Metric, retired: Mapping[tuple[str, str], float]) -> Metric:
    if family.type not in ("counter", "histogram"):
        return family
    names = (
        {family.name + "_total"}
        if family.type == "counter"
        else {family.name + x for x in ("_bucket", "_count", "_sum")}
    )
    values = {(smp.name, _key(smp.labels)): float(smp.value) for smp in family.samples}
    for key, value in retired.items():
        if key[0] in names:
            values[key] = values.get(key, 0.0) + value
    family.samples = []
    for (name, labels), value in values.items():
        family.add_sample(name, dict(json.loads(labels)), value)
    return family


def retire_source(s: Session, source_id: int) -> int:
    """Keep ``source_id``'s share of every counter before its task runs are deleted."""
    rows = [
        RetiredSample(sample=smp.name, labels=_key(smp.labels), value=float(smp.value))
        for family in DatabaseCollector(None, source_id=source_id).counters(s)
        if family.type in ("counter", "histogram")
        for smp in family.samples
    ]
    s.add_all(rows)
    return len(rows)


def _before_source_delete(_mapper: Mapper[Any], connection: Connection, target: Source) -> None:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        retire_source(s, target.id)
        s.commit()


def keep_counters_of_removed_sources() -> None:
    """Whatever deletes a source (CLI, API), its counters are kept first; idempotent."""
    if not event.contains(Source, "before_delete", _before_source_delete):
        event.listen(Source, "before_delete", _before_source_delete)


def registry_for(db: Database) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    return registry
