"""`headwater source reset` clears cursors and ETags; `headwater renormalize` rebuilds rows from
landed raw pages with no HTTP request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from connectors.sandbox import RunningServer, Sandbox
from storage import Database
from storage.digest import data_digest
from storage.models import Cursor, HttpValidator, PullRequest
from tests.cli.conftest import Invoke, as_json
from tests.cli.test_refresh_contract import add_github, github  # noqa: F401  (fixture)


def database(home: Path) -> Database:
    return Database(f"sqlite:///{home.resolve() / 'headwater.db'}")


@pytest.fixture
def refreshed(
    cli: Invoke,
    home: Path,
    github: tuple[Sandbox, RunningServer],  # noqa: F811
) -> Iterator[tuple[Sandbox, str, Database]]:
    """The GitHub sandbox added as a source of ``acme`` and refreshed once: the sandbox, the
    source's id and the store."""
    sandbox, server = github
    source = add_github(cli, sandbox, server)
    cli("refresh", "acme", "--wait", "--json")
    db = database(home)
    try:
        yield sandbox, str(source), db
    finally:
        db.dispose()


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar() or 0)


def test_renormalize_rebuilds_rows_without_http(cli: Invoke, refreshed: tuple[Sandbox, str, Database]) -> None:
    sandbox, source, db = refreshed
    before = data_digest(db)
    requests = len(sandbox.requests)
    done = as_json(cli("renormalize", "acme", source, "--json"))
    assert done["pages"] > 0 and done["rows"]["pull_request"] == before[1]["pull_request"]
    assert data_digest(db) == before  # nothing changed: the same rows
    with db.session() as s:
        s.execute(update(PullRequest).values(title="garbled", state="closed"))
    assert data_digest(db) != before
    as_json(cli("renormalize", "acme", source, "--stream", "pull_requests", "--json"))
    assert data_digest(db) == before  # restored from the raw pages
    assert len(sandbox.requests) == requests  # and no HTTP request made
    bad = cli("renormalize", "acme", source, "--stream", "nope", ok=False)
    assert bad.exit_code == 1 and "--stream 'nope'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_source_reset_clears_cursors_and_etags(cli: Invoke, refreshed: tuple[Sandbox, str, Database]) -> None:
    sandbox, source, db = refreshed
    cursors, etags = count(db, Cursor), count(db, HttpValidator)
    assert cursors and etags
    bad = cli("source", "reset", "acme", source, "--stream", "nope", ok=False)
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert (count(db, Cursor), count(db, HttpValidator)) == (cursors, etags)  # bad input changes nothing
    with db.read() as s:
        in_prs = s.execute(select(func.count()).where(Cursor.stream == "pull_requests")).scalar()
    one = as_json(cli("source", "reset", "acme", source, "--stream", "pull_requests", "--json"))
    assert one["cursors_cleared"] == in_prs and count(db, Cursor) == cursors - in_prs
    every = as_json(cli("source", "reset", "acme", source, "--json"))
    assert every["cursors_cleared"] == cursors - in_prs
    assert count(db, Cursor) == 0 and count(db, HttpValidator) == 0
    sandbox.requests.clear()
    cli("refresh", "acme", "--wait", "--json")
    # re-read from the start: no conditional request answered 304
    assert not any(r.status == 304 for r in sandbox.requests)
    assert count(db, Cursor) == cursors
