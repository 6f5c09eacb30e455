"""Bad inputs end with the ErrorKind that says who must act, and lose nothing."""

from __future__ import annotations

from collections.abc import Callable

from connectors.errors import ErrorKind
from connectors.runtime import SourceRuntime
from storage import Database
from tests.atlassian_support import Served, all_counts, run, run_isolated

Serve = Callable[..., Served]
Source = Callable[..., SourceRuntime]


def test_a_project_the_account_cannot_read_fails_only_its_own_tasks(
    serve: Serve, jira_source: Source, sqlite_db: Database
) -> None:
    served = serve()
    served.mutate({"op": "forbid_project", "project": "BETA"})
    rt = jira_source(served)
    out = run_isolated(rt, sqlite_db)
    failed = {key.split(":")[2] for key in out.errors}
    assert failed == {"BETA"}
    assert out.kinds() == {ErrorKind.CONFIG}
    assert any("Browse projects" in m for _, m in out.errors.values())
    assert all(":BETA" not in key for key in out.results if ":issues:" in key)
    alpha = [i for i in all_counts(sqlite_db, rt.source_id, ["work_item"]).values()]
    assert alpha == [10]  # ALPHA's issues are all there


def test_a_removed_endpoint_is_a_bug(serve: Serve, jira_source: Source, sqlite_db: Database) -> None:
    served = serve()
    served.mutate({"op": "gone", "path": "/rest/api/3/search/jql"})
    rt = jira_source(served)
    out = run_isolated(rt, sqlite_db)
    assert out.kinds() == {ErrorKind.BUG}
    assert {key.split(":")[1] for key in out.errors} == {"issues", "issue_ids"}
    assert all("410" in m and "search/jql" in m for _, m in out.errors.values())


def test_persistent_faults_are_transient_then_a_rerun_is_exact(
    serve: Serve, jira_source: Source, sqlite_db: Database
) -> None:
    served = serve()
    served.faults(fail_paths=["/rest/api/3/search/jql"])
    rt = jira_source(served)
    out = run_isolated(rt, sqlite_db)
    assert out.kinds() == {ErrorKind.TRANSIENT}
    served.faults()
    run(rt, sqlite_db)
    assert served.loaded_exactly(sqlite_db, rt.source_id)


def test_the_sandbox_rate_limit_answers_like_jira(serve: Serve) -> None:
    import httpx

    served = serve(rate_per_s=2)
    truth = served.truth()["secrets"]
    auth = (truth["email"], truth["api_token"])
    answers = [httpx.get(f"{served.url}/rest/api/3/field", auth=auth) for _ in range(4)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    headers = limited[0].headers
    assert headers["ratelimit-reason"] == "jira-burst-based"
    assert int(headers["retry-after"]) >= 1 and headers["x-ratelimit-remaining"] == "0"
    assert headers["x-ratelimit-reset"].endswith("Z")
