"""The GitHub streams, as a table. Paths are relative to ``base_url`` (github.com or GHES /api/v3).

Incremental strategies, per GitHub's REST API:

* ``since`` (commits, issues, issue and review comments): the cursor is the newest value of the
  field the server filters on, saved when the listing is complete.
* pull requests: no ``since``; listed newest-updated first and read down to the watermark.
* issue events: no ``since``; newest first, read down to the watermark.

Every listing is read newest first. GitHub pages by offset, so a record updated while a listing
is paged moves to the front: newest-first, that only repeats a record on the next page, whereas
oldest-first (sort=updated&direction=asc) would shift an unread record onto a page already read
and, with a cursor advanced per page, lose it for good.
* reviews and PR commits: GitHub has no repository-level listing, so they are child streams of
  the pull requests updated since the child's own watermark. With the ``graphql`` option (the
  default) the pull request listing brings them itself (:mod:`connectors.github.graphql`) and
  the child streams skip every parent.
* everything else (org members, repositories, branches) is a complete listing made cheap by ETags.
"""

from __future__ import annotations

import functools
from typing import Any

from connectors.cursors import ChildOf, NewestFirst, Since, Snapshot, cursor_text
from connectors.github import normalize as n
from connectors.github import shapes
from connectors.github.graphql import graphql_alternative, rest_children_needed, rest_expand, skip_children
from connectors.http.pagination import LinkHeaderPaginator
from connectors.privacy import Privacy
from connectors.streams import ParentSpec, PartitionCheck, StatusAction, StreamContext, StreamSpec

PER_PAGE = 100


def _page(ctx: StreamContext) -> dict[str, Any]:
    return {"per_page": PER_PAGE}


def _since(ctx: StreamContext) -> dict[str, Any]:
    value = cursor_text(ctx)
    return {"since": value} if value else {}


def _updated_since(ctx: StreamContext) -> dict[str, Any]:
    return {"sort": "updated", "direction": "desc", "per_page": PER_PAGE, **_since(ctx)}


def _commits(ctx: StreamContext) -> dict[str, Any]:
    return {"per_page": PER_PAGE, **_since(ctx)}


def _issues(ctx: StreamContext) -> dict[str, Any]:
    return {"state": "all", **_updated_since(ctx)}


