"""`headwater people|links` and GET/POST /api/tenants/{slug}/people|links on a small tenant built
by hand: the documents' shapes, merge and split, one-line errors, tenant isolation (404)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from headwater.cli import app as cli_app
from linking.task import derive
from storage import Database, upgrade, upsert_rows
from storage.models import Source, Tenant
from tenancy import add_tenant, create_token
from tests.api.conftest import ADMIN, RecordingDispatcher, api_for, make_app


def build(db: Database) -> dict[str, Any]:
    """Tenant acme: Aha!, Slack and Jira accounts of one person (one address), a GitHub account of
    no one else; Jira project ALPHA with issue ALPHA-1, a GitHub PR naming it and one naming UTF-8."""
    with db.session() as s:
        acme, other = add_tenant(s, "acme"), add_tenant(s, "globex")
        sources = {k: Source(tenant_id=acme.id, kind=k, options={}) for k in ("aha", "slack", "jira", "github")}
        s.add_all(sources.values())
        s.flush()
        src = {k: v.id for k, v in sources.items()}
        ids = {"acme": acme.id, "globex": other.id, **src}

    def rows(kind: str, entity: str, data: list[dict[str, Any]]) -> None:
        with db.session() as s:
            upsert_rows(s, entity, [{"tenant_id": ids["acme"], "source_id": src[kind], **r} for r in data])

    rows("aha", "person", [{"external_id": "a1", "login": "ada@x.example", "email": "ada@x.example"}])
    rows("slack", "person", [{"external_id": "U1", "login": "ada", "email": "ADA@x.example", "display_name": "ada"}])
    rows("jira", "person", [{"external_id": "j1", "login": "Ada", "email": "ada@x.example", "display_name": "Ada L"}])
    rows(
        "github", "person", [{"external_id": "7", "login": "zed"}, {"external_id": "8", "login": "bot", "is_bot": True}]
    )
    rows("jira", "project", [{"external_id": "100", "key": "ALPHA", "name": "Alpha"}])
    rows("jira", "work_item", [{"external_id": "10001", "key": "ALPHA-1", "title": "Login"}])
    rows("github", "pull_request", [
        {"external_id": "r#1", "repository_external_id": "r", "number": 1, "title": "ALPHA-1 fix", "state": "open"},
        {"external_id": "r#2", "repository_external_id": "r", "number": 2, "title": "UTF-8 names", "state": "open"},
    ])  # fmt: skip
    derive(db, ids["acme"])
    return ids


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    for var in ("HEADWATER_DATABASE_URL", "HEADWATER_SECRET_KEY", "HEADWATER_BROKER_URL", "HEADWATER_DASK_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_cli_people_links_merge_split(home: Path) -> None:
    db = Database(f"sqlite:///{home / 'headwater.db'}")
    upgrade(db)
    build(db)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        r = runner.invoke(cli_app, list(args), catch_exceptions=False)
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        return json.loads(r.stdout) if code == 0 and "--json" in args else r

    people = run("people", "acme", "--json")
    assert [sorted(a["kind"] for a in p["accounts"]) for p in people] == [["aha", "jira", "slack"], ["github"]]
    assert set(people[0]["accounts"][0]) >= {"person_id", "kind", "source_id", "login", "email"}
    assert people[0]["display_name"] == "Ada L"  # the most common name; ties go to Jira
    # Aha!'s verified address meets Jira's (the stronger rule) and Slack's: each link as strong as its weaker side.
    assert {a["kind"]: a["how"] for a in people[0]["accounts"]} == {
        "aha": "rule:jira_email",
        "slack": "rule:slack_email",
        "jira": "rule:jira_email",
    }
    links = run("links", "acme", "--json")
    assert links == [
        {
            "from": {"kind": "pull_request", "source_id": links[0]["from"]["source_id"], "external_id": "r#1"},
            "to": {
                "kind": "work_item",
                "source_id": links[0]["to"]["source_id"],
                "external_id": "10001",
                "key": "ALPHA-1",
            },
            "how": "key_in_title",
        }
    ]
    assert run("links", "acme", "--kind", "commit", "--json") == []

    ada, zed = people[0], people[1]
    merged = run("people", "merge", "acme", str(ada["id"]), str(zed["id"]), "--json")
    assert merged["id"] == ada["id"] and len(merged["accounts"]) == 4
    slack = next(a["person_id"] for a in merged["accounts"] if a["kind"] == "slack")
    alone = run("people", "split", "acme", str(slack), "--json")
    assert [(a["kind"], a["how"], a["decided_by_person"]) for a in alone["accounts"]] == [("slack", "manual", True)]
    assert len(run("people", "acme", "--json")) == 2
    assert "Ada" in run("people", "acme").stdout  # the table

    for args, says in (
        (("people", "nope"), "unknown tenant 'nope'"),
        (("people", "merge", "acme", str(ada["id"]), str(ada["id"])), "cannot be merged with itself"),
        (("people", "merge", "acme", str(ada["id"]), "99999"), "identity 99999 does not exist"),
        (("people", "split", "acme", "x"), "usage: headwater people"),
        (("links", "nope"), "unknown tenant 'nope'"),
    ):
        r = run(*args, code=1)
        assert r.stderr.count("\n") == 1 and says in r.stderr, (args, r.stderr)


def test_api_people_links_merge_split_and_isolation(sqlite_db: Database, tmp_path: Path) -> None:
    ids = build(sqlite_db)
    hw = make_app(sqlite_db, tmp_path)
    with hw.db.session() as s:
        acme = s.get(Tenant, ids["acme"])
        other = s.get(Tenant, ids["globex"])
        assert acme is not None and other is not None
        token, other_token = create_token(s, acme), create_token(s, other)
    client = TestClient(api_for(hw, RecordingDispatcher()))
    auth = {"Authorization": f"Bearer {token}"}
    people = client.get("/api/tenants/acme/people", headers=auth)
    assert people.status_code == 200 and [len(p["accounts"]) for p in people.json()] == [3, 1]
    links = client.get("/api/tenants/acme/links", headers=auth).json()
    assert [(x["from"]["external_id"], x["to"]["key"], x["how"]) for x in links] == [("r#1", "ALPHA-1", "key_in_title")]
    assert client.get("/api/tenants/acme/links?kind=message", headers=auth).json() == []
    # Another tenant's token sees none of it: 404, as for a tenant that does not exist.
    theirs = {"Authorization": f"Bearer {other_token}"}
    valid = {"people/merge": {"identity_id": 1, "other_identity_id": 2}, "people/split": {"person_id": 1}}
    for method, path in (("GET", "people"), ("GET", "links"), ("POST", "people/merge"), ("POST", "people/split")):
        r = client.request(method, f"/api/tenants/acme/{path}", headers=theirs, json=valid.get(path))
        assert r.status_code == 404, (method, path, r.text)
    assert client.get("/api/tenants/globex/people", headers=theirs).json() == []

    a, z = (p["id"] for p in people.json())
    merged = client.post(
        "/api/tenants/acme/people/merge", headers=auth, json={"identity_id": a, "other_identity_id": z}
    )
    assert merged.status_code == 200 and len(merged.json()["accounts"]) == 4
    assert client.post("/api/tenants/acme/people/merge", headers=auth,
                       json={"identity_id": a, "other_identity_id": a}).status_code == 409  # fmt: skip
    assert client.post("/api/tenants/acme/people/merge", headers=auth,
                       json={"identity_id": a, "other_identity_id": 424242}).status_code == 404  # fmt: skip
    assert client.post("/api/tenants/acme/people/merge", headers=auth).status_code == 422
    assert client.post("/api/tenants/acme/people/split", headers=auth, json={"person_id": "1"}).status_code == 422
    person = merged.json()["accounts"][0]["person_id"]
    split = client.post("/api/tenants/acme/people/split", headers={"Authorization": f"Bearer {ADMIN}"},
                        json={"person_id": person})  # fmt: skip
    assert split.status_code == 200 and [x["person_id"] for x in split.json()["accounts"]] == [person]
    assert client.post("/api/tenants/acme/people/split", headers=auth, json={"person_id": 424242}).status_code == 404
