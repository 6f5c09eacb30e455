"""What a Slack source needs: a bot token, which channels to read, privacy and app distribution.

``app_distribution`` says how the Slack app behind the token is distributed, because Slack's
rate limits depend on it (https://docs.slack.dev/apis/web-api/rate-limits, changelog of
2025-05-29):

* ``internal`` — a customer-built app installed only in its own workspace (the usual case
  for a bot token a customer creates for Headwater);
* ``marketplace`` — an app approved for the Slack Marketplace;
* ``non_marketplace`` — a commercially distributed app that is not Marketplace-approved:
  ``conversations.history`` and ``conversations.replies`` allow 1 request per minute and at
  most 15 messages per page. Such a source is slow but complete.
"""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from connectors.connector import SourceOptions, SourceSecrets

AppDistribution = Literal["internal", "marketplace", "non_marketplace"]


class SlackOptions(SourceOptions):
    base_url: str = Field(
        "https://slack.com/api", description="Slack Web API root (https://slack.com/api), or a sandbox speaking it"
    )
    # Names (with or without '#') or ids, globs, comma separated. Unset: every public channel the
    # app is a member of. Set: exactly the matching channels (private ones need the app invited).
    channels: str | None = Field(
        None,
        description="channel names (with or without '#') or ids, globs allowed, comma separated; unset: every "
        "public channel the app is a member of (a private channel needs the app invited to it)",
    )
    redact_text: bool = Field(
        False, description="privacy: never store message text, neither in rows nor in landed raw pages"
    )
    app_distribution: AppDistribution = Field(
        "internal",
        description="how the Slack app behind the token is distributed: internal (built by this workspace), "
        "marketplace (approved for the Slack Marketplace) or non_marketplace (distributed outside it: "
        "conversations.history and .replies allow 1 request a minute, 15 messages a page, so reads are slow)",
    )
    # Days of history re-read on every run to see edits and deletions of recent messages.
    reread_days: float = Field(
        default=7.0,
        ge=0,
        le=90,
        description="days of recent history read again on every run, to pick up edited and deleted messages "
        "and new thread replies (0 to 90)",
    )

    @field_validator("channels")
    @classmethod
    def _patterns(cls, value: str | None) -> str | None:
        if value is None:
            return None
        patterns = [p.strip().lstrip("#") for p in value.split(",") if p.strip().lstrip("#")]
        if not patterns:
            raise ValueError("name at least one channel (name or id, globs allowed), or leave the option out")
        return ",".join(patterns)

    def channel_patterns(self) -> list[str]:
        return [p for p in (self.channels or "").split(",") if p]

    def wants_channel(self, names: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(n.lower(), p.lower()) for p in self.channel_patterns() for n in names if n)


class SlackSecrets(SourceSecrets):
    """A bot token (``xoxb-…``) with channels:read, channels:history, groups:read, groups:history, users:read."""

    token: SecretStr = Field(
        description="bot token (xoxb-...) of the Slack app, with scopes channels:read, channels:history, "
        "groups:read, groups:history and users:read"
    )
