"""The Jira Cloud streams, as a table. Paths are relative to the site (``base_url``).

* Projects (the partitions), users, fields, statuses and issue types: complete listings.
* Issues: ``POST /rest/api/3/search/jql`` (the only search left since 2025: ``nextPageToken`` /
  ``isLast``, no total), fields named explicitly (custom field ids found by name, see
  ``catalog``), changelog embedded. Incremental with ``updated >= "yyyy-MM-dd HH:mm"``: JQL has
  minute resolution and reads times in the account's time zone, so the window starts one minute
  before the newest ``updated`` seen, written in that value's own offset (Jira renders times in
  the account's zone). Re-read issues are de-duplicated by id on load.
* Deleted issues: a cheap id-only listing per project is compared with the live rows; ids that
  vanished are looked up with ``POST /rest/api/3/issue/bulkfetch`` -- found means moved
  (re-keyed, maybe into another project: the row is updated), not found means deleted (tombstone).
* Changelogs, comments and worklogs embedded in the search are truncated on busy issues; only
  those issues get the per-issue endpoints (child streams with a ``select``).
* Sprints: the project's scrum boards, then their sprints (agile API, maxResults <= 50); the
  members of open (or recently closed) sprints come from ``/rest/agile/1.0/sprint/{id}/issue``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.cursors import Ascending, ChildOf, Snapshot, cursor_text
from connectors.http.client import HttpClient
from connectors.http.pagination import CursorPaginator, NextUrlPaginator
from connectors.jira import normalize as n
from connectors.jira.catalog import catalog_of, load_catalog
from connectors.jira.paging import AGILE_PAGE, BoardSprintsPaginator, OffsetPaginator
from connectors.privacy import Privacy
from connectors.streams import ParentSpec, PartitionCheck, Row, StatusAction, StreamContext, StreamSpec

SEARCH_PAGE = 100  # search/jql returns at most 100 issues with fields (5000 with ids only)
ID_PAGE = 5000
BULK = 100  # bulkfetch: 100 issues per call when changelogs are expanded
OVERLAP = timedelta(minutes=1)
RECENTLY_CLOSED = timedelta(days=14)


def _project_id(ctx: StreamContext) -> str:
    assert ctx.partition is not None
    return str(ctx.partition.values["external_id"])


def jql_time(cursor_value: str) -> str:
    """``2026-03-01T10:15:30.123-0700`` -> ``2026-03-01 10:14`` (same offset, minus the overlap)."""
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", cursor_value.replace("Z", "+00:00"))
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - OVERLAP).strftime("%Y-%m-%d %H:%M")


def base_jql(ctx: StreamContext) -> str:
    return f"project = {_project_id(ctx)} ORDER BY updated ASC"


def issues_jql(ctx: StreamContext) -> str:
    since = cursor_text(ctx)
    if not since:
        return base_jql(ctx)
    return f'project = {_project_id(ctx)} AND updated >= "{jql_time(str(since))}" ORDER BY updated ASC'


def _issues_body(ctx: StreamContext) -> dict[str, Any]:
    return {
        "jql": issues_jql(ctx),
        "fields": catalog_of(ctx).issue_fields(),
        "expand": "changelog",
        "maxResults": SEARCH_PAGE,
    }


def _ids_body(ctx: StreamContext) -> dict[str, Any]:
    return {"jql": base_jql(ctx), "fields": ["key"], "maxResults": ID_PAGE}


async def confirm_gone(ids: list[str], ctx: StreamContext, http: HttpClient) -> tuple[list[Row], set[str]]:
    """Issues missing from their project's listing: moved (found by bulkfetch) or deleted."""
    await load_catalog(ctx, http)
    rows: list[Row] = []
    alive: set[str] = set()
    for start in range(0, len(ids), BULK):
        chunk = ids[start : start + BULK]
        response = await http.request(
            "POST",
            "rest/api/3/issue/bulkfetch",
            json={"issueIdsOrKeys": chunk, "fields": catalog_of(ctx).issue_fields(), "expand": ["changelog"]},
            what="POST /rest/api/3/issue/bulkfetch (moved or deleted issues)",
        )
        body = response.json()
        if not isinstance(body, dict):
            continue
        for record in _privatized(list(body.get("issues") or []), ctx):
            if isinstance(record, Mapping):
                found = list(n.issue(record, ctx))
                rows.extend(found)
                alive.update(r.data["external_id"] for r in found if r.entity == "work_item")
        for err in body.get("issueErrors") or []:
            if isinstance(err, Mapping) and err.get("id") is not None:
                alive.add(str(err["id"]))  # a retriable error is no proof of deletion
    return rows, alive


