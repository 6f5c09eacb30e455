"""Bitbucket Cloud source options, secrets and auth.

Two credential forms, exactly one per source:

* ``token``: a workspace, project or repository access token (or an OAuth access token), sent as
  ``Authorization: Bearer``;
* ``username`` + ``api_token``: the Atlassian account email and a user API token, sent as Basic.

App passwords stopped working on 9 June 2026; an ``app_password`` secret is refused with the way out.
"""

from __future__ import annotations

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from connectors.connector import SourceOptions, SourceSecrets
from connectors.http.auth import BasicAuth, BearerAuth

HEADERS = {"Accept": "application/json", "User-Agent": "headwater-connector"}
API_TOKEN_HELP = (
    "create an API token with read scopes for repositories, pull requests, projects and workspace "
    "membership (Atlassian account settings > Security > Create API token with scopes) and reconnect "
    "with username = your Atlassian account email and api_token = the token"
)


class BitbucketOptions(SourceOptions):
    """``base_url``: https://api.bitbucket.org/2.0 (or a server speaking the same API)."""

    base_url: str = Field(
        "https://api.bitbucket.org/2.0", description="Bitbucket Cloud API root, or a server speaking the same API"
    )
    workspace: str = Field(description="workspace slug (as in bitbucket.org/SLUG) or its {UUID}")

    @field_validator("workspace")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.strip()
        if not value or "/" in value or " " in value:
            raise ValueError(f"must be a workspace slug or {{uuid}} such as 'acme', got {value!r}")
        return value


class BitbucketSecrets(SourceSecrets):
    token: SecretStr | None = Field(
        None,
        description="a workspace, project or repository access token (or an OAuth access token), sent as "
        "Bearer; give either this or username + api_token",
    )
    username: str | None = Field(
        None, description="your Atlassian account email, with api_token (Basic auth); not the Bitbucket username"
    )
    api_token: SecretStr | None = Field(
        None,
        description="an Atlassian API token with scopes, with username: read:repository:bitbucket, "
        "read:pullrequest:bitbucket, read:project:bitbucket and read:workspace:bitbucket",
    )
    # accepted only to explain that it no longer works
    app_password: SecretStr | None = Field(
        None, description="retired by Bitbucket on 9 June 2026: refused, with how to create an API token instead"
    )

    @model_validator(mode="after")
    def _exactly_one_form(self) -> BitbucketSecrets:
        if self.app_password is not None:
            raise ValueError(f"Bitbucket app passwords were retired on 9 June 2026: {API_TOKEN_HELP}")
        basic = self.username is not None or self.api_token is not None
        if self.token is not None and basic:
            raise ValueError("give either `token` (an access token) or `username` + `api_token`, not both")
        if self.token is None and not basic:
            raise ValueError("give `token` (an access token) or `username` + `api_token` (email and API token)")
        if basic and (not self.username or self.api_token is None):
            raise ValueError("`username` (your Atlassian account email) and `api_token` go together")
        return self

    @property
    def uses_basic(self) -> bool:
        return self.token is None


def auth_for(secrets: BitbucketSecrets) -> httpx.Auth:
    if secrets.token is not None:
        return BearerAuth(secrets.token)
    assert secrets.username is not None and secrets.api_token is not None
    return BasicAuth(secrets.username, secrets.api_token)
