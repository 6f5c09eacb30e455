"""What bench/load_refresh.py reports of one load: request latencies, runs created and coalesced,
queue waits (all runs, clicks, clicks on an idle scope) and throughput, from the click results
and the runs the API lists afterwards."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def overlapping_waits(runs: list[dict[str, Any]]) -> int:
    """Runs of one scope that were waiting at the same time (coalescing promises zero)."""
    by_scope: dict[tuple[int, int | None], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by_scope[(r["tenant_id"], r["source_id"])].append(r)
    bad = 0
    for rows in by_scope.values():
        rows.sort(key=lambda r: r["id"])
        for prev, nxt in itertools.pairwise(rows):
            left_queue = parse(prev["started_at"]) or parse(prev["ended_at"])
            created = parse(nxt["created_at"])
            if left_queue is None or (created is not None and created < left_queue):
                bad += 1
    return bad


def report(results: list[dict[str, Any]], wall: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in results if r["status"] == 202]
    latencies = [r["ms"] for r in ok]
    created = {r["run_id"] for r in ok if not r["coalesced"]}
    waits = [
        (parse(r["started_at"]) - parse(r["created_at"])).total_seconds()  # type: ignore[operator]
        for r in runs
        if r["started_at"] and r["created_at"]
    ]
    clicks = [r for r in runs if r["trigger"] == "refresh"]
    click_waits = [
        (parse(r["started_at"]) - parse(r["created_at"])).total_seconds()  # type: ignore[operator]
        for r in clicks
        if r["started_at"] and r["created_at"]
    ]
    click_runs = [
        (parse(r["ended_at"]) - parse(r["created_at"])).total_seconds()  # type: ignore[operator]
        for r in clicks
        if r["ended_at"] and r["created_at"]
    ]
    # A click on a scope whose previous run still runs queues one follow-up, which starts when
    # that run ends (coalescing): its wait is the scope's, not the queue's. Told apart here.
    by_scope: dict[tuple[int, int | None], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by_scope[(r["tenant_id"], r["source_id"])].append(r)
    follow_ups = set()
    for rows in by_scope.values():
        rows.sort(key=lambda r: r["id"])
        for prev, nxt in itertools.pairwise(rows):
            ended = parse(prev["ended_at"])
            if ended is None or ended > parse(nxt["created_at"]):  # type: ignore[operator]
                follow_ups.add(nxt["id"])
    idle_waits = [
        (parse(r["started_at"]) - parse(r["created_at"])).total_seconds()  # type: ignore[operator]
        for r in clicks
        if r["started_at"] and r["created_at"] and r["id"] not in follow_ups
    ]
    completed = [r for r in runs if r["state"] == "COMPLETED"]
    span = None
    if completed:
        first = min(parse(r["created_at"]) for r in runs)  # type: ignore[type-var]
        last = max(parse(r["ended_at"]) for r in completed)  # type: ignore[type-var]
        span = (last - first).total_seconds()  # type: ignore[operator]
    return {
        "requests": len(results),
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(results) / wall, 1) if wall else None,
        "status": dict(Counter(str(r["status"]) for r in results)),
        "latency_ms": {
            "p50": round(pct(latencies, 50) or 0, 2),
            "p95": round(pct(latencies, 95) or 0, 2),
            "p99": round(pct(latencies, 99) or 0, 2),
            "max": round(max(latencies, default=0), 2),
        },
        "scopes_clicked": len({r["scope"] for r in results}),
        "coalesced_requests": sum(1 for r in ok if r["coalesced"]),
        "runs_created": len(created),
        "runs_in_db": len(runs),
        "runs_created_matches_db": len(created) == len(runs),
        "duplicate_waiting_runs": overlapping_waits(runs),
        "runs_completed": len(completed),
        "runs_unfinished": sum(1 for r in runs if r["state"] not in TERMINAL),
        "runs_failed": sum(1 for r in runs if r["state"] in TERMINAL - {"COMPLETED"}),
        "queue_wait_s": {"p50": pct(waits, 50), "p95": pct(waits, 95)},
        "click_runs": len(clicks),
        "click_queue_wait_s": {"p50": pct(click_waits, 50), "p95": pct(click_waits, 95), "max": pct(click_waits, 100)},
        "click_run_s": {"p50": pct(click_runs, 50), "p95": pct(click_runs, 95)},
        "click_runs_on_an_idle_scope": len(idle_waits),
        "click_queue_wait_idle_scope_s": {"p50": pct(idle_waits, 50), "p95": pct(idle_waits, 95)},
        "runs_per_hour": round(len(completed) / span * 3600, 1) if span else None,
    }
