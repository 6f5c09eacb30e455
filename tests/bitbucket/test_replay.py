"""End to end against the replay server (real recorded Bitbucket responses served as a live API):
no DATA or BUG error, and every record the server hands out is loaded."""

from __future__ import annotations

from typing import Any

import pytest

from storage import Database
from tests.atlassian_support import replayed
from tests.conftest import MakeRuntime, require_recordings
from tests.ingest_support import rows

B = "/repositories/{workspace}/{repo_slug}"
TEMPLATES: dict[str, tuple[str, str]] = {  # template -> (entity, column holding the served id)
    "/repositories/{workspace}": ("repository", "external_id"),
    "/workspaces/{workspace}/members": ("person", "external_id"),
    "/workspaces/{workspace}/projects": ("project", "external_id"),
    B + "/refs/branches": ("branch", "name"),
    B + "/commits": ("commit", "sha"),
    B + "/pullrequests": ("pull_request", "number"),
    B + "/pullrequests/{pr_id:int}/commits": ("commit", "sha"),
    B + "/pullrequests/{pr_id:int}/activity": ("comment", "external_id"),
}


def served_ids(template: dict[str, Any]) -> set[str]:
    return {str(i) for entry in template["served"] for i in entry["ids"]}


@pytest.mark.parametrize(
    ("suffix", "secrets"),
    [("/2.0", {"token": "dummytoken"}), ("", {"username": "someone@example.com", "api_token": "dummytoken"})],
    ids=["bearer", "basic-no-base-path"],
)
def test_replay_end_to_end(
    make_runtime: MakeRuntime, sqlite_db: Database, suffix: str, secrets: dict[str, str]
) -> None:
    folder = require_recordings("bitbucket")
    run = replayed(
        "bitbucket",
        folder,
        sqlite_db,
        lambda url: make_runtime("bitbucket", {"base_url": url + suffix, "workspace": "any-workspace"}, secrets),
    )
    rt, served = run.rt, run.served
    assert rows(sqlite_db, rt.source_id, "repository")
    for template, (entity, column) in TEMPLATES.items():
        assert template in served, f"the connector never read {template}"
        loaded = {str(r[column]) for r in rows(sqlite_db, rt.source_id, entity)}
        missing = served_ids(served[template]) - loaded
        assert not missing, f"{template}: served but not loaded as {entity}: {missing}"
    assert served[B + "/commits"]["items_served"] > 0 and served[B + "/pullrequests"]["items_served"] > 0
