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
    base_url: str = "https://slack.com/api"
    # Names (with or without '#') or ids, globs, comma separated. Unset: every public channel the
    # app is a member of. Set: exactly the matching channels (private ones need the app invited).
    channels: str | None = None
    redact_text: bool = False  # privacy: never store message text (rows or raw pages)
    app_distribution: AppDistribution = "internal"
    # Days of history re-read on every run to see edits and deletions of recent messages.
    reread_days: float = Field(default=7.0, ge=0, le=90)

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

    token: SecretStr
