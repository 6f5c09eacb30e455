"""A readable run in the terminal: tasks by source and stream, and a text timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

STATE_STYLE = {
    "COMPLETED": "green",
    "FAILED": "red",
    "CRASHED": "bold red",
    "CANCELLED": "yellow",
    "RUNNING": "cyan",
    "RETRYING": "magenta",
}
WIDTH = 40
WIDE = 140  # columns needed for every column and the timeline; narrower terminals get fewer
NUMERIC = ("fetched", "loaded", "secs")


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def bar(start: datetime | None, end: datetime | None, t0: datetime, span: float) -> str:
    if start is None:
        return ""
    a = min(int((start - t0).total_seconds() / span * WIDTH), WIDTH - 1)
    b = int(((end or start) - t0).total_seconds() / span * WIDTH)
    return " " * a + "█" * max(1, min(b, WIDTH) - a)


def order(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By source, then stream in the order the run created them (discovery first), then partition."""
    first: dict[tuple[Any, str], int] = {}
    for t in tasks:
        key = (t["source_id"], t["stream"])
        first[key] = min(first.get(key, t["id"]), t["id"])
    return sorted(tasks, key=lambda x: (x["source_id"], first[(x["source_id"], x["stream"])], x["partition"] or ""))


def history_line(history: list[dict[str, Any]]) -> str:
    """'scheduled → +0.05s pending → +0.41s running → +0.55s failed' (offsets from the first)."""
    if not history:
        return ""
    t0 = _t(history[0]["at"])
    parts = []
    for h in history:
        at = _t(h["at"])
        offset = f"+{(at - t0).total_seconds():.2f}s " if at and t0 and at != t0 else ""
        parts.append(f"{offset}{h['state'].lower()}")
    return " → ".join(parts)


def last_line(traceback: str | None) -> str | None:
    lines = [x for x in (traceback or "").strip().splitlines() if x.strip()]
    return lines[-1].strip() if lines else None


def print_run(doc: dict[str, Any]) -> None:
    con = Console()
    style = STATE_STYLE.get(doc["state"], "white")
    con.print(
        f"[bold]run {doc['id']}[/] tenant={doc.get('tenant')} trigger={doc['trigger']} "
        f"state=[{style}]{doc['state']}[/] tasks={doc['tasks_total']} failed={doc['tasks_failed']} "
        f"records={doc['records_loaded']} duration={doc.get('duration_s') or 0:.1f}s"
        + (f" retry-of={doc['parent_run_id']}" if doc.get("parent_run_id") else "")
    )
    if doc.get("message"):
        con.print(f"  {doc['message']}", highlight=False)
    tasks = doc.get("tasks", [])
    starts = [_t(t["started_at"]) for t in tasks if t.get("started_at")]
    ends = [_t(t["ended_at"]) for t in tasks if t.get("ended_at")]
    t0 = min((s for s in starts if s), default=None)
    t1 = max((e for e in [*ends, *starts] if e), default=None)
    span = max((t1 - t0).total_seconds(), 0.001) if t0 and t1 else 1.0
    wide = con.width >= WIDE
    table = Table(show_lines=False)
    for col in ("task", "source", "stream", "partition", "state", "fetched", "loaded", "secs"):
        if col == "fetched" and not wide:
            continue
        table.add_column(col, justify="right" if col in NUMERIC else "left", overflow="fold")
    if wide:
        table.add_column(f"timeline 0-{span:.1f}s", no_wrap=True)
    for t in order(tasks):
        st = STATE_STYLE.get(t["state"], "white")
        cells = [
            str(t["id"]),
            f"{t['source_id']} {t.get('connector') or ''}" if wide else str(t["source_id"]),
            t["stream"],
            t["partition"] or "",
            f"[{st}]{t['state']}[/]" + (f" {t['error_kind']}" if t.get("error_kind") else ""),
            *([str(t["records_fetched"])] if wide else []),
            str(t["records_loaded"]),
            f"{t['duration_s']:.2f}" if t.get("duration_s") is not None else "",
        ]
        if wide:
            cells.append(f"[{st}]{bar(_t(t.get('started_at')), _t(t.get('ended_at')), t0, span)}[/]" if t0 else "")
        table.add_row(*cells)
    con.print(table)
    if not wide and tasks:
        con.print(f"[dim]timeline and fetched counts: a terminal of {WIDE}+ columns, or --json[/]")
    failed = [t for t in order(tasks) if t["state"] in ("FAILED", "CRASHED")]
    for t in failed:
        kind = f" {t['error_kind']}" if t.get("error_kind") else ""
        con.print(
            f"[red]✗ task {t['id']} {t['stream']} {t['partition'] or ''}{kind}[/]: {t['message']}", highlight=False
        )
        con.print(f"    {history_line(t['history'])}", highlight=False)
        exc = last_line(t.get("traceback"))
        if exc and (t.get("message") or "") not in exc:  # the exception, when it says more
            con.print(f"    [dim]{exc}[/]", highlight=False)
    if failed and doc["state"] in ("FAILED", "CRASHED"):
        con.print(
            f"[dim]tracebacks: headwater run show {doc['id']} --json · retry the failed tasks: "
            f"headwater run retry {doc['id']}[/]"
        )
