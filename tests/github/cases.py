"""GitHub in the tests shared by every connector (tests/connectors/case.py)."""

from __future__ import annotations

from connectors.github.sandbox import make_sandbox
from connectors.streams import Partition
from tests.connectors.case import AuthForm, PartitionCase, Provider, Rejected
from tests.ingest_support import ServedSandbox


def repository_with_issue_events(served: ServedSandbox, partitions: list[Partition]) -> Partition:
    """A repository with issue events (not the empty one)."""
    repo = next(r for r in served.sandbox.world.live_repos() if any(i.events for i in r.issues.values()))
    return next(p for p in partitions if p.names == (repo.name,))


CASE = Provider(
    kind="github",
    sandbox=lambda: make_sandbox(repos=4, commits=10, pulls=4, issues=3),
    rejected=(Rejected({"token": "ghp_wrong_token"}, ("401", "reconnect the GitHub source"), ("401",)),),
    revoked_says=("reconnect",),
    out_of_scope={"org": "someone-else"},
    out_of_scope_says=("'someone-else' was not found",),
    partition=PartitionCase(
        "issue_events",
        ("/repos/{k}/issues/events?",),
        ("/repos/{k}/", "/repos/{k}?"),
        "/repos/{k}",
        victim=repository_with_issue_events,
    ),
    auth_forms=(AuthForm({"token": "ghp_t0k"}, "Bearer ghp_t0k"),),
)
