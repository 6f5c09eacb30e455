"""The Bitbucket Cloud streams, as a table. Paths are relative to ``base_url`` (…/2.0).

* Workspace members, projects and repositories (the partitions): complete listings.
* Branches: complete listing per repository (deleted branches are tombstoned).
* A 404 of a repository's listing tombstones the repository only when the repository itself
  answers 404 too (``PARTITION_CHECK``); otherwise the task completes with a note.
* Commits: Bitbucket has no date filter; the listing is newest first, so a run reads down to the
  newest hash the previous run saw (``stop_at_seen``).
* Pull requests in every state (OPEN, MERGED, DECLINED, SUPERSEDED must be asked for: the default
  is OPEN only), newest updated first, incremental with ``q=updated_on > "…"``.
* Activity (approvals and change requests -> reviews, comments, state updates) and commits of the
  pull requests updated since the child's watermark.

Pagination follows the ``next`` URL of each page (``pagelen`` <= 100; 50 for pull requests).
"""

from __future__ import annotations

from typing import Any

from connectors.bitbucket import normalize as n
from connectors.cursors import ChildOf, Since, Snapshot, StopAtSeen, cursor_text
from connectors.http.pagination import NextUrlPaginator
from connectors.privacy import Privacy
from connectors.streams import ParentSpec, PartitionCheck, StatusAction, StreamContext, StreamSpec

PAGELEN = 100
PR_PAGELEN = 50
PR_STATES = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]


def _page(ctx: StreamContext) -> dict[str, Any]:
    return {"pagelen": PAGELEN}


def _pulls(ctx: StreamContext) -> dict[str, Any]:
    params: dict[str, Any] = {"state": PR_STATES, "sort": "-updated_on", "pagelen": PR_PAGELEN}
    since = cursor_text(ctx)
    if since:
        params["q"] = f'updated_on > "{since}"'
    return params


def _repo_where(ctx: StreamContext) -> dict[str, Any]:
    assert ctx.partition is not None
    return {"repository_external_id": str(ctx.partition.values["external_id"])}


def _child_gone(status: int, ctx: StreamContext) -> str | None:
    return StatusAction.EMPTY  # the pull request was deleted since it was listed


# A 404 of a repository's listing is not proof the repository is gone: the runner asks the
# repository itself first (GET /2.0/repositories/{workspace}/{repo_slug}).
PARTITION_CHECK = PartitionCheck(
    path="repositories/{partition_key}",  # the key is workspace/slug
    what="repository",
    hint=(
        "a feature disabled for this repository, or a permission or scope the credential lacks (Bitbucket "
        "answers 404 for what it will not show)"
    ),
)


PR_PARENT = ParentSpec(
    entity="pull_request",
    fields=("external_id", "number", "repository_external_id", "state"),
    partition_column="repository_external_id",
    partition_value="external_id",
)

# Privacy (connectors.privacy). A Bitbucket account object (author, user, closed_by, reviewers,
# participants) has display_name and nickname (username on older payloads), and its avatar
# link may end with the nickname; a git author is "Name <email>" in author.raw. Branch names
# are in branch.name and mainbranch.name, and in the links of a branch.
_ACCOUNT = ("**.display_name", "**.nickname", "**.username", "**.author.raw")
_LINKS = ("**.href",)
_RENDERED = ("**.summary", "**.rendered", "**.description", "**.content")
COMMIT_PRIVACY = Privacy(people=_ACCOUNT, bodies=("**.message", *_RENDERED), embeds=_LINKS)

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="repositories",
        privacy=Privacy(people=_ACCOUNT, bodies=("description",), paths=("mainbranch.name",), embeds=_LINKS),
        path="repositories/{workspace}",
        normalize=n.repository,
        records_path="values",
        params=_page,
        paginator=NextUrlPaginator,
        partitioned=False,
        snapshot=Snapshot("repository"),
        entities=("repository",),
    ),
    StreamSpec(
        name="members",
        privacy=Privacy(people=_ACCOUNT, embeds=_LINKS),
        path="workspaces/{workspace}/members",
        normalize=n.person,
        records_path="values",
        params=_page,
        paginator=NextUrlPaginator,
        partitioned=False,
        entities=("person",),
    ),
    StreamSpec(
        name="projects",
        privacy=Privacy(people=_ACCOUNT, bodies=("description",), embeds=_LINKS),
        path="workspaces/{workspace}/projects",
        normalize=n.project,
        records_path="values",
        params=_page,
        paginator=NextUrlPaginator,
        partitioned=False,
        snapshot=Snapshot("project"),
        entities=("project",),
    ),
    StreamSpec(
        name="branches",
        privacy=Privacy(people=_ACCOUNT, bodies=("**.message", *_RENDERED), paths=("name",), embeds=_LINKS),
        path="repositories/{full_name}/refs/branches",
        normalize=n.branch,
        records_path="values",
        params=_page,
        paginator=NextUrlPaginator,
        snapshot=Snapshot("branch", where=_repo_where),
        entities=("branch",),
    ),
    StreamSpec(
        name="commits",
        privacy=COMMIT_PRIVACY,
        path="repositories/{full_name}/commits",
        normalize=n.commit,
        records_path="values",
        params=_page,
        paginator=NextUrlPaginator,
        cursor=StopAtSeen("hash"),
        entities=("commit",),
    ),
    StreamSpec(
        name="pull_requests",
        privacy=Privacy(
            people=_ACCOUNT,
            bodies=("**.message", *_RENDERED),
            paths=("**.branch.name",),
            embeds=_LINKS,
        ),
        path="repositories/{full_name}/pullrequests",
        normalize=n.pull_request,
        records_path="values",
        params=_pulls,
        paginator=NextUrlPaginator,
        cursor=Since("updated_on"),
        entities=("pull_request",),
    ),
    StreamSpec(
        name="pr_activity",
        privacy=Privacy(
            people=_ACCOUNT,
            bodies=("**.message", *_RENDERED),
            paths=("**.branch.name", "**.inline.path"),
            embeds=_LINKS,
        ),
        path="repositories/{full_name}/pullrequests/{number}/activity",
        normalize=n.activity,
        records_path="values",
        params=lambda ctx: {"pagelen": PR_PAGELEN},
        paginator=NextUrlPaginator,
        cursor=ChildOf("pull_requests", PR_PARENT),
        allow_status=frozenset({404}),
        on_status=_child_gone,
        entities=("review", "comment", "pull_request"),
    ),
    StreamSpec(
        name="pr_commits",
        privacy=COMMIT_PRIVACY,
        path="repositories/{full_name}/pullrequests/{number}/commits",
        normalize=n.pr_commit,
        records_path="values",
        params=_page,
        paginator=NextUrlPaginator,
        cursor=ChildOf("pull_requests", PR_PARENT),
        allow_status=frozenset({404}),
        on_status=_child_gone,
        entities=("commit",),
    ),
)
