"""The `headwater` command (ARCHITECTURE.md §4)."""

from __future__ import annotations

import sys
import traceback

import typer

from headwater.cli.lazy import LazyCommand, LazyGroup, builder
from headwater.cli.output import JsonOpt, debug_enabled, error_line, set_debug, show

# Imported only when the command runs (headwater.cli.lazy): `headwater --help` stays fast.
LAZY = (
    LazyCommand(
        "records", "headwater.cli.tenants:records_command", "Normalized rows of one entity kind (every column)."
    ),
    LazyCommand(
        "refresh",
        "headwater.cli.runs:refresh_command",
        "Refresh a tenant: queue (or coalesce into) a run.",
        local_workers=lambda args: "--wait" in args,
    ),
    LazyCommand(
        "runs", "headwater.cli.runs:runs_command", "Recent runs, newest first: one tenant's, or every tenant's."
    ),
    LazyCommand(
        "demo",
        "headwater.cli.demo:demo_command",
        "Onboard demo tenant(s) against the built-in sandbox APIs, refresh, and summarize.",
        local_workers=lambda args: True,
    ),
    LazyCommand(
        "renormalize",
        "headwater.cli.rebuild:renormalize_command",
        "Rebuild a source's normalized rows from its landed raw pages with the current normalizers (no HTTP).",
    ),
    LazyCommand("serve", "headwater.cli.services:serve", "HTTP API and dashboard."),
    LazyCommand(
        "worker", "headwater.cli.services:worker", "Celery worker: executes queued runs (their tasks on Dask)."
    ),
    LazyCommand(
        "scheduler",
        "headwater.cli.services:scheduler",
        "Queue scheduled refreshes of tenants with a refresh interval, and re-send alerts.",
    ),
    LazyCommand(
        "sandbox",
        "headwater.cli.services:sandbox",
        "Serve one provider's fake API on 127.0.0.1 (for demos, tests, benchmarks).",
    ),
    LazyCommand("tenant", "headwater.cli:tenant_group", "Tenants (customers)."),
    LazyCommand("source", "headwater.cli:source_group", "Sources: connector instances of a tenant."),
    LazyCommand(
        "run",
        "headwater.cli.runs:run_app",
        "One run: show, retry, cancel.",
        local_workers=lambda args: args[:1] == ["retry"] and "--wait" in args,
    ),
    LazyCommand(
        "connectors",
        "headwater.cli.connectors:connectors_app",
        "Connector kinds: their options, secrets, streams and entities.",
    ),
    LazyCommand("secrets", "headwater.cli.secrets:secrets_app", "The key that encrypts stored credentials."),
    LazyCommand(
        "people",
        "headwater.cli.people:people_command",
        "Identities of a tenant across its sources; merge, split, and explicit mappings (map, mappings, unmap).",
    ),
    LazyCommand(
        "links",
        "headwater.cli.people:links_command",
        "Work links of a tenant: pull requests, branches, commits, messages and Aha! records naming Jira issues.",
    ),
)


class RootGroup(LazyGroup):
    lazy = LAZY
    order = (
        *("records", "refresh", "runs", "demo", "renormalize", "serve", "worker", "scheduler", "sandbox"),
        *("db", "tenant", "source", "run", "connectors", "secrets", "people", "links"),
    )


@builder
def tenant_group() -> typer.Typer:
    from headwater.cli.tenants import tenant_app
    from headwater.cli.tokens import register as register_tokens

    register_tokens(tenant_app)
    return tenant_app


@builder
def source_group() -> typer.Typer:
    from headwater.cli.rebuild import source_reset
    from headwater.cli.source_levers import register as register_source_levers
    from headwater.cli.tenants import source_app

    source_app.command("reset")(source_reset)
    register_source_levers(source_app)
    return source_app


app = typer.Typer(
    name="headwater",
    help="Headwater: per-customer ingestion of GitHub, Bitbucket, Jira, Aha! and Slack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=RootGroup,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headwater")
    except PackageNotFoundError:
        return "0+unknown"


def _version_cb(value: bool) -> None:
    if value:
        typer.echo(f"headwater {_version()}")
        raise typer.Exit()


@app.callback()
def root(
    _v: bool = typer.Option(False, "--version", callback=_version_cb, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(
        False, "--debug", envvar="HEADWATER_DEBUG", help="Print the traceback of an error (also HEADWATER_DEBUG=1)."
    ),
) -> None:
    set_debug(debug)


@db_app.command("upgrade")
def db_upgrade(as_json: bool = JsonOpt) -> None:
    """Apply the database migrations."""
    from headwater.cli.context import app_context
    from storage import upgrade

    with app_context(migrate=False) as hw:
        upgrade(hw.db)
        show({"database": repr(hw.db), "upgraded": True}, as_json)


app.add_typer(db_app, name="db")


def main() -> None:
    """The `headwater` program. The last line of defence: any error a command did not turn into
    its own one-line failure (the database, broker or Dask down, a missing driver, a bug) is
    described in one line on stderr, exit code 1; --debug prints its traceback first. Exits
    (typer.Exit, SystemExit) and Ctrl-C pass through unchanged."""
    set_debug(False)
    try:
        app()
    except (SystemExit, KeyboardInterrupt, typer.Exit):  # exits and Ctrl-C are not errors to describe
        raise
    except Exception as exc:
        from headwater.errors import describe

        if debug_enabled():
            traceback.print_exc(file=sys.stderr)
            sys.stderr.write(error_line(describe(exc)))
        else:
            sys.stderr.write(error_line(f"{describe(exc)} (run with --debug for the traceback)"))
        sys.exit(1)
