"""JSON bodies in GitHub's REST shapes (field names as in the recorded responses).

``api`` is the API root the client used (``http://host:port`` or ``…/api/v3``), so URLs in
bodies point back at the sandbox like GitHub Enterprise Server's do.
"""

from __future__ import annotations

import base64
from typing import Any

from connectors.github.sandbox.world import (
    Comment,
    Commit,
    Event,
    Issue,
    Pull,
    Repo,
    Review,
    ReviewComment,
    User,
    World,
    iso,
)

WEB = "https://github.sandbox.test"
DOCS = "https://docs.github.com/rest"


def node_id(kind: str, ident: object) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode().rstrip("=")


def user(u: User, api: str) -> dict[str, Any]:
    return {
        "login": u.login,
        "id": u.id,
        "node_id": node_id("User", u.id),
        "avatar_url": f"https://avatars.sandbox.test/u/{u.id}?v=4",
        "gravatar_id": "",
        "url": f"{api}/users/{u.login}",
        "html_url": f"{WEB}/{u.login}",
        "followers_url": f"{api}/users/{u.login}/followers",
        "following_url": f"{api}/users/{u.login}/following{{/other_user}}",
        "gists_url": f"{api}/users/{u.login}/gists{{/gist_id}}",
        "starred_url": f"{api}/users/{u.login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/users/{u.login}/subscriptions",
        "organizations_url": f"{api}/users/{u.login}/orgs",
        "repos_url": f"{api}/users/{u.login}/repos",
        "events_url": f"{api}/users/{u.login}/events{{/privacy}}",
        "received_events_url": f"{api}/users/{u.login}/received_events",
        "type": u.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def org(world: World, api: str) -> dict[str, Any]:
    o = world.org
    return {
        "login": o,
        "id": world.org_id,
        "node_id": node_id("Organization", world.org_id),
        "url": f"{api}/orgs/{o}",
        "repos_url": f"{api}/orgs/{o}/repos",
        "events_url": f"{api}/orgs/{o}/events",
        "hooks_url": f"{api}/orgs/{o}/hooks",
        "issues_url": f"{api}/orgs/{o}/issues",
        "members_url": f"{api}/orgs/{o}/members{{/member}}",
        "public_members_url": f"{api}/orgs/{o}/public_members{{/member}}",
        "avatar_url": f"https://avatars.sandbox.test/u/{world.org_id}?v=4",
        "description": "Headwater sandbox organization",
        "name": "Sandbox Org",
        "html_url": f"{WEB}/{o}",
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "type": "Organization",
        "public_repos": sum(1 for r in world.live_repos() if not r.private),
        "total_private_repos": sum(1 for r in world.live_repos() if r.private),
    }


def org_owner(world: World, api: str) -> dict[str, Any]:
    return {**user(User(world.org_id, world.org), api), "type": "Organization"}


def repo(world: World, r: Repo, api: str) -> dict[str, Any]:
    full = f"{world.org}/{r.name}"
    base = f"{api}/repos/{full}"
    return {
        "id": r.id,
        "node_id": node_id("Repository", r.id),
        "name": r.name,
        "full_name": full,
        "private": r.private,
        "owner": org_owner(world, api),
        "html_url": f"{WEB}/{full}",
        "description": f"The {r.name} service",
        "fork": False,
        "url": base,
        "branches_url": f"{base}/branches{{/branch}}",
        "commits_url": f"{base}/commits{{/sha}}",
        "issues_url": f"{base}/issues{{/number}}",
        "pulls_url": f"{base}/pulls{{/number}}",
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "pushed_at": iso(r.pushed_at),
        "git_url": f"git://github.sandbox.test/{full}.git",
        "clone_url": f"{WEB}/{full}.git",
        "size": 0 if r.empty else 100 + len(r.commits),
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_wiki": False,
        "forks_count": 0,
        "archived": r.archived,
        "disabled": False,
        "open_issues_count": sum(1 for i in r.issues.values() if i.state == "open"),
        "license": None,
        "topics": [],
        "visibility": "private" if r.private else "public",
        "forks": 0,
        "open_issues": sum(1 for i in r.issues.values() if i.state == "open"),
        "watchers": 0,
        "default_branch": r.default_branch,
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    }


def branch(world: World, r: Repo, name: str, sha: str, api: str) -> dict[str, Any]:
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{api}/repos/{world.org}/{r.name}/commits/{sha}"},
        "protected": name == r.default_branch,
    }


