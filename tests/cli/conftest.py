from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from headwater.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "hw"
    monkeypatch.setenv("HEADWATER_HOME", str(h))
    for var in ("HEADWATER_DATABASE_URL", "HEADWATER_SECRET_KEY", "HEADWATER_BROKER_URL", "HEADWATER_DASK_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    return h


@pytest.fixture
def cli(home: Path) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    return invoke


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)
