"""Concurrent refresh clicks against a real server: one waiting run per tenant scope.

The uniqueness is the database's (``run.queued_key`` / ``run.running_key``), so the test runs
against embedded SQLite and the real PostgreSQL, with many requests in flight at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.sandbox import RunningServer
from headwater.app import App
from pipelines import set_run_state
from storage import Database
from storage.models import Run, State
from tenancy import add_source, add_tenant
from tests.api.conftest import ADMIN, RecordingDispatcher, api_for, make_app

SCOPES = 3  # acme, acme's source, globex
CLICKS = 12  # per scope


@pytest.fixture
def served(any_db: Database, tmp_path: Path) -> Iterator[tuple[App, RecordingDispatcher, str, int]]:
    hw = make_app(any_db, tmp_path)
    with hw.db.session() as s:
        acme = add_tenant(s, "acme")
        add_tenant(s, "globex")
        source_id = add_source(s, hw.vault, acme, "github", {"org": "acme"}, {"token": "ghp_x"}).id
    dispatcher = RecordingDispatcher()
    server = RunningServer(api_for(hw, dispatcher)).start()
    yield hw, dispatcher, server.url, source_id
    server.stop()


def click_storm(url: str, source_id: int, rounds: int = CLICKS) -> list[dict[str, Any]]:
    requests = [
        *[("acme", None)] * rounds,
        *[("acme", source_id)] * rounds,
        *[("globex", None)] * rounds,
    ]

    limits = httpx.Limits(max_connections=len(requests))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30, limits=limits) as c:

        def click(req: tuple[str, int | None]) -> dict[str, Any]:
            slug, source = req
            r = c.post(f"/api/tenants/{slug}/refresh", json={"source_id": source} if source else None)
            assert r.status_code == 202, r.text
            return {**r.json(), "scope": req}

        # All requests in flight at once, interleaved across scopes.
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(click, requests[::2] + requests[1::2]))


def test_concurrent_clicks_make_one_run_per_scope(served: tuple[App, RecordingDispatcher, str, int]) -> None:
    hw, dispatcher, url, source_id = served
    answers = click_storm(url, source_id)
    run_of_scope: dict[Any, set[int]] = {}
    for a in answers:
        run_of_scope.setdefault(a["scope"], set()).add(a["run_id"])
    assert all(len(ids) == 1 for ids in run_of_scope.values()), run_of_scope
    assert len({next(iter(ids)) for ids in run_of_scope.values()}) == SCOPES
    assert Counter(a["coalesced"] for a in answers) == {False: SCOPES, True: SCOPES * CLICKS - SCOPES}
    with hw.db.session() as s:
        runs = s.query(Run).all()
        assert len(runs) == SCOPES and {r.state for r in runs} == {"SCHEDULED"}
    # Each run was handed to the queue exactly once.
    assert sorted(c[0] for c in dispatcher.calls) == sorted(r.id for r in runs)


def test_clicks_while_running_make_exactly_one_follow_up(served: tuple[App, RecordingDispatcher, str, int]) -> None:
    hw, dispatcher, url, source_id = served
    first = {a["scope"]: a["run_id"] for a in click_storm(url, source_id, rounds=2)}
    with hw.db.session() as s:  # every scope's run starts running
        for run_id in first.values():
            run = s.get(Run, run_id)
            assert run is not None
            set_run_state(s, run, State.PENDING)
            set_run_state(s, run, State.RUNNING)
    answers = click_storm(url, source_id)
    follow_ups: dict[Any, set[int]] = {a["scope"]: set() for a in answers}
    for a in answers:
        follow_ups[a["scope"]].add(a["run_id"])
    for scope, ids in follow_ups.items():
        assert len(ids) == 1 and first[scope] not in ids, (scope, ids)
    with hw.db.session() as s:
        states = Counter(r.state for r in s.query(Run).all())
    assert states == {"RUNNING": SCOPES, "SCHEDULED": SCOPES}
    assert len(dispatcher.calls) == 2 * SCOPES
