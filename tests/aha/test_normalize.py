"""Unit tests of the Aha! normalizers: payload shapes in, shared-schema rows out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest

from connectors.aha import normalize as n
from connectors.aha.classify import classify_aha
from connectors.aha.options import AhaOptions
from connectors.errors import ErrorKind
from connectors.streams import Partition, StreamContext


def ctx(product_id: str = "131414752", parent: dict[str, Any] | None = None) -> StreamContext:
    part = Partition(key=product_id, values={"product_id": product_id, "prefix": "PRJ1", "external_id": product_id})
    return StreamContext(
        tenant_id=1,
        source_id=1,
        options=AhaOptions(base_url="https://acme.aha.io"),
        partition=part,
        parent=parent,
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )


FULL_FEATURE: dict[str, Any] = {
    "id": "1007868956",
    "name": "Feature 1",
    "reference_num": "PRJ1-1",
    "created_at": "2019-01-01T00:00:00.000Z",
    "updated_at": "2019-02-03T04:05:06.000Z",
    "product_id": "131414752",
    "status_changed_on": "2019-03-01",
    "workflow_kind": {"id": "98484309", "name": "New"},
    "workflow_status": {"id": "1", "name": "Shipped", "position": 5, "complete": True, "color": "#fff"},
    "assigned_to_user": {"id": "16338845", "name": "John Smith", "email": "j@example.com", "default_assignee": False},
    "created_by_user": {"id": "1020675218", "name": "Mary Humpty", "email": "m@example.com"},
    "release": {"id": "278327321", "reference_num": "PRJ1-R-1", "name": "Release 1"},
    "epic": {"id": "999605892", "reference_num": "PRJ1-E-1", "name": "Epic 1"},
    "tags": ["Engineering", "Infrastructure"],
    "work_units": 20,
    "original_estimate": 5,
    "custom_fields": [{"id": 621325984, "key": "customer", "name": "Customer", "value": "Acme", "type": "string"}],
    "unknown_new_field": {"anything": True},
}


def test_feature_maps_status_people_release_tags_and_keeps_custom_fields_raw() -> None:
    [row] = list(n.features(FULL_FEATURE, ctx()))
    d = row.data
    assert row.entity == "work_item"
    assert d["external_id"] == "1007868956" and d["key"] == "PRJ1-1" and d["type"] == "feature"
    assert d["status"] == "Shipped" and d["status_category"] == "done"
    assert d["assignee_external_id"] == "16338845" and d["reporter_external_id"] == "1020675218"
    assert d["release_external_id"] == "278327321" and d["parent_external_id"] == "999605892"
    assert d["project_external_id"] == "131414752"
    assert d["labels"] == ["Engineering", "Infrastructure"]
    assert d["story_points"] == 5.0
    assert d["updated_at"] == datetime(2019, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert d["resolved_at"] == datetime(2019, 3, 1, tzinfo=UTC)
    assert d["extra"]["custom_fields"] == FULL_FEATURE["custom_fields"]
    assert d["extra"]["workflow_kind"] == "New"


def test_compact_feature_from_a_list_without_fields_still_normalizes() -> None:
    compact = {"id": 209201304, "reference_num": "PRJ1-4", "name": "Fourth", "created_at": "2019-01-01T00:00:00.000Z"}
    [row] = list(n.features(compact, ctx("555")))
    assert row.data["external_id"] == "209201304"  # numbers become strings
    assert row.data["project_external_id"] == "555"  # from the partition when the record omits it
    assert row.data["status"] is None and row.data["updated_at"] is None


@pytest.mark.parametrize(
    ("status", "category"),
    [
        ({"name": "New", "position": 1, "complete": False}, "todo"),
        ({"name": "Under consideration", "position": 3, "complete": False}, "todo"),
        ({"name": "In development", "position": 3, "complete": False}, "in_progress"),
        ({"name": "Will not implement", "position": 7, "complete": True}, "done"),
    ],
)
def test_status_category(status: dict[str, Any], category: str) -> None:
    assert n.status_category(n.WorkflowStatus.model_validate(status)) == category


def test_time_estimates_are_not_story_points() -> None:
    [row] = list(n.features({**FULL_FEATURE, "work_units": 10, "original_estimate": 480}, ctx()))
    assert row.data["story_points"] is None
    assert row.data["extra"]["original_estimate"] == 480


def test_requirement_parent_is_its_feature_and_numeric_release_id_is_a_string() -> None:
    payload = {
        "id": "483368544",
        "reference_num": "PRJ1-1-1",
        "name": "Body of requirement 1",
        "release_id": 278327321,
        "feature": {"id": "1007868956", "reference_num": "PRJ1-1", "product_id": "131414752"},
        "workflow_status": {"name": "New", "position": 1, "complete": False},
    }
    [row] = list(n.requirements(payload, ctx(parent={"external_id": "other", "project_external_id": "131414752"})))
    assert row.data["type"] == "requirement"
    assert row.data["parent_external_id"] == "1007868956"
    assert row.data["release_external_id"] == "278327321"
    assert row.data["project_external_id"] == "131414752"


def test_requirement_without_feature_falls_back_to_the_parent_row() -> None:
    [row] = list(n.requirements({"id": "1"}, ctx(parent={"external_id": "77", "project_external_id": "9"})))
    assert row.data["parent_external_id"] == "77" and row.data["project_external_id"] == "131414752"


def test_epic_initiative_and_idea_types() -> None:
    [epic] = list(n.epics({"id": "1", "initiative": {"id": "42"}}, ctx()))
    [ini] = list(n.initiatives({"id": "2", "status": "not_started"}, ctx()))
    [idea] = list(n.ideas({"id": "3", "feature": {"id": "7"}}, ctx()))
    assert (epic.data["type"], epic.data["parent_external_id"]) == ("epic", "42")
    assert (ini.data["type"], ini.data["status"]) == ("initiative", "not_started")
    assert idea.data["type"] == "idea" and idea.data["extra"]["promoted_to_external_id"] == "7"


def test_release_dates_and_released_fallback() -> None:
    [row] = list(
        n.releases({"id": "5", "name": "R1", "release_date": "2019-01-01", "released_on": "2019-01-02"}, ctx())
    )
    assert row.entity == "release"
    assert row.data["release_date"] == datetime(2019, 1, 1, tzinfo=UTC)
    assert row.data["released"] is True  # released_on is in the past of ctx.now
    [unnamed] = list(n.releases({"id": "6", "reference_num": "PRJ1-R-6"}, ctx()))
    assert unnamed.data["name"] == "PRJ1-R-6" and unnamed.data["released"] is None


def test_product_is_a_project_keyed_by_id_with_its_prefix() -> None:
    [row] = list(
        n.products({"id": "174813163", "reference_prefix": "PL3", "name": "Line", "product_line": True}, ctx())
    )
    assert row.entity == "project"
    assert (row.data["external_id"], row.data["key"], row.data["kind"]) == ("174813163", "PL3", "product_line")


def test_people_from_account_and_product_users() -> None:
    [a] = list(n.account_users({"id": 9, "name": "Ann", "email": "a@x.io", "enabled": False}, ctx()))
    [p] = list(n.product_users({"role": 20, "user": {"id": "9", "name": "Ann", "email": "a@x.io"}}, ctx()))
    assert a.data["external_id"] == p.data["external_id"] == "9"
    assert a.data["active"] is False and "active" not in p.data  # a product listing does not know
    assert "extra" not in p.data  # never overwrite what the account listing stored


@pytest.mark.parametrize(
    ("kind", "parent_kind"),
    [
        ("Feature", "work_item"),
        ("Ideas::Idea", "work_item"),
        ("Release", "release"),
        ("StrategicImperative", "strategicimperative"),
    ],
)
def test_comment_parent_kinds(kind: str, parent_kind: str) -> None:
    payload = {"id": "1", "body": "<p>hi</p>", "user": {"id": "2"}, "commentable": {"type": kind, "id": "3"}}
    [row] = list(n.comments(payload, ctx()))
    assert (row.data["parent_kind"], row.data["parent_external_id"]) == (parent_kind, "3")
    assert row.data["author_external_id"] == "2" and row.data["body"] == "<p>hi</p>"


@pytest.mark.parametrize(
    "payload",
    [{"name": "no id"}, {"id": "1", "workflow_status": "Shipped"}, {"id": "1", "updated_at": "yesterday"}],
)
def test_malformed_records_raise_validation_errors(payload: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        list(n.features(payload, ctx()))


def test_products_option_globs() -> None:
    opts = AhaOptions(base_url="https://acme.aha.io/api/v1/", products=" PRJ*, MW1 ")
    assert opts.base_url == "https://acme.aha.io"
    assert opts.wants_product("prj7") and opts.wants_product("MW1") and not opts.wants_product("PL1")
    with pytest.raises(pydantic.ValidationError):
        AhaOptions(base_url="https://acme.aha.io", products=" , ")


@pytest.mark.parametrize(
    ("status", "path", "kind", "words"),
    [
        (200, "/api/v1/products", None, ""),
        (401, "/api/v1/products", ErrorKind.CONFIG, "API key"),
        (403, "/api/v1/products/PRJ1/features", ErrorKind.CONFIG, "`products` option"),
        (404, "/api/v1/products/PRJ9/features", ErrorKind.CONFIG, "no longer exists"),
        (404, "/api/v1/features/1/requirements", ErrorKind.CONFIG, "not found"),
        (429, "/api/v1/products", ErrorKind.TRANSIENT, "rate limited"),
        (502, "/api/v1/products", ErrorKind.TRANSIENT, "server error"),
    ],
)
def test_classifier(status: int, path: str, kind: ErrorKind | None, words: str) -> None:
    request = httpx.Request("GET", "https://acme.aha.io" + path)
    verdict = classify_aha(httpx.Response(status, json={"error": "x"}, headers={"Retry-After": "3"}, request=request))
    assert verdict.kind is kind and words in verdict.reason
