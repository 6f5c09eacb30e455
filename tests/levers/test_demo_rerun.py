"""`headwater demo` run twice loads the same rows once: the second run updates the demo's sources
(new sandbox ports) instead of adding sources whose rows would double."""

from __future__ import annotations

from tests.cli.conftest import Invoke, as_json


def test_a_second_demo_doubles_nothing(cli: Invoke) -> None:
    cli("demo", "--latency-ms", "0", "--json")
    first = as_json(cli("records", "demo", "pull_request", "--json"))
    sources = as_json(cli("source", "list", "demo", "--json"))
    assert first
    cli("demo", "--latency-ms", "0", "--json")
    again = as_json(cli("records", "demo", "pull_request", "--json"))
    assert len(again) == len(first)
    assert sorted(r["external_id"] for r in again) == sorted(r["external_id"] for r in first)
    assert [s["id"] for s in as_json(cli("source", "list", "demo", "--json"))] == [s["id"] for s in sources]
