"""Aha! payloads (pydantic, tolerant of extra and missing fields) and their shared-schema rows.

Aha! returns compact records from list endpoints unless ``fields`` asks for more, ids are
strings except where they are not (``release_id`` is a number), and custom fields come as a
list of ``{key, name, value, type}``. Everything not mapped to a column is kept raw in ``extra``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from connectors.streams import Row, StreamContext


def _to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else value


Id = Annotated[str, BeforeValidator(_to_str)]


class AhaModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UserRef(AhaModel):
    id: Id
    name: str | None = None
    email: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class AccountUser(UserRef):
    """``GET /users`` (account users)."""

    enabled: bool | None = None
    paid_seat: bool | None = None
    administrator: bool | None = None
    accessed_at: datetime | None = None


class ProjectUser(AhaModel):
    """``GET /products/:id/users``."""

    role: int | None = None
    role_description: str | None = None
    user: UserRef


class WorkflowStatus(AhaModel):
    id: Id | None = None
    name: str | None = None
    position: int | None = None
    complete: bool | None = None


class Named(AhaModel):
    id: Id | None = None
    name: str | None = None


class Ref(AhaModel):
    """A reference to another record (release, epic, initiative, feature)."""

    id: Id
    reference_num: str | None = None
    name: str | None = None


def _single(value: Any) -> Any:
    # Initiatives list their child epics/features under the same names ("epic": [...]):
    # a list is not a reference to a parent.
    return None if isinstance(value, list) else value


ParentRef = Annotated[Ref | None, BeforeValidator(_single)]


class ProjectRef(AhaModel):
    id: Id
    reference_prefix: str | None = None
    name: str | None = None


class Product(AhaModel):
    id: Id
    reference_prefix: str
    name: str | None = None
    product_line: bool | None = None
    workspace_type: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None


class Release(AhaModel):
    id: Id
    reference_num: str | None = None
    name: str | None = None
    product_id: Id | None = None
    project: ProjectRef | None = None
    start_date: date | None = None
    release_date: date | None = None
    released: bool | None = None
    released_on: date | None = None
    parking_lot: bool | None = None
    master_release: bool | None = None
    parent: ParentRef = None
    owner: UserRef | None = None
    workflow_status: WorkflowStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None
    custom_fields: list[Any] = Field(default_factory=list)


class Record(AhaModel):
    """Features, requirements, epics, initiatives and ideas share this shape."""

    id: Id
    reference_num: str | None = None
    name: str | None = None
    product_id: Id | None = None
    project: ProjectRef | None = None
    workflow_kind: Named | None = None
    workflow_status: WorkflowStatus | None = None
    status: str | None = None  # initiatives also carry a plain status
    assigned_to_user: UserRef | None = None
    created_by_user: UserRef | None = None
    release: ParentRef = None
    release_id: Id | None = None
    epic: ParentRef = None
    master_feature: ParentRef = None  # older accounts: epics were "master features"
    initiative: ParentRef = None
    feature: ParentRef = None  # requirement -> feature; idea -> promoted feature
    tags: list[Any] = Field(default_factory=list)
    custom_fields: list[Any] = Field(default_factory=list)
    # [{name: url|key|id, value, service_name: "jira", integration_id}, ...]: the record's links
    # to issues of integrated tools (what work linking reads)
    integration_fields: list[Any] = Field(default_factory=list)
    original_estimate: float | None = None
    remaining_estimate: float | None = None
    work_units: int | None = None
    score: float | None = None
    status_changed_on: date | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None


class Commentable(AhaModel):
    id: Id
    type: str | None = None
    product_id: Id | None = None


class Comment(AhaModel):
    id: Id
    body: str | None = None
    user: UserRef | None = None
    commentable: Commentable | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None


# -- helpers ---------------------------------------------------------------------------------
TODO_STATUSES = {"new", "not started", "under consideration", "needs review", "future consideration", "backlog"}
POINTS = 20  # Aha! ``work_units``: 10 = time (minutes), 20 = story points


def status_category(status: WorkflowStatus | None) -> str | None:
    """Aha! workflows are per product; ``complete`` marks done, the first status is "to do"."""
    if status is None:
        return None
    if status.complete:
        return "done"
    if status.position == 1 or (status.name or "").strip().lower() in TODO_STATUSES:
        return "todo"
    return "in_progress"


def day(value: date | None) -> datetime | None:
    return datetime.combine(value, time(), tzinfo=UTC) if value is not None else None


def tag_names(tags: Iterable[Any]) -> list[str]:
    out = []
    for tag in tags:
        name = tag.get("name") if isinstance(tag, Mapping) else tag
        if name is not None:
            out.append(str(name))
    return out


def partition_product(ctx: StreamContext) -> str | None:
    if ctx.partition is None:
        return None
    return str(ctx.partition.values.get("product_id") or ctx.partition.key)


def product_of(record: Record | Release, ctx: StreamContext) -> str | None:
    if record.product_id:
        return record.product_id
    if record.project is not None:
        return record.project.id
    return partition_product(ctx)


# -- normalizers -----------------------------------------------------------------------------
def products(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    p = Product.model_validate(payload)
    yield Row(
        "project",
        {
            "external_id": p.id,
            "key": p.reference_prefix,
            "name": p.name,
            "kind": "product_line" if p.product_line else "product",
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "extra": {"workspace_type": p.workspace_type, "url": p.url},
        },
    )


def person_row(user: UserRef) -> dict[str, Any]:
    return {
        "external_id": user.id,
        "login": user.email,
        "display_name": user.name,
        "email": user.email,
        "is_bot": False,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def account_users(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    u = AccountUser.model_validate(payload)
    row = person_row(u)
    row["active"] = u.enabled
    row["extra"] = {"administrator": u.administrator, "paid_seat": u.paid_seat}
    yield Row("person", row)


def product_users(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    pu = ProjectUser.model_validate(payload)
    yield Row("person", person_row(pu.user))


def releases(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Release.model_validate(payload)
    released = r.released
    if released is None and r.released_on is not None:
        released = r.released_on <= ctx.now.date()
    yield Row(
        "release",
        {
            "external_id": r.id,
            "project_external_id": product_of(r, ctx),
            "name": r.name or r.reference_num or r.id,
            "release_date": day(r.release_date),
            "released": released,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "extra": {
                "reference_num": r.reference_num,
                "start_date": r.start_date.isoformat() if r.start_date else None,
                "parking_lot": r.parking_lot,
                "master_release": r.master_release,
                "parent_external_id": r.parent.id if r.parent else None,
                "owner_external_id": r.owner.id if r.owner else None,
                "status": r.workflow_status.name if r.workflow_status else None,
                "url": r.url,
                "custom_fields": r.custom_fields,
            },
        },
    )


def work_item_row(r: Record, kind: str, ctx: StreamContext, *, parent: str | None) -> dict[str, Any]:
    status = r.workflow_status
    category = status_category(status)
    release = r.release.id if r.release else r.release_id
    points = r.original_estimate if r.work_units == POINTS else None
    return {
        "external_id": r.id,
        "key": r.reference_num,
        "title": r.name,
        "type": kind,
        "status": status.name if status else r.status,
        "status_category": category,
        "assignee_external_id": r.assigned_to_user.id if r.assigned_to_user else None,
        "reporter_external_id": r.created_by_user.id if r.created_by_user else None,
        "parent_external_id": parent,
        "project_external_id": product_of(r, ctx),
        "release_external_id": release,
        "labels": tag_names(r.tags),
        "story_points": points,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "resolved_at": day(r.status_changed_on) if category == "done" else None,
        "extra": {
            "workflow_kind": r.workflow_kind.name if r.workflow_kind else None,
            "original_estimate": r.original_estimate,
            "remaining_estimate": r.remaining_estimate,
            "work_units": r.work_units,
            "score": r.score,
            "url": r.url,
            "custom_fields": r.custom_fields,
            "integration_fields": r.integration_fields,
        },
    }


def features(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Record.model_validate(payload)
    epic = r.epic or r.master_feature
    yield Row("work_item", work_item_row(r, "feature", ctx, parent=epic.id if epic else None))


def requirements(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Record.model_validate(payload)
    parent = r.feature.id if r.feature else None
    if parent is None and ctx.parent is not None:
        parent = str(ctx.parent["external_id"])
    row = work_item_row(r, "requirement", ctx, parent=parent)
    if row["project_external_id"] is None and ctx.parent is not None:
        row["project_external_id"] = ctx.parent.get("project_external_id")
    yield Row("work_item", row)


def epics(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Record.model_validate(payload)
    yield Row("work_item", work_item_row(r, "epic", ctx, parent=r.initiative.id if r.initiative else None))


def initiatives(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Record.model_validate(payload)
    yield Row("work_item", work_item_row(r, "initiative", ctx, parent=None))


def ideas(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Record.model_validate(payload)
    row = work_item_row(r, "idea", ctx, parent=None)
    row["extra"]["promoted_to_external_id"] = r.feature.id if r.feature else None
    yield Row("work_item", row)


# Aha! commentable types -> shared-schema parent kinds.
COMMENT_PARENTS = {
    "feature": "work_item",
    "requirement": "work_item",
    "epic": "work_item",
    "masterfeature": "work_item",
    "initiative": "work_item",
    "ideas::idea": "work_item",
    "idea": "work_item",
    "release": "release",
    "product": "project",
    "project": "project",
}


def comments(payload: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    c = Comment.model_validate(payload)
    target = c.commentable
    kind = (target.type or "unknown") if target else "unknown"
    yield Row(
        "comment",
        {
            "external_id": c.id,
            "parent_kind": COMMENT_PARENTS.get(kind.lower(), kind.lower()[:32]),
            "parent_external_id": target.id if target else (partition_product(ctx) or ""),
            "author_external_id": c.user.id if c.user else None,
            "body": c.body,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "extra": {"commentable_type": kind, "url": c.url},
        },
    )
