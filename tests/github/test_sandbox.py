"""The GitHub sandbox speaks GitHub's REST API: auth, pagination, filters, ETags, limits, faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from connectors.github.sandbox import World, make_sandbox
from tests.github.conftest import Served

Serve = Callable[..., Served]


def client(served: Served, suffix: str = "") -> httpx.Client:
    token = served.truth()["secrets"]["token"]
    return httpx.Client(
        base_url=served.url + suffix,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
    )


def repo_names(served: Served) -> list[str]:
    return list(served.truth()["repositories"])


def all_pages(c: httpx.Client, url: str, **params: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        r = c.get(next_url, params=params if pages == 0 else None)
        assert r.status_code == 200, r.text
        items += r.json()
        pages += 1
        next_url = r.links.get("next", {}).get("url")
    return items, pages


def test_auth_scopes_and_rate_limit_headers(serve: Serve) -> None:
    served = serve()
    org = served.truth()["options"]["org"]
    anonymous = httpx.get(f"{served.url}/orgs/{org}/repos")
    assert anonymous.status_code == 401 and anonymous.json()["message"] == "Bad credentials"
    wrong = httpx.get(f"{served.url}/orgs/{org}/repos", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    with client(served) as c:
        r = c.get("/user")
        assert r.status_code == 200 and r.json()["login"]
        assert r.headers["X-OAuth-Scopes"] == "repo, read:org"
        assert int(r.headers["X-RateLimit-Limit"]) == 5000
        before = int(r.headers["X-RateLimit-Remaining"])
        assert int(c.get("/user").headers["X-RateLimit-Remaining"]) == before - 1
        classic = c.get("/user", headers={"Authorization": f"token {served.sandbox.token}"})
        assert classic.status_code == 200


def test_link_pagination_honours_per_page(serve: Serve) -> None:
    served = serve(repos=2, commits=70)
    org = served.truth()["options"]["org"]
    name = repo_names(served)[0]
    repo = served.sandbox.world.find_repo(name)
    assert repo is not None and len(repo.commits) > 100
    with client(served) as c:
        first = c.get(f"/repos/{org}/{name}/commits")
        assert len(first.json()) == 30  # GitHub's default page size
        assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
        assert len(c.get(f"/repos/{org}/{name}/commits", params={"per_page": 500}).json()) == 100
        items, pages = all_pages(c, f"/repos/{org}/{name}/commits", per_page=100)
        assert pages == -(-len(repo.commits) // 100) and pages >= 2
        assert [i["sha"] for i in items] == [x.sha for x in repo.commits]
        second = c.get(first.links["next"]["url"])
        assert 'rel="prev"' in second.headers["Link"] and 'rel="first"' in second.headers["Link"]


def test_etag_304_does_not_spend_the_budget(serve: Serve) -> None:
    served = serve(repos=1)
    org = served.truth()["options"]["org"]
    with client(served) as c:
        r = c.get(f"/orgs/{org}/members")
        etag = r.headers["ETag"]
        assert etag.startswith('W/"')
        again = c.get(f"/orgs/{org}/members", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["X-RateLimit-Remaining"] == r.headers["X-RateLimit-Remaining"]
        assert c.get(f"/orgs/{org}/members", headers={"If-None-Match": 'W/"stale"'}).status_code == 200


def test_filters_state_sort_direction_since(serve: Serve) -> None:
    served = serve(repos=1, pulls=20, issues=10)
    org = served.truth()["options"]["org"]
    name = repo_names(served)[0]
    base = f"/repos/{org}/{name}"
    with client(served) as c:
        pulls, _ = all_pages(c, f"{base}/pulls", state="all", sort="updated", direction="desc", per_page=100)
        assert len(pulls) == 20
        stamps = [p["updated_at"] for p in pulls]
        assert stamps == sorted(stamps, reverse=True)
        assert {p["state"] for p in c.get(f"{base}/pulls").json()} <= {"open"}  # default state=open
        closed = c.get(f"{base}/pulls", params={"state": "closed", "per_page": 100}).json()
        assert closed and all(p["state"] == "closed" for p in closed)
        assert any(p["merged_at"] for p in closed) and any(not p["merged_at"] for p in closed)

        issues, _ = all_pages(c, f"{base}/issues", state="all", per_page=100)
        assert len(issues) == 30  # pull requests are issues too
        assert sum(1 for i in issues if "pull_request" in i) == 20
        cut = sorted(i["updated_at"] for i in issues)[15]
        recent = c.get(f"{base}/issues", params={"state": "all", "since": cut, "per_page": 100}).json()
        assert recent and all(i["updated_at"] >= cut for i in recent) and len(recent) < 30
        asc = c.get(f"{base}/issues/comments", params={"sort": "updated", "direction": "asc", "per_page": 100}).json()
        assert [x["updated_at"] for x in asc] == sorted(x["updated_at"] for x in asc)
        events = c.get(f"{base}/issues/events", params={"per_page": 100}).json()
        assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
        assert all("issue" in e for e in events)


def test_empty_missing_renamed_and_deleted_repositories(serve: Serve) -> None:
    served = serve(repos=4)
    org = served.truth()["options"]["org"]
    world = served.sandbox.world
    empty = next(r for r in world.repos if r.empty)
    live = next(r for r in world.repos if not r.empty and not r.archived)
    with client(served) as c:
        conflict = c.get(f"/repos/{org}/{empty.name}/commits")
        assert conflict.status_code == 409 and conflict.json()["message"] == "Git Repository is empty."
        assert c.get(f"/repos/{org}/{empty.name}/branches").json() == []
        assert c.get(f"/repos/{org}/nope/commits").status_code == 404
        assert c.get(f"/repos/other-org/{live.name}/commits").status_code == 404
        old = live.name
        served.mutate(rename_repo={"from": old, "to": "renamed"})
        moved = c.get(f"/repos/{org}/{old}/commits", params={"per_page": 5})
        assert moved.status_code == 301
        assert moved.headers["Location"].endswith(f"/repositories/{live.id}/commits?per_page=5")
        followed = c.get(f"/repos/{org}/{old}/commits", params={"per_page": 5}, follow_redirects=True)
        assert followed.status_code == 200 and len(followed.json()) == 5
        served.mutate(delete_repo="renamed")
        assert c.get(f"/repos/{org}/renamed/commits").status_code == 404
        assert "renamed" not in [r["name"] for r in c.get(f"/orgs/{org}/repos").json()]


def test_enterprise_server_prefix(serve: Serve) -> None:
    served = serve(repos=2)
    org = served.truth()["options"]["org"]
    with client(served, "/api/v3") as c:
        r = c.get(f"/orgs/{org}/repos", params={"per_page": 1})
        assert r.status_code == 200
        assert r.json()[0]["url"].startswith(f"{served.url}/api/v3/repos/")
        assert r.links["next"]["url"].startswith(f"{served.url}/api/v3/orgs/{org}/repos?")


def test_truth_is_deterministic_and_excludes_archived_repositories() -> None:
    a, b, c = make_sandbox(seed=7).truth(), make_sandbox(seed=7).truth(), make_sandbox(seed=8).truth()
    assert a == b and a["counts"] != c["counts"]
    world = World(seed=7, repos=5)
    archived = [r for r in world.repos if r.archived]
    assert len(archived) == 1
    with_archived = world.counts(include_archived=True)
    default = world.counts()
    assert default["repository"] == with_archived["repository"] == 5
    assert default["commit"] < with_archived["commit"] and default["pull_request"] < with_archived["pull_request"]
    assert set(a["counts"]) >= {"person", "repository", "branch", "commit", "pull_request", "review", "comment"}


def test_faults_use_githubs_bodies(serve: Serve) -> None:
    served = serve(repos=1)
    with client(served) as c:
        served.faults(secondary_limit=1, retry_after_s=3)
        r = c.get("/user")
        assert r.status_code == 403 and "secondary rate limit" in r.json()["message"]
        assert r.headers["Retry-After"] == "3"
        served.faults(burst_429=1)
        assert c.get("/user").status_code == 429
        served.faults(revoked=True)
        assert c.get("/user").json()["message"] == "Bad credentials"
        served.faults()
        assert c.get("/user").status_code == 200


def test_primary_rate_limit_exhaustion(serve: Serve) -> None:
    served = serve(repos=1, rate_limit=2)
    with client(served) as c:
        assert c.get("/user").status_code == 200
        assert c.get("/user").status_code == 200
        r = c.get("/user")
        assert r.status_code == 403 and r.headers["X-RateLimit-Remaining"] == "0"
        assert "rate limit exceeded" in r.json()["message"]
