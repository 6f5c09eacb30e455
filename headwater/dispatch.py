"""Getting a run executed: on the Celery queue when a broker is configured, else in-process
(inline, or a detached ``headwater run execute`` process so the CLI can return at once)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from headwater.app import App, worker_config
from pipelines import IllegalTransition, execute_run
from storage.models import TERMINAL_STATES, Run, State


def dispatch_run(app: App, run_id: int, *, detach: bool) -> str:
    """Hand a run to whatever executes runs here; returns how ("queued", "detached", "inline")."""
    if app.settings.broker_url:
        from headwater.queue.tasks import enqueue_run

        enqueue_run(app, run_id)
        return "queued"
    if detach:
        log = (app.settings.home / "runs.log").open("ab")
        subprocess.Popen(
            [sys.executable, "-m", "headwater", "run", "execute", str(run_id)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        return "detached"
    return "inline"


def run_state(app: App, run_id: int) -> str:
    with app.db.session() as s:
        run = s.get(Run, run_id)
        return run.state if run else "MISSING"


def wait_for(app: App, run_id: int, poll_s: float = 0.5, on_poll: Callable[[], None] | None = None) -> str:
    while True:
        state = run_state(app, run_id)
        if state == "MISSING" or State(state) in TERMINAL_STATES:
            return state
        if on_poll:
            on_poll()
        time.sleep(poll_s)


def execute_inline(
    app: App,
    run_id: int,
    *,
    serial: bool = False,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    on_finished: Callable[[int], None] | None = None,
    runner: Any = None,
) -> str:
    """Execute a run in this process (its tasks on Dask), waiting its turn if its scope is busy."""
    s = app.settings
    while True:
        try:
            return execute_run(
                app.db,
                app.vault,
                worker_config(app, max_in_flight=1 if serial else None),
                run_id,
                runner=runner,
                dask_address=s.dask_address,
                serial=serial,
                workers=s.local_dask_workers,
                threads=s.dask_threads,
                on_progress=on_progress,
                on_finished=on_finished,
            )
        except IllegalTransition:
            time.sleep(1.0)
