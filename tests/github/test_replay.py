"""End to end against the replay server (real recorded GitHub responses served as a live API).

The connector is pointed at ``replay.py github`` through its GHES-style base URL; what it loads
must equal what the server reports as served (README-replay, "expected number of distinct
records"): pull requests are keyed per repository, so the ids distinct within each served
listing are summed; reviews are keyed by their global id (the template's ``distinct_ids``);
commits are keyed by (repository, sha) over the repository and pull request commit listings.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import select

from connectors.runtime import run_source_sequentially
from storage import Database
from storage.models import Quarantine
from tests.conftest import MakeRuntime, require_recordings
from tests.ingest_support import live_counts, replay_server

REPO = re.compile(r"^/repos/([^/]+/[^/]+)/")


def per_listing(served: dict[str, Any], template: str) -> int:
    entries = served["templates"].get(template, {}).get("served", [])
    return sum(len({str(i) for i in e["ids"]}) for e in entries)


def commit_keys(served: dict[str, Any]) -> set[tuple[str, str]]:
    keys = set()
    for template in ("/repos/{owner}/{repo}/commits", "/repos/{owner}/{repo}/pulls/{n:int}/commits"):
        for entry in served["templates"].get(template, {}).get("served", []):
            m = REPO.match(entry["path"])
            assert m, entry["path"]
            keys |= {(m.group(1).lower(), str(sha)) for sha in entry["ids"]}
    return keys


def test_replayed_recordings_load_exactly_what_was_served(make_runtime: MakeRuntime, sqlite_db: Database) -> None:
    folder = require_recordings("github")
    with replay_server("github", folder) as url:
        rt = make_runtime(
            "github", {"base_url": url + "/api/v3", "org": "replayorg", "graphql": False}, {"token": "dummytoken"}
        )
        asyncio.run(run_source_sequentially(rt, sqlite_db))  # raises on CONFIG/TRANSIENT/BUG
        served = httpx.get(f"{url}/__served").json()
        unmatched = httpx.get(f"{url}/__unmatched").json()
    with sqlite_db.session() as s:
        bad = s.execute(select(Quarantine.reason).where(Quarantine.source_id == rt.source_id)).scalars().all()
    assert bad == []  # no DATA errors
    assert unmatched == []  # every request hit an endpoint GitHub has
    loaded = live_counts(sqlite_db, rt.source_id, ["pull_request", "review", "commit", "repository"])
    expected = {
        "pull_request": per_listing(served, "/repos/{owner}/{repo}/pulls"),
        "review": served["templates"]["/repos/{owner}/{repo}/pulls/{n:int}/reviews"]["distinct_ids"],
        "commit": len(commit_keys(served)),
        "repository": served["templates"]["/orgs/{org}/repos"]["distinct_ids"],
    }
    assert loaded == expected
    assert min(expected.values()) > 0
