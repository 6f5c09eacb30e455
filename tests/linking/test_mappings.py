"""Explicit mappings: tenant configuration (it may be scripted before any data arrives) applied
after verified addresses and before the rules, recorded as how ``mapping``; kept by every later
rebuild. The resolver alone, then `headwater people map|mappings|unmap` and
POST/GET/DELETE /api/tenants/{slug}/people/mappings (one-line errors, 422, tenant isolation 404)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete
from typer.testing import CliRunner

from headwater.cli import app as cli_app
from linking.identities import Account, Mapping, resolve, signals_for
from linking.task import derive
from linking.views import people_document
from storage import Database, upgrade, upsert_rows
from storage.models import DerivedWatermark, Source, Tenant
from tenancy import add_tenant, create_token
from tests.api.conftest import RecordingDispatcher, api_for, make_app


def account(pid: int, kind: str, ext: str, login: str | None, email: str | None = None) -> Account:
    return Account(pid, kind, pid, ext, login, None, signals_for(kind, login, email), email)


def test_a_mapping_joins_accounts_no_rule_joins_ranked_after_verified_addresses() -> None:
    ada_aha = account(1, "aha", "a1", "ada@x.example", "ada@x.example")
    zed_gh = account(2, "github", "7", "zed")
    ken_bb = account(3, "bitbucket", "k", "kenbb")
    ada_jira = account(4, "jira", "j1", "ada", "ada@x.example")
    people = [ada_aha, zed_gh, ken_bb, ada_jira]
    assert [sorted(c.person_ids) for c in resolve(people)] == [[1, 4], [2], [3]]  # no rule joins zed or ken

    clusters = resolve(
        people, mappings=[Mapping("github", "ZED", to_email="Ada@X.example"), Mapping("bitbucket", "k", to_person_id=2)]
    )
    (one,) = clusters
    assert sorted(one.person_ids) == [1, 2, 3, 4]
    how = {link.person_id: (link.how, link.decided_by_person) for link in one.links}
    # zed is mapped to ada's address (held by her Aha! account, whose strongest link is now that mapping),
    # ken (by external id) to zed; ada's Jira account keeps its rule.
    assert how == {
        1: ("mapping", True),
        2: ("mapping", True),
        3: ("mapping", True),
        4: ("rule:jira_email", False),
    }
    # A mapping naming nothing landed (yet) changes nothing; a split account takes part in no mapping.
    assert [
        sorted(c.person_ids) for c in resolve(people, mappings=[Mapping("slack", "zed", to_email="ada@x.example")])
    ] == [[1, 4], [2], [3]]
    from linking.identities import Decision

    split = resolve(people, [Decision("split", 2)], [Mapping("github", "zed", to_email="ada@x.example")])
    assert [sorted(c.person_ids) for c in split] == [[1, 4], [2], [3]]


def setup(db: Database) -> dict[str, int]:
    with db.session() as s:
        acme, other = add_tenant(s, "acme"), add_tenant(s, "globex")
        sources = {k: Source(tenant_id=acme.id, kind=k, options={}) for k in ("aha", "github")}
        s.add_all(sources.values())
        s.flush()
        return {"acme": acme.id, "globex": other.id, **{k: v.id for k, v in sources.items()}}


def land(db: Database, ids: dict[str, int], zed_name: str = "Zed") -> None:
    def rows(kind: str, data: list[dict[str, Any]]) -> None:
        with db.session() as s:
            upsert_rows(s, "person", [{"tenant_id": ids["acme"], "source_id": ids[kind], **r} for r in data])

    rows("aha", [{"external_id": "a1", "login": "ada@x.example", "email": "ada@x.example", "display_name": "Ada"}])
    rows("github", [{"external_id": "7", "login": "zed", "display_name": zed_name}])


def identities(db: Database, tenant: int) -> list[list[tuple[str, str]]]:
    with db.read() as s:
        return [sorted((a["kind"], a["how"]) for a in p["accounts"]) for p in people_document(s, tenant)]


def test_cli_map_before_data_arrives_survives_rebuilds_and_errors_are_one_line(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    for var in ("HEADWATER_DATABASE_URL", "HEADWATER_SECRET_KEY", "HEADWATER_BROKER_URL", "HEADWATER_DASK_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    db = Database(f"sqlite:///{tmp_path / 'headwater.db'}")
    upgrade(db)
    ids = setup(db)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        r = runner.invoke(cli_app, list(args), catch_exceptions=False)
        assert r.exit_code == code, (args, r.stdout, r.stderr)
        return json.loads(r.stdout) if code == 0 and "--json" in args else r

    # Scripted before any row is landed.
    made = run("people", "map", "acme", "--account", "GitHub:Zed", "--email", "Ada@X.example", "--json")
    assert {k: made[k] for k in ("account", "to_email", "to_person_id", "decided_by")} == {
        "account": "github:zed", "to_email": "ada@x.example", "to_person_id": None, "decided_by": "cli"
    }  # fmt: skip
    assert [m["id"] for m in run("people", "mappings", "acme", "--json")] == [made["id"]]
    land(db, ids)
    derive(db, ids["acme"])
    assert identities(db, ids["acme"]) == [[("aha", "mapping"), ("github", "mapping")]]
    # Later rebuilds keep it: a changed person, then a rebuild from nothing (watermark gone), then a re-run.
    land(db, ids, zed_name="Zed Z")
    assert derive(db, ids["acme"]).identities_rebuilt
    with db.session() as s:
        s.execute(delete(DerivedWatermark))
    derive(db, ids["acme"])
    assert identities(db, ids["acme"]) == [[("aha", "mapping"), ("github", "mapping")]]
    assert derive(db, ids["acme"]).changed == 0

    # Removing it splits them at once; mapping to an identity joins again.
    run("people", "unmap", "acme", str(made["id"]), "--json")
    assert identities(db, ids["acme"]) == [[("aha", "single")], [("github", "single")]]
    ada = run("people", "acme", "--json")[0]
    again = run("people", "map", "acme", "--account", "github:7", "--to", str(ada["id"]), "--json")
    assert again["to_person_id"] == ada["accounts"][0]["person_id"]
    assert identities(db, ids["acme"]) == [[("aha", "mapping"), ("github", "mapping")]]
    assert "github:7" in run("people", "mappings", "acme").stdout  # the table

    for args, says in (
        (
            ("people", "map", "acme", "--account", "zed", "--email", "a@b.example"),
            "account must be KIND:LOGIN_OR_EMAIL",
        ),
        (("people", "map", "acme", "--account", "gitlab:zed", "--email", "a@b.example"), "KIND one of"),
        (("people", "map", "acme", "--account", "github:zed", "--email", "not-an-address"), "email must be an address"),
        (("people", "map", "acme", "--account", "github:zed"), "exactly one target"),
        (
            ("people", "map", "acme", "--account", "github:zed", "--email", "a@b.example", "--to", "1"),
            "exactly one target",
        ),
        (("people", "map", "acme", "--account", "github:zed", "--to", "99999"), "identity 99999 does not exist"),
        (("people", "map", "acme", "--email", "a@b.example"), "usage: headwater people"),
        (("people", "unmap", "acme", "99999"), "mapping 99999 does not exist"),
        (("people", "map", "nope", "--account", "github:zed", "--email", "a@b.example"), "unknown tenant 'nope'"),
        (("people", "acme", "--email", "a@b.example"), "usage: headwater people"),
    ):
        r = run(*args, code=1)
        assert r.stderr.count("\n") == 1 and says in r.stderr, (args, r.stderr)


def test_api_mappings_create_list_delete_422_and_isolation(sqlite_db: Database, tmp_path: Path) -> None:
    ids = setup(sqlite_db)
    land(sqlite_db, ids)
    derive(sqlite_db, ids["acme"])
    hw = make_app(sqlite_db, tmp_path)
    with hw.db.session() as s:
        acme, other = s.get(Tenant, ids["acme"]), s.get(Tenant, ids["globex"])
        assert acme is not None and other is not None
        auth = {"Authorization": f"Bearer {create_token(s, acme)}"}
        theirs = {"Authorization": f"Bearer {create_token(s, other)}"}
    client = TestClient(api_for(hw, RecordingDispatcher()))
    url = "/api/tenants/acme/people/mappings"
    made = client.post(url, headers=auth, json={"account": "github:zed", "email": "ada@x.example"})
    assert made.status_code == 200, made.text
    assert made.json()["account"] == "github:zed" and made.json()["decided_by"].startswith("api:tenant:")
    assert identities(sqlite_db, ids["acme"]) == [[("aha", "mapping"), ("github", "mapping")]]
    assert [m["id"] for m in client.get(url, headers=auth).json()] == [made.json()["id"]]

    # Another tenant's token: 404 for all three, whatever the body; its own list is empty.
    for method, path, body in (
        ("GET", url, None),
        ("POST", url, {"account": "github:zed", "email": "ada@x.example"}),
        ("DELETE", f"{url}/{made.json()['id']}", None),
        ("DELETE", f"{url}/not-an-id", None),  # isolation is checked before the id
    ):
        r = client.request(method, path, headers=theirs, json=body)
        assert r.status_code == 404, (method, r.text)
    assert client.get("/api/tenants/globex/people/mappings", headers=theirs).json() == []

    bad: list[dict[str, Any] | None] = [
        None,
        {"account": "zed", "email": "ada@x.example"},
        {"account": "gitlab:zed", "email": "ada@x.example"},
        {"account": "github:zed", "email": "nope"},
        {"account": "github:zed"},
        {"account": "github:zed", "email": "ada@x.example", "identity_id": 1},
        {"account": "github:zed", "email": "ada@x.example", "extra": 1},
        {"account": "github:zed", "identity_id": "x"},
    ]
    for wrong in bad:
        r = client.post(url, headers=auth, json=wrong)
        assert r.status_code == 422, (wrong, r.text)
    assert client.post(url, headers=auth, json={"account": "github:zed", "identity_id": 424242}).status_code == 404

    gone = client.delete(f"{url}/{made.json()['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json()["id"] == made.json()["id"]
    assert client.get(url, headers=auth).json() == []
    assert identities(sqlite_db, ids["acme"]) == [[("aha", "single")], [("github", "single")]]
    assert client.delete(f"{url}/{made.json()['id']}", headers=auth).status_code == 404
    assert client.delete(f"{url}/0", headers=auth).status_code == 422
    assert client.delete(f"{url}/not-an-id", headers=auth).status_code == 422
