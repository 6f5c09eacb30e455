"""Every provider x every fault plan, through the whole pipeline (driver, worker, loader, alerts).

Each provider's small sandbox is served once, behind one fault proxy, with one App (its own
SQLite database); each case gets a tenant of its own with one source pointed at the proxy (so its
rows, cursors, tasks and alerts are its own), arms the proxy with its plan (request numbers
start at 0 again), and runs a refresh as ``headwater refresh`` does (in process, serial runner)
with the drivers' ``on_finished`` alert hook. Transient plans must end COMPLETED with
exactly the sandbox's truth; a revoked credential must end FAILED with a CONFIG error naming the
credential, after few requests and little time, and raise one credential alert.

The table of outcomes is written to ``test-artifacts/fault-matrix.md``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from headwater.alerts import run_finished_hook
from headwater.app import App
from headwater.cli.sandboxes import source_settings, start
from headwater.dispatch import execute_inline
from headwater.settings import Settings
from pipelines import request_run
from storage.models import Alert, Source, TaskRun
from tenancy import add_source, add_tenant, get_tenant
from tests.faults.plans import (
    CREDENTIAL_WORDS,
    READ_TIMEOUT_S,
    REVOKED,
    SANDBOXES,
    TRANSIENT,
    revoked_plan,
)
from tests.faults.proxy import Plan, RunningProxy
from tests.ingest_support import FastClock, ServedSandbox

PROVIDERS = list(SANDBOXES)
ROWS: list[tuple[str, str, str, int, int, float]] = []
MAX_REVOKED_REQUESTS = 3  # one refused request per task started before the run stops; no retries
MAX_REVOKED_S = 5.0


@pytest.fixture(scope="module", autouse=True)
def _table() -> Iterator[None]:
    yield
    out = Path(__file__).resolve().parents[2] / "test-artifacts" / "fault-matrix.md"
    out.parent.mkdir(exist_ok=True)
    lines = ["| provider | plan | outcome | requests | faults injected | seconds |", "|---|---|---|---:|---:|---:|"]
    lines += [f"| {p} | {plan} | {o} | {r} | {f} | {s:.2f} |" for p, plan, o, r, f, s in ROWS]
    out.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module", autouse=True)
def _fast_paces() -> Iterator[None]:
    """Providers' documented paces (Slack tier 3: 1.2 s a request) on a clock 1000x faster: the
    budget still orders requests and honors blocks, the test does not wait the minutes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("pipelines.worker.InMemoryRateBudget", lambda: FastClock().budget())
        yield


@dataclass
class World:
    """One provider's sandbox, its fault proxy and an App, shared by the provider's cases."""

    app: App
    served: ServedSandbox
    proxy: RunningProxy
    cases: int = 0


@dataclass
class Case:
    app: App
    served: ServedSandbox
    proxy: RunningProxy
    tenant: str
    source_id: int


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    opened: dict[str, World] = {}
    yield opened
    for w in opened.values():
        w.proxy.stop()
        w.served.server.stop()
        w.app.close()


def world(worlds: dict[str, World], provider: str, home: Path) -> World:
    if provider not in worlds:
        sandbox, server = start(provider, seed=5, **SANDBOXES[provider])
        settings = Settings(
            home=home,
            secret_key=SecretStr(Fernet.generate_key().decode()),
            http_retry_attempts=5,
            http_backoff_max_s=0.05,
            http_max_retry_after_s=0.2,
            http_timeout_s=READ_TIMEOUT_S,
        )
        worlds[provider] = World(App.create(settings), ServedSandbox(sandbox, server), RunningProxy(server.url))
    return worlds[provider]


@pytest.fixture
def case_for(worlds: dict[str, World], tmp_path_factory: pytest.TempPathFactory) -> object:
    def make(provider: str, plan: Plan | None) -> Case:
        w = world(worlds, provider, tmp_path_factory.mktemp(provider))
        w.cases += 1
        slug = f"case{w.cases}"
        options, secrets = source_settings(w.served.sandbox, w.proxy.url)
        with w.app.db.session() as s:
            source_id = add_source(s, w.app.vault, add_tenant(s, slug), provider, options, secrets).id
        w.proxy.arm(plan)
        return Case(w.app, w.served, w.proxy, slug, source_id)

    return make


