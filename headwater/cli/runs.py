"""`headwater refresh`, `headwater runs`, `headwater run show|retry|execute`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any, NoReturn

import typer

from headwater.app import App
from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, emit_json, fail, short_time, show, table
from headwater.cli.timeline import print_run
from headwater.dispatch import Accepted, DispatchError, RunService, execute_inline, run_state
from pipelines import list_runs, run_document
from pipelines.views import BadFilter, RunFilter
from storage.models import Run, TaskRun
from tenancy import get_tenant

run_app = typer.Typer(help="One run: show, retry, cancel.", no_args_is_help=True)


class ProgressView:
    """A live display on a terminal; plain lines otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.tty = enabled and sys.stderr.isatty()
        self.enabled = enabled
        self._progress: Any = None  # a rich Progress, imported only for a terminal
        self._task: Any = None
        self._last = -1

    def __enter__(self) -> ProgressView:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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


class Interrupt:
    """Ctrl-C while a command waits for a run: the first press cancels the run this command
    started (in a thread: never inside the signal handler, which may have interrupted a
    database call) and lets the wait end by itself; a run this command only joined is left
    alone. A second press exits at once. Either way: one line on stderr, exit 130."""

    def __init__(self, app: App, run_id: int, *, owned: bool) -> None:
        self.app, self.run_id, self.owned = app, run_id, owned
        self.pressed = False
        self._previous: Any = None

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, _signum: int, _frame: Any) -> None:
        if self.pressed:
            sys.stderr.write(f"interrupted again: exiting now; see `headwater run show {self.run_id}`\n")
            sys.stderr.flush()
            os._exit(130)
        self.pressed = True
        if self.owned:
            threading.Thread(target=self._cancel, name="headwater-cancel", daemon=True).start()

    def _cancel(self) -> None:
        # Finished meanwhile, or the database is gone: report() says what is known.
        with contextlib.suppress(Exception):
            RunService(self.app).cancel(self.run_id, by="cli (Ctrl-C)")

    def check(self) -> None:
        """For polling waits: stop waiting for a run that is not ours at once."""
        if self.pressed and not self.owned:
            raise Interrupted()

    def report(self) -> NoReturn:
        with self.app.db.session() as s:
            run = s.get(Run, self.run_id)
            state = run.state if run else "MISSING"
        if self.owned:
            what = f"run {self.run_id} is {state}; the batches it committed are kept and the next refresh resumes"
        else:
            what = f"stopped waiting; run {self.run_id} (started elsewhere) goes on ({state})"
        sys.stderr.write(f"interrupted: {what}; see `headwater run show {self.run_id}`\n")
        raise typer.Exit(130)


class Interrupted(Exception):
    pass


def _follow(app: App, accepted: Accepted, *, inline: bool, serial: bool, as_json: bool) -> None:
    """Wait for the run (driving it here when ``inline``), then print it; exit 1 unless COMPLETED."""
    run_id = accepted.run_id
    with Interrupt(app, run_id, owned=not accepted.coalesced) as interrupt:
        with ProgressView(enabled=not as_json or sys.stderr.isatty()) as view:
            try:
                if inline:
                    execute_inline(app, run_id, serial=serial, on_progress=view.update, on_finished=_alerts(app))
                else:
                    RunService(app).wait(run_id, on_poll=interrupt.check)
            except Interrupted:
                pass
            except DispatchError as exc:  # its driver stopped beating: say so, do not wait forever
                fail(str(exc))
        if interrupt.pressed:
            interrupt.report()
    with app.db.session() as s:
        doc = run_document(s, run_id)
    assert doc is not None
    out = {**doc, "run_id": run_id, "coalesced": accepted.coalesced}
    if as_json:
        emit_json(out)
    else:
        print_run(out)
    if doc["state"] != "COMPLETED":
        fail(f"run {run_id} ended {doc['state']}: {doc.get('message') or ''}")


def _alerts(app: App) -> Any:
    from headwater.alerts import run_finished_hook

    return run_finished_hook(app)


def refresh_command(
    tenant: str,
    source: int = typer.Option(None, "--source", help="Only this source id."),
    full: bool = typer.Option(False, "--full", help="Ignore cursors: re-read everything."),
    wait: bool = typer.Option(
        False, "--wait", help="Wait for the run to end (live progress on a terminal); Ctrl-C cancels it."
    ),
    serial: bool = typer.Option(False, "--serial", help="One task and one request at a time (baseline)."),
    as_json: bool = JsonOpt,
) -> None:
    """Refresh a tenant: queue (or coalesce into) a run."""
    with app_context() as app:
        with app.db.session() as s:
            t = get_tenant(s, tenant)
        # Waiting without a broker: this process drives the run itself.
        inline = wait and not app.settings.broker_url
        try:
            accepted = RunService(app).request(t, source_id=source, full=full, requested_by="cli", dispatch=not inline)
        except DispatchError as exc:
            fail(str(exc))
        if wait:
            _follow(app, accepted, inline=inline and not accepted.coalesced, serial=serial, as_json=as_json)
            return
        show(
            {"run_id": accepted.run_id, "state": run_state(app, accepted.run_id), "coalesced": accepted.coalesced},
            as_json,
        )


