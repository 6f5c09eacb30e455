"""A task carries its partition's values: the worker builds its context from the task row alone,
without listing the source's partitions again (once per run, not once per task)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

import pipelines.worker
from connectors.runtime import partitions_of
from headwater.app import App, worker_config
from pipelines import Driver, SerialRunner, request_retry, request_run, run_document
from storage.models import Source, TaskRun
from tenancy import runtime_for
from tests.pipelines.conftest import make_app, onboard


class Scans:
    """Stands in for the worker's partition listing: counts calls, and fails when forbidden."""

    def __init__(self) -> None:
        self.calls = 0
        self.forbidden = True

    def __call__(self, rt: Any, db: Any) -> Any:
        self.calls += 1
        if self.forbidden:
            raise AssertionError("the worker listed the source's partitions")
        return partitions_of(rt, db)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scans]:
    spy = Scans()
    monkeypatch.setattr(pipelines.worker, "partitions_of", spy)
    yield spy


def run_serially(app: App, run_id: int) -> dict[str, Any]:
    Driver(app.db, app.vault, SerialRunner(worker_config(app))).execute(run_id)
    with app.db.read() as s:
        doc = run_document(s, run_id)
    assert doc is not None
    return doc


def stored_values(app: App, run_id: int) -> dict[str, Any]:
    with app.db.read() as s:
        rows = s.execute(select(TaskRun.key, TaskRun.partition_values).where(TaskRun.run_id == run_id)).tuples()
        return dict(rows.all())


def expected_values(app: App) -> dict[str, dict[str, Any]]:
    with app.db.read() as s:
        source = s.execute(select(Source)).scalar_one()
        rt = runtime_for(source, app.vault)
    return {p.key: dict(p.values) for p in partitions_of(rt, app.db)}


def test_tasks_run_from_their_stored_values(tmp_path: Path, github: Any, scans: Scans) -> None:
    sandbox, server = github
    app = make_app(tmp_path)
    tenant = onboard(app, sandbox, server)
    run, _ = request_run(app.db, tenant)

    doc = run_serially(app, run.id)

    assert doc["state"] == "COMPLETED", doc["message"]
    assert scans.calls == 0
    values = expected_values(app)
    assert len(values) == len(repositories(sandbox)) == 2  # three repositories, one archived
    for task in doc["tasks"]:
        stored = stored_values(app, run.id)[task["key"]]
        assert stored == (values[task["partition"]] if task["partition"] else None), task["key"]


def test_a_retry_copies_the_values_and_runs_from_them(tmp_path: Path, github: Any, scans: Scans) -> None:
    sandbox, server = github
    app = make_app(tmp_path)
    tenant = onboard(app, sandbox, server)
    broken = repositories(sandbox)[1]
    sandbox.faults.fail_paths = [f"/repos/{broken}/"]
    run, _ = request_run(app.db, tenant)
    failed = run_serially(app, run.id)
    assert failed["state"] == "FAILED"
    sandbox.faults.fail_paths = []

    again = run_serially(app, request_retry(app.db, run.id).id)

    assert again["state"] == "COMPLETED", again["message"]
    assert scans.calls == 0
    before, after = stored_values(app, run.id), stored_values(app, again["id"])
    assert after == {key: before[key] for key in after}
    redone = [t for t in again["tasks"] if t["partition"]]  # (and tasks of the whole tenant, if any)
    assert redone and all(t["partition"] == broken for t in redone)
    assert all(after[t["key"]] == expected_values(app)[broken] for t in redone)


def test_tasks_of_older_runs_without_values_look_their_partition_up(tmp_path: Path, github: Any, scans: Scans) -> None:
    sandbox, server = github
    app = make_app(tmp_path)
    tenant = onboard(app, sandbox, server)
    broken = repositories(sandbox)[0]
    sandbox.faults.fail_paths = [f"/repos/{broken}/"]
    run, _ = request_run(app.db, tenant)
    assert run_serially(app, run.id)["state"] == "FAILED"
    sandbox.faults.fail_paths = []
    with app.db.session() as s:  # as a run from before task_run.partition_values
        s.execute(update(TaskRun).where(TaskRun.run_id == run.id).values(partition_values=None))
    scans.forbidden = False

    again = run_serially(app, request_retry(app.db, run.id).id)

    assert again["state"] == "COMPLETED", again["message"]
    assert set(stored_values(app, again["id"]).values()) == {None}
    partitioned = [t for t in again["tasks"] if t["partition"]]
    assert partitioned and scans.calls == len(partitioned)


def repositories(sandbox: Any) -> list[str]:
    """The repositories discovery will find (archived ones are not ingested), by full name."""
    world = sandbox.world
    return sorted(f"{world.org}/{r.name}" for r in world.live_repos() if not r.archived)
