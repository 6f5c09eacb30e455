"""`headwater --help` and a command's start-up import only what they need (headwater.cli.lazy)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from headwater.cli import LAZY, app
from headwater.cli.lazy import LazyGroup

HEAVY = ("sqlalchemy", "distributed", "fastapi", "celery", "pipelines", "storage", "connectors", "alembic")


def test_the_listed_help_is_the_loaded_commands_help() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    listed = {name: cmd.get_short_help_str(500) for name, cmd in group.commands.items()}
    loaded = {name: cmd.get_short_help_str(500) for name, cmd in group.load_all().items()}
    assert listed == loaded
    assert {c.name for c in LAZY} <= set(loaded)


def test_help_imports_no_heavy_package() -> None:
    code = (
        "import sys, json\n"
        "from headwater.cli import main\n"
        "sys.argv = ['headwater', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "refresh" in done.stdout
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_a_lazy_command_runs_and_shows_its_own_help() -> None:
    out = CliRunner().invoke(app, ["tenant", "--help"], catch_exceptions=False)
    assert out.exit_code == 0
    assert "token" in out.stdout and "add" in out.stdout
    out = CliRunner().invoke(app, ["source", "--help"], catch_exceptions=False)
    assert "reset" in out.stdout and "disable" in out.stdout


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"HEADWATER_DATABASE_URL": "postgresql+psycopg://u@h/db"},
        {"HEADWATER_DATABASE_URL": "sqlite:////tmp/x.db"},
        {"HEADWATER_DASK_PROCESSES": "true"},
        {"HEADWATER_DASK_PROCESSES": "false", "HEADWATER_DATABASE_URL": "postgresql+psycopg://u@h/db"},
        {"HEADWATER_DASK_PROCESSES": "0"},
    ],
)
def test_the_fork_server_is_started_exactly_when_workers_will_be_processes(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.cli.lazy import _worker_processes
    from headwater.settings import Settings

    for var in ("HEADWATER_DATABASE_URL", "HEADWATER_DASK_PROCESSES"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert _worker_processes(env) == Settings().local_dask_processes()
