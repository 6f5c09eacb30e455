"""Tenant tokens, key rotation, validation at the edge and the connector catalogue, through the CLI."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from tenancy import Vault
from tenancy.privacy_salt import split_salt
from tests.cli.conftest import Invoke, as_json

GH = ["--option", "base_url=https://api.github.com", "--option", "org=acme"]


def sql(home: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(home / "headwater.db")
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def one_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1, result.stderr
    assert result.stdout == ""
    return str(lines[0])


# -- tokens -------------------------------------------------------------------------------
def test_tokens_create_list_revoke(cli: Invoke, home: Path) -> None:
    cli("tenant", "add", "acme")
    made = as_json(cli("tenant", "token", "acme", "--expires", "30d", "--json"))
    assert isinstance(made["id"], int) and made["token"].startswith("hwt_") and made["expires_at"]
    plain = as_json(cli("tenant", "token", "acme", "--json"))
    assert plain["expires_at"] is None
    listing = cli("tenant", "tokens", "acme", "--json")
    rows = as_json(listing)
    assert [r["id"] for r in rows] == [made["id"], plain["id"]]
    assert {"id", "created_at", "expires_at", "last_used_at", "revoked_at"} <= set(rows[0])
    assert made["token"] not in listing.stdout and plain["token"] not in listing.stdout
    assert made["token"] not in cli("tenant", "tokens", "acme").stdout
    revoked = as_json(cli("tenant", "revoke-token", "acme", str(made["id"]), "--json"))
    assert revoked["revoked_at"] is not None
    assert as_json(cli("tenant", "tokens", "acme", "--json"))[0]["revoked_at"] == revoked["revoked_at"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["tenant", "token", "acme", "--expires", "soon"], "--expires must be a positive duration"),
        (["tenant", "token", "acme", "--expires", "0d"], "--expires must be a positive duration"),
        (["tenant", "token", "acme", "--expires", "99999999999w"], "--expires must be at most 3650d"),
        (["tenant", "token", "nobody"], "unknown tenant"),
        (["tenant", "revoke-token", "acme", "999"], "has no token 999"),
        (["tenant", "tokens", "nobody"], "unknown tenant"),
    ],
)
def test_bad_token_input(cli: Invoke, home: Path, args: list[str], needle: str) -> None:
    cli("tenant", "add", "acme")
    assert needle in one_line(cli(*args, ok=False))
    assert sql(home, "SELECT count(*) FROM api_token") == [(0,)]


def test_another_tenants_token_cannot_be_revoked(cli: Invoke, home: Path) -> None:
    cli("tenant", "add", "acme")
    cli("tenant", "add", "globex")
    tid = as_json(cli("tenant", "token", "globex", "--json"))["id"]
    assert f"has no token {tid}" in one_line(cli("tenant", "revoke-token", "acme", str(tid), ok=False))
    assert sql(home, "SELECT revoked_at FROM api_token") == [(None,)]


# -- key rotation -------------------------------------------------------------------------
def stored_secrets(home: Path) -> list[str]:
    return [r[0] for r in sql(home, "SELECT secrets_encrypted FROM source ORDER BY id")]


def test_rotate_key_in_the_key_file(cli: Invoke, home: Path) -> None:
    cli("tenant", "add", "acme")
    cli("source", "add", "acme", "github", *GH, "--secret", "token=ghp_one")
    cli("source", "add", "acme", "github", *GH, "--secret", "token=ghp_two")
    old_key, before = (home / "secret.key").read_text().strip(), stored_secrets(home)
    doc = as_json(cli("secrets", "rotate-key", "--json"))
    assert doc["rotated"] is True and doc["re_encrypted"] == 2
    new_key = (home / "secret.key").read_text().strip()
    assert new_key != old_key and "," not in new_key and "\n" not in new_key
    assert (home / "secret.key").stat().st_mode & 0o777 == 0o600
    after = stored_secrets(home)
    assert after != before
    new = Vault(SecretStr(new_key))
    assert [new.decrypt(t)["token"] for t in after] == ["ghp_one", "ghp_two"]
    with pytest.raises(Exception, match="cannot decrypt"):
        Vault(SecretStr(old_key)).decrypt(after[0])
    assert as_json(cli("source", "list", "acme", "--json"))[0]["id"]  # the CLI reads them with the new key


def test_rotate_key_from_the_environment_takes_two_runs(cli: Invoke, home: Path) -> None:
    old = Fernet.generate_key().decode()
    env = {"HEADWATER_SECRET_KEY": old}
    cli("tenant", "add", "acme", env=env)
    cli("source", "add", "acme", "github", *GH, "--secret", "token=ghp_env", env=env)
    before = stored_secrets(home)
    first = as_json(cli("secrets", "rotate-key", "--json", env=env))
    assert first["rotated"] is False and first["re_encrypted"] == 0 and "NEW,OLD" in first["next"]
    new = first["new_key"]
    Fernet(new.encode())  # a valid key
    assert stored_secrets(home) == before  # nothing unreadable for processes still on the old key
    second = as_json(cli("secrets", "rotate-key", "--json", env={"HEADWATER_SECRET_KEY": f"{new},{old}"}))
    assert second["rotated"] is True and second["re_encrypted"] == 1
    assert split_salt(Vault(SecretStr(new)).decrypt(stored_secrets(home)[0]))[0] == {"token": "ghp_env"}
    assert not (home / "secret.key").exists()


def test_a_bad_key_setting_is_one_line(cli: Invoke) -> None:
    line = one_line(cli("secrets", "rotate-key", ok=False, env={"HEADWATER_SECRET_KEY": "not-a-key"}))
    assert "not a valid Fernet key" in line and "not-a-key" not in line


# -- validation at the edge ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle", "table"),
    [
        (["source", "add", "acme", "github", *GH, "--secret", "token="], "--secret token", "source"),
        (["source", "add", "acme", "github", *GH, "--secret", "token= ghp_x"], "secret 'token'", "source"),
        (["source", "add", "acme", "github", *GH, "--secret", "token=@file:/nonexistent/t"], "cannot read", "source"),
        (["tenant", "add", "beta", "--refresh-every", "-5"], "--refresh-every", "tenant"),
        (["tenant", "add", "beta", "--refresh-every", "0"], "--refresh-every", "tenant"),
        (["tenant", "set", "acme", "--refresh-every", "-5"], "--refresh-every", "tenant"),
        (["records", "acme", "pull_request", "--limit", "-1"], "--limit", "tenant"),
        (["records", "acme", "pull_request", "--limit", "0"], "--limit", "tenant"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    cli: Invoke, home: Path, args: list[str], needle: str, table: str
) -> None:
    cli("tenant", "add", "acme")
    before = sql(home, f"SELECT * FROM {table}")
    assert needle in one_line(cli(*args, ok=False))
    assert sql(home, f"SELECT * FROM {table}") == before


def test_secret_from_a_file(cli: Invoke, home: Path, tmp_path: Path) -> None:
    cli("tenant", "add", "acme")
    path = tmp_path / "token.txt"
    path.write_text("ghp_fromfile\n")
    cli("source", "add", "acme", "github", *GH, "--secret", f"token=@file:{path}")
    key = SecretStr((home / "secret.key").read_text().strip())
    assert split_salt(Vault(key).decrypt(stored_secrets(home)[0]))[0] == {"token": "ghp_fromfile"}
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert "empty" in one_line(
        cli("source", "add", "acme", "github", *GH, "--secret", f"token=@file:{empty}", ok=False)
    )


# -- connectors ---------------------------------------------------------------------------
def test_connectors_list_and_describe(cli: Invoke) -> None:
    kinds = as_json(cli("connectors", "list", "--json"))
    assert [k["kind"] for k in kinds] == ["github", "bitbucket", "jira", "aha", "slack"]
    jira = next(k for k in kinds if k["kind"] == "jira")
    assert jira["secrets"] == ["email", "api_token"] and "work_item" in jira["entities"]
    doc = as_json(cli("connectors", "describe", "github", "--json"))
    props = doc["options"]["properties"]
    assert props["base_url"]["default"] == "https://api.github.com" and props["org"]["type"] == "string"
    assert "org" in doc["options"]["required"] and props["include"]["description"]
    assert doc["secrets"]["properties"]["token"]["format"] == "password"
    prs = next(s for s in doc["streams"] if s["name"] == "pull_requests")
    assert prs["entities"][0] == "pull_request"
    human = cli("connectors", "describe", "jira").stdout
    assert "api_token" in human and "changelogs" in human
    assert "unknown connector kind 'gitlab'" in one_line(cli("connectors", "describe", "gitlab", ok=False))


def test_source_add_help_lists_every_connectors_options(cli: Invoke) -> None:
    out = cli("source", "add", "--help", env={"COLUMNS": "200"}).stdout
    for needle in ("github options", "org (string, required)", "jira secrets", "api_token", "slack options"):
        assert needle in out
