"""End to end against the replay server of the real recorded Aha! payloads.

``replay.py aha ../shared/recorded/aha --port 0`` serves each recording once; with
``products=*`` the connector must read them without DATA/BUG errors and load every record
served (compared with ``GET /__served``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from connectors.runtime import run_source_sequentially
from storage import Database
from tests.conftest import MakeRuntime, require_recordings
from tests.ingest_support import FastClock, replay_server, rows

TEMPLATES = {  # replay template -> entity its items load into
    "/products": "project",
    "/users": "person",
    "/products/{product_id}/releases": "release",
    "/products/{product_id}/features": "work_item",
    "/features/{feature_id}/requirements": "work_item",
    "/products/{product_id}/epics": "work_item",
    "/products/{product_id}/initiatives": "work_item",
    "/products/{product_id}/ideas": "work_item",
    "/products/{product_id}/comments": "comment",
}


def test_replayed_recordings_load_completely(make_runtime: MakeRuntime, sqlite_db: Database) -> None:
    folder = require_recordings("aha")
    with replay_server("aha", folder) as url:
        rt = make_runtime("aha", {"base_url": url, "products": "*"}, {"token": "dummy"})
        report = asyncio.run(run_source_sequentially(rt, sqlite_db, budget=FastClock().budget()))
        served = httpx.get(url + "/__served").json()
        unmatched = httpx.get(url + "/__unmatched").json()

    assert unmatched == []
    assert sum(r.quarantined for r in report.results.values()) == 0
    templates = served["templates"]
    assert templates["/products/{product_id}/users"]["items_served"] == 11
    total = 0
    for template, entity in TEMPLATES.items():
        ids = {str(i) for entry in templates[template]["served"] for i in entry["ids"]}
        loaded = {r["external_id"] for r in rows(sqlite_db, rt.source_id, entity) if r["deleted_at"] is None}
        assert ids, f"{template} served nothing"
        assert ids <= loaded, f"{template}: served but not loaded: {sorted(ids - loaded)}"
        total += len(ids)
    # Product users carry no top-level id: check the users inside the recording that was served.
    people = {r["external_id"] for r in rows(sqlite_db, rt.source_id, "person")}
    [used] = [e["recording"] for e in templates["/products/{product_id}/users"]["served"] if e["recording"]]
    recorded = json.loads((folder / Path(used).name).read_text())["body"]["project_users"]
    assert {u["user"]["id"] for u in recorded} <= people
    assert total > 50
