"""`headwater demo`: sandbox APIs + onboarding + refresh on the local Dask cluster, summarized."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from connectors.registry import available_kinds
from headwater.app import App, worker_config
from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, emit_json
from headwater.cli.sandboxes import source_settings, start
from pipelines import DaskRunner, Driver, request_run, run_document
from pipelines.cluster import close, connect
from storage import model_for
from storage.models import Source, Tenant
from tenancy import add_source, add_tenant, list_sources
from tenancy.sources import apply_update, prepare_update

# Small workspaces for providers whose documented rate tiers are slow (Slack Tier 3 = 50/min,
# Aha! 300/min): the connectors pace themselves faithfully, so the demo keeps these small.
DEMO_SIZES: dict[str, dict[str, int]] = {
    "slack": {"channels": 3, "messages": 12, "thread_every": 6},
    "aha": {"features": 6, "ideas": 3},
}


def _ensure_tenant(app: App, slug: str) -> Tenant:
    with app.db.session() as s:
        t = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
        if t is None:
            return add_tenant(s, slug, f"Demo tenant {slug}")
        return t


def _demo_source(app: App, tenant_id: int, kind: str, options: dict[str, Any], secrets: dict[str, Any]) -> Source:
    """The tenant's newest source of this kind, pointed at the new sandbox (which listens on a new
    port each time) and enabled: a second demo updates the same source, its rows and cursors,
    instead of adding one whose rows would double the first's. Older ones stay disabled."""
    with app.db.session() as s:
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        same = [src for src in list_sources(s, tenant) if src.kind == kind]
        if not same:
            return add_source(s, app.vault, tenant, kind, options, secrets)
        *older, src = sorted(same, key=lambda x: x.id)
        for old in older:
            old.enabled = False
        apply_update(src, app.vault, prepare_update(src, app.vault, options, secrets))
        src.enabled = True
        s.flush()
        return src


