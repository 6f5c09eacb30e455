"""Output conventions of the CLI (ARCHITECTURE.md §4).

With ``--json`` a command prints exactly one JSON document on stdout. Failures exit non-zero
with one line on stderr that says what to fix; with ``--debug`` (or ``HEADWATER_DEBUG=1``) the
traceback of the error comes first.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import typer

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, default=str, indent=None) + "\n")


_debug = {"on": False}  # set by the root callback (`headwater --debug …`) for this invocation


def set_debug(on: bool) -> None:
    _debug["on"] = on


def debug_enabled() -> bool:
    return _debug["on"] or os.environ.get("HEADWATER_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def error_line(message: str) -> str:
    return "error: " + " ".join(str(message).split()) + "\n"


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr (after the traceback of the error being handled, with --debug); exit."""
    if debug_enabled() and sys.exc_info()[1] is not None:
        traceback.print_exc(file=sys.stderr)
    sys.stderr.write(error_line(message))
    raise typer.Exit(code)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    from rich.console import Console  # only commands that print tables pay for rich (~60 ms)
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")  # narrow terminals wrap a cell; never reduce it to "…"
    for r in rows:
        t.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    Console().print(t)


def show(doc: Any, as_json: bool, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    if as_json:
        emit_json(doc)
    elif isinstance(doc, list) and columns:
        table(doc, columns, title)
    elif isinstance(doc, dict):
        for k, v in doc.items():
            typer.echo(f"{k}: {v}")
    else:
        typer.echo(str(doc))


def short_time(value: Any) -> str:
    """A timestamp for people: to the second, UTC (``2026-12-01 21:35:28``); --json keeps full precision."""
    if value is None or value == "":
        return ""
    from datetime import datetime

    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.strftime("%Y-%m-%d %H:%M:%S")
