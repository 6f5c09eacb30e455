"""A production-wired Headwater on this machine, for the chaos suite: PostgreSQL, its own Redis
(append-only, as infra/docker-compose.yml runs it), a Dask scheduler and worker, two Celery
workers (`headwater worker`), the scheduler (`headwater scheduler`), the API, and one GitHub
sandbox per tenant. Every process can be killed and started again; PostgreSQL and Redis can be
restarted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import select

from connectors.sandbox import RunningServer, Sandbox
from headwater.cli.sandboxes import source_settings, start
from storage import Database
from storage.models import Run
from tests.ingest_support import ServedSandbox
from tests.integration.services import BIN, Proc, free_port, spawn, start_api, start_dask, start_worker, wait_until

ADMIN = "chaos-admin-token"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def pg_cluster() -> tuple[str, str]:
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout.split()
    return out[0], out[1]


def postgres(action: str) -> None:
    version, name = pg_cluster()
    argv = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action]
    subprocess.run(argv + (["-m", "fast"] if action != "start" else []), check=True, capture_output=True)


def restart_postgres() -> None:
    postgres("restart")


def postgres_down(seconds: float) -> None:
    """PostgreSQL stopped for ``seconds`` (a failover, a maintenance restart), then started."""
    postgres("stop")
    try:
        time.sleep(seconds)
    finally:
        postgres("start")


@dataclass
class Deployment:
    tmp: Path
    env: dict[str, str]
    db: Database
    redis_port: int
    procs: dict[str, Proc] = field(default_factory=dict)
    sandboxes: dict[str, tuple[Sandbox, RunningServer]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    api: str = ""

    @property
    def logs(self) -> Path:
        return self.tmp / "logs"

    # -- processes -------------------------------------------------------------------------
    def start_redis(self) -> None:
        data = self.tmp / "redis"
        data.mkdir(exist_ok=True)
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--appendonly",
            "yes",
            "--dir",
            str(data),
        ]
        self.procs["redis"] = spawn("redis", argv, self.env, self.logs)

        def up() -> bool:
            try:
                return bool(redis.Redis(port=self.redis_port).ping())
            except redis.RedisError:
                return False

        wait_until(up, 20, "redis", [self.procs["redis"]])

    def start_api(self) -> None:
        self.api, self.procs["api"] = start_api(self.env, self.logs)

    def start_worker(self, name: str) -> None:
        self.procs[name] = start_worker(self.env, self.logs, name, concurrency=2)

    def start_scheduler(self) -> None:
        argv = [str(BIN / "headwater"), "scheduler", "--interval", "2"]
        self.procs["scheduler"] = spawn("scheduler", argv, self.env, self.logs)

    def start_dask_worker(self, name: str = "dask-worker") -> None:
        argv = [str(BIN / "dask"), "worker", self.env["HEADWATER_DASK_ADDRESS"], "--nworkers", "1"]
        argv += ["--nthreads", "8", "--no-dashboard", "--host", "127.0.0.1"]
        self.procs[name] = spawn(name, argv, self.env, self.logs)

    def driven_by(self, name: str, run_ids: list[int]) -> list[int]:
        """Which of these runs the process ``name`` drives right now."""
        pid = str(self.procs[name].popen.pid)
        with self.db.read() as s:
            rows = s.execute(select(Run.id, Run.driver).where(Run.id.in_(run_ids))).all()
        return [rid for rid, driver in rows if driver and driver.rpartition(":")[2] == pid]

    def kill(self, name: str) -> None:
        self.procs[name].kill()

    def diagnostics(self) -> str:
        return "\n".join(p.tail(25) for p in self.procs.values())

    def alive(self) -> list[Proc]:
        return [p for p in self.procs.values() if p.popen.poll() is None]

    def stop(self) -> None:
        for p in reversed(list(self.procs.values())):
            p.stop()
        for _sandbox, server in self.sandboxes.values():
            server.stop()

    # -- the API ---------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)

    def call(self, fn: Callable[[httpx.Client], httpx.Response], timeout: float = 60) -> httpx.Response:
        """Through a fault the API may be away for a moment: try again until it answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.client() as c:
                    r = fn(c)
                if r.status_code < 500:
                    return r
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"the API kept failing\n{self.diagnostics()}")
            time.sleep(0.5)

    def add_tenant(self, slug: str, *, seed: int, latency_ms: float) -> None:
        sandbox, server = start("github", seed=seed, repos=3, latency_ms=latency_ms)
        self.sandboxes[slug] = (sandbox, server)
        options, secrets = source_settings(sandbox, server.url)
        assert self.call(lambda c: c.post("/api/tenants", json={"slug": slug})).status_code == 201
        body = {"kind": "github", "options": options, "secrets": secrets, "backfill": False}
        created = self.call(lambda c: c.post(f"/api/tenants/{slug}/sources", json=body))
        assert created.status_code == 201, created.text
        self.sources[slug] = int(created.json()["source"]["id"])

    def refresh(self, slug: str, *, full: bool = False) -> int:
        r = self.call(lambda c: c.post(f"/api/tenants/{slug}/refresh", json={"full": full}))
        assert r.status_code == 202, r.text
        return int(r.json()["run_id"])

    def run(self, run_id: int) -> dict[str, Any]:
        return self.call(lambda c: c.get(f"/api/runs/{run_id}")).json()  # type: ignore[no-any-return]

    def wait_all(self, run_ids: list[int], bound_s: float) -> dict[int, float]:
        """Seconds until each run ended; fails past ``bound_s`` naming what is still open."""
        started = time.monotonic()
        ended: dict[int, float] = {}
        while len(ended) < len(run_ids):
            for rid in run_ids:
                if rid not in ended and self.run(rid)["state"] in TERMINAL:
                    ended[rid] = time.monotonic() - started
            if time.monotonic() - started > bound_s:
                open_runs = {rid: self.run(rid)["state"] for rid in run_ids if rid not in ended}
                raise TimeoutError(f"runs not terminal after {bound_s} s: {open_runs}\n{self.diagnostics()}")
            time.sleep(0.5)
        return ended

    def loaded_exactly(self, slug: str) -> bool:
        sandbox, server = self.sandboxes[slug]
        return ServedSandbox(sandbox, server).loaded_exactly(self.db, self.sources[slug])


