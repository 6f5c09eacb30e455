"""`headwater runs [TENANT] --state --trigger --since --limit --before`, and readable tables at 80
columns with timestamps to the second."""

from __future__ import annotations

from pathlib import Path

from connectors.sandbox import RunningServer, Sandbox
from storage import Database
from tests.cli.conftest import Invoke, as_json
from tests.cli.test_refresh_contract import add_github, github  # noqa: F401  (fixture)
from tests.levers.runs_support import seed_runs


def seeded(cli: Invoke, home: Path) -> tuple[list[int], list[int]]:
    cli("tenant", "add", "acme")
    cli("tenant", "add", "globex")
    db = Database(f"sqlite:///{home.resolve() / 'headwater.db'}")
    try:
        acme = seed_runs(
            db, "acme", [("COMPLETED", "refresh", 50), ("FAILED", "schedule", 30), ("FAILED", "refresh", 1)]
        )
        globex = seed_runs(db, "globex", [("CRASHED", "onboarding", 2)])
    finally:
        db.dispose()
    return acme, globex


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["id"] for r in rows]


def test_runs_filters_across_tenants_and_paging(cli: Invoke, home: Path) -> None:
    acme, globex = seeded(cli, home)
    assert ids(as_json(cli("runs", "--json"))) == sorted(acme + globex, reverse=True)
    assert ids(as_json(cli("runs", "acme", "--json"))) == sorted(acme, reverse=True)
    assert ids(as_json(cli("runs", "--state", "failed,crashed", "--since", "24h", "--json"))) == [globex[0], acme[2]]
    assert ids(as_json(cli("runs", "--trigger", "schedule", "--json"))) == [acme[1]]
    first = as_json(cli("runs", "--limit", "2", "--json"))
    rest = as_json(cli("runs", "--limit", "2", "--before", str(first[-1]["id"]), "--json"))
    assert ids(first) + ids(rest) == sorted(acme + globex, reverse=True)
    human = cli("runs", env={"COLUMNS": "200"}).stdout
    assert "globex" in human and "acme" in human
    created = as_json(cli("runs", "--json"))[0]["created_at"]
    assert "." in created  # full precision in --json …
    assert created.split(".")[0].replace("T", " ") in human and created not in human  # … to the second for people


def test_bad_runs_filters_are_one_line_each(cli: Invoke, home: Path) -> None:
    seeded(cli, home)
    for args, says in (
        (("--state", "done"), "--state: 'DONE' is not one of"),
        (("--trigger", "cron"), "--trigger: 'cron' is not one of"),
        (("--since", "yesterday"), "--since: 'yesterday' is neither"),
        (("--limit", "-1"), "--limit: -1 must be at least 1"),
        (("--limit", "0"), "--limit: 0 must be at least 1"),
        (("--before", "x"), "--cursor: 'x'"),
        (("nosuch",), "nosuch"),
    ):
        r = cli("runs", *args, ok=False)
        assert r.exit_code != 0 and says in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


def test_run_show_at_80_columns_reduces_no_column(
    cli: Invoke,
    github: tuple[Sandbox, RunningServer],  # noqa: F811
) -> None:
    sandbox, server = github
    add_github(cli, sandbox, server)
    sandbox.faults.fail_paths = ["/pulls"]
    run_id = as_json(cli("refresh", "acme", "--wait", "--json", ok=False))["run_id"]
    out = cli("run", "show", str(run_id), env={"COLUMNS": "80"}).stdout
    assert "…" not in out, out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "billing" in out
    assert "pull_requests" in out and "FAILED" in out
    runs = cli("runs", "acme", env={"COLUMNS": "80"}).stdout
    assert "…" not in runs and max(len(line) for line in runs.splitlines()) <= 80
