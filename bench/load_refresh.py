"""Load on the refresh endpoint: many tenants, many duplicate clicks, one running API.

    python bench/load_refresh.py [--tenants 40] [--requests 3000] [--concurrency 32]
                                 [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                 [--broker-url redis://127.0.0.1:6379/9]
                                 [--max-seconds 60] [--drain-seconds 90] [--json]
                                 [--backfills 8] [--backfill-repos 10] [--tree DIR]

Starts everything itself on 127.0.0.1: the GitHub sandbox (its own process), a temporary
embedded SQLite database (or, with ``--postgres ADMIN_URL``, a temporary PostgreSQL database
created through that server and dropped at the end), and the API (`headwater serve`, its own
process). With ``--broker-url`` it also starts one `headwater worker` (the Redis database is
flushed before and after); without, the API executes runs on its in-process pool.

First ``--backfills`` more tenants connect a source to a larger sandbox org (``--backfill-repos``
repositories, its own process) with its onboarding backfill queued, so backfills are running
while the clicks come. Then it fires ``--requests`` refresh clicks (20 % for one source) at
random tenants, skewed so most clicks are duplicates, from ``--concurrency`` connections, then
waits for the runs to finish (at most ``--drain-seconds``). ``click_queue_wait_s`` is the queue
wait (created -> started) of the click runs alone, ``click_run_s`` their created -> ended.
``--tree DIR`` runs the services from another checkout (PYTHONPATH), to measure a baseline. Reports requests/s, the 202's latency (p50/p95/p99),
runs created against the bound coalescing promises (per scope, a new run only when none was
waiting: ``duplicate_waiting_runs`` must be 0), queue wait (created -> started) p50/p95 and
runs completed per hour. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from headwater.cli.sandboxes import SandboxProcess, settings_from_truth

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_report import TERMINAL, report

ADMIN = "bench-admin-token"
HEADWATER = [sys.executable, "-m", "headwater"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """Sandbox, database, API (and optionally a Celery worker), each in its own process."""

    def __init__(
        self, home: Path, database_url: str | None, broker_url: str | None, tree: Path | None, backfill_repos: int
    ) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        if tree is not None:
            self.env["PYTHONPATH"] = str(tree)
        self.cwd = str(tree) if tree is not None else None
        self.env.update(
            HEADWATER_HOME=str(home),
            HEADWATER_SECRET_KEY=Fernet.generate_key().decode(),
            HEADWATER_ADMIN_TOKEN=ADMIN,
            HEADWATER_DASK_WORKERS="1",
            HEADWATER_DASK_THREADS="8",
            HEADWATER_LOG_LEVEL="WARNING",
        )
        if database_url:
            self.env["HEADWATER_DATABASE_URL"] = database_url
        if broker_url:
            self.env["HEADWATER_BROKER_URL"] = broker_url
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*HEADWATER, "db", "upgrade", "--json"], env=self.env, cwd=self.cwd, check=True, capture_output=True
        )
        self.sandbox = SandboxProcess("github", seed=7, latency_ms=20, repos=1)
        self.big = SandboxProcess("github", seed=8, latency_ms=20, repos=backfill_repos)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._spawn("api", ["serve", "--host", "127.0.0.1", "--port", str(port)])
        if broker_url:
            self._spawn("worker", ["worker", "--concurrency", "4"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"the API did not start; see {self.logs}")

    def _spawn(self, name: str, args: list[str]) -> None:
        out = (self.logs / f"{name}.log").open("ab")
        self.procs.append(
            subprocess.Popen(
                [*HEADWATER, *args],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def api_cpu_s(self) -> float | None:
        """CPU seconds the API process used so far (Linux /proc), to tell work from waiting."""
        try:
            fields = Path(f"/proc/{self.procs[0].pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        self.sandbox.stop()
        self.big.stop()


def start_backfills(client: httpx.Client, stack: Stack, n: int) -> list[int]:
    """``n`` more tenants connect a source to the large org; their onboarding backfills queue."""
    options, secrets = settings_from_truth(stack.big.truth(), stack.big.url)
    runs = []
    for i in range(n):
        slug = f"b{i:03d}"
        client.post("/api/tenants", json={"slug": slug}).raise_for_status()
        r = client.post(
            f"/api/tenants/{slug}/sources",
            json={"kind": "github", "options": options, "secrets": secrets, "backfill": True},
        )
        r.raise_for_status()
        runs.append(int(r.json()["run"]["run_id"]))
    return runs


def running_backfills(client: httpx.Client, slugs: list[str]) -> int:
    return sum(
        1 for slug in slugs for r in client.get(f"/api/tenants/{slug}/runs").json() if r["state"] not in TERMINAL
    )


def seed(client: httpx.Client, stack: Stack, tenants: int) -> dict[str, int]:
    options, secrets = settings_from_truth(stack.sandbox.truth(), stack.sandbox.url)
    sources = {}
    for i in range(tenants):
        slug = f"t{i:03d}"
        client.post("/api/tenants", json={"slug": slug}).raise_for_status()
        r = client.post(
            f"/api/tenants/{slug}/sources",
            json={"kind": "github", "options": options, "secrets": secrets, "backfill": False},
        )
        r.raise_for_status()
        sources[slug] = r.json()["source"]["id"]
    return sources


async def fire(url: str, clicks: list[tuple[str, int | None]], concurrency: int, max_s: float) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    queue: asyncio.Queue[tuple[str, int | None]] = asyncio.Queue()
    for c in clicks:
        queue.put_nowait(c)
    deadline = time.monotonic() + max_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            while not queue.empty() and time.monotonic() < deadline:
                slug, source = queue.get_nowait()
                started = time.perf_counter()
                status: int | str
                try:
                    r = await client.post(
                        f"/api/tenants/{slug}/refresh", json={"source_id": source} if source else None
                    )
                    body = r.json() if r.status_code == 202 else {}
                    status = r.status_code
                except httpx.HTTPError as exc:
                    body, status = {}, type(exc).__name__
                results.append(
                    {"ms": (time.perf_counter() - started) * 1000, "status": status, "scope": (slug, source), **body}
                )

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def make_clicks(sources: dict[str, int], n: int, rng: random.Random) -> list[tuple[str, int | None]]:
    slugs = sorted(sources)
    weights = [1 / (i + 1) for i in range(len(slugs))]  # a few busy tenants, a long tail
    clicks: list[tuple[str, int | None]] = []
    for slug in rng.choices(slugs, weights=weights, k=n):
        clicks.append((slug, sources[slug] if rng.random() < 0.2 else None))
    return clicks


def collect_runs(client: httpx.Client, slugs: list[str], drain_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + drain_s
    while True:
        runs = [r for slug in slugs for r in client.get(f"/api/tenants/{slug}/runs", params={"limit": 500}).json()]
        if all(r["state"] in TERMINAL for r in runs) or time.monotonic() > deadline:
            return runs
        time.sleep(1.0)


@contextlib.contextmanager
def temporary_services(args: argparse.Namespace) -> Iterator[str | None]:
    """A temporary PostgreSQL database (dropped after) and a flushed Redis database."""
    flush = None
    if args.broker_url:
        import redis

        flush = redis.Redis.from_url(args.broker_url).flushdb
        flush()
    if not args.postgres:
        yield None
    else:
        from sqlalchemy import create_engine, text

        name = f"hw_load_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield args.postgres.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if flush is not None:
        flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=40)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--postgres", default=None, metavar="ADMIN_URL", help="Use a temporary PostgreSQL database.")
    ap.add_argument("--broker-url", default=None, help="redis://127.0.0.1:6379/N: queue on Celery + one worker.")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="Stop firing after this long.")
    ap.add_argument("--drain-seconds", type=float, default=90.0, help="Wait at most this long for runs to end.")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backfills", type=int, default=8, help="Tenants onboarding (backfill running) under the clicks.")
    ap.add_argument("--backfill-repos", type=int, default=10, help="Repositories of the backfills' org.")
    ap.add_argument("--tree", type=Path, default=None, help="Run the services from this checkout (a baseline).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    for url in (args.postgres, args.broker_url):
        if url and "@127.0.0.1" not in url and "//127.0.0.1" not in url:
            ap.error("only services on 127.0.0.1 are allowed")
    with tempfile.TemporaryDirectory(prefix="hw-load-") as tmp, temporary_services(args) as database_url:
        stack = Stack(Path(tmp), database_url, args.broker_url, args.tree, args.backfill_repos)
        try:
            with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as c:
                sources = seed(c, stack, args.tenants)
                backfill_slugs = [f"b{i:03d}" for i in range(args.backfills)]
                start_backfills(c, stack, args.backfills)
                time.sleep(2.0)  # the backfills start before the first click
                backfilling = running_backfills(c, backfill_slugs)
                clicks = make_clicks(sources, args.requests, random.Random(args.seed))
                cpu_before = stack.api_cpu_s()
                started = time.perf_counter()
                results = asyncio.run(fire(stack.url, clicks, args.concurrency, args.max_seconds))
                wall = time.perf_counter() - started
                cpu_after = stack.api_cpu_s()
                backfilling_after = running_backfills(c, backfill_slugs)
                runs = collect_runs(c, sorted(sources), args.drain_seconds)
                backfills = collect_runs(c, backfill_slugs, 1.0)
            out = report(results, wall, runs)
            out["backfills"] = {
                "runs": len(backfills),
                "unfinished_when_clicks_began": backfilling,
                "unfinished_when_clicks_ended": backfilling_after,
                "completed": sum(1 for r in backfills if r["state"] == "COMPLETED"),
            }
            if cpu_before is not None and cpu_after is not None and results:
                # Includes runs the API executes itself when there is no broker.
                out["api_cpu_ms_per_request"] = round((cpu_after - cpu_before) / len(results) * 1000, 2)
            out["load_average_1m"] = os.getloadavg()[0]
            out.update(
                tenants=args.tenants,
                concurrency=args.concurrency,
                database="postgresql" if args.postgres else "sqlite",
                queue="celery" if args.broker_url else "in-process",
                tree=str(args.tree) if args.tree else None,
            )
        finally:
            stack.stop()
    if not args.json:
        for k, v in out.items():
            print(f"{k:>24}: {v}")
    print(json.dumps(out))
    return 0 if out["duplicate_waiting_runs"] == 0 and out["runs_created_matches_db"] else 1


if __name__ == "__main__":
    sys.exit(main())
