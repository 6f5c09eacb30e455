"""A tiny "forge" connector and its sandbox, for observability tests that need real runs.

It goes through the real framework (HttpClient, runner, store, driver, worker) against a
sandbox in a thread, without depending on a provider package: an organization's
repositories (discovery), then per repository its commits (commit + person rows) and its
branches. ``install(monkeypatch)`` registers the kind ``forge``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.connector import Connector, SourceOptions, SourceSecrets
from connectors.cursors import Snapshot
from connectors.sandbox import RunningServer, Sandbox
from connectors.streams import Partition, Row, StreamContext, StreamSpec
from headwater.app import App
from headwater.settings import Settings
from storage.models import Tenant
from tenancy import add_source, add_tenant

KIND = "forge"
TOKEN = "forge-s3cr3t-7d1e4c9a0b2f"
T0 = datetime(2024, 5, 1, tzinfo=UTC)


class ForgeOptions(SourceOptions):
    org: str


class ForgeSecrets(SourceSecrets):
    token: SecretStr


class _Bearer(httpx.Auth):
    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


def _repository(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    yield Row(
        "repository", {"external_id": str(record["id"]), "full_name": record["full_name"], "name": record["name"]}
    )


def _repo_id(ctx: StreamContext) -> str:
    assert ctx.partition is not None
    return str(ctx.partition.values["external_id"])


def _commit(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    repo = _repo_id(ctx)
    author = record["author"]
    yield Row("person", {"external_id": str(author["id"]), "login": author["login"]})
    yield Row(
        "commit",
        {
            "external_id": f"{repo}:{record['sha']}",
            "repository_external_id": repo,
            "sha": record["sha"],
            "author_external_id": str(author["id"]),
            "message": record["message"],
            "authored_at": datetime.fromisoformat(record["date"]),
        },
    )


def _branch(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    repo = _repo_id(ctx)
    yield Row(
        "branch", {"external_id": f"{repo}:{record['name']}", "repository_external_id": repo, "name": record["name"]}
    )


def _partition_of(row: Mapping[str, Any], options: Any) -> Partition | None:
    owner, _, name = str(row["full_name"]).partition("/")
    return Partition(
        key=str(row["full_name"]),
        values={"owner": owner, "repo": name, "external_id": str(row["external_id"])},
        names=(name,),
    )


CONNECTOR = Connector(
    kind=KIND,
    options_model=ForgeOptions,
    secrets_model=ForgeSecrets,
    auth=lambda secrets: _Bearer(secrets.token),
    streams=(
        StreamSpec(
            name="repositories",
            path="orgs/{org}/repos",
            normalize=_repository,
            partitioned=False,
            snapshot=Snapshot("repository"),
            entities=("repository",),
        ),
        StreamSpec(
            name="commits", path="repos/{owner}/{repo}/commits", normalize=_commit, entities=("commit", "person")
        ),
        StreamSpec(name="branches", path="repos/{owner}/{repo}/branches", normalize=_branch, entities=("branch",)),
    ),
    discovery_stream="repositories",
    partition_entity="repository",
    partition_of=_partition_of,
    partition_values=("owner", "repo", "external_id"),
)


class ForgeSandbox(Sandbox):
    provider = KIND

    def __init__(self, *, repos: int = 3, commits: int = 4, **kw: Any) -> None:
        super().__init__(**kw)
        self.repos = [{"id": 100 + i, "name": f"repo{i}", "full_name": f"acme/repo{i}"} for i in range(repos)]
        self.commits = commits

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    def routes(self) -> list[BaseRoute]:
        def guard(build: Any) -> Any:
            async def endpoint(request: Request) -> Response:
                if not self._authorized(request):
                    return JSONResponse({"message": "Bad credentials"}, status_code=401)
                return JSONResponse(build(request))

            return endpoint

        def commits(request: Request) -> list[dict[str, Any]]:
            repo = request.path_params["repo"]
            return [
                {
                    "sha": f"{repo}-{i:04x}",
                    "message": f"change {i}",
                    "author": {"id": 1 + i % 3, "login": f"dev{i % 3}"},
                    "date": (T0 + timedelta(hours=i)).isoformat(),
                }
                for i in range(self.commits)
            ]

        return [
            Route("/orgs/{org}/repos", guard(lambda r: self.repos)),
            Route("/repos/{owner}/{repo}/commits", guard(commits)),
            Route("/repos/{owner}/{repo}/branches", guard(lambda r: [{"name": "main"}, {"name": "dev"}])),
        ]

    def truth(self) -> dict[str, Any]:
        n = len(self.repos)
        return {
            "options": {"org": "acme"},
            "secrets": {"token": TOKEN},
            "counts": {
                "repository": n,
                "commit": n * self.commits,
                "person": min(3, self.commits),
                "branch": n * 2,
            },
        }


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the ``forge`` kind for this test (in-process runners only)."""
    from connectors import registry

    monkeypatch.setitem(registry.KINDS, KIND, __name__)


