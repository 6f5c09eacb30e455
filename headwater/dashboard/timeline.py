"""The Gantt-like layout of a run: tasks grouped by source, then stream, one lane per partition.

Positions are percentages of the run's span, so the template only writes ``left``/``width``
styles; bars of tasks still running extend to now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.models import utcnow

MIN_WIDTH = 0.6  # percent: a task of a few milliseconds stays visible and clickable
NICE_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
ACTIVE = ("RUNNING", "RETRYING")


@dataclass
class Bar:
    task: dict[str, Any]
    label: str
    left: float | None  # None: never started (queued, or cancelled before it ran)
    width: float
    offset_s: float | None


@dataclass
class StreamGroup:
    stream: str
    bars: list[Bar]
    left: float | None
    width: float
    states: Counter[str]
    records_loaded: int


@dataclass
class SourceGroup:
    source_id: int
    kind: str
    name: str
    streams: list[StreamGroup]
    states: Counter[str] = field(default_factory=Counter)


@dataclass
class Timeline:
    groups: list[SourceGroup]
    ticks: list[tuple[float, str]]  # (percent, label)
    span_s: float
    now: float | None  # percent position of "now" while the run is active
    states: Counter[str] = field(default_factory=Counter)


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def tick_label(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g}s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m}m" if not s else f"{m}m{s:02d}s"
    h, rem = divmod(round(seconds), 3600)
    return f"{h}h" if not rem else f"{h}h{rem // 60:02d}m"


def ticks(span_s: float, most: int = 8) -> list[tuple[float, str]]:
    step = next((x for x in NICE_STEPS if span_s / x <= most), NICE_STEPS[-1])
    out, at = [], 0.0
    while at <= span_s + 1e-9:
        out.append((at / span_s * 100 if span_s else 0.0, tick_label(at)))
        at = round(at + step, 6)
    return out


def layout(run: Mapping[str, Any], sources: Mapping[int, Any], now: datetime | None = None) -> Timeline:
    tasks: list[dict[str, Any]] = list(run.get("tasks", []))
    now = now or utcnow()
    active = run.get("state") in ("SCHEDULED", "PENDING", *ACTIVE)
    starts = [s for s in (_t(t.get("started_at")) for t in tasks) if s]
    ends = [e for e in (_t(t.get("ended_at")) for t in tasks) if e]
    run_start = _t(run.get("started_at"))
    t0 = min([*starts, *([run_start] if run_start else [])], default=now)
    t1 = max([*ends, *starts, t0])
    if active or any(t["state"] in ACTIVE for t in tasks):
        t1 = max(t1, now)
    elif run.get("ended_at"):
        t1 = max(t1, _t(run["ended_at"]) or t1)
    span = max((t1 - t0).total_seconds(), 0.001)

    def pct(dt: datetime) -> float:
        return max(0.0, min(100.0, (dt - t0).total_seconds() / span * 100))

    def bar(task: dict[str, Any]) -> Bar:
        start, end = _t(task.get("started_at")), _t(task.get("ended_at"))
        label = task.get("partition") or "(source)"
        if start is None:
            return Bar(task, label, None, 0.0, None)
        stop = end or (now if task["state"] in ACTIVE else start)
        left = pct(start)
        width = max(pct(stop) - left, MIN_WIDTH)
        return Bar(task, label, min(left, 100.0 - width), width, (start - t0).total_seconds())

    groups: dict[int, SourceGroup] = {}
    streams: dict[tuple[int, str], list[Bar]] = {}
    for task in tasks:  # task ids follow creation order: discovery first, then per partition
        sid = int(task["source_id"])
        if sid not in groups:
            src = sources.get(sid)
            kind = getattr(src, "kind", None) or task.get("connector") or "source"
            name = getattr(src, "label", None) or getattr(src, "name", None) or kind
            groups[sid] = SourceGroup(sid, kind, name, [])
        groups[sid].states[task["state"]] += 1
        streams.setdefault((sid, task["stream"]), []).append(bar(task))
    for (sid, stream), bars in streams.items():
        bars.sort(key=lambda b: (b.label != "(source)", b.label))
        placed = [b for b in bars if b.left is not None]
        left = min((b.left for b in placed if b.left is not None), default=None)
        right = max(((b.left or 0) + b.width for b in placed), default=0.0)
        groups[sid].streams.append(
            StreamGroup(
                stream=stream,
                bars=bars,
                left=left,
                width=max(right - left, MIN_WIDTH) if left is not None else 0.0,
                states=Counter(b.task["state"] for b in bars),
                records_loaded=sum(int(b.task.get("records_loaded") or 0) for b in bars),
            )
        )
    return Timeline(
        groups=[groups[k] for k in sorted(groups)],
        ticks=ticks(span),
        span_s=span,
        now=pct(now) if active else None,
        states=Counter(t["state"] for t in tasks),
    )