def runs_command(
    tenant: str = typer.Argument(None, help="Only this tenant's runs (default: every tenant)."),
    state: str = typer.Option(None, "--state", help="Only runs in this state (comma-separated: FAILED,CRASHED)."),
    trigger: str = typer.Option(None, "--trigger", help="refresh, schedule, onboarding or retry."),
    since: str = typer.Option(None, "--since", help="Created within (24h, 30m, 7d) or after an ISO date."),
    limit: int = typer.Option(20, "--limit", "-n", help="At most N runs (newest first)."),
    before: str = typer.Option(None, "--before", help="Page on: runs older than this run id (a next_cursor)."),
    as_json: bool = JsonOpt,
) -> None:
    """Recent runs, newest first: one tenant's, or every tenant's."""
    try:
        where = RunFilter.parse(state=state, trigger=trigger, since=since, cursor=before)
    except BadFilter as exc:
        fail(f"--{exc}")
    if limit < 1:
        fail(f"--limit: {limit} must be at least 1")
    with app_context() as app, app.db.session() as s:
        rows = list_runs(s, get_tenant(s, tenant) if tenant else None, limit, where)
    if as_json:
        emit_json(rows)
        return
    human = [
        {
            "id": r["id"],
            "tenant": r["tenant"],
            "trigger": r["trigger"],
            "state": r["state"],
            "created": short_time(r["created_at"]),
            "secs": seconds(r["duration_s"]),
            "tasks": tasks(r),
            "loaded": r["records_loaded"],
            "message": r["message"],
        }
        for r in rows
    ]
    columns = ["id", "tenant", "trigger", "state", "created", "secs", "tasks", "loaded", "message"]
    if tenant:
        columns.remove("tenant")
    table(human, columns)


def tasks(run: dict[str, Any]) -> str:
    failed = f" ({run['tasks_failed']} failed)" if run["tasks_failed"] else ""
    return f"{run['tasks_total']}{failed}"


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


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
        inline = wait and not app.settings.broker_url
        try:
            accepted = RunService(app).retry(run_id, requested_by="cli", dispatch=not inline)
        except DispatchError as exc:
            fail(str(exc))
        if wait:
            _follow(app, accepted, inline=inline, serial=False, as_json=as_json)
            return
        show({"run_id": accepted.run_id, "state": run_state(app, accepted.run_id), "coalesced": False}, as_json)


@run_app.command("cancel")
def run_cancel(
    run_id: int,
    reason: str = typer.Option(None, "--reason", help="Why (kept in the run's history)."),
    as_json: bool = JsonOpt,
) -> None:
    """Cancel a waiting or running run; what it committed is kept, the next refresh resumes."""
    with app_context() as app:
        RunService(app).cancel(run_id, by="cli", reason=reason)
        with app.db.session() as s:
            doc = run_document(s, run_id)
    assert doc is not None
    if as_json:
        emit_json(doc)
    else:
        print_run(doc)


@run_app.command("logs")
def run_logs(
    run_id: int,
    task: int = typer.Option(None, "--task", help="Only this task's lines (a task id of `run show`)."),
    as_json: bool = JsonOpt,
) -> None:
    """The log lines each task of a run kept (the last 200 per task, INFO and above, redacted)."""
    from pipelines.tasklogs import read

    with app_context() as app, app.db.session() as s:
        if s.get(Run, run_id) is None:
            fail(f"run {run_id} does not exist; see `headwater runs`")
        row = s.get(TaskRun, task) if task is not None else None
        if task is not None and (row is None or row.run_id != run_id):
            fail(f"task {task} is not a task of run {run_id}; see `headwater run show {run_id}`")
        lines = read(s, run_id, task)
    if as_json:
        emit_json(lines)
        return
    for line in lines:
        typer.echo(f"{short_time(line['at'])} {line['level']:<7} task {line['task_id']}: {line['message']}")
    if not lines:
        sys.stderr.write(f"run {run_id} kept no log lines{f' for task {task}' if task is not None else ''}\n")


@run_app.command("execute", hidden=True)
def run_execute(run_id: int) -> None:
    """Execute a queued run in this process (used by detached and queued execution)."""
    with app_context() as app:
        execute_inline(app, run_id, on_finished=_alerts(app))
