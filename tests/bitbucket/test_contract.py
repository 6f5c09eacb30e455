"""Every recorded 200 JSON body of an endpoint the Bitbucket connector reads normalizes without
DATA errors, and its rows load (real Bitbucket Cloud 2.0 payloads, some anonymised or trimmed)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.bitbucket import CONNECTOR
from connectors.bitbucket import normalize as n
from connectors.runner import normalize_records
from connectors.streams import Partition, Row, StreamContext, StreamSpec
from tests.conftest import require_recordings
from tests.connectors.recordings import Target, contract_target, recorded, recorded_params

Normalizer = Callable[[Any, StreamContext], Iterable[Row]]
R = r"/repositories/\{ws\}/\{repo\}"
# (endpoint pattern from index.json, records key or None for a detail body, normalizer)
ENDPOINTS: list[tuple[str, str | None, Normalizer]] = [
    (r"^/repositories/\{ws\}$", "values", n.repository),
    (r"^/repositories\?role=", "values", n.repository),
    (rf"^{R}$", None, n.repository),
    (rf"^{R}/refs/branches$", "values", n.branch),
    (rf"^{R}/refs/branches/\{{name\}}$", None, n.branch),
    (rf"^{R}/commits(/\{{branch\}})?$", "values", n.commit),
    (rf"^{R}/commit/\{{hash\}}$", None, n.commit),
    (rf"^{R}/pullrequests$", "values", n.pull_request),
    (rf"^{R}/pullrequests/\{{id\}}$", None, n.pull_request),
    (rf"^{R}/pullrequests/\{{id\}}/comments$", "values", n.pr_comment),
    (rf"^{R}/pullrequests/\{{id\}}/commits$", "values", n.pr_commit),
    (r"^/user$", None, n.person),
]


def recordings() -> list[tuple[str, Normalizer, list[Any]]]:
    out = []
    for entry, data in recorded("bitbucket"):
        if entry["status"] != 200:
            continue
        body = data["body"]
        for pattern, key, normalize in ENDPOINTS:
            if re.search(pattern, entry["endpoint"]):
                out.append((entry["file"], normalize, body.get(key, []) if key else [body]))
                break
    return out


RECORDINGS = recordings()


def context() -> StreamContext:
    options = CONNECTOR.options_model.model_validate({"workspace": "acme"})
    partition = Partition("acme/api", {"full_name": "acme/api", "repo_slug": "api", "external_id": "{repo}"})
    parent = {"external_id": "{repo}#1", "number": 1, "repository_external_id": "{repo}", "state": "merged",
              "updated_at": datetime(2026, 1, 1, tzinfo=UTC)}  # fmt: skip
    return StreamContext(1, 1, options, partition=partition, parent=parent)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("bitbucket-contract")
    yield from contract_target(folder, "bitbucket", {"workspace": "acme"}, {"token": "t"})


def test_the_endpoints_read_have_recordings() -> None:
    require_recordings("bitbucket")
    used = {fn.__name__ for _, fn, _ in RECORDINGS}
    assert {"repository", "branch", "commit", "pull_request", "pr_commit", "pr_comment"} <= used
    assert len(RECORDINGS) >= 25


@pytest.mark.parametrize(
    ("name", "normalize", "records"), recorded_params("bitbucket", RECORDINGS, [r[0] for r in RECORDINGS], 3)
)
def test_recording_normalizes_without_data_errors(
    name: str, normalize: Normalizer, records: list[Any], target: Target
) -> None:
    require_recordings("bitbucket")
    rows, bad = normalize_records(StreamSpec("contract", "-", normalize), records, context())
    assert bad == [], bad[0].reason if bad else ""
    assert len(rows) == len(records)
    target.load(rows)
