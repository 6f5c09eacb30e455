"""The refresh service as deployed: real PostgreSQL, Redis, Celery worker processes, a Dask
scheduler and worker, the API server, and the GitHub sandbox as the source.

A refresh posted to the API completes; a Celery worker killed in the middle of a run never
loses it: the run is re-delivered and resumed by the next worker (or, at worst, ends CRASHED
and a retry through the API completes it). The data then matches the sandbox's truth exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from connectors.sandbox import RunningServer, Sandbox
from headwater.cli.sandboxes import source_settings, start
from storage import Database, model_for
from storage.migrate import downgrade
from tests.conftest import require_service
from tests.integration.services import BIN, Proc, clean_env, start_api, start_dask, start_worker, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BROKER_DB = 10
ADMIN = "integration-admin-token"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass
class Deployment:
    api: str
    env: dict[str, str]
    logs: Path
    procs: list[Proc]
    db: Database
    sandbox: Sandbox
    server: RunningServer

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)

    def diagnostics(self) -> str:
        return "\n".join(p.tail() for p in self.procs)


@pytest.fixture
def deployment(pg_url: str, tmp_path: Path) -> Iterator[Deployment]:
    require_service("redis")
    broker = redis.Redis.from_url(f"redis://127.0.0.1:6379/{BROKER_DB}")
    broker.flushdb()
    logs = tmp_path / "logs"
    env = clean_env(
        HEADWATER_HOME=str(tmp_path / "home"),
        HEADWATER_DATABASE_URL=pg_url,
        HEADWATER_SECRET_KEY=Fernet.generate_key().decode(),
        HEADWATER_ADMIN_TOKEN=ADMIN,
        HEADWATER_BROKER_URL=f"redis://127.0.0.1:6379/{BROKER_DB}",
        HEADWATER_LOG_LEVEL="INFO",
    )
    upgraded = subprocess.run([str(BIN / "headwater"), "db", "upgrade", "--json"], env=env, capture_output=True)
    assert upgraded.returncode == 0, upgraded.stderr
    procs: list[Proc] = []
    sandbox, server = start("github", repos=3, seed=11, latency_ms=120)
    db = Database(pg_url)
    try:
        address, dask = start_dask(env, logs)
        procs += dask
        env["HEADWATER_DASK_ADDRESS"] = address
        api, api_proc = start_api(env, logs)
        procs.append(api_proc)
        procs.append(start_worker(env, logs))
        yield Deployment(api, env, logs, procs, db, sandbox, server)
    finally:
        for p in reversed(procs):
            p.stop()
        server.stop()
        downgrade(db, "base")  # leave the shared test database empty for other tests
        db.dispose()
        broker.flushdb()


def wait_run(dep: Deployment, c: httpx.Client, run_id: int, timeout: float = 40) -> dict[str, Any]:
    doc: dict[str, Any] = {}

    def done() -> bool:
        nonlocal doc
        doc = c.get(f"/api/runs/{run_id}").json()
        return doc["state"] in TERMINAL

    wait_until(done, timeout, f"run {run_id} to end", [p for p in dep.procs if p.popen.poll() is None])
    return doc


def loaded_counts(db: Database, source_id: int, kinds: list[str]) -> dict[str, int]:
    with db.session() as s:
        return {
            k: s.execute(
                select(func.count()).select_from(model_for(k)).where(model_for(k).source_id == source_id)
            ).scalar_one()
            for k in kinds
        }


def test_refresh_runs_on_the_queue_and_survives_a_killed_worker(deployment: Deployment) -> None:
    dep = deployment
    truth = dep.sandbox.truth()["counts"]
    options, secrets = source_settings(dep.sandbox, dep.server.url)
    with dep.client() as c:
        assert c.post("/api/tenants", json={"slug": "acme"}).status_code == 201
        # Connecting a source queues its onboarding backfill (the backfill queue).
        created = c.post("/api/tenants/acme/sources", json={"kind": "github", "options": options, "secrets": secrets})
        assert created.status_code == 201, created.text
        source_id, onboarding = created.json()["source"]["id"], created.json()["run"]
        assert onboarding["trigger"] == "onboarding" and onboarding["dispatched"] == "queued"
        doc = wait_run(dep, c, onboarding["run_id"])
        assert doc["state"] == "COMPLETED", (doc["message"], dep.diagnostics())
        assert {t["worker"] for t in doc["tasks"]} != {None}  # tasks ran on the Dask worker
        assert loaded_counts(dep.db, source_id, list(truth)) == truth

        # A refresh click (the refresh queue) completes too.
        click = c.post("/api/tenants/acme/refresh")
        assert click.status_code == 202 and click.json()["dispatched"] == "queued"
        assert wait_run(dep, c, click.json()["run_id"])["state"] == "COMPLETED"

        # A full refresh, with its Celery worker killed (SIGKILL: no ack) mid-run.
        run_id = c.post("/api/tenants/acme/refresh", json={"full": True}).json()["run_id"]

        def midway() -> bool:
            d = c.get(f"/api/runs/{run_id}").json()
            done = [t for t in d["tasks"] if t["state"] == "COMPLETED"]
            return d["state"] == "RUNNING" and len(done) >= 2 and len(done) < len(d["tasks"])

        wait_until(midway, 30, "the run to be midway", dep.procs)
        dep.procs[-1].kill()
        state = c.get(f"/api/runs/{run_id}").json()["state"]
        assert state == "RUNNING", state
        # The next worker sweeps messages unacknowledged for 5 s back onto the queue.
        dep.procs.append(start_worker({**dep.env, "HEADWATER_BROKER_VISIBILITY_TIMEOUT": "5"}, dep.logs, "worker-2"))
        doc = wait_run(dep, c, run_id, timeout=45)
        if doc["state"] == "COMPLETED":
            history = [h["state"] for h in doc["history"]]
            assert "RETRYING" in history, history  # resumed by the next worker, not re-created
            final = doc
        else:  # never silently lost: visibly crashed, and a retry completes it
            assert doc["state"] == "CRASHED", (doc["message"], dep.diagnostics())
            retry = c.post(f"/api/runs/{run_id}/retry")
            assert retry.status_code == 202
            final = wait_run(dep, c, retry.json()["run_id"])
        assert final["state"] == "COMPLETED", (final["message"], dep.diagnostics())
        assert len({t["key"] for t in doc["tasks"]}) == len(doc["tasks"])  # no task created twice
        runs = c.get("/api/tenants/acme/runs").json()
        assert all(r["state"] in TERMINAL for r in runs), runs
    assert loaded_counts(dep.db, source_id, list(truth)) == truth


def test_ctrl_c_and_cancel_stop_runs_on_the_queue_and_lose_nothing(deployment: Deployment) -> None:
    """`refresh --wait` with a broker: the run is driven by the Celery worker, its tasks run on the
    Dask worker process. Ctrl-C on the waiting command cancels it there; so does the API."""
    dep = deployment
    truth = dep.sandbox.truth()["counts"]
    options, secrets = source_settings(dep.sandbox, dep.server.url)
    with dep.client() as c:
        assert c.post("/api/tenants", json={"slug": "acme"}).status_code == 201
        body = {"kind": "github", "options": options, "secrets": secrets, "backfill": False}
        source_id = c.post("/api/tenants/acme/sources", json=body).json()["source"]["id"]

        def running_midway() -> int | None:
            runs = c.get("/api/tenants/acme/runs").json()
            if not runs:
                return None
            d = c.get(f"/api/runs/{runs[0]['id']}").json()
            states = [t["state"] for t in d["tasks"]]
            return (
                d["id"] if d["state"] == "RUNNING" and "RUNNING" in states and states.count("COMPLETED") >= 1 else None
            )

        def settled(run_id: int) -> bool:
            d = c.get(f"/api/runs/{run_id}").json()
            return d["state"] == "CANCELLED" and all(t["state"] in TERMINAL for t in d["tasks"])

        # Ctrl-C on the waiting command.
        waiting = subprocess.Popen(
            [str(BIN / "headwater"), "refresh", "acme", "--wait", "--json"],
            env=dep.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            wait_until(lambda: running_midway() is not None, 60, "a running run", dep.procs)
            run_id = running_midway() or 0
            os.killpg(waiting.pid, signal.SIGINT)
            wait_until(lambda: settled(run_id), 10, "the run to be cancelled", dep.procs)
            _out, err = waiting.communicate(timeout=15)
        finally:
            if waiting.poll() is None:
                os.killpg(waiting.pid, signal.SIGKILL)
        assert waiting.returncode == 130, err
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) <= 2 and f"run {run_id} is CANCELLED" in lines[-1], err

        # Cancel through the API while the worker drives the run.
        again = c.post("/api/tenants/acme/refresh").json()["run_id"]
        wait_until(lambda: running_midway() == again, 60, "the second run to be midway", dep.procs)
        cancelled = c.post(f"/api/runs/{again}/cancel", json={"reason": "operator"})
        assert cancelled.status_code == 200, f"{cancelled.text}\n{dep.diagnostics()}"
        wait_until(lambda: settled(again), 10, "the second run to be cancelled", dep.procs)

        # The worker is free again, and the next refresh loads exactly the truth.
        last = c.post("/api/tenants/acme/refresh").json()["run_id"]
        assert wait_run(dep, c, last, timeout=60)["state"] == "COMPLETED", dep.diagnostics()
    assert loaded_counts(dep.db, source_id, list(truth)) == truth
