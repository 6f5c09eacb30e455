"""What every connector must do against its sandbox, one test per rule parametrized over the
connectors (each kind's ``tests/<kind>/cases.py``, found by tests/connectors/providers.py): a full
refresh loads exactly ``/__truth`` and a re-run changes nothing; ``check`` passes a good credential and names a rejected one or an empty
scope; a refused or revoked credential is a CONFIG error without the secret; bursts of 429s and
garbled bodies are retried to completion; endless garbage is TRANSIENT and loses nothing.

The provider folders keep only what is their own (streams, cursors, provider-specific faults).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connectors.connector import CheckResult
from connectors.errors import ErrorKind
from connectors.registry import KINDS
from connectors.runner import StreamResult
from connectors.runtime import SourceRuntime, open_http, partitions_of, run_task, task_key
from connectors.streams import Partition
from storage import Database, model_for
from tests.atlassian_support import Outcome, quarantined, run_isolated
from tests.conftest import MakeRuntime
from tests.connectors.providers import (
    BY_KIND,
    MISSING,
    PROVIDERS,
    REJECTED,
    Provider,
    Rejected,
    no_case_for,
    runtime_on,
)
from tests.ingest_support import FastClock, ServedSandbox, rows


def refresh(rt: SourceRuntime, db: Database) -> Outcome:
    """Discovery then every task, each failing alone, as the pipeline runs them."""
    return run_isolated(rt, db, budget=FastClock().budget())


def check(rt: SourceRuntime) -> CheckResult:
    async def go() -> CheckResult:
        assert rt.connector.check is not None
        async with open_http(rt, budget=FastClock().budget()) as http:
            return await rt.connector.check(http, rt.options)

    return asyncio.run(go())


def snapshot(db: Database, rt: SourceRuntime, entities: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the entities, but when it was last written (``ingested_at``)."""
    return {
        e: [{k: v for k, v in r.items() if k != "ingested_at"} for r in rows(db, rt.source_id, e)] for e in entities
    }


def messages(out: Outcome) -> str:
    return " | ".join(m for _, m in out.errors.values())


def test_every_registered_connector_is_in_the_table() -> None:
    assert MISSING == [], no_case_for(MISSING)
    assert sorted(BY_KIND) == sorted(KINDS)


def test_a_full_refresh_loads_exactly_the_truth_and_a_rerun_changes_nothing(
    provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    rt = runtime_on(provider, served, make_runtime)
    first = refresh(rt, sqlite_db)
    assert first.errors == {}, first.errors
    assert served.loaded_exactly(sqlite_db, rt.source_id)
    assert quarantined(sqlite_db, rt.source_id) == []
    entities = list(served.truth()["counts"])
    for entity in entities:
        model_for(entity)  # every entity the sandbox counts is one the store knows
    before = snapshot(sqlite_db, rt, entities)

    second = refresh(rt, sqlite_db)
    assert second.errors == {}, second.errors
    assert second.requests <= first.requests
    assert snapshot(sqlite_db, rt, entities) == before  # not a row, not a value moved
    assert served.loaded_exactly(sqlite_db, rt.source_id)


def test_check_passes_a_good_credential_and_says_whose_it_is(
    provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime
) -> None:
    truth = served.truth()
    for form in provider.credential_forms:
        result = check(runtime_on(provider, served, make_runtime, secrets=truth[form]))
        assert result.ok and result.problems == [], (form, result.problems)
        if provider.identity is not None:
            assert result.identity == provider.identity
        else:
            assert bool(result.identity) is provider.says_who
        assert {k: result.details.get(k) for k in provider.check_details} == provider.check_details


@pytest.mark.parametrize(
    ("provider", "rejected"), REJECTED, ids=[f"{p.kind}-{sorted(r.secrets)[-1]}" for p, r in REJECTED]
)
def test_check_names_a_rejected_credential_without_repeating_it(
    provider: Provider, rejected: Rejected, served: ServedSandbox, make_runtime: MakeRuntime
) -> None:
    result = check(runtime_on(provider, served, make_runtime, secrets=rejected.secrets))
    assert not result.ok and result.problems
    said = " ".join(result.problems)
    assert all(word in said for word in rejected.check_says), said
    assert rejected.leaked(said) == []


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p.out_of_scope], ids=lambda p: p.kind)
def test_check_names_a_scope_with_nothing_to_read(
    provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime
) -> None:
    result = check(runtime_on(provider, served, make_runtime, **provider.out_of_scope))
    assert not result.ok
    assert all(word in result.problems[0] for word in provider.out_of_scope_says), result.problems