def _project_where(ctx: StreamContext) -> dict[str, Any]:
    return {"project_external_id": _project_id(ctx)}


def _truncated(flag: str) -> Any:
    def select(parent: Mapping[str, Any], ctx: StreamContext) -> bool:
        return bool((parent.get("extra") or {}).get(flag))

    return select


def _open_sprint_of_project(parent: Mapping[str, Any], ctx: StreamContext) -> bool:
    if (parent.get("extra") or {}).get("project_id") != _project_id(ctx):
        return False
    if parent.get("state") in ("active", "future"):
        return True
    done = parent.get("complete_at")
    return isinstance(done, datetime) and done >= ctx.now - RECENTLY_CLOSED


def _child_gone(status: int, ctx: StreamContext) -> str | None:
    return StatusAction.EMPTY  # the issue (or sprint) was deleted since it was listed


# A 404 of a project's listing (versions, boards, sprints) is not proof the project is gone: the
# runner asks GET /rest/api/3/project/{key} first (404 there: deleted, or no longer browsable).
PARTITION_CHECK = PartitionCheck(
    path="rest/api/3/project/{partition_key}",
    what="project",
    hint=(
        "Jira Software (boards, sprints) not available on this site, or a permission the account lacks in this "
        "project (Jira answers 404 for what it will not show)"
    ),
)


# Privacy (connectors.privacy). Jira names an account by ``displayName`` (and ``emailAddress``
# where the site shows it) wherever one appears: assignee, reporter, creator, comment and
# changelog authors, user-picker custom fields. A changelog item of a people field repeats the
# name in fromString/toString; one of a text field repeats the text.
_ACCOUNTS = ("assignee", "reporter", "creator", "author", "updateAuthor", "lead", "user")
_PEOPLE = (  # Jira Server/Data Center also names an account by its username (name, key)
    "**.displayName",
    "**.emailAddress",
    *(f"**.{a}.{k}" for a in _ACCOUNTS for k in ("name", "key")),
)
_SELF = ("**.self",)  # a Server account's URL ends with ?username=NAME
_PEOPLE_FIELDS = "assignee|reporter|creator|Approvers|Reviewers|Request participants"
_TEXT_FIELDS = "description|Description|environment|Environment|Comment"
_ITEMS = ("fromString", "toString")
ISSUE_PRIVACY = Privacy(
    people=(
        *_PEOPLE,
        *(f"changelog.histories.items[field={_PEOPLE_FIELDS}].{k}" for k in _ITEMS),
    ),
    bodies=(
        "fields.description",
        "fields.environment",
        "fields.comment.comments.body",
        "fields.comment.body",  # older payloads: the comments as a list
        "fields.comment.comments.renderedBody",
        "fields.worklog.worklogs.comment",
        "renderedFields",
        *(f"changelog.histories.items[field={_TEXT_FIELDS}].{k}" for k in _ITEMS),
    ),
    paths=("fields.attachment.filename",),
    embeds=_SELF,
)
HISTORY_PRIVACY = Privacy(
    people=(*_PEOPLE, *(f"items[field={_PEOPLE_FIELDS}].{k}" for k in _ITEMS)),
    bodies=tuple(f"items[field={_TEXT_FIELDS}].{k}" for k in _ITEMS),
    embeds=_SELF,
)
NOTHING = Privacy()  # records without names, bodies or paths (fields, statuses, issue types, ids)


def _privatized(records: list[Any], ctx: StreamContext) -> list[Any]:
    p = ctx.privatizer
    return p.records(ISSUE_PRIVACY, records) if p is not None else records


