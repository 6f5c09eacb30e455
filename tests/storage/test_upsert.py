"""Upsert/tombstone/migration behaviour, the same tests on SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from storage import Database, tombstone, upgrade, upsert_rows
from storage.migrate import downgrade
from storage.models import Base, Person, PullRequest
from tests.conftest import tenant_and_source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ids(any_db: Database) -> tuple[int, int]:
    return tenant_and_source(any_db)


def pr(ids: tuple[int, int], n: int, *, title: str, updated: datetime, **kw: object) -> dict[str, object]:
    return {
        "tenant_id": ids[0],
        "source_id": ids[1],
        "external_id": f"pr-{n}",
        "repository_external_id": "r1",
        "number": n,
        "title": title,
        "state": "open",
        "updated_at": updated,
        **kw,
    }


def prs(db: Database) -> dict[str, PullRequest]:
    with db.session() as s:
        return {p.external_id: p for p in s.execute(select(PullRequest)).scalars()}


def test_rerun_never_duplicates(any_db: Database, ids: tuple[int, int]) -> None:
    batch = [pr(ids, n, title=f"t{n}", updated=T0) for n in range(5)]
    assert upsert_rows_in(any_db, "pull_request", batch) == 5
    upsert_rows_in(any_db, "pull_request", batch)
    with any_db.session() as s:
        assert s.execute(select(func.count()).select_from(PullRequest)).scalar_one() == 5


def test_duplicates_inside_one_batch_keep_the_newest(any_db: Database, ids: tuple[int, int]) -> None:
    upsert_rows_in(
        any_db,
        "pull_request",
        [pr(ids, 1, title="new", updated=T0 + timedelta(hours=1)), pr(ids, 1, title="old", updated=T0)],
    )
    assert prs(any_db)["pr-1"].title == "new"


def test_older_payload_never_overwrites_newer(any_db: Database, ids: tuple[int, int]) -> None:
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="newer", updated=T0 + timedelta(days=1))])
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="older", updated=T0)])
    assert prs(any_db)["pr-1"].title == "newer"
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="newest", updated=T0 + timedelta(days=2))])
    got = prs(any_db)["pr-1"]
    assert got.title == "newest"
    assert got.updated_at == T0 + timedelta(days=2)


def test_tombstone_is_not_resurrected_by_a_stale_payload(any_db: Database, ids: tuple[int, int]) -> None:
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="a", updated=T0)])
    with any_db.session() as s:
        assert tombstone(s, "pull_request", tenant_id=ids[0], source_id=ids[1], external_ids=["pr-1"]) == 1
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="replayed", updated=T0)])
    got = prs(any_db)["pr-1"]
    assert got.deleted_at is not None
    # A payload updated after the tombstone means the record really came back.
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="back", updated=datetime.now(UTC) + timedelta(hours=1))])
    got = prs(any_db)["pr-1"]
    assert got.deleted_at is None and got.title == "back"


def test_tombstone_keep_marks_only_missing_rows(any_db: Database, ids: tuple[int, int]) -> None:
    upsert_rows_in(any_db, "pull_request", [pr(ids, n, title="x", updated=T0) for n in range(3)])
    with any_db.session() as s:
        n = tombstone(s, "pull_request", tenant_id=ids[0], source_id=ids[1], keep={"pr-0", "pr-2"})
    assert n == 1
    rows = prs(any_db)
    assert rows["pr-1"].deleted_at is not None
    assert rows["pr-0"].deleted_at is None and rows["pr-2"].deleted_at is None
    assert len(rows) == 3  # never hard deleted


def test_partial_rows_do_not_erase_richer_columns(any_db: Database, ids: tuple[int, int]) -> None:
    full = {"tenant_id": ids[0], "source_id": ids[1], "external_id": "u1", "login": "ada", "display_name": "Ada L."}
    thin = {"tenant_id": ids[0], "source_id": ids[1], "external_id": "u1", "login": "ada"}
    upsert_rows_in(any_db, "person", [full])
    upsert_rows_in(any_db, "person", [thin, {**thin, "external_id": "u2", "login": "bob"}])
    with any_db.session() as s:
        people = {p.external_id: p for p in s.execute(select(Person)).scalars()}
    assert people["u1"].display_name == "Ada L."
    assert people["u2"].login == "bob"


def test_large_batches_are_chunked(any_db: Database, ids: tuple[int, int]) -> None:
    rows = [pr(ids, n, title="t", updated=T0) for n in range(5000)]
    assert upsert_rows_in(any_db, "pull_request", rows) == 5000
    with any_db.session() as s:
        assert s.execute(select(func.count()).select_from(PullRequest)).scalar_one() == 5000


def test_unknown_entity_and_column_are_rejected(any_db: Database, ids: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="unknown entity kind"):
        upsert_rows_in(any_db, "nope", [{}])
    with pytest.raises(ValueError, match="unknown column"):
        upsert_rows_in(any_db, "person", [{"tenant_id": ids[0], "source_id": ids[1], "external_id": "x", "bogus": 1}])


def test_migrations_match_models_and_downgrade(any_db: Database) -> None:
    with any_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ; run tools/regen_initial_migration.py: {diff}"
    downgrade(any_db, "base")
    assert "person" not in inspect(any_db.engine).get_table_names()
    upgrade(any_db)
    assert "person" in inspect(any_db.engine).get_table_names()


def upsert_rows_in(db: Database, entity: str, rows: list[dict[str, object]]) -> int:
    with db.session() as s:
        return upsert_rows(s, entity, rows)


def test_revive_brings_back_only_named_tombstones(any_db: Database, ids: tuple[int, int]) -> None:
    from storage.upsert import revive

    upsert_rows_in(any_db, "pull_request", [pr(ids, n, title="x", updated=T0) for n in range(2)])
    with any_db.session() as s:
        tombstone(s, "pull_request", tenant_id=ids[0], source_id=ids[1], external_ids=["pr-0", "pr-1"])
        assert revive(s, "pull_request", tenant_id=ids[0], source_id=ids[1], external_ids=["pr-1"]) == 1
    rows = prs(any_db)
    assert rows["pr-0"].deleted_at is not None and rows["pr-1"].deleted_at is None


def ingested(db: Database) -> dict[str, datetime]:
    with db.session() as s:
        return dict(s.execute(select(PullRequest.external_id, PullRequest.ingested_at)).tuples().all())


def test_a_row_equal_to_the_stored_one_is_not_written_again(any_db: Database, ids: tuple[int, int]) -> None:
    upsert_rows_in(any_db, "pull_request", [pr(ids, n, title="a", updated=T0, extra={"x": [1]}) for n in range(3)])
    first = ingested(any_db)
    again = [pr(ids, n, title="a", updated=T0, extra={"x": [1]}) for n in range(3)]
    again[1]["title"] = "changed"
    assert upsert_rows_in(any_db, "pull_request", again) == 3  # every row is loaded, changed or not
    second = ingested(any_db)
    assert second["pr-0"] == first["pr-0"] and second["pr-2"] == first["pr-2"]
    assert second["pr-1"] > first["pr-1"]
    assert prs(any_db)["pr-1"].title == "changed"


def test_a_tombstoned_row_is_still_compared_with_the_tombstone_rule(any_db: Database, ids: tuple[int, int]) -> None:
    came_back = datetime.now(UTC) + timedelta(hours=1)
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="a", updated=came_back)])
    with any_db.session() as s:
        tombstone(s, "pull_request", tenant_id=ids[0], source_id=ids[1], external_ids=["pr-1"])
    # The same values again: not skipped as unchanged, so the tombstone rule revives it.
    upsert_rows_in(any_db, "pull_request", [pr(ids, 1, title="a", updated=came_back)])
    assert prs(any_db)["pr-1"].deleted_at is None


def test_an_unchanged_row_takes_no_lock_on_postgresql(pg_db: Database) -> None:
    """Every task of a run writes the same people: with ON CONFLICT DO UPDATE alone, a second
    transaction writing an unchanged person waited for the first one's commit."""
    tenant_id, source_id = tenant_and_source(pg_db)
    person = {"tenant_id": tenant_id, "source_id": source_id, "external_id": "u1", "login": "ada"}
    upsert_rows_in(pg_db, "person", [person])
    with pg_db.session() as holder:
        upsert_rows(holder, "person", [person])  # a task's batch, not committed yet
        with pg_db.session() as other:
            other.execute(text("SET LOCAL lock_timeout = '300ms'"))
            assert upsert_rows(other, "person", [person]) == 1