def refresh(case: Case) -> tuple[str, float]:
    with case.app.db.session() as s:
        tenant = get_tenant(s, case.tenant)
    run, _ = request_run(case.app.db, tenant)
    started = time.perf_counter()
    state = execute_inline(case.app, run.id, serial=True, on_finished=run_finished_hook(case.app, background=False))
    return state, time.perf_counter() - started


def failed_tasks(case: Case) -> list[TaskRun]:
    with case.app.db.read() as s:
        rows = list(
            s.execute(select(TaskRun).where(TaskRun.state == "FAILED", TaskRun.source_id == case.source_id)).scalars()
        )
        s.expunge_all()
        return rows


def http_counts(case: Case) -> tuple[int, dict[str, int]]:
    """Requests and responses by status of the case's tasks (``run show --json`` says the same)."""
    statuses: dict[str, int] = {}
    with case.app.db.read() as s:
        tasks = list(s.execute(select(TaskRun).where(TaskRun.source_id == case.source_id)).scalars())
        for t in tasks:
            for code, n in t.http_statuses.items():
                statuses[code] = statuses.get(code, 0) + n
        return sum(t.requests for t in tasks), statuses


def alerts(case: Case, kind: str) -> list[Alert]:
    with case.app.db.read() as s:
        tenant = get_tenant(s, case.tenant)
        rows = list(s.execute(select(Alert).where(Alert.kind == kind, Alert.tenant_id == tenant.id)).scalars())
        s.expunge_all()
        return rows


@pytest.mark.parametrize("plan", list(TRANSIENT), ids=lambda p: p.replace(" ", "-"))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_transient_faults_end_completed_with_exactly_the_truth(provider: str, plan: str, case_for: object) -> None:
    case = case_for(provider, TRANSIENT[plan])  # type: ignore[operator]
    state, seconds = refresh(case)
    p = case.proxy.proxy
    ROWS.append((provider, plan, state, p.requests, p.injected(), seconds))
    assert p.injected() == len(TRANSIENT[plan].at), "every planned fault was injected"
    assert state == "COMPLETED", [(t.stream, t.partition, t.message) for t in failed_tasks(case)]
    assert case.served.loaded_exactly(case.app.db, case.source_id)
    # The run's HTTP counts tell what happened: every request the proxy saw, and by status the
    # answers (a reset or a stall has none; a truncated body came with its 200). On a loaded
    # machine a first request may also time out on its own: at most that many fewer answers.
    requests, statuses = http_counts(case)
    fault = TRANSIENT[plan].fault
    assert requests == p.requests
    no_answer = p.injected() if fault.kind in ("reset", "stall") else 0
    assert 0 < sum(statuses.values()) <= requests - no_answer, statuses
    if fault.kind == "answer":
        assert statuses[str(fault.status)] == p.injected(), statuses


@pytest.mark.parametrize("provider", [*PROVIDERS, "slack invalid_auth"])
def test_a_revoked_credential_is_one_quick_config_error_and_one_alert(provider: str, case_for: object) -> None:
    kind = provider.split()[0]
    case = case_for(kind, revoked_plan(provider))  # type: ignore[operator]
    assert provider in REVOKED
    state, seconds = refresh(case)
    p = case.proxy.proxy
    ROWS.append((provider, "revoked", state, p.requests, p.injected(), seconds))
    assert state == "FAILED"
    failed = failed_tasks(case)
    assert failed and {t.error_kind for t in failed} == {"CONFIG"}
    assert all(CREDENTIAL_WORDS[kind] in (t.message or "") for t in failed), [t.message for t in failed]
    assert p.requests <= MAX_REVOKED_REQUESTS, "a refused credential is not retried"
    assert http_counts(case) == (p.requests, {str(REVOKED[provider].status): p.requests})
    assert seconds < MAX_REVOKED_S
    with case.app.db.read() as s:
        assert s.get(Source, case.source_id).credentials_status == "invalid"  # type: ignore[union-attr]
    assert len(alerts(case, "credentials_invalid")) == 1
    # A second refused run raises no second alert for the same episode.
    refresh(case)
    assert len(alerts(case, "credentials_invalid")) == 1