def _issue_parent(flag: str) -> ParentSpec:
    return ParentSpec(
        entity="work_item",
        fields=("external_id", "extra"),
        partition_column="project_external_id",
        partition_value="external_id",
        select=_truncated(flag),
    )


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="projects",
        privacy=Privacy(people=_PEOPLE, bodies=("description",), embeds=_SELF),
        path="rest/api/3/project/search",
        normalize=n.project,
        records_path="values",
        params=lambda ctx: {"maxResults": 50, "orderBy": "key"},
        paginator=lambda: NextUrlPaginator("nextPage"),
        partitioned=False,
        snapshot=Snapshot("project"),
        entities=("project",),
    ),
    StreamSpec(
        name="users",
        privacy=Privacy(people=(*_PEOPLE, "name", "key"), embeds=_SELF),
        path="rest/api/3/users/search",
        normalize=n.person,
        params=lambda ctx: {"maxResults": 1000},
        paginator=OffsetPaginator,
        partitioned=False,
        entities=("person",),
    ),
    StreamSpec(name="fields", path="rest/api/3/field", normalize=n.raw_only, partitioned=False, privacy=NOTHING),
    StreamSpec(name="statuses", path="rest/api/3/status", normalize=n.raw_only, partitioned=False, privacy=NOTHING),
    StreamSpec(
        name="issue_types", path="rest/api/3/issuetype", normalize=n.raw_only, partitioned=False, privacy=NOTHING
    ),
    StreamSpec(
        name="versions",
        privacy=Privacy(bodies=("description",)),
        path="rest/api/3/project/{external_id}/versions",
        normalize=n.release,
        snapshot=Snapshot("release", where=_project_where),
        entities=("release",),
    ),
    StreamSpec(
        name="sprints",
        privacy=Privacy(bodies=("goal",)),
        path="rest/agile/1.0/board",
        normalize=n.sprint_or_board,
        records_path="values",
        params=lambda ctx: {"projectKeyOrId": ctx.partition.key if ctx.partition else "", "maxResults": AGILE_PAGE},
        paginator=BoardSprintsPaginator,
        entities=("sprint",),
    ),
    StreamSpec(
        name="issues",
        privacy=ISSUE_PRIVACY,
        path="rest/api/3/search/jql",
        method="POST",
        normalize=n.issue,
        records_path="issues",
        body=_issues_body,
        prepare=load_catalog,
        paginator=lambda: CursorPaginator("nextPageToken", "nextPageToken", in_body=True, last_path="isLast"),
        cursor=Ascending("fields.updated"),
        conditional=False,
        entities=("work_item", "work_item_transition", "comment"),
    ),
    StreamSpec(
        name="issue_ids",
        privacy=NOTHING,
        path="rest/api/3/search/jql",
        method="POST",
        normalize=n.issue_seen,
        records_path="issues",
        body=_ids_body,
        paginator=lambda: CursorPaginator("nextPageToken", "nextPageToken", in_body=True, last_path="isLast"),
        depends_on=("issues",),
        conditional=False,
        snapshot=Snapshot("work_item", where=_project_where, confirm_gone=confirm_gone),
        entities=("work_item",),
    ),
    StreamSpec(
        name="changelogs",
        privacy=HISTORY_PRIVACY,
        path="rest/api/3/issue/{external_id}/changelog",
        normalize=n.changelog_history,
        records_path="values",
        params=lambda ctx: {"maxResults": 100},
        paginator=lambda: OffsetPaginator("values"),
        cursor=ChildOf("issues", _issue_parent("changelog_truncated")),
        allow_status=frozenset({404}),
        on_status=_child_gone,
        entities=("work_item_transition",),
    ),
    StreamSpec(
        name="comments",
        privacy=Privacy(people=_PEOPLE, bodies=("body", "renderedBody"), embeds=_SELF),
        path="rest/api/3/issue/{external_id}/comment",
        normalize=n.issue_comment,
        records_path="comments",
        params=lambda ctx: {"maxResults": 100, "orderBy": "created"},
        paginator=lambda: OffsetPaginator("comments"),
        cursor=ChildOf("issues", _issue_parent("comment_truncated")),
        allow_status=frozenset({404}),
        on_status=_child_gone,
        entities=("comment",),
    ),
    StreamSpec(
        name="worklogs",
        privacy=Privacy(people=_PEOPLE, bodies=("comment",), embeds=_SELF),
        path="rest/api/3/issue/{external_id}/worklog",
        normalize=n.raw_only,
        records_path="worklogs",
        params=lambda ctx: {"maxResults": 5000},
        paginator=lambda: OffsetPaginator("worklogs"),
        cursor=ChildOf("issues", _issue_parent("worklog_truncated")),
        allow_status=frozenset({404}),
        on_status=_child_gone,
    ),
    StreamSpec(
        name="sprint_members",
        privacy=ISSUE_PRIVACY,
        path="rest/agile/1.0/sprint/{external_id}/issue",
        normalize=n.raw_only,
        collect=n.sprint_members,
        records_path="issues",
        params=lambda ctx: {"fields": "key", "maxResults": AGILE_PAGE},
        paginator=lambda: OffsetPaginator("issues"),
        cursor=ChildOf(
            "sprints",
            ParentSpec(
                entity="sprint",
                fields=("external_id", "name", "state", "complete_at", "extra"),
                select=_open_sprint_of_project,
            ),
        ),
        allow_status=frozenset({404}),
        on_status=_child_gone,
        entities=("sprint",),
    ),
)