def deploy(tmp: Path, pg_url: str) -> Deployment:
    redis_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    from cryptography.fernet import Fernet

    env.update(
        HEADWATER_HOME=str(tmp / "home"),
        HEADWATER_DATABASE_URL=pg_url,
        HEADWATER_SECRET_KEY=Fernet.generate_key().decode(),
        HEADWATER_ADMIN_TOKEN=ADMIN,
        HEADWATER_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
        HEADWATER_REDIS_URL=f"redis://127.0.0.1:{redis_port}/1",
        HEADWATER_HTTP_RETRY_ATTEMPTS="4",
        HEADWATER_HTTP_BACKOFF_MAX_S="1",
        HEADWATER_LOG_LEVEL="INFO",
    )
    dep = Deployment(tmp, env, Database(pg_url), redis_port)
    upgraded = subprocess.run([str(BIN / "headwater"), "db", "upgrade"], env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    try:
        dep.start_redis()
        address, dask = start_dask(env, dep.logs)
        env["HEADWATER_DASK_ADDRESS"] = address
        dep.procs["dask-scheduler"], dep.procs["dask-worker"] = dask
        dep.start_api()
        dep.start_worker("worker-a")
        dep.start_worker("worker-b")
        dep.start_scheduler()
    except BaseException:
        dep.stop()
        raise
    return dep


def sigterm(proc: Proc) -> None:
    if proc.popen.poll() is None:
        os.killpg(proc.popen.pid, signal.SIGTERM)
        proc.popen.wait(20)
