"""Worker threads kept for clicks on the shared Dask cluster: the ``bulk`` resource.

Dask priorities order tasks that wait, but a thread running a task is not preempted: eight
backfill tasks each waiting minutes on a provider's rate limit would hold all eight threads of
a worker while clicks of other tenants wait. So local workers declare two resources: ``slot``
(one per thread) and ``bulk`` (all threads but a quarter, at least one). Every task takes a
``slot``; tasks of background runs (schedules, onboarding backfills) also take ``bulk``, so
they never hold the threads kept for refresh clicks and retries.

Every task declares a resource on purpose: Dask queues tasks without restrictions on the
scheduler until a worker has a free thread by its count, and it counts tasks already sent to
the worker that wait there for ``bulk``; a click's task then waited until every queued
backfill task had run (measured: 9 s behind 30 one-second bulk tasks on 3 of 4 threads, 0.3 s
when it takes a ``slot``). Restricted tasks go to a worker at once, which runs them in
priority order. A cluster whose workers declare neither resource (``HEADWATER_DASK_ADDRESS``
with workers started without ``--resources "slot=N,bulk=M"``) is used without them.
"""

from __future__ import annotations

from typing import Any

SLOT = "slot"
BULK = "bulk"
INTERACTIVE = 0  # run.priority of refresh clicks and retries


def worker_resources(threads: int) -> dict[str, float]:
    """What a local worker of ``threads`` threads declares: all of them ``slot``, all but a
    quarter (at least one) ``bulk``."""
    threads = max(1, threads)
    kept = threads // 4 if threads >= 4 else (1 if threads >= 2 else 0)
    return {SLOT: float(threads), BULK: float(threads - kept)}


def task_resources(run_priority: int) -> dict[str, float]:
    """What one task of a run of ``run.priority`` takes."""
    if run_priority <= INTERACTIVE:
        return {SLOT: 1.0}
    return {SLOT: 1.0, BULK: 1.0}


def cluster_has_slots(client: Any) -> bool:
    """Whether every worker the scheduler knows declares both resources (else none are asked:
    a task restricted to a resource no worker has would never run)."""
    try:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
    except Exception:
        return False
    return bool(workers) and all(
        SLOT in (w.get("resources") or {}) and BULK in (w.get("resources") or {}) for w in workers.values()
    )
