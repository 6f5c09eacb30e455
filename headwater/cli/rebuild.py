"""`headwater source reset` (forget cursors and ETags: the next run re-reads) and
`headwater renormalize` (rebuild normalized rows from landed raw pages, no HTTP); the work is
``tenancy.rebuild``'s, shared with the API."""

from __future__ import annotations

from typing import Any

import typer

from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, fail, show
from tenancy import get_source, get_tenant, runtime_for
from tenancy.rebuild import NothingLanded, renormalize_source, reset_source

StreamOpt = typer.Option(None, "--stream", help="Only this stream (see `headwater connectors describe KIND`).")


def source_reset(tenant: str, source_id: int, stream: str = StreamOpt, as_json: bool = JsonOpt) -> None:
    """Clear a source's cursors and ETags (one stream's with --stream): the next run re-reads everything."""
    with app_context() as app:
        with app.db.session() as s:
            done = reset_source(s, get_source(s, get_tenant(s, tenant), source_id), stream)
        doc: dict[str, Any] = {**done.as_dict(), "next": f"headwater refresh {tenant} --source {source_id}"}
        show(doc, as_json)


def renormalize_command(tenant: str, source_id: int, stream: str = StreamOpt, as_json: bool = JsonOpt) -> None:
    """Rebuild a source's normalized rows from its landed raw pages with the current normalizers (no HTTP)."""
    with app_context() as app:
        with app.db.read() as s:
            rt = runtime_for(get_source(s, get_tenant(s, tenant), source_id), app.vault)
        try:
            done = renormalize_source(app.db, rt, stream)
        except NothingLanded as exc:
            fail(f"{exc} (`headwater refresh {tenant}`)")
        show({"source_id": source_id, "stream": stream, **done.as_dict()}, as_json)
