"""A readable run in the terminal: tasks by source and stream, and a text timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

STATE_STYLE = {"COMPLETED": "green", "FAILED": "red", "CRASHED": "red", "CANCELLED": "yellow", "RUNNING": "cyan"}
WIDTH = 40


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def bar(start: datetime | None, end: datetime | None, t0: datetime, span: float) -> str:
    if start is None:
        return ""
    a = int((start - t0).total_seconds() / span * WIDTH)
    b = int(((end or start) - t0).total_seconds() / span * WIDTH)
    return " " * a + "█" * max(1, b - a)


def print_run(doc: dict[str, Any]) -> None:
    con = Console()
    style = STATE_STYLE.get(doc["state"], "white")
    con.print(
        f"[bold]run {doc['id']}[/] tenant={doc.get('tenant')} trigger={doc['trigger']} "
        f"state=[{style}]{doc['state']}[/] tasks={doc['tasks_total']} failed={doc['tasks_failed']} "
        f"records={doc['records_loaded']} duration={doc.get('duration_s') or 0:.1f}s"
    )
    if doc.get("message"):
        con.print(f"  {doc['message']}")
    tasks = doc.get("tasks", [])
    starts = [_t(t["started_at"]) for t in tasks if t.get("started_at")]
    ends = [_t(t["ended_at"]) for t in tasks if t.get("ended_at")]
    t0 = min((s for s in starts if s), default=None)
    t1 = max((e for e in ends if e), default=None)
    span = max((t1 - t0).total_seconds(), 0.001) if t0 and t1 else 1.0
    table = Table(show_lines=False)
    for col in ("task", "source", "stream", "partition", "state", "fetched", "loaded", "secs", "timeline"):
        table.add_column(col)
    for t in sorted(tasks, key=lambda x: (x["source_id"], x["stream"], x["partition"] or "")):
        st = STATE_STYLE.get(t["state"], "white")
        table.add_row(
            str(t["id"]),
            f"{t['source_id']} {t.get('connector') or ''}",
            t["stream"],
            t["partition"] or "",
            f"[{st}]{t['state']}[/]" + (f" {t['error_kind']}" if t.get("error_kind") else ""),
            str(t["records_fetched"]),
            str(t["records_loaded"]),
            f"{t['duration_s']:.2f}" if t.get("duration_s") is not None else "",
            bar(_t(t.get("started_at")), _t(t.get("ended_at")), t0, span) if t0 else "",
        )
    con.print(table)
    for t in tasks:
        if t["state"] in ("FAILED", "CRASHED"):
            con.print(f"[red]✗ task {t['id']} {t['stream']} {t['partition'] or ''}[/]: {t['message']}")
            for h in t["history"]:
                con.print(f"    {h['at']}  {h['state']}")
