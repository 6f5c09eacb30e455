"""GitHub's recorded GraphQL answers (../shared/recorded/github/graphql--*.json), classified."""

from __future__ import annotations

import json

import httpx

from connectors.errors import ErrorKind
from connectors.github.classify import classify_github
from tests.conftest import require_recordings


def test_recorded_graphql_answers_are_classified() -> None:
    folder = require_recordings("github")
    kinds: dict[str, ErrorKind | None] = {}
    for path in sorted(folder.glob("graphql--*.json")):
        doc = json.loads(path.read_text())
        response = httpx.Response(
            doc["status"],
            json=doc["body"],
            headers=doc["response_headers"],
            request=httpx.Request(doc["method"], doc["url"]),
        )
        verdict = classify_github(response)
        kinds[path.name] = verdict.kind
        types = {e.get("type") for e in doc["body"].get("errors", [])}
        # every recorded error is UNPROCESSABLE (a mutation GitHub refused): our mistake, not retried
        assert verdict.kind is (ErrorKind.BUG if types else None), path.name
    assert ErrorKind.BUG in kinds.values() and None in kinds.values()
