"""infra/docker-compose.yml, checked without a Docker engine: parsed as YAML, every service
the architecture names is there with a health check, the environment the settings read, and a
command that the `headwater` (or `dask`) CLI accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from headwater.cli import app as cli_app
from headwater.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
SERVICES = {"api", "worker", "scheduler", "dask-scheduler", "dask-worker", "redis", "postgres"}
OURS = {"api", "worker", "scheduler", "dask-scheduler", "dask-worker", "migrate"}
REQUIRED_ENV = {
    "HEADWATER_DATABASE_URL",
    "HEADWATER_SECRET_KEY",
    "HEADWATER_ADMIN_TOKEN",
    "HEADWATER_BROKER_URL",
    "HEADWATER_DASK_ADDRESS",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def test_every_service_is_there_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= SERVICES
    for name in SERVICES:
        check = services[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_our_services_build_the_one_image_and_get_the_environment(compose: dict[str, Any]) -> None:
    settings_fields = {f"HEADWATER_{name.upper()}" for name in Settings.model_fields}
    for name in OURS:
        svc = compose["services"][name]
        build = svc["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        env = svc["environment"]
        assert set(env) >= REQUIRED_ENV, name
        assert set(env) <= settings_fields, set(env) - settings_fields  # no misspelt variables
        assert env["HEADWATER_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["HEADWATER_BROKER_URL"].startswith("redis://redis:6379")
        assert env["HEADWATER_DASK_ADDRESS"] == "tcp://dask-scheduler:8786"
        assert ":?" in env["HEADWATER_SECRET_KEY"]  # compose refuses to start without it


def test_dockerfile_copies_every_package() -> None:
    text = DOCKERFILE.read_text()
    for package in ("headwater", "connectors", "pipelines", "tenancy", "storage"):
        assert f"COPY {package} {package}" in text
    assert "[postgres]" in text


def test_services_start_after_what_they_need(compose: dict[str, Any]) -> None:
    s = compose["services"]
    for name in ("api", "worker", "scheduler"):
        assert s[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert s["worker"]["depends_on"]["dask-scheduler"]["condition"] == "service_healthy"
    assert s["dask-worker"]["command"][2] == "tcp://dask-scheduler:8786"


def _commands(compose: dict[str, Any], program: str) -> list[tuple[str, list[str]]]:
    return [(n, svc["command"][1:]) for n, svc in compose["services"].items() if svc.get("command", [""])[0] == program]


def test_headwater_commands_are_real_cli_commands(compose: dict[str, Any]) -> None:
    commands = _commands(compose, "headwater")
    assert {n for n, _ in commands} == {"api", "worker", "scheduler", "migrate"}
    runner = CliRunner()
    for name, argv in commands:
        # --help after the arguments: click still parses them first, so an unknown command or
        # option fails here (exit code 2) instead of printing the help.
        result = runner.invoke(cli_app, [*argv, "--help"])
        assert result.exit_code == 0, (name, argv, result.output)
    bogus = runner.invoke(cli_app, ["serve", "--no-such-option", "--help"])
    assert bogus.exit_code != 0


def test_dask_commands_are_accepted_by_the_dask_cli(compose: dict[str, Any]) -> None:
    dask = Path(sys.executable).parent / "dask"
    commands = _commands(compose, "dask")
    assert {n for n, _ in commands} == {"dask-scheduler", "dask-worker"}
    for name, argv in commands:
        done = subprocess.run([str(dask), *argv, "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (name, done.stderr)
