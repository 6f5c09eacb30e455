"""A tenant's identities and work links over HTTP; manual merge and split (the same service as
`headwater people` and `headwater links`: ``linking.views``).

Who: the admin token, or a token of the tenant itself. Another tenant's identities, persons and
links answer 404, like an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from headwater.api.auth import Principal
from headwater.api.lookup import MAX_ID, not_found, visible_tenant
from headwater.api.schemas import StrictBody
from headwater.api.validation import SafeRoute
from headwater.app import App
from linking.mappings import MappingError, MappingNotFound, add_mapping, mappings_document, remove_mapping
from linking.views import NotFound, links_document, merge, people_document, split

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such tenant, identity or person visible to this token."}
}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "A malformed id."}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "An identity cannot be merged with itself."}}


class AccountOut(BaseModel):
    person_id: int
    kind: str
    source_id: int
    external_id: str
    login: str | None
    email: str | None
    display_name: str | None
    how: str = Field(description="email | mapping | rule:<name> | manual | single")
    confidence: float
    decided_by_person: bool


class IdentityOut(BaseModel):
    id: int
    display_name: str | None
    accounts: list[AccountOut]


class LinkEnd(BaseModel):
    kind: str
    source_id: int
    external_id: str
    key: str | None = None


class LinkOut(BaseModel):
    from_: LinkEnd = Field(alias="from")
    to: LinkEnd
    how: str = Field(description="key_in_title | key_in_branch | key_in_message | aha_integration | mention")


class MergeRequest(StrictBody):
    identity_id: int = Field(ge=1, le=MAX_ID)
    other_identity_id: int = Field(ge=1, le=MAX_ID)


class SplitRequest(StrictBody):
    person_id: int = Field(ge=1, le=MAX_ID)


class MappingRequest(StrictBody):
    account: str = Field(min_length=3, max_length=600, description="KIND:LOGIN_OR_EMAIL, e.g. slack:ada")
    email: str | None = Field(None, max_length=512, description="The address of the person the account is.")
    identity_id: int | None = Field(None, ge=1, le=MAX_ID, description="The identity the account joins.")


class MappingOut(BaseModel):
    id: int
    account: str = Field(description="kind:login, address or external id (lower case)")
    to_email: str | None
    to_person_id: int | None = Field(description="The account it is one with (the identity's first, when mapped)")
    decided_by: str
    created_at: str


Body_ = TypeVar("Body_", bound=StrictBody)


def required(body: Body_ | None) -> Body_:
    if body is None:
        raise HTTPException(status_code=422, detail="body: a JSON object is required")
    return body


def people_router(hw: App, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(route_class=SafeRoute, tags=["people"])

    def decided_by(who: Principal) -> str:
        return "api:admin" if who.admin else f"api:tenant:{who.tenant_id}"

    @router.get("/tenants/{slug}/people", response_model=list[IdentityOut])
    def get_people(slug: str, who: Principal = Depends(principal)) -> list[dict[str, Any]]:
        """The tenant's identities, each with its accounts (person rows) and how each was linked."""
        with hw.db.read() as s:
            return people_document(s, visible_tenant(s, slug, who).id)

    @router.get("/tenants/{slug}/links", response_model=list[LinkOut], response_model_by_alias=True)
    def get_links(
        slug: str,
        kind: str | None = Query(None, max_length=32, description="Only links from or to rows of this kind."),
        who: Principal = Depends(principal),
    ) -> list[dict[str, Any]]:
        """The tenant's work links: rows naming Jira issues (PR titles, branches, commits, Slack, Aha!)."""
        with hw.db.read() as s:
            return links_document(s, visible_tenant(s, slug, who).id, kind)

    @router.post("/tenants/{slug}/people/merge", response_model=IdentityOut, responses={**NOT_FOUND, **CONFLICT})
    def post_merge(
        slug: str, body: MergeRequest | None = Body(None), who: Principal = Depends(principal)
    ) -> dict[str, Any]:
        """Merge two identities by hand; the decision holds in every later run."""
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)  # another tenant's: 404 whatever the body
            body = required(body)
            if body.identity_id == body.other_identity_id:
                raise HTTPException(status_code=409, detail=f"identity {body.identity_id} cannot be merged with itself")
            try:
                return merge(s, tenant.id, body.identity_id, body.other_identity_id, decided_by(who))
            except NotFound as exc:
                raise not_found(str(exc).removesuffix(" does not exist")) from None

    @router.post("/tenants/{slug}/people/split", response_model=IdentityOut, responses=NOT_FOUND)
    def post_split(
        slug: str, body: SplitRequest | None = Body(None), who: Principal = Depends(principal)
    ) -> dict[str, Any]:
        """Take a person (one account) out of its identity by hand; it stays apart in every later run."""
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)  # another tenant's: 404 whatever the body
            body = required(body)
            try:
                return split(s, tenant.id, body.person_id, decided_by(who))
            except NotFound as exc:
                raise not_found(str(exc).removesuffix(" does not exist")) from None

    @router.get("/tenants/{slug}/people/mappings", response_model=list[MappingOut])
    def get_mappings(slug: str, who: Principal = Depends(principal)) -> list[dict[str, Any]]:
        """The tenant's explicit mappings (configuration; applied after verified addresses, before rules)."""
        with hw.db.read() as s:
            return mappings_document(s, visible_tenant(s, slug, who).id)

    @router.post("/tenants/{slug}/people/mappings", response_model=MappingOut, responses=NOT_FOUND)
    def post_mapping(
        slug: str, body: MappingRequest | None = Body(None), who: Principal = Depends(principal)
    ) -> dict[str, Any]:
        """Map an account (landed or not yet) to an address or an identity; replaces its earlier mapping."""
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)  # another tenant's: 404 whatever the body
            body = required(body)
            try:
                return add_mapping(
                    s, tenant.id, body.account, email=body.email, identity_id=body.identity_id,
                    decided_by=decided_by(who),
                )  # fmt: skip
            except MappingError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from None
            except MappingNotFound as exc:
                raise not_found(str(exc).removesuffix(" does not exist")) from None

    @router.delete(
        "/tenants/{slug}/people/mappings/{mapping_id}", response_model=MappingOut, responses={**NOT_FOUND, **INVALID}
    )
    def delete_mapping(
        slug: str,
        mapping_id: str = Path(description="The mapping's id (a positive integer)."),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        """Remove an explicit mapping; identities are resolved again at once."""
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)  # another tenant's: 404 whatever the id (checked first)
            if not mapping_id.isdigit() or not 1 <= int(mapping_id) <= MAX_ID:
                raise HTTPException(status_code=422, detail=f"mapping_id: a positive integer (got {mapping_id[:40]!r})")
            try:
                return remove_mapping(s, tenant.id, int(mapping_id))
            except MappingNotFound as exc:
                raise not_found(str(exc).removesuffix(" does not exist")) from None

    return router
