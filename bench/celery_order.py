"""Queue wait of a click and a schedule behind onboarding backfills on Celery + Redis, by tree.

    python bench/celery_order.py [--backfills 8] [--run-s 0.3] [--rounds 3] [--tree PATH ...]

For each tree (default: this checkout) in a child process: ``--backfills`` onboarding runs
(priority 9), then one schedule (5), then one click (0) are put on a real Redis broker
(``redis://127.0.0.1:6379/13``) with no worker running; a threads worker of concurrency 1 then
starts, and each run "executes" by sleeping ``--run-s``. Reports each run's queue wait (from
the worker's start to the run's start) and its position in the order runs started; medians
over rounds. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
BROKER = "redis://127.0.0.1:6379/13"
KEY = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="


class Sleeper:
    def __init__(self, run_s: float) -> None:
        self.run_s = run_s
        self.started: dict[int, float] = {}
        self.lock = threading.Lock()

    def execute(self, run_id: int) -> str:
        with self.lock:
            self.started[run_id] = time.perf_counter()
        time.sleep(self.run_s)
        return "COMPLETED"


def child(backfills: int, run_s: float) -> dict[str, Any]:
    import redis
    from celery.contrib.testing.worker import start_worker
    from pydantic import SecretStr

    from headwater.app import App
    from headwater.queue import QUEUES, enqueue_run, make_celery
    from headwater.settings import Settings
    from storage.models import Run
    from tenancy import add_tenant

    redis.Redis.from_url(BROKER).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        app = App.create(Settings(home=Path(tmp), secret_key=SecretStr(KEY), broker_url=BROKER))
        with app.db.session() as s:
            t = add_tenant(s, "bench")
            runs = [Run(tenant_id=t.id, trigger="onboarding", state="SCHEDULED", priority=9) for _ in range(backfills)]
            runs += [
                Run(tenant_id=t.id, trigger="schedule", state="SCHEDULED", priority=5),
                Run(tenant_id=t.id, trigger="refresh", state="SCHEDULED", priority=0),
            ]
            s.add_all(runs)
            s.flush()
            ids = [r.id for r in runs]
        for run_id in ids:
            enqueue_run(app, run_id)
        celery_app = make_celery(app.settings)
        sleeper = Sleeper(run_s)
        celery_app.bind_executor(sleeper)
        t0 = time.perf_counter()
        with start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False, queues=list(QUEUES)):
            deadline = time.monotonic() + 60 + len(ids) * run_s * 2
            while len(sleeper.started) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.02)
        app.close()
    redis.Redis.from_url(BROKER).flushdb()
    order = sorted(sleeper.started, key=sleeper.started.__getitem__)
    schedule, click = ids[-2], ids[-1]
    return {
        "click_wait_s": sleeper.started[click] - t0,
        "schedule_wait_s": sleeper.started[schedule] - t0,
        "click_position": order.index(click),
        "schedule_position": order.index(schedule),
    }


def run_tree(tree: Path, backfills: int, run_s: float) -> dict[str, Any]:
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r});"
        f" sys.argv = ['celery_order', '--child', '{backfills}', '--run-s', '{run_s}'];"
        f" import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backfills", type=int, default=8)
    p.add_argument("--run-s", type=float, default=0.3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", type=Path, action="append", help="a checkout to measure (repeatable)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child is not None:
        print(json.dumps(child(a.child, a.run_s)))
        return
    trees = a.tree or [HERE]
    samples: dict[str, list[dict[str, Any]]] = {str(t): [] for t in trees}
    for _ in range(a.rounds):
        for t in trees:
            samples[str(t)].append(run_tree(t, a.backfills, a.run_s))
    keys = ("click_wait_s", "schedule_wait_s", "click_position", "schedule_position")
    result = {
        "bench": "celery_order",
        "backfills": a.backfills,
        "run_s": a.run_s,
        "rounds": a.rounds,
        "trees": {t: {k: round(statistics.median(s[k] for s in runs), 3) for k in keys} for t, runs in samples.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
