"""Every option and secret of every registered connector has its own help, and the help reaches
people: `headwater connectors describe KIND` (and ``--json``), `source add --help`. Iterates the
registry, so a connector added later (or a field added to one) without a description fails here."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from connectors.describe import describe, fields, help_text
from connectors.registry import available_kinds, get_connector
from headwater.cli import app

KINDS = available_kinds()


def test_the_registry_has_the_five_connectors() -> None:
    assert {"github", "bitbucket", "jira", "aha", "slack"} <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_option_and_secret_field_has_a_description(kind: str) -> None:
    c = get_connector(kind)
    missing = [
        f"{model.__name__}.{name}"
        for model in (c.options_model, c.secrets_model)
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert missing == [], f"{kind}: give these fields Field(description=...): {', '.join(missing)}"


@pytest.mark.parametrize("kind", KINDS)
def test_describe_and_help_text_show_each_fields_own_help(kind: str) -> None:
    c = get_connector(kind)
    d = describe(kind)
    text = help_text(kind)
    for part, model in (("options", c.options_model), ("secrets", c.secrets_model)):
        shown = {f["name"]: f["help"] for f in fields(d[part])}
        for name, info in model.model_fields.items():
            assert shown[name] == info.description, (kind, name)
            assert f"  {name} (" in text and str(info.description) in text, (kind, name)


def test_the_cli_shows_provider_specific_help() -> None:
    runner = CliRunner()
    reread = get_connector("slack").options_model.model_fields["reread_days"].description
    assert reread and "edited and deleted messages" in reread
    described = runner.invoke(app, ["connectors", "describe", "slack", "--json"])
    assert described.exit_code == 0, described.stderr
    props = json.loads(described.stdout)["options"]["properties"]
    assert props["reread_days"]["description"] == reread and props["reread_days"]["default"] == 7.0
    human = runner.invoke(app, ["connectors", "describe", "slack"], env={"COLUMNS": "200"})
    assert human.exit_code == 0 and "reread_days" in human.stdout and "edited and deleted" in human.stdout
    add_help = runner.invoke(app, ["source", "add", "--help"], env={"COLUMNS": "200"})
    assert add_help.exit_code == 0
    flat = " ".join(add_help.stdout.split())  # --help wraps lines
    for kind in KINDS:
        assert f"{kind} options (--option KEY=VALUE):" in flat and f"{kind} secrets (--secret KEY=VALUE):" in flat
    assert "reread_days" in flat and " ".join(reread.split()) in flat
    app_password = get_connector("bitbucket").secrets_model.model_fields["app_password"].description
    assert app_password and " ".join(app_password.split()) in flat
