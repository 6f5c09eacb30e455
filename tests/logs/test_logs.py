"""Structured logs: JSON lines with tenant/run/task ids, and no secrets at any level."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from headwater.app import worker_config
from headwater.logs import configure_logging, log_context, redact
from headwater.settings import Settings
from pipelines import execute_task
from storage.models import Source, TaskRun
from tests.dashboard.fakes import TOKEN, Forge, refresh, running_forge

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    with running_forge(tmp_path, monkeypatch) as f:
        yield f


@contextlib.contextmanager
def configured(log_format: str) -> Iterator[io.StringIO]:
    """Logging configured as by HEADWATER_LOG_FORMAT, its stderr handler writing to a buffer."""
    root = logging.getLogger()
    level = root.level
    configure_logging(Settings(log_format=log_format, log_level="INFO"))
    ours = [h for h in root.handlers if getattr(h, "_headwater", False)]
    assert len(ours) == 1 and isinstance(ours[0], logging.StreamHandler)
    assert ours[0].stream is sys.stderr
    buffer = io.StringIO()
    ours[0].setStream(buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(ours[0])
        root.setLevel(level)


@pytest.fixture
def json_stderr() -> Iterator[io.StringIO]:
    with configured("json") as buffer:
        yield buffer


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_every_line_is_json_with_run_and_task_ids(forge: Forge, json_stderr: io.StringIO) -> None:
    forge.fail("/repos/acme/repo1/commits")
    run_id, state = refresh(forge.app)
    assert state == "FAILED"
    docs = json_lines(json_stderr)
    with forge.app.db.session() as s:
        failed = s.execute(select(TaskRun).where(TaskRun.run_id == run_id, TaskRun.state == "FAILED")).scalar_one()
    task_lines = [d for d in docs if d.get("task_id") == failed.id]
    assert {d["logger"] for d in task_lines} >= {"pipelines.worker", "connectors.http.client"}
    for d in task_lines:
        assert d["tenant"] == "acme" and d["run_id"] == run_id
        assert d["stream"] == "commits" and d["partition"] == "acme/repo1"
        assert {"at", "level", "logger", "message"} <= d.keys()
    # Nothing logged inside the run lacks its ids.
    assert all(
        d.get("run_id") == run_id and d.get("tenant") == "acme"
        for d in docs
        if d["logger"].startswith(("pipelines", "connectors"))
    )


def test_a_worker_task_alone_logs_its_ids(forge: Forge, json_stderr: io.StringIO) -> None:
    """What a Dask worker does: execute_task in a fresh thread, outside any driver context."""
    forge.fail("/orgs/")
    run_id, task_id = forge.scheduled_task()
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(execute_task(worker_config(forge.app), task_id)))
    worker.start()
    worker.join(60)
    assert result["state"] == "FAILED"
    docs = [d for d in json_lines(json_stderr) if d["logger"] in ("pipelines.worker", "connectors.http.client")]
    assert docs and all(d["task_id"] == task_id and d["run_id"] == run_id and d["tenant"] == "acme" for d in docs)


def test_a_process_without_handlers_logs_json_from_the_environment(tmp_path: Path) -> None:
    """Dask worker processes never run a CLI entry point: the worker configures logging itself."""
    code = (
        "import logging\n"
        "import distributed  # imported first, as in a Dask worker: it adds its own stderr handler\n"
        "from headwater.logs import ensure_logging, log_context\n"
        "ensure_logging()\n"
        "with log_context(tenant='acme', run_id=7, task_id=42):\n"
        "    logging.getLogger('pipelines.worker').warning('inside %s', 'a task')\n"
        "logging.getLogger('distributed.worker').warning('from dask')\n"
    )
    env = {**os.environ, "HEADWATER_LOG_FORMAT": "json", "HEADWATER_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    doc, dask = [json.loads(line) for line in out.stderr.splitlines() if line.strip()]  # only JSON lines
    assert doc["message"] == "inside a task" and (doc["tenant"], doc["run_id"], doc["task_id"]) == ("acme", 7, 42)
    assert dask["logger"] == "distributed.worker" and dask["message"] == "from dask" and "task_id" not in dask


def test_text_format_carries_ids_too() -> None:
    with configured("text") as buffer, log_context(tenant="acme", run_id=3, task_id=9):
        logging.getLogger("pipelines.worker").warning("hello %s", "world")
    assert "pipelines.worker: hello world [tenant=acme run_id=3 task_id=9]" in buffer.getvalue()


def test_secrets_never_reach_the_logs(forge: Forge, caplog: pytest.LogCaptureFixture, json_stderr: io.StringIO) -> None:
    for name in ("", "httpx", "httpcore", "connectors", "pipelines", "tenancy", "headwater"):
        caplog.set_level(logging.DEBUG, logger=name)
    from tests.dashboard.fakes import add_forge_tenant

    add_forge_tenant(forge.app, forge.server.url, slug="globex")  # a source added while logging at DEBUG
    forge.fail("/repos/acme/repo2/branches")
    refresh(forge.app)
    refresh(forge.app, slug="globex")
    forge.sandbox.faults.revoked = True  # the provider now refuses the token: errors are logged
    refresh(forge.app)
    assert caplog.records, "nothing was captured"
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    assert TOKEN not in caplog.text
    stderr = json_stderr.getvalue()
    assert stderr and TOKEN not in stderr
    with forge.app.db.session() as s:
        assert s.execute(select(Source.credentials_status).where(Source.id == forge.source_id)).scalar() == "invalid"


def test_redaction_is_a_last_line_of_defence() -> None:
    line = (
        "Authorization: Bearer abc.def token=s3cr3t ghp_ABCDEFGHIJKLMNOPQRSTUV0123 "
        "xoxb-123456789012-abcdef https://hooks.slack.com/services/T0/B0/XYZ"
    )
    out = redact(line)
    for secret in ("abc.def", "s3cr3t", "ghp_ABCDEFGHIJKLMNOPQRSTUV0123", "xoxb-123456789012-abcdef", "B0/XYZ"):
        assert secret not in out
