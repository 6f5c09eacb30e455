"""Re-read or rebuild a source, one service for the CLI and the API.

* ``reset_source``: forget the source's cursors and HTTP validators (ETag/Last-Modified), all of
  them or one stream's, so the next run reads everything again and no request answers 304.
  Rows stay; the re-read upserts over them.
* ``renormalize_source``: rebuild its normalized rows from the landed raw pages with the current
  normalizers (``connectors.renormalize``); no HTTP request is made.

Bad input (a stream the source does not have, nothing landed yet) raises ``RebuildError``, a
``TenancyError`` whose message names the field and what to do; a reset while a started run
still reads the source raises ``tenancy.busy.SourceBusy``. Nothing has changed then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from connectors.connector import Connector
from connectors.registry import get_connector
from connectors.renormalize import Renormalized, renormalize
from connectors.runtime import SourceRuntime
from storage import Database
from storage.models import Cursor, HttpValidator, RawPage, Source
from tenancy.busy import check_idle
from tenancy.service import TenancyError


class RebuildError(TenancyError):
    """A reset or renormalize refused before changing anything; the message says what to fix."""


class NothingLanded(RebuildError):
    """Renormalize asked of a source with no landed raw pages (refresh it first)."""


@dataclass(frozen=True)
class ResetDone:
    source_id: int
    stream: str | None
    cursors_cleared: int
    etags_cleared: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "stream": self.stream,
            "cursors_cleared": self.cursors_cleared,
            "etags_cleared": self.etags_cleared,
        }


def check_stream(connector: Connector, stream: str | None, what: str = "--stream") -> None:
    """``stream`` is None (every stream) or one of the connector's streams."""
    names = [s.name for s in connector.streams]
    if stream is not None and stream not in names:
        raise RebuildError(f"{what} {stream!r} is not a stream of this source; its streams: {', '.join(names)}")


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def reset_source(session: Session, source: Source, stream: str | None = None, what: str = "--stream") -> ResetDone:
    """Delete the source's cursors and validators (one stream's with ``stream``) in ``session``;
    its secrets are not needed (nor decrypted)."""
    check_stream(get_connector(source.kind), stream, what)
    check_idle(session, source, "reset the cursors of")  # a running task would write them again
    sid = source.id
    cursors = delete(Cursor).where(Cursor.source_id == sid)
    validators = delete(HttpValidator).where(HttpValidator.source_id == sid)
    if stream is not None:
        cursors = cursors.where(Cursor.stream == stream)
        # Validators are kept per URL, not per stream: a stream's are those of the URLs it landed.
        urls = select(RawPage.url).where(RawPage.source_id == sid, RawPage.stream == stream)
        validators = validators.where(HttpValidator.url.in_(urls))
    return ResetDone(sid, stream, _count(session.execute(cursors)), _count(session.execute(validators)))


def renormalize_source(
    db: Database, rt: SourceRuntime, stream: str | None = None, what: str = "--stream"
) -> Renormalized:
    """Replay the source's landed raw pages through the current normalizers (no HTTP); ``rt`` is
    its runtime (``runtime_for``)."""
    check_stream(rt.connector, stream, what)
    with db.read() as s:
        pages = s.execute(select(func.count()).select_from(RawPage).where(RawPage.source_id == rt.source_id)).scalar()
    if not pages:
        raise NothingLanded(f"source {rt.source_id} has no landed raw pages yet: refresh it first")
    return renormalize(rt, db, stream)
