"""One table of the registered connectors for the tests shared by every provider: how to start a
small sandbox of each, point a runtime at it, and what each says when it refuses a credential.

Adding a connector = one :class:`Provider` here; ``test_providers_common.py`` and
``test_partition_check.py`` then run their cases against it (and fail until it is added).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.aha.sandbox import make_sandbox as aha_sandbox
from connectors.bitbucket.sandbox import make_sandbox as bitbucket_sandbox
from connectors.github.sandbox import make_sandbox as github_sandbox
from connectors.jira.sandbox import make_sandbox as jira_sandbox
from connectors.runtime import SourceRuntime
from connectors.sandbox import RunningServer, Sandbox, serve_in_thread
from connectors.slack.sandbox import make_sandbox as slack_sandbox
from storage import Database
from tests.conftest import MakeRuntime
from tests.ingest_support import ServedSandbox


@dataclass(frozen=True)
class Rejected:
    """A credential the sandbox refuses, and the words its refusal is told in."""

    secrets: dict[str, str]
    run_says: tuple[str, ...]  # in the CONFIG error of a run with it
    check_says: tuple[str, ...] = ()  # in the problem ``check`` names

    def leaked(self, said: str) -> list[str]:
        """The secret values repeated in ``said`` (a user name or an email may be)."""
        return [v for k, v in self.secrets.items() if k not in ("username", "email") and v in said]


@dataclass(frozen=True)
class Provider:
    """One connector's sandbox and what it answers (words are matched in the error messages)."""

    kind: str
    sandbox: Callable[[], Sandbox]  # a small world
    base_suffix: str  # appended to the sandbox URL for ``base_url``
    rejected: tuple[Rejected, ...]
    revoked_says: tuple[str, ...]  # in the CONFIG error once the provider revokes the credential
    out_of_scope: dict[str, str]  # options under which ``check`` finds nothing to read
    out_of_scope_says: tuple[str, ...]  # in that check's problem
    credential_forms: tuple[str, ...] = ("secrets",)  # keys of ``/__truth`` holding good secrets
    identity: str | None = None  # who ``check`` says the credential is (None: any name, if ``says_who``)
    says_who: bool = True  # False: the provider's check has no identity to give
    check_details: dict[str, Any] = field(default_factory=dict)  # a subset of the check's details
    # (stream, entity, column): a stream whose paths need the partition key alone, what it loads,
    # and the column naming the partition's external id
    keyed: tuple[str, str, str] | None = None


PROVIDERS = [
    Provider(
        "github",
        lambda: github_sandbox(repos=4, commits=10, pulls=4, issues=3),
        "",
        rejected=(Rejected({"token": "ghp_wrong_token"}, ("401", "reconnect the GitHub source"), ("401",)),),
        revoked_says=("reconnect",),
        out_of_scope={"org": "someone-else"},
        out_of_scope_says=("'someone-else' was not found",),
    ),
    Provider(
        "bitbucket",
        lambda: bitbucket_sandbox(repos=3, commits=12, pulls=6, members=5),
        "/2.0",
        rejected=(
            Rejected({"token": "revoked-token-42"}, ("access token",)),
            Rejected(
                {"username": "dev0", "api_token": "ATBBold-app-password-xyz"},
                ("API token", "app password"),
                ("API token",),
            ),
        ),
        revoked_says=("access token",),
        out_of_scope={"workspace": "other"},
        out_of_scope_says=("'other'",),
        credential_forms=("secrets", "basic_secrets"),
        says_who=False,  # workspace access tokens have no user behind them
    ),
    Provider(
        "jira",
        lambda: jira_sandbox(projects=2, issues=10, users=4, sprints=3, versions=2),
        "",
        rejected=(
            Rejected(
                {"email": "ingest@acme.example", "api_token": "wrong-token-123"},
                ("API token", "reconnect"),
                ("API token",),
            ),
        ),
        revoked_says=("API token", "reconnect"),
        out_of_scope={"projects": "OPS*"},
        out_of_scope_says=("OPS*",),
        identity="ingest@acme.example",
        check_details={"projects_visible": ["ALPHA", "BETA"]},
    ),
    Provider(
        "aha",
        lambda: aha_sandbox(seed=11, minute_s=0.03, products=2, features=10),
        "",
        rejected=(Rejected({"token": "not-the-key"}, ("401",)),),
        revoked_says=("API key", "reconnect"),
        out_of_scope={"products": "NOPE*"},
        out_of_scope_says=("NOPE*",),
        keyed=("features", "work_item", "project_external_id"),
    ),
    Provider(
        "slack",
        lambda: slack_sandbox(seed=5, minute_s=0.03, channels=3, messages=12),
        "/api",
        rejected=(Rejected({"token": "xoxb-nope"}, ("invalid_auth",)),),
        revoked_says=("token_revoked", "reinstall"),
        out_of_scope={},  # every channel the app is in is read: nothing to be out of scope of
        out_of_scope_says=(),
        keyed=("messages", "message", "channel_external_id"),
    ),
]
BY_KIND = {p.kind: p for p in PROVIDERS}
REJECTED = [(p, r) for p in PROVIDERS for r in p.rejected]  # every refused credential form


def served_sandbox(provider: Provider) -> Iterator[ServedSandbox]:
    """The provider's sandbox served in a thread (a fixture body: stopped at teardown)."""
    sandbox = provider.sandbox()
    server: RunningServer = serve_in_thread(sandbox)
    yield ServedSandbox(sandbox, server)
    server.stop()


def runtime_on(
    provider: Provider,
    served: ServedSandbox,
    make_runtime: MakeRuntime,
    *,
    secrets: dict[str, Any] | None = None,
    db: Database | None = None,
    tenant: str = "acme",
    **options: Any,
) -> SourceRuntime:
    """A source of ``provider`` reading ``served`` with the sandbox's own options and secrets."""
    truth = served.truth()
    settings: dict[str, Any] = {**truth["options"]}
    settings.pop("base_url", None)  # Slack's is a suffix, given by the table
    settings = {"base_url": served.url + provider.base_suffix, **settings, **options}
    return make_runtime(provider.kind, settings, secrets or truth["secrets"], db=db, tenant=tenant)


def sandbox_and_server(kind: str) -> Iterator[tuple[Any, RunningServer]]:
    """A fixture body for provider test folders that hold the sandbox and its server apart."""
    for served in served_sandbox(BY_KIND[kind]):
        yield served.sandbox, served.server


def runtime_of(
    kind: str, make_runtime: MakeRuntime, sb: Any, server: RunningServer, db: Database | None = None, **options: Any
) -> SourceRuntime:
    """:func:`runtime_on` for a sandbox and server held apart."""
    return runtime_on(BY_KIND[kind], ServedSandbox(sb, server), make_runtime, db=db, **options)
