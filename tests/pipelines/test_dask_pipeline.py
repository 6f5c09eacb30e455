"""Refreshes on a real LocalCluster with worker processes: histories, counts, incrementality,
failure isolation, retry of failed tasks only, and a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from headwater.cli.sandboxes import start
from linking import STREAM as DERIVED
from storage.digest import data_digest
from storage.models import TaskRun
from tests.pipelines.conftest import execute, make_app, onboard, refresh, retry

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def live_counts(app: Any) -> dict[str, int]:
    return {k: v for k, v in data_digest(app.db)[1].items() if v}


def test_refresh_on_local_cluster(tmp_path: Path, dask_client: Any, github: Any) -> None:
    sandbox, server = github
    app = make_app(tmp_path)
    tenant = onboard(app, sandbox, server)

    first = refresh(app, dask_client, tenant)
    assert first["state"] == "COMPLETED", first["message"]
    truth = sandbox.truth()["counts"]
    assert live_counts(app) == {k: v for k, v in truth.items() if v}
    streams = {t["stream"] for t in first["tasks"]}
    # Reviews come inside the GraphQL pull requests (the counts above include them): no task of their own.
    assert {"repositories", "pull_requests", "commits", "issues"} <= streams
    assert "reviews" not in streams
    for task in first["tasks"]:
        assert [h["state"] for h in task["history"]] == ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]
        assert task["attempts"] == 1 and task["duration_s"] is not None
        # Executed in Dask worker processes, which loaded their own batches.
        assert task["worker"] and not task["worker"].endswith(f":{os.getpid()}")
    assert len({t["worker"] for t in first["tasks"]}) >= 2
    assert first["records_loaded"] == sum(t["records_loaded"] for t in first["tasks"]) > 0
    # Children ran after their parents.
    by_key = {t["key"]: t for t in first["tasks"]}
    for t in first["tasks"]:
        for dep in t["depends_on"]:
            assert by_key[dep]["ended_at"] <= t["started_at"]

    server_requests = len(sandbox.api_requests())
    second = refresh(app, dask_client, tenant)
    assert second["state"] == "COMPLETED"
    new = sandbox.api_requests()[server_requests:]
    assert new, "the second run made no request at all"
    # GraphQL pull requests (POSTs, no ETags) are read newest first down to the cursor: incremental too
    full_listings = [r for r in new if not r.conditional and "since=" not in r.query and r.path != "/graphql"]
    assert not full_listings, f"non-incremental requests on the second run: {full_listings[:5]}"
    # nothing changed: every REST listing asked before (no new since= URL) is answered 304
    again = [r for r in new if r.method == "GET" and "since=" not in r.query and r.status != 409]
    assert again and all(r.status == 304 for r in again), again
    assert live_counts(app) == {k: v for k, v in truth.items() if v}


def test_failure_is_isolated_and_retry_completes_it(tmp_path: Path, dask_client: Any, github: Any) -> None:
    sandbox, server = github
    org = sandbox.truth()["options"]["org"]
    app = make_app(tmp_path / "faulty")
    tenant = onboard(app, sandbox, server)
    repos = sorted(r["full_name"] for r in _repos(sandbox, server, org))
    broken = repos[1]
    sandbox.faults.fail_paths = [f"/repos/{broken}/"]

    failed = refresh(app, dask_client, tenant)
    assert failed["state"] == "FAILED"
    bad = [t for t in failed["tasks"] if t["state"] != "COMPLETED"]
    assert bad and all(t["partition"] == broken for t in bad)
    for t in bad:
        if t["state"] == "FAILED":
            assert t["error_kind"] == "TRANSIENT" and "Traceback" in (t["traceback"] or "")
        else:
            assert t["state"] == "CANCELLED" and "upstream" in t["message"]
    good = [t for t in failed["tasks"] if t["partition"] not in (broken,)]
    assert good and all(t["state"] == "COMPLETED" for t in good)
    assert f"{len(bad)} of {len(failed['tasks'])} tasks" in failed["message"]

    sandbox.faults.fail_paths = []
    again = retry(app, dask_client, failed["id"])
    assert again["state"] == "COMPLETED", again["message"]
    assert again["trigger"] == "retry" and again["parent_run_id"] == failed["id"]
    # The failed tasks and the run's derived task (linking), which derives again after them.
    assert {t["key"] for t in again["tasks"]} == {t["key"] for t in bad} | {DERIVED}

    clean = make_app(tmp_path / "clean")
    clean_tenant = onboard(clean, sandbox, server)
    assert refresh(clean, dask_client, clean_tenant)["state"] == "COMPLETED"
    assert data_digest(app.db) == data_digest(clean.db)


def test_killed_worker_never_leaves_a_task_running(tmp_path: Path, dask_client: Any) -> None:
    sandbox, server = start("github", seed=5, repos=4, latency_ms=40)
    try:
        app = make_app(tmp_path / "killed")
        tenant = onboard(app, sandbox, server)
        from pipelines import request_run

        run, _ = request_run(app.db, tenant)
        result: dict[str, Any] = {}
        driver = threading.Thread(target=lambda: result.update(execute(app, dask_client, run.id)))
        driver.start()
        deadline = time.time() + 60
        victim = None
        while time.time() < deadline and victim is None:
            with app.db.read() as s:
                workers = (
                    s.execute(select(TaskRun.worker).where(TaskRun.run_id == run.id, TaskRun.state == "RUNNING"))
                    .scalars()
                    .all()
                )
            if workers and workers[0]:
                victim = int(workers[0].rsplit(":", 1)[1])
            time.sleep(0.02)
        assert victim is not None and victim in dask_client.run(os.getpid).values()
        os.kill(victim, signal.SIGKILL)  # the worker process dies mid-task
        driver.join(timeout=180)
        assert not driver.is_alive()
        doc = result
        assert {t["state"] for t in doc["tasks"]} <= TERMINAL
        histories = [[h["state"] for h in t["history"]] for t in doc["tasks"]]
        assert any("RETRYING" in h or "CRASHED" in h for h in histories), "the kill hit no task"
        if doc["state"] != "COMPLETED":
            assert any(t["state"] == "CRASHED" for t in doc["tasks"])
            doc = retry(app, dask_client, doc["id"])
        assert doc["state"] == "COMPLETED", doc["message"]

        clean = make_app(tmp_path / "clean")
        assert refresh(clean, dask_client, onboard(clean, sandbox, server))["state"] == "COMPLETED"
        assert data_digest(app.db) == data_digest(clean.db)
    finally:
        server.stop()
        dask_client.wait_for_workers(2, timeout=60)


def _repos(sandbox: Any, server: Any, org: str) -> list[dict[str, Any]]:
    import httpx

    token = sandbox.truth()["secrets"]["token"]
    r = httpx.get(
        f"{server.url}/orgs/{org}/repos", headers={"Authorization": f"Bearer {token}"}, params={"per_page": 100}
    )
    repos: list[dict[str, Any]] = r.json()
    return [x for x in repos if not x.get("archived")]
