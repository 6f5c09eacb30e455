"""Contract: every recorded 200 body of a GitHub endpoint the connector reads normalizes cleanly.

The recordings are real responses (2012-2026, github.com and its old payload shapes). List
bodies are normalized record by record with the stream's normalizer, detail bodies of the same
objects too; a failure here is what the runner would quarantine as DATA. The rows are then
upserted into SQLite, so every column the normalizers emit exists in the shared schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.github import CONNECTOR
from connectors.github import normalize as n
from connectors.runner import normalize_records
from connectors.streams import Partition, Row, StreamContext, StreamSpec
from tests.conftest import require_recordings
from tests.connectors.recordings import Target, contract_target, recorded, recorded_params

Normalizer = Callable[[Mapping[str, Any], StreamContext], Iterable[Row]]
R = r"/repos/[^/]+/[^/]+"

# recorded URL path -> the normalizer of the stream (or of the same object) that reads it
READ: list[tuple[str, Normalizer]] = [
    (r"/orgs/[^/]+/members", n.member),
    (r"/orgs/[^/]+/repos", n.repository),
    (r"/repos/[^/]+/[^/]+", n.repository),
    (R + r"/branches", n.branch),
    (R + r"/commits", n.commit),
    (R + r"/commits/[^/]+", n.commit),
    (R + r"/pulls", n.pull_request),
    (R + r"/pulls/\d+", n.pull_request),
    (R + r"/pulls/\d+/reviews", n.review),
    (R + r"/pulls/\d+/reviews/\d+", n.review),
    (R + r"/pulls/\d+/commits", n.pull_request_commit),
    (R + r"/pulls/comments", n.review_comment),
    (R + r"/pulls/comments/\d+", n.review_comment),
    (R + r"/pulls/\d+/comments", n.review_comment),
    (R + r"/issues", n.issue),
    (R + r"/issues/\d+", n.issue),
    (R + r"/issues/comments", n.issue_comment),
    (R + r"/issues/comments/\d+", n.issue_comment),
    (R + r"/issues/\d+/comments", n.issue_comment),
    (R + r"/issues/events", n.issue_event),
    (R + r"/issues/events/\d+", n.issue_event),
]


def normalizer_for(url: str) -> Normalizer | None:
    path = urlsplit(url).path.rstrip("/")
    path = path.removeprefix("/api/v3")
    for pattern, fn in READ:
        if re.fullmatch(pattern, path):
            return fn
    return None


def recordings() -> list[tuple[str, Normalizer, Any]]:
    out = []
    for entry, data in recorded("github"):
        fn = normalizer_for(data.get("url", "")) if entry["status"] == 200 else None
        if fn is not None and data.get("method", "GET") == "GET":
            out.append((entry["file"], fn, data["body"]))
    return out


RECORDINGS = recordings()


def context() -> StreamContext:
    partition = Partition(key="acme/api", values={"owner": "acme", "repo": "api", "external_id": "42"}, names=("api",))
    options = CONNECTOR.options_model.model_validate({"org": "acme"})
    return StreamContext(
        tenant_id=1, source_id=1, options=options, partition=partition, parent={"external_id": "42#5", "number": 5}
    )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from contract_target(tmp_path_factory.mktemp("contract"), "github", {"org": "acme"}, {"token": "t"})


def test_every_stream_endpoint_has_recordings() -> None:
    require_recordings("github")
    used = {fn.__name__ for _, fn, _ in RECORDINGS}
    streams = {spec.normalize.__name__ for spec in CONNECTOR.streams}
    assert streams <= used, f"no recording exercises {streams - used}"
    assert len(RECORDINGS) >= 100


@pytest.mark.parametrize(
    ("name", "normalizer", "body"), recorded_params("github", RECORDINGS, [r[0] for r in RECORDINGS], 3)
)
def test_recording_normalizes_without_data_errors(name: str, normalizer: Normalizer, body: Any, target: Target) -> None:
    require_recordings("github")
    records = body if isinstance(body, list) else [body]
    rows, bad = normalize_records(StreamSpec(name, "-", normalizer), records, context())
    assert bad == [], bad[0].reason if bad else ""
    if records and normalizer not in (n.issue, n.issue_event):  # PR entries of /issues are skipped on purpose
        assert rows
    target.load(rows)
