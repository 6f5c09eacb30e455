"""A tenant with a GitHub sandbox source, driven through the real `headwater` command in
subprocesses (so signals, exit codes and stderr are the ones a person sees)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from headwater.cli.sandboxes import source_settings, start
from storage import Database
from storage.models import TERMINAL_STATES, Run, State, TaskRun
from tests.ingest_support import ServedSandbox
from tests.integration.services import clean_env


@dataclass
class Tenant:
    home: Path
    env: dict[str, str]
    served: ServedSandbox
    source_id: int = 0

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "headwater", *args]

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """In its own session, like a command in a terminal: a 'Ctrl-C' is SIGINT to its group."""
        return subprocess.Popen(
            self.argv(*args),
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def db(self) -> Database:
        return Database(f"sqlite:///{self.home / 'headwater.db'}")

    def run(self, run_id: int) -> Run:
        db = self.db()
        try:
            with db.session() as s:
                run = s.get(Run, run_id)
                assert run is not None
                s.expunge(run)
                return run
        finally:
            db.dispose()

    def tasks(self, run_id: int) -> list[TaskRun]:
        db = self.db()
        try:
            with db.session() as s:
                rows = list(s.execute(select(TaskRun).where(TaskRun.run_id == run_id)).scalars())
                s.expunge_all()
                return rows
        finally:
            db.dispose()

    def latest_run_id(self) -> int | None:
        db = self.db()
        try:
            with db.session() as s:
                return s.execute(select(Run.id).order_by(Run.id.desc()).limit(1)).scalar()
        finally:
            db.dispose()

    def loaded_exactly(self) -> bool:
        db = self.db()
        try:
            return self.served.loaded_exactly(db, self.source_id)
        finally:
            db.dispose()


def stderr_lines(text: str) -> list[str]:
    return [x for x in text.splitlines() if x.strip()]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def terminal(t: Tenant, run_id: int) -> bool:
    return State(t.run(run_id).state) in TERMINAL_STATES


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[Tenant]:
    """Tenant ``acme`` with one GitHub source on a sandbox that answers in 150 ms."""
    yield from tenant_on_sandbox(tmp_path, latency_ms=150)


@pytest.fixture
def slow_acme(tmp_path: Path) -> Iterator[Tenant]:
    """The same on a sandbox that answers in 600 ms: a run takes long enough to be interrupted
    while its tasks run, even on a loaded machine."""
    yield from tenant_on_sandbox(tmp_path, latency_ms=600)


def tenant_on_sandbox(tmp_path: Path, *, latency_ms: float) -> Iterator[Tenant]:
    sandbox, server = start("github", seed=3, repos=4, latency_ms=latency_ms)
    home = tmp_path / "hw"
    env = clean_env(
        HEADWATER_HOME=str(home),
        HEADWATER_SECRET_KEY=Fernet.generate_key().decode(),
        HEADWATER_HTTP_RETRY_ATTEMPTS="2",
        HEADWATER_HTTP_BACKOFF_MAX_S="0.1",
        HEADWATER_DASK_THREADS="4",
    )
    t = Tenant(home, env, ServedSandbox(sandbox, server))
    assert t.cli("tenant", "add", "acme").returncode == 0
    options, secrets = source_settings(sandbox, server.url)
    args = [f"--option={k}={v}" for k, v in options.items()] + [f"--secret={k}={v}" for k, v in secrets.items()]
    added = t.cli("source", "add", "acme", "github", *args, "--json")
    assert added.returncode == 0, added.stderr
    t.source_id = int(json.loads(added.stdout)["id"])
    yield t
    server.stop()
