"""`headwater tenant add --alert-webhook` and `headwater tenant set`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from headwater.cli import app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    for var in (
        "HEADWATER_DATABASE_URL",
        "HEADWATER_SECRET_KEY",
        "HEADWATER_BROKER_URL",
        "HEADWATER_ALERT_WEBHOOK_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def hook_of(home: Path, slug: str) -> str | None:
    con = sqlite3.connect(home / "headwater.db")
    try:
        row = con.execute("SELECT alert_webhook_url FROM tenant WHERE slug = ?", (slug,)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def test_add_and_set_the_tenant_webhook(home: Path) -> None:
    url = "https://hooks.example.com/services/T1/B2/abc"
    assert run("tenant", "add", "acme", "--alert-webhook", url, "--json").exit_code == 0
    assert hook_of(home, "acme") == url
    listing = json.loads(run("tenant", "list", "--json").stdout)
    assert listing[0]["alert_webhook"] is True and url not in json.dumps(listing)  # a webhook URL is a secret

    other = "http://127.0.0.1:9/hook"
    doc = json.loads(run("tenant", "set", "acme", "--alert-webhook", other, "--refresh-every", "30", "--json").stdout)
    assert doc["refresh_interval_minutes"] == 30 and hook_of(home, "acme") == other

    assert run("tenant", "set", "acme", "--alert-webhook", "").exit_code == 0
    assert hook_of(home, "acme") is None


def test_bad_webhook_url_is_refused_and_nothing_written(home: Path) -> None:
    result = run("tenant", "add", "acme", "--alert-webhook", "ftp://example.com/x")
    assert result.exit_code != 0 and "--alert-webhook" in result.stderr
    assert hook_of(home, "acme") is None
    assert run("tenant", "add", "acme").exit_code == 0
    result = run("tenant", "set", "acme", "--alert-webhook", "not a url")
    assert result.exit_code != 0 and hook_of(home, "acme") is None
    assert run("tenant", "set", "nobody", "--name", "X").exit_code != 0
