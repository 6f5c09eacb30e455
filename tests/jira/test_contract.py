"""Every recorded 200 JSON body of an endpoint the Jira connector reads normalizes without DATA
errors, and its rows load (real payloads: v2 and v3, Server and Cloud, trimmed fixtures)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from connectors.jira import CONNECTOR
from connectors.jira import normalize as n
from connectors.jira.catalog import find_fields, status_categories
from connectors.runner import normalize_records
from connectors.streams import Partition, Row, StreamContext, StreamSpec
from tests.conftest import require_recordings
from tests.connectors.recordings import Target, contract_target, recorded, recorded_params

Check = Callable[[list[Any], StreamContext], list[Row]]


def per_record(normalize: Callable[[Any, StreamContext], Iterable[Row]]) -> Check:
    def check(records: list[Any], ctx: StreamContext) -> list[Row]:
        rows, bad = normalize_records(StreamSpec("contract", "-", normalize), records, ctx)
        assert bad == [], bad[0].reason if bad else ""
        return rows

    check.__name__ = normalize.__name__
    return check


def whole(fn: Callable[[list[Any]], Any]) -> Check:
    def check(records: list[Any], ctx: StreamContext) -> list[Row]:
        fn(records)
        return []

    check.__name__ = fn.__name__
    return check


def members(records: list[Any], ctx: StreamContext) -> list[Row]:
    return list(n.sprint_members(records, ctx))


ISSUES = per_record(n.issue)
# (endpoint pattern from index.json, records key or None for the body, check)
ENDPOINTS: list[tuple[str, str | None, Check]] = [
    (r"/rest/api/\d/project/search$", "values", per_record(n.project)),
    (r"/rest/api/\d/project$", None, per_record(n.project)),
    (r"/rest/api/\d/users/search$", None, per_record(n.person)),
    (r"/rest/api/\d/field$", None, whole(find_fields)),
    (r"/rest/api/\d/status$", None, whole(status_categories)),
    (r"/rest/api/\d/issuetype$", None, per_record(n.raw_only)),
    (r"/rest/agile/1.0/board$", "values", per_record(n.sprint_or_board)),
    (r"/rest/agile/1.0/board/\{id\}/sprint$", "values", per_record(n.sprint_or_board)),
    (r"/rest/api/3/search/jql$", "issues", ISSUES),
    (r"/rest/api/\d/search$", "issues", ISSUES),  # old search: the same issue beans as bulkfetch
    (r"/rest/api/\d/issue/\{idOrKey\}$", None, ISSUES),
    (r"/rest/agile/1.0/(board|epic|sprint)/\{\w+\}/issue$", "issues", ISSUES),
    (r"/rest/agile/1.0/sprint/\{id\}/issue$", "issues", members),
    (r"/rest/api/\d/issue/\{id\}/comment$", "comments", per_record(n.issue_comment)),
    (r"/rest/api/\d/issue/\{id\}/worklog$", "worklogs", per_record(n.raw_only)),
    (r"/rest/api/\d/version/\{id\}$", None, per_record(n.release)),
]


def recordings() -> list[tuple[str, str, Check, list[Any]]]:
    out = []
    for entry, data in recorded("jira"):
        if entry["status"] != 200:
            continue
        body = data["body"]
        for pattern, key, check in ENDPOINTS:
            if re.search(pattern, entry["endpoint"]):
                records = body if key is None else body.get(key, [])
                out.append(
                    (entry["file"], entry["endpoint"], check, records if isinstance(records, list) else [records])
                )
    return out


RECORDINGS = recordings()


def context() -> StreamContext:
    options = CONNECTOR.options_model.model_validate({"base_url": "https://acme.atlassian.net"})
    partition = Partition("EX", {"project_key": "EX", "external_id": "10000"})
    return StreamContext(1, 1, options, partition=partition, parent={"external_id": "10002", "name": "Sprint 1"})


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    options, secrets = {"base_url": "https://acme.atlassian.net"}, {"email": "a@b.c", "api_token": "t"}
    yield from contract_target(tmp_path_factory.mktemp("jira-contract"), "jira", options, secrets)


def test_the_endpoints_read_have_recordings() -> None:
    require_recordings("jira")
    seen = {check.__name__ for _, _, check, _ in RECORDINGS}
    assert {"project", "person", "issue", "sprint_or_board", "issue_comment", "find_fields", "members"} <= seen
    assert sum(1 for _, endpoint, _, _ in RECORDINGS if endpoint.endswith("/search/jql")) >= 2


@pytest.mark.parametrize(
    ("name", "endpoint", "check", "records"),
    recorded_params("jira", RECORDINGS, [f"{r[0]}:{r[2].__name__}" for r in RECORDINGS], 4),
)
def test_recording_normalizes_without_data_errors(
    name: str, endpoint: str, check: Check, records: list[Any], target: Target
) -> None:
    require_recordings("jira")
    rows = check(records, context())
    target.load(rows)
