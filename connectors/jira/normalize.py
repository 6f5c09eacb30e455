"""Jira payloads -> shared-schema rows (project, person, work_item, work_item_transition, comment,
sprint, release).

Keys: work items by issue id (keys change when an issue moves), people by accountId, comments by
comment id, transitions by "<issue id>:<history id>:<item index>", sprints and releases by id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.errors import DataError
from connectors.jira.catalog import catalog_of
from connectors.jira.payloads import Board, Comment, History, Issue, Project, Sprint, User, Version
from connectors.streams import Row, StreamContext

_TZ = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def parse_dt(value: Any) -> datetime | None:
    """Jira timestamps: ``2022-06-09T16:29:31.871-0700``, ``...Z``, ``...+00:00`` or a date."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _TZ.sub(lambda m: f"{m.group(1)}{m.group(2)}:{m.group(3)}", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"unreadable timestamp {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def adf_text(node: Any) -> str | None:
    """Plain text of an Atlassian Document Format body (or the string of a v2 body)."""
    if node is None:
        return None
    if isinstance(node, str):
        return node
    parts: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, Mapping):
            if n.get("type") == "text" and isinstance(n.get("text"), str):
                parts.append(n["text"])
            elif n.get("type") in ("mention", "emoji") and isinstance(n.get("attrs"), Mapping):
                parts.append(str(n["attrs"].get("text") or ""))
            elif n.get("type") == "hardBreak":
                parts.append("\n")
            for child in n.get("content") or []:
                walk(child)
            if n.get("type") in ("paragraph", "heading", "listItem", "codeBlock", "blockquote"):
                parts.append("\n")
        elif isinstance(n, list):
            for child in n:
                walk(child)

    walk(node)
    return "".join(parts).strip()


def _partition_id(ctx: StreamContext) -> str | None:
    if ctx.partition is None:
        return None
    value = ctx.partition.values.get("external_id")
    return str(value) if value is not None else None


# -- source level ------------------------------------------------------------------------------