@pytest.mark.parametrize(
    ("provider", "rejected"), REJECTED, ids=[f"{p.kind}-{sorted(r.secrets)[-1]}" for p, r in REJECTED]
)
def test_a_rejected_credential_is_a_config_error_that_keeps_the_secret(
    provider: Provider, rejected: Rejected, served: ServedSandbox, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    rt = runtime_on(provider, served, make_runtime, secrets=rejected.secrets)
    out = refresh(rt, sqlite_db)
    assert out.kinds() == {ErrorKind.CONFIG}
    said = messages(out)
    assert all(word in said for word in rejected.run_says), said
    assert rejected.leaked(said) == []
    assert not out.results  # nothing ran past discovery
    assert rows(sqlite_db, rt.source_id, rt.connector.partition_entity or "project") == []


def test_a_revoked_credential_is_config_and_a_run_after_reconnecting_loses_nothing(
    provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    rt = runtime_on(provider, served, make_runtime)
    served.faults(revoked=True)
    out = refresh(rt, sqlite_db)
    assert out.kinds() == {ErrorKind.CONFIG}
    said = messages(out)
    assert all(word in said for word in provider.revoked_says), said
    assert all(secret not in said for secret in served.truth()["secrets"].values())
    served.faults()
    again = refresh(rt, sqlite_db)
    assert again.errors == {}, again.errors
    assert served.loaded_exactly(sqlite_db, rt.source_id)


@pytest.mark.parametrize(
    ("faults", "status"), [({"burst_429": 3, "retry_after_s": 0}, 429), ({"malformed": 2}, 200)], ids=["429", "garbled"]
)
def test_bursts_of_429s_and_garbled_bodies_are_retried_to_completion(
    provider: Provider,
    served: ServedSandbox,
    make_runtime: MakeRuntime,
    sqlite_db: Database,
    faults: dict[str, Any],
    status: int,
) -> None:
    rt = runtime_on(provider, served, make_runtime)
    served.faults(**faults)
    out = refresh(rt, sqlite_db)
    assert out.errors == {}, out.errors
    assert served.loaded_exactly(sqlite_db, rt.source_id)
    assert quarantined(sqlite_db, rt.source_id) == []
    log = served.requests()
    retried = faults.get("burst_429", faults.get("malformed", 0))
    if status == 429:
        assert [r["status"] for r in log].count(429) == retried
    first = [r for r in log if r["path"] == log[0]["path"] and r["query"] == log[0]["query"]]
    assert len(first) == retried + 1  # the same request, retried until it was answered


def test_endless_garbage_is_transient_loads_nothing_and_a_clean_rerun_is_exact(
    provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    rt = runtime_on(provider, served, make_runtime)
    served.faults(malformed=10_000)
    out = refresh(rt, sqlite_db)
    assert out.kinds() == {ErrorKind.TRANSIENT}
    assert rows(sqlite_db, rt.source_id, rt.connector.partition_entity or "project") == []
    served.faults()
    again = refresh(rt, sqlite_db)
    assert again.errors == {}, again.errors
    assert served.loaded_exactly(sqlite_db, rt.source_id)


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p.keyed], ids=lambda p: p.kind)
def test_a_partition_rebuilt_from_its_key_alone_still_reads(
    provider: Provider, served: ServedSandbox, make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    """Workers rebuild a partition gone since planning as ``Partition(key)``: its paths use the key."""
    assert provider.keyed is not None
    stream, entity, column = provider.keyed
    planned = runtime_on(provider, served, make_runtime)
    full = refresh(planned, sqlite_db)
    assert full.errors == {}, full.errors
    partition = partitions_of(planned, sqlite_db)[-1]
    expected = full.results[task_key(planned.source_id, stream, partition)].records_loaded
    assert expected > 0

    rebuilt = runtime_on(provider, served, make_runtime, tenant="elsewhere")  # nothing discovered there

    async def go() -> StreamResult:
        async with open_http(rebuilt, budget=FastClock().budget()) as http:
            return await run_task(rebuilt, sqlite_db, http, stream, Partition(key=partition.key))

    assert asyncio.run(go()).records_loaded == expected
    assert {r[column] for r in rows(sqlite_db, rebuilt.source_id, entity)} == {partition.values["external_id"]}
