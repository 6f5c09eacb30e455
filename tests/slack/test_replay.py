"""End to end against the replay server of the real recorded Slack payloads.

``replay.py slack ../shared/recorded/slack --port 0`` serves each ``ok: true`` recording once;
the connector (base URL ``…/api``) must read them without DATA/BUG errors and load every
record served (compared with ``GET /__served``).
"""

from __future__ import annotations

import asyncio

import httpx

from connectors.runtime import run_source_sequentially
from storage import Database
from tests.conftest import MakeRuntime, require_recordings
from tests.ingest_support import FastClock, replay_server, rows


def test_replayed_recordings_load_completely(make_runtime: MakeRuntime, sqlite_db: Database) -> None:
    folder = require_recordings("slack")
    with replay_server("slack", folder) as url:
        rt = make_runtime("slack", {"base_url": url + "/api/", "channels": "*"}, {"token": "xoxb-dummy"})
        report = asyncio.run(run_source_sequentially(rt, sqlite_db, budget=FastClock().budget()))
        served = httpx.get(url + "/__served").json()["templates"]
        unmatched = httpx.get(url + "/__unmatched").json()

    assert unmatched == []
    assert sum(r.quarantined for r in report.results.values()) == 0

    def served_ids(template: str) -> set[str]:
        return {str(i) for entry in served[template]["served"] for i in entry["ids"]}

    people = {r["external_id"] for r in rows(sqlite_db, rt.source_id, "person")}
    channels = {r["external_id"] for r in rows(sqlite_db, rt.source_id, "channel") if r["deleted_at"] is None}
    messages = rows(sqlite_db, rt.source_id, "message")
    assert served_ids("/users.list") and served_ids("/users.list") <= people
    assert served_ids("/conversations.list") and served_ids("/conversations.list") <= channels
    history = served_ids("/conversations.history")
    assert history and history <= {str(m["ts"]) for m in messages if m["deleted_at"] is None}
    # Every channel listed was read (channels=*), each history request its own concrete path.
    assert {e["path"].split("channel=")[-1] for e in served["/conversations.history"]["served"]} <= channels
    assert served["/conversations.history"]["requests"] == len(channels)
