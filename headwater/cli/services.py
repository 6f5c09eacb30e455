"""Long-running processes: `serve`, `worker`, `scheduler`, `sandbox`."""

from __future__ import annotations

import logging
from typing import Any

import typer

from connectors.registry import KINDS
from headwater.cli.context import app_context
from headwater.cli.output import fail


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(
        1, "--workers", min=1, help="API processes (uvicorn workers); more than one needs HEADWATER_BROKER_URL."
    ),
) -> None:
    """HTTP API and dashboard."""
    import uvicorn

    from headwater.api import create_api

    with app_context() as hw:
        if workers > 1 and not hw.settings.broker_url:
            fail(
                f"--workers {workers} needs HEADWATER_BROKER_URL: without a broker every API process would "
                "execute runs itself (one local Dask cluster each); use one worker, or set a broker"
            )
        shown = f"[{host}]" if ":" in host else host
        logging.getLogger("headwater.serve").info(
            "serving the API and dashboard on http://%s:%s with %d worker process(es) (API docs: /docs, /redoc); "
            "sign in with HEADWATER_ADMIN_TOKEN or a token from `headwater tenant token TENANT`",
            shown,
            port,
            workers,
        )
        # log_config=None: uvicorn logs (its start, one access line per request) through our
        # handlers (JSON when HEADWATER_LOG_FORMAT=json).
        if workers > 1:
            # Each worker process builds its own App from the environment (api_from_environment).
            uvicorn.run(
                "headwater.cli.services:api_from_environment",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=True,
                log_config=None,
            )
            return
        api = create_api(hw)
        uvicorn.run(api, host=host, port=port, log_level="info", access_log=True, log_config=None)


def api_from_environment() -> Any:
    """The API of one `serve --workers N` process, built from its own HEADWATER_* settings."""
    from headwater.api import create_api
    from headwater.app import App
    from headwater.logs import configure_logging
    from headwater.settings import Settings

    settings = Settings()
    configure_logging(settings)
    return create_api(App.create(settings, migrate=False))


def worker(
    concurrency: int = typer.Option(2, "--concurrency", help="Runs driven at once by this worker."),
) -> None:
    """Celery worker: executes queued runs (their tasks on Dask)."""
    from headwater.queue import run_worker

    with app_context() as hw:
        if not hw.settings.broker_url:
            fail("HEADWATER_BROKER_URL is not set: the worker needs a broker such as redis://127.0.0.1:6379/0")
        run_worker(hw, concurrency=concurrency)


def scheduler(
    interval: float = typer.Option(30.0, "--interval", help="Seconds between checks."),
    once: bool = typer.Option(False, "--once", help="Check once and exit."),
) -> None:
    """Queue scheduled refreshes of tenants with a refresh interval, and re-send alerts."""
    from headwater.schedule import run_scheduler

    with app_context() as hw:
        run_scheduler(hw, interval=interval, once=once)


def sandbox(
    provider: str = typer.Option("github", "--provider", help=f"One of: {', '.join(KINDS)}."),
    port: int = typer.Option(8700, "--port"),
    seed: int = typer.Option(7, "--seed"),
    latency_ms: float = typer.Option(0.0, "--latency-ms"),
    repos: int = typer.Option(None, "--repos", help="GitHub/Bitbucket: number of repositories."),
) -> None:
    """Serve one provider's fake API on 127.0.0.1 (for demos, tests, benchmarks)."""
    import uvicorn

    from headwater.cli.sandboxes import make_sandbox

    kwargs = {"repos": repos} if repos is not None else {}
    try:
        sb = make_sandbox(provider, seed=seed, latency_ms=latency_ms, **kwargs)
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{provider} sandbox on http://127.0.0.1:{port} (GET /__truth for options and counts)", err=True)
    uvicorn.run(sb.app(), host="127.0.0.1", port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
    app.command("sandbox")(sandbox)
