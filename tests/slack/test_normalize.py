"""Unit tests of the Slack normalizers, classifier, options and partition choice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest

from connectors.errors import ErrorKind
from connectors.slack import normalize as n
from connectors.slack import partition_of
from connectors.slack import streams as s
from connectors.slack.classify import classify_slack
from connectors.slack.options import SlackOptions
from connectors.streams import Partition, StreamContext

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def ctx(**options: Any) -> StreamContext:
    part = Partition(key="C012AB3CD", values={"channel_id": "C012AB3CD", "external_id": "C012AB3CD"})
    return StreamContext(tenant_id=1, source_id=1, options=SlackOptions(**options), partition=part, now=NOW)


def one(rows: Any) -> dict[str, Any]:
    [row] = list(rows)
    assert row.entity in ("person", "channel", "message")
    data: dict[str, Any] = row.data
    return data


def test_user_flags_names_and_epoch_updated() -> None:
    u = one(
        n.users(
            {"id": "W012A3CDE", "name": "spengler", "deleted": True, "updated": 1502138686,
             "profile": {"real_name": "Egon Spengler", "display_name": "", "email": "e@x.io"}},
            ctx(),
        )
    )  # fmt: skip
    assert (u["external_id"], u["login"], u["display_name"], u["email"]) == (
        "W012A3CDE",
        "spengler",
        "Egon Spengler",
        "e@x.io",
    )
    assert u["active"] is False and u["is_bot"] is False
    assert u["updated_at"] == datetime(2017, 8, 7, 20, 44, 46, tzinfo=UTC)
    assert one(n.users({"id": "USLACKBOT", "name": "slackbot"}, ctx()))["is_bot"] is True
    assert one(n.users({"id": "B1", "is_bot": True}, ctx()))["is_bot"] is True


def test_channel_privacy_archive_and_membership() -> None:
    c = one(
        n.conversations(
            {
                "id": "G1",
                "name": "leads",
                "is_group": True,
                "is_archived": True,
                "is_member": True,
                "created": 1449252889,
            },
            ctx(),
        )
    )
    assert c["private"] is True and c["archived"] is True and c["extra"]["is_member"] is True
    assert c["created_at"] == datetime(2015, 12, 4, 18, 14, 49, tzinfo=UTC)


def test_message_key_times_and_author() -> None:
    m = one(
        n.history(
            {"type": "message", "ts": "1512085950.000216", "user": "U1", "text": "hi", "thread_ts": "1512085950.000216",
             "reply_count": 2, "latest_reply": "1512090000.000100", "edited": {"user": "U1", "ts": "1512086000.000000"}},
            ctx(),
        )
    )  # fmt: skip
    assert m["external_id"] == "C012AB3CD:1512085950.000216" and m["channel_external_id"] == "C012AB3CD"
    assert m["text"] == "hi" and m["reply_count"] == 2 and m["author_external_id"] == "U1"
    assert m["edited_at"] == datetime.fromtimestamp(1512086000, UTC)
    assert m["updated_at"] == datetime.fromtimestamp(1512090000.0001, UTC)  # the latest reply moved it
    assert m["created_at"] == datetime.fromtimestamp(1512085950.000216, UTC)
    bot = one(n.history({"ts": "1.000001", "subtype": "bot_message", "bot_id": "B9", "text": "deployed"}, ctx()))
    assert bot["author_external_id"] == "B9" and bot["extra"]["subtype"] == "bot_message"


def test_redact_text_drops_text_from_rows_and_raw() -> None:
    payload = {
        "ts": "1.000001",
        "user": "U1",
        "text": "secret",
        "blocks": [{"text": "secret"}],
        "files": [{"title": "x"}],
    }
    c = ctx(redact_text=True)
    assert one(n.history(payload, c))["text"] is None
    raw = n.redact(payload, c)
    assert "secret" not in str(raw) and raw["ts"] == "1.000001" and raw["user"] == "U1"
    assert n.redact(payload, ctx()) is payload


def test_deleted_messages_are_tombstones() -> None:
    c = ctx()
    t = one(
        n.history({"ts": "5.000000", "subtype": "tombstone", "text": "This message was deleted.", "reply_count": 1}, c)
    )
    assert t["deleted_at"] == NOW and t["text"] is None
    assert list(n.history({"ts": "6.000000", "subtype": "message_deleted", "deleted_ts": "4.000000"}, c)) == []
    assert c.state[n.DELETED] == {"5.000000", "4.000000"}
    window = s.history_window(c)
    assert window["channel_external_id"] == "C012AB3CD" and callable(window["window"])


def test_replies_skip_the_parent() -> None:
    c = ctx()
    assert list(n.replies({"ts": "1.000001", "thread_ts": "1.000001", "reply_count": 1}, c)) == []
    r = one(n.replies({"ts": "1.000009", "thread_ts": "1.000001", "user": "U2", "text": "re"}, c))
    assert r["thread_ts"] == "1.000001" and r["external_id"] == "C012AB3CD:1.000009"


@pytest.mark.parametrize("payload", [{"text": "no ts"}, {"ts": "yesterday"}, {"ts": "1.0", "reply_count": "many"}])
def test_malformed_messages_raise_validation_errors(payload: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        list(n.history(payload, ctx()))


def test_history_window_params_and_restricted_apps() -> None:
    c = ctx(reread_days=1)
    assert s.history_params(c) == {"channel": "C012AB3CD", "limit": 200}
    c.cursor = {"value": "1700086400.000100"}
    assert s.history_params(c)["oldest"] == "1700000000.000100"
    slow = ctx(app_distribution="non_marketplace")
    assert s.history_params(slow)["limit"] == 15
    assert s.reading_pace(slow) == s.NON_MARKETPLACE and s.reading_pace(c) == s.TIER_3
    with pytest.raises(pydantic.ValidationError):
        SlackOptions(app_distribution="enterprise")  # type: ignore[arg-type]


def row(cid: str, name: str, *, member: bool, private: bool = False) -> dict[str, Any]:
    return {"external_id": cid, "name": name, "private": private, "extra": {"is_member": member}}


def test_partitions_default_to_public_member_channels() -> None:
    opts = SlackOptions()
    assert partition_of(row("C1", "general", member=True), opts) is not None
    assert partition_of(row("C2", "watercooler", member=False), opts) is None
    assert partition_of(row("G3", "leads", member=True, private=True), opts) is None


def test_channels_option_selects_by_name_id_or_glob_member_or_not() -> None:
    opts = SlackOptions(channels="#general, C2, eng-*, leads")
    assert opts.channels == "general,C2,eng-*,leads"
    p = partition_of(row("C1", "general", member=True), opts)
    assert p is not None and p.key == "C1" and "#general" in p.names
    assert partition_of(row("C2", "watercooler", member=False), opts) is not None
    assert partition_of(row("C5", "eng-web", member=True), opts) is not None
    assert partition_of(row("G3", "leads", member=True, private=True), opts) is not None
    assert partition_of(row("C4", "random", member=True), opts) is None
    with pytest.raises(pydantic.ValidationError):
        SlackOptions(channels=" # , ")


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://slack.com/api/conversations.history?channel=C9")
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (200, {"ok": True, "messages": []}, None, ""),
        (200, {"ok": False, "error": "invalid_auth"}, ErrorKind.CONFIG, "reinstall"),
        (200, {"ok": False, "error": "token_revoked"}, ErrorKind.CONFIG, "reconnect"),
        (200, {"ok": False, "error": "account_inactive"}, ErrorKind.CONFIG, "deactivated"),
        (200, {"ok": False, "error": "not_in_channel"}, ErrorKind.CONFIG, "not a member of channel C9"),
        (200, {"ok": False, "error": "channel_not_found"}, ErrorKind.CONFIG, "channel C9"),
        (
            200,
            {"ok": False, "error": "missing_scope", "needed": "channels:history"},
            ErrorKind.CONFIG,
            "channels:history",
        ),
        (200, {"ok": False, "error": "ratelimited"}, ErrorKind.TRANSIENT, "busy"),
        (200, {"ok": False, "error": "thread_not_found"}, None, ""),
        (200, {"ok": False, "error": "invalid_cursor"}, ErrorKind.BUG, "invalid_cursor"),
        (429, {"ok": False, "error": "ratelimited"}, ErrorKind.TRANSIENT, "rate limited"),
        (503, None, ErrorKind.TRANSIENT, "server error"),
    ],
)
def test_classifier(status: int, body: Any, kind: ErrorKind | None, words: str) -> None:
    verdict = classify_slack(respond(status, body, {"Retry-After": "30"} if status == 429 else None))
    assert verdict.kind is kind
    assert words in verdict.reason
    if status == 429:
        assert verdict.retry_after == 30.0


def test_429_without_retry_after_still_waits() -> None:
    verdict = classify_slack(respond(429, {"ok": False, "error": "ratelimited"}))
    assert verdict.kind is ErrorKind.TRANSIENT and verdict.retry_after == 60.0