def _pulls(ctx: StreamContext) -> dict[str, Any]:
    return {"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}


def _repo_status(status: int, ctx: StreamContext) -> str | None:
    """A repository's listing: 409 = the repository is empty (no commits yet); 410 = the feature is
    disabled (issues). A 404 says nothing certain about the repository (a disabled feature, an older
    GitHub Enterprise Server, a permission the token lacks): the runner asks ``GET /repos/{owner}/{repo}``
    (``PARTITION_CHECK``) before tombstoning it, as it does for a 410."""
    return StatusAction.EMPTY if status == 409 else StatusAction.MISSING


def _branches_where(ctx: StreamContext) -> dict[str, Any]:
    assert ctx.partition is not None
    return {"repository_external_id": str(ctx.partition.values["external_id"])}


REPO_STATUSES = frozenset({409, 410})
PARTITION_CHECK = PartitionCheck(
    path="repos/{partition_key}",  # the key is owner/repo; a renamed repository answers 301 -> 200
    what="repository",
    hint=(
        "a feature disabled for this repository (issues, pull requests), an endpoint this GitHub Enterprise "
        "Server version lacks, or a permission the token lacks (GitHub answers 404, not 403, for what a token "
        "may not see)"
    ),
)
PULL_REQUEST_PARENT = ParentSpec(
    entity="pull_request",
    fields=("number",),
    partition_column="repository_external_id",
    partition_value="external_id",
    select=skip_children,  # with GraphQL on, the pull request listing loaded them
)

# Privacy (connectors.privacy). Every account object (user, assignee(s), actor, requested
# reviewers, merged_by, head.user ...) has a "login", and its API and profile URLs end with it.
_ACCOUNTS = ("**.login", "**.email")
_URLS = ("**.*url", "**.href")
_TEXT = ("body", "body_html", "body_text")
_GIT = (  # a commit's git author and committer, and the signed payload that repeats them
    "commit.author.name",
    "commit.author.email",
    "commit.committer.name",
    "commit.committer.email",
    "commit.verification.payload",
)
COMMIT_PRIVACY = Privacy(
    people=(*_ACCOUNTS, *_GIT),
    bodies=("commit.message", "commit.verification.payload", "files.patch"),
    paths=("files.filename", "files.previous_filename"),
    embeds=_URLS,
)
ACCOUNT_TEXT_PRIVACY = Privacy(people=_ACCOUNTS, bodies=_TEXT, embeds=_URLS)
BRANCH_PRIVACY = Privacy(  # a branch carries its head commit, whole on a branch's own GET
    people=(*_ACCOUNTS, *(f"commit.{g}" for g in _GIT)),
    bodies=("commit.commit.message", "commit.commit.verification.payload"),
    paths=("name",),
    embeds=_URLS,
)

# A listing of one repository: Link-header pages; its 409 (empty) and 410 (feature disabled)
# answered by _repo_status.
_repo_listing = functools.partial(
    StreamSpec, paginator=LinkHeaderPaginator, allow_status=REPO_STATUSES, on_status=_repo_status
)

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="repositories",
        path="orgs/{org}/repos",
        normalize=n.repository,
        # Recently updated first: a new, renamed or archived repository changes the first page (and
        # its ETag); a deletion further down is caught when a listing of the repository answers 404
        # and GET /repos/{owner}/{repo} answers 404 too (PARTITION_CHECK).
        params=lambda ctx: {"type": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE},
        paginator=LinkHeaderPaginator,
        partitioned=False,
        snapshot=Snapshot("repository"),
        entities=("repository",),
        privacy=Privacy(bodies=("description",), paths=("default_branch", "master_branch")),
    ),
    StreamSpec(
        name="members",
        path="orgs/{org}/members",
        normalize=n.member,
        params=_page,
        paginator=LinkHeaderPaginator,
        partitioned=False,
        entities=("person",),
        privacy=Privacy(people=_ACCOUNTS, embeds=_URLS),
    ),
    _repo_listing(
        name="branches",
        path="repos/{owner}/{repo}/branches",
        normalize=n.branch,
        params=_page,
        snapshot=Snapshot("branch", where=_branches_where),
        entities=("branch",),
        privacy=BRANCH_PRIVACY,
    ),
    _repo_listing(
        name="commits",
        path="repos/{owner}/{repo}/commits",
        normalize=n.commit,
        params=_commits,
        cursor=Since("commit.committer.date"),
        entities=("commit", "person"),
        privacy=COMMIT_PRIVACY,
    ),
    _repo_listing(
        name="pull_requests",
        path="repos/{owner}/{repo}/pulls",
        normalize=shapes.pull_request,  # with reviews and commits when the record carries them
        alternative=graphql_alternative,  # GraphQL, unless the source says graphql=false
        expand=rest_expand,  # REST fallback of the GraphQL listing: each PR's sub-listings embedded
        params=_pulls,
        cursor=NewestFirst("updated_at"),
        entities=("pull_request", "person"),
        privacy=Privacy(
            people=_ACCOUNTS,
            bodies=(*_TEXT, "**.description"),
            paths=("head.ref", "base.ref", "**.default_branch", "**.master_branch"),
            embeds=(*_URLS, "head.label", "base.label"),
        ),
    ),
    StreamSpec(
        name="reviews",
        path="repos/{owner}/{repo}/pulls/{number}/reviews",
        normalize=n.review,
        params=_page,
        paginator=LinkHeaderPaginator,
        cursor=ChildOf("pull_requests", PULL_REQUEST_PARENT),
        allow_status=frozenset({404}),
        entities=("review", "person"),
        privacy=ACCOUNT_TEXT_PRIVACY,
        needed=rest_children_needed,  # with GraphQL on, the pull request listing brings them
    ),
    StreamSpec(
        name="pull_request_commits",
        path="repos/{owner}/{repo}/pulls/{number}/commits",
        normalize=n.pull_request_commit,
        params=_page,
        paginator=LinkHeaderPaginator,
        cursor=ChildOf("pull_requests", PULL_REQUEST_PARENT),
        allow_status=frozenset({404}),
        entities=("commit", "person"),
        privacy=COMMIT_PRIVACY,
        needed=rest_children_needed,  # with GraphQL on, the pull request listing brings them
    ),
    _repo_listing(
        name="review_comments",
        path="repos/{owner}/{repo}/pulls/comments",
        normalize=n.review_comment,
        params=_updated_since,
        cursor=Since("updated_at"),
        entities=("comment", "person"),
        privacy=Privacy(
            people=_ACCOUNTS,
            bodies=(*_TEXT, "diff_hunk"),
            paths=("path", "original_path"),
            embeds=_URLS,
        ),
    ),
    _repo_listing(
        name="issues",
        path="repos/{owner}/{repo}/issues",
        normalize=n.issue,
        params=_issues,
        cursor=Since("updated_at"),
        entities=("work_item", "person"),
        privacy=ACCOUNT_TEXT_PRIVACY,
    ),
    _repo_listing(
        name="issue_comments",
        path="repos/{owner}/{repo}/issues/comments",
        normalize=n.issue_comment,
        params=_updated_since,
        cursor=Since("updated_at"),
        entities=("comment", "person"),
        privacy=ACCOUNT_TEXT_PRIVACY,
    ),
    _repo_listing(
        name="issue_events",
        path="repos/{owner}/{repo}/issues/events",
        normalize=n.issue_event,
        params=_page,
        cursor=NewestFirst("created_at"),
        entities=("work_item_transition", "person"),
        privacy=Privacy(people=_ACCOUNTS, bodies=tuple(f"issue.{b}" for b in _TEXT), embeds=_URLS),
    ),
)
