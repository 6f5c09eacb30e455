"""`headwater source reset` (forget cursors and ETags: the next run re-reads) and
`headwater renormalize` (rebuild normalized rows from landed raw pages, no HTTP)."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import delete, func, select

from connectors.renormalize import renormalize
from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, fail, show
from storage.models import Cursor, HttpValidator, RawPage
from tenancy import get_source, get_tenant, runtime_for

StreamOpt = typer.Option(None, "--stream", help="Only this stream (see `headwater connectors describe KIND`).")


def _check_stream(kind_streams: list[str], stream: str | None) -> None:
    if stream is not None and stream not in kind_streams:
        fail(f"--stream {stream!r} is not a stream of this source; its streams: {', '.join(kind_streams)}")


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def source_reset(tenant: str, source_id: int, stream: str = StreamOpt, as_json: bool = JsonOpt) -> None:
    """Clear a source's cursors and ETags (one stream's with --stream): the next run re-reads everything."""
    with app_context() as app:
        with app.db.session() as s:
            src = get_source(s, get_tenant(s, tenant), source_id)
            rt = runtime_for(src, app.vault)
            _check_stream([x.name for x in rt.connector.streams], stream)
            cursors = delete(Cursor).where(Cursor.source_id == source_id)
            if stream is not None:
                cursors = cursors.where(Cursor.stream == stream)
            n_cursors = _count(s.execute(cursors))
            n_etags = 0
            if stream is None:  # validators are per URL, not per stream: a stream's go with its paths
                n_etags = _count(s.execute(delete(HttpValidator).where(HttpValidator.source_id == source_id)))
            else:
                urls = select(RawPage.url).where(RawPage.source_id == source_id, RawPage.stream == stream)
                n_etags = _count(
                    s.execute(
                        delete(HttpValidator).where(HttpValidator.source_id == source_id, HttpValidator.url.in_(urls))
                    )
                )
        doc: dict[str, Any] = {
            "source_id": source_id,
            "stream": stream,
            "cursors_cleared": n_cursors,
            "etags_cleared": n_etags,
            "next": f"headwater refresh {tenant} --source {source_id}",
        }
        show(doc, as_json)


def renormalize_command(tenant: str, source_id: int, stream: str = StreamOpt, as_json: bool = JsonOpt) -> None:
    """Rebuild a source's normalized rows from its landed raw pages with the current normalizers (no HTTP)."""
    with app_context() as app:
        with app.db.session() as s:
            src = get_source(s, get_tenant(s, tenant), source_id)
            rt = runtime_for(src, app.vault)
            _check_stream([x.name for x in rt.connector.streams], stream)
            pages = s.execute(select(func.count()).select_from(RawPage).where(RawPage.source_id == source_id)).scalar()
        if not pages:
            fail(f"source {source_id} has no landed raw pages yet: run `headwater refresh {tenant}` first")
        done = renormalize(rt, app.db, stream)
        show({"source_id": source_id, "stream": stream, **done.as_dict()}, as_json)
