"""Slack: people, channels, messages and thread replies, read with a bot token.

Channels are discovered first and become the partitions (see :func:`partition_of`); history
and replies are read per channel. See :mod:`connectors.slack.streams` for the table of
streams and their rate tiers, :mod:`connectors.slack.classify` for Slack's 200 ``ok: false``
errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.connector import CheckResult, Connector, ConnectorMeta
from connectors.errors import ConnectorError
from connectors.http.auth import BearerAuth
from connectors.http.client import HttpClient
from connectors.http.ratelimit import Pace
from connectors.slack.classify import classify_slack
from connectors.slack.options import SlackOptions, SlackSecrets
from connectors.slack.streams import PARTITION_CHECK, STREAMS
from connectors.streams import Partition

# Bot token scopes the streams need (channels:* for public, groups:* for private channels).
SCOPES = ("channels:read", "channels:history", "groups:read", "groups:history", "users:read")


def auth(secrets: SlackSecrets) -> httpx.Auth:
    return BearerAuth(secrets.token)


def partition_of(row: Mapping[str, Any], options: SlackOptions) -> Partition | None:
    """Which channels are read.

    Without the ``channels`` option: public channels the app is a member of. With it: exactly
    the channels whose id or name matches, member or not (a channel the app was not invited to
    then fails alone, with a message saying to invite the app).
    """
    channel_id = str(row["external_id"])
    name = str(row.get("name") or "")
    extra = row.get("extra") or {}
    if options.channels is not None:
        wanted = options.wants_channel((channel_id, name))
    else:
        wanted = bool(extra.get("is_member")) and not row.get("private")
    if not wanted:
        return None
    return Partition(
        key=channel_id,
        values={"channel_id": channel_id, "external_id": channel_id},
        names=tuple(x for x in (name, f"#{name}" if name else "") if x),
    )


async def check(http: HttpClient, options: SlackOptions) -> CheckResult:
    """Who the token is (``auth.test``) and whether it carries the scopes the streams need."""
    try:
        response = await http.request("POST", "auth.test", bucket="auth.test", pace=Pace(100, 60.0))
    except ConnectorError as exc:
        return CheckResult(ok=False, problems=[str(exc)])
    body = response.json()
    granted = {s.strip() for s in response.headers.get("x-oauth-scopes", "").split(",") if s.strip()}
    problems = []
    if granted:
        missing = [s for s in SCOPES if s not in granted]
        if missing:
            problems.append(
                f"the token lacks the scopes {', '.join(missing)}: add them to the app's bot token scopes, "
                "reinstall the app and reconnect the source"
            )
    identity = f"{body.get('user')}@{body.get('team')}" if body.get("user") else body.get("team")
    details = {"team_id": body.get("team_id"), "bot_id": body.get("bot_id"), "scopes": sorted(granted)}
    return CheckResult(ok=not problems, identity=identity, problems=problems, details=details)


CONNECTOR = Connector(
    partition_values=("channel_id", "external_id"),
    meta=ConnectorMeta(display_name="Slack", scope_option="channels", badge_color="#611f69"),
    kind="slack",
    options_model=SlackOptions,
    secrets_model=SlackSecrets,
    auth=auth,
    streams=STREAMS,
    discovery_stream="conversations",
    partition_of=partition_of,
    partition_check=PARTITION_CHECK,
    classify=classify_slack,
    check=check,
    max_in_flight=4,
    sandbox="connectors.slack.sandbox:make_sandbox",
)

__all__ = ["CONNECTOR", "SlackOptions", "SlackSecrets"]
