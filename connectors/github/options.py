"""GitHub source options, secrets and the per-request Bearer auth."""

from __future__ import annotations

import httpx
from pydantic import Field, SecretStr, field_validator

from connectors.connector import SourceOptions, SourceSecrets
from connectors.http.auth import BearerAuth

API_VERSION = "2022-11-28"
HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": API_VERSION,
    "User-Agent": "headwater-connector",
}


class GitHubOptions(SourceOptions):
    """``base_url``: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server."""

    base_url: str = Field(
        "https://api.github.com",
        description="API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
    )
    org: str = Field(description="the organization's login (as in github.com/LOGIN) whose repositories are read")
    include_archived: bool = Field(
        False, description="also read archived (read-only) repositories; by default they are listed but skipped"
    )
    graphql: bool = Field(
        True, description="read pull requests with their reviews and commits in one GraphQL query per page; false: REST"
    )

    @field_validator("org")
    @classmethod
    def _org_login(cls, value: str) -> str:
        value = value.strip()
        if not value or "/" in value or " " in value:
            raise ValueError(f"must be an organization login such as 'acme', got {value!r}")
        return value


class GitHubSecrets(SourceSecrets):
    """A classic token (scopes repo, read:org), a fine-grained token, or an app installation token."""

    token: SecretStr = Field(
        description="a classic personal access token with scopes repo and read:org, a fine-grained token with "
        "read access to the organization's repositories, or a GitHub App installation token; sent as Bearer"
    )


def auth_for(secrets: GitHubSecrets) -> httpx.Auth:
    return BearerAuth(secrets.token)
