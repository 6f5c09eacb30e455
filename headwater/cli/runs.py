"""`headwater refresh`, `headwater runs`, `headwater run show|retry|execute`."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from headwater.app import App
from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, emit_json, fail, show
from headwater.cli.timeline import print_run
from headwater.dispatch import dispatch_run, execute_inline, run_state, wait_for
from pipelines import list_runs, request_retry, request_run, run_document
from tenancy import get_tenant

run_app = typer.Typer(help="One run: show, retry.", no_args_is_help=True)


class ProgressView:
    """A live display on a terminal; plain lines otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.tty = enabled and sys.stderr.isatty()
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task: Any = None
        self._last = -1

    def __enter__(self) -> ProgressView:
        if self.tty:
            self._progress = Progress(
                TextColumn("[bold]tasks"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[states]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("run", total=1, states="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    def update(self, p: dict[str, Any]) -> None:
        if not self.enabled:
            return
        states = " ".join(f"{k.lower()}={v}" for k, v in sorted(p["states"].items()))
        if self._progress is not None:
            self._progress.update(self._task, total=p["total"], completed=p["done"], states=states)
        elif p["done"] != self._last:
            self._last = p["done"]
            sys.stderr.write(f"tasks {p['done']}/{p['total']} {states}\n")


def _finish(app: App, run_id: int, wait: bool, coalesced: bool, as_json: bool, serial: bool = False) -> None:
    if wait:
        with ProgressView(enabled=not as_json or sys.stderr.isatty()) as view:
            how = dispatch_run(app, run_id, detach=False)
            if how == "inline" and not coalesced:
                execute_inline(app, run_id, serial=serial, on_progress=view.update, on_finished=_alerts(app))
            else:
                wait_for(app, run_id)
        with app.db.session() as s:
            doc = run_document(s, run_id)
        assert doc is not None
        out = {**doc, "run_id": run_id, "coalesced": coalesced}
        if as_json:
            emit_json(out)
        else:
            print_run(out)
        if doc["state"] != "COMPLETED":
            raise typer.Exit(1)
        return
    if not coalesced:
        dispatch_run(app, run_id, detach=True)
    show({"run_id": run_id, "state": run_state(app, run_id), "coalesced": coalesced}, as_json)


def _alerts(app: App) -> Any:
    from headwater.alerts import run_finished_hook

    return run_finished_hook(app)


def refresh_command(
    tenant: str,
    source: int = typer.Option(None, "--source", help="Only this source id."),
    full: bool = typer.Option(False, "--full", help="Ignore cursors: re-read everything."),
    wait: bool = typer.Option(False, "--wait", help="Wait for the run to end (live progress on a terminal)."),
    serial: bool = typer.Option(False, "--serial", help="One task and one request at a time (baseline)."),
    as_json: bool = JsonOpt,
) -> None:
    """Refresh a tenant: queue (or coalesce into) a run."""
    with app_context() as app:
        with app.db.session() as s:
            t = get_tenant(s, tenant)
        run, coalesced = request_run(app.db, t, source_id=source, full=full, requested_by="cli")
        _finish(app, run.id, wait, coalesced, as_json, serial)


def runs_command(tenant: str, limit: int = typer.Option(20, "--limit", "-n"), as_json: bool = JsonOpt) -> None:
    """Recent runs of a tenant."""
    with app_context() as app, app.db.session() as s:
        rows = list_runs(s, get_tenant(s, tenant), limit)
        show(
            rows,
            as_json,
            [
                "id",
                "trigger",
                "state",
                "created_at",
                "duration_s",
                "tasks_total",
                "tasks_failed",
                "records_loaded",
                "message",
            ],
        )


@run_app.command("show")
def run_show(run_id: int, as_json: bool = JsonOpt) -> None:
    """A run with its tasks and each task's state history."""
    with app_context() as app, app.db.session() as s:
        doc = run_document(s, run_id)
    if doc is None:
        fail(f"run {run_id} does not exist")
    if as_json:
        emit_json(doc)
    else:
        print_run(doc)


@run_app.command("retry")
def run_retry(run_id: int, wait: bool = typer.Option(False, "--wait"), as_json: bool = JsonOpt) -> None:
    """Re-run only the failed tasks of a run (and their dependents), as a new linked run."""
    with app_context() as app:
        run = request_retry(app.db, run_id, requested_by="cli")
        _finish(app, run.id, wait, False, as_json)


@run_app.command("execute", hidden=True)
def run_execute(run_id: int) -> None:
    """Execute a queued run in this process (used by detached and queued execution)."""
    with app_context() as app:
        execute_inline(app, run_id, on_finished=_alerts(app))
