"""The privacy declarations against real payloads: every recorded 200 body of an endpoint a stream
reads (../shared/recorded/PROVIDER, read in place), changed with all options on as that stream
declares, keeps none of the names, e-mails, bodies, branches or paths it carried."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from connectors.privacy import Hasher, Privatizer
from connectors.registry import get_connector
from tests.conftest import require_recordings
from tests.connectors.recordings import recorded, recorded_params
from tests.privacy.support import MIN_LEN, PLANTED_KEYS, _keyed, _strings, _word

# provider -> endpoint (as in index.json) -> (stream, key of the records; None: the body itself)
READ: dict[str, dict[str, tuple[str, str | None]]] = {
    "github": {
        "branches list": ("branches", None),
        "branch detail": ("branches", None),
        "commits list": ("commits", None),
        "commit detail": ("commits", None),
        "pulls list": ("pull_requests", None),
        "pull detail": ("pull_requests", None),
        "pull reviews": ("reviews", None),
        "pull review detail": ("reviews", None),
        "pull commits": ("pull_request_commits", None),
        "pull review comments": ("review_comments", None),
        "pull review comment detail": ("review_comments", None),
        "issues list": ("issues", None),
        "issue detail": ("issues", None),
        "issue comments": ("issue_comments", None),
        "issue comment detail": ("issue_comments", None),
        "issue events": ("issue_events", None),
        "issue event detail": ("issue_events", None),
        "org members": ("members", None),
    },
    "bitbucket": {
        "/repositories/{ws}/{repo}/refs/branches": ("branches", "values"),
        "/repositories/{ws}/{repo}/refs/branches/{name}": ("branches", None),
        "/repositories/{ws}/{repo}/commits": ("commits", "values"),
        "/repositories/{ws}/{repo}/commits/{branch}": ("commits", "values"),
        "/repositories/{ws}/{repo}/commit/{hash}": ("commits", None),
        "/repositories/{ws}/{repo}/pullrequests": ("pull_requests", "values"),
        "/repositories/{ws}/{repo}/pullrequests/{id}": ("pull_requests", None),
        "/repositories/{ws}/{repo}/pullrequests/{id}/commits": ("pr_commits", "values"),
        "/repositories/{ws}/{repo}/pullrequests/{id}/comments": ("pr_activity", "values"),
    },
    "jira": {
        "/rest/api/3/search/jql": ("issues", "issues"),
        "/rest/api/3/search": ("issues", "issues"),
        "/rest/api/2/search": ("issues", "issues"),
        "/rest/api/2/issue/{idOrKey}": ("issues", None),
        "/rest/agile/1.0/sprint/{id}/issue": ("sprint_members", "issues"),
        "/rest/agile/1.0/board/{id}/issue": ("sprint_members", "issues"),
        "/rest/api/2/issue/{id}/comment": ("comments", "comments"),
        "/rest/api/2/issue/{id}/worklog": ("worklogs", "worklogs"),
        "/rest/api/3/issue/{id}/worklog": ("worklogs", "worklogs"),
        "/rest/api/3/users/search": ("users", None),
        "/rest/api/3/project/search": ("projects", "values"),
        "/rest/api/2/project": ("projects", None),
        "/rest/api/2/project/{idOrKey}": ("projects", None),
        "/rest/agile/1.0/board": ("sprints", "values"),
        "/rest/agile/1.0/board/{id}/sprint": ("sprints", "values"),
        "/rest/api/2/version/{id}": ("versions", None),
    },
    "aha": {
        "/users": ("users", "users"),
        "/users/:id": ("users", "user"),
        "/products/:product_id/users": ("product_users", "project_users"),
        "/products/:product_id/releases": ("releases", "releases"),
        "/releases/:id": ("releases", "release"),
        "/features": ("features", "features"),
        "/products/:product_id/features": ("features", "features"),
        "/epics/:epic_id/features": ("features", "features"),
        "/releases/:release_id/features": ("features", "features"),
        "/features/:id": ("features", "feature"),
        "/features/:feature_id/requirements": ("requirements", "requirements"),
        "/requirements/:id": ("requirements", "requirement"),
        "/epics": ("epics", "epics"),
        "/products/:product_id/epics": ("epics", "epics"),
        "/releases/:release_id/epics": ("epics", "epics"),
        "/epics/:id": ("epics", "epic"),
        "/initiatives": ("initiatives", "initiatives"),
        "/products/:product_id/initiatives": ("initiatives", "initiatives"),
        "/initiatives/:id": ("initiatives", "initiative"),
        "/ideas": ("ideas", "ideas"),
        "/products/:product_id/ideas": ("ideas", "ideas"),
        "/ideas/:id": ("ideas", "idea"),
        "/products/:project_id/comments": ("comments", "comments"),
        "/features/:feature_id/comments": ("comments", "comments"),
        "/ideas/:idea_id/comments": ("comments", "comments"),
        "/requirements/:requirement_id/comments": ("comments", "comments"),
        "/comments/:id": ("comments", "comment"),
    },
    "slack": {
        "users.list": ("users", "members"),
        "conversations.history": ("messages", "messages"),
        "conversations.replies": ("replies", "messages"),
        "conversations.list": ("conversations", "channels"),
    },
}


def _cases() -> list[Any]:
    out: list[Any] = []
    for provider, endpoints in READ.items():
        cases, ids = [], []
        for entry, rec in recorded(provider):
            read = endpoints.get(entry["endpoint"])
            if read is None or entry.get("status") != 200 or not isinstance(rec.get("body"), (dict, list)):
                continue
            body = rec["body"]
            records = body.get(read[1]) if read[1] and isinstance(body, dict) else body
            records = records if isinstance(records, list) else [records]
            records = [r for r in records if isinstance(r, dict)]
            if records:
                cases.append((provider, read[0], records))
                ids.append(f"{provider}-{entry['file'].removesuffix('.json')}")
        out += recorded_params(provider, cases, ids, 3)
    return out


CASES = _cases()
KEPT_KEYS = {"title", "summary", "full_name", "homepage"}
OWNER = re.compile(r"(?:/repos/|/repositories/|^|\s)([\w.-]+)/[\w.-]+(?=\s|$|/)")
PRIVATIZER = Privatizer(("redact_people", "strip_bodies", "hash_paths"), Hasher(os.urandom(32)))


@pytest.mark.parametrize(("provider", "stream", "records"), CASES)
def test_a_recorded_page_keeps_no_name_email_body_branch_or_path(
    provider: str | None, stream: str | None, records: list[dict[str, Any]] | None
) -> None:
    if provider is None or stream is None or records is None:
        require_recordings("github")
        return
    privacy = get_connector(provider).stream(stream).privacy
    assert privacy is not None
    values = {v.strip() for v in _keyed(records, PLANTED_KEYS) if len(v.strip()) >= MIN_LEN}
    # Kept by design: titles and names of things (a body that repeats its title stays there), and
    # the owner in a repository's name and URLs (an organization, or a person owning the repository).
    kept_keys = KEPT_KEYS | ({"name"} if provider == "aha" else set())  # an Aha! record's name is its title
    kept = "\n".join([*_keyed(records, kept_keys), *OWNER.findall("\n".join(_strings(records)))])
    values = {v for v in values if not _word(v).search(kept)}
    changed = PRIVATIZER.records(privacy, records)
    text = "\n".join(_strings(changed))  # newlines end words: one search per value
    left = sorted(v for v in values if _word(v).search(text))
    assert left == []


def test_every_provider_has_recordings_checked() -> None:
    if not CASES or CASES[0].values[0] is None:
        require_recordings("github")
    checked: dict[str, int] = {}
    for provider, _, records in (c.values for c in CASES):
        checked[provider] = checked.get(provider, 0) + len(set(_keyed(records, PLANTED_KEYS)))
    # every provider's recordings carry names, e-mails, bodies or branches to change
    assert all(checked.get(p, 0) >= 10 for p in ("github", "bitbucket", "jira", "aha", "slack")), checked