@dataclass
class Forge:
    """A running forge sandbox and an App with one tenant reading it."""

    app: App
    sandbox: ForgeSandbox
    server: RunningServer
    tenant: str
    source_id: int

    def fail(self, *paths: str) -> None:
        self.sandbox.faults.fail_paths = list(paths)

    def scheduled_task(self, stream: str = "repositories") -> tuple[int, int]:
        """(run id, task id) of a new run of tenant ``acme`` with one SCHEDULED task of ``stream``:
        what a Dask worker is handed (``execute_task``), without a driver."""
        from sqlalchemy import select

        from pipelines import create_run, set_task_state
        from storage.models import State, TaskRun

        with self.app.db.session() as s:
            tenant = s.execute(select(Tenant).where(Tenant.slug == "acme")).scalar_one()
            run, _ = create_run(s, tenant)
            task = TaskRun(run_id=run.id, source_id=self.source_id, key="k", stream=stream, state="SCHEDULED")
            s.add(task)
            s.flush()
            set_task_state(s, task, State.SCHEDULED)
            return run.id, task.id


@contextlib.contextmanager
def running_forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Iterator[Forge]:
    """A forge sandbox in a thread and an App with tenant ``acme``: SQLite under ``tmp_path``, or
    the server database of ``database_url=`` (migrated here, emptied afterwards)."""
    from storage import upgrade
    from storage.migrate import downgrade

    install(monkeypatch)
    sandbox = ForgeSandbox()
    server = RunningServer(sandbox.app()).start()
    app = make_app(tmp_path, **settings)
    if not app.settings.is_embedded_db:
        upgrade(app.db)
    try:
        source_id = add_forge_tenant(app, server.url)
        yield Forge(app=app, sandbox=sandbox, server=server, tenant="acme", source_id=source_id)
    finally:
        if not app.settings.is_embedded_db:
            downgrade(app.db, "base")
        app.close()
        server.stop()


def make_app(tmp_path: Path, **settings: Any) -> App:
    from cryptography.fernet import Fernet

    # Injected 5xx fail fast: two quick attempts instead of the production backoff.
    settings = {"http_retry_attempts": 2, "http_backoff_max_s": 0.05, **settings}
    return App.create(
        Settings(home=tmp_path, secret_key=SecretStr(Fernet.generate_key().decode()), **settings), migrate=True
    )


def add_forge_tenant(app: App, url: str, slug: str = "acme", token: str = TOKEN) -> int:
    with app.db.session() as s:
        from sqlalchemy import select

        t = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none() or add_tenant(
            s, slug, slug.title()
        )
        src = add_source(s, app.vault, t, KIND, {"base_url": url, "org": "acme"}, {"token": token})
        return src.id


def refresh(
    app: App, slug: str = "acme", trigger: str = "refresh", on_finished: Callable[[int], None] | None = None
) -> tuple[int, str]:
    """Request and execute a run in this process (serial runner); returns (run id, state)."""
    from headwater.dispatch import execute_inline
    from pipelines import request_run
    from tenancy import get_tenant

    with app.db.session() as s:
        t = get_tenant(s, slug)
    run, _ = request_run(app.db, t, trigger=trigger)
    return run.id, execute_inline(app, run.id, serial=True, on_finished=on_finished)
