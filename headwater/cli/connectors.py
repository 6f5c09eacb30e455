"""`headwater connectors list|describe KIND`: what each connector accepts (options, secrets as
JSON Schema with types, defaults and help) and loads (streams, entities); the same text ends
`headwater source add --help`. `headwater connectors new NAME` scaffolds a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from connectors.describe import describe, fields, help_text, list_connectors
from connectors.registry import UnknownConnector, available_kinds
from connectors.scaffold import ScaffoldError, scaffold
from headwater.cli.output import JsonOpt, fail, show

connectors_app = typer.Typer(
    help="Connector kinds: their options, secrets, streams and entities.", no_args_is_help=True
)


@connectors_app.command("list")
def connectors_list(as_json: bool = JsonOpt) -> None:
    """Every connector kind with its options, secrets, streams and the entities it loads."""
    rows = list_connectors()
    if as_json:
        show(rows, True)
        return
    human = [{k: ", ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    show(human, False, ["kind", "options", "secrets", "entities"])


@connectors_app.command("describe")
def connectors_describe(kind: str, as_json: bool = JsonOpt) -> None:
    """One connector: options and secrets (types, defaults, help) and its streams with their entities."""
    try:
        doc = describe(kind)
    except UnknownConnector as exc:
        fail(str(exc))
    if as_json:
        show(doc, True)
        return
    typer.echo(f"{kind}: {doc['description']}" if doc["description"] else kind)
    if doc["credentials"]:
        typer.echo(f"credentials: {doc['credentials']}")
    for title, schema in (
        ("options (--option KEY=VALUE)", doc["options"]),
        ("secrets (--secret KEY=VALUE)", doc["secrets"]),
    ):
        show(fields(schema), False, ["name", "type", "required", "default", "help"], title=title)
    streams = [{**s, "entities": ", ".join(s["entities"])} for s in doc["streams"]]
    show(streams, False, ["name", "entities", "partitioned", "parent", "incremental"], title="streams")


@connectors_app.command("new")
def connectors_new(
    name: str = typer.Argument(..., help="The new kind: lowercase letters, digits, underscores (e.g. gitlab)."),
    root: Path = typer.Option(Path("."), "--root", help="The Headwater checkout to write into."),
    as_json: bool = JsonOpt,
) -> None:
    """Scaffold connectors/NAME (options, streams, normalize, classify, check, a sandbox with /__truth)
    and tests/NAME, and register the kind; the generated tests pass at once."""
    try:
        done = scaffold(name, root.resolve())
    except ScaffoldError as exc:
        fail(str(exc))
    doc = {"kind": done.kind, "files": [str(f) for f in done.files], "registered_in": str(done.registry)}
    if as_json:
        show(doc, True)
        return
    for f in done.files:
        typer.echo(f"created {f}")
    typer.echo(f"registered {name!r} in {done.registry}")
    typer.echo(f"next: pytest tests/{name}, then edit connectors/{name}/streams.py (docs/connectors.md)")


def source_add_epilog() -> str:
    """The options and secrets of every connector, for `source add --help`."""
    return "\n\n".join(help_text(kind) for kind in available_kinds()) + (
        "\n\nMore: `headwater connectors describe KIND`."
    )


class SourceAddCommand(TyperCommand):
    """`source add`: its epilog is built from the registry when --help asks for it."""

    @property  # type: ignore[override]
    def epilog(self) -> str | None:
        return source_add_epilog()

    @epilog.setter
    def epilog(self, _value: Any) -> None:
        pass
