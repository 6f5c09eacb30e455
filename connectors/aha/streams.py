"""The Aha! streams, as a table.

Products are the partitions. Every list endpoint pages with ``page``/``per_page`` and a
``pagination`` object (``total_records``, ``total_pages``, ``current_page``). List endpoints
return compact records unless ``fields`` names what to return, so each stream asks for the
fields it normalizes. Features, epics and ideas read incrementally with ``updated_since``;
requirements are children of the features loaded in this or an earlier run.

Aha! allows 300 requests per minute (and 20 per second) per account; every stream shares one
bucket paced under that budget, and 429s with ``Retry-After`` are retried by the HTTP client.
"""

from __future__ import annotations

from typing import Any

from connectors.aha import normalize as n
from connectors.cursors import ChildOf, Since, Snapshot, changed_since_cursor, cursor_text
from connectors.http.pagination import PageNumberPaginator
from connectors.http.ratelimit import Pace
from connectors.privacy import Privacy
from connectors.streams import ParentSpec, PartitionCheck, StatusAction, StreamContext, StreamSpec

API = "/api/v1"
PER_PAGE = 200  # Aha!'s maximum page size
PACE = Pace(300, 60.0)  # documented: 300 requests per minute per account
BUCKET = "api"

RELEASE_FIELDS = (
    "id,reference_num,name,product_id,project,start_date,release_date,released,released_on,parking_lot,"
    "master_release,parent,owner,workflow_status,created_at,updated_at,url,custom_fields"
)
RECORD_FIELDS = (
    "id,reference_num,name,product_id,project,workflow_kind,workflow_status,assigned_to_user,created_by_user,"
    "release,epic,master_feature,initiative,tags,custom_fields,original_estimate,remaining_estimate,work_units,"
    "score,status_changed_on,created_at,updated_at,url,integration_fields"
)
REQUIREMENT_FIELDS = (
    "id,reference_num,name,feature,release_id,workflow_status,assigned_to_user,created_by_user,tags,"
    "custom_fields,original_estimate,remaining_estimate,work_units,created_at,updated_at,url"
)
INITIATIVE_FIELDS = RECORD_FIELDS + ",status"
IDEA_FIELDS = (
    "id,reference_num,name,product_id,workflow_status,created_by_user,assigned_to_user,feature,tags,"
    "custom_fields,score,status_changed_on,created_at,updated_at,url"
)


def pages() -> PageNumberPaginator:
    return PageNumberPaginator(total_pages_path="pagination.total_pages")


def listing(fields: str | None = None, *, incremental: bool = False) -> Any:
    """A params hook: page size, the fields to return, and ``updated_since`` from the cursor."""

    def params(ctx: StreamContext) -> dict[str, Any]:
        out: dict[str, Any] = {"per_page": PER_PAGE}
        if fields:
            out["fields"] = fields
        since = cursor_text(ctx) if incremental else None
        if since:
            out["updated_since"] = since
        return out

    return params


def gone_is_empty(status: int, ctx: StreamContext) -> str:
    """Nothing to read: /users needs an account admin (403); a feature deleted since it was listed (404)."""
    return StatusAction.EMPTY


PRODUCT = API + "/products/{partition_key}"  # the product id: stable when a prefix is renamed
COMMON: dict[str, Any] = {"paginator": pages, "bucket": BUCKET, "pace": PACE}
# A 404 of a product's listing (an account without epics or initiatives, a record type the user
# may not see) is not proof the product is gone: the runner asks GET /products/{id} first.
PARTITION_CHECK = PartitionCheck(
    path=PRODUCT,
    what="product",
    hint=(
        'a record type this Aha! account does not use (epics were "master features" in older accounts), or a '
        "permission the API key's user lacks in this product"
    ),
    bucket=BUCKET,
    pace=PACE,
)

