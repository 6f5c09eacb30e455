"""A partition is gone only when the partition says so (issue 12, item 5).

For every connector, against its sandbox: one sub-listing of one partition answers the
provider's "not found" (a feature disabled, an older server, a permission the token lacks)
while the partition itself is still there -> that task completes with nothing loaded and a
note, the cursor is kept, the partition stays live and later refreshes keep reading it. When
the partition itself answers "not found" too, it is tombstoned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from connectors.aha.sandbox import make_sandbox as aha_sandbox
from connectors.bitbucket.sandbox import make_sandbox as bitbucket_sandbox
from connectors.github.sandbox import make_sandbox as github_sandbox
from connectors.jira.sandbox import make_sandbox as jira_sandbox
from connectors.registry import KINDS, get_connector
from connectors.runtime import SourceRuntime, partitions_of, task_key
from connectors.sandbox import RunningServer, Sandbox, serve_in_thread
from connectors.slack.sandbox import make_sandbox as slack_sandbox
from connectors.streams import Partition, StreamContext
from storage import Database
from storage.models import Cursor
from tests.atlassian_support import Outcome, run_isolated
from tests.conftest import MakeRuntime
from tests.ingest_support import FastClock, ServedSandbox, rows

Paths = Callable[[Partition], list[str]]


@dataclass(frozen=True)
class Case:
    """One connector: its sandbox, the sub-listing broken, and the fault paths (``path?query``)."""

    kind: str
    sandbox: Callable[[], Sandbox]
    base_suffix: str  # appended to the sandbox URL for ``base_url``
    stream: str  # the sub-listing that answers "not found"
    code: str  # how the provider says it (the note names it)
    listing: Paths  # only that sub-listing of the partition answers "not found"
    itself: Paths  # the partition and everything under it answer "not found"
    check: Callable[[Partition], str]  # the path of the direct check of the partition

    def victim(self, served: ServedSandbox, partitions: list[Partition]) -> Partition:
        if self.kind == "github":  # a repository with issue events (not the empty one)
            repo = next(r for r in served.sandbox.world.live_repos() if any(i.events for i in r.issues.values()))
            return next(p for p in partitions if p.names == (repo.name,))
        return partitions[0]


def _pid(p: Partition) -> str:
    return str(p.values["external_id"])


CASES = [
    Case(
        "github",
        lambda: github_sandbox(repos=4, commits=10, pulls=4, issues=3),
        "",
        "issue_events",
        "404",
        lambda p: [f"/repos/{p.key}/issues/events?"],
        lambda p: [f"/repos/{p.key}/", f"/repos/{p.key}?"],
        lambda p: f"/repos/{p.key}",
    ),
    Case(
        "bitbucket",
        lambda: bitbucket_sandbox(repos=3, commits=12, pulls=6, members=5),
        "/2.0",
        "commits",
        "404",
        lambda p: [f"/repositories/{p.key}/commits?"],
        lambda p: [f"/repositories/{p.key}/", f"/repositories/{p.key}?"],
        lambda p: f"/2.0/repositories/{p.key}",
    ),
    Case(
        "jira",
        lambda: jira_sandbox(projects=2, issues=10, users=4, sprints=3, versions=2),
        "",
        "versions",
        "404",
        lambda p: [f"/project/{_pid(p)}/versions?"],
        lambda p: [f"/project/{_pid(p)}/", f"/project/{_pid(p)}?", f"/project/{p.key}?"],
        lambda p: f"/rest/api/3/project/{p.key}",
    ),
    Case(
        "aha",
        lambda: aha_sandbox(seed=11, minute_s=0.03, products=2, features=10),
        "",
        "releases",
        "404",
        lambda p: [f"/products/{p.key}/releases?"],
        lambda p: [f"/products/{p.key}/", f"/products/{p.key}?"],
        lambda p: f"/api/v1/products/{p.key}",
    ),
    Case(
        "slack",
        lambda: slack_sandbox(seed=5, minute_s=0.03, channels=3, messages=12),
        "/api",
        "messages",
        "channel_not_found",
        lambda p: [f"/conversations.history?channel={p.key}&"],
        lambda p: [f"channel={p.key}"],
        lambda p: "/api/conversations.info",
    ),
]


@pytest.fixture(params=CASES, ids=[c.kind for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def served(case: Case) -> Iterator[ServedSandbox]:
    server: RunningServer = serve_in_thread(sandbox := case.sandbox())
    yield ServedSandbox(sandbox, server)
    server.stop()


@pytest.fixture
def rt(case: Case, served: ServedSandbox, make_runtime: MakeRuntime) -> SourceRuntime:
    truth = served.truth()
    options: dict[str, Any] = {**truth["options"]}
    options.pop("base_url", None)  # Slack's is a suffix, given by the case
    return make_runtime(case.kind, {"base_url": served.url + case.base_suffix, **options}, truth["secrets"])


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
    assert sorted(c.kind for c in CASES) == sorted(KINDS)


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


def test_a_sub_listing_not_found_keeps_its_partition(
    case: Case, served: ServedSandbox, rt: SourceRuntime, sqlite_db: Database
) -> None:
    first = refresh(rt, sqlite_db)
    assert not first.errors, first.errors
    victim = case.victim(served, partitions_of(rt, sqlite_db))
    key = task_key(rt.source_id, case.stream, victim)
    before = cursor(sqlite_db, rt, case.stream, victim)

    served.faults(missing_paths=case.listing(victim))
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
    assert any(r["path"] == case.check(victim) and r["status"] == 200 for r in served.requests())

    served.faults()  # the feature is back: later refreshes still read the partition
    third = refresh(rt, sqlite_db)
    assert third.errors == {}, third.errors
    assert key in third.results and third.results[key].note is None
    assert served.loaded_exactly(sqlite_db, rt.source_id)


def test_a_partition_that_answers_not_found_itself_is_tombstoned(
    case: Case, served: ServedSandbox, rt: SourceRuntime, sqlite_db: Database
) -> None:
    first = refresh(rt, sqlite_db)
    assert not first.errors, first.errors
    victim = case.victim(served, partitions_of(rt, sqlite_db))
    key = task_key(rt.source_id, case.stream, victim)

    served.faults(missing_paths=case.itself(victim))  # gone, though discovery still lists it
    second = refresh(rt, sqlite_db)
    assert key in second.results, second.errors
    result = second.results[key]
    assert result.partition_gone and result.note is not None and "tombstoned" in result.note
    assert partition_row(sqlite_db, rt, victim)["deleted_at"] is not None
    assert victim.key not in {p.key for p in partitions_of(rt, sqlite_db)}
    assert not [k for k in second.errors if not k.endswith(f":{victim.key}")], second.errors
