"""The privacy layer on its own: declared paths, keyed hashes, the tenant salt, the options."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from connectors.aha.streams import STREAMS as AHA
from connectors.errors import BugError, ErrorKind
from connectors.http.client import HttpClient
from connectors.jira.streams import HISTORY_PRIVACY
from connectors.jira.streams import STREAMS as JIRA
from connectors.privacy import Hasher, Privacy, PrivacyError, Privatizer, parse_path
from connectors.registry import available_kinds, get_connector
from connectors.runner import run_stream
from connectors.slack.streams import USER_PRIVACY
from connectors.store import TaskStore
from connectors.streams import Row, StreamContext, StreamSpec
from headwater.app import App
from storage import Database
from storage.models import Person, RawPage, Source
from tenancy import Vault, add_source, add_tenant, get_tenant, runtime_for
from tenancy.privacy_salt import SALT_KEY
from tenancy.sources import apply_update, prepare_update
from tests.api.conftest import Tenants, bearer, client, dispatcher, hw, tenants
from tests.cli.conftest import Invoke, as_json, cli, home
from tests.levers_support import Sandbox, github_sandbox

__all__ = ["cli", "client", "dispatcher", "github_sandbox", "home", "hw", "tenants"]  # fixtures

ALL = ("redact_people", "strip_bodies", "hash_paths")
KEY = os.urandom(32)


def privatizer(*enabled: str, key: bytes = KEY) -> Privatizer:
    return Privatizer(enabled or ALL, Hasher(key))


def test_paths_reach_into_lists_globs_any_depth_and_filtered_items() -> None:
    p = Privacy(people=("user.login", "**.email"), paths=("head.ref",), embeds=("user.*url",), bodies=("body",))
    record: dict[str, Any] = {
        "user": {"login": "Ada", "html_url": "https://x.test/Ada", "url": "https://api.x.test/users/Ada", "id": 7},
        "assignees": [{"email": "ada@acme.example"}, {"email": None}],
        "head": {"ref": "feature/ALPHA-1-login"},
        "body": "Please review",
        "title": "ALPHA-1 login",
    }
    out = privatizer().record(p, record)
    login = out["user"]["login"]
    assert login.startswith("anon-") and out["user"]["id"] == 7
    assert out["user"]["html_url"] == f"https://x.test/{login}" and out["user"]["url"].endswith(f"/users/{login}")
    assert out["assignees"][0]["email"].endswith("@redacted.invalid") and out["assignees"][1]["email"] is None
    assert out["head"]["ref"].startswith("path-") and out["body"] is None
    assert out["title"] == "ALPHA-1 login"  # titles are kept (work linking reads keys in them)
    assert record["user"]["login"] == "Ada" and record["body"] == "Please review"  # the input is not changed


def test_a_changelog_item_is_changed_by_its_field() -> None:
    history: dict[str, Any] = {
        "author": {"displayName": "Ada Lovelace", "accountId": "5b10"},
        "items": [
            {"field": "assignee", "from": "5b10", "fromString": "Ada Lovelace", "to": "5b11", "toString": "Ken"},
            {"field": "description", "fromString": "old text", "toString": "new text"},
            {"field": "status", "fromString": "To Do", "toString": "Done"},
        ],
    }
    out = privatizer().record(HISTORY_PRIVACY, history)
    assignee, description, status = out["items"]
    assert out["author"]["displayName"] == assignee["fromString"]  # the same name, the same hash
    assert assignee["toString"].startswith("anon-") and assignee["from"] == "5b10"
    assert description["fromString"] is None and description["toString"] is None
    assert status == history["items"][2]


def test_hashes_are_stable_case_insensitive_keyed_and_keep_the_shape_of_an_email() -> None:
    h, other = Hasher(KEY), Hasher(os.urandom(32))
    assert h.person("Ada@Acme.example ") == h.person("ada@acme.example")
    assert h.person("ada@acme.example") != other.person("ada@acme.example")
    assert h.person("ada@acme.example").endswith("@redacted.invalid")
    assert h.person("ada-l").startswith("anon-") and h.person("ada-l") != h.path("ada-l")
    git = h.person("Ada Lovelace <ada@acme.example>")
    assert git == f"{h.person('Ada Lovelace')} <{h.person('ada@acme.example')}>"
    assert h.path("src/App.py") != h.path("src/app.py")  # paths are case-sensitive
    assert "ada" not in repr(h) and len(KEY.hex()) > 0 and KEY.hex() not in repr(h)


def test_one_email_hashes_the_same_in_every_connector_of_a_tenant() -> None:
    p = privatizer("redact_people")
    slack = p.record(USER_PRIVACY, {"name": "ada", "profile": {"email": "Ada@acme.example"}})
    jira_users = next(s for s in JIRA if s.name == "users").privacy
    aha_users = next(s for s in AHA if s.name == "users").privacy
    assert jira_users is not None and aha_users is not None
    jira = p.record(jira_users, {"accountId": "5b10", "emailAddress": "ada@acme.example"})
    aha = p.record(aha_users, {"id": "1", "email": "ada@ACME.example", "name": "Ada Lovelace"})
    assert slack["profile"]["email"] == jira["emailAddress"] == aha["email"]


def test_each_option_changes_only_its_own_fields() -> None:
    p = Privacy(people=("user",), bodies=("body",), paths=("path",))
    record = {"user": "ada", "body": "text", "path": "src/a.py"}
    assert privatizer("strip_bodies").record(p, record) == {"user": "ada", "body": None, "path": "src/a.py"}
    people = privatizer("redact_people").record(p, record)
    assert people["user"].startswith("anon-") and people["body"] == "text" and people["path"] == "src/a.py"
    paths = privatizer("hash_paths").record(p, record)
    assert paths["path"].startswith("path-") and paths["user"] == "ada"
    assert Privatizer((), None).records(p, [record]) == [record]


def test_a_kept_body_loses_the_names_of_its_record() -> None:
    p = Privacy(people=("author.name",), bodies=("message",))
    out = privatizer("redact_people").record(p, {"author": {"name": "Ada"}, "message": "Fix\n\nSigned-off-by: Ada"})
    assert out["message"] == f"Fix\n\nSigned-off-by: {out['author']['name']}"


def test_bad_declarations_and_missing_keys_fail_early() -> None:
    with pytest.raises(PrivacyError):
        parse_path("a.**")
    with pytest.raises(PrivacyError):
        parse_path("items[field=x")
    with pytest.raises(PrivacyError):
        Privatizer(("redact_people",), None)  # hashing needs the tenant's key
    with pytest.raises(PrivacyError):
        Privatizer(("redact_everything",), Hasher(KEY))


def test_every_stream_of_every_connector_declares_its_privacy_fields() -> None:
    undeclared = [f"{k}.{s.name}" for k in available_kinds() for s in get_connector(k).streams if s.privacy is None]
    assert undeclared == []


def test_a_stream_without_a_declaration_is_refused_when_an_option_is_on(make_runtime: Any) -> None:
    from connectors.runner import privatized

    spec = StreamSpec(name="things", path="things", normalize=lambda r, c: [Row("person", dict(r))])
    ctx = StreamContext(
        tenant_id=1, source_id=1, options=get_connector("jira").parse_options({"base_url": "https://x"})
    )
    assert privatized(spec, [{"a": 1}], ctx) == [{"a": 1}]  # no privacy options: nothing to do
    ctx.privatizer = privatizer()
    with pytest.raises(BugError) as err:
        privatized(spec, [{"a": 1}], ctx)
    assert err.value.kind == ErrorKind.BUG and "declares no privacy fields" in str(err.value)


def test_options_are_common_to_every_connector_and_read_as_a_group() -> None:
    for kind in available_kinds():
        c = get_connector(kind)
        assert {"redact_people", "strip_bodies", "hash_paths"} <= set(c.options_model.model_fields)
    jira = get_connector("jira")
    parsed = jira.parse_options({"base_url": "https://x.atlassian.net", "privacy.redact_people": "true"})
    assert parsed.redact_people is True and parsed.strip_bodies is False  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        jira.parse_options({"base_url": "https://x.atlassian.net", "privacy.redact_everyone": "true"})


def test_one_salt_per_tenant_kept_with_its_sources_and_through_an_update(sqlite_db: Database, vault: Vault) -> None:
    opts = {"base_url": "https://acme.atlassian.net", "projects": "*", "redact_people": True}
    secrets = {"email": "bot@acme.example", "api_token": "t0k"}
    with sqlite_db.session() as s:
        acme, globex = add_tenant(s, "acme"), add_tenant(s, "globex")
        a1, a2 = add_source(s, vault, acme, "jira", opts, secrets), add_source(s, vault, acme, "jira", opts, secrets)
        g1 = add_source(s, vault, globex, "jira", opts, secrets)
        salts = [runtime_for(x, vault).privacy_salt for x in (a1, a2, g1)]
        assert salts[0] and salts[0] == salts[1] != salts[2]
        assert runtime_for(a1, vault).secrets.model_dump().keys() == {"email", "api_token"}
        change = prepare_update(a1, vault, {"strip_bodies": "true"}, {"api_token": "n3w"})
        apply_update(a1, vault, change, verdict=True)
        s.flush()
        after = runtime_for(a1, vault)
        assert after.privacy_salt == salts[0] and after.options.strip_bodies  # type: ignore[attr-defined]
        # a source stored before salts existed takes its tenant's salt on its next update
        plain = vault.decrypt(a2.secrets_encrypted)
        a2.secrets_encrypted = vault.encrypt({k: v for k, v in plain.items() if k != SALT_KEY})
        assert runtime_for(a2, vault).privacy_salt is None
        apply_update(a2, vault, prepare_update(a2, vault, {"hash_paths": "true"}, {}), verdict=True)
        assert runtime_for(a2, vault).privacy_salt == salts[0]


def test_the_cli_sets_the_options_by_their_group_name(cli: Invoke) -> None:
    cli("tenant", "add", "acme")
    base = ["--option", "base_url=https://api.github.com", "--option", "org=acme", "--secret", "token=t0p"]
    added = as_json(cli("source", "add", "acme", "github", *base, "--option", "privacy.redact_people=true", "--json"))
    assert added["options"]["redact_people"] is True and added["options"]["hash_paths"] is False
    sid = str(added["id"])
    updated = cli("source", "update", "acme", sid, "--option", "privacy.hash_paths=true", "--force", "--json", ok=False)
    doc = as_json(updated)
    assert doc["options"]["redact_people"] is True and doc["options"]["hash_paths"] is True
    listed = as_json(cli("source", "list", "acme", "--json"))
    assert listed[0]["options"]["hash_paths"] is True
    assert "_privacy_salt" not in updated.stdout + cli("source", "list", "acme").stdout


def test_the_api_patches_the_options(client: TestClient, hw: App, tenants: Tenants, github_sandbox: Sandbox) -> None:
    with hw.db.session() as s:
        opts = {"base_url": github_sandbox.url, "org": github_sandbox.org}
        sid = add_source(s, hw.vault, get_tenant(s, "acme"), "github", opts, {"token": github_sandbox.token}).id
    url = f"/api/tenants/acme/sources/{sid}"
    body = {"options": {"privacy.redact_people": True, "strip_bodies": True}}
    r = client.patch(url, json=body, headers=bearer(tenants.acme_token))
    assert r.status_code == 200, r.text
    options = r.json()["source"]["options"]
    assert options["redact_people"] is True and options["strip_bodies"] is True and options["hash_paths"] is False
    assert "_privacy_salt" not in r.text
    with hw.db.read() as s:
        src = s.get(Source, sid)
        assert src is not None and runtime_for(src, hw.vault).privacy_salt


def test_records_an_expand_hook_completes_are_changed_too(sqlite_db: Database, vault: Vault) -> None:
    """A page's records are changed after ``StreamSpec.expand`` embedded more into them (GitHub's
    REST fallback embeds each pull request's reviews), before anything is normalized or landed."""

    async def expand(records: list[Any], ctx: Any, http: Any) -> list[Any]:
        return [{**r, "embedded": {"reviews": [{"user": {"login": "ken"}, "body": "LGTM, Ken"}]}} for r in records]

    spec = StreamSpec(
        name="things",
        path="things",
        normalize=lambda r, c: [Row("person", {"external_id": str(r["id"]), "login": r["user"]["login"]})],
        partitioned=False,
        expand=expand,
        privacy=Privacy(people=("**.login",), bodies=("**.body",)),
    )
    page = [{"id": 1, "user": {"login": "ada"}, "body": "Hi from ada"}]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=page))
    with sqlite_db.session() as s:
        tenant = add_tenant(s, "acme")
        jira = {"base_url": "https://x.atlassian.net", "projects": "*"}
        src = add_source(
            s, vault, tenant, "jira", {**jira, **dict.fromkeys(ALL, True)}, {"email": "a@b.c", "api_token": "t"}
        )
        rt = runtime_for(src, vault)
    ctx = StreamContext(tenant_id=rt.tenant_id, source_id=rt.source_id, options=rt.options, privatizer=rt.privatizer())
    store = TaskStore(sqlite_db, tenant_id=rt.tenant_id, source_id=rt.source_id, stream="things", partition=None)

    async def go() -> None:
        async with HttpClient("https://x.test", transport=transport) as http:
            await run_stream(rt.connector, spec, ctx, http, store)

    asyncio.run(go())
    with sqlite_db.read() as s:
        (landed,) = s.execute(select(RawPage.records).where(RawPage.source_id == rt.source_id)).scalars().all()
        login = s.execute(select(Person.login).where(Person.source_id == rt.source_id)).scalar_one()
    text = json.dumps(landed)
    assert "ada" not in text and "ken" not in text.lower() and "LGTM" not in text
    assert login is not None and login.startswith("anon-") and landed[0]["user"]["login"] == login
    assert landed[0]["embedded"]["reviews"][0]["body"] is None
