"""The run commands' JSON contract (ARCHITECTURE.md §4), end to end through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox import RunningServer, Sandbox
from headwater.cli.sandboxes import source_settings, start
from linking import STREAM as DERIVED
from tests.cli.conftest import Invoke, as_json

TASK_KEYS = {
    "id", "source_id", "stream", "partition", "state", "attempts", "records_fetched",
    "records_loaded", "error_kind", "message", "traceback", "history",
}  # fmt: skip


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[tuple[Sandbox, RunningServer]]:
    monkeypatch.setenv("HEADWATER_HTTP_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("HEADWATER_HTTP_BACKOFF_MAX_S", "0.1")
    monkeypatch.setenv("HEADWATER_DASK_THREADS", "8")
    sandbox, server = start("github", seed=3, repos=2)
    yield sandbox, server
    server.stop()


def add_github(cli: Invoke, sandbox: Sandbox, server: RunningServer) -> int:
    options, secrets = source_settings(sandbox, server.url)
    args = [f"--option={k}={v}" for k, v in options.items()] + [f"--secret={k}={v}" for k, v in secrets.items()]
    cli("tenant", "add", "acme")
    return int(as_json(cli("source", "add", "acme", "github", *args, "--json"))["id"])


def test_refresh_wait_json_runs_and_run_show(cli: Invoke, github: tuple[Sandbox, RunningServer]) -> None:
    sandbox, server = github
    add_github(cli, sandbox, server)

    doc: dict[str, Any] = as_json(cli("refresh", "acme", "--wait", "--json"))
    assert doc["state"] == "COMPLETED" and doc["coalesced"] is False and isinstance(doc["run_id"], int)
    assert doc["tasks"] and all(set(t) >= TASK_KEYS for t in doc["tasks"])
    assert all(t["history"][-1]["state"] == "COMPLETED" and t["history"][0]["at"] for t in doc["tasks"])

    shown = as_json(cli("run", "show", str(doc["run_id"]), "--json"))
    assert {k: v for k, v in shown.items() if k != "coalesced"} == {k: v for k, v in doc.items() if k != "coalesced"}
    runs = as_json(cli("runs", "acme", "--json"))
    assert [r["id"] for r in runs] == [doc["run_id"]] and runs[0]["state"] == "COMPLETED"
    prs = as_json(cli("records", "acme", "pull_request", "--json"))
    assert len(prs) == sandbox.truth()["counts"]["pull_request"]
    assert {"external_id", "number", "state", "title", "deleted_at"} <= set(prs[0])


def test_failed_refresh_exits_nonzero_and_retry_completes(cli: Invoke, github: tuple[Sandbox, RunningServer]) -> None:
    sandbox, server = github
    add_github(cli, sandbox, server)
    sandbox.faults.fail_paths = ["/pulls"]  # pull requests and review comments answer 502
    failed = cli("refresh", "acme", "--wait", "--json", ok=False)
    assert failed.exit_code != 0
    doc = as_json(failed)
    assert doc["state"] == "FAILED" and doc["tasks_failed"] > 0
    bad = [t for t in doc["tasks"] if t["state"] == "FAILED"]
    assert bad and all(t["stream"] in {"pull_requests", "review_comments"} for t in bad)
    assert all(t["error_kind"] == "TRANSIENT" and "502" in t["message"] for t in bad)

    sandbox.faults.fail_paths = []
    retried = as_json(cli("run", "retry", str(doc["run_id"]), "--wait", "--json"))
    assert retried["state"] == "COMPLETED" and retried["parent_run_id"] == doc["run_id"]
    # The failed tasks, and the run's derived task (linking) that derives again after them.
    redone = {t["key"] for t in doc["tasks"] if t["state"] != "COMPLETED"} | {DERIVED}
    assert {t["key"] for t in retried["tasks"]} == redone
    prs = as_json(cli("records", "acme", "pull_request", "--json"))
    assert len(prs) == sandbox.truth()["counts"]["pull_request"]


def test_local_workers_are_threads_on_sqlite_and_processes_when_asked(
    cli: Invoke, github: tuple[Sandbox, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the embedded database the local cluster's workers are threads of the refreshing process
    (no worker start); HEADWATER_DASK_PROCESSES=true makes them processes. The same rows load."""
    import os
    import socket

    sandbox, server = github
    add_github(cli, sandbox, server)
    here = f"{socket.gethostname()}:{os.getpid()}"
    doc: dict[str, Any] = as_json(cli("refresh", "acme", "--full", "--wait", "--json"))
    assert doc["state"] == "COMPLETED" and {t["worker"] for t in doc["tasks"]} == {here}
    monkeypatch.setenv("HEADWATER_DASK_PROCESSES", "true")
    doc = as_json(cli("refresh", "acme", "--full", "--wait", "--json"))
    assert doc["state"] == "COMPLETED" and here not in {t["worker"] for t in doc["tasks"]}
    prs = as_json(cli("records", "acme", "pull_request", "--json"))
    assert len(prs) == sandbox.truth()["counts"]["pull_request"]
