"""`source update|disable|enable|remove` through the CLI: reconnect keeps id, cursors and history;
a failing check stores nothing; remove asks for --yes and says what it deletes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Invoke, as_json
from tests.levers_support import BAD_TOKEN, Sandbox, github_sandbox

__all__ = ["github_sandbox"]


def sql(home: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(home / "headwater.db")
    try:
        rows = con.execute(query, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def add_source(cli: Invoke, box: Sandbox, token: str) -> int:
    cli("tenant", "add", "acme")
    opts = ["--option", f"base_url={box.url}", "--option", f"org={box.org}", "--secret", f"token={token}"]
    return int(as_json(cli("source", "add", "acme", "github", *opts, "--no-backfill", "--json"))["id"])


def one_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1, result.stderr
    return str(lines[0])


def test_reconnect_keeps_id_cursors_and_history(cli: Invoke, home: Path, github_sandbox: Sandbox) -> None:
    sid = add_source(cli, github_sandbox, BAD_TOKEN)
    sql(home, "UPDATE source SET credentials_status='invalid' WHERE id=?", sid)
    sql(
        home,
        "INSERT INTO cursor (tenant_id, source_id, stream, partition, value, updated_at) "
        "SELECT tenant_id, id, 'commits', 'acme/r', '{\"since\": \"x\"}', '2026-01-01' FROM source WHERE id=?",
        sid,
    )
    doc = as_json(cli("source", "update", "acme", str(sid), "--secret", f"token={github_sandbox.token}", "--json"))
    assert doc["id"] == sid and doc["updated"] is True
    assert doc["check"]["ok"] is True and doc["credentials_status"] == "valid"
    assert sql(home, "SELECT count(*) FROM cursor WHERE source_id=?", sid) == [(1,)]
    assert [s["id"] for s in as_json(cli("source", "list", "acme", "--json"))] == [sid]
    check = as_json(cli("source", "check", "acme", str(sid), "--json"))  # the stored token is the new one
    assert check["ok"] is True
    assert github_sandbox.token not in repr(doc)


def test_a_failing_check_stores_nothing_unless_forced(cli: Invoke, home: Path, github_sandbox: Sandbox) -> None:
    sid = add_source(cli, github_sandbox, github_sandbox.token)
    before = sql(home, "SELECT secrets_encrypted, credentials_status FROM source WHERE id=?", sid)
    bad = cli("source", "update", "acme", str(sid), "--secret", f"token={BAD_TOKEN}", ok=False)
    line = one_line(bad)
    assert "not updated" in line and "401" in line and "--force" in line and BAD_TOKEN not in line
    assert sql(home, "SELECT secrets_encrypted, credentials_status FROM source WHERE id=?", sid) == before
    forced = as_json(cli("source", "update", "acme", str(sid), "--secret", f"token={BAD_TOKEN}", "--force", "--json"))
    assert forced["check"]["ok"] is False and forced["credentials_status"] == "unknown"
    assert sql(home, "SELECT secrets_encrypted FROM source WHERE id=?", sid)[0][0] != before[0][0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "nothing to update"),
        (["--secret", "token="], "--secret token: the value is empty"),
        (["--option", "colour=blue"], "unknown option 'colour'"),
        (["--option", "base_url=ftp//x"], "base_url"),
        (["--secret", "password=x"], "unknown secret 'password'"),
    ],
)
def test_bad_updates_get_one_line_and_change_nothing(
    cli: Invoke, home: Path, github_sandbox: Sandbox, args: list[str], needle: str
) -> None:
    sid = add_source(cli, github_sandbox, github_sandbox.token)
    before = sql(home, "SELECT * FROM source")
    assert needle in one_line(cli("source", "update", "acme", str(sid), *args, ok=False))
    assert sql(home, "SELECT * FROM source") == before


def test_update_of_an_unknown_source(cli: Invoke, github_sandbox: Sandbox) -> None:
    add_source(cli, github_sandbox, github_sandbox.token)
    assert "has no source 999" in one_line(cli("source", "update", "acme", "999", "--option", "org=x", ok=False))


def test_disable_and_enable(cli: Invoke, github_sandbox: Sandbox) -> None:
    sid = add_source(cli, github_sandbox, github_sandbox.token)
    assert as_json(cli("source", "disable", "acme", str(sid), "--json"))["enabled"] is False
    assert as_json(cli("source", "list", "acme", "--json"))[0]["enabled"] is False
    assert as_json(cli("source", "enable", "acme", str(sid), "--json"))["enabled"] is True
    assert "has no source 999" in one_line(cli("source", "disable", "acme", "999", ok=False))


def test_remove_asks_for_yes_and_says_what_it_deletes(cli: Invoke, home: Path, github_sandbox: Sandbox) -> None:
    sid = add_source(cli, github_sandbox, github_sandbox.token)
    sql(
        home,
        "INSERT INTO repository (tenant_id, source_id, external_id, ingested_at, extra, full_name, name, private,"
        " archived) SELECT tenant_id, id, '1', '2026-01-01', '{}', 'acme/r', 'r', 0, 0 FROM source WHERE id=?",
        sid,
    )
    line = one_line(cli("source", "remove", "acme", str(sid), ok=False))
    assert "1 repository" in line and "tasks of run history" in line and "--yes" in line
    assert sql(home, "SELECT count(*) FROM source") == [(1,)]
    assert sql(home, "SELECT count(*) FROM repository") == [(1,)]
    doc = as_json(cli("source", "remove", "acme", str(sid), "--yes", "--json"))
    assert doc["removed"] == sid and doc["rows"] == {"repository": 1}
    assert sql(home, "SELECT count(*) FROM source") == [(0,)]
    assert sql(home, "SELECT count(*) FROM repository") == [(0,)]


def test_remove_and_reset_wait_for_a_started_run(cli: Invoke, home: Path, github_sandbox: Sandbox) -> None:
    from storage import Database
    from storage.models import Cursor, Run, TaskRun

    sid = add_source(cli, github_sandbox, github_sandbox.token)
    db = Database(f"sqlite:///{home.resolve() / 'headwater.db'}")
    try:
        with db.session() as s:
            run = Run(tenant_id=1, trigger="refresh", state="RUNNING")
            s.add(run)
            s.flush()
            s.add(TaskRun(run_id=run.id, source_id=sid, key="k", stream="commits", state="RETRYING"))
            s.add(Cursor(tenant_id=1, source_id=sid, stream="commits", partition="p", value={}))
            rid = run.id
    finally:
        db.dispose()
    for args in (["source", "remove", "acme", str(sid), "--yes"], ["source", "reset", "acme", str(sid)]):
        line = one_line(cli(*args, ok=False))
        assert f"while run {rid} (RUNNING) reads it" in line and f"headwater run cancel {rid}" in line
    assert sql(home, "SELECT count(*) FROM source") == [(1,)]
    assert sql(home, "SELECT count(*) FROM cursor") == [(1,)]
    sql(home, "UPDATE run SET state = 'CANCELLED'")
    assert as_json(cli("source", "reset", "acme", str(sid), "--json"))["cursors_cleared"] == 1
    assert as_json(cli("source", "remove", "acme", str(sid), "--yes", "--json"))["removed"] == sid
