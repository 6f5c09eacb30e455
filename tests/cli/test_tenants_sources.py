"""The CLI contract for tenants and sources, including every bad-input case of the issue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, as_json

GOOD = [
    "--option",
    "base_url=https://api.github.com",
    "--option",
    "org=acme",
    "--secret",
    "token=ghp_supersecret123456789012345",
]


def count(home: Path, table: str) -> int:
    con = sqlite3.connect(home / "headwater.db")
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


def test_version(cli: Invoke) -> None:
    assert cli("--version").stdout.startswith("headwater ")


def test_tenant_add_list_json(cli: Invoke, home: Path) -> None:
    doc = as_json(cli("tenant", "add", "acme", "--name", "Acme Inc", "--json"))
    assert doc["slug"] == "acme" and isinstance(doc["id"], int)
    listing = as_json(cli("tenant", "list", "--json"))
    assert [t["slug"] for t in listing] == ["acme"]
    key = home / "secret.key"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600


def test_source_add_and_list_never_show_secrets(cli: Invoke, home: Path) -> None:
    cli("tenant", "add", "acme")
    added = cli("source", "add", "acme", "github", *GOOD, "--option", "include=api-*,web", "--json")
    doc = as_json(added)
    assert doc["kind"] == "github" and doc["options"]["org"] == "acme"
    assert doc["include"] == ["api-*", "web"]
    listing = cli("source", "list", "acme", "--json")
    for out in (added.stdout, listing.stdout):
        assert "supersecret" not in out
    raw = (home / "headwater.db").read_bytes()
    for suffix in ("-wal", "-shm"):
        p = home / f"headwater.db{suffix}"
        if p.exists():
            raw += p.read_bytes()
    assert b"supersecret" not in raw


def test_secret_from_env(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("tenant", "add", "acme")
    monkeypatch.setenv("GH_TOKEN_FOR_TEST", "ghp_fromenv")
    opts = ["--option", "base_url=https://api.github.com", "--option", "org=acme"]
    cli("source", "add", "acme", "github", *opts, "--secret", "token=@env:GH_TOKEN_FOR_TEST")
    bad = cli("source", "add", "acme", "github", *opts, "--secret", "token=@env:NOT_SET_ANYWHERE", ok=False)
    assert bad.exit_code != 0 and "NOT_SET_ANYWHERE" in bad.stderr


@pytest.mark.parametrize(
    ("args", "needle", "table"),
    [
        (["tenant", "add", "acme"], "already exists", "tenant"),
        (["tenant", "add", "Bad Slug!"], "slug", "tenant"),
        (["source", "add", "nobody", "github", *GOOD], "unknown tenant", "source"),
        (["source", "add", "acme", "gitlab", *GOOD], "unknown connector kind", "source"),
        (
            ["source", "add", "acme", "github", "--option", "base_url=https://api.github.com", "--secret", "token=x"],
            "'org' is required",
            "source",
        ),
        (["source", "add", "acme", "github", *GOOD, "--option", "colour=blue"], "unknown option 'colour'", "source"),
        (
            [
                "source",
                "add",
                "acme",
                "github",
                "--option",
                "base_url=ftp//nope",
                "--option",
                "org=a",
                "--secret",
                "token=x",
            ],
            "base_url",
            "source",
        ),
        (
            ["source", "add", "acme", "github", "--option", "base_url=https://api.github.com", "--option", "org=a"],
            "secret 'token' is required",
            "source",
        ),
        (["source", "add", "acme", "github", "--option", "oops", "--secret", "token=x"], "KEY=VALUE", "source"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line_and_writes_nothing(
    cli: Invoke, home: Path, args: list[str], needle: str, table: str
) -> None:
    cli("tenant", "add", "acme")
    before = count(home, table)
    result = cli(*args, ok=False)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert result.stdout == ""
    assert count(home, table) == before
    assert "ghp_" not in result.stderr


def test_source_remove_and_unknown(cli: Invoke) -> None:
    cli("tenant", "add", "acme")
    sid = as_json(cli("source", "add", "acme", "github", *GOOD, "--json"))["id"]
    cli("source", "remove", "acme", str(sid), "--yes")
    assert as_json(cli("source", "list", "acme", "--json")) == []
    result = cli("source", "remove", "acme", str(sid), "--yes", ok=False)
    assert result.exit_code != 0 and f"no source {sid}" in result.stderr


def test_records_unknown_kind_and_empty(cli: Invoke) -> None:
    cli("tenant", "add", "acme")
    assert as_json(cli("records", "acme", "pull_request", "--json")) == []
    bad = cli("records", "acme", "pullrequest", "--json", ok=False)
    assert bad.exit_code != 0 and "unknown entity kind" in bad.stderr


def test_db_upgrade_and_tenant_token(cli: Invoke) -> None:
    assert as_json(cli("db", "upgrade", "--json"))["upgraded"] is True
    cli("tenant", "add", "acme")
    token = as_json(cli("tenant", "token", "acme", "--json"))["token"]
    assert token.startswith("hwt_")
