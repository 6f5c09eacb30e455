"""Bad inputs end with the ErrorKind that says who must act, and lose nothing."""

from __future__ import annotations

from collections.abc import Callable

from connectors.errors import ErrorKind
from connectors.runtime import SourceRuntime
from storage import Database
from tests.atlassian_support import Served, run, run_isolated
from tests.ingest_support import FastClock

Serve = Callable[..., Served]
Source = Callable[..., SourceRuntime]


def test_a_repository_without_permission_fails_only_its_own_tasks(
    serve: Serve, bitbucket_source: Source, sqlite_db: Database
) -> None:
    served = serve()
    served.mutate({"op": "forbid_repo", "repo": "web"})
    rt = bitbucket_source(served)
    out = run_isolated(rt, sqlite_db)
    assert out.kinds() == {ErrorKind.CONFIG}
    assert {key.split(":")[2] for key in out.errors} == {"acme/web"}
    assert {key.split(":")[1] for key in out.errors} == {"branches", "commits", "pull_requests"}
    done = {key.split(":")[2] for key in out.results} - {"-"}
    assert {"acme/api", "acme/infra"} <= done


def test_a_removed_endpoint_is_a_bug(serve: Serve, bitbucket_source: Source, sqlite_db: Database) -> None:
    served = serve()
    served.mutate({"op": "gone", "path": "/pullrequests"})
    out = run_isolated(bitbucket_source(served), sqlite_db)
    assert out.kinds() == {ErrorKind.BUG}
    assert {key.split(":")[1] for key in out.errors} == {"pull_requests"}
    assert all("410" in m for _, m in out.errors.values())


def test_persistent_rate_limits_are_transient_then_a_rerun_is_exact(
    serve: Serve, bitbucket_source: Source, sqlite_db: Database
) -> None:
    served = serve(rate_per_hour=20)
    rt = bitbucket_source(served)
    clock = FastClock()
    out = run_isolated(rt, sqlite_db, budget=clock.budget())
    assert ErrorKind.TRANSIENT in out.kinds() and out.kinds() <= {ErrorKind.TRANSIENT}
    assert any("hourly rate limit" in m for _, m in out.errors.values())
    assert clock.slept >= 1  # the shared budget held the credential back after each 429
    hourly = served.sandbox.hourly  # type: ignore[attr-defined]
    hourly.reset()  # the hour has passed
    hourly.limit = 1000
    run(rt, sqlite_db)
    assert served.loaded_exactly(sqlite_db, rt.source_id)


def test_rate_limit_headers_like_bitbucket(serve: Serve) -> None:
    import httpx

    served = serve(rate_per_hour=3)
    token = served.truth()["secrets"]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    answers = [httpx.get(f"{served.url}/2.0/repositories/acme", headers=headers) for _ in range(4)]
    assert answers[0].headers["x-ratelimit-limit"] == "3" and answers[0].headers["x-ratelimit-resource"] == "api"
    assert answers[2].headers["x-ratelimit-nearlimit"] == "true"
    assert answers[3].status_code == 429 and "retry-after" not in answers[3].headers
    assert answers[3].text == "Rate limit for this resource has been exceeded"
