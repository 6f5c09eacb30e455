"""Slack payloads (pydantic, tolerant of extra and missing fields) and their shared-schema rows.

A message is keyed by its channel and ``ts`` (``"<channel id>:<ts>"``). Its ``updated_at`` is
the latest of its own ``ts``, its last edit (``edited.ts``) and, for a thread parent, its
``latest_reply``, so that a new reply makes the replies stream read the thread again.
Deleted messages are tombstoned: a parent deleted while its thread lives on comes back as
subtype ``tombstone``; a ``message_deleted`` record names the ``deleted_ts``. With
``redact_text`` no text is stored, neither in rows nor in the landed raw records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from connectors.errors import DataError
from connectors.slack.options import SlackOptions
from connectors.streams import Row, StreamContext

DELETED = "deleted_ts"  # ctx.state key: ts of messages the listing reported deleted


class SlackModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Profile(SlackModel):
    real_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    title: str | None = None


class User(SlackModel):
    id: str
    name: str | None = None
    real_name: str | None = None
    deleted: bool | None = None
    is_bot: bool | None = None
    is_app_user: bool | None = None
    is_admin: bool | None = None
    is_restricted: bool | None = None
    is_ultra_restricted: bool | None = None
    team_id: str | None = None
    tz: str | None = None
    updated: float | None = None
    profile: Profile | None = None


class Channel(SlackModel):
    id: str
    name: str | None = None
    is_private: bool | None = None
    is_group: bool | None = None
    is_archived: bool | None = None
    is_member: bool | None = None
    is_general: bool | None = None
    is_shared: bool | None = None
    is_ext_shared: bool | None = None
    num_members: int | None = None
    created: float | None = None
    updated: float | None = None  # milliseconds in newer payloads


class Edited(SlackModel):
    user: str | None = None
    ts: str | None = None


class BotProfile(SlackModel):
    id: str | None = None
    user_id: str | None = None
    name: str | None = None


class Message(SlackModel):
    ts: str
    type: str | None = None
    subtype: str | None = None
    user: str | None = None
    bot_id: str | None = None
    bot_profile: BotProfile | None = None
    text: str | None = None
    thread_ts: str | None = None
    parent_user_id: str | None = None
    reply_count: int | None = None
    reply_users_count: int | None = None
    latest_reply: str | None = None
    edited: Edited | None = None
    deleted_ts: str | None = None
    hidden: bool | None = None

    @field_validator("ts", "thread_ts", "latest_reply", "deleted_ts", mode="before")
    @classmethod
    def _ts(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value)
        try:
            float(text)
        except ValueError:
            raise ValueError(f"not a Slack timestamp: {text!r}") from None
        return text


# -- helpers ---------------------------------------------------------------------------------
def ts_time(ts: str | float | None) -> datetime | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), UTC)


def epoch(value: float | None, *, millis: bool = False) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(value / 1000 if millis or value > 1e11 else value, UTC)


def channel_of(ctx: StreamContext) -> str:
    if ctx.parent is not None and ctx.parent.get("channel_external_id"):
        return str(ctx.parent["channel_external_id"])
    if ctx.partition is not None:
        return str(ctx.partition.values.get("channel_id") or ctx.partition.key)
    raise DataError("a message outside of a channel partition")


def redacting(ctx: StreamContext) -> bool:
    return isinstance(ctx.options, SlackOptions) and ctx.options.redact_text


REDACTED_KEYS = ("text", "blocks", "attachments", "files", "root", "previous_message", "message")


def redact(record: Mapping[str, Any], ctx: StreamContext) -> Any:
    """The raw message as it may be landed: without text, blocks, attachments or files."""
    if not redacting(ctx):
        return record
    return {k: v for k, v in record.items() if k not in REDACTED_KEYS}


# -- normalizers -----------------------------------------------------------------------------
def users(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    u = User.model_validate(payload)
    p = u.profile or Profile()
    yield Row(
        "person",
        {
            "external_id": u.id,
            "login": u.name,
            "display_name": p.display_name or p.real_name or u.real_name or u.name,
            "email": p.email,
            "is_bot": bool(u.is_bot or u.is_app_user or u.id == "USLACKBOT"),
            "active": not u.deleted if u.deleted is not None else None,
            "updated_at": epoch(u.updated),
            "extra": {
                "team_id": u.team_id,
                "real_name": p.real_name or u.real_name,
                "title": p.title,
                "is_admin": u.is_admin,
                "is_restricted": u.is_restricted,
                "is_ultra_restricted": u.is_ultra_restricted,
                "tz": u.tz,
            },
        },
    )


def conversations(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    c = Channel.model_validate(payload)
    yield Row(
        "channel",
        {
            "external_id": c.id,
            "name": c.name,
            "private": bool(c.is_private or c.is_group),
            "archived": c.is_archived,
            "created_at": epoch(c.created),
            "updated_at": epoch(c.updated, millis=True),
            "extra": {
                "is_member": bool(c.is_member),
                "is_general": c.is_general,
                "is_shared": c.is_shared,
                "is_ext_shared": c.is_ext_shared,
                "num_members": c.num_members,
            },
        },
    )


def message_row(m: Message, ctx: StreamContext) -> dict[str, Any]:
    channel = channel_of(ctx)
    marks = [t for t in (m.ts, m.edited.ts if m.edited else None, m.latest_reply) if t]
    author = m.user or (m.bot_profile.user_id if m.bot_profile else None) or m.bot_id
    row: dict[str, Any] = {
        "external_id": f"{channel}:{m.ts}",
        "channel_external_id": channel,
        "ts": m.ts,
        "thread_ts": m.thread_ts,
        "author_external_id": author,
        "reply_count": m.reply_count,
        "text": None if redacting(ctx) else m.text,
        "edited_at": ts_time(m.edited.ts) if m.edited and m.edited.ts else None,
        "created_at": ts_time(m.ts),
        "updated_at": ts_time(max(marks, key=float)),
        "extra": {
            "subtype": m.subtype,
            "bot_id": m.bot_id,
            "latest_reply": m.latest_reply,
            "reply_users_count": m.reply_users_count,
            "parent_user_id": m.parent_user_id,
        },
    }
    if m.subtype == "tombstone":  # the parent of a live thread was deleted
        row["deleted_at"] = ctx.now
        row["text"] = None
        ctx.state.setdefault(DELETED, set()).add(m.ts)
    return row


def history(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    m = Message.model_validate(payload)
    if m.subtype == "message_deleted":
        if m.deleted_ts:  # tombstoned at the end of a complete listing (see streams.history_window)
            ctx.state.setdefault(DELETED, set()).add(m.deleted_ts)
        return
    yield Row("message", message_row(m, ctx))


def replies(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    m = Message.model_validate(payload)
    if m.subtype == "message_deleted" or (m.thread_ts is not None and m.ts == m.thread_ts):
        return  # the parent comes first in every replies page; history loads it
    yield Row("message", message_row(m, ctx))