def project(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    p = Project.model_validate(record)
    extra = {"project_type": p.project_type_key, "style": p.style, "simplified": p.simplified}
    yield Row(
        "project",
        {
            "external_id": p.id,
            "key": p.key,
            "name": p.name,
            "kind": "jira",
            "extra": {k: v for k, v in extra.items() if v is not None},
        },
    )


def person(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    u = User.model_validate(record)
    if not u.external_id:
        raise DataError("user without accountId")
    yield Row(
        "person",
        {
            "external_id": u.external_id,
            "login": u.name,
            "display_name": u.display_name,
            "email": u.email or None,
            "is_bot": u.account_type == "app",
            "active": u.active,
            "extra": {"account_type": u.account_type} if u.account_type else {},
        },
    )


def raw_only(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    """Reference data (fields, statuses, issue types, worklogs): landed raw, no shared-schema rows."""
    return ()


def release(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    v = Version.model_validate(record)
    project_id = str(v.project_id) if v.project_id is not None else _partition_id(ctx)
    extra = {"archived": v.archived, "start_date": v.start_date, "description": v.description}
    yield Row(
        "release",
        {
            "external_id": v.id,
            "name": v.name,
            "project_external_id": project_id,
            "release_date": parse_dt(v.release_date),
            "released": v.released,
            "extra": {k: val for k, val in extra.items() if val is not None},
        },
    )


def sprint_or_board(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    """The sprints listing walks boards then their sprints; boards themselves load nothing."""
    if "state" not in record and record.get("type") is not None:
        Board.model_validate(record)
        return
    s = Sprint.model_validate(record)
    board = s.origin_board_id if s.origin_board_id is not None else s.board_id
    extra: dict[str, Any] = {"goal": s.goal} if s.goal else {}
    if _partition_id(ctx) is not None:
        extra["project_id"] = _partition_id(ctx)
    yield Row(
        "sprint",
        {
            "external_id": str(s.id),
            "name": s.name,
            "board_external_id": str(board) if board is not None else None,
            "state": s.state,
            "start_at": parse_dt(s.start_date),
            "end_at": parse_dt(s.end_date),
            "complete_at": parse_dt(s.complete_date),
            "created_at": parse_dt(s.created_date),
            "extra": extra,
        },
    )


def sprint_members(records: list[Mapping[str, Any]], ctx: StreamContext) -> Iterable[Row]:
    """``collect`` hook: one sprint's complete issue listing -> its work_item_external_ids."""
    assert ctx.parent is not None
    ids = [str(r.get("id") or r.get("key")) for r in records if r.get("id") or r.get("key")]
    yield Row(
        "sprint",
        {
            "external_id": str(ctx.parent["external_id"]),
            "name": ctx.parent["name"],
            "work_item_external_ids": sorted(set(ids), key=lambda x: (len(x), x)),
        },
    )


# -- issues ------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _sprint_ids(value: Any) -> list[str]:
    """The sprint field: a list of sprint objects (Cloud) or legacy strings ``...[id=12,...]``."""
    out: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, Mapping) and item.get("id") is not None:
            out.append(str(item["id"]))
        elif isinstance(item, str):
            m = re.search(r"\bid=(\d+)", item)
            if m:
                out.append(m.group(1))
    return out


def transitions(issue_id: str, histories: Iterable[History]) -> Iterable[Row]:
    for h in histories:
        at = parse_dt(h.created)
        for i, item in enumerate(h.items):
            yield Row(
                "work_item_transition",
                {
                    "external_id": f"{issue_id}:{h.id}:{i}",
                    "work_item_external_id": issue_id,
                    "field": (item.field or item.field_id or "unknown")[:128],
                    "from_value": item.from_string if item.from_string is not None else item.from_,
                    "to_value": item.to_string if item.to_string is not None else item.to,
                    "at": at,
                    "created_at": at,
                    "updated_at": at,
                    "author_external_id": h.author.external_id if h.author else None,
                    "extra": {"field_id": item.field_id} if item.field_id else {},
                },
            )


def comment_row(issue_id: str, c: Comment) -> Row:
    return Row(
        "comment",
        {
            "external_id": c.id,
            "parent_kind": "work_item",
            "parent_external_id": issue_id,
            "author_external_id": c.author.external_id if c.author else None,
            "body": adf_text(c.body),
            "created_at": parse_dt(c.created),
            "updated_at": parse_dt(c.updated) or parse_dt(c.created),
            "extra": {"public": c.jsd_public} if c.jsd_public is not None else {},
        },
    )


def _truncated(page: Any, items: int) -> bool:
    total = getattr(page, "total", None)
    return page is not None and total is not None and total > items


def issue(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    """One issue from search/jql (or bulkfetch): the work item, its embedded changelog and comments."""
    i = Issue.model_validate(record)
    issue_id = i.external_id
    if not issue_id:
        raise DataError("issue without id or key")
    f = i.fields
    cat = catalog_of(ctx)
    points = next((p for p in (_number(f.custom(fid)) for fid in cat.story_points) if p is not None), None)
    sprints = [s for fid in cat.sprint for s in _sprint_ids(f.custom(fid))]
    histories = i.changelog.histories if i.changelog else []
    comments = f.comment.comments if f.comment else []
    worklogs = f.worklog.worklogs if f.worklog else []
    extra: dict[str, Any] = {
        "priority": f.priority.name if f.priority else None,
        "resolution": f.resolution.name if f.resolution else None,
        "components": [c.name for c in f.components if c.name],
        "fix_version_ids": [v.id for v in f.fix_versions if v.id],
        "sprint_ids": list(dict.fromkeys(sprints)),
        "creator": f.creator.external_id if f.creator else None,
        "time_spent_seconds": f.timespent,
        "changelog_truncated": _truncated(i.changelog, len(histories)),
        "comment_truncated": _truncated(f.comment, len(comments)),
        "worklog_truncated": _truncated(f.worklog, len(worklogs)),
    }
    project_id = (f.project.id if f.project and f.project.id else None) or _partition_id(ctx)
    yield Row(
        "work_item",
        {
            "external_id": issue_id,
            "key": i.key,
            "title": f.summary,
            "type": f.issuetype.name if f.issuetype else None,
            "status": f.status.name if f.status else None,
            "status_category": cat.category_of(f.status),
            "assignee_external_id": f.assignee.external_id if f.assignee else None,
            "reporter_external_id": f.reporter.external_id if f.reporter else None,
            "parent_external_id": (f.parent.id or f.parent.key) if f.parent else None,
            "project_external_id": project_id,
            "release_external_id": extra["fix_version_ids"][0] if extra["fix_version_ids"] else None,
            "labels": list(f.labels),
            "story_points": points,
            "created_at": parse_dt(f.created),
            "updated_at": parse_dt(f.updated),
            "resolved_at": parse_dt(f.resolutiondate),
            "extra": extra,
        },
    )
    yield from transitions(issue_id, histories)
    for c in comments:
        yield comment_row(issue_id, c)


def issue_seen(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    """The id listing used to detect deletions: id, (new) key and project of each live issue."""
    i = Issue.model_validate(record)
    if not i.external_id:
        raise DataError("issue without id or key")
    data: dict[str, Any] = {"external_id": i.external_id}
    if i.key:
        data["key"] = i.key
    project_id = (i.fields.project.id if i.fields.project else None) or _partition_id(ctx)
    if project_id:
        data["project_external_id"] = project_id
    yield Row("work_item", data)


def changelog_history(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    assert ctx.parent is not None
    yield from transitions(str(ctx.parent["external_id"]), [History.model_validate(record)])


def issue_comment(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    assert ctx.parent is not None
    yield comment_row(str(ctx.parent["external_id"]), Comment.model_validate(record))
