"""Parallel (Dask) vs serial refresh of one tenant against the GitHub sandbox, side by side.

    python bench/parallel_vs_serial.py [--repos N] [--latency-ms L] [--executor default|processes|threads]
                                       [--scale 1,10,50] [--json]

Both modes run the same full refresh against identical sandboxes (same seed and size), each
into a fresh embedded database: *serial* executes one task at a time with one request in
flight (a classic one-job pipeline); *parallel* runs the task graph on a local Dask cluster.
Reports wall time (and the run alone, without the local cluster's start: ``*_run_s``), requests served, records loaded, peak RSS, and whether both loaded
identical data. ``--executor`` picks the local cluster's workers: ``default`` what the settings
choose (threads of this process on SQLite, processes on a server database), or ``processes`` /
``threads`` (``HEADWATER_DASK_PROCESSES``); their start and close are inside the timed wall.
``--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test`` puts each mode's data in a
fresh PostgreSQL database (created, upgraded, dropped) instead of the embedded SQLite file,
whose single writer serializes every task's bookkeeping. With --json the last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from headwater.app import App
from headwater.cli.sandboxes import SandboxProcess, settings_from_truth
from headwater.settings import Settings
from pipelines import request_run, run_document
from storage.digest import data_digest
from tenancy import add_source, add_tenant

BENCH_KEY = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="


@contextlib.contextmanager
def fresh_database(admin_url: str | None) -> Iterator[str | None]:
    """A new, upgraded PostgreSQL database on ``admin_url``'s server (None: the embedded one)."""
    if admin_url is None:
        yield None
        return
    from sqlalchemy import create_engine, text

    from storage import Database
    from storage.migrate import upgrade

    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        db = Database(url)
        upgrade(db)
        db.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def one_mode(
    mode: str,
    repos: int,
    latency_ms: float,
    workers: int | None,
    threads: int,
    executor: str = "default",
    pg_admin_url: str | None = None,
) -> dict[str, Any]:
    from headwater.dispatch import execute_inline

    # Tasks carry no key: the local cluster's worker processes read it from the environment.
    os.environ["HEADWATER_SECRET_KEY"] = BENCH_KEY
    with tempfile.TemporaryDirectory() as tmp, fresh_database(pg_admin_url) as database_url:
        settings = Settings(
            home=Path(tmp),
            database_url=database_url,
            secret_key=SecretStr(BENCH_KEY),
            dask_workers=workers,
            dask_threads=threads,
            dask_address=None,
            broker_url=None,
            dask_processes={"default": None, "processes": True, "threads": False}[executor],
        )
        app = App.create(settings)
        sandbox = SandboxProcess("github", seed=7, latency_ms=latency_ms, repos=repos)
        try:
            options, secrets = settings_from_truth(sandbox.truth(), sandbox.url)
            with app.db.session() as s:
                tenant = add_tenant(s, "bench")
                add_source(s, app.vault, tenant, "github", options, secrets)
            run, _ = request_run(app.db, tenant, full=True)
            started = time.perf_counter()
            state = execute_inline(app, run.id, serial=(mode == "serial"))
            wall = time.perf_counter() - started
            with app.db.session() as s:
                doc = run_document(s, run.id)
            assert doc is not None
            digest, counts = data_digest(app.db)
            rows = sum(counts.values())
            return {
                "mode": mode,
                "state": state,
                "wall_s": round(wall, 3),
                "requests": len(sandbox.api_requests()),
                "tasks": doc["tasks_total"],
                "run_s": round(doc["duration_s"], 3),
                "records_loaded": doc["records_loaded"],
                "rows": rows,
                "digest": digest,
                "expected": sandbox.truth()["counts"],
            }
        finally:
            sandbox.stop()
            app.close()


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repos", type=int, default=20)
    p.add_argument("--latency-ms", type=float, default=100.0)
    p.add_argument("--workers", type=int, default=None, help="Dask worker processes (default: the settings' choice).")
    p.add_argument("--threads", type=int, default=32)
    p.add_argument(
        "--executor",
        choices=("default", "processes", "threads"),
        default="default",
        help="Parallel mode's local cluster workers: the settings' choice, processes, or threads of this process.",
    )
    p.add_argument("--scale", default="", help="Also time parallel runs at these repository counts, e.g. 1,10,50.")
    p.add_argument("--pg-admin-url", default=None, help="Each mode in a fresh PostgreSQL database on this server.")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    serial = one_mode("serial", args.repos, args.latency_ms, args.workers, args.threads, pg_admin_url=args.pg_admin_url)
    parallel = one_mode(
        "parallel", args.repos, args.latency_ms, args.workers, args.threads, args.executor, args.pg_admin_url
    )
    result: dict[str, Any] = {
        "repos": args.repos,
        "latency_ms": args.latency_ms,
        "serial_s": serial["wall_s"],
        "parallel_s": parallel["wall_s"],
        "speedup": round(serial["wall_s"] / parallel["wall_s"], 2),
        # The run alone (run.started_at -> ended_at): without starting the local cluster, as on a
        # server whose cluster is up already (`serve`, `worker`).
        "serial_run_s": serial["run_s"],
        "parallel_run_s": parallel["run_s"],
        "speedup_run": round(serial["run_s"] / parallel["run_s"], 2),
        "requests_serial": serial["requests"],
        "requests_parallel": parallel["requests"],
        "tasks": parallel["tasks"],
        "records": parallel["rows"],
        "records_serial": serial["rows"],
        "identical_data": serial["digest"] == parallel["digest"],
        "states": [serial["state"], parallel["state"]],
        "workers": Settings(dask_workers=args.workers, database_url=args.pg_admin_url).local_dask_workers,
        "database": "postgresql" if args.pg_admin_url else "sqlite",
        "threads_per_worker": args.threads,
        "executor": args.executor,
        "processes": Settings(dask_processes=None, database_url=args.pg_admin_url).local_dask_processes()
        if args.executor == "default"
        else args.executor == "processes",
    }
    if args.scale:
        result["scale"] = []
        for n in (int(x) for x in args.scale.split(",") if x):
            r = one_mode("parallel", n, args.latency_ms, args.workers, args.threads, args.executor, args.pg_admin_url)
            result["scale"].append(
                {"repos": n, "parallel_s": r["wall_s"], "requests": r["requests"], "tasks": r["tasks"]}
            )
    result["peak_rss_mb"] = peak_rss_mb()
    if not args.json:
        for k, v in result.items():
            print(f"{k}: {v}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("HEADWATER_LOG_LEVEL", "WARNING")
    main()
