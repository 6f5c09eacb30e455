"""A partition is gone only when the partition says so (issue 12, item 5).

For every connector, against its sandbox: one sub-listing of one partition answers the
provider's "not found" (a feature disabled, an older server, a permission the token lacks)
while the partition itself is still there -> that task completes with nothing loaded and a
note, the cursor is kept, the partition stays live and later refreshes keep reading it. When
the partition itself answers "not found" too, it is tombstoned.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from connectors.registry import KINDS, get_connector
from connectors.runtime import SourceRuntime, partitions_of, task_key
from connectors.streams import Partition, StreamContext
from storage import Database
from storage.models import Cursor
from tests.atlassian_support import Outcome, run_isolated
from tests.conftest import MakeRuntime
from tests.connectors.providers import MISSING, PROVIDERS, PartitionCase, Provider, no_case_for, runtime_on
from tests.ingest_support import FastClock, ServedSandbox, rows


def _pid(p: Partition) -> str:
    return str(p.values["external_id"])


@pytest.fixture
def case(provider: Provider) -> PartitionCase:
    return provider.partition


@pytest.fixture
def rt(provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime) -> SourceRuntime:
    return runtime_on(provider, served, make_runtime)


def refresh(rt: SourceRuntime, db: Database) -> Outcome:
    """Discovery then every task, each failing alone, as the pipeline runs them."""
    return run_isolated(rt, db, budget=FastClock().budget())


def partition_row(db: Database, rt: SourceRuntime, p: Partition) -> dict[str, Any]:
    assert rt.connector.partition_entity is not None
    return next(r for r in rows(db, rt.source_id, rt.connector.partition_entity) if r["external_id"] == _pid(p))


def cursor(db: Database, rt: SourceRuntime, stream: str, p: Partition) -> Any:
    with db.read() as s:
        return s.execute(
            select(Cursor.value).where(
                Cursor.source_id == rt.source_id, Cursor.stream == stream, Cursor.partition == p.key
            )
        ).scalar_one_or_none()


def test_cases_cover_every_connector() -> None:
    assert MISSING == [], no_case_for(MISSING)
    assert sorted(p.kind for p in PROVIDERS) == sorted(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_partitioned_connector_declares_a_check_by_partition_key(kind: str, make_runtime: MakeRuntime) -> None:
    """A worker rebuilds a partition gone since planning from its key alone: the check still works."""
    connector = get_connector(kind)
    assert connector.partition_entity is not None and connector.partition_check is not None
    check = connector.partition_check
    options = connector.options_model.model_construct(base_url="http://x")
    ctx = StreamContext(tenant_id=1, source_id=1, options=options, partition=Partition(key="K-1"))
    asked = f"{ctx.fmt(check.path)}?{check.params(ctx)}"
    assert "K-1" in asked and check.hint


def first_refresh(case: PartitionCase, served: ServedSandbox, rt: SourceRuntime, db: Database) -> tuple[Partition, str]:
    """A clean first refresh; then the partition the case breaks, and its task's key."""
    first = refresh(rt, db)
    assert not first.errors, first.errors
    victim = case.victim(served, partitions_of(rt, db))
    return victim, task_key(rt.source_id, case.stream, victim)


def test_a_sub_listing_not_found_keeps_its_partition(
    case: PartitionCase, served: ServedSandbox, rt: SourceRuntime, sqlite_db: Database
) -> None:
    victim, key = first_refresh(case, served, rt, sqlite_db)
    before = cursor(sqlite_db, rt, case.stream, victim)

    served.faults(missing_paths=case.paths(case.listing, victim))
    served.reset_log()
    second = refresh(rt, sqlite_db)
    assert second.errors == {}, second.errors  # not a failure of the task, not of any other
    result = second.results[key]
    assert not result.partition_gone and result.records_loaded == 0
    assert result.note is not None
    assert case.stream in result.note and case.code in result.note and "kept" in result.note
    assert partition_row(sqlite_db, rt, victim)["deleted_at"] is None
    assert victim.key in {p.key for p in partitions_of(rt, sqlite_db)}
    assert cursor(sqlite_db, rt, case.stream, victim) == before
    # the partition was asked directly, and answered
    assert any(r["path"] == case.check_path(victim) and r["status"] == 200 for r in served.requests())

    served.faults()  # the feature is back: later refreshes still read the partition
    third = refresh(rt, sqlite_db)
    assert third.errors == {}, third.errors
    assert key in third.results and third.results[key].note is None
    assert served.loaded_exactly(sqlite_db, rt.source_id)


def test_a_partition_that_answers_not_found_itself_is_tombstoned(
    case: PartitionCase, served: ServedSandbox, rt: SourceRuntime, sqlite_db: Database
) -> None:
    victim, key = first_refresh(case, served, rt, sqlite_db)

    served.faults(missing_paths=case.paths(case.itself, victim))  # gone, though discovery still lists it
    second = refresh(rt, sqlite_db)
    assert key in second.results, second.errors
    result = second.results[key]
    assert result.partition_gone and result.note is not None and "tombstoned" in result.note
    assert partition_row(sqlite_db, rt, victim)["deleted_at"] is not None
    assert victim.key not in {p.key for p in partitions_of(rt, sqlite_db)}
    assert not [k for k in second.errors if not k.endswith(f":{victim.key}")], second.errors
