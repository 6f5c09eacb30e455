"""Contract: the recorded Slack bodies of the methods the connector calls.

Every ``ok: true`` body normalizes without DATA errors; every recorded error body (HTTP 200
``ok: false``, 429, 503) is classified as the kind that says who must act.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.runner import normalize_records
from connectors.slack import normalize as n
from connectors.slack.classify import classify_slack
from connectors.slack.options import SlackOptions
from connectors.streams import Partition, Row, StreamContext, StreamSpec
from tests.conftest import require_recordings
from tests.connectors.recordings import recorded, recorded_params

Normalizer = Callable[[Mapping[str, Any], StreamContext], Iterable[Row]]
READ: dict[str, tuple[str, Normalizer]] = {
    "users.list": ("members", n.users),
    "conversations.list": ("channels", n.conversations),
    "conversations.history": ("messages", n.history),
    "conversations.replies": ("messages", n.replies),
}
EXPECTED_ERRORS = {  # error code (or HTTP status) -> kind
    "invalid_auth": ErrorKind.CONFIG,
    "not_authed": ErrorKind.CONFIG,
    "account_inactive": ErrorKind.CONFIG,
    "missing_scope": ErrorKind.CONFIG,
    "not_in_channel": ErrorKind.CONFIG,
    "channel_not_found": ErrorKind.CONFIG,
    "ratelimited": ErrorKind.TRANSIENT,
    "thread_not_found": None,
    "invalid_cursor": ErrorKind.BUG,
    "429": ErrorKind.TRANSIENT,
    "503": ErrorKind.TRANSIENT,
}


def load() -> list[tuple[str, dict[str, Any]]]:
    return [(e["file"], rec) for e, rec in recorded("slack")]


def method(recording: dict[str, Any]) -> str:
    return str(httpx.URL(recording["url"]).path.rsplit("/", 1)[-1])


def ok(recording: dict[str, Any]) -> bool:
    return recording["status"] == 200 and isinstance(recording["body"], dict) and recording["body"].get("ok") is True


ALL = load()
OK_BODIES = [(f, r) for f, r in ALL if ok(r) and method(r) in READ]
ERRORS = [(f, r) for f, r in ALL if not ok(r)]


def ctx() -> StreamContext:
    part = Partition(key="C012AB3CD", values={"channel_id": "C012AB3CD", "external_id": "C012AB3CD"})
    return StreamContext(tenant_id=1, source_id=1, options=SlackOptions(), partition=part)


def test_recordings_cover_every_method_read() -> None:
    require_recordings("slack")
    assert {method(r) for _, r in OK_BODIES} == set(READ)


@pytest.mark.parametrize(("name", "recording"), recorded_params("slack", OK_BODIES, [f for f, _ in OK_BODIES], 2))
def test_recorded_body_normalizes_without_data_errors(name: str, recording: dict[str, Any]) -> None:
    require_recordings("slack")
    key, normalizer = READ[method(recording)]
    records = recording["body"][key]
    rows, bad = normalize_records(StreamSpec(name=name, path="-", normalize=normalizer), records, ctx())
    assert bad == [], [q.reason for q in bad]
    parents = sum(1 for r in records if normalizer is n.replies and r.get("ts") == r.get("thread_ts"))
    assert len(rows) == len(records) - parents
    for row in rows:
        assert row.data["external_id"]


@pytest.mark.parametrize(("name", "recording"), recorded_params("slack", ERRORS, [f for f, _ in ERRORS], 2))
def test_recorded_errors_are_classified_by_who_must_act(name: str, recording: dict[str, Any]) -> None:
    require_recordings("slack")
    body = recording["body"]
    code = str(body.get("error")) if isinstance(body, dict) and recording["status"] == 200 else str(recording["status"])
    request = httpx.Request(recording["method"], recording["url"])
    content = json.dumps(body).encode() if body is not None else b""
    response = httpx.Response(
        recording["status"], content=content, headers=recording["response_headers"], request=request
    )
    verdict = classify_slack(response)
    assert verdict.kind is EXPECTED_ERRORS[code], (code, verdict)
    if verdict.kind is ErrorKind.TRANSIENT and recording["status"] == 429:
        assert verdict.retry_after is not None and verdict.retry_after > 0
