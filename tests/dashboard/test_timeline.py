"""The Gantt layout of a run document (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.cli.timeline import history_line, order, print_run
from headwater.dashboard.render import ago, duration
from headwater.dashboard.timeline import MIN_WIDTH, layout, tick_label, ticks

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def task(
    tid: int, stream: str, partition: str | None, state: str, start: float | None, end: float | None, **kw: Any
) -> dict[str, Any]:
    at = lambda s: (T0 + timedelta(seconds=s)).isoformat() if s is not None else None  # noqa: E731
    return {
        "id": tid,
        "source_id": kw.get("source_id", 1),
        "connector": "github",
        "stream": stream,
        "partition": partition,
        "state": state,
        "started_at": at(start),
        "ended_at": at(end),
        "records_loaded": kw.get("loaded", 0),
    }


def run(tasks: list[dict[str, Any]], state: str = "FAILED", end: float = 10.0) -> dict[str, Any]:
    return {
        "state": state,
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(seconds=end)).isoformat(),
        "tasks": tasks,
    }


def test_bars_are_placed_by_start_and_end() -> None:
    doc = run(
        [
            task(1, "repositories", None, "COMPLETED", 0, 1, loaded=3),
            task(2, "commits", "acme/b", "COMPLETED", 1, 6, loaded=10),
            task(3, "commits", "acme/a", "FAILED", 2, 10),
            task(4, "pulls", "acme/a", "CANCELLED", None, None),
            task(5, "repositories", None, "COMPLETED", 0, 2, source_id=2),
        ]
    )
    tl = layout(doc, {})
    assert tl.span_s == 10.0
    assert [g.source_id for g in tl.groups] == [1, 2]
    streams = {s.stream: s for s in tl.groups[0].streams}
    assert list(streams) == ["repositories", "commits", "pulls"]  # creation order: discovery first
    a, b = streams["commits"].bars  # sorted by partition
    assert (a.label, a.left, a.width) == ("acme/a", 20.0, 80.0)
    assert (b.label, b.left, b.width) == ("acme/b", 10.0, 50.0)
    assert streams["commits"].left == 10.0 and streams["commits"].width == 90.0
    assert streams["commits"].records_loaded == 10 and streams["commits"].states == {"COMPLETED": 1, "FAILED": 1}
    assert streams["pulls"].bars[0].left is None and streams["pulls"].left is None  # never started
    assert tl.groups[0].states == {"COMPLETED": 2, "FAILED": 1, "CANCELLED": 1}
    assert tl.states["COMPLETED"] == 3 and tl.now is None


def test_tiny_tasks_stay_visible_inside_the_track() -> None:
    tl = layout(run([task(1, "s", "p", "COMPLETED", 0, 10), task(2, "s", "q", "COMPLETED", 10, 10)]), {})
    last = tl.groups[0].streams[0].bars[1]
    assert last.width == MIN_WIDTH and last.left + last.width <= 100.0


def test_running_tasks_extend_to_now() -> None:
    now = T0 + timedelta(seconds=20)
    doc = run([task(1, "s", "p", "COMPLETED", 0, 5), task(2, "s", "q", "RUNNING", 5, None)], state="RUNNING")
    doc["ended_at"] = None
    tl = layout(doc, {}, now=now)
    running = tl.groups[0].streams[0].bars[1]
    assert tl.span_s == 20.0 and running.left == 25.0 and running.width == 75.0 and tl.now == 100.0


def test_ticks_and_labels() -> None:
    assert ticks(10.0)[0] == (0.0, "0s") and ticks(10.0)[-1] == (100.0, "10s")
    assert len(ticks(3600.0)) <= 9
    assert tick_label(90) == "1m30s" and tick_label(7200) == "2h" and tick_label(0.5) == "0.5s"
    assert duration(0.25) == "250 ms" and duration(75) == "1m 15s" and duration(None) == "—"
    assert ago(None) == "—" and ago(datetime.now(UTC) - timedelta(minutes=5)) == "5 min ago"


def test_terminal_timeline_orders_streams_as_run_and_explains_failures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    tasks = [
        task(1, "repositories", None, "COMPLETED", 0, 1),
        task(2, "commits", "acme/b", "COMPLETED", 1, 3),
        task(3, "branches", "acme/b", "COMPLETED", 1, 2),
        task(4, "commits", "acme/a", "FAILED", 2, 4),
    ]
    tasks[3].update(
        error_kind="BUG",
        message="KeyError: 'sha'",
        traceback="Traceback (most recent call last):\n  ...\nKeyError: 'sha'\n",
        history=[
            {"state": "SCHEDULED", "at": T0.isoformat()},
            {"state": "RUNNING", "at": (T0 + timedelta(seconds=2)).isoformat()},
            {"state": "FAILED", "at": (T0 + timedelta(seconds=4)).isoformat()},
        ],
    )
    assert [t["id"] for t in order(tasks)] == [1, 4, 2, 3]  # discovery, then commits (a, b), then branches
    assert history_line(tasks[3]["history"]) == "scheduled → +2.00s running → +4.00s failed"
    for t in tasks:
        t.update(records_fetched=0, duration_s=1.0, history=t.get("history", []))
    doc = {
        "id": 9,
        "tenant": "acme",
        "trigger": "refresh",
        "state": "FAILED",
        "tasks_total": 4,
        "tasks_failed": 1,
        "records_loaded": 0,
        "duration_s": 4.0,
        "message": "1 of 4 tasks did not complete",
        "tasks": tasks,
    }
    print_run(doc)
    out = capsys.readouterr().out
    assert "✗ task 4 commits acme/a BUG: KeyError: 'sha'" in out
    assert "headwater run retry 9" in out and "timeline 0-4.0s" in out
