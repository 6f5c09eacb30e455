"""The Slack connector against its sandbox: exact counts, incremental runs, edits and deletions,
a channel the app is not in, privacy, faults, and the 2025 limits of non-Marketplace apps."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.errors import ConnectorError, ErrorKind
from connectors.runner import StreamResult
from connectors.runtime import SourceRuntime, open_http, partitions_of, plan_tasks, run_task
from connectors.sandbox.kit import RunningServer, serve_in_thread
from connectors.slack import CONNECTOR
from connectors.slack.sandbox import SlackSandbox, make_sandbox
from storage import Database
from storage.models import RawPage
from tests.conftest import MakeRuntime
from tests.connectors.providers import first_refresh, runtime_of, sandbox_and_server
from tests.connectors.providers import run_sequentially as run
from tests.ingest_support import FastClock, live_counts, rows

ENTITIES = ["person", "channel", "message"]


@pytest.fixture
def sandbox() -> Iterator[tuple[SlackSandbox, RunningServer]]:
    yield from sandbox_and_server("slack")  # the sandbox of the shared provider table


runtime = partial(runtime_of, "slack")


def mutate(server: RunningServer, **body: Any) -> dict[str, Any]:
    response = httpx.post(server.url + "/__mutate", json=body)
    response.raise_for_status()
    out: dict[str, Any] = response.json()
    return out


def messages(db: Database, source_id: int) -> dict[str, dict[str, Any]]:
    return {str(r["external_id"]): r for r in rows(db, source_id, "message")}


def test_full_refresh_then_incremental_sees_edits_replies_and_deletions(
    sandbox: tuple[SlackSandbox, RunningServer], make_runtime: MakeRuntime, any_db: Database
) -> None:
    sb, server = sandbox
    rt, first = first_refresh("slack", make_runtime, sb, server, any_db, ENTITIES)
    assert not any("oldest" in r.query for r in sb.api_requests())

    ch = sb.workspace.readable()[0]
    plain = [m for m in ch.messages if not m.get("reply_count")]
    threads = [m for m in ch.messages if m.get("reply_count")]
    edited, gone, parent, dead_parent = plain[0], plain[1], threads[0], threads[1]
    mutate(server, op="edit", channel=ch.id, ts=edited["ts"], text="edited text")
    mutate(server, op="delete", channel=ch.id, ts=gone["ts"])
    mutate(server, op="delete", channel=ch.id, ts=dead_parent["ts"])  # has replies: becomes a tombstone
    late = mutate(server, op="post", channel=ch.id, thread_ts=parent["ts"], text="late reply")["message"]
    new = mutate(server, op="post", channel=ch.id, text="new message")["message"]
    sb.requests.clear()

    second = run(rt, any_db)
    assert second.requests < first.requests
    history = [r for r in sb.api_requests() if r.path.endswith("conversations.history")]
    assert history and all("oldest=" in r.query for r in history)
    got = messages(any_db, rt.source_id)
    key = f"{ch.id}:"
    assert got[key + edited["ts"]]["text"] == "edited text" and got[key + edited["ts"]]["edited_at"] is not None
    assert got[key + gone["ts"]]["deleted_at"] is not None
    assert got[key + dead_parent["ts"]]["deleted_at"] is not None
    assert all(got[key + r["ts"]]["deleted_at"] is None for r in ch.replies[dead_parent["ts"]])
    assert got[key + late["ts"]]["deleted_at"] is None and got[key + late["ts"]]["thread_ts"] == parent["ts"]
    assert got[key + new["ts"]]["text"] == "new message"
    assert live_counts(any_db, rt.source_id, ENTITIES) == sb.truth()["counts"]
    # Only the thread that moved was read again.
    threads_read = [r.query for r in sb.api_requests() if r.path.endswith("conversations.replies")]
    assert len(threads_read) == 1 and parent["ts"] in threads_read[0]
    sb.requests.clear()
    run(rt, any_db)
    assert not [r for r in sb.api_requests() if r.path.endswith("conversations.replies")]


async def run_each(
    rt: SourceRuntime, db: Database, *, discover: bool = True
) -> tuple[dict[str, StreamResult], dict[str, ConnectorError]]:
    """Every task of the source on its own, as pipelines run them: a failure stays with its task."""
    done: dict[str, StreamResult] = {}
    failed: dict[str, ConnectorError] = {}
    async with open_http(rt, budget=FastClock().budget()) as http:
        if discover:
            await run_task(rt, db, http, "conversations", None)
        for plan in plan_tasks(rt, partitions_of(rt, db)):
            try:
                done[plan.key] = await run_task(rt, db, http, plan.stream, plan.partition)
            except ConnectorError as exc:
                failed[plan.key] = exc
    return done, failed


def test_a_channel_the_app_is_not_in_fails_alone(
    sandbox: tuple[SlackSandbox, RunningServer], make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    sb, server = sandbox
    rt = runtime(make_runtime, sb, server, channels="*")
    outsider = sb.workspace.channel("watercooler")
    assert outsider is not None
    done, failed = asyncio.run(run_each(rt, sqlite_db))
    assert list(failed) == [f"{rt.source_id}:messages:{outsider.id}"]
    error = failed[f"{rt.source_id}:messages:{outsider.id}"]
    assert error.kind is ErrorKind.CONFIG
    assert f"not a member of channel {outsider.id}" in str(error) and "/invite" in str(error)
    expected = sum(
        len(c.messages) + sum(len(t) for t in c.replies.values()) for c in sb.workspace.channels if c.info["is_member"]
    )
    assert live_counts(sqlite_db, rt.source_id, ["message"]) == {"message": expected}
    assert len(done) == 1 + 2 * len(sb.workspace.channels) - 1  # users, then history and replies per channel


def test_an_app_removed_from_a_channel_fails_that_channel_only(
    sandbox: tuple[SlackSandbox, RunningServer], make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    sb, server = sandbox
    rt = runtime(make_runtime, sb, server)
    kicked = sb.workspace.readable()[1]
    asyncio.run(_discover(rt, sqlite_db))
    mutate(server, op="kick", channel=kicked.id)  # after discovery: listed as a member, then removed
    _, failed = asyncio.run(run_each(rt, sqlite_db, discover=False))
    assert set(failed) == {f"{rt.source_id}:messages:{kicked.id}"}
    others = [c for c in sb.workspace.readable() if c.id != kicked.id]
    assert {r["channel_external_id"] for r in rows(sqlite_db, rt.source_id, "message")} == {c.id for c in others}
    # The next discovery sees the app is no longer a member: the channel is simply not read.
    _, failed = asyncio.run(run_each(rt, sqlite_db))
    assert failed == {}


async def _discover(rt: SourceRuntime, db: Database) -> None:
    async with open_http(rt, budget=FastClock().budget()) as http:
        await run_task(rt, db, http, "conversations", None)


def test_redact_text_stores_no_text_anywhere(
    sandbox: tuple[SlackSandbox, RunningServer], make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    sb, server = sandbox
    rt = runtime(make_runtime, sb, server, redact_text=True)
    run(rt, sqlite_db)
    got = rows(sqlite_db, rt.source_id, "message")
    assert len(got) == sb.truth()["counts"]["message"]
    assert all(r["text"] is None for r in got)
    with sqlite_db.session() as s:
        pages = s.execute(select(RawPage.stream, RawPage.records).where(RawPage.source_id == rt.source_id)).all()
    landed = [rec for stream, recs in pages if stream in ("messages", "replies") for rec in recs]
    assert landed and all("text" not in rec and "blocks" not in rec for rec in landed)
    assert all(rec.get("ts") for rec in landed)


def test_non_marketplace_app_is_slow_but_complete(make_runtime: MakeRuntime, sqlite_db: Database) -> None:
    # The budget's minute lasts 60 ms here (FastClock scale 0.001); Slack's, 6 ms: room for scheduling jitter.
    sb = make_sandbox(seed=9, minute_s=0.006, app_distribution="non_marketplace", channels=2, messages=20)
    server = serve_in_thread(sb)
    clock = FastClock()
    start = clock.now
    try:
        rt = runtime(make_runtime, sb, server)
        report = run(rt, sqlite_db, clock)
    finally:
        server.stop()
    assert live_counts(sqlite_db, rt.source_id, ENTITIES) == sb.truth()["counts"]
    assert sum(r.quarantined for r in report.results.values()) == 0
    log = sb.api_requests()
    history = [r for r in log if r.path.endswith("conversations.history")]
    replies = [r for r in log if r.path.endswith("conversations.replies")]
    assert all("limit=15" in r.query for r in history + replies)
    assert len(history) >= 2 * 3  # 20 top-level messages in pages of 15, per channel
    # One request per minute per method: the budget, not Slack's 429s, spaced them out.
    slowest = max(len(history), len(replies))
    assert clock.now - start >= (slowest - 1) * 60
    assert [r.status for r in log].count(429) <= 2


def test_check_reports_identity_and_scopes(
    sandbox: tuple[SlackSandbox, RunningServer], make_runtime: MakeRuntime
) -> None:
    sb, server = sandbox
    rt = runtime(make_runtime, sb, server)

    async def go() -> Any:
        async with open_http(rt, budget=FastClock().budget()) as http:
            assert CONNECTOR.check is not None
            return await CONNECTOR.check(http, rt.options)

    result = asyncio.run(go())
    assert result.ok and result.identity == "headwater@Sandbox" and "channels:history" in result.details["scopes"]


def test_the_sandbox_speaks_slack() -> None:
    """Tiers per method, Retry-After and ok:false bodies, cursors, the non-Marketplace page cap."""
    sb = make_sandbox(seed=2, app_distribution="non_marketplace", channels=1, messages=40)
    server = serve_in_thread(sb)
    auth = {"Authorization": f"Bearer {sb.truth()['secrets']['token']}"}
    try:
        with httpx.Client(base_url=server.url + "/api", headers=auth) as api:
            assert api.get("/users.list").json()["ok"] is True
            assert httpx.get(server.url + "/api/users.list").json() == {"ok": False, "error": "not_authed"}
            bad = httpx.get(server.url + "/api/users.list", headers={"Authorization": "Bearer xoxb-nope"})
            assert (bad.status_code, bad.json()["error"]) == (200, "invalid_auth")
            answers = [api.get("/conversations.list", params={"limit": 1}) for _ in range(21)]
            assert [a.status_code for a in answers].count(429) == 1 and answers[-1].status_code == 429
            assert (
                answers[-1].json() == {"ok": False, "error": "ratelimited"}
                and int(answers[-1].headers["Retry-After"]) > 0
            )
            assert answers[0].json()["response_metadata"]["next_cursor"]
            channel = sb.workspace.readable()[0].id
            first = api.get("/conversations.history", params={"channel": channel, "limit": 200}).json()
            assert len(first["messages"]) == 15 and first["has_more"] is True
            again = api.get(
                "/conversations.history",
                params={"channel": channel, "cursor": first["response_metadata"]["next_cursor"]},
            )
            assert again.status_code == 429  # one request per minute for this app
            outsider = sb.workspace.channel("watercooler")
            assert outsider is not None
            refused = api.get("/conversations.replies", params={"channel": outsider.id, "ts": "1.0"})
            assert refused.status_code == 200 and refused.json()["error"] == "not_in_channel"
    finally:
        server.stop()
