"""Pull requests with their reviews and commits in one record: GraphQL nodes in REST shapes.

The GraphQL listing (:mod:`connectors.github.graphql`) brings each pull request with its reviews
and commits; the REST fallback of that listing embeds the two REST sub-listings in the record
(``_embedded``). Either way :func:`pull_request` turns the record into the rows the REST streams
load — the same normalizers on the same shapes, so both paths write identical rows:

* a GraphQL ``Actor`` becomes a REST user (``databaseId`` -> ``id``, ``__typename`` -> ``type``;
  a ``Bot`` gets the ``[bot]`` suffix REST puts on its login);
* ``state`` OPEN/CLOSED/MERGED -> open/closed (merged is read from ``mergedAt``, as from REST);
* ``merge_commit_sha``: REST gives the merge commit, or for an unmerged pull request the test
  merge commit, which GraphQL calls ``potentialMergeCommit``.

Known differences of the real APIs the rows cannot hide: a deleted account is ``null`` in GraphQL
and the ``ghost`` user in REST; a commit's GraphQL ``GitActor.user`` is a User only (a commit by a
GitHub App's bot account has no linked author there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.github import normalize as n
from connectors.streams import Row, StreamContext

EMBEDDED = "_embedded"  # REST fallback: {"reviews": [...], "commits": [...]} of the pull request


def is_graphql(record: Mapping[str, Any]) -> bool:
    return record.get("__typename") == "PullRequest"


def rest_user(actor: Mapping[str, Any] | None, typename: str | None = None) -> dict[str, Any] | None:
    if not actor or actor.get("databaseId") is None:
        return None
    kind = typename or str(actor.get("__typename") or "User")
    login = str(actor["login"])
    if kind == "Bot" and not login.endswith("[bot]"):
        login = f"{login}[bot]"
    return {"id": actor["databaseId"], "login": login, "type": kind}


def _nodes(connection: Mapping[str, Any] | None) -> list[Any]:
    return [x for x in (connection or {}).get("nodes") or [] if x is not None]


def rest_pull(node: Mapping[str, Any]) -> dict[str, Any]:
    merge = node.get("mergeCommit") or node.get("potentialMergeCommit") or {}
    return {
        "id": node.get("databaseId"),
        "number": node["number"],
        "state": "open" if node.get("state") == "OPEN" else "closed",
        "title": node.get("title"),
        "user": rest_user(node.get("author")),
        "head": {"ref": node.get("headRefName"), "sha": node.get("headRefOid")},
        "base": {"ref": node.get("baseRefName")},
        "draft": node.get("isDraft"),
        "html_url": node.get("url"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": merge.get("oid"),
        "labels": [{"name": lb["name"]} for lb in _nodes(node.get("labels"))],
    }


def rest_review(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": node.get("databaseId"),
        "state": node.get("state"),
        "user": rest_user(node.get("author")),
        "submitted_at": node.get("submittedAt"),
        "commit_id": (node.get("commit") or {}).get("oid"),
    }


def _git_actor(actor: Mapping[str, Any] | None) -> dict[str, Any]:
    actor = actor or {}
    return {"name": actor.get("name"), "email": actor.get("email"), "date": actor.get("date")}


def rest_commit(node: Mapping[str, Any]) -> dict[str, Any]:
    """A ``PullRequestCommit`` node -> the REST shape of a pull request's commit."""
    c = node["commit"]
    author, committer = c.get("author") or {}, c.get("committer") or {}
    return {
        "sha": c["oid"],
        "commit": {"author": _git_actor(author), "committer": _git_actor(committer), "message": c.get("message")},
        "author": rest_user(author.get("user"), "User"),
        "committer": rest_user(committer.get("user"), "User"),
        "parents": [{"sha": p["oid"]} for p in _nodes(c.get("parents"))],
    }


def parts(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any] | None, list[Any] | None]:
    """(the pull request, its reviews, its commits) in REST shapes; None where not embedded."""
    if is_graphql(record):
        reviews = [rest_review(x) for x in _nodes(record.get("reviews"))]
        return rest_pull(record), reviews, [rest_commit(x) for x in _nodes(record.get("commits"))]
    embedded = record.get(EMBEDDED)
    if not isinstance(embedded, Mapping):
        return dict(record), None, None
    return dict(record), list(embedded.get("reviews") or []), list(embedded.get("commits") or [])


def pull_request(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    """The pull request's rows, then (when the record carries them) its reviews' and commits'."""
    pr, reviews, commits = parts(record)
    yield from n.pull_request(pr, ctx)
    if reviews is None and commits is None:
        return
    parent = {"external_id": n.numbered_id(n.repo_id(ctx), int(pr["number"])), "number": pr["number"]}
    child = dataclasses.replace(ctx, parent=parent)
    for review in reviews or []:
        yield from n.review(review, child)
    for commit in commits or []:
        yield from n.pull_request_commit(commit, child)
