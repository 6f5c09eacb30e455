"""End to end against the replay server (real recorded Jira responses served as a live API):
no DATA or BUG error, and every record the server hands out is loaded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage import Database
from storage.models import RawPage
from tests.atlassian_support import replayed
from tests.conftest import MakeRuntime, require_recordings
from tests.ingest_support import rows

API = "/rest/api/{v:2|3|latest}"
ENTITY_TEMPLATES = {
    "/rest/api/3/search/jql": "work_item",
    f"{API}/project/search": "project",
    f"{API}/users/search": "person",
    f"{API}/project/{{key}}/versions": "release",
    "/rest/agile/1.0/board/{board_id}/sprint": "sprint",
}
RAW_TEMPLATES = {f"{API}/field": "fields", f"{API}/status": "statuses", f"{API}/issuetype": "issue_types"}


def served_ids(template: dict[str, Any]) -> set[str]:
    return {str(i) for entry in template["served"] for i in entry["ids"]}


def test_replay_end_to_end(make_runtime: MakeRuntime, sqlite_db: Database) -> None:
    folder = require_recordings("jira")
    secrets = {"email": "someone@example.com", "api_token": "dummytoken"}
    run = replayed(
        "jira",
        folder,
        sqlite_db,
        lambda url: make_runtime("jira", {"base_url": f"{url}/any/site", "projects": "*"}, secrets),
    )
    rt, out, served = run.rt, run.out, run.served
    # projects=* means every project the site lists.
    assert {p["key"] for p in rows(sqlite_db, rt.source_id, "project")} == {"EX", "ABC"}
    assert {k.split(":")[2] for k in out.results if ":issues:" in k} == {"EX", "ABC"}

    for template, entity in ENTITY_TEMPLATES.items():
        assert template in served, f"the connector never read {template}"
        loaded = {str(r["external_id"]) for r in rows(sqlite_db, rt.source_id, entity)}
        missing = served_ids(served[template]) - loaded
        assert not missing, f"{template}: served but not loaded as {entity}: {missing}"
    members = {x for s in rows(sqlite_db, rt.source_id, "sprint") for x in s["work_item_external_ids"]}
    assert served_ids(served["/rest/agile/1.0/sprint/{sprint_id}/issue"]) <= members
    with sqlite_db.session() as s:
        for template, stream in RAW_TEMPLATES.items():
            landed = sum(len(p.records) for p in s.execute(select(RawPage).where(RawPage.stream == stream)).scalars())
            assert landed == served[template]["served"][0]["count"], template
    assert sum(t["items_served"] for t in served.values()) > 0
