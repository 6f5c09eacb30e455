"""Infrastructure errors through the real CLI (`python -m headwater`, a clean environment): one
line on stderr that says what to fix and never a password; --debug / HEADWATER_DEBUG=1 add the
traceback. And headwater.errors.describe on real exceptions of the database, broker, Redis and
Dask clients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

import headwater.cli as cli
from headwater.errors import describe, host_port, redact_url
from headwater.settings import Settings
from tests.integration.services import clean_env

PASSWORD = "pa55-w0rd-xyz"
DB_DOWN = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/x"


def headwater(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        env=clean_env(HEADWATER_HOME=str(tmp_path / "home"), **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith("(run with --debug for the traceback)")
    return lines[0]


def test_database_down_is_one_line_naming_it_without_the_password(tmp_path: Path) -> None:
    line = one_line(headwater(tmp_path, "tenant", "list", HEADWATER_DATABASE_URL=DB_DOWN))
    assert "127.0.0.1:1" in line and "HEADWATER_DATABASE_URL" in line
    assert "Connection refused" in line
    assert PASSWORD not in line


@pytest.mark.parametrize("url", ["postgresql+pg8000://u@127.0.0.1:1/x", "mysql+mysqldb://u@127.0.0.1:1/x"])
def test_a_database_driver_not_installed_is_one_line(tmp_path: Path, url: str) -> None:
    for module in ("pg8000", "MySQLdb"):
        assert subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode != 0
    line = one_line(headwater(tmp_path, "tenant", "list", HEADWATER_DATABASE_URL=url))
    assert "HEADWATER_DATABASE_URL" in line and "not installed" in line
    assert "postgresql+psycopg://" in line


def test_a_password_in_a_driver_url_is_never_shown(tmp_path: Path) -> None:
    result = headwater(tmp_path, "tenant", "list", HEADWATER_DATABASE_URL=f"postgresql+pg8000://u:{PASSWORD}@h:5/x")
    assert "u:***@h:5" in one_line(result)
    assert PASSWORD not in result.stderr + result.stdout


@pytest.mark.parametrize("how", ["--debug", "HEADWATER_DEBUG=1"])
def test_debug_prints_the_traceback_then_the_line(tmp_path: Path, how: str) -> None:
    if how == "--debug":
        result = headwater(tmp_path, "--debug", "tenant", "list", HEADWATER_DATABASE_URL=DB_DOWN)
    else:
        result = headwater(tmp_path, "tenant", "list", HEADWATER_DATABASE_URL=DB_DOWN, HEADWATER_DEBUG="1")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "psycopg.OperationalError" in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: cannot reach the database at 127.0.0.1:1")
    assert PASSWORD not in result.stderr


def test_failures_commands_report_themselves_are_unchanged(tmp_path: Path) -> None:
    result = headwater(tmp_path, "run", "show", "999")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()] and "999" in result.stderr
    assert "--debug" not in result.stderr
    usage = headwater(tmp_path, "tenant", "add")  # click's usage error: exit code 2
    assert usage.returncode == 2


# -- main(): the last line of defence ------------------------------------------------------
def test_main_describes_a_bug_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def boom() -> None:
        raise RuntimeError("something\nbroke")

    monkeypatch.delenv("HEADWATER_DEBUG", raising=False)
    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "error: unexpected RuntimeError: something (run with --debug for the traceback)\n"


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), typer.Exit(4)])
def test_main_lets_exits_and_interrupts_through(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def raise_it() -> None:
        raise exc

    monkeypatch.setattr(cli, "app", raise_it)
    with pytest.raises(type(exc)) as raised:
        cli.main()
    assert raised.value is exc


# -- describe() on real client exceptions ----------------------------------------------------
def caught(fn: Any) -> BaseException:
    try:
        fn()
    except BaseException as exc:
        return exc
    raise AssertionError("no error")


def settings(**values: Any) -> Settings:
    return Settings(home=Path("/nonexistent"), **values)


def test_broker_down_names_the_broker_without_credentials() -> None:
    from kombu import Connection

    url = f"redis://user:{PASSWORD}@127.0.0.1:1/0"
    exc = caught(lambda: Connection(url).ensure_connection(max_retries=1, interval_start=0))
    line = describe(exc, settings(broker_url=url))
    assert line.startswith("cannot reach the broker at 127.0.0.1:1 (")
    assert "HEADWATER_BROKER_URL (redis://user:***@127.0.0.1:1/0)" in line
    assert PASSWORD not in line


def test_redis_down_names_the_redis_url() -> None:
    import redis

    url = f"redis://:{PASSWORD}@127.0.0.1:1/1"
    exc = caught(lambda: redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    line = describe(exc, settings(redis_url=url, broker_url="redis://127.0.0.1:6379/0"))
    assert line.startswith("cannot reach Redis at 127.0.0.1:1 (") and "HEADWATER_REDIS_URL" in line
    assert PASSWORD not in line


def test_dask_scheduler_down_names_the_dask_address() -> None:
    from distributed import Client

    exc = caught(lambda: Client("tcp://127.0.0.1:1", timeout=1))
    line = describe(exc, settings(dask_address="tcp://127.0.0.1:1"))
    assert line.startswith("cannot reach the Dask scheduler at 127.0.0.1:1 (")
    assert "HEADWATER_DASK_ADDRESS" in line


def test_database_errors_wrapped_by_another_error_are_still_described() -> None:
    from sqlalchemy import create_engine

    def connect() -> None:
        try:
            create_engine(DB_DOWN).connect()
        except Exception as exc:
            raise RuntimeError("could not start the run") from exc

    line = describe(caught(connect), settings(database_url=DB_DOWN))
    assert line.startswith("cannot reach the database at 127.0.0.1:1 (") and PASSWORD not in line


def test_urls_are_shown_without_passwords() -> None:
    assert redact_url(f"postgresql+psycopg://hw:{PASSWORD}@db:5432/hw") == "postgresql+psycopg://hw:***@db:5432/hw"
    assert redact_url(f"redis://:{PASSWORD}@r/0") == "redis://:***@r/0"
    assert redact_url("redis://r:6379/0") == "redis://r:6379/0"
    assert host_port("postgresql+psycopg://hw@db/hw") == "db:5432"
    assert host_port("sqlite:////tmp/x.db") == "/tmp/x.db"
    assert host_port("tcp://10.0.0.5:8786") == "10.0.0.5:8786"
