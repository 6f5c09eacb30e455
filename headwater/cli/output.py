"""Output conventions of the CLI (ARCHITECTURE.md §4).

With ``--json`` a command prints exactly one JSON document on stdout. Failures exit non-zero
with one line on stderr that says what to fix.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, default=str, indent=None) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    line = " ".join(str(message).split())
    sys.stderr.write(f"error: {line}\n")
    raise typer.Exit(code)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
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