# Privacy (connectors.privacy). Aha! embeds a user as {id, name, email} wherever one appears
# (assigned_to_user, created_by_user, owner, a comment's user, a product user's user); "name" is
# also a record's own title, so only the user objects' names are named here.
_USERS = ("assigned_to_user", "created_by_user", "owner", "user", "created_by_portal_user", "idea_user")
_PEOPLE = (*(f"{u}.name" for u in _USERS), *(f"{u}.first_name" for u in _USERS), "**.email")
RECORD_PRIVACY = Privacy(
    people=_PEOPLE,
    # rich-text custom fields ("note") repeat their text in body and value
    bodies=(
        "description",
        "**.description.body",
        "attachments",
        "theme",
        "custom_fields[type=note].body",
        "custom_fields[type=note].value",
    ),
)

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="products",
        privacy=Privacy(people=_PEOPLE, bodies=("description",)),
        path=API + "/products",
        records_path="products",
        normalize=n.products,
        params=listing(),
        partitioned=False,
        snapshot=Snapshot("project"),
        entities=("project",),
        **COMMON,
    ),
    StreamSpec(
        name="users",
        privacy=Privacy(people=("name", "first_name", "last_name", "email", *_PEOPLE)),
        path=API + "/users",
        records_path="users",
        normalize=n.account_users,
        params=listing(),
        partitioned=False,
        allow_status=frozenset({403}),
        on_status=gone_is_empty,
        entities=("person",),
        **COMMON,
    ),
    StreamSpec(
        name="product_users",
        privacy=Privacy(people=_PEOPLE),
        path=PRODUCT + "/users",
        records_path="project_users",
        normalize=n.product_users,
        params=listing(),
        entities=("person",),
        **COMMON,
    ),
    StreamSpec(
        name="releases",
        privacy=RECORD_PRIVACY,
        path=PRODUCT + "/releases",
        records_path="releases",
        normalize=n.releases,
        params=listing(RELEASE_FIELDS),
        entities=("release",),
        **COMMON,
    ),
    StreamSpec(
        name="features",
        privacy=RECORD_PRIVACY,
        path=PRODUCT + "/features",
        records_path="features",
        normalize=n.features,
        params=listing(RECORD_FIELDS, incremental=True),
        cursor=Since("updated_at"),
        entities=("work_item",),
        **COMMON,
    ),
    StreamSpec(
        name="requirements",
        privacy=RECORD_PRIVACY,
        path=API + "/features/{external_id}/requirements",
        records_path="requirements",
        normalize=n.requirements,
        params=listing(REQUIREMENT_FIELDS),
        cursor=ChildOf(
            "features",
            ParentSpec(
                entity="work_item",
                fields=("key", "project_external_id"),
                partition_column="project_external_id",
                where={"type": "feature"},
                select=changed_since_cursor(),
            ),
        ),
        allow_status=frozenset({404}),  # the feature was deleted after it was listed
        on_status=gone_is_empty,
        entities=("work_item",),
        **COMMON,
    ),
    StreamSpec(
        name="epics",
        privacy=RECORD_PRIVACY,
        path=PRODUCT + "/epics",
        records_path="epics",
        normalize=n.epics,
        params=listing(RECORD_FIELDS, incremental=True),
        cursor=Since("updated_at"),
        entities=("work_item",),
        **COMMON,
    ),
    StreamSpec(
        name="initiatives",
        privacy=RECORD_PRIVACY,
        path=PRODUCT + "/initiatives",
        records_path="initiatives",
        normalize=n.initiatives,
        params=listing(INITIATIVE_FIELDS),
        entities=("work_item",),
        **COMMON,
    ),
    StreamSpec(
        name="ideas",
        privacy=RECORD_PRIVACY,
        path=PRODUCT + "/ideas",
        records_path="ideas",
        normalize=n.ideas,
        params=listing(IDEA_FIELDS, incremental=True),
        cursor=Since("updated_at"),
        entities=("work_item",),
        **COMMON,
    ),
    StreamSpec(
        name="comments",
        privacy=Privacy(people=_PEOPLE, bodies=("body", "attachments")),
        path=PRODUCT + "/comments",
        records_path="comments",
        normalize=n.comments,
        params=listing(),
        entities=("comment",),
        **COMMON,
    ),
)