def _run_all(app: App, client: Any, run_ids: list[int]) -> None:
    from headwater.alerts import run_finished_hook

    cfg = worker_config(app)

    def drive(run_id: int) -> None:
        Driver(app.db, app.vault, DaskRunner(client, cfg), on_finished=run_finished_hook(app)).execute(run_id)

    threads = [threading.Thread(target=drive, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _counts(app: App, source_id: int, entities: list[str]) -> dict[str, int]:
    out = {}
    with app.db.read() as s:
        for e in entities:
            table = model_for(e).__table__  # type: ignore[attr-defined]
            out[e] = s.execute(
                select(func.count()).where(table.c.source_id == source_id, table.c.deleted_at.is_(None))
            ).scalar_one()
    return out


def demo_command(
    tenants: int = typer.Option(1, "--tenants", help="How many demo tenants to onboard in parallel."),
    latency_ms: float = typer.Option(20.0, "--latency-ms", help="Latency the sandbox APIs add per request."),
    as_json: bool = JsonOpt,
) -> None:
    """Onboard demo tenant(s) against the built-in sandbox APIs, refresh, and summarize."""
    con = Console(stderr=True)
    with app_context() as app:
        kinds = available_kinds()
        servers = {}
        con.print(f"[bold]Headwater demo[/]: sandboxes for {', '.join(kinds)}; database {app.db!r}")
        for kind in kinds:
            sandbox, server = start(kind, seed=7, latency_ms=latency_ms, **DEMO_SIZES.get(kind, {}))
            servers[kind] = (sandbox, server)
        try:
            slugs = ["demo"] if tenants == 1 else [f"demo-{i + 1}" for i in range(tenants)]
            expected: dict[int, dict[str, int]] = {}
            for slug in slugs:
                t = _ensure_tenant(app, slug)
                for kind, (sandbox, server) in servers.items():
                    options, secrets = source_settings(sandbox, server.url)
                    src = _demo_source(app, t.id, kind, dict(options), dict(secrets))
                    expected[src.id] = dict(sandbox.truth().get("counts", {}))
            client = connect(
                app.settings.dask_address,
                workers=app.settings.local_dask_workers,
                threads=app.settings.dask_threads,
                processes=app.settings.local_dask_processes(),
            )
            phases: dict[str, list[int]] = {}
            timings: dict[str, float] = {}
            try:
                for phase, trigger in (("onboarding", "onboarding"), ("refresh", "refresh")):
                    run_ids = []
                    for slug in slugs:
                        with app.db.session() as s:
                            tenant = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one()
                        run, _ = request_run(app.db, tenant, trigger=trigger, requested_by="demo")
                        run_ids.append(run.id)
                    con.print(f"{phase}: runs {run_ids} …")
                    started = time.perf_counter()
                    _run_all(app, client, run_ids)
                    timings[phase] = round(time.perf_counter() - started, 2)
                    phases[phase] = run_ids
            finally:
                close(client)
            summary = _summary(app, phases, timings, expected)
            summary["people_and_links"] = _signals(app, slugs, {k: sb.truth() for k, (sb, _) in servers.items()})
        finally:
            for _sandbox, server in servers.values():
                server.stop()
    if as_json:
        emit_json(summary)
    else:
        _print(summary)
    if any(r["state"] != "COMPLETED" for runs in summary["phases"].values() for r in runs["runs"]):
        raise typer.Exit(1)


def _summary(
    app: App, phases: dict[str, list[int]], timings: dict[str, float], expected: dict[int, dict[str, int]]
) -> dict[str, Any]:
    out: dict[str, Any] = {"phases": {}, "sources": []}
    with app.db.read() as s:
        for phase, run_ids in phases.items():
            runs = []
            for rid in run_ids:
                doc = run_document(s, rid)
                assert doc is not None
                streams: dict[tuple[int, str], dict[str, Any]] = defaultdict(
                    lambda: {"tasks": 0, "records": 0, "requests": 0, "seconds": 0.0, "failed": 0}
                )
                for t in doc["tasks"]:
                    agg = streams[(t["source_id"], t["stream"])]
                    agg["connector"] = t["connector"]
                    agg["tasks"] += 1
                    agg["records"] += t["records_loaded"]
                    agg["requests"] += t["requests"]
                    agg["seconds"] = round(agg["seconds"] + (t["duration_s"] or 0), 2)
                    agg["failed"] += t["state"] != "COMPLETED"
                runs.append(
                    {
                        "run_id": rid,
                        "tenant": doc["tenant"],
                        "state": doc["state"],
                        "duration_s": doc["duration_s"],
                        "tasks": doc["tasks_total"],
                        "failed": doc["tasks_failed"],
                        "records_loaded": doc["records_loaded"],
                        "message": doc["message"],
                        "streams": [{"source_id": k[0], "stream": k[1], **v} for k, v in sorted(streams.items())],
                    }
                )
            out["phases"][phase] = {"wall_s": timings[phase], "runs": runs}
        for sid, counts in expected.items():
            src = s.get(Source, sid)
            assert src is not None
            loaded = _counts(app, sid, list(counts))
            out["sources"].append(
                {"source_id": sid, "kind": src.kind, "expected": counts, "loaded": loaded, "exact": loaded == counts}
            )
    out["next"] = [
        "headwater runs demo",
        "headwater run show RUN_ID",
        "headwater records demo pull_request --limit 5",
        "headwater people demo",
        "headwater serve  # dashboard on http://127.0.0.1:8000",
    ]
    return out


def _signals(app: App, slugs: list[str], truths: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Identities and work links per demo tenant against the shared sandbox world's truth."""
    from connectors.sandbox.shared_world import combined_truth
    from linking.views import counts

    want = combined_truth(truths)
    expected = {"identities": len(want["identities"]), "links": len(want["links"])}
    out = []
    with app.db.read() as s:
        for slug in slugs:
            tenant = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one()
            got = counts(s, tenant.id)
            loaded = {"identities": got["identities"], "links": got["links"]}
            out.append({"tenant": slug, "expected": expected, "loaded": loaded, "exact": loaded == expected})
    return out


def _print(summary: dict[str, Any]) -> None:
    con = Console()
    for phase, data in summary["phases"].items():
        for run in data["runs"]:
            con.print(
                f"\n[bold]{phase}[/] run {run['run_id']} tenant={run['tenant']}: [bold]{run['state']}[/] "
                f"{run['tasks']} tasks, {run['records_loaded']} records, {run['duration_s'] or 0:.1f}s"
                f" (wall {data['wall_s']}s)"
            )
            t = Table()
            for c in ("source", "connector", "stream", "tasks", "records", "requests", "task-seconds", "failed"):
                t.add_column(c)
            for st in run["streams"]:
                t.add_row(
                    str(st["source_id"]),
                    st["connector"],
                    st["stream"],
                    str(st["tasks"]),
                    str(st["records"]),
                    str(st["requests"]),
                    f"{st['seconds']:.1f}",
                    str(st["failed"]) if st["failed"] else "",
                )
            con.print(t)
            if run["failed"]:
                con.print(f"[red]{run['message']}[/]")
    con.print("\n[bold]Loaded vs. the sandboxes' truth[/]")
    for src in summary["sources"]:
        mark = "[green]exact[/]" if src["exact"] else "[red]differs[/]"
        con.print(f"  source {src['source_id']} {src['kind']}: {mark} {src['loaded']}")
    for sig in summary.get("people_and_links", []):
        mark = "[green]exact[/]" if sig["exact"] else "[red]differs[/]"
        con.print(f"  tenant {sig['tenant']} people and links: {mark} {sig['loaded']} (truth {sig['expected']})")
    con.print("\nNext: " + "; ".join(summary["next"]))
