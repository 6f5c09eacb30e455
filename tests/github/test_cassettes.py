"""Recorded HTTP (pytest-vcr cassettes in tests/github/cassettes, made from the sandbox).

Each test replays its cassette through the real client stack (auth, headers, classification,
Link pagination, normalization, the runner) with no server at all. A missing cassette is recorded
from a fresh sandbox on the first run; delete a cassette to re-record it. Requests are matched on
method, path and query (the sandbox's port changes), and the Authorization header is not stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from vcr.cassette import Cassette

from connectors.runtime import SourceRuntime, open_http, partitions_of, run_task
from storage import Database
from tests.conftest import MakeRuntime
from tests.github.conftest import Served
from tests.ingest_support import live_counts, rows

Serve = Callable[..., Served]
OFFLINE = "http://127.0.0.1:9"  # nothing listens there: playback must not touch the network
ORG = "sandbox-org"
TOKEN = "ghp_sandbox_token_0123456789"


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "record_mode": "once",
        "match_on": ["method", "path", "query"],
        "filter_headers": ["authorization"],
    }


def source(cassette: Cassette, serve: Serve, make_runtime: MakeRuntime) -> SourceRuntime:
    base = OFFLINE
    if not cassette.data:  # recording: a live sandbox answers
        base = serve(repos=2, commits=5, pulls=2, issues=1).url
    return make_runtime("github", {"base_url": base, "org": ORG, "graphql": False}, {"token": TOKEN})


def run(rt: SourceRuntime, db: Database, streams: list[str]) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        out = {}
        async with open_http(rt) as http:
            out["repositories"] = await run_task(rt, db, http, "repositories", None)
            for stream in streams:
                for partition in [None] if stream == "members" else partitions_of(rt, db):
                    out[f"{stream}:{partition.key if partition else '-'}"] = await run_task(
                        rt, db, http, stream, partition
                    )
        return out

    return asyncio.run(go())


@pytest.mark.vcr
def test_repositories_and_members_from_a_cassette(
    vcr_cassette: Cassette, serve: Serve, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    rt = source(vcr_cassette, serve, make_runtime)
    run(rt, sqlite_db, ["members"])
    counts = live_counts(sqlite_db, rt.source_id, ["repository", "person"])
    assert counts == {"repository": 2, "person": 6}
    assert {str(r["full_name"]).split("/")[0] for r in rows(sqlite_db, rt.source_id, "repository")} == {ORG}
    assert len(vcr_cassette.data) == 2
    assert all(req.headers.get("Accept") == "application/vnd.github+json" for req, _ in vcr_cassette.data)


@pytest.mark.vcr
def test_pull_requests_and_their_reviews_from_a_cassette(
    vcr_cassette: Cassette, serve: Serve, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    rt = source(vcr_cassette, serve, make_runtime)
    run(rt, sqlite_db, ["pull_requests", "reviews"])
    prs = rows(sqlite_db, rt.source_id, "pull_request")
    assert len(prs) == 2 and all("#" in str(p["external_id"]) for p in prs)
    reviews = rows(sqlite_db, rt.source_id, "review")
    assert {r["pull_request_external_id"] for r in reviews} <= {p["external_id"] for p in prs}
    paths = [req.path for req, _ in vcr_cassette.data]
    assert sum(p.endswith("/reviews") for p in paths) == 2  # one request per pull request
