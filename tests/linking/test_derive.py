"""The derived task reads from its watermark: what changed since is derived again, and a new Jira
issue makes older rows that name it links. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from linking.task import derive
from linking.views import links_document
from storage import Database, tombstone, upsert_rows
from storage.models import Source
from tenancy import add_tenant


def setup(db: Database) -> dict[str, int]:
    with db.session() as s:
        t = add_tenant(s, "acme")
        jira, gh = Source(tenant_id=t.id, kind="jira", options={}), Source(tenant_id=t.id, kind="github", options={})
        s.add_all([jira, gh])
        s.flush()
        return {"tenant": t.id, "jira": jira.id, "github": gh.id}


def put(db: Database, ids: dict[str, int], kind: str, entity: str, rows: list[dict[str, Any]]) -> None:
    with db.session() as s:
        upsert_rows(s, entity, [{"tenant_id": ids["tenant"], "source_id": ids[kind], **r} for r in rows])


def pr(number: int, title: str) -> dict[str, Any]:
    return {"external_id": f"r#{number}", "repository_external_id": "r", "number": number, "title": title,
            "state": "open"}  # fmt: skip


def keys(db: Database, tenant: int) -> list[tuple[str, str | None]]:
    with db.read() as s:
        return [(x["from"]["external_id"], x["to"]["key"]) for x in links_document(s, tenant)]


def test_only_what_changed_is_derived_again_and_new_issues_relink_old_rows(any_db: Database) -> None:
    ids = setup(any_db)
    put(any_db, ids, "jira", "project", [{"external_id": "1", "key": "ALPHA"}])
    put(any_db, ids, "jira", "work_item", [{"external_id": "11", "key": "ALPHA-1"}])
    put(any_db, ids, "github", "pull_request", [pr(1, "ALPHA-1 a"), pr(2, "ALPHA-2 b")])
    first = derive(any_db, ids["tenant"])
    assert first.links_scope == "all" and first.links_changed == 1
    assert keys(any_db, ids["tenant"]) == [("r#1", "ALPHA-1")]

    again = derive(any_db, ids["tenant"])
    assert again.changed == 0 and not again.identities_rebuilt  # nothing changed since its watermark

    # An edited title (ingested after the watermark): its links are derived again, the rest kept.
    put(any_db, ids, "github", "pull_request", [{**pr(1, "no key any more"), "updated_at": None}])
    edited = derive(any_db, ids["tenant"])
    assert edited.links_scope == "changed" and edited.links_changed == 1
    assert keys(any_db, ids["tenant"]) == []

    # ALPHA-2 appears in Jira: the older PR naming it becomes a link (every row is read again).
    put(any_db, ids, "jira", "work_item", [{"external_id": "12", "key": "ALPHA-2"}])
    relinked = derive(any_db, ids["tenant"])
    assert relinked.links_scope == "all" and keys(any_db, ids["tenant"]) == [("r#2", "ALPHA-2")]
    assert derive(any_db, ids["tenant"]).changed == 0

    # The PR is deleted at the provider (tombstoned): its link goes with it.
    with any_db.session() as s:
        tombstone(s, "pull_request", tenant_id=ids["tenant"], source_id=ids["github"], external_ids=["r#2"])
    gone = derive(any_db, ids["tenant"])
    assert gone.links_scope == "changed" and gone.links_changed == 1 and keys(any_db, ids["tenant"]) == []
