"""The `headwater` command (ARCHITECTURE.md §4)."""

from __future__ import annotations

import sys
import traceback
from importlib.metadata import PackageNotFoundError, version

import typer

from headwater.cli.connectors import connectors_app
from headwater.cli.context import app_context
from headwater.cli.demo import demo_command
from headwater.cli.output import JsonOpt, debug_enabled, error_line, set_debug, show
from headwater.cli.rebuild import renormalize_command, source_reset
from headwater.cli.runs import refresh_command, run_app, runs_command
from headwater.cli.secrets import secrets_app
from headwater.cli.services import register as register_services
from headwater.cli.source_levers import register as register_source_levers
from headwater.cli.tenants import records_command, source_app, tenant_app
from headwater.cli.tokens import register as register_tokens
from headwater.errors import describe

app = typer.Typer(
    name="headwater",
    help="Headwater: per-customer ingestion of GitHub, Bitbucket, Jira, Aha! and Slack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _version() -> str:
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
    from storage import upgrade

    with app_context(migrate=False) as hw:
        upgrade(hw.db)
        show({"database": repr(hw.db), "upgraded": True}, as_json)


app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(source_app, name="source")
app.add_typer(run_app, name="run")
app.add_typer(connectors_app, name="connectors")
app.add_typer(secrets_app, name="secrets")
app.command("records")(records_command)
app.command("refresh")(refresh_command)
app.command("runs")(runs_command)
app.command("demo")(demo_command)
app.command("renormalize")(renormalize_command)
source_app.command("reset")(source_reset)
register_services(app)
register_source_levers(source_app)
register_tokens(tenant_app)


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
        if debug_enabled():
            traceback.print_exc(file=sys.stderr)
            sys.stderr.write(error_line(describe(exc)))
        else:
            sys.stderr.write(error_line(f"{describe(exc)} (run with --debug for the traceback)"))
        sys.exit(1)