def commit(world: World, r: Repo, c: Commit, api: str) -> dict[str, Any]:
    base = f"{api}/repos/{world.org}/{r.name}"
    actor = {"name": c.author_name, "email": c.author_email, "date": iso(c.at)}
    return {
        "sha": c.sha,
        "node_id": node_id("Commit", c.sha),
        "commit": {
            "author": actor,
            "committer": dict(actor),
            "message": c.message,
            "tree": {"sha": c.sha[::-1], "url": f"{base}/git/trees/{c.sha[::-1]}"},
            "url": f"{base}/git/commits/{c.sha}",
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        },
        "url": f"{base}/commits/{c.sha}",
        "html_url": f"{WEB}/{world.org}/{r.name}/commit/{c.sha}",
        "comments_url": f"{base}/commits/{c.sha}/comments",
        "author": user(c.author, api) if c.author else None,
        "committer": user(c.author, api) if c.author else None,
        "parents": [{"sha": p, "url": f"{base}/commits/{p}", "html_url": f"{WEB}/commit/{p}"} for p in c.parents],
    }


def _ref(world: World, r: Repo, ref: str, sha: str, api: str, owner: User | None = None) -> dict[str, Any]:
    login = owner.login if owner else world.org
    return {
        "label": f"{login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user(owner, api) if owner else org_owner(world, api),
        "repo": repo(world, r, api),
    }


def pull(world: World, r: Repo, p: Pull, api: str) -> dict[str, Any]:
    base = f"{api}/repos/{world.org}/{r.name}"
    web = f"{WEB}/{world.org}/{r.name}"
    head = _ref(world, r, p.head_ref, p.head_sha, api, p.user if p.from_fork else None)
    base_sha = r.commits[-1].sha if r.commits else p.head_sha
    return {
        "url": f"{base}/pulls/{p.number}",
        "id": p.id,
        "node_id": node_id("PullRequest", p.id),
        "html_url": f"{web}/pull/{p.number}",
        "diff_url": f"{web}/pull/{p.number}.diff",
        "patch_url": f"{web}/pull/{p.number}.patch",
        "issue_url": f"{base}/issues/{p.number}",
        "number": p.number,
        "state": p.state,
        "locked": False,
        "title": p.title,
        "user": user(p.user, api),
        "body": f"This pull request changes {p.head_ref}.",
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "closed_at": iso(p.closed_at) if p.closed_at else None,
        "merged_at": iso(p.merged_at) if p.merged_at else None,
        "merge_commit_sha": p.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": None,
        "draft": False,
        "commits_url": f"{base}/pulls/{p.number}/commits",
        "review_comments_url": f"{base}/pulls/{p.number}/comments",
        "review_comment_url": f"{base}/pulls/comments{{/number}}",
        "comments_url": f"{base}/issues/{p.number}/comments",
        "statuses_url": f"{base}/statuses/{p.head_sha}",
        "head": head,
        "base": _ref(world, r, p.base_ref, base_sha, api),
        "author_association": "CONTRIBUTOR" if p.from_fork else "MEMBER",
        "auto_merge": None,
        "active_lock_reason": None,
    }


def review(world: World, r: Repo, p: Pull, rv: Review, api: str) -> dict[str, Any]:
    web = f"{WEB}/{world.org}/{r.name}/pull/{p.number}"
    return {
        "id": rv.id,
        "node_id": node_id("PullRequestReview", rv.id),
        "user": user(rv.user, api),
        "body": "" if rv.state == "APPROVED" else f"review {rv.id}",
        "state": rv.state,
        "html_url": f"{web}#pullrequestreview-{rv.id}",
        "pull_request_url": f"{api}/repos/{world.org}/{r.name}/pulls/{p.number}",
        "author_association": "MEMBER",
        "_links": {
            "html": {"href": f"{web}#pullrequestreview-{rv.id}"},
            "pull_request": {"href": f"{api}/repos/{world.org}/{r.name}/pulls/{p.number}"},
        },
        "submitted_at": iso(rv.at),
        "commit_id": rv.commit_id,
    }


