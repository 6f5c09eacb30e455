"""Faults injected into the sandbox: each ends with the right ErrorKind, and a clean rerun loads
exactly the truth (nothing lost, nothing duplicated). Retries keep their count but not their waits
(``fast_retries``); Retry-After is 0 so the rate budget does not sleep either."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from connectors.errors import ConnectorError, ErrorKind, error_kind
from connectors.runtime import SourceRuntime, run_source_sequentially
from storage import Database
from tests.github.conftest import Served
from tests.ingest_support import live_counts

Serve = Callable[..., Served]
MakeSource = Callable[..., SourceRuntime]
SMALL = {"repos": 3, "commits": 8, "pulls": 3, "issues": 2}  # 2 ingested, 1 archived

pytestmark = pytest.mark.usefixtures("fast_retries")


def run(rt: SourceRuntime, db: Database) -> Any:
    return asyncio.run(run_source_sequentially(rt, db))


def exact(served: Served, rt: SourceRuntime, db: Database) -> bool:
    return served.loaded_exactly(db, rt.source_id)


@pytest.mark.parametrize(
    ("faults", "status"),
    [({"secondary_limit": 2}, 403), ({"burst_429": 2}, 429), ({"malformed": 2}, 200)],
    ids=["secondary-limit", "429-burst", "malformed-json"],
)
def test_transient_faults_are_retried_and_lose_nothing(
    serve: Serve, github_source: MakeSource, sqlite_db: Database, faults: dict[str, Any], status: int
) -> None:
    served = serve(**SMALL)
    served.faults(retry_after_s=0, **faults)
    rt = github_source(served)
    run(rt, sqlite_db)
    assert exact(served, rt, sqlite_db)
    first = served.requests()[:3]
    assert [x["status"] for x in first] == [status, status, 200]
    assert len({x["path"] for x in first}) == 1  # the same request, retried


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        ({"secondary_limit": 1000}, ErrorKind.TRANSIENT),
        ({"burst_429": 1000}, ErrorKind.TRANSIENT),
        ({"error_rate": 1.0}, ErrorKind.TRANSIENT),
        ({"malformed": 1000}, ErrorKind.TRANSIENT),
        ({"revoked": True}, ErrorKind.CONFIG),
    ],
    ids=["secondary-limit", "429-burst", "5xx", "malformed-json", "revoked-token"],
)
def test_persistent_faults_end_with_the_right_kind_then_a_clean_rerun_is_exact(
    serve: Serve, github_source: MakeSource, sqlite_db: Database, faults: dict[str, Any], kind: ErrorKind
) -> None:
    served = serve(**SMALL)
    rt = github_source(served)
    served.faults(retry_after_s=0, **faults)
    with pytest.raises(ConnectorError) as err:
        run(rt, sqlite_db)
    assert error_kind(err.value) is kind
    if kind is ErrorKind.CONFIG:
        assert "reconnect" in str(err.value)
        assert served.sandbox.token not in str(err.value)
        assert len(served.requests()) > 0 and served.requests()[-1]["status"] == 401
    served.faults()
    run(rt, sqlite_db)
    assert exact(served, rt, sqlite_db)


def test_a_partition_failing_mid_run_catches_up_on_the_rerun(
    serve: Serve, github_source: MakeSource, sqlite_db: Database
) -> None:
    served = serve(**SMALL)
    repo = [r for r in served.sandbox.world.repos if r.pulls and not r.archived][-1]
    served.faults(fail_paths=[f"/{repo.name}/pulls/"])  # the reviews and PR commits of one repository
    rt = github_source(served, graphql=False)  # the REST path: reviews and PR commits per pull request
    with pytest.raises(ConnectorError) as err:
        run(rt, sqlite_db)
    assert error_kind(err.value) is ErrorKind.TRANSIENT
    partial = live_counts(sqlite_db, rt.source_id, ["pull_request", "review"])
    assert partial["pull_request"] > 0 and partial["review"] < served.truth()["counts"]["review"]
    served.faults()
    run(rt, sqlite_db)
    assert exact(served, rt, sqlite_db)
