"""Jira Cloud source options, secrets and Basic auth (Atlassian account email + API token)."""

from __future__ import annotations

import fnmatch

import httpx
from pydantic import Field, SecretStr, field_validator

from connectors.connector import SourceOptions, SourceSecrets
from connectors.http.auth import BasicAuth

HEADERS = {"Accept": "application/json", "User-Agent": "headwater-connector"}


class JiraOptions(SourceOptions):
    """``base_url`` is the site (https://acme.atlassian.net); ``projects`` are keys or globs, comma
    separated ("*" = every project the account can browse)."""

    base_url: str = Field(description="the Jira Cloud site, https://YOUR-SITE.atlassian.net (or a sandbox)")
    projects: str = Field(
        "*",
        description="project keys or globs, comma separated (ENG,OPS or ENG*); '*': every project the account "
        "can browse",
    )

    @field_validator("projects")
    @classmethod
    def _patterns(cls, value: str) -> str:
        patterns = [p.strip() for p in value.split(",") if p.strip()]
        if not patterns:
            raise ValueError("must name at least one project key or glob, e.g. 'ENG,OPS' or '*'")
        return ",".join(patterns)

    def project_patterns(self) -> list[str]:
        return [p.strip() for p in self.projects.split(",") if p.strip()]

    def wants_project(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key.upper(), p.upper()) for p in self.project_patterns())


class JiraSecrets(SourceSecrets):
    """The Atlassian account's email and an API token (id.atlassian.com > Security > API tokens)."""

    email: str = Field(description="email address of the Atlassian account that owns the API token")
    api_token: SecretStr = Field(
        description="that account's API token (id.atlassian.com > Security > Create and manage API tokens); "
        "the source sees what the account may browse"
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value:
            raise ValueError("must be the email address of the Atlassian account that owns the API token")
        return value


def auth_for(secrets: JiraSecrets) -> httpx.Auth:
    return BasicAuth(secrets.email, secrets.api_token)