def review_comment(world: World, r: Repo, p: Pull, rc: ReviewComment, api: str) -> dict[str, Any]:
    base = f"{api}/repos/{world.org}/{r.name}"
    web = f"{WEB}/{world.org}/{r.name}/pull/{p.number}#discussion_r{rc.id}"
    return {
        "url": f"{base}/pulls/comments/{rc.id}",
        "pull_request_review_id": rc.review_id,
        "id": rc.id,
        "node_id": node_id("PullRequestReviewComment", rc.id),
        "diff_hunk": "@@ -1 +1 @@\n-old\n+new",
        "path": rc.path,
        "commit_id": rc.commit_id,
        "original_commit_id": rc.commit_id,
        "user": user(rc.user, api),
        "body": rc.body,
        "created_at": iso(rc.created_at),
        "updated_at": iso(rc.updated_at),
        "html_url": web,
        "pull_request_url": f"{base}/pulls/{p.number}",
        "author_association": "MEMBER",
        "_links": {
            "self": {"href": f"{base}/pulls/comments/{rc.id}"},
            "html": {"href": web},
            "pull_request": {"href": f"{base}/pulls/{p.number}"},
        },
        "line": 1,
        "side": "RIGHT",
        "subject_type": "line",
    }


def issue(world: World, r: Repo, i: Issue, api: str) -> dict[str, Any]:
    base = f"{api}/repos/{world.org}/{r.name}"
    web = f"{WEB}/{world.org}/{r.name}"
    body: dict[str, Any] = {
        "url": f"{base}/issues/{i.number}",
        "repository_url": base,
        "labels_url": f"{base}/issues/{i.number}/labels{{/name}}",
        "comments_url": f"{base}/issues/{i.number}/comments",
        "events_url": f"{base}/issues/{i.number}/events",
        "html_url": f"{web}/{'pull' if i.pull else 'issues'}/{i.number}",
        "id": i.id,
        "node_id": node_id("Issue", i.id),
        "number": i.number,
        "title": i.title,
        "user": user(i.user, api),
        "labels": [
            {"id": 100 + n, "name": name, "color": "ededed", "default": False, "description": None}
            for n, name in enumerate(i.labels)
        ],
        "state": i.state,
        "locked": False,
        "assignee": user(i.assignee, api) if i.assignee else None,
        "assignees": [user(i.assignee, api)] if i.assignee else [],
        "milestone": None,
        "comments": len(i.comments),
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "closed_at": iso(i.closed_at) if i.closed_at else None,
        "author_association": "MEMBER",
        "state_reason": "completed" if i.state == "closed" else None,
        "body": f"Issue {i.number}",
    }
    if i.pull is not None:
        body["draft"] = False
        body["pull_request"] = {
            "url": f"{base}/pulls/{i.number}",
            "html_url": f"{web}/pull/{i.number}",
            "diff_url": f"{web}/pull/{i.number}.diff",
            "patch_url": f"{web}/pull/{i.number}.patch",
            "merged_at": iso(i.pull.merged_at) if i.pull.merged_at else None,
        }
    return body


def issue_comment(world: World, r: Repo, i: Issue, c: Comment, api: str) -> dict[str, Any]:
    base = f"{api}/repos/{world.org}/{r.name}"
    web = f"{WEB}/{world.org}/{r.name}/{'pull' if i.pull else 'issues'}/{i.number}#issuecomment-{c.id}"
    return {
        "url": f"{base}/issues/comments/{c.id}",
        "html_url": web,
        "issue_url": f"{base}/issues/{i.number}",
        "id": c.id,
        "node_id": node_id("IssueComment", c.id),
        "user": user(c.user, api),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "author_association": "MEMBER",
        "body": c.body,
    }


def issue_event(world: World, r: Repo, i: Issue, e: Event, api: str, *, with_issue: bool) -> dict[str, Any]:
    base = f"{api}/repos/{world.org}/{r.name}"
    body: dict[str, Any] = {
        "id": e.id,
        "node_id": node_id("IssueEvent", e.id),
        "url": f"{base}/issues/events/{e.id}",
        "actor": user(e.actor, api),
        "event": e.event,
        "commit_id": e.commit_id,
        "commit_url": f"{base}/commits/{e.commit_id}" if e.commit_id else None,
        "created_at": iso(e.at),
    }
    if e.label is not None:
        body["label"] = {"name": e.label, "color": "ededed"}
    if e.assignee is not None:
        body["assignee"] = user(e.assignee, api)
        body["assigner"] = user(e.actor, api)
    if e.rename is not None:
        body["rename"] = {"from": e.rename[0], "to": e.rename[1]}
    if with_issue:
        body["issue"] = issue(world, r, i, api)
    return body


def error(message: str, doc: str = DOCS, status: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": doc}
    if status is not None:
        body["status"] = str(status)
    return body
