"""A listing of a partition that answered "not found": ask the partition itself, then tombstone or note.

When a listing of a partition answers "not found" (404, Slack ``channel_not_found``; or an
allowed status its hook calls ``StatusAction.MISSING``), the runner records an
:class:`Unavailable` and :func:`settle_missing` asks the connector's
:class:`~connectors.streams.PartitionCheck` (one GET of the partition itself): "not found"
there too -> the partition is tombstoned; found -> the task completes with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from connectors.connector import Connector
from connectors.errors import NotFoundError
from connectors.http.client import HttpClient
from connectors.store import TaskStore
from connectors.streams import PartitionCheck, StreamContext

if TYPE_CHECKING:
    from connectors.runner import StreamResult


@dataclass(frozen=True)
class Unavailable:
    """A listing of a partition that answered "not found" (or an allowed status meaning MISSING)."""

    stream: str
    request: str  # e.g. "GET /repos/acme/api/issues/events"
    code: str  # e.g. "404", "410", "channel_not_found"
    said: str = ""  # the provider's own words
    pages: int = 0  # pages read (and loaded) before it

    def __str__(self) -> str:
        said = f" ({self.said})" if self.said and self.said != self.code else ""
        after = f" after {self.pages} page(s)" if self.pages else ""
        return f"{self.stream}: {self.request} answered {self.code}{said}{after}"


def not_found_code(exc: NotFoundError) -> str:
    """``404``; for a provider that says it in a 200 body (Slack), its error code."""
    if exc.status is not None and exc.status >= 300:
        return str(exc.status)
    return exc.said or "not found"


async def settle_missing(
    connector: Connector,
    missing: Unavailable,
    ctx: StreamContext,
    http: HttpClient,
    store: TaskStore,
    result: StreamResult,
) -> None:
    """A listing of the partition is not there: ask the partition itself, then tombstone or note."""
    partition = ctx.partition
    check = connector.partition_check
    if partition is None or check is None:
        result.note = f"{missing}: nothing more read from this listing, its cursor kept (no partition check to ask)"
        return
    asked, gone = await ask_partition(check, ctx, http)
    if gone is not None:
        gone_id = partition.values.get("external_id")
        if connector.partition_entity and gone_id is not None:
            store.tombstone_now(connector.partition_entity, [str(gone_id)])
        result.partition_gone = True
        result.note = (
            f"{check.what} {partition.key} is gone or no longer accessible: {missing}, "
            f"and {asked} answered {gone}; tombstoned"
        )
        return
    result.note = (
        f"{missing}, but {asked} shows the {check.what} {partition.key} is still there: it is kept, "
        f"nothing more was read from this listing and its cursor is kept. Likely: {check.hint}"
    )


async def ask_partition(check: PartitionCheck, ctx: StreamContext, http: HttpClient) -> tuple[str, str | None]:
    """One GET of the partition itself: (what was asked, None if it is there, else how it answered).

    "Not found" and 410 mean gone; other errors (403, 5xx after retries …) are raised."""
    assert ctx.partition is not None
    path = ctx.fmt(check.path)
    asked = f"GET {httpx.URL(http.url_for(path)).path}"
    try:
        response = await http.request(
            "GET",
            path,
            params=check.params(ctx) or None,
            allow_status=frozenset({410}),
            bucket=check.bucket,
            pace=check.pace,
            what=f"{asked} (is the {check.what} {ctx.partition.key} still there?)",
        )
    except NotFoundError as exc:
        return asked, not_found_code(exc)
    return asked, "410" if response.status_code == 410 else None
