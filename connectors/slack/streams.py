"""The Slack streams, as a table.

Channels (``conversations.list``) are the partitions. Every method pages with ``cursor`` /
``response_metadata.next_cursor`` and reports errors as HTTP 200 ``ok: false`` (see
:mod:`connectors.slack.classify`). Each method has its own rate-limit tier per workspace and
app, so each gets its own bucket and pace:

=========================  ======  ==========================================================
method                     tier    pace
=========================  ======  ==========================================================
users.list                 2       20 per minute
conversations.list         2       20 per minute
conversations.history      3       50 per minute; 1 per minute and 15 messages per page for
conversations.replies      3       non-Marketplace commercially distributed apps (2025 limits)
=========================  ======  ==========================================================

``messages`` reads history from the last seen ``ts`` minus ``reread_days`` (``oldest``), so
recent edits are seen again, and tombstones messages gone from that window. ``replies`` is a
child stream over loaded thread parents (``reply_count > 0``) whose ``updated_at`` moved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_

from connectors.cursors import ChildOf, Since, Snapshot, changed_since_cursor, cursor_text
from connectors.http.pagination import CursorPaginator
from connectors.http.ratelimit import Pace
from connectors.privacy import Privacy
from connectors.slack import normalize as n
from connectors.slack.options import SlackOptions
from connectors.streams import ParentSpec, PartitionCheck, StreamContext, StreamSpec

TIER_2 = Pace(20, 60.0)
TIER_3 = Pace(50, 60.0)
NON_MARKETPLACE = Pace(1, 60.0)  # conversations.history / .replies since 2025-05-29
PAGE = 200  # Slack recommends no more than 200 per page
NON_MARKETPLACE_PAGE = 15


def options(ctx: StreamContext) -> SlackOptions:
    assert isinstance(ctx.options, SlackOptions)
    return ctx.options


def restricted(ctx: StreamContext) -> bool:
    return options(ctx).app_distribution == "non_marketplace"


def reading_pace(ctx: StreamContext) -> Pace:
    return NON_MARKETPLACE if restricted(ctx) else TIER_3


def page_size(ctx: StreamContext) -> int:
    return NON_MARKETPLACE_PAGE if restricted(ctx) else PAGE


def cursor() -> CursorPaginator:
    return CursorPaginator("response_metadata.next_cursor", "cursor")


def oldest(ctx: StreamContext) -> str | None:
    """Where this run's history read starts: the last seen ts minus the re-read window."""
    last = cursor_text(ctx)
    if last is None:
        return None
    start = max(0.0, float(last) - options(ctx).reread_days * 86400)
    return f"{start:.6f}"


def info_params(ctx: StreamContext) -> dict[str, Any]:
    return {"channel": ctx.partition.key if ctx.partition else None}


# ``channel_not_found`` on a channel's history is not proof the channel is gone: the runner asks
# ``conversations.info`` first (``channel_not_found`` there too: deleted, or private and the app
# is no longer in it).
PARTITION_CHECK = PartitionCheck(
    path="conversations.info",
    params=info_params,
    what="channel",
    hint=(
        "the app may see the channel but not read its history: check its history scopes (channels:history, "
        "groups:history) and that it is still a member"
    ),
    bucket="conversations.info",
    pace=TIER_3,
)


def history_params(ctx: StreamContext) -> dict[str, Any]:
    params: dict[str, Any] = {"channel": ctx.partition.key if ctx.partition else None, "limit": page_size(ctx)}
    start = oldest(ctx)
    if start is not None:
        params["oldest"] = start
        params["inclusive"] = "true"
    return params


def history_window(ctx: StreamContext) -> dict[str, Any]:
    """Live messages a complete history listing must have shown: top-level ones in the window,
    and any the listing reported deleted."""
    channel = ctx.partition.key if ctx.partition else ""
    start = oldest(ctx)
    deleted = sorted(f"{channel}:{ts}" for ts in ctx.state.get(n.DELETED, ()))

    def window(t: Any) -> Any:
        shown = or_(t.c.thread_ts.is_(None), t.c.thread_ts == t.c.ts)
        if start is not None:
            shown = and_(shown, t.c.ts >= start)
        return or_(shown, t.c.external_id.in_(deleted)) if deleted else shown

    return {"channel_external_id": channel, "window": window}


def replies_params(ctx: StreamContext) -> dict[str, Any]:
    assert ctx.parent is not None
    return {"channel": ctx.parent["channel_external_id"], "ts": ctx.parent["ts"], "limit": page_size(ctx)}


def thread_parents(t: Any) -> Any:
    return and_(t.c.reply_count > 0, t.c.thread_ts == t.c.ts)


# Privacy (connectors.privacy): a member's names and profile; a message's text in all its forms
# (text, rich-text blocks, attachments, files, the edited/root copies Slack repeats) and the
# profile Slack embeds in some messages. Channel names are not people's and stay.
USER_PRIVACY = Privacy(
    people=(
        "name",
        "real_name",
        "profile.real_name",
        "profile.real_name_normalized",
        "profile.display_name",
        "profile.display_name_normalized",
        "profile.first_name",
        "profile.last_name",
        "profile.email",
        "profile.phone",
        "profile.skype",
    ),
    bodies=("profile.title", "profile.status_text"),
    embeds=("profile.image_*",),  # avatar URLs may end with the member's name
)
MESSAGE_PRIVACY = Privacy(
    people=("user_profile.*name", "user_profile.name"),
    bodies=("text", "blocks", "attachments", "files", "root", "previous_message", "message"),
)

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="conversations",
        path="conversations.list",
        records_path="channels",
        normalize=n.conversations,
        params=lambda ctx: {"types": "public_channel,private_channel", "exclude_archived": "false", "limit": PAGE},
        paginator=cursor,
        partitioned=False,
        snapshot=Snapshot("channel"),
        bucket="conversations.list",
        pace=TIER_2,
        conditional=False,
        entities=("channel",),
        privacy=Privacy(bodies=("topic.value", "purpose.value")),
    ),
    StreamSpec(
        name="users",
        path="users.list",
        records_path="members",
        normalize=n.users,
        params=lambda ctx: {"limit": PAGE},
        paginator=cursor,
        partitioned=False,
        bucket="users.list",
        pace=TIER_2,
        conditional=False,
        entities=("person",),
        privacy=USER_PRIVACY,
    ),
    StreamSpec(
        name="messages",
        path="conversations.history",
        records_path="messages",
        normalize=n.history,
        params=history_params,
        paginator=cursor,
        cursor=Since("ts"),
        snapshot=Snapshot("message", where=history_window),
        bucket="conversations.history",
        pace=reading_pace,
        conditional=False,
        redact=n.redact,
        entities=("message",),
        privacy=MESSAGE_PRIVACY,
    ),
    StreamSpec(
        name="replies",
        path="conversations.replies",
        records_path="messages",
        normalize=n.replies,
        params=replies_params,
        paginator=cursor,
        cursor=ChildOf(
            "messages",
            ParentSpec(
                entity="message",
                fields=("ts", "channel_external_id"),
                partition_column="channel_external_id",
                where={"thread": thread_parents},
                select=changed_since_cursor(),
                chunk=20,
            ),
        ),
        bucket="conversations.replies",
        pace=reading_pace,
        conditional=False,
        redact=n.redact,
        entities=("message",),
        privacy=MESSAGE_PRIVACY,
    ),
)
